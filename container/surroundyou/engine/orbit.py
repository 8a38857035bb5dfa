"""Where the music is: the orbit's path around the head and the geometry the ears see.

Coordinates are head-centred: x to the front, y to the right, z up. A direction is an azimuth
(0 = front, positive towards the right, i.e. clockwise seen from above) and an elevation
(positive up). The ears sit on the y axis, so what they hear depends on the *interaural-polar*
coordinates (Morimoto & Aokata, J. Acoust. Soc. Jpn. (E) 5(3), 1984):

    lateral angle   lat = asin(cos(el) * sin(az))       -90 deg (left) .. +90 deg (right)
    front/back      fb  = cos(el) * cos(az)             +1 in front, -1 behind

and the angle between the source and each ear's axis, ``theta_R = 90 deg - lat``,
``theta_L = 90 deg + lat``. An elevated source is less lateral: raising it by ``el`` scales
``sin(lat)`` by ``cos(el)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

LATERAL_ROUNDING = 0.005


PATHS = ("circle", "figure8", "wander", "overhead", "arc")
# arc: how far the swing goes to each side
ARC_HALF_WIDTH_DEG = 90.0
# figure8: how high (and low) its loops rise, and how evenly it moves along them (``k`` in the
# class doc: 0 would be a sine's pace, 1 an even pace with sharp turns behind the head)
FIGURE8_ELEVATION_DEG = 30.0
FIGURE8_EVENNESS = 0.9
# overhead: the loop's tilt to the side at the top (peak elevation 90 - tilt) and how far the
# lower half swings out to the side (keeps it above -37 deg, where measured heads end at -40)
OVERHEAD_TILT_DEG = 10.0
OVERHEAD_SWING = 1.6
# wander: (amplitude, frequency in turns, phase) of its sinusoids; the phases were drawn once,
# uniform in [0, 2 pi), from numpy's default_rng(2026). sum(amplitude * frequency) < 1 for the
# azimuth, so the wander always moves on.
WANDER_AZIMUTH_TERMS = ((0.45, 0.5, 1.1243), (0.30, 0.85, 4.0207), (0.20, 1.35, 2.9359))  # rad
WANDER_ELEVATION_TERMS = ((12.0, 0.6, 2.3279), (8.0, 1.55, 2.2300))  # deg


class PhaseLaw(Protocol):
    """How many turns the orbit has made by a sample index (float64, any index, not only whole blocks)."""

    def turns(self, sample_index: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Orbit:
    """The orbit of the music around the head, as a function of the sample index.

    The orbit's *turns* ``u(n)`` (how far it has come, in turns) drive a *path*. With a fixed
    period ``u(n) = n / (period_s * sample_rate)``; ``timing`` replaces it with a phase law
    (``curves.SpeedCurvePhase``: a speed curve; ``curves.BeatGridPhase``: the song's beats), and
    ``period_s`` is then the nominal period (what a turn takes on average, for the room's
    averages). With ``t = 2 pi u`` (``phase``) and ``s = +1`` clockwise, ``-1`` counter-clockwise
    (``az`` is 0 in front, positive towards the right; ``el`` positive up; ``w`` the
    elevation wobble), the paths are::

        circle    az = s t
                  el = w sin(2 t)
        arc       az = s A sin(t),           A = ARC_HALF_WIDTH_DEG (90)
                  el = w sin(2 t)
        figure8   az = s pi asin(k sin(t)) / asin(k)
                  el = E sin(2 t),           E = FIGURE8_ELEVATION_DEG (30), k = FIGURE8_EVENNESS (0.9)
        overhead  x = cos(t), y = sin(T) sin(t) + K max(0, -sin(t))^2, z = cos(T) sin(t)
                  az = s atan2(y, x), el = atan2(z, hypot(x, y))
                                             T = OVERHEAD_TILT_DEG (10), K = OVERHEAD_SWING (1.6)
        wander    az = s (t + sum_k a_k (sin(f_k t + p_k) - sin(p_k)))     (WANDER_AZIMUTH_TERMS)
                  el = sum_k b_k sin(g_k t + q_k)                         (WANDER_ELEVATION_TERMS)

    Every path starts in front (``az = 0`` at ``t = 0``) and is smooth in ``t`` (a continuous
    first derivative, and more), so with a phase law as smooth the motion has no clicks. The
    circle bobs twice per turn (up at front-right and back-left, down at back-right and
    front-left). The arc swings to each ear and back through the front, never behind. The
    figure-eight runs a loop around the right ear (out above, back below, its tip behind the
    head) and then one around the left, crossing in front. It travels twice a circle's azimuth
    per turn; at a sine's pace (``az = s pi sin(t)``) it would cross the front at 3.1 times a
    circle's speed, and at 1 s per turn the head cues' swing there spread a 1 kHz sine to
    -75 dB outside +-50 Hz (both heads); ``asin(k sin(t)) / asin(k)`` evens the pace (2.5 times a
    circle's at the front, still smooth behind the head): -86 dB and -88 dB. The overhead loop
    rises from the front over the top (80 deg up, a little to the side ``s`` points to) to the back, and
    returns below and out to that side (lowest -37 deg, where measured heads still have data:
    a circle straight under the head would leave them); its azimuth wraps through +-180 deg.
    The wander moves on around the head at a varying pace, drifting up and down (up to 20 deg);
    its sinusoids' frequencies are not whole numbers of turns, so no two turns are alike, and
    it is the same in every conversion. ``t`` is not reduced modulo a turn for the wander.
    """

    period_s: float
    sample_rate: int
    clockwise: bool = True
    elevation_wobble_deg: float = 0.0
    path: str = "circle"
    timing: PhaseLaw | None = None

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise ValueError(f"path must be one of {', '.join(PATHS)}, got {self.path!r}")

    def turns(self, sample_index: np.ndarray) -> np.ndarray:
        """Turns made by the sample indices (float64; negative before a beat grid's first beat)."""
        if self.timing is not None:
            return np.asarray(self.timing.turns(np.asarray(sample_index, dtype=np.float64)), dtype=np.float64)
        return np.asarray(sample_index, dtype=np.float64) / (self.period_s * self.sample_rate)

    def phase_rad(self, sample_index: np.ndarray) -> np.ndarray:
        """Orbit phase in [0, 2*pi) at the given sample indices (float64, exact for any song length)."""
        if self.timing is not None:
            turns = self.turns(sample_index)
            return 2 * np.pi * (turns - np.floor(turns))
        period_samples = self.period_s * self.sample_rate
        return 2 * np.pi * np.fmod(np.asarray(sample_index, dtype=np.float64), period_samples) / period_samples

    def direction_rad(self, sample_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(azimuth, elevation)`` of the orbit centre on its path (class doc)."""
        sign = 1.0 if self.clockwise else -1.0
        wobble = np.radians(self.elevation_wobble_deg)
        if self.path == "wander":
            t = 2 * np.pi * self.turns(sample_index)
            azimuth = t + sum(a * (np.sin(f * t + p) - np.sin(p)) for a, f, p in WANDER_AZIMUTH_TERMS)
            elevation = sum(np.radians(b) * np.sin(g * t + q) for b, g, q in WANDER_ELEVATION_TERMS)
            return sign * azimuth, np.asarray(elevation, dtype=np.float64)
        t = self.phase_rad(sample_index)
        if self.path == "circle":
            return sign * t, wobble * np.sin(2 * t)
        if self.path == "arc":
            return sign * np.radians(ARC_HALF_WIDTH_DEG) * np.sin(t), wobble * np.sin(2 * t)
        if self.path == "figure8":
            azimuth = np.pi * np.arcsin(FIGURE8_EVENNESS * np.sin(t)) / np.arcsin(FIGURE8_EVENNESS)
            return sign * azimuth, np.radians(FIGURE8_ELEVATION_DEG) * np.sin(2 * t)
        tilt = np.radians(OVERHEAD_TILT_DEG)
        x = np.cos(t)
        y = np.sin(tilt) * np.sin(t) + OVERHEAD_SWING * np.maximum(0.0, -np.sin(t)) ** 2
        z = np.cos(tilt) * np.sin(t)
        return sign * np.arctan2(y, x), np.arctan2(z, np.hypot(x, y))

    def azimuth_rad(self, sample_index: np.ndarray) -> np.ndarray:
        """Azimuth of the orbit centre (0 = front, + = right)."""
        return self.direction_rad(sample_index)[0]

    def elevation_rad(self, sample_index: np.ndarray) -> np.ndarray:
        """Elevation of the orbit (all sources share it)."""
        return self.direction_rad(sample_index)[1]


def source_offsets_rad(channels: int, width_deg: float) -> np.ndarray:
    """Azimuth offsets of the input channels' sources from the orbit centre.

    Channel 0 (left) is ``width/2`` to the left of the centre, the last channel (right)
    ``width/2`` to its right, any others evenly between; one channel sits on the centre.
    """
    if channels == 1:
        return np.zeros(1)
    return np.radians(np.linspace(-width_deg / 2, width_deg / 2, channels))


def rounded_lateral_angle_rad(
    azimuth_rad: np.ndarray, elevation_rad: np.ndarray, rounding: float = LATERAL_ROUNDING
) -> np.ndarray:
    """The lateral angle with its turn at the sides rounded: ``pi/2 * asin((1-d) s) / asin(1-d)``,
    ``s = cos(el) sin(az)``.

    As a source passes an ear, the true lateral angle runs up to 90 deg and back with a corner
    (its slope in azimuth jumps from +1 to -1), and so do the cues built on it: Woodworth's ITD
    turns from growing to shrinking at once, a sudden change of Doppler shift that splatters a
    pure tone (~ -75 dB around a 1 kHz sine at a 4 s orbit). ``asin((1-d) s)`` is smooth in
    ``s`` and so in time, turning over ~``sqrt(2d)`` rad of azimuth; the scale keeps 0 and
    +-90 deg exact. With ``d = 0.005`` angles near the front grow by 6 %.
    """
    shrunk = (1 - rounding) * np.cos(elevation_rad) * np.sin(azimuth_rad)
    return np.pi / 2 * np.arcsin(shrunk) / np.arcsin(1 - rounding)


def front_back_cosine(azimuth_rad: np.ndarray, elevation_rad: np.ndarray) -> np.ndarray:
    """``cos(el) cos(az)``: +1 straight ahead, 0 at the sides (or overhead), -1 straight behind."""
    return np.cos(elevation_rad) * np.cos(azimuth_rad)
