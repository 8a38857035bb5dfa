"""The song's beat grid: an onset envelope, its tempo, and the beats by dynamic programming.

After D. P. W. Ellis, "Beat Tracking by Dynamic Programming", J. New Music Research 36(1),
51-60, 2007, in three steps over the whole song (its onset envelope is small: 200 numbers a
second, ~0.5 MB for an hour), fed block by block while the song is decoded once for analysis:

1. Onset strength (``OnsetEnvelope``): per frame (``HOP_S`` = 5 ms apart, ~23 ms Hann window)
   the power in ``BANDS`` log-spaced bands from 30 Hz to 8 kHz (a mel-like scale), in dB
   (floored at ``FLOOR_DB`` and at ``FRAME_RANGE_DB`` under the frame's loudest band, so the
   window's leakage and rounding noise in empty bands count for nothing), and the sum over bands of each band's rise since the previous
   frame, negative changes ignored (half-wave rectified spectral flux); then the slow trend is
   removed (the envelope minus its ``TREND_S`` moving average, negative parts dropped) and it
   is scaled to unit standard deviation. A frame's onset is stamped ``ONSET_DELAY`` of a
   window after its start: in dB a sound's rise is steepest as it enters the window, not at
   its centre (measured on click tracks: stamped at the centre, beats came 7.7 ms early).
2. Tempo (``estimate_tempo``): the onset envelope's autocorrelation over beat periods
   of 0.25-1.5 s (40-240 BPM), weighted by a log-Gaussian around 0.5 s (120 BPM) with a
   standard deviation of ``TEMPO_SPREAD_OCTAVES``; the highest peak, refined by a parabola
   through it and its neighbours. The beat's *clarity* is how far the peak (as a fraction of
   the envelope's power) stands over the lowest point between half its lag and it: a beat has
   little in between (off-beats), a slowly swelling sound has a smooth autocorrelation with no
   peak at all. Under ``MIN_CLARITY`` the song has no clear beat.
3. Beats (``track_beats``): the best sequence of onset frames under Ellis's score
   ``C(t) = O(t) + max_{p in [t - 2P, t - P/2]} (C(p) - ALPHA * log((t - p) / P)^2)``, traced
   back from the best frame near the end: the beats sit on strong onsets and their spacing
   stays near the period ``P`` but may drift with the song.

Why not librosa's beat tracker: it needs numba and llvmlite, 208 MB installed (numba 0.68.1
35 MB, llvmlite 0.50.0 173 MB; measured with ``pip install --target``), which would take the
task image (350 MB budget, 326 MB today) far over, and numba's start-up would slow every task;
this module is numpy only and follows the same paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOP_S = 0.005
WINDOW_S = 0.023
BANDS = 40
LOW_HZ, HIGH_HZ = 30.0, 8000.0
FLOOR_DB = -90.0  # band powers are floored here (dB re a full-scale sine's) ...
FRAME_RANGE_DB = 50.0  # ... and this far under the frame's loudest band
TREND_S = 0.4
ONSET_DELAY = 0.5 + 0.0077 / WINDOW_S
MIN_PERIOD_S, MAX_PERIOD_S = 0.25, 1.5
TEMPO_CENTRE_S = 0.5
TEMPO_SPREAD_OCTAVES = 1.0
MIN_CLARITY = 0.15
# an onset envelope that varies less than this (dB of rise per frame, summed over the bands) has
# no onsets at all: a held tone or silence, whose rounding noise must not be scaled up into beats
MIN_SPREAD_DB = 0.5
ALPHA = 100.0  # Ellis's tightness: how much the beats resist drifting from the period
MIN_BEATS = 8


class OnsetEnvelope:
    """Streaming onset strength of ``(channels, frames)`` blocks at ``sample_rate`` (module doc, step 1).

    Frame ``k`` covers samples ``[k hop, k hop + window)`` of the channels' mean; its onset is
    stamped ``ONSET_DELAY`` of a window after its start. Same input, same envelope, whatever the block sizes.
    """

    def __init__(self, sample_rate: int):
        import scipy.fft  # its float32 transforms are 8x numpy's here; loaded only for beat sync (import time)

        self._rfft = scipy.fft.rfft
        self.sample_rate = int(sample_rate)
        self.hop = max(1, round(HOP_S * self.sample_rate))
        self.window = int(2 ** round(math.log2(WINDOW_S * self.sample_rate)))
        self._taper = np.hanning(self.window + 2)[1:-1].astype(np.float32)
        freqs_hz = np.fft.rfftfreq(self.window, 1 / self.sample_rate)
        edges = np.geomspace(LOW_HZ, min(HIGH_HZ, 0.45 * self.sample_rate), BANDS + 1)
        band = np.searchsorted(edges, freqs_hz, side="right") - 1
        # the bins of the bands are one run, in band order: each band's mean is a reduceat over it
        used = np.flatnonzero((band >= 0) & (band < BANDS))
        self._bins = slice(int(used[0]), int(used[-1]) + 1)
        self._starts = np.flatnonzero(np.diff(band[self._bins], prepend=-1))
        self._band_ids = band[self._bins][self._starts]
        self._bins_per_band = np.diff(np.append(self._starts, used.size)).astype(np.float32)
        # a full-scale sine's power in one bin under this window: the dB reference
        self._reference = (self._taper.sum() / 2) ** 2
        self._pending = np.zeros(0, dtype=np.float32)
        self._previous_db: np.ndarray | None = None
        self._flux: list[np.ndarray] = []

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    def add(self, block: np.ndarray) -> None:
        mono = np.asarray(block, dtype=np.float32).mean(axis=0)
        samples = np.concatenate([self._pending, mono])
        count = (samples.size - self.window) // self.hop + 1 if samples.size >= self.window else 0
        if count > 0:
            frames = np.lib.stride_tricks.sliding_window_view(samples, self.window)[:: self.hop][:count]
            spectra = self._rfft(frames * self._taper, axis=-1)  # float32 in, complex64 out
            power = spectra.real**2 + spectra.imag**2
            means = np.zeros((count, BANDS), dtype=np.float32)  # a band with no bin stays empty
            means[:, self._band_ids] = np.add.reduceat(power[:, self._bins], self._starts, axis=1) / self._bins_per_band
            level_db = 10 * np.log10(np.maximum(means / self._reference, 1e-10))
            level_db = np.maximum(level_db, np.maximum(FLOOR_DB, level_db.max(axis=1, keepdims=True) - FRAME_RANGE_DB))
            previous = level_db[:1] if self._previous_db is None else self._previous_db[np.newaxis]
            rises = np.diff(np.vstack([previous, level_db]), axis=0)
            self._flux.append(np.maximum(rises, 0.0).sum(axis=1))
            self._previous_db = level_db[-1]
        self._pending = samples[count * self.hop :]

    def envelope(self) -> np.ndarray:
        """The onset strength per frame: trend removed, unit standard deviation (zeros if flat)."""
        flux = np.concatenate(self._flux) if self._flux else np.zeros(0)
        if flux.size == 0:
            return flux
        trend_frames = max(1, min(flux.size, round(TREND_S * self.frame_rate)))  # a song under 0.4 s: all of it
        kernel = np.ones(trend_frames) / trend_frames
        detrended = np.maximum(flux - np.convolve(flux, kernel, mode="same"), 0.0)
        spread = detrended.std()
        return detrended / spread if spread >= MIN_SPREAD_DB else np.zeros_like(detrended)

    def frame_times_s(self, count: int) -> np.ndarray:
        """The time each onset frame is stamped at (``ONSET_DELAY`` of a window after its start)."""
        return (np.arange(count) * self.hop + ONSET_DELAY * self.window) / self.sample_rate


def estimate_tempo(envelope: np.ndarray, frame_rate: float) -> tuple[float, float]:
    """``(beat period in frames, clarity 0..1)`` of an onset envelope (module doc, step 2)."""
    lags = np.arange(int(MIN_PERIOD_S * frame_rate), int(MAX_PERIOD_S * frame_rate) + 2)
    if envelope.size < 2 * lags[-1]:
        return float("nan"), 0.0
    centred = envelope - envelope.mean()
    size = 1 << int(np.ceil(np.log2(2 * centred.size)))
    spectrum = np.fft.rfft(centred, size)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, size)[: lags[-1] + 2]
    autocorrelation /= np.arange(centred.size, centred.size - autocorrelation.size, -1)  # unbiased
    if autocorrelation[0] <= 0:
        return float("nan"), 0.0
    normalised = autocorrelation / autocorrelation[0]
    prior = np.exp(-0.5 * (np.log2(lags / (TEMPO_CENTRE_S * frame_rate)) / TEMPO_SPREAD_OCTAVES) ** 2)
    best = int(np.argmax(normalised[lags] * prior))
    lag = int(lags[best])
    before, peak, after = normalised[lag - 1], normalised[lag], normalised[lag + 1]
    curvature = before - 2 * peak + after
    shift = 0.5 * (before - after) / curvature if curvature < 0 else 0.0
    valley = float(normalised[lag // 2 : lag + 1].min())
    return lag + float(np.clip(shift, -0.5, 0.5)), float(max(peak - valley, 0.0))


def track_beats(envelope: np.ndarray, period_frames: float, alpha: float = ALPHA) -> np.ndarray:
    """Beat frame indices by Ellis's dynamic programme (module doc, step 3)."""
    count = envelope.size
    score = envelope.astype(np.float64).copy()
    backlink = np.full(count, -1)
    offsets = np.arange(-int(round(2 * period_frames)), -int(round(period_frames / 2)) + 1)
    penalty = -alpha * np.log(-offsets / period_frames) ** 2
    # every predecessor lies at least -offsets[-1] frames back: that many frames at once, each
    # looking only at scores already final
    step = int(-offsets[-1])
    for first in range(step, count, step):
        frames = np.arange(first, min(first + step, count))
        previous = frames[:, np.newaxis] + offsets  # (frames, offsets)
        candidates = np.where(previous >= 0, score[np.maximum(previous, 0)] + penalty, -np.inf)
        best = np.argmax(candidates, axis=1)
        value = candidates[np.arange(frames.size), best]
        helps = value > 0  # a predecessor only if it helps
        score[frames[helps]] = envelope[frames[helps]] + value[helps]
        backlink[frames[helps]] = previous[np.arange(frames.size), best][helps]
    # start from the best-scoring frame within the last period
    tail = max(0, count - int(round(period_frames)))
    beat = tail + int(np.argmax(score[tail:]))
    beats = [beat]
    while backlink[beat] >= 0:
        beat = int(backlink[beat])
        beats.append(beat)
    return np.array(beats[::-1])


@dataclass(frozen=True)
class BeatGrid:
    """The song's beats (seconds), their tempo (a line fitted through them) and how clear the beat was;
    ``beats_s`` empty if unclear."""

    beats_s: np.ndarray
    tempo_bpm: float
    clarity: float

    @property
    def clear(self) -> bool:
        return self.beats_s.size >= MIN_BEATS


def beat_grid(onsets: OnsetEnvelope) -> BeatGrid:
    """Tempo and beats of everything ``onsets`` was fed; no beats when there is no clear one."""
    envelope = onsets.envelope()
    period_frames, clarity = estimate_tempo(envelope, onsets.frame_rate)
    if not np.isfinite(period_frames) or clarity < MIN_CLARITY:
        return BeatGrid(np.zeros(0), float("nan"), clarity)
    beats = track_beats(envelope, period_frames)
    # the programme may run on past the last onset (or start before the first) on its own
    # momentum: the grid runs from the first to the last beat on a real onset ...
    strong = np.flatnonzero(envelope[beats] >= 0.1 * np.median(envelope[beats]) + 1e-12)
    if strong.size == 0:
        return BeatGrid(np.zeros(0), float("nan"), clarity)
    times_s = onsets.frame_times_s(envelope.size)[beats[strong[0] : strong[-1] + 1]]
    # ... and its first and last steps have only one neighbour to keep them on the grid:
    # drop end beats whose interval is more than 30 % off the median
    while times_s.size > 2:
        median = float(np.median(np.diff(times_s)))
        if abs(times_s[1] - times_s[0] - median) > 0.3 * median:
            times_s = times_s[1:]
        elif abs(times_s[-1] - times_s[-2] - median) > 0.3 * median:
            times_s = times_s[:-1]
        else:
            break
    if times_s.size < MIN_BEATS:
        return BeatGrid(np.zeros(0), float("nan"), clarity)
    # the tempo: the slope of a straight line through the beats (least squares), which the end
    # beats (a song's first and last hits are often off the grid) sway less than first-to-last
    seconds_per_beat = float(np.polyfit(np.arange(times_s.size), times_s, 1)[0])
    return BeatGrid(times_s, 60.0 / seconds_per_beat, clarity)
