"""A streaming look-ahead brick-wall limiter on the true peak (ITU-R BS.1770-4, Annex 2).

Why not ``pedalboard.BrickwallLimiter(true_peak=True)``: it oversamples every sample of the song
(about 3.3 s of CPU per 5-minute song, half the cost of the MP3 encode it feeds) and its own
documentation warns that it does not guarantee the ceiling.

Why the output is band-limited: the true peak is the peak of the band-limited reconstruction
(the ideal interpolator, a sinc). A clipped master has strong content up to the Nyquist
frequency, where a short interpolator reads low: BS.1770's 4x, 48-tap kind, and the 81-tap one
this limiter had, under-read such masters by up to 1.7 dB against a 2049-tap 8x interpolator
(measured). Reading that content right needs thousands of taps per sample; removing it costs
one FIR. So the limiter's output passes a linear-phase low-pass (flat to 19.5 kHz at 44.1 kHz,
-0.7 dB at 20 kHz, -6 dB at 20.7 kHz, over 80 dB down at fs/2; the same fractions of any rate),
and its detector computes that output's 4x-interpolated points with the same filter: one 4x
interpolation prototype whose phase 0 *is* the output and whose phases 1-3 are the points between
output samples. The output is band-limited below fs/2, so those points lie on its ideal
reconstruction; a parabola through the highest point and its neighbours finds the peak between
them (under-read at most 0.06 dB, for a tone at 21 kHz; 0.003 dB at 10 kHz). The phases are
FFT convolutions over each block (overlap-save, ``FFT_SIZE``-point float32 transforms, one
forward transform per channel and chunk shared by the four phases): cheaper than gathering
candidate frames once a song is loud. Phases 0 and 2 are computed everywhere; phases 1 and 3 and
the peak search only in the chunks where a bound from phases 0 and 2 and the input (the
triangle inequality) lets a point come within ``PARABOLA_RAISE_BOUND`` of the ceiling: the same
gain and output, bit for bit, for about half the odd phases' work on a loud song.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.fft

from .peaks import parabolic_peak_height

OVERSAMPLING = 4
# the prototype: 8 * HALF_TAPS + 1 taps at 4x; cutoff (-6 dB) at 0.469 fs, Kaiser beta 7.5
HALF_TAPS = 40
CUTOFF_FRACTION_OF_FS = 0.469
KAISER_BETA = 7.5
# every phase reads frames n - LEFT_TAPS .. n + RIGHT_TAPS (phase 0: the output at frame n; phase
# k: the point n + k/4, between frames n and n + 1)
LEFT_TAPS = HALF_TAPS
RIGHT_TAPS = HALF_TAPS + 1
WINDOW_TAPS = LEFT_TAPS + RIGHT_TAPS + 1
# frames kept before the first unsent one: the points just before it read back this far
CONTEXT_FRAMES = LEFT_TAPS + 1
# the largest under-read of the parabolic peak between 4x points, for content the filter passes
DETECTOR_ERROR_DB = 0.06
PARABOLA_RAISE_BOUND = 1.25
# the stream fades in over its first and out over its last EDGE_FADE_MS (see TruePeakLimiter)
EDGE_FADE_MS = 2.0
# the gain computer's look-ahead, hold and release (see TruePeakLimiter)
LOOKAHEAD_MS = 2.0
HOLD_MS = 12.0  # over half the period of a 40 Hz note, with the look-ahead
NEXT_PEAK_MS = 20.0  # a hold lasts only where another peak follows this soon (a 25 Hz note's half period)
RELEASE_DB_PER_S = 400.0
# more near frames than 1 / DENSE_NEAR_FRACTION of a block: their parabolas are found in one pass
# over all the points rather than gathered frame by frame (faster from ~8 % of the frames on)
DENSE_NEAR_FRACTION = 12
# overlap-save transform length: each transform gives FFT_SIZE - WINDOW_TAPS + 1 points per phase
# (4096: the fastest per point here, measured against 1024-8192)
FFT_SIZE = 4096
# points beyond a transform chunk its bound covers (see TruePeakLimiter._needed_chunks), and the
# bound's allowance for float32 rounding (taps and transforms: under 1e-5 of it)
BOUND_MARGIN = 8
BOUND_SAFETY = 1.001


def interpolation_matrix(
    factor: int = OVERSAMPLING,
    half_taps: int = HALF_TAPS,
    cutoff_fraction_of_fs: float = CUTOFF_FRACTION_OF_FS,
    kaiser_beta: float = KAISER_BETA,
) -> np.ndarray:
    """A band-limiting ``factor``-times interpolator, shape ``(2 half_taps + 2, factor)`` (the
    limiter's by default: ``(WINDOW_TAPS, factor)``).

    Column ``k`` gives the band-limited output at ``n + k/factor`` (k = 0: the output sample
    itself) from frames ``n - half_taps .. n + half_taps + 1``. The prototype ``G``
    (:func:`prototype_filter`) is at ``factor`` times the rate; from ``y[4n + k] = sum_i x[i]
    G[4 half_taps + 4(n - i) + k]`` with ``i = n - half_taps + d`` (factor 4).
    ``resample_poly(x, 4, 1, window=G / 4)`` gives the same points.
    """
    prototype = prototype_filter(factor, half_taps, cutoff_fraction_of_fs, kaiser_beta) * factor
    centre = factor * half_taps
    offsets = np.arange(2 * half_taps + 2)
    columns = []
    for phase in range(factor):
        index = centre + factor * (half_taps - offsets) + phase
        inside = (index >= 0) & (index < prototype.size)
        columns.append(np.where(inside, prototype[np.clip(index, 0, prototype.size - 1)], 0.0))
    return np.stack(columns, axis=1)


def midpoint_remainder() -> float:
    """The larger of ``sum |e1|``, ``sum |e3|``: ``e1`` the taps of phase 1 minus the mean of
    phases 0 and 2 (over frames ``n - LEFT_TAPS - 1 .. n + RIGHT_TAPS + 1``), ``e3`` those of
    phase 3 minus the mean of phase 2 and phase 0 one frame on (0.385 here)."""
    columns = interpolation_matrix()
    phase = [np.pad(columns[:, k], 1) for k in range(OVERSAMPLING)]
    next_phase_0 = np.pad(columns[:, 0], (2, 0))
    return float(
        max(np.abs(phase[1] - (phase[0] + phase[2]) / 2).sum(), np.abs(phase[3] - (phase[2] + next_phase_0) / 2).sum())
    )


def prototype_filter(
    factor: int = OVERSAMPLING,
    half_taps: int = HALF_TAPS,
    cutoff_fraction_of_fs: float = CUTOFF_FRACTION_OF_FS,
    kaiser_beta: float = KAISER_BETA,
) -> np.ndarray:
    """The interpolation prototype at ``factor`` x the rate (unit gain at DC, ``2 factor half_taps + 1`` taps).

    The windowed-sinc low-pass (``scipy.signal.firwin``'s design, written out so the limiter does
    not load scipy.signal): ``h[m] = w sinc(w m) kaiser(beta)[m]``, ``m`` centred, ``w`` the
    cutoff over the Nyquist frequency at the high rate, then scaled to sum to 1.
    """
    taps = 2 * factor * half_taps + 1
    cutoff = 2 * cutoff_fraction_of_fs / factor
    offsets = np.arange(taps) - (taps - 1) / 2
    prototype = cutoff * np.sinc(cutoff * offsets) * np.kaiser(taps, kaiser_beta)
    return prototype / prototype.sum()


def overlap_save_spectra(frames: np.ndarray, window_taps: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The overlap-save chunks' spectra (channels, chunks, size // 2 + 1), the zero-padded frames
    and ``size``, for the 'valid' convolution of ``frames`` (channels, n + window_taps - 1) with
    filters of ``window_taps`` taps: chunk ``j`` is the ``size`` frames from ``j hop``, ``hop =
    size - window_taps + 1``; its inverse transform, times a filter's spectrum, holds that
    filter's points ``v = j hop .. j hop + hop - 1`` from index ``window_taps - 1`` on (points past
    ``n`` are padding). float32; one forward transform per chunk for all the filters."""
    channels, count = frames.shape[0], frames.shape[1] - window_taps + 1
    size = FFT_SIZE if count > FFT_SIZE - window_taps + 1 else scipy.fft.next_fast_len(frames.shape[1], real=True)
    hop = size - window_taps + 1
    chunks = -(-count // hop)
    padded = np.zeros((channels, chunks * hop + window_taps - 1), dtype=np.float32)
    padded[:, : frames.shape[1]] = frames
    segments = np.lib.stride_tricks.sliding_window_view(padded, size, axis=-1)[:, ::hop]
    return scipy.fft.rfft(segments, axis=-1), padded, size


@functools.cache
def phase_spectra(
    size: int,
    half_taps: int = HALF_TAPS,
    cutoff_fraction_of_fs: float = CUTOFF_FRACTION_OF_FS,
    kaiser_beta: float = KAISER_BETA,
) -> np.ndarray:
    """The transforms at ``size`` points of the interpolator's phases (:func:`interpolation_matrix`,
    the limiter's by default), reversed in time so that a convolution with phase ``k`` gives its
    points: ``(OVERSAMPLING, size // 2 + 1)`` complex64, made once per design and length (shared:
    not to be written to)."""
    bank = interpolation_matrix(OVERSAMPLING, half_taps, cutoff_fraction_of_fs, kaiser_beta).T[:, ::-1]
    return scipy.fft.rfft(bank.astype(np.float32), size, axis=-1).astype(np.complex64)


def sliding_extreme(values: np.ndarray, size: int, extreme: np.ufunc) -> np.ndarray:
    """``extreme`` (np.maximum or np.minimum) over each window ``values[i:i+size]``.

    Sparse-table doubling: windows of 1, 2, 4 .. w frames (w the largest power of two <= size),
    then two overlapping w-windows cover each size-window. Length ``len(values) - size + 1``.
    """
    result, width = values, 1
    while width * 2 <= size:
        result = extreme(result[:-width], result[width:])
        width *= 2
    return extreme(result[: len(values) - size + 1], result[size - width :])


class TruePeakLimiter:
    """Keeps the true peak of a stream of ``(channels, frames)`` float32 blocks at or below a ceiling.

    The output is the band-limited input ``b`` (phase 0 of the interpolator, see the module
    docstring) times a gain. Gain computer (one gain for all channels, so the stereo image does
    not move), per frame n:

    - ``q[n]``: the largest ``|b|`` over the channels at frame n and between it and its
      neighbours (4x-interpolated points, the peak between them found by a parabola);
    - ``r[n] = min(1, c / q[n])``: the gain frame n needs, ``c = 10^(ceiling_dbtp / 20)``;
    - ``m[n] = min(r[n .. n+L], max(min(r[n-H .. n]), min(r[n .. n+F])))``: look ahead ``L``
      frames, and hold for ``H`` where another frame over the ceiling follows within ``F``;
    - ``h[n] = min(m[n], rho h[n-1])``: recovery at a constant ``release_db_per_s``
      (``rho = 10^(s/20)`` per frame), the release;
    - ``g[n] = mean(h[n-L .. n])``: the gain glides down over the look-ahead instead of jumping.

    Every ``h[k]`` in that mean, ``k in [n-L, n]``, is at most ``m[k]``, whose look-ahead window
    covers ``n``; so ``g[n] <= r[n]``: the ceiling holds at every frame and every point between.
    (The gain's own slow change moves inter-sample values by less than 0.01 dB.)

    The hold keeps the gain steady under a loud bass note, whose peaks come every half period
    (12.5 ms at 40 Hz): released between them, the gain would ripple at twice the note's
    frequency, which is distortion. A sine 2.7 dB over the ceiling, THD at 25 / 30 / 40 / 60 Hz:
    -32.6 / -45.7 / -136 / -149 dB with the 12 ms hold and 400 dB/s; -31.7 / -33.5 / -36.6 /
    -41.9 dB with no hold and 50 dB/s, this limiter's earlier setting; -22.5 dB at 40 Hz with no
    hold and 400 dB/s. The hold lasts only where another peak follows within ``F`` (20 ms), so
    the last peak of a run, a drum hit's, is let go at once: its reduction is gone 2.5 ms per dB
    after it (at 50 dB/s: 20 ms per dB). Held after every peak, as this limiter was, a loud
    master lost 0.35-0.45 LU more (at -9.2 / -7.8 LUFS, FLAC: -0.47 / -1.60 LU, now -0.06 /
    -1.26), with the same THD figures.

    The output is delayed by ``latency_frames = max(L, F) + RIGHT_TAPS``; :meth:`process` returns
    fewer frames than it was given at the start and :meth:`flush` returns the rest, so the total
    length is unchanged and the output is aligned with the input.

    The stream's edges fade (``EDGE_FADE_MS``, raised cosine; a song's first and last 2 ms).
    A decoder reconstructs the output between silence before and after it: a stream that starts or
    stops at full scale is cut there, and the cut rings (Gibbs) up to ~0.15 dB over the ceiling in
    its last and first samples, which the detector, reading the band-limited *input*, does not see.
    Faded, the output starts and ends at zero and stays band-limited.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        ceiling_dbtp: float = -1.0,
        lookahead_ms: float = LOOKAHEAD_MS,
        hold_ms: float = HOLD_MS,
        next_peak_ms: float = NEXT_PEAK_MS,
        release_db_per_s: float = RELEASE_DB_PER_S,
    ):
        self._ceiling = 10 ** (ceiling_dbtp / 20)
        self._lookahead = max(1, round(lookahead_ms * sample_rate / 1000))
        self._hold = round(hold_ms * sample_rate / 1000)
        self._next_peak = round(next_peak_ms * sample_rate / 1000)
        self._reach = max(self._lookahead, self._next_peak)  # frames of r read after a frame
        self._release_factor = 10 ** (release_db_per_s / sample_rate / 20)
        self._remainder = midpoint_remainder()
        self.latency_frames = self._reach + RIGHT_TAPS
        # received frames not yet sent out, after CONTEXT_FRAMES frames already sent out
        self._frames = np.zeros((channels, CONTEXT_FRAMES), dtype=np.float32)
        self._started = False
        self._recent_gains = np.ones(self._lookahead)  # h of the last L frames sent out
        self._held = 1.0  # h of the last frame sent out
        self._recent_required = np.ones(self._hold)  # r of the last H frames sent out
        self._powers: tuple[np.ndarray, np.ndarray] = (np.ones(0), np.ones(0))
        self.peak_out = 0.0  # largest |output| seen by the detector
        fade_frames = max(1, round(EDGE_FADE_MS * sample_rate / 1000))  # <= L: flush returns them all
        self._fade_in = (np.sin(np.pi / 2 * np.arange(1, fade_frames + 1) / (fade_frames + 1)) ** 2).astype(np.float32)
        self._sent = 0  # frames sent out

    def process(self, block: np.ndarray) -> np.ndarray:
        self._frames = np.concatenate([self._frames, np.asarray(block, dtype=np.float32)], axis=1)
        ready = self._frames.shape[1] - CONTEXT_FRAMES - self.latency_frames
        if ready <= 0:
            return np.zeros((self._frames.shape[0], 0), dtype=np.float32)
        band_limited, peaks = self._peaks(ready + self._reach)
        out = band_limited[:, :ready]  # _peaks's own array: limited in place (g = 1 elsewhere)
        for start, stop, gain in self._smoothed_gain(peaks, ready):
            out[:, start:stop] *= gain
            peaks[start:stop] *= gain
        self.peak_out = max(self.peak_out, float(np.max(peaks[:ready])))
        self._frames = self._frames[:, ready:]
        fading = self._fade_in[self._sent : self._sent + ready]
        out[:, : fading.size] *= fading
        self._sent += ready
        return out

    def flush(self) -> np.ndarray:
        """The last ``latency_frames`` frames (the look-ahead runs on into silence), the last ones
        faded out."""
        out = self.process(np.zeros((self._frames.shape[0], self.latency_frames), dtype=np.float32))
        fading = self._fade_in[: out.shape[1]][::-1]
        out[:, out.shape[1] - fading.size :] *= fading
        return out

    def _peaks(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``(b, q)`` for the first ``count`` pending frames: the band-limited output (channels,
        count) and its peak around each frame (float32).

        Phases 0 and 2 are computed everywhere (the output, and the bound below); phases 1 and 3
        and the peak search only in the transform chunks :meth:`_needed_chunks` cannot clear.
        ``q`` is 0 in the others: there the full search's ``q``, parabolas included, is at most the
        ceiling and the peak already sent out, so ``r``, the gain and :attr:`peak_out` are the same."""
        # phase k of frame f - 1 (f = 0 .. count, pending frames) reads buffer indices f .. f + 2 LEFT + 1
        spectra, padded, size = overlap_save_spectra(
            self._frames[:, : count + CONTEXT_FRAMES + RIGHT_TAPS], WINDOW_TAPS
        )
        channels, hop = padded.shape[0], size - WINDOW_TAPS + 1
        bank = phase_spectra(size)
        even = scipy.fft.irfft(spectra[:, np.newaxis] * bank[0::2, np.newaxis], size, axis=-1, overwrite_x=True)
        needed = self._needed_chunks(even, padded, hop)
        peaks = np.zeros(count, dtype=np.float32)
        odd = scipy.fft.irfft(
            spectra[:, needed][:, np.newaxis] * bank[1::2, np.newaxis], size, axis=-1, overwrite_x=True
        )
        # each run of needed chunks as _detect's stream of points: frames v0 .. v1 - 2 of the run's
        # points v0 .. v1 - 1 (v1 - 1 = count in the last chunk)
        firsts = np.flatnonzero(needed & ~np.r_[False, needed[:-1]])
        stops = np.flatnonzero(needed & ~np.r_[needed[1:], False]) + 1
        taken = 0  # chunks of `odd` used
        for first, stop in zip(firsts.tolist(), stops.tolist(), strict=True):
            raw = np.empty((channels, OVERSAMPLING, stop - first, size), dtype=np.float32)
            raw[:, 0::2] = even[:, :, first:stop]
            raw[:, 1::2] = odd[:, :, taken : taken + stop - first]
            taken += stop - first
            frames = min(count, stop * hop - 1) - first * hop
            if frames > 0:
                peaks[first * hop : first * hop + frames] = self._detect(raw, frames)
        return even[:, 0, :, WINDOW_TAPS - 1 :].reshape(channels, -1)[:, 1 : count + 1], peaks

    def _detect(self, raw: np.ndarray, count: int) -> np.ndarray:
        """``q`` of frames ``0 .. count - 1`` from the four phases' points ``v = 0 .. count`` in
        ``raw`` (channels, phases, chunks, size): point ``v`` of phase ``k`` is channel ``c`` at
        frame ``v - 1 + k/4``, at ``raw[c, k, v // hop, WINDOW_TAPS - 1 + v % hop]`` (the
        transforms' output, see :func:`overlap_save_spectra`)."""
        channels = raw.shape[0]
        magnitude = np.abs(raw[..., WINDOW_TAPS - 1 :]).reshape(channels, OVERSAMPLING, -1)[..., : count + 1]
        loudest = magnitude[0]
        for channel in magnitude[1:]:
            loudest = np.maximum(loudest, channel)
        between = np.maximum(np.maximum(loudest[1], loudest[2]), loudest[3])  # after frame v - 1
        peaks = np.maximum(loudest[0, 1:], np.maximum(between[:-1], between[1:]))
        # a parabola raises a point by at most PARABOLA_RAISE_BOUND: only frames that could then
        # reach the ceiling need it (the others keep r = 1 either way)
        near = np.flatnonzero(peaks * PARABOLA_RAISE_BOUND > self._ceiling)
        if near.size * DENSE_NEAR_FRACTION > count:
            peaks[near] = np.maximum(peaks[near], _stream_vertex_peaks(raw, count)[near])
        elif near.size:
            peaks[near] = np.maximum(peaks[near], _parabolic_peaks(_points_around(raw, near, count)))
        return peaks

    def _needed_chunks(self, even: np.ndarray, padded: np.ndarray, hop: int) -> np.ndarray:
        """The transform chunks whose points may reach ``PARABOLA_RAISE_BOUND`` times below the
        ceiling or the largest peak sent out so far (bool, one per chunk; the last always).

        Phase 1 at point ``v`` is the mean of phases 0 and 2 at ``v`` plus a remainder, phase 3
        that of phase 2 at ``v`` and phase 0 at ``v + 1``: each remainder is a filter over the
        input whose taps' magnitudes sum to ``self._remainder`` (:func:`midpoint_remainder`). So no
        point of a chunk exceeds ``max |phases 0, 2| + remainder max |input|`` over it: the
        triangle inequality, exact for any signal. The chunk's bound covers ``BOUND_MARGIN``
        points on either side too: a frame whose peak search reads points of a cleared chunk is
        then cleared itself, whatever it reads there."""
        threshold = min(self._ceiling, self.peak_out) / (PARABOLA_RAISE_BOUND * BOUND_SAFETY)
        chunks = even.shape[2]
        needed = np.ones(chunks, dtype=bool)  # the last always: its last points stand in for the next block's first
        if chunks == 1 or threshold <= 0:
            return needed
        points = even[..., WINDOW_TAPS - 1 :]  # v = chunk * hop + index
        top = _largest_magnitude(points, (0, 1))
        top[:-1] = np.maximum(top[:-1], _largest_magnitude(points[..., :BOUND_MARGIN], (0, 1))[1:])
        top[1:] = np.maximum(top[1:], _largest_magnitude(points[..., -BOUND_MARGIN:], (0, 1))[:-1])
        # points v .. of a chunk read input frames v .. v + WINDOW_TAPS - 1 (phase 3's remainder:
        # one more), from BOUND_MARGIN points before it to BOUND_MARGIN after it
        reach = np.lib.stride_tricks.sliding_window_view(padded, hop + WINDOW_TAPS + BOUND_MARGIN, axis=-1)
        loudest = _largest_magnitude(reach[:, ::hop][:, : chunks - 1], (0,))
        before = padded[:, : (chunks - 1) * hop].reshape(padded.shape[0], chunks - 1, hop)[..., -BOUND_MARGIN:]
        loudest[1:] = np.maximum(loudest[1:], _largest_magnitude(before, (0,))[:-1])
        needed[:-1] = ~(top[:-1] + self._remainder * loudest <= threshold)  # NaN: needed
        return needed

    def _smoothed_gain(self, peaks: np.ndarray, ready: int) -> list[tuple[int, int, np.ndarray]]:
        """``g`` for the next ``ready`` frames from ``q`` of the next ``ready + max(L, F)`` frames,
        as ``(start, stop, g[start:stop])`` (float32) where it is under 1.

        ``g`` is exactly 1 outside the spans where a frame i over the ceiling (``r[i] < 1``)
        pulls it down: ``[i - L, i + H + R_i + L)``, ``R_i`` the frames the release needs to climb
        back from ``r[i]`` (and likewise from the gain carried over from the last block). Only
        those spans, merged, are computed: a song is limited at a few percent of its frames.
        """
        lookahead = self._lookahead
        if not self._started:
            # the frames before the stream are silence that already looked ahead into it
            self._recent_gains = np.minimum.accumulate(self._required(peaks[:lookahead]))
            self._held = float(self._recent_gains[-1])
            self._started = True
        gains: list[tuple[int, int, np.ndarray]] = []
        spans = self._limited_spans(peaks, ready)
        recent_required = self._recent_required
        self._recent_required = np.r_[recent_required, self._required(peaks[max(0, ready - self._hold) : ready])][
            min(ready, self._hold) :
        ]
        if not spans:
            return gains
        tail_gains, held = np.ones(lookahead), 1.0
        for start, stop in spans:
            carried = start == 0  # a span from 0 continues the last block's release
            history = self._recent_gains if carried else np.ones(lookahead)
            # r of the H frames before the span: 1 before a span of its own (an over there would
            # have reached into it and merged the two)
            before = recent_required if carried else np.ones(self._hold)
            required = np.r_[before, self._required(peaks[start : stop + self._reach])]
            held_span = self._held_gain(required, stop - start, self._held if carried else 1.0)
            # g[n] = mean(h[n-L .. n]) by a running sum over the L gains before the span and it
            recent = np.concatenate([history, held_span])
            gains.append((start, stop, np.minimum(_glide(recent, lookahead), 1.0).astype(np.float32)))
            if stop == ready:
                tail_gains, held = recent[-lookahead:], float(held_span[-1])
        self._recent_gains, self._held = tail_gains, held
        return gains

    def _required(self, peaks: np.ndarray) -> np.ndarray:
        """``r = min(1, c / q)`` (float64)."""
        return np.minimum(1.0, self._ceiling / np.maximum(peaks.astype(np.float64), 1e-30))

    def _limited_spans(self, peaks: np.ndarray, ready: int) -> list[tuple[int, int]]:
        """Merged ``(start, stop)`` spans of the next ``ready`` frames where ``g`` may be under 1."""
        lookahead = self._lookahead
        over = np.flatnonzero(peaks > np.float64(self._ceiling))  # compared as float64, like r
        # frames the release takes from gain r back to 1: ln(1/r) / ln(rho), +1 for rounding
        climb = (
            np.ceil(
                np.log(np.maximum(peaks[over].astype(np.float64), self._ceiling) / self._ceiling)
                / math.log(self._release_factor)
            ).astype(np.int64)
            + 1
        )
        starts, stops = over - lookahead, over + self._hold + climb + lookahead
        lowest_carried = min(self._held, float(self._recent_required.min(initial=1.0)))
        if lowest_carried < 1.0 or np.any(self._recent_gains < 1.0):
            carried_climb = math.ceil(-math.log(lowest_carried) / math.log(self._release_factor)) + 1
            starts, stops = np.r_[0, starts], np.r_[self._hold + carried_climb + lookahead, stops]
        if starts.size == 0:
            return []
        reach = np.maximum.accumulate(stops)
        first = np.flatnonzero(np.r_[True, starts[1:] > reach[:-1]])
        last = np.r_[first[1:] - 1, starts.size - 1]
        return [
            (max(0, int(start)), min(ready, int(stop)))
            for start, stop in zip(starts[first], reach[last], strict=True)
            if start < ready
        ]

    def _held_gain(self, required: np.ndarray, count: int, held_before: float) -> np.ndarray:
        """``h`` over ``count`` frames from ``r`` of ``H + count + max(L, F)`` frames (from H
        before the first) and ``h`` of the frame before."""
        hold, lookahead, next_peak = self._hold, self._lookahead, self._next_peak
        ahead = sliding_extreme(required[hold : hold + lookahead + count], lookahead + 1, np.minimum)
        held_from = sliding_extreme(required[: hold + count], hold + 1, np.minimum)  # min r[n-H .. n]
        next_one = sliding_extreme(required[hold : hold + next_peak + count], next_peak + 1, np.minimum)
        least = np.minimum(ahead, np.maximum(held_from, next_one))  # m
        # the release, s dB per frame, is a factor rho = 10^(s/20) per frame in linear terms:
        # h[n] = min(m[n], rho h[n-1]) = rho^n min(rho h[-1], min_{k<=n} m[k] rho^-k)
        rising, falling = self._release_powers(count)
        held = rising * np.minimum(held_before * self._release_factor, np.minimum.accumulate(least * falling))
        held[held > 1.0 - 1e-9] = 1.0  # recovered (rho^n rho^-n is not always exactly 1)
        return held

    def _release_powers(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``rho^n`` and ``rho^-n`` for n < count (kept and sliced: spans are at most a block long)."""
        if self._powers[0].size < count:
            steps = np.arange(count)
            self._powers = (self._release_factor**steps, self._release_factor**-steps)
        return self._powers[0][:count], self._powers[1][:count]


def _largest_magnitude(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``max |values|`` over the last axis and ``axes`` (the last axis first: contiguous reads)."""
    return np.maximum(values.max(axis=-1), -values.min(axis=-1)).max(axis=axes)


def _points_around(raw: np.ndarray, near: np.ndarray, count: int) -> np.ndarray:
    """The points ``4n .. 4n + 8`` around each frame ``n`` of ``near`` (``n + k/4``, k = 0 .. 8, time
    order; the frame at the middle one): ``(channels, frames, 9)`` from ``TruePeakLimiter._detect``'s
    output ``raw`` (phases 0-3 of ``v = n`` and ``n + 1``, phase 0 of ``v = n + 2``)."""
    channels, chunks, size = raw.shape[0], raw.shape[2], raw.shape[3]
    hop = size - WINDOW_TAPS + 1
    # where point v of phase 0 is in raw (phase k: + k * chunks * size); the last frame's right
    # neighbour (v = count + 1) is not computed yet: its last point stands in (an over-read at
    # most; the frame is computed again with the next block)
    phase_stride = chunks * size
    steps = near[:, np.newaxis] + np.arange(3)  # v = n .. n + 2
    beyond = steps > count
    steps[beyond] = count
    position = steps + (WINDOW_TAPS - 1) + (steps // hop) * (size - hop) + beyond * ((OVERSAMPLING - 1) * phase_stride)
    index = position[:, :, np.newaxis] + phase_stride * np.arange(OVERSAMPLING)
    return raw.reshape(channels, -1)[:, index.reshape(near.size, -1)[:, : 2 * OVERSAMPLING + 1]]


def _stream_vertex_peaks(raw: np.ndarray, count: int) -> np.ndarray:
    """``_parabolic_peaks`` of every frame ``0 .. count - 1`` at once (0 where no parabola rises):
    the points in time order (stream index ``4 v + k``), the parabola at each local maximum of
    ``|x|`` (the same formula on the same points), each vertex credited to the frames whose middle
    seven points (stream ``4n + 1 .. 4n + 7``) hold it."""
    channels, chunks, size = raw.shape[0], raw.shape[2], raw.shape[3]
    hop = size - WINDOW_TAPS + 1
    length = OVERSAMPLING * (count + 1)
    stream = np.empty((channels, OVERSAMPLING * chunks * hop + 1), dtype=raw.dtype)
    stream[:, :-1].reshape(channels, chunks, hop, OVERSAMPLING)[...] = raw[..., WINDOW_TAPS - 1 :].transpose(0, 2, 3, 1)
    stream[:, length] = stream[:, length - 1]  # v = count + 1 stands in as in _points_around
    # both channels in one row: a channel's first point and those from its point `length` on
    # (padding) are no one's middle point
    flat = stream.ravel()
    magnitude = np.abs(flat)
    middle = magnitude[1:-1]
    index = np.flatnonzero((middle >= magnitude[:-2]) & (middle >= magnitude[2:])) + 1
    offset = index % stream.shape[1]
    inside = (offset > 0) & (offset < length)
    index, offset = index[inside], offset[inside]
    sign = np.sign(flat[index])
    left, peak, right = sign * flat[index - 1], magnitude[index], sign * flat[index + 1]
    curvature = 2 * peak - left - right
    rising = curvature > 0
    vertex = peak + np.where(rising, (left - right) ** 2 / (8 * np.where(rising, curvature, 1)), 0)
    # stream index j = 4q + 1 + r (r = 0 .. 3) is a middle point of frame q, and of q - 1 if r <= 2
    quarter, remainder = np.divmod(offset - 1, OVERSAMPLING)
    result = np.zeros(count + 1, dtype=raw.dtype)
    np.maximum.at(result, quarter, vertex)
    earlier = (remainder <= 2) & (quarter >= 1)
    np.maximum.at(result, quarter[earlier] - 1, vertex[earlier])
    return result[:count]


def _parabolic_peaks(around: np.ndarray) -> np.ndarray:
    """The peak of the signal around a frame, from ``around`` (channels, frames, 9 equally spaced
    points, the frame at the middle one): the vertex of the parabola through each local maximum
    of ``|x|`` among the middle seven points and its two neighbours, taken on the signal's own
    sign (``peaks.parabolic_peak_height``); the largest over the channels and the points.

    The under-read of a tone's peak between 4x points is then at most 0.06 dB up to 21 kHz at
    44.1 kHz (0.6 dB without the parabola). The vertex is at most 1.25 x the point (a point
    between two of opposite sign and the same size): ``PARABOLA_RAISE_BOUND``."""
    return parabolic_peak_height(around[..., :-2], around[..., 1:-1], around[..., 2:]).max(axis=(0, 2))


def _glide(held: np.ndarray, lookahead: int) -> np.ndarray:
    """``g[n]``: a triangular-weighted mean of ``held[n-L .. n]`` (two running means of about L/2
    frames, one after the other); ``L`` fewer values than ``held``.

    Any mean of those ``h`` keeps ``g[n] <= r[n]``; the triangle's corners are smoother than a
    single running mean's, so the gain moves the points between samples a little less."""
    first = lookahead // 2 + 1
    second = lookahead + 2 - first
    smoothed = held
    for width in (first, second):
        sums = np.cumsum(np.concatenate([[0.0], smoothed]))
        smoothed = (sums[width:] - sums[:-width]) / width
    return smoothed
