"""A streaming look-ahead brick-wall limiter on the true peak (ITU-R BS.1770-4, Annex 2).

Why not ``pedalboard.BrickwallLimiter(true_peak=True)``: it oversamples every sample of the song
(about 3.3 s of CPU per 5-minute song, half the cost of the MP3 encode it feeds) and its own
documentation warns that it does not guarantee the ceiling. Here the oversampling runs only at
the frames where a peak can come near the ceiling, the gain is computed only where it is under
1, and the gain computer is built so that the limited signal cannot exceed the ceiling at any
sample or 4x-interpolated point.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

OVERSAMPLING = 4
KAISER_BETA = 8.0
# scipy.signal.resample_poly's default design for 4x: 81 taps, so 20 taps per phase; the
# interpolation between frames n and n+1 reads frames n-9 .. n+10
TAPS_PER_PHASE = 20
LEFT_TAPS = TAPS_PER_PHASE // 2 - 1
RIGHT_TAPS = TAPS_PER_PHASE // 2
# frames kept before the first unsent one: the interpolation just before it reads back this far
CONTEXT_FRAMES = LEFT_TAPS + 1


def interpolation_matrix(factor: int = OVERSAMPLING, beta: float = KAISER_BETA) -> np.ndarray:
    """Polyphase 4x interpolator, shape ``(TAPS_PER_PHASE, factor - 1)``.

    Column ``k - 1`` gives the signal at ``n + k/factor`` (k = 1..factor-1) from frames
    ``n - 9 .. n + 10``. The prototype is the low-pass ``scipy.signal.resample_poly(x, 4, 1,
    window=("kaiser", 8))`` uses (``firwin(81, 1/4)``, Kaiser beta 8), which is also how
    ``analysis.true_peak_dbtp`` measures (ITU-R BS.1770-4 Annex 2: a 4x oversampling
    interpolator), so the limiter and the measurement agree on where the true peaks are.
    From ``y[4m + k] = 4 sum_i x[i] h[4m + k + 40 - 4i]`` with offset ``j = i - m``.
    """
    half_len = 10 * factor
    prototype = scipy.signal.firwin(2 * half_len + 1, 1.0 / factor, window=("kaiser", beta)) * factor
    offsets = np.arange(-LEFT_TAPS, RIGHT_TAPS + 1)
    return np.stack([prototype[half_len + phase - factor * offsets] for phase in range(1, factor)], axis=1)


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

    Gain computer (one gain for all channels, so the stereo image does not move), per frame n:

    - ``q[n]``: the largest ``|x|`` over the channels at frame n and at the 4x-interpolated
      points on both sides of it;
    - ``r[n] = min(1, c / q[n])``: the gain frame n needs, ``c = 10^(ceiling_dbtp / 20)``;
    - ``m[n] = min(r[n .. n+L])``: look ahead ``L`` frames;
    - ``h[n] = min(m[n], rho h[n-1])``: recovery at a constant ``release_db_per_s``
      (``rho = 10^(s/20)`` per frame), the release;
    - ``g[n] = mean(h[n-L .. n])``: the gain glides down over the look-ahead instead of jumping.

    Every ``h[k]`` in that mean, ``k in [n-L, n]``, is at most ``m[k]``, whose look-ahead window
    covers ``n``; so ``g[n] <= r[n]``: the ceiling holds at every frame and interpolated point.
    (The gain's own slow change moves inter-sample values by less than 0.01 dB.)

    The output is delayed by ``latency_frames = L + 10``; :meth:`process` returns fewer frames than
    it was given at the start and :meth:`flush` returns the rest, so the total length is unchanged
    and the output is aligned with the input.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        ceiling_dbtp: float = -1.0,
        lookahead_ms: float = 2.0,
        release_db_per_s: float = 50.0,
    ):
        self._ceiling = 10 ** (ceiling_dbtp / 20)
        self._lookahead = max(1, round(lookahead_ms * sample_rate / 1000))
        self._release_factor = 10 ** (release_db_per_s / sample_rate / 20)
        self._interpolator = interpolation_matrix().astype(np.float32)
        # an interpolated value can exceed the local sample peak by at most this factor
        self._overshoot_bound = float(np.abs(self._interpolator).sum(axis=0).max())
        self.latency_frames = self._lookahead + RIGHT_TAPS
        # received frames not yet sent out, after CONTEXT_FRAMES frames already sent out
        self._frames = np.zeros((channels, CONTEXT_FRAMES), dtype=np.float32)
        self._started = False
        self._recent_gains = np.ones(self._lookahead)  # h of the last L frames sent out
        self._held = 1.0  # h of the last frame sent out
        self._powers: tuple[np.ndarray, np.ndarray] = (np.ones(0), np.ones(0))
        self.peak_out = 0.0  # largest |output| seen by the detector

    def process(self, block: np.ndarray) -> np.ndarray:
        self._frames = np.concatenate([self._frames, np.asarray(block, dtype=np.float32)], axis=1)
        ready = self._frames.shape[1] - CONTEXT_FRAMES - self.latency_frames
        if ready <= 0:
            return np.zeros((self._frames.shape[0], 0), dtype=np.float32)
        peaks = self._peaks(ready + self._lookahead)
        gain = self._smoothed_gain(peaks, ready).astype(np.float32)
        out = self._frames[:, CONTEXT_FRAMES : CONTEXT_FRAMES + ready] * gain
        self.peak_out = max(self.peak_out, float(np.max(peaks[:ready] * gain)))
        self._frames = self._frames[:, ready:]
        return out

    def flush(self) -> np.ndarray:
        """The last ``latency_frames`` frames (the look-ahead runs on into silence)."""
        return self.process(np.zeros((self._frames.shape[0], self.latency_frames), dtype=np.float32))

    def _peaks(self, count: int) -> np.ndarray:
        """``q[n]`` for the first ``count`` pending frames (float32).

        Interpolated only where the bound ``overshoot x (peak of the 20 frames read)`` reaches
        the ceiling: those windows are gathered and multiplied by the interpolator at once.
        """
        frames = self._frames
        sample_peak = np.abs(frames).max(axis=0)  # index i <-> frame i - CONTEXT_FRAMES
        # between frames f and f+1 (f = -1 .. count-1) the interpolator reads indices f+1 .. f+20
        window_peak = sliding_extreme(sample_peak, TAPS_PER_PHASE, np.maximum)
        between = np.zeros(count + 1, dtype=np.float32)
        candidates = np.flatnonzero(window_peak * self._overshoot_bound > self._ceiling)
        if candidates.size:
            windows = np.lib.stride_tricks.sliding_window_view(frames, TAPS_PER_PHASE, axis=1)[:, candidates]
            # (channels, phases, candidates): the reduction then runs over the outer axes (fast)
            interpolated = np.matmul(self._interpolator.T, windows.transpose(0, 2, 1))
            between[candidates] = np.abs(interpolated).max(axis=(0, 1))
        own = sample_peak[CONTEXT_FRAMES : CONTEXT_FRAMES + count]
        return np.maximum(own, np.maximum(between[:-1], between[1:]))

    def _smoothed_gain(self, peaks: np.ndarray, ready: int) -> np.ndarray:
        """``g`` for the next ``ready`` frames from ``q`` of the next ``ready + L`` frames.

        ``g`` is exactly 1 outside the spans where a frame i over the ceiling (``r[i] < 1``)
        pulls it down: ``[i - L, i + R_i + L)``, ``R_i`` the frames the release needs to climb
        back from ``r[i]`` (and likewise from the gain carried over from the last block). Only
        those spans, merged, are computed: a song is limited at a few percent of its frames.
        """
        lookahead = self._lookahead
        if not self._started:
            # the frames before the stream are silence that already looked ahead into it
            self._recent_gains = np.minimum.accumulate(self._required(peaks[:lookahead]))
            self._held = float(self._recent_gains[-1])
            self._started = True
        gain = np.ones(ready)
        spans = self._limited_spans(peaks, ready)
        if not spans:
            return gain
        tail_gains, held = np.ones(lookahead), 1.0
        for start, stop in spans:
            carried = start == 0  # a span from 0 continues the last block's release
            history = self._recent_gains if carried else np.ones(lookahead)
            held_span = self._held_gain(
                self._required(peaks[start : stop + lookahead]), stop - start, self._held if carried else 1.0
            )
            # g[n] = mean(h[n-L .. n]) by a running sum over the L gains before the span and it
            recent = np.concatenate([history, held_span])
            sums = np.cumsum(np.concatenate([[0.0], recent]))
            gain[start:stop] = np.minimum((sums[lookahead + 1 :] - sums[: -lookahead - 1]) / (lookahead + 1), 1.0)
            if stop == ready:
                tail_gains, held = recent[-lookahead:], float(held_span[-1])
        self._recent_gains, self._held = tail_gains, held
        return gain

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
        starts, stops = over - lookahead, over + climb + lookahead
        idle = self._held == 1.0 and bool(np.all(self._recent_gains == 1.0))
        if not idle:
            carried_climb = math.ceil(-math.log(self._held) / math.log(self._release_factor)) + 1
            starts, stops = np.r_[0, starts], np.r_[carried_climb + lookahead, stops]
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
        """``h`` over ``count`` frames from ``r`` of ``count + L`` frames and ``h`` of the frame before."""
        # m[n] = min(r[n .. n+L]): a minimum filter whose window starts at n
        ahead_min = sliding_extreme(required, self._lookahead + 1, np.minimum)
        # the release, s dB per frame, is a factor rho = 10^(s/20) per frame in linear terms:
        # h[n] = min(m[n], rho h[n-1]) = rho^n min(rho h[-1], min_{k<=n} m[k] rho^-k)
        rising, falling = self._release_powers(count)
        held = rising * np.minimum(held_before * self._release_factor, np.minimum.accumulate(ahead_min * falling))
        held[held > 1.0 - 1e-9] = 1.0  # recovered (rho^n rho^-n is not always exactly 1)
        return held

    def _release_powers(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``rho^n`` and ``rho^-n`` for n < count (kept and sliced: spans are at most a block long)."""
        if self._powers[0].size < count:
            steps = np.arange(count)
            self._powers = (self._release_factor**steps, self._release_factor**-steps)
        return self._powers[0][:count], self._powers[1][:count]
