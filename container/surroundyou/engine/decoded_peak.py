"""The true peak of an encoded file as a listener's decoder gives it back.

A lossy encoder adds quantisation noise, whose peaks ride on the limited signal's: how much it
raises the true peak depends on the signal (``convert.limiter_ceiling_dbtp``), most on dense,
noise-like content. Full-scale white noise converted at the fixed margins read up to 0.52 dB
*over* -1 dBTP decoded (MP3 256 kbps; 320 kbps: 0.36 dB over), where music-like masters keep
0.7-1.2 dB under it. So a dense song's lossy result is decoded and measured (``convert``).

The meter interpolates 4x with a long band-limited interpolator, a Kaiser-windowed sinc (beta 8)
reading 48 frames either side, its cutoff at fs/2: flat within 0.001 dB to 0.47 fs (20.7 kHz at
44.1 kHz; an MP3 encoder's low-pass is under it: at 320 kbps nothing is left above 20.5 kHz),
its images over 82 dB down from 0.53 fs. It is the limiter's design and FFT convolution
(``limiter.phase_spectra``, ``limiter.overlap_save_spectra``) with its own length and
cutoff, and a parabola through the largest points and their neighbours finds the peaks between
them (for a tone at 0.47 fs at most 0.06 dB low): ``ERROR_DB``. Against a 32x, 8193-tap
interpolator it read the decoded conversions of full-scale white and Gaussian noise and a loud
master (MP3 320 kbps, 128 kbps, V0; Vorbis) within 0.013 dB, and faded tones up to 0.475 fs
within 0.03 dB low. Before, ``scipy.signal.resample_poly`` with its default filter (20 taps a
phase, Kaiser beta 5) read them from 0.17 dB low (an MP3 of raw full-scale white noise) to
0.075 dB high (its images of the content near fs/2), and took 1.8 s of CPU for a loud 5-minute
song besides decoding it and 0.5 s of loading scipy.signal; now 1.0 s. It runs over
overlapping pieces of the stream, each piece's edges (where its filter meets the padding) left to
its neighbours, so the reading is the one over the whole file, in bounded memory.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.fft

from .decode import open_audio
from .limiter import overlap_save_spectra, phase_spectra
from .peaks import parabolic_peak_height

OVERSAMPLING = 4
# the interpolator: frames n - HALF_TAPS .. n + HALF_TAPS + 1 for the points after frame n
HALF_TAPS = 48
KAISER_BETA = 8.0
CUTOFF_FRACTION_OF_FS = 0.5
WINDOW_TAPS = 2 * HALF_TAPS + 2
CONTEXT_FRAMES = 2 * (HALF_TAPS + 1)  # twice what the filter reads either side
ERROR_DB = 0.08  # the most the meter can read low (the parabola's 0.06 dB), and a little more
# a peak between 4x points of content under 0.47 fs is at most 0.61 dB over them: points within
# 0.65 dB of the largest may hide a higher one
BETWEEN_POINTS = 10 ** (0.65 / 20)
NEAR = 1 / BETWEEN_POINTS


def interpolated(piece: np.ndarray) -> np.ndarray:
    """The 4x points of ``piece`` (channels, n), silent before and after it: ``(channels, 4 n)``,
    point ``4 i + k`` at frame ``i + k/4``."""
    channels, frames = piece.shape
    padded = np.zeros((channels, frames + WINDOW_TAPS - 1), dtype=np.float32)
    padded[:, HALF_TAPS : HALF_TAPS + frames] = piece
    spectra, _, size = overlap_save_spectra(padded, WINDOW_TAPS)
    phases = scipy.fft.irfft(
        spectra[:, np.newaxis] * phase_spectra(size, HALF_TAPS, CUTOFF_FRACTION_OF_FS, KAISER_BETA)[:, np.newaxis],
        size,
        axis=-1,
    )
    points = phases[..., WINDOW_TAPS - 1 :].reshape(channels, OVERSAMPLING, -1)[..., :frames]
    return points.transpose(0, 2, 1).reshape(channels, OVERSAMPLING * frames)


def decoded_true_peak_dbtp(path: str | Path) -> float:
    """The 4x true peak (dBTP) of ``path`` decoded by the engine's reader (-inf when silent)."""
    peak = 0.0
    carried, unread = None, 0  # frames kept for the next piece, and the first of them not yet read
    with open_audio(path) as source:
        for block in source.blocks():
            piece = block if carried is None else np.concatenate([carried, block], axis=1)
            # read up to CONTEXT_FRAMES before the piece's end (there its filter meets the padding);
            # the next piece starts 2 * CONTEXT_FRAMES before that end, enough context for those
            stop = max(unread, piece.shape[1] - CONTEXT_FRAMES)
            peak = max(peak, _largest_point(interpolated(piece), unread, stop, peak))
            keep = min(piece.shape[1], 2 * CONTEXT_FRAMES)
            carried, unread = piece[:, piece.shape[1] - keep :], keep - (piece.shape[1] - stop)
    if carried is not None:  # the stream's end: its last points, against the silence after it
        peak = max(peak, _largest_point(interpolated(carried), unread, carried.shape[1], peak))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _largest_point(points: np.ndarray, first: int, stop: int, beaten: float) -> float:
    """The peak of frames ``first .. stop - 1`` from their 4x ``points``: the largest point, raised
    by a parabola through it and its neighbours where one lies near the largest (the 4x points
    alone under-read a peak between them by up to 0.61 dB, for a tone at 0.47 fs). The parabolas
    are skipped where even that could not beat the peak ``beaten`` already read."""
    magnitude = np.abs(points)
    start, end = first * OVERSAMPLING, min(stop * OVERSAMPLING, points.shape[1])
    largest = float(np.max(magnitude[:, start:end], initial=0.0))
    if largest * BETWEEN_POINTS <= beaten:
        return largest
    channel, index = np.nonzero(magnitude[:, max(start, 1) : min(end, points.shape[1] - 1)] >= NEAR * largest)
    index += max(start, 1)
    heights = parabolic_peak_height(*(points[channel, index + k] for k in (-1, 0, 1)))
    return max(largest, float(np.max(heights, initial=0.0)))
