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

import numpy as np

LATERAL_ROUNDING = 0.005


@dataclass(frozen=True)
class Orbit:
    """The orbit of the music around the head, as a function of the sample index.

    phase(n)     = 2*pi * n / (period_s * sample_rate)          (one turn per period)
    azimuth(n)   = +phase (clockwise: front -> right -> back -> left) or -phase
    elevation(n) = elevation_wobble * sin(2 * phase)

    The wobble bobs twice per turn (up at front-right and back-left, down at back-right and
    front-left), so every turn is the same and left and right stay symmetric. The orbit starts
    in front (azimuth 0) at sample 0.
    """

    period_s: float
    sample_rate: int
    clockwise: bool = True
    elevation_wobble_deg: float = 0.0

    def phase_rad(self, sample_index: np.ndarray) -> np.ndarray:
        """Orbit phase in [0, 2*pi) at the given sample indices (float64, exact for any song length)."""
        period_samples = self.period_s * self.sample_rate
        return 2 * np.pi * np.fmod(np.asarray(sample_index, dtype=np.float64), period_samples) / period_samples

    def azimuth_rad(self, sample_index: np.ndarray) -> np.ndarray:
        """Azimuth of the orbit centre (0 = front, + = right)."""
        phase = self.phase_rad(sample_index)
        return phase if self.clockwise else -phase

    def elevation_rad(self, sample_index: np.ndarray) -> np.ndarray:
        """Elevation of the orbit (all sources share it)."""
        return np.radians(self.elevation_wobble_deg) * np.sin(2 * self.phase_rad(sample_index))


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
