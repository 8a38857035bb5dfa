"""Motion over time: breakpoint curves, the orbit's phase laws, and the effect's envelope.

A *curve* is a tuple of breakpoints ``((t_0, v_0), (t_1, v_1), ...)``, times in seconds
strictly ascending (``surroundyou_jobs.options.parse_curve`` reads ``"0:8,30:4"``). Before the
first point the first value holds, after the last the last; between two points the value
follows the smoothstep ``S(x) = 3x^2 - 2x^3`` (``x`` the fraction of the way), so it never
jumps and its slope is 0 at every breakpoint (a continuous first derivative).

The orbit's *phase laws* (``orbit.PhaseLaw``): how many turns the orbit has made by sample
``n``, computed in closed form from the absolute sample index, so a song rendered in blocks of
any size moves exactly as one rendered in one piece.

- ``SpeedCurvePhase``: a curve of the period. The speed ``1/period`` follows the curve's
  smoothstep between the breakpoints' speeds, and the turns are its integral,
  ``u(t) = integral_0^t ds / P(s)``: within a segment ``[t_i, t_i+1]`` of length ``D``, with
  ``r_i = 1/v_i`` and ``x = (t - t_i)/D``, ``u(t) = u(t_i) + D (r_i x + (r_i+1 - r_i)(x^3 - x^4/2))``.
  Speed has no jumps (nor does its slope at the breakpoints): no click, only a smooth
  acceleration.
- ``BeatGridPhase``: the song's beats. Turn ``k/N`` falls on beat ``k`` (``N`` beats per turn,
  a turn starts on the first beat; where ``N`` beats last less than ``SHORTEST_TURN_S``, ``N`` is
  doubled, tripled, ... until they do: 2 beats at 140 BPM are 0.86 s, so a turn takes 4); between beats the turns follow a cubic Hermite curve whose
  slope at each beat is the mean speed of its two neighbouring beat intervals (limited to 3x
  either, Fritsch & Carlson, "Monotone piecewise cubic interpolation", SIAM J. Numer. Anal.
  17(2), 1980, so it never runs backwards): a grid whose tempo drifts is followed smoothly
  (a continuous first derivative). Before the first beat and after the last the speed holds.

The *envelope*: the effect fades in from the original stereo over ``fade_in_s`` and out to it
over the last ``fade_out_s``, both smoothstep, and an intensity curve scales it in between
(``EffectEnvelope``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Curve = tuple[tuple[float, float], ...]
# The fastest orbit: a turn a second, as ``options.PERIOD_RANGE_S`` allows. Faster, the head cues
# swing so fast that a pure tone spreads beyond the click budget (a 1 kHz sine keeps -80 dB outside
# +-50 Hz): at 0.5 s per turn every path spreads it to -42..-73 dB. A beat grid never turns faster.
SHORTEST_TURN_S = 1.0


def smoothstep(fraction: np.ndarray) -> np.ndarray:
    """``3x^2 - 2x^3`` of ``x`` clipped to [0, 1]: 0 -> 1 with zero slope at both ends."""
    x = np.clip(fraction, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def check_curve(curve: Any, name: str, low: float, high: float) -> Curve:
    """``curve`` as a tuple of float pairs; ValueError naming ``name`` if it is not a valid breakpoint curve."""
    try:
        if isinstance(curve, (str, bytes)):
            raise TypeError
        points = tuple((float(t), float(v)) for t, v in curve)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a curve of (seconds, value) points, got {curve!r}") from None
    if not points:
        raise ValueError(f"{name} curve needs at least one point")
    times = [t for t, _ in points]
    if any(not np.isfinite(t) or t < 0 for t in times) or any(
        b <= a for a, b in zip(times[:-1], times[1:], strict=True)
    ):
        raise ValueError(f"{name} curve times must be seconds >= 0, strictly ascending, got {curve!r}")
    if any(not (low <= v <= high) for _, v in points):
        raise ValueError(f"{name} curve values must be {low:g}-{high:g}, got {curve!r}")
    return points


def curve_values(curve: Curve, times_s: np.ndarray) -> np.ndarray:
    """The curve's value at ``times_s`` (smoothstep between breakpoints; held before and after)."""
    times_s = np.asarray(times_s, dtype=np.float64)
    knots = np.array([t for t, _ in curve])
    values = np.array([v for _, v in curve])
    segment = np.clip(np.searchsorted(knots, times_s, side="right") - 1, 0, len(knots) - 1)
    following = np.minimum(segment + 1, len(knots) - 1)
    span = np.where(following > segment, knots[following] - knots[segment], 1.0)
    step = smoothstep((times_s - knots[segment]) / span)
    return values[segment] + (values[following] - values[segment]) * step


def curve_or_constant(value: float | Curve) -> Curve:
    """A number as a one-point curve; a curve as it is."""
    return ((0.0, float(value)),) if isinstance(value, (int, float)) else tuple(value)


class SpeedCurvePhase:
    """Turns made under a curve of the period (seconds per turn): the integral of the speed (module doc)."""

    def __init__(self, period_curve: Curve, sample_rate: int):
        self.sample_rate = int(sample_rate)
        self.knots_s = np.array([t for t, _ in period_curve], dtype=np.float64)
        self.rates = 1.0 / np.array([v for _, v in period_curve], dtype=np.float64)  # turns per second
        spans = np.diff(self.knots_s)
        # turns at each knot: the first rate holds from 0, each segment adds D (r_i + r_i+1)/2
        self.knot_turns = np.concatenate(
            [
                [self.rates[0] * self.knots_s[0]],
                self.rates[0] * self.knots_s[0] + np.cumsum(spans * (self.rates[:-1] + self.rates[1:]) / 2),
            ]
        )

    def turns(self, sample_index: np.ndarray) -> np.ndarray:
        t = np.asarray(sample_index, dtype=np.float64) / self.sample_rate
        knots, rates = self.knots_s, self.rates
        segment = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(knots) - 1)
        following = np.minimum(segment + 1, len(knots) - 1)
        last = following == segment  # after the last knot the last speed holds
        span = np.where(last, 1.0, knots[following] - knots[segment])
        elapsed = t - knots[segment]
        x = np.clip(elapsed / span, 0.0, 1.0)
        within = span * (rates[segment] * x + (rates[following] - rates[segment]) * (x**3 - x**4 / 2))
        within = np.where(last, rates[segment] * elapsed, within)
        return np.where(t < knots[0], rates[0] * t, self.knot_turns[segment] + within)

    def period_at(self, sample_index: np.ndarray) -> np.ndarray:
        """Seconds per turn at the sample indices (``1/speed``)."""
        t = np.asarray(sample_index, dtype=np.float64) / self.sample_rate
        knots = self.knots_s
        segment = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(knots) - 1)
        following = np.minimum(segment + 1, len(knots) - 1)
        span = np.where(following > segment, knots[following] - knots[segment], 1.0)
        rate = self.rates[segment] + (self.rates[following] - self.rates[segment]) * smoothstep(
            (t - knots[segment]) / span
        )
        return 1.0 / rate


class BeatGridPhase:
    """Turns that follow a beat grid: turn ``k / beats_per_turn`` on beat ``k`` (module doc)."""

    def __init__(
        self, beat_times_s: np.ndarray, beats_per_turn: int, sample_rate: int, shortest_turn_s: float = SHORTEST_TURN_S
    ):
        beats = np.asarray(beat_times_s, dtype=np.float64)
        if beats.size < 2 or np.any(np.diff(beats) <= 0):
            raise ValueError("a beat grid needs at least two beats in ascending order")
        self.sample_rate = int(sample_rate)
        self.beats_s = beats
        # a whole multiple of the beats asked for, so that a turn (at the song's median beat) takes
        # at least ``shortest_turn_s``: a turn still starts on a beat
        turn_s = beats_per_turn * float(np.median(np.diff(beats)))
        self.beats_per_turn = beats_per_turn * max(1, math.ceil(shortest_turn_s / turn_s * (1 - 1e-3)))
        self.beat_turns = np.arange(beats.size) / self.beats_per_turn
        secants = np.diff(self.beat_turns) / np.diff(beats)  # turns per second between beats
        slopes = np.empty_like(beats)
        slopes[0], slopes[-1] = secants[0], secants[-1]
        slopes[1:-1] = (self.beat_turns[2:] - self.beat_turns[:-2]) / (beats[2:] - beats[:-2])
        slopes[1:-1] = np.minimum(slopes[1:-1], 3 * np.minimum(secants[:-1], secants[1:]))
        self.slopes = slopes

    @property
    def mean_period_s(self) -> float:
        """Seconds per turn over the whole grid."""
        return float((self.beats_s[-1] - self.beats_s[0]) / (self.beat_turns[-1] - self.beat_turns[0]))

    def turns(self, sample_index: np.ndarray) -> np.ndarray:
        t = np.asarray(sample_index, dtype=np.float64) / self.sample_rate
        beats, turns, slopes = self.beats_s, self.beat_turns, self.slopes
        k = np.clip(np.searchsorted(beats, t, side="right") - 1, 0, beats.size - 2)
        span = beats[k + 1] - beats[k]
        x = (t - beats[k]) / span
        h00, h10, h01, h11 = 2 * x**3 - 3 * x**2 + 1, x**3 - 2 * x**2 + x, -2 * x**3 + 3 * x**2, x**3 - x**2
        hermite = h00 * turns[k] + h10 * span * slopes[k] + h01 * turns[k + 1] + h11 * span * slopes[k + 1]
        before = turns[0] + slopes[0] * (t - beats[0])
        after = turns[-1] + slopes[-1] * (t - beats[-1])
        return np.where(t < beats[0], before, np.where(t > beats[-1], after, hermite))


class EffectEnvelope:
    """How much of the 8D effect is heard: ``m(n)`` in [0, 1], the rest is the original stereo.

    ``m = S(t / fade_in_s) * S((end - t) / fade_out_s) * intensity(t) / max(intensity)`` (``S``
    the smoothstep; a fade of 0 s is no fade; ``end`` the song's length). A number for the
    intensity is the heads' own strength (``RenderOptions``) and leaves ``m`` to the fades; a
    curve runs the heads at its peak and scales the effect here. The renderer mixes the effect
    and the original by ``m`` in each ear before the ear's delay (``render.OrbitRenderer``).
    """

    def __init__(
        self,
        sample_rate: int,
        total_frames: int,
        fade_in_s: float,
        fade_out_s: float,
        intensity: float | Curve,
    ):
        self.sample_rate = int(sample_rate)
        self.total_frames = int(total_frames)
        self.fade_in_s = float(fade_in_s)
        self.fade_out_s = float(fade_out_s)
        self.intensity_curve = None if isinstance(intensity, (int, float)) else tuple(intensity)
        self.intensity_peak = max(v for _, v in self.intensity_curve) if self.intensity_curve else 1.0
        self._partial_spans = self.partial_spans()

    def partial_spans(self) -> list[tuple[int, int | None]]:
        """The sample ranges ``[start, stop)`` (``None``: to the end) outside which ``m`` is exactly 1:
        the fade-in, the fade-out, or all of the song under an intensity curve."""
        if self.intensity_curve is not None:
            return [(0, None)]
        spans: list[tuple[int, int | None]] = []
        if self.fade_in_s > 0:
            spans.append((0, int(np.ceil(self.fade_in_s * self.sample_rate))))
        if self.fade_out_s > 0:
            spans.append((max(0, int(np.floor(self.total_frames - self.fade_out_s * self.sample_rate))), None))
        return spans

    def full_between(self, start: int, stop: int) -> bool:
        """Whether ``m`` is exactly 1 at every sample ``start`` .. ``stop - 1``: outside ``partial_spans``."""
        return not any(low < stop and (high is None or start < high) for low, high in self._partial_spans)

    def amount_over(self, start: int, frames: int) -> np.ndarray | None:
        """``m`` at samples ``start`` .. ``start + frames - 1`` (float64), or None where it is exactly 1 all
        through (between the fades, most of a song: multiplying by it would change nothing)."""
        if self.full_between(start, start + frames):
            return None
        return self.amount(np.arange(start, start + frames))

    def amount(self, sample_index: np.ndarray) -> np.ndarray:
        """``m`` at the sample indices (float64)."""
        t = np.asarray(sample_index, dtype=np.float64) / self.sample_rate
        m = np.ones_like(t)
        if self.fade_in_s > 0:
            m *= smoothstep(t / self.fade_in_s)
        if self.fade_out_s > 0:
            m *= smoothstep((self.total_frames / self.sample_rate - t) / self.fade_out_s)
        if self.intensity_curve is not None:
            m *= curve_values(self.intensity_curve, t) / self.intensity_peak if self.intensity_peak > 0 else 0.0
        return m
