"""The spherical-head model of the ears: Woodworth's time difference, Brown & Duda's head shadow.

A rigid sphere of radius ``a`` (8.75 cm) in air (``c`` = 343 m/s) stands in for the head.

Interaural time difference (Woodworth & Schlosberg, *Experimental Psychology*, 1938: the
sound wraps around the sphere to the far ear), for lateral angle ``lat``::

    ITD(lat) = (a / c) * (lat + sin(lat))          0.656 ms at the side (lat = 90 deg)

Head shadow (Brown & Duda, "A structural model for binaural sound synthesis", IEEE Trans.
Speech Audio Process. 6(5), 1998, eq. 2-3): a single pole and zero per ear,

    H(w, theta) = (1 + j alpha(theta) w / (2 w0)) / (1 + j w / (2 w0)),   w0 = c / a
    alpha(theta) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(theta / theta_min * 180 deg)

with ``theta`` the angle between the source and the ear's axis, ``alpha_min = 0.1``,
``theta_min = 150 deg``: +6 dB of treble facing the ear, about -20 dB in its shadow. Written as

    H = LP + alpha * HP,   LP = 1 / (1 + j w/(2 w0)),   HP = (j w/(2 w0)) / (1 + j w/(2 w0)) = 1 - LP

it is one *fixed* low-pass, its complement, and a gain: ``alpha`` may change every sample
without clicks, because no filter coefficient ever moves. The digital LP is the bilinear
transform with its corner ``2 w0`` (1.25 kHz) pre-warped.

The lateral angle the cues use is rounded where a source passes an ear
(``orbit.rounded_lateral_angle_rad``), so neither the ITD nor ``alpha`` turns a corner there.

Two choices of ours on top of the paper, for headphone music:
- the treble weights of the two ears are normalised to constant power,
  ``w_E = alpha_E / sqrt((alpha_L^2 + alpha_R^2) / 2)``: the level *ratio* (the ILD) is Brown &
  Duda's, but the summed treble no longer swells by ~5 dB at the sides, so the timbre stays
  the mix's all around (a source in front comes out flat) and equal loudness holds for any
  spectrum, not only the one the gains were computed for;
- a gentle rear high-frequency cut (the pinna shades sounds from behind; Blauert, *Spatial
  Hearing*, 1997, sec. 2.3): the treble weight of both ears is scaled by
  ``10^(-REAR_CUT_DB/20 * (1 - fb)/2)``, ``fb`` = front/back cosine, over its mean over a turn
  (so the long-term treble is the input's; its depth times ``pinna_strength(intensity)``, as the
  pinna's), so front and back differ
  (the 5-12 kHz / 0.5-2 kHz tilt swings ~2 dB per turn, a quarter turn from the ILD);
- the pinna's front/back cues (Hebrank & Wright, "Spectral cues used in the localization of
  sound sources on the median plane", JASA 56(6), 1974: in front a notch between 4 and 8 kHz
  and more energy above ~10 kHz, behind a peak instead; Blauert, *Spatial Hearing*, 1997,
  sec. 2.3.1, directional bands; Brown & Duda 1998 model the notch with pinna echoes). Each
  ear's treble gets ``fb D`` of itself on top, ``D = sum_k a_k BP_k`` four fixed band-passes in
  one filter row per ear (``PINNA_BANDS``) and ``fb`` the orbit centre's front/back
  cosine (times ``pinna_strength(intensity)``: full from 0.5 up): straight ahead the ears get
  ``1 + D`` (+1.5 to +2.6 dB at 2-5 kHz, a 7 dB notch at 7.6 kHz, +4 to +6 dB at 9.5-13 kHz),
  behind ``1 - D`` (-1.5 to -3.5 dB at 2-5 kHz, +4.7 dB at 7.6 kHz, -4.4 dB at 9.5 kHz and a
  notch at 13.3 kHz), at the sides nothing. The bands are KEMAR's (Gardner & Martin 1994): a
  least-squares fit, on the dB of ``1 + D`` and ``1 - D`` in 1/6-octave bands from 1.5 to
  14 kHz, to an 8 dB notch at 7.6 kHz in front (KEMAR's, relative to its mean over directions)
  plus twice its diffuse-field equalised front/back difference on the median plane (in front
  against behind: +2 to +4 dB at 1.9-5 kHz, -5 dB at 6.8-7.6 kHz, +8 to +9 dB at 9.6 and
  13.6 kHz). A listener model that compares a render with KEMAR as measured (the render taken
  for the eardrum signal, tests/listener_model.py) weighs every direction's spectrum by what all
  directions share (the ear canal's resonance), which favours the directions behind: with half
  this difference (the former two-band cue) it heard the frames within 25 deg of the front
  behind, and the orbit as a swing (0 deg per turn); now 360-362. (One band fed both ears'
  treble summed, ``fb/2 D`` of it to each, a row less: exact in front and behind, but at the
  sides it gave the far ear the near ear's cue, and with these bands a mono and a stereo input
  came out 3.1 dB apart in a 1/3-octave band on a figure-eight.) A fixed filter and a gain that
  moves: no click; the loudness change is divided out (``pinna_loudness_terms``). Without it
  the listener model hears the back half of the orbit in front.
- the head's level difference in the low band: each ear's low row (the low-pass row, shared by
  the ears) gets its own gain after its filter, ``10^(-+ HEAD_LOW_ILD_DB sin(lat) / 40)`` (the
  far ear down, the near ear up, their power summed kept: ``low_row_gains``); a one-pole shadow has too little level
  difference below 1.5 kHz: 3-5 dB short of KEMAR's (5-7 dB at 0.3-1.5 kHz from 45 to 135 deg)
  on the horizon. With the former two-band pinna cue, the listener model (through diffuse-field
  headphones) then heard the classic preset behind 49 % of the time (L = R; 45 % left-only; KEMAR
  itself ~50 %), where it had heard the sector from 100 to 145 deg at the side (23 % / 20 %).
- the torso below the horizon (Algazi, Duda, Duraiswami, Gumerov & Tang, "Approximating the
  head-related transfer function using simple geometric models of the head and torso", JASA
  112(5), 2002, the "snowman": above the horizon the torso reflects sound to both ears, below it
  stands between the source and the far ear, its shadow; Algazi, Avendano & Duda, "Elevation
  localization and head-related transfer function analysis at low frequencies", JASA 109(3),
  2001: the torso's cues lie below 3 kHz, where the pinna has none). With ``d =
  below_horizon(el)`` (0 on and above the horizon, smoothly 1 from ``BELOW_FULL_DEG`` = 30 deg
  down) the low row's level difference grows by ``TORSO_SHADOW_DB d sin(lat)`` and the head's
  shadow of the treble deepens, ``alpha^(1 + TORSO_SHADOW_DEPTH d)``; the loudness gains keep the
  source's loudness. No filter is added: two gains on the low row's output. KEMAR's directions
  30 deg down at 60-120 deg azimuth have, on average, 0.5-7 dB more level difference at
  0.4-1.7 kHz and 4-8 dB more at 3.8-6 kHz than on the horizon. The listener model
  (tests/listener_model.py, all 710 directions) heard circles 20, 30 and 40 deg down at +13, +12
  and +12 deg on average without either cue (and the horizon's at +17), with them at -8, -10 and
  -8 deg (the horizon's at +14). Tried: 10 dB below and exponent 0.75 (without the head's part)
  left the circle 30 deg down at +8 deg; 15 dB and 0.5 heard it as low, but a 1 kHz sine on a
  figure-eight of 1 s per turn spread to -79.5 dB outside +-50 Hz (the exponent moves the far
  ear's treble fastest; -82.5 dB now, -85 dB without the cues); a band in the pinna's cue for
  below (KEMAR's lift near 9.6 kHz and notch near 12 kHz) moved the heard elevation up, not down.

The stereo pair: each source's shadow is taken *relative* to the sources' geometric mean, per
ear, times the orbit centre's own shadow. Summing the sources' absolute shadows instead makes an
L = R pair behind the ears (sources 60 deg apart) as little lateral as a single source at 25 deg,
and a listener model matched to KEMAR then hears it in front (tests/listener_model.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .control_rate import CHUNK_FRAMES, control_indices, segment_ramps, segments_of
from .crossover import linkwitz_riley4_sos
from .fractional_delay import mean_power
from .loudness_weighting import GRID_FFT_SIZE, correlated_mix_gain, frequency_grid_hz, music_weighting
from .orbit import Orbit, front_back_cosine, rounded_lateral_angle_rad
from .streaming_sos import StreamingSos, sos_response

HEAD_RADIUS_M = 0.0875
SPEED_OF_SOUND_M_S = 343.0
ALPHA_MIN = 0.1
THETA_MIN_DEG = 150.0
REAR_CUT_DB = 6.0
# Strength of the sources' shadows relative to the orbit centre's (an exponent on Brown & Duda's
# weights, as hrtf.SOURCE_SHADING). Measured on the classic preset (8 s): at full strength a
# left-only and a right-only input sit 57 deg apart on the 60 deg wide orbit, but an L = R pair's
# loudness ripples by 1.0 dB around the orbit; at 0.72, 43 deg apart and 0.85 dB.
SOURCE_SHADING = 0.72
# The pinna's band-passes (see pinna_sos and the module doc): (centre Hz, Q, amplitude) of the
# front/back cue D and of the elevation cue U
PINNA_BANDS = ((7580.0, 2.6, -0.95), (3680.0, 0.8, 0.39), (9540.0, 5.0, 0.95), (13280.0, 2.4, 0.95))
PINNA_UP_BANDS = ((8500.0, 1.5, 0.8), (13000.0, 2.0, -0.6))
PINNA_CUES = (PINNA_BANDS, PINNA_UP_BANDS)
PINNA_HIGHEST = 0.42  # of the sample rate: the highest band centre kept (``pinna_sos``)
ELEVATION_CUE_ONSET_DEG = 15.0
# The head's level difference in the low row (``low_row_gains``) at the side, on and above the horizon
HEAD_LOW_ILD_DB = 6.0
# Below the horizon, the torso (``low_row_gains``, ``below_horizon``): how far down its cues are
# full, the level difference its shadow gives the low row at the side, and how much deeper it makes
# the head's shadow of the treble (an exponent on Brown & Duda's alpha)
BELOW_FULL_DEG = 30.0
TORSO_SHADOW_DB = 12.0
TORSO_SHADOW_DEPTH = 0.25
# Width of the ITD's hand-over from one ear to the other as the source crosses the median plane
# (``ear_delays_s``).
ITD_HANDOVER_S = 2e-4


def woodworth_itd_s(
    lateral_rad: np.ndarray | float, radius_m: float = HEAD_RADIUS_M, speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S
) -> np.ndarray:
    """``ITD = (a/c)(lat + sin(lat))``: how much later the left ear hears it (+ = source on the right)."""
    return radius_m / speed_of_sound_m_s * (lateral_rad + np.sin(lateral_rad))


def ear_delays_s(itd_s: np.ndarray, handover_s: float | np.ndarray = ITD_HANDOVER_S) -> tuple[np.ndarray, np.ndarray]:
    """Per-ear delays ``(left, right)`` with ``left - right = itd``: the far ear takes the time difference,
    the near ear (almost) nothing, handed over smoothly as the source crosses the median plane.

    ``s = e log(2 cosh(itd / e))`` is a smooth ``|itd|`` (never below it), ``left = (s + itd)/2``,
    ``right = (s - itd)/2``. Each ear's delay changes pace at the hand-over (from still to the
    ITD's whole rate of change), and a changing delay is a Doppler shift: the narrower ``e``, the
    faster the shift turns on and the wider a tone spreads. Measured on a 1 kHz sine (energy outside
    1 kHz +-50 Hz, the delays alone) on a figure-eight of 1 s per turn: -97 dB with ``e`` = 0.15 ms,
    -115 dB with 0.2 ms, -143 dB with 0.3 ms (the former ``s = sqrt(itd^2 + e^2)`` with 0.05 ms:
    -54 dB; its slow approach to ``|itd|`` leaves the near ear 0.03 ms late at the side with ``e`` =
    0.3 ms, a fractional delay that dulls its top octave). ``s`` reaches ``|itd|`` exponentially fast:
    at the side the near ear waits under 0.1 microsecond, in front both ears wait ``e ln(2) / 2``
    (0.07 ms). The dry render and the room's reflections share it.
    """
    width = np.maximum(handover_s, 1e-12)  # a zero hand-over (an effect faded out) comes with a zero ITD
    smooth_abs = width * np.logaddexp(itd_s / width, -itd_s / width)
    return (smooth_abs + itd_s) / 2, (smooth_abs - itd_s) / 2


def brown_duda_alpha(
    angle_to_ear_rad: np.ndarray, alpha_min: float = ALPHA_MIN, theta_min_deg: float = THETA_MIN_DEG
) -> np.ndarray:
    """``alpha(theta) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(theta/theta_min * pi)`` (Brown & Duda 1998)."""
    return (1 + alpha_min / 2) + (1 - alpha_min / 2) * np.cos(angle_to_ear_rad * (180.0 / theta_min_deg))


def shadow_lowpass_ba(
    sample_rate: int, radius_m: float = HEAD_RADIUS_M, speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S
) -> tuple[np.ndarray, np.ndarray]:
    """``(b, a)`` of the fixed one-pole low-pass ``1 / (1 + s/(2 w0))``, bilinear with the corner pre-warped.

    Its complement ``1 - LP`` is exactly the matching high-pass ``(s/(2 w0)) / (1 + s/(2 w0))``.
    """
    corner_rad_s = 2 * speed_of_sound_m_s / radius_m
    warped = 2 * sample_rate * np.tan(corner_rad_s / (2 * sample_rate))
    return first_order_bilinear(0.0, warped, warped, sample_rate)


def first_order_bilinear(b1: float, b0: float, a0: float, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """``(b, a)`` of ``H(s) = (b1 s + b0) / (s + a0)`` by the bilinear transform ``s = 2 fs (1 - z^-1) / (1 + z^-1)``:
    ``b = (b0 + 2 fs b1, b0 - 2 fs b1) / (a0 + 2 fs)``, ``a = (1, (a0 - 2 fs) / (a0 + 2 fs))``
    (``scipy.signal.bilinear``'s result, written out: scipy.signal is not imported for it)."""
    twice_fs = 2.0 * sample_rate
    norm = a0 + twice_fs
    return np.array([b0 + twice_fs * b1, b0 - twice_fs * b1]) / norm, np.array([1.0, (a0 - twice_fs) / norm])


def first_order_sos(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The second-order section ``(1, 6)`` of a first-order ``(b, a)`` (``a[0] = 1``)."""
    return np.array([[b[0], b[1], 0.0, 1.0, a[1] / a[0], 0.0]])


def pinna_band_sos(centre_hz: float, q: float, sample_rate: int) -> np.ndarray:
    """One second-order section: a band-pass of 0 dB peak at ``centre_hz`` (RBJ Audio EQ Cookbook)."""
    w0 = 2 * np.pi * centre_hz / sample_rate
    alpha = np.sin(w0) / (2 * q)
    return np.array([[alpha, 0.0, -alpha, 1 + alpha, -2 * np.cos(w0), 1 - alpha]]) / (1 + alpha)


def pinna_sos(sample_rate: int, bands: tuple[tuple[float, float, float], ...] = PINNA_BANDS) -> np.ndarray:
    """``D = sum_k a_k BP_k`` of ``bands`` as one cascade of second-order sections (one row through
    the filter: its cost is per row, not per section). Bands above ``PINNA_HIGHEST`` of the sample
    rate are left out (so close to Nyquist a narrow band rings for milliseconds); none left, no
    section (``D = 0``).

    Over the common denominator ``A_1 ... A_n`` the numerator is ``sum_k a_k B_k prod_(j != k) A_j``,
    and every band-pass numerator is ``B_k = c_k (1 - z^-2)`` (``pinna_band_sos``), so it factors as
    ``(1 - z^-2) R``: the sections ``R_k / A_k`` (``R``'s roots paired into quadratics) and
    ``(1 - z^-2) / A_n``.
    """
    kept = [
        (pinna_band_sos(centre_hz, q, sample_rate)[0], amplitude)
        for centre_hz, q, amplitude in bands
        if centre_hz < PINNA_HIGHEST * sample_rate
    ]
    if not kept:
        return np.zeros((0, 6))
    denominators = [section[3:] for section, _ in kept]
    remainder = np.zeros(2 * len(kept) - 1)
    for k, (section, amplitude) in enumerate(kept):
        others = np.ones(1)
        for denominator in denominators[:k] + denominators[k + 1 :]:
            others = np.polymul(others, denominator)
        remainder += amplitude * section[0] * others
    numerators = [*_monic_quadratics(remainder), remainder[0] * np.array([1.0, 0.0, -1.0])]
    return np.array(
        [[*numerator, *denominator] for numerator, denominator in zip(numerators, denominators, strict=True)]
    )


def _monic_quadratics(polynomial: np.ndarray) -> list[np.ndarray]:
    """The real monic quadratics in ``z^-1`` whose product is ``polynomial / polynomial[0]`` (coefficients
    of ``z^0, z^-1, ...``; even degree): complex roots with their conjugates, real roots in pairs."""
    roots = np.roots(polynomial)
    if len(roots) != len(polynomial) - 1:
        raise ValueError("the pinna bands' numerator has a leading coefficient of 0")
    upper = [root for root in roots if root.imag > 1e-9]
    real = sorted(root.real for root in roots if abs(root.imag) <= 1e-9)
    return [np.array([1.0, -2 * root.real, abs(root) ** 2]) for root in upper] + [
        np.array([1.0, -(first + second), first * second]) for first, second in zip(real[::2], real[1::2], strict=True)
    ]


def pinna_response(sample_rate: int, bands: tuple[tuple[float, float, float], ...], freqs_hz: np.ndarray) -> np.ndarray:
    """The complex response of ``D = sum_k a_k BP_k`` (``pinna_sos``) at ``freqs_hz``."""
    sos = pinna_sos(sample_rate, bands)
    return sos_response(sos, freqs_hz, sample_rate) if len(sos) else np.zeros(np.shape(freqs_hz), dtype=complex)


class PinnaFilter:
    """``D = sum_k a_k BP_k`` (``pinna_sos``) streaming on ``rows`` signals."""

    def __init__(self, sample_rate: int, bands: tuple[tuple[float, float, float], ...], rows: int = 1):
        sos = pinna_sos(sample_rate, bands)
        self._filter = StreamingSos(sos, rows) if len(sos) else None

    def at_rest(self) -> bool:
        """Whether the filter's state is all zeros (a zero input then gives a zero output)."""
        return self._filter is None or not self._filter.state.any()

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """``D`` of ``signal`` (1-D, or ``(rows, frames)``; float64)."""
        if self._filter is None:
            return np.zeros(np.shape(signal))
        filtered = self._filter(signal)
        return filtered if np.ndim(signal) == 2 else filtered[0]


def pinna_loudness_terms(loudness: ShadowLoudness, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(b_low, b_high, c)`` of the pinna's cues ``P_i`` (``PINNA_CUES``), weighted as ``loudness``
    weighs an ear (music, through the crossover and the ear delays' mean loss):
    ``sum W|X|^2 Re(LP* HP P_i)``, ``sum W|X|^2 |HP|^2 Re(P_i)`` (vectors) and
    ``sum W|X|^2 Re(HP P_i (HP P_j)*)`` (a matrix), over the input's ``sum W|X|^2``: an ear whose
    treble weight is ``w`` and which receives ``sum_i c_i P_i HP`` on top has the extra power
    ``2 c.(b_low + w b_high) + c.C.c``."""
    weight = loudness.band / loudness.reference
    lowpass = loudness.lowpass
    highpass = 1 - lowpass
    cues = np.stack([pinna_response(sample_rate, bands, loudness.freqs_hz) for bands in PINNA_CUES])
    b_low = np.real(np.conj(lowpass) * highpass * cues) @ weight
    b_high = (np.abs(highpass) ** 2 * np.real(cues)) @ weight
    shaped = highpass * cues
    c = np.real(shaped[:, np.newaxis] * np.conj(shaped[np.newaxis])) @ weight
    return b_low, b_high, c


def pinna_cue_gains(
    azimuth_rad: np.ndarray, elevation_rad: np.ndarray, intensity: float, front_back: np.ndarray | None = None
) -> np.ndarray:
    """Gains ``(cues, ...)`` of the pinna's cues (``PINNA_CUES``) for a direction: the front/back cue
    ``fb = cos(el) cos(az)`` and the elevation cue ``max(0, (sin el - s0) / (1 - s0))^2``,
    ``s0 = sin(ELEVATION_CUE_ONSET_DEG)`` (rising smoothly from 15 deg up, where KEMAR's front notch
    has gone and its treble cut begins; the presets' wobbles stay below it), both times
    ``pinna_strength(intensity)``. ``front_back``: ``front_back_cosine`` of the direction, when known."""
    strength = pinna_strength(intensity)
    if front_back is None:
        front_back = front_back_cosine(azimuth_rad, elevation_rad)
    onset = np.sin(np.radians(ELEVATION_CUE_ONSET_DEG))
    up = np.maximum(0.0, (np.sin(elevation_rad) - onset) / (1 - onset)) ** 2
    return strength * np.stack([front_back, up])


def below_horizon(elevation_rad: np.ndarray) -> np.ndarray:
    """How far below the horizon a direction is, for the torso's cues: ``x^2 (3 - 2 x)`` of
    ``x = clip(-sin(el) / sin(BELOW_FULL_DEG), 0, 1)``: 0 on and above the horizon, rising smoothly
    (no corner, so no click where a path dips under) to 1 from ``BELOW_FULL_DEG`` down."""
    depth = np.clip(-np.sin(elevation_rad) / np.sin(np.radians(BELOW_FULL_DEG)), 0.0, 1.0)
    return depth * depth * (3 - 2 * depth)


def low_row_gains(
    lateral_rad: np.ndarray, elevation_rad: np.ndarray, intensity: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gains ``(left, right)`` of the low row in each ear: the head's low-band level difference and,
    below the horizon, the torso's shadow, ``L = D^-1 k``, ``R = D k`` with ``D = 10^(intensity
    (HEAD_LOW_ILD_DB + TORSO_SHADOW_DB below_horizon(el)) sin(lat) / 40)`` (the near ear up, the far
    ear down) and ``k = sqrt(2 / (D^2 + D^-2))``: the low row's power summed over the ears stays
    (so does the timbre: the low band against the treble); both 1 in the median plane."""
    half_db = intensity * (HEAD_LOW_ILD_DB + TORSO_SHADOW_DB * below_horizon(elevation_rad)) / 2 * np.sin(lateral_rad)
    left, right = 10 ** (-half_db / 20), 10 ** (half_db / 20)
    keep = np.sqrt(2 / (left**2 + right**2))
    return left * keep, right * keep


def pinna_strength(intensity: float) -> float:
    """Strength of the pinna's front/back bands for a cue ``intensity``: ``min(1, 2 intensity)``.

    ``intensity`` narrows the orbit (weaker time and level differences), but which half of the
    circle a source is in is told by the pinna alone: scaled with the lateral cues, the bands
    grow too weak to tell front from back (the ``subtle`` preset, intensity 0.6, was heard
    swinging through the front by the listener model: 0 deg per turn; at full strength 362).
    Full strength from intensity 0.5 up; below, the bands fade to none at 0 (no cues at all).
    """
    return min(1.0, 2.0 * intensity)


def rear_treble_gain(front_back: np.ndarray, intensity: float, rear_cut_db: float = REAR_CUT_DB) -> np.ndarray:
    """Treble gain of the rear cut: ``10^(-intensity * rear_cut_db/20 * (1 - fb)/2) / k``.

    ``k`` is the cut's root-mean-square over a horizontal turn, so the orbit's long-term treble
    stays the input's (for a 6 dB cut: +2.9 dB in front, -3.1 dB behind).
    """
    return 10 ** (-intensity * rear_cut_db / 20 * (1 - front_back) / 2) / _rear_cut_rms(intensity * rear_cut_db)


@functools.cache
def _rear_cut_rms(cut_db: float) -> float:
    front_back = np.cos(np.linspace(0, 2 * np.pi, 720, endpoint=False))
    return float(np.sqrt(np.mean(10 ** (-cut_db / 10 * (1 - front_back) / 2))))


def treble_weights(
    lateral_rad: np.ndarray,
    front_back: np.ndarray,
    intensity: float,
    depth: np.ndarray | float = 1.0,
    rear_cut_strength: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Head-shadow treble weights ``(w_left, w_right)`` of sources at ``lateral_rad`` (see module doc).

    ``intensity`` scales the cues in dB: ``alpha ** intensity`` and the rear cut's depth; ``depth``
    the shadow alone (``alpha ** (intensity * depth)``: the torso's, below the horizon).
    ``rear_cut_strength``: the rear cut's own scale, when not ``intensity``: a whole head's rear cut
    tells front from back, as the pinna does, so it takes ``pinna_strength(intensity)``.
    """
    alpha_left = brown_duda_alpha(np.pi / 2 + lateral_rad) ** (intensity * depth)
    alpha_right = brown_duda_alpha(np.pi / 2 - lateral_rad) ** (intensity * depth)
    rear_gain = rear_treble_gain(front_back, intensity if rear_cut_strength is None else rear_cut_strength)
    scale = rear_gain / np.sqrt((alpha_left**2 + alpha_right**2) / 2)
    return alpha_left * scale, alpha_right * scale


def shadow_power(
    terms: np.ndarray | tuple[float, float, float], low_gain: np.ndarray | float, treble_weight: np.ndarray | float
) -> np.ndarray:
    """Power of an ear's ``low_gain LP + treble_weight HP`` for a unit-power input, from the ear's
    terms ``(A, B, C)`` (``ShadowLoudness``): ``g^2 A + 2 g w B + w^2 C``."""
    a, b, c = terms
    return np.asarray(low_gain**2 * a + 2 * low_gain * treble_weight * b + treble_weight**2 * c)


class ShadowLoudness:
    """Equal-loudness gains for sources through both ears' ``LP + w*HP`` (after the crossover's high-pass).

    For typical music (``loudness_weighting``: weight ``W``), ear ``E``'s power is a quadratic in
    its weight, ``Q_E(w) = A_E + 2 B_E w + C_E w^2`` with ``A_E = sum W|X LP|^2 P_E``,
    ``B_E = sum W|X|^2 Re(LP HP*) P_E``, ``C_E = sum W|X HP|^2 P_E``, all divided by the input's
    ``sum W|X|^2``: ``X`` the LR4 high-pass and ``P_E`` the power response of whatever follows the
    ear's shadow (1 for the spherical head; KEMAR's filters at the orbit centre in HRTF mode), and
    of the ear delays after it: their interpolation's mean top-octave loss
    (``fractional_delay.mean_power``; left out, a bright direction came out quieter
    than a dark one: HRTF mode's front 0.5 dB below its back on pink noise, a loudness ripple of
    0.9-1.4 dB around the orbit, now 0.7).
    A source keeps the loudness it came in with (power summed over the ears, as BS.1770 sums
    channels) with the gain

        g_s = 1 / sqrt(Q_L(w_s,L) + Q_R(w_s,R))

    exact for uncorrelated channels, whose powers add. Channels carrying the same sound add
    as amplitudes instead: through gains ``G = sum_s g_s`` and ``V_E = sum_s g_s w_s,E`` they
    give ``P_coh = sum_E G^2 A_E + 2 G V_E B_E + V_E^2 C_E``, ``r = P_coh / S`` times the input's
    loudness (S sources): for two spherical-head sources 60 deg apart +3.0 dB at the sides,
    where their shadows are alike, +1.9 dB in front. All gains get the common factor
    ``loudness_weighting.correlated_mix_gain(r)`` for a mix half correlated. Measured on the
    classic preset (both modes): loudness ripple around the orbit 0.25-0.5 dB for independent
    channels and 0.55-0.6 dB for L = R (either ~1.1 dB if the gains were exact for the other);
    integrated loudness of the dry render (the centred bass level with it,
    ``loudness_weighting.channel_mean_gain``) against its input: independent noise -1.6 LU, L = R
    +1.2 LU, one channel 0.0 LU, a music-like mix (its kick in both channels) +1.05 LU. The
    pipeline's loudness match sets the final level.
    """

    def __init__(self, sample_rate: int, crossover_hz: float, fft_size: int = GRID_FFT_SIZE):
        self.freqs_hz = frequency_grid_hz(sample_rate, fft_size)
        _, crossover_hp = linkwitz_riley4_sos(crossover_hz, sample_rate)
        orbiting = sos_response(crossover_hp, self.freqs_hz, sample_rate)
        lowpass = sos_response(first_order_sos(*shadow_lowpass_ba(sample_rate)), self.freqs_hz, sample_rate)
        self.lowpass = lowpass  # the shadow's LP (complex), for the pinna's terms (pinna_loudness_terms)
        input_band = music_weighting(sample_rate, fft_size) * np.abs(orbiting) ** 2  # W |X|^2
        self.reference = float(input_band.sum())
        # what reaches the ears passes the ear delays too, whose interpolation dulls the top few kHz
        self.band = input_band * mean_power(self.freqs_hz / sample_rate)
        highpass = 1 - lowpass
        # spectral shapes of A, B, C: |LP|^2, Re(LP HP*), |HP|^2
        self.shapes = np.stack([np.abs(lowpass) ** 2, np.real(lowpass * np.conj(highpass)), np.abs(highpass) ** 2])
        # A, B, C of a flat ear (A + 2B + C = 1), shaped (A|B|C, ears, points)
        flat = self.shapes @ self.band / self.reference
        self.flat_ear_terms = np.repeat(flat[:, np.newaxis, np.newaxis], 2, axis=1)

    def source_gains(
        self,
        w_left: np.ndarray,
        w_right: np.ndarray,
        ear_terms: np.ndarray | None = None,
        low_gains: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Gains ``(sources, points)`` for the treble weights ``(sources, points)`` of each ear.

        ``ear_terms``: ``(A|B|C, ears, points)`` as fractions of the input's loudness, when the
        ears' responses are not flat. ``low_gains``: ``(left, right)`` gains ``(points,)`` of the
        low row in each ear (``low_row_gains``), when not 1.
        """
        left, right = np.moveaxis(self.flat_ear_terms if ear_terms is None else ear_terms, 1, 0)
        low_left, low_right = (1.0, 1.0) if low_gains is None else low_gains
        gains = 1 / np.sqrt(shadow_power(left, low_left, w_left) + shadow_power(right, low_right, w_right))
        total = gains.sum(axis=0)
        coherent = shadow_power(left, total * low_left, (gains * w_left).sum(axis=0)) + shadow_power(
            right, total * low_right, (gains * w_right).sum(axis=0)
        )
        return gains * correlated_mix_gain(coherent / len(gains))


class SphericalHeadShadow:
    """The orbiting band of every source through the head shadow, summed per ear (before the delays).

    Each input channel ``x_s`` is its own source (azimuth = orbit centre + its offset) with its
    own equal-loudness gain ``g_s`` and shadow weights ``w_s,E``. Per ear

        ear_E = X LP (sum_s g_s x_s) + X HP (sum_s g_s w_s,E x_s)

    with ``X`` the crossover's LR4 high-pass: three fixed filters (one low-pass row shared by the
    ears, one high-pass row per ear) whatever the number of channels, because the gains are
    applied *before* the fixed filters. A gain that changes over seconds commutes with a filter
    whose memory is milliseconds, so this is the same ``LP + alpha HP`` structure, at a third
    of the filtering cost for stereo (the filters, not the arithmetic, dominate the render time).

    The time difference is *not* applied here: the renderer delays each ear once, by the delay
    of the orbit centre, so two sources carrying the same sound (L = R) reach an ear at the same
    instant and cannot comb-filter; what separates them is their shadow (level and timbre),
    which moves without interference. Gains and weights are computed on the control grid and
    ramped per sample (``control_rate``).

    The sources' shadows are relative to each other: each ear's weights are divided by their
    geometric mean over the sources, and (spherical mode) multiplied by the orbit centre's own
    shadow weight (the relative part at ``SOURCE_SHADING``), so an L = R pair is as lateral as
    its centre. Then each ear's treble gets the pinna band, ``fb_centre D`` of itself (module doc).
    ``relative=True`` (HRTF mode, where measured filters follow) keeps only the relative part
    and no pinna: one channel passes unshadowed and a stereo pair is only told apart.
    ``ear_terms(sample_index)`` gives ``ShadowLoudness`` the loudness terms of what follows
    each ear at the control points, when that is not flat.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        orbit: Orbit,
        source_offsets_rad: np.ndarray,
        intensity: float,
        crossover_hz: float,
        control_step: int,
        relative: bool = False,
        ear_terms: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        self.orbit = orbit
        self.source_offsets_rad = source_offsets_rad
        self.intensity = intensity
        self.source_intensity = intensity if relative else SOURCE_SHADING * intensity
        self.control_step = control_step
        self.relative = relative
        self.ear_terms = ear_terms
        self.loudness = ShadowLoudness(sample_rate, crossover_hz)
        _, crossover_hp = linkwitz_riley4_sos(crossover_hz, sample_rate)
        lowpass_b, lowpass_a = shadow_lowpass_ba(sample_rate)
        highpass_b = np.subtract(lowpass_a, lowpass_b)  # HP = 1 - LP over the same denominator
        self._low = StreamingSos(np.vstack([crossover_hp, first_order_sos(lowpass_b, lowpass_a)]), 1)
        self._high = StreamingSos(np.vstack([crossover_hp, first_order_sos(highpass_b, lowpass_a)]), 2)
        # the pinna's cues: a filter on each ear's treble row
        self._pinna = [] if relative else [PinnaFilter(sample_rate, bands, 2) for bands in PINNA_CUES]
        self._pinna_loudness = pinna_loudness_terms(self.loudness, sample_rate)

    def mix_controls(self, first_sample: int, frames: int) -> tuple[np.ndarray, list[int]]:
        """The mix's weights at the control points of ``first_sample`` .. ``+frames``, float32 rows: each
        source's weight in the low row, then in the left ear's and the right ear's high rows (``3 * sources``
        rows), then the gains of the pinna's cues in ``moving`` (the orbit centre's
        ``pinna_cue_gains``): those not at zero all through the block, then, when not ``relative``, the
        low row's gain in each ear less 1 (``low_row_gains``)."""
        sample_index = control_indices(first_sample, frames, self.control_step) * self.control_step
        centre_azimuth, elevation = self.orbit.direction_rad(sample_index)
        azimuth = centre_azimuth + self.source_offsets_rad[:, np.newaxis]
        w_left, w_right = treble_weights(
            rounded_lateral_angle_rad(azimuth, elevation), front_back_cosine(azimuth, elevation), self.source_intensity
        )
        # the sources relative to each other: each ear's weights over their geometric mean
        w_left = w_left / np.exp(np.log(w_left).mean(axis=0))
        w_right = w_right / np.exp(np.log(w_right).mean(axis=0))
        rows = []
        low_gains: tuple[np.ndarray, np.ndarray] | None = None
        if not self.relative:  # ... around the orbit centre's own shadow, the torso's and the pinna
            front_back = front_back_cosine(centre_azimuth, elevation)
            centre_lateral = rounded_lateral_angle_rad(centre_azimuth, elevation)
            below = below_horizon(elevation)
            centre_left, centre_right = treble_weights(
                centre_lateral,
                front_back,
                self.intensity,
                1 + TORSO_SHADOW_DEPTH * below,
                pinna_strength(self.intensity),
            )
            w_left, w_right = w_left * centre_left, w_right * centre_right
            low_gains = low_row_gains(centre_lateral, elevation, self.intensity)
            cue = pinna_cue_gains(centre_azimuth, elevation, self.intensity, front_back)
            rows = list(cue)
        gain = self.loudness.source_gains(
            w_left, w_right, None if self.ear_terms is None else self.ear_terms(sample_index), low_gains
        )
        if rows:  # the cues keep the loudness: each ear gets cue_i w_E P_i HP of the source on top
            b_low, b_high, c = self._pinna_loudness
            a0, b0, c0 = self.loudness.flat_ear_terms[:, 0, 0]
            lows: tuple[np.ndarray | float, np.ndarray | float] = (1.0, 1.0) if low_gains is None else low_gains
            plain = extra = 0.0
            for low, w in zip(lows, (centre_left, centre_right), strict=True):
                plain = plain + a0 * low**2 + 2 * b0 * low * w + c0 * w**2
                added = cue * w  # (cues, points)
                extra = extra + 2 * (low * (b_low @ added) + w * (b_high @ added))
                extra = extra + np.einsum("ip,ij,jp->p", added, c, added)
            gain = gain * np.sqrt(plain / (plain + extra))
        moving = [cue for cue, row in enumerate(rows) if row.any()]
        controls = np.concatenate(
            [
                gain,
                gain * w_left,
                gain * w_right,
                *(rows[cue][np.newaxis] for cue in moving),
                *([] if low_gains is None else [np.stack(low_gains) - 1]),
            ]
        )
        return controls.astype(np.float32), moving

    def ear_signals(self, block: np.ndarray, first_sample: int) -> np.ndarray:
        """``(2, frames)`` float32 ear signals (orbiting band only) of a ``(channels, frames)`` float32 block.

        The weights are ramped and applied ``CHUNK_FRAMES`` at a time (``control_rate``).
        """
        frames, sources = block.shape[-1], len(block)
        controls, moving = self.mix_controls(first_sample, frames)
        ears = np.empty((2, frames), dtype=np.float32)
        for start in range(0, frames, CHUNK_FRAMES):
            stop = min(start + CHUNK_FRAMES, frames)
            part = segments_of(first_sample, start, stop, self.control_step)
            ramps = segment_ramps(
                controls[:, part.start : part.stop],
                controls[:, part.start + 1 : part.stop + 1],
                first_sample + start,
                stop - start,
                self.control_step,
            )
            weights = ramps[: 3 * sources].reshape(3, sources, -1)
            rows = weights[:, 0] * block[0, start:stop]
            for source in range(1, sources):
                rows += weights[:, source] * block[source, start:stop]
            high = self._high(rows[1:])
            common = self._low(rows[:1])[0]  # what both ears get: the low row
            # each ear's own gain on the low row, g_E, after its filter (it moves as slowly as the gains
            # before it): (g_E - 1) low on top of what both ears get
            own_part = None if self.relative else ramps[3 * sources + len(moving) :] * common
            if self._pinna:
                cue_gains = dict(zip(moving, ramps[3 * sources : 3 * sources + len(moving)], strict=True))
                treble = high.copy()
                for cue, pinna in enumerate(self._pinna):
                    # the gain before the fixed filter (it changes over seconds, the filter rings for a
                    # millisecond): a cue whose gain is zero and whose filter has come to rest costs nothing
                    gain = cue_gains.get(cue)
                    if gain is None and pinna.at_rest():
                        continue
                    high += pinna(treble * gain if gain is not None else np.zeros_like(treble))
            if own_part is not None:
                high += own_part
            np.add(high, common, out=ears[:, start:stop])  # rounded to float32 once
        return ears
