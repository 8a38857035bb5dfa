"""A delay that glides: time-varying fractional delay, flat to the top of the band.

The signal is first brought to twice its rate: the samples between its own ones, ``x(n + 1/2)``,
come from a fixed linear-phase half-sample interpolator (``half_sample_taps``: 16 taps, exact
at low frequencies, within 0.05 dB up to 0.41 fs). The delay is then read from that stream by
4-point (3rd-order) Lagrange interpolation (Laakso, Valimaki, Karjalainen & Laine, "Splitting
the unit delay", IEEE Signal Process. Mag. 13(1), 1996, eq. 42); at ``D2 = 2 D = m + f``:

    h(-1) = -f (f-1) (f-2) / 6        h(0) = (f+1) (f-1) (f-2) / 2
    h(+1) = -(f+1) f (f-2) / 2        h(+2) = (f+1) f (f-1) / 6

Why twice the rate: Lagrange interpolation is exact at low frequencies but dulls the treble by an
amount that depends on the fraction ``f`` (the most at f = 1/2). As a delay glides, ``f``
cycles (an orbit's ear delays change by up to ~25 samples a second), so at the signal's own rate
the top octave flutters: measured on the classic preset at 44.1 kHz, a 16 kHz sine's level
swung +-2.4 dB (99th percentile) and an 18 kHz one's +-3.8 dB at 12-25 Hz, and at 32 kHz the
treble of 10-14 kHz was so dull that the listener model heard the front behind. On the doubled
grid every audible frequency is below a quarter of the rate, where the same interpolator swings
at most 0.3 dB at 16 kHz and 0.5 dB at 18 kHz (44.1 kHz).

The delay changes every sample. It is given on the control grid (``control_rate``); on each
grid segment the integer part ``m`` is fixed (the rounded-down mean of the segment's two end
delays) and the four weights ramp linearly between their exact values at the segment's ends.
Lagrange weights sum to 1 and reproduce a linear ramp exactly, so the ramped weights err only
by the curvature of ``f^2`` over the segment: for the orbit's slow delay changes (< 0.06
half-samples per 64-sample segment) that is a filter error below -110 dB. Where ``m`` changes
between segments the two readings agree to within the interpolator's own error.

The half-sample points read ``HALF_SAMPLE_TAPS / 2`` samples ahead: a delay is at least
``MINIMUM_DELAY_SAMPLES``.
"""

from __future__ import annotations

import functools

import numpy as np

from .control_rate import CHUNK_FRAMES, segment_ramps, segments_of

TAP_OFFSETS = np.arange(-1, 3)  # delays of the four Lagrange taps relative to m (half-samples)
HALF_SAMPLE_TAPS = 16
# where the half-sample interpolator's taps sit relative to the point it makes, in samples
HALF_SAMPLE_OFFSETS = np.arange(HALF_SAMPLE_TAPS) - HALF_SAMPLE_TAPS / 2 + 0.5
HALF_SAMPLE_BAND = 0.42  # of the sample rate: the half-sample interpolator's least-squares band
HALF_SAMPLE_FLAT_ORDER = 7
# the newest Lagrange tap (m - 1 half-samples back) may be a half-sample point, which reads
# HALF_SAMPLE_TAPS / 2 samples past itself
MINIMUM_DELAY_SAMPLES = HALF_SAMPLE_TAPS // 2


@functools.cache
def half_sample_taps() -> np.ndarray:
    """The half-sample interpolator: ``x(n + 1/2) = sum_j c_j x[n - T/2 + 1 + j]`` (T taps, symmetric).

    Least squares against the ideal half-sample delay ``exp(-j w t)`` over 0..``HALF_SAMPLE_BAND``
    cycles per sample, subject to Lagrange interpolation's moment conditions ``sum_j c_j t_j^k =
    [k = 0]`` for ``k <= HALF_SAMPLE_FLAT_ORDER`` (exact for polynomials of that degree: flat at low
    frequencies), both kinds of design in Laakso et al. 1996 (module doc). Its error: 6e-9 at
    1 kHz / 44.1 kHz, under 5.4e-3 (0.05 dB) to 16 kHz, 1.8e-3 at 18 kHz.
    """
    offsets = HALF_SAMPLE_OFFSETS  # t_j
    omega = np.linspace(0, 2 * np.pi * HALF_SAMPLE_BAND, 400)
    # the response relative to the ideal delay, real and imaginary parts: 1 and 0 wanted
    relative = np.exp(-1j * np.outer(omega, offsets))
    design = np.vstack([relative.real, relative.imag])
    wanted = np.concatenate([np.ones(len(omega)), np.zeros(len(omega))])
    moments = np.vstack([offsets**k for k in range(HALF_SAMPLE_FLAT_ORDER + 1)])
    conditions = len(moments)
    system = np.block([[design.T @ design, moments.T], [moments, np.zeros((conditions, conditions))]])
    right = np.concatenate([design.T @ wanted, np.eye(conditions)[0]])
    return np.linalg.solve(system, right)[:HALF_SAMPLE_TAPS]


def lagrange3_weights(fraction: np.ndarray) -> np.ndarray:
    """The four tap weights for delays ``m-1 .. m+2`` at ``fraction`` ``f``: shape ``(4, *f.shape)``."""
    f = np.asarray(fraction, dtype=np.float64)
    above, below, below_2 = f + 1, f - 1, f - 2
    above_f = above * f  # shared by h(+1) and h(+2), whose products start with it
    weights = np.empty((4, *f.shape))
    np.divide(-f * below * below_2, 6, out=weights[0, ...])
    np.divide(above * below * below_2, 2, out=weights[1, ...])
    np.divide(-above_f * below_2, 2, out=weights[2, ...])
    np.divide(above_f * below, 6, out=weights[3, ...])
    return weights


def mean_power(normalised_freqs: np.ndarray, fractions: int = 64) -> np.ndarray:
    """The interpolator's power response at ``normalised_freqs`` (cycles per sample), averaged over
    delays spread evenly over one sample: what a delay that glides through every fraction (an
    orbit's ear delays) does to the spectrum on average (at 44.1 kHz: -0.2 dB at 16 kHz)."""
    omega = 2 * np.pi * np.asarray(normalised_freqs, dtype=np.float64)
    # a half-sample point's response relative to the ideal half-sample delay it stands for
    half = np.exp(-1j * np.multiply.outer(omega, HALF_SAMPLE_OFFSETS)) @ half_sample_taps()
    # over one sample the doubled delay m + f glides over two half-samples: m even, then odd
    f = (np.arange(fractions) + 0.5) / fractions
    weights = lagrange3_weights(f)  # (taps, fractions)
    power = np.zeros(omega.shape)
    for m in (0, 1):
        response = np.zeros(omega.shape + f.shape, dtype=complex)
        for offset, weight in zip(TAP_OFFSETS, weights, strict=True):
            position = m + int(offset)  # half-samples back
            response += np.multiply.outer(np.exp(-0.5j * omega * position) * (half if position % 2 else 1.0), weight)
        power += np.mean(np.abs(response) ** 2, axis=-1) / 2
    return power


class FractionalDelayLine:
    """One streaming delay line whose delay (in samples, >= ``MINIMUM_DELAY_SAMPLES``) is given on the
    control grid."""

    def __init__(self, max_delay_samples: float, control_step: int):
        self.control_step = control_step
        self.depth = int(np.ceil(max_delay_samples)) + HALF_SAMPLE_TAPS // 2 + 3
        self._half = half_sample_taps().astype(np.float32)
        # the last `depth` samples heard, then room for a block after them (kept between calls: the
        # block is copied in behind its history, not concatenated to it anew)
        self._line = np.zeros(self.depth, dtype=np.float32)

    def process(
        self, block: np.ndarray, delay_samples: np.ndarray, first_sample: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Delay the float32 ``block`` (its first sample has absolute index ``first_sample``) into ``out``
        (float32, as long as ``block``; a new array if None).

        ``delay_samples[j]`` is the delay at grid point ``control_indices(first_sample, len(block), step)[j]``.
        """
        frames = len(block)
        depth = self.depth
        doubled = 2 * np.asarray(delay_samples, dtype=np.float64)  # in half-samples
        integer = np.floor((doubled[:-1] + doubled[1:]) / 2).astype(np.int64)
        if integer.min() < 2 * MINIMUM_DELAY_SAMPLES or integer.max() + 2 >= 2 * (depth - HALF_SAMPLE_TAPS // 2):
            raise ValueError(f"delay out of range {MINIMUM_DELAY_SAMPLES}..{depth - HALF_SAMPLE_TAPS // 2 - 2} samples")
        # the weights at both ends of every segment (float32, as segment_ramps takes them)
        fractions = np.concatenate([doubled[:-1] - integer, doubled[1:] - integer])
        at_start, at_end = np.split(lagrange3_weights(fractions).astype(np.float32), 2, axis=1)
        if len(self._line) < depth + frames:
            self._line = np.concatenate([self._line[:depth], np.empty(frames, dtype=np.float32)])
        padded = self._line[: depth + frames]
        padded[depth:] = block
        between = self._between(padded)
        output = np.empty(frames, dtype=np.float32) if out is None else out
        step = self.control_step
        changes = np.flatnonzero(np.diff(integer)) + 1
        run_starts = np.maximum(changes * step - first_sample % step, 0)
        starts = np.union1d(run_starts, np.arange(0, frames, CHUNK_FRAMES))
        shifts = integer[(first_sample + starts) // step - first_sample // step]
        products = np.empty((len(TAP_OFFSETS), min(frames, CHUNK_FRAMES)), dtype=np.float32)
        for start, stop, shift in zip(starts.tolist(), [*starts[1:].tolist(), frames], shifts.tolist(), strict=True):
            if start % CHUNK_FRAMES == 0:
                chunk, chunk_stop = start, min(start + CHUNK_FRAMES, frames)
                part = segments_of(first_sample, chunk, chunk_stop, step)
                weights = segment_ramps(
                    at_start[:, part], at_end[:, part], first_sample + chunk, chunk_stop - chunk, step
                )
            # taps m-1 .. m+2 half-samples back: samples and half-sample points in turn
            p, odd_shift = divmod(shift, 2)
            here = depth + start - p
            if odd_shift:
                sources = (padded[here:], between[here - 1 :], padded[here - 1 :], between[here - 2 :])
            else:
                sources = (between[here:], padded[here:], between[here - 1 :], padded[here - 1 :])
            count = stop - start
            run, out_run = products[:, :count], output[start:stop]
            for row, source in enumerate(sources):
                np.multiply(weights[row, start - chunk : stop - chunk], source[:count], out=run[row])
            np.add(run[0], run[1], out=out_run)
            out_run += run[2]
            out_run += run[3]
        padded[:depth] = padded[frames:]  # the history for the next block (an overlapping copy when short)
        return output

    def _between(self, padded: np.ndarray) -> np.ndarray:
        """``x(k + 1/2)`` at index ``k`` of ``padded`` (zero in the first ``T/2 - 1`` and last ``T/2``,
        which would read outside it and are never read). The symmetric taps in pairs: 2.5x faster
        than ``np.convolve`` on a 65 536-frame block."""
        length, reach = len(padded), HALF_SAMPLE_TAPS // 2
        between = np.zeros(length, dtype=np.float32)
        count = length - 2 * reach + 1
        inside = between[reach - 1 : reach - 1 + count]
        pair = np.empty(count, dtype=np.float32)
        for j in range(reach):
            np.add(padded[reach - 1 - j : reach - 1 - j + count], padded[reach + j : reach + j + count], out=pair)
            pair *= self._half[reach - 1 - j]
            inside += pair
        return between
