"""HRTF mode: the orbit through a measured head, the MIT KEMAR dummy head.

Data: Gardner & Martin, "HRTF measurements of a KEMAR dummy-head microphone", MIT Media Lab
Perceptual Computing Technical Report #280, 1994 (710 directions, elevations -40..90 deg,
512-tap impulse responses at 44.1 kHz, the "normal pinna" set). It ships inside the `slab`
wheel (MIT licence) as ``slab/data/mit_kemar_normal_pinna.bz2``, a bz2-compressed pickle of a
``slab.HRTF``: ``.sources`` (710, 3) = [azimuth deg, elevation deg, distance m] and ``.data``, a
list of ``slab.Filter`` whose ``.data`` is the (512, 2) [left, right] impulse response.
Azimuths count counter-clockwise (left positive, as in SOFA): at +90 deg the left ear is 10 dB
louder (2-8 kHz) and 0.7 ms earlier. ``import slab`` needs PortAudio, so the file is read
without it (``load_kemar``).

How the set is used:

1. Virtual loudspeakers on the sphere. Rings at the elevations of ``SPEAKER_RINGS`` (-40 deg,
   where measured heads end, to straight overhead), each with loudspeakers every so many
   degrees of azimuth (15 deg up to 40 deg up, 20 at 60, 30 at 80, one overhead: 151 in all,
   the horizontal ring's 24 first), each the measured direction nearest to it, with fixed
   filters. The orbit is panned between them with smooth per-sample gains (``speaker_pan``):
   between the two rings around its elevation, and on each ring between the two loudspeakers
   around its azimuth, so four loudspeakers at most, and any path from 40 deg below to
   overhead hears the set's own elevation cues. Gains move and filters stay put, so a pure
   tone passes without clicks at any orbit speed (crossfading between filters instead leaves
   -80 dB of splatter at a 4 s orbit: the filter's rate of change jumps at every measured
   direction). At fast orbits the gains are also smoothed over time (``KemarHead._smoothed_pan``):
   a figure-eight of 1 s per turn sweeps past 60 loudspeakers a second, and each hand-over from
   one filter to the next would wobble the sound at that rate. The time difference follows the
   lateral angle, ``asin(cos(el) sin(az))``.
2. Minimum phase plus a separate delay. Each loudspeaker filter is the minimum-phase filter of
   its magnitude (real cepstrum; Oppenheim & Schafer, *Discrete-Time Signal Processing*,
   sec. 13.9), 256 taps at 44.1 kHz (>= 98 % of the energy, median 99.6 %), so neighbouring
   loudspeakers are aligned in time and a phantom source between them does not comb-filter;
   the interaural time difference is put back by the renderer's per-ear fractional delay,
   Woodworth's formula with the head radius that gives KEMAR's own delay at the sides
   (``kemar_head_radius_m``).
3. Diffuse-field equalisation (Moller, "Fundamentals of binaural technology", Applied
   Acoustics 36, 1992; the method of Larcher, Jot & Vandernoot, "Equalization methods in
   binaural technology", AES 105th Convention, preprint 4858, 1998): every filter is divided by
   one curve: the long-term power the orbit's path plays through the filters, both ears'
   mean, smoothed to 1/6 octave (``DIFFUSE_FIELD_OCTAVES``), found by ``DIFFUSE_FIELD_ROUNDS``
   rounds of design and measure (``played_power``: every direction's panned loudspeakers
   summed with their phases, at the loudness ``KemarHead._pan_gain`` gives it). Averaged over
   the horizontal ring alone, as this mode first did, the paths that leave it were coloured
   where KEMAR's elevation cues lie: the figure-eight (up to 30 deg) 4.6 dB at 12.5 kHz, the
   overhead loop 4.1 dB, the arc (front only) 3.1 dB. Averaged as powers, each loudspeaker in
   its share of the playing and at its loudness, they were 0.7-1.2 dB, but the subtle preset's
   weaker head, which shares each direction with the loudspeakers ahead and behind, came out
   1.7 dB under at 8 kHz (pink noise, L = R): those filters interfere with the side's. Played,
   every preset's pink noise is within 0.25-0.7 dB. The room's reflections, which come from
   every side, keep the horizontal circle's curve (``speaker_filters``' default). What all
   directions share (the ear canal's resonance, the set's microphones) goes, so the orbit's
   long-term timbre is the input's; what tells one direction from another stays: the
   interaural level differences and each direction's own colour, front and back included
   (evening out each direction's broad colour, as this mode once did, removed part of those
   cues). Two front/back cues are added before the average (so they cost no timbre): the rear
   cut of ``spherical_head``, as a first-order treble shelf at ``REAR_SHELF_HZ`` (on its own
   KEMAR's treble tilt peaks at the sides, with it the tilt swings once per turn, front bright,
   back dark), and the set's own median-plane front/back difference once more
   (``front_back_enhancement``): a listener model that compares the render with KEMAR as
   measured weighs every direction by what all directions share, which favours those behind,
   and heard a left-only input's frames near the front behind (0 deg per turn; now 362).
   ``intensity`` scales each direction's departure from the curve in dB. The loudness of the
   panned pairs is kept even (``KemarHead._pan_gain``).
4. The stereo image: all sources share the orbit centre's loudspeakers (and delay) and differ
   by a smooth relative shadow, so correlated channels do not comb-filter (``KemarHead``).
5. Other sample rates: the responses are resampled (``scipy.signal.resample_poly``) first.
"""

from __future__ import annotations

import bz2
import functools
import importlib
import importlib.metadata

# pickle only ever reads the fixed KEMAR data file packaged in the slab wheel, through an
# Unpickler restricted to plain data (_KemarUnpickler): the file cannot run code.
import pickle  # nosec B403

import numpy as np
import scipy.fft
import scipy.signal

from .control_rate import control_indices, segment_ramps
from .loudness_weighting import music_weighting
from .orbit import Orbit, front_back_cosine
from .peaks import parabolic_peak_offset
from .resampling import resampled
from .sofa import HrirSet, SofaError, read_sofa
from .spectral_design import minimum_phase, octave_smoothed
from .spherical_head import SPEED_OF_SOUND_M_S, ShadowLoudness, SphericalHeadShadow, rear_treble_gain

KEMAR_SAMPLE_RATE = 44100
KEMAR_FILE = "slab/data/mit_kemar_normal_pinna.bz2"
FILTER_TAPS_AT_44K = 256  # 5.8 ms
DIFFUSE_FIELD_OCTAVES = 1.0 / 6.0
DIFFUSE_FIELD_ROUNDS = 4
REAR_SHELF_HZ = 3000.0
LOUDNESS_FFT_SIZE = 1024  # loudness needs no finer frequency grid than the filters' own length
DESIGN_FFT_SIZE = 4096  # for the cepstrum: long enough that its aliasing is negligible
SPEAKER_SPACING_DEG = 15.0
# the most time between the ears at the sides a set may have: twice a head's (KEMAR's 0.70 ms)
MAX_SIDE_ITD_S = 1.5e-3
# the orbit's path sampled for its equalisation (path_pan)
PATH_POINTS_PER_TURN = 360
WANDER_TURNS = 16
# an orbit's shape (clockwise, elevation wobble deg, path): what its equalisation depends on
OrbitShape = tuple[bool, float, str]
HORIZONTAL_CIRCLE: OrbitShape = (True, 0.0, "circle")
# (elevation deg, azimuth spacing deg) of the loudspeaker rings, bottom to top (module doc, step 1)
SPEAKER_RINGS = (
    (-40.0, 15.0),
    (-20.0, 15.0),
    (0.0, 15.0),
    (20.0, 15.0),
    (40.0, 15.0),
    (60.0, 20.0),
    (80.0, 30.0),
    (90.0, 360.0),
)
# the rings in the loudspeakers' order: the horizontal ring first, then the others bottom to top
SPEAKER_RING_ORDER = (2, 0, 1, 3, 4, 5, 6, 7)
# the horizontal ring's loudspeakers straight ahead and straight behind
FRONT_SPEAKER = 0
BACK_SPEAKER = round(180.0 / SPEAKER_SPACING_DEG)
# loudspeaker spectra kept for the last loudspeakers used
# (whole hops, FFT_FRAME long; a wobbling circle uses three rings, 72 of them, in a turn: 12.6 MB)
SPECTRA_KEPT = 96
# Convolution frame: its hop (this minus the filter length) is short enough that the orbit
# centre feeds only two or three loudspeakers, and a power of two is the fastest FFT.
FFT_FRAME = 16384
# Strength of the sources' relative shadow (an exponent on Brown & Duda's weights): on top of
# KEMAR's level differences at the orbit centre, full strength would set a left-only and a
# right-only input 76 deg apart on a 60 deg wide orbit; 0.72 puts them ``width`` apart (59 deg),
# as in spherical mode.
SOURCE_SHADING = 0.72
# The loudspeakers' gains are smoothed over time by a Blackman-Harris window this long
# (``KemarHead._smoothed_pan``): their motion keeps no energy above ~50 Hz however fast the orbit.
PAN_SMOOTHING_S = 0.08
# How much of the set's own front/back difference each loudspeaker gets on top (``front_back_enhancement``):
# 1 doubles it; 1.5 and 2 left the subtle preset's left-only input heard as a swing through
# diffuse-field headphones
FRONT_BACK_ENHANCEMENT = 1.0


class _Record:
    """Stands in for slab's HRTF and Filter classes: keeps the pickled attributes, runs no code."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class _KemarUnpickler(pickle.Unpickler):
    """Unpickles only plain data: slab's two classes become ``_Record``, numpy arrays stay arrays."""

    def find_class(self, module: str, name: str):
        if (module, name) in {("slab.hrtf", "HRTF"), ("slab.filter", "Filter")}:
            return _Record
        if (module, name) in {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}:
            return _numpy_reconstruct()
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} in the KEMAR data file")


def _numpy_reconstruct():
    try:
        return importlib.import_module("numpy._core.multiarray")._reconstruct
    except ImportError:  # numpy < 2
        return importlib.import_module("numpy.core.multiarray")._reconstruct


@functools.cache
def load_kemar() -> HrirSet:
    """The KEMAR set from the installed `slab` wheel (read once per process, ~1.5 s)."""
    try:
        path = importlib.metadata.distribution("slab").locate_file(KEMAR_FILE)
    except importlib.metadata.PackageNotFoundError as error:
        raise RuntimeError("HRTF mode needs the `slab` package (pip install slab)") from error
    with bz2.open(str(path), "rb") as file:  # the packaged, fixed data file of a dependency
        record = _KemarUnpickler(file).load()
    if float(record.samplerate) != KEMAR_SAMPLE_RATE:
        raise RuntimeError(f"unexpected KEMAR sample rate {record.samplerate}")
    sources = np.asarray(record.sources, dtype=np.float64)
    responses = np.stack([np.asarray(item.data, dtype=np.float64) for item in record.data])
    return HrirSet(
        azimuth_deg=sources[:, 0],
        elevation_deg=sources[:, 1],
        impulse_responses=responses,
        sample_rate=KEMAR_SAMPLE_RATE,
    )


def head_set(hrtf_path: str | None = None) -> HrirSet:
    """The bundled KEMAR set, or the AES69 SOFA file at ``hrtf_path`` (``sofa.SofaError`` if it is not one)."""
    return load_kemar() if hrtf_path is None else read_sofa(hrtf_path)


def nearest_directions(head: HrirSet, azimuth_deg: np.ndarray, elevation_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """Index of the measured direction nearest (great circle) to each ``azimuth_deg`` (counter-clockwise,
    as the set counts) and ``elevation_deg``, so a set measured off the loudspeakers' grid (or on the
    horizontal plane only) still fills every ring."""
    azimuth, elevation = np.radians(head.azimuth_deg), np.radians(head.elevation_deg)
    measured = np.stack([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    wanted = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    up = np.broadcast_to(np.radians(np.asarray(elevation_deg, dtype=np.float64)), wanted.shape)
    directions = np.stack([np.cos(up) * np.cos(wanted), np.cos(up) * np.sin(wanted), np.sin(up)], axis=-1)
    return np.argmax(directions @ measured, axis=-1)


@functools.cache
def kemar_head_radius_m(hrtf_path: str | None = None) -> float:
    """Head radius that gives Woodworth's ITD the value KEMAR (or the set in ``hrtf_path``) has at the
    sides: ``r = c ITD_90 / (pi/2 + 1)``.

    KEMAR's delay is the lag of the peak of the cross-correlation of the two ears' responses at
    azimuth +-90 deg (elevation 0) below 1.5 kHz, refined by a parabola through the peak: 0.703 ms,
    so ``r`` = 9.4 cm. The formula then matches KEMAR within 0.01 ms at 0, 30, 90 deg and is
    0.07 ms short around 60 deg; a least-squares fit over all azimuths would overshoot the
    sides (0.75 ms) instead, and the sides set the orbit's swing.

    A SOFA file whose ears are mirrored (the right ear louder on the left), or whose delay at the
    sides is no head's (over ``MAX_SIDE_ITD_S``: a wrong Data.Delay), gets a ``SofaError``: rendered,
    its level and time differences would pull the orbit different ways.
    """
    kemar = head_set(hrtf_path)
    sides = nearest_directions(kemar, np.array([90.0, 270.0]))
    power = np.sum(kemar.impulse_responses[sides] ** 2, axis=1)  # (left side, right side) x (left ear, right ear)
    if power[0, 1] > power[0, 0] and power[1, 0] > power[1, 1]:
        raise SofaError(
            f"{hrtf_path}: its right ear is the louder on the left (azimuth +90 deg, counter-clockwise as AES69 "
            "counts): its ears or its azimuths are mirrored"
        )
    lowpass = scipy.signal.butter(4, 1500, fs=kemar.sample_rate, output="sos")
    left, right = np.moveaxis(scipy.signal.sosfiltfilt(lowpass, kemar.impulse_responses[sides], axis=1), 2, 0)
    size = 2 * left.shape[1]
    correlation = np.fft.fftshift(np.fft.irfft(np.fft.rfft(left, size) * np.conj(np.fft.rfft(right, size))), axes=-1)
    peak = np.argmax(correlation, axis=-1)
    rows = np.arange(len(peak))
    lag_samples = peak + parabolic_peak_offset(*(correlation[rows, peak + shift] for shift in (-1, 0, 1))) - size // 2
    itd_at_side_s = float(np.mean(np.abs(lag_samples))) / kemar.sample_rate
    if itd_at_side_s > MAX_SIDE_ITD_S:
        raise SofaError(
            f"{hrtf_path}: its ears are {itd_at_side_s * 1e3:.1f} ms apart at the sides, where a head's are under "
            f"{MAX_SIDE_ITD_S * 1e3:g} ms: is its Data.Delay right?"
        )
    return SPEED_OF_SOUND_M_S * itd_at_side_s / (np.pi / 2 + 1)


def speaker_azimuths_rad() -> np.ndarray:
    """Azimuths (ours: 0 = front, clockwise) of the virtual loudspeakers on the horizontal ring
    (the first of ``speaker_directions_rad``)."""
    return np.radians(np.arange(0.0, 360.0, SPEAKER_SPACING_DEG))


@functools.cache
def _speaker_rings() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per ring, bottom to top: elevation (deg), azimuth spacing (deg), loudspeaker count, index of its first."""
    elevation, spacing = (np.array(column) for column in zip(*SPEAKER_RINGS, strict=True))
    count = np.round(360.0 / spacing).astype(int)
    first = np.zeros(len(count), dtype=int)
    position = 0
    for ring in SPEAKER_RING_ORDER:
        first[ring], position = position, position + count[ring]
    return elevation, spacing, count, first


def speaker_directions_rad() -> tuple[np.ndarray, np.ndarray]:
    """``(azimuth, elevation)`` of every virtual loudspeaker (ours: 0 = front, clockwise), in their order."""
    elevation_deg, spacing_deg, count, _ = _speaker_rings()
    rings = [
        (np.arange(count[ring]) * spacing_deg[ring], np.full(count[ring], elevation_deg[ring]))
        for ring in SPEAKER_RING_ORDER
    ]
    return np.radians(np.concatenate([ring[0] for ring in rings])), np.radians(
        np.concatenate([ring[1] for ring in rings])
    )


@functools.cache
def speaker_filters(
    sample_rate: int, intensity: float, hrtf_path: str | None = None, shape: OrbitShape = HORIZONTAL_CIRCLE
) -> np.ndarray:
    """``(speakers, 2, taps)`` minimum-phase filters of the virtual loudspeakers (module doc, steps 2-3),
    from KEMAR or from the SOFA file at ``hrtf_path``, equalised over the orbit of ``shape``
    (``orbit_shape``; by default the horizontal circle) as the renderer plays it."""
    kemar = head_set(hrtf_path)
    azimuth, elevation = speaker_directions_rad()
    # the set counts counter-clockwise
    responses = kemar.impulse_responses[nearest_directions(kemar, -np.degrees(azimuth), np.degrees(elevation))]
    responses = resampled(responses, kemar.sample_rate, sample_rate, axis=1)
    taps = int(round(FILTER_TAPS_AT_44K * sample_rate / KEMAR_SAMPLE_RATE))
    design_size = max(DESIGN_FFT_SIZE, 8 * taps)
    freqs_hz = np.fft.rfftfreq(design_size, 1.0 / sample_rate)
    power = np.abs(np.fft.rfft(responses, design_size, axis=1)) ** 2  # (speakers, bins, ears)
    rear_gain = rear_treble_gain(front_back_cosine(azimuth, elevation), intensity)[:, np.newaxis, np.newaxis]
    power = (
        power
        * np.abs(
            (1 + rear_gain * 1j * freqs_hz[:, np.newaxis] / REAR_SHELF_HZ)
            / (1 + 1j * freqs_hz[:, np.newaxis] / REAR_SHELF_HZ)
        )
        ** 2
    )
    power = power * front_back_enhancement(power[[FRONT_SPEAKER, BACK_SPEAKER]], freqs_hz, azimuth, elevation)
    index, weight = path_pan(shape, intensity)
    # the first guess: the loudspeakers' powers, each in its share of the playing
    shares = np.bincount(index.ravel(), (weight**2).ravel(), minlength=len(azimuth))
    curve = octave_smoothed((shares / shares.sum()) @ power.mean(axis=2), freqs_hz, DIFFUSE_FIELD_OCTAVES)
    weighting = music_weighting(sample_rate, LOUDNESS_FFT_SIZE)
    field_hz = np.fft.rfftfreq(LOUDNESS_FFT_SIZE, 1.0 / sample_rate)
    for design_round in range(DIFFUSE_FIELD_ROUNDS + 1):
        filters = minimum_phase(np.moveaxis((power / curve[:, np.newaxis]) ** (intensity / 2), 2, 1), taps)
        if design_round == DIFFUSE_FIELD_ROUNDS or intensity == 0:
            break
        field = octave_smoothed(played_power(filters, index, weight, weighting), field_hz, DIFFUSE_FIELD_OCTAVES)
        field /= field @ weighting / weighting.sum()  # the curve keeps the set's level
        curve *= np.interp(freqs_hz, field_hz, field) ** (1 / intensity)
    return filters


def orbit_shape(orbit: Orbit) -> OrbitShape:
    """What of ``orbit`` the equalisation depends on: its path, not its pace (a cache key)."""
    return orbit.clockwise, orbit.elevation_wobble_deg, orbit.path


def path_pan(shape: OrbitShape, intensity: float) -> tuple[np.ndarray, np.ndarray]:
    """``speaker_pan`` along the path of ``shape`` at an even pace, ``PATH_POINTS_PER_TURN``
    directions a turn (the wander, which never repeats, over ``WANDER_TURNS``)."""
    clockwise, elevation_wobble_deg, path = shape
    turns = WANDER_TURNS if path == "wander" else 1
    even = Orbit(1.0, PATH_POINTS_PER_TURN, clockwise, elevation_wobble_deg, path)
    return speaker_pan(*even.direction_rad(np.arange(turns * PATH_POINTS_PER_TURN)), intensity)


def played_power(filters: np.ndarray, index: np.ndarray, weight: np.ndarray, weighting: np.ndarray) -> np.ndarray:
    """The long-term power spectrum (both ears' mean, on ``weighting``'s rfft grid) of loudspeaker
    ``filters`` panned with ``speaker_pan``'s ``index`` and ``weight`` at every point of a path, as
    ``KemarHead`` plays them: each point's panned sum ``sum_i w_i H_i``, phases and all, at the
    gain that keeps its ``weighting``ed power even (``KemarHead._pan_gain``).

    Phases, because panned neighbours and a weak head's front and back loudspeakers interfere:
    the subtle preset (intensity 0.6) summed as powers left pink noise 1.7 dB under at 8 kHz.
    """
    fft_size = 2 * (len(weighting) - 1)
    spectra = np.fft.rfft(filters, fft_size, axis=-1).astype(np.complex64)  # (speakers, ears, bins)
    panned = np.zeros((len(index), 2, len(weighting)), dtype=np.complex64)
    for slot in range(index.shape[1]):
        panned += weight[:, slot, np.newaxis, np.newaxis].astype(np.float32) * spectra[index[:, slot]]
    power = (np.abs(panned) ** 2).sum(axis=1)  # (points, bins)
    return (power / (power @ weighting)[:, np.newaxis]).mean(axis=0) * weighting.sum() / 2


def front_back_enhancement(
    front_and_back: np.ndarray, freqs_hz: np.ndarray, azimuth_rad: np.ndarray, elevation_rad: np.ndarray
) -> np.ndarray:
    """Power gains ``(speakers, bins, 1)`` that double the set's own front/back difference: each
    loudspeaker's power times ``(P_front / P_back)^(FRONT_BACK_ENHANCEMENT fb / 2)``, with
    ``P_front``, ``P_back`` the powers of the set's directions straight ahead and behind
    (``front_and_back``, ``(2, bins, ears)``), both ears', 1/6-octave smoothed, and ``fb`` the
    loudspeaker's front/back cosine. The idea is Park, Choi, Kim & Bae's ("Improvement of
    front-back sound localization characteristics in headphone-based 3D sound generation", ACTA
    Press), who grow each direction's difference from its front/back mirror; the median plane's
    one difference, scaled by ``fb``, is smooth around the ring and needs no mirror. Applied
    before the diffuse-field average, it costs no timbre.
    """
    front, back = octave_smoothed(np.moveaxis(front_and_back, 1, 2).mean(axis=1), freqs_hz, DIFFUSE_FIELD_OCTAVES)
    exponent = FRONT_BACK_ENHANCEMENT * front_back_cosine(azimuth_rad, elevation_rad) / 2
    return ((front / back)[np.newaxis] ** exponent[:, np.newaxis])[..., np.newaxis]


def smootherstep(fraction: np.ndarray) -> np.ndarray:
    """``6 t^5 - 15 t^4 + 10 t^3``: 0 at 0, 1 at 1, zero slope and curvature at both ends (Perlin 2002)."""
    return fraction**3 * (fraction * (6 * fraction - 15) + 10)


def speaker_pan(azimuth_rad: np.ndarray, elevation_rad: np.ndarray, intensity: float) -> tuple[np.ndarray, np.ndarray]:
    """Virtual loudspeakers and amplitude weights ``(index, weight)``, shape ``azimuth.shape + (6,)``.

    A source is panned between the two rings around its elevation (clipped to -40..90 deg), and
    on each of them between the two loudspeakers around its azimuth, all with ``smootherstep``
    weights: they sum to 1, and as a loudspeaker takes over, neither its gain nor the gain's
    slope or curvature jumps, so the sidebands of the moving pan fall off fast (a 1 kHz sine
    keeps -107 dB outside +-50 Hz at a 4 s orbit; -90 dB with ``3t^2 - 2t^3``, -80 dB with
    straight lines). On the horizontal plane only the horizontal ring is fed; overhead, only the
    top loudspeaker, whatever the azimuth. The last two slots, the loudspeakers straight ahead
    and straight behind, share ``1 - intensity`` of the source by the side it is on (a
    ``smootherstep`` of its front/back cosine), so a weaker head keeps its front/back cue: all of
    it on the frontal loudspeaker drew every direction to the front, and the subtle preset's
    left-only input was heard swinging through the front (0 deg per turn, diffuse-field
    headphones; now 362).
    """
    ring_elevation, spacing_deg, count, first = _speaker_rings()
    elevation_deg = np.clip(np.degrees(elevation_rad), ring_elevation[0], ring_elevation[-1])
    lower = np.clip(np.searchsorted(ring_elevation, elevation_deg, side="right") - 1, 0, len(ring_elevation) - 2)
    upward = smootherstep((elevation_deg - ring_elevation[lower]) / (ring_elevation[lower + 1] - ring_elevation[lower]))
    azimuth_deg = np.degrees(np.mod(azimuth_rad, 2 * np.pi))
    indices, weights = [], []
    for ring, share in ((lower, 1.0 - upward), (lower + 1, upward)):
        position = azimuth_deg / spacing_deg[ring]
        below = np.floor(position)
        toward_next = smootherstep(position - below)
        below_index = below.astype(int)
        indices += [first[ring] + below_index % count[ring], first[ring] + (below_index + 1) % count[ring]]
        weights += [intensity * share * (1 - toward_next), intensity * share * toward_next]
    frontward = smootherstep((1.0 + front_back_cosine(azimuth_rad, elevation_rad)) / 2)
    indices += [np.full(np.shape(azimuth_deg), FRONT_SPEAKER), np.full(np.shape(azimuth_deg), BACK_SPEAKER)]
    weights += [(1.0 - intensity) * frontward, (1.0 - intensity) * (1.0 - frontward)]
    return np.stack(indices, axis=-1), np.stack(weights, axis=-1)


class KemarHead:
    """The orbiting band through the measured head: KEMAR at the orbit centre, the sources around it.

    Two stages per ear ``E``:

    1. The sources relative to each other (``SphericalHeadShadow(relative=True)``): each input
       channel keeps its own Brown & Duda shadow (at strength ``SOURCE_SHADING``) divided, per
       ear, by the geometric mean of all the sources' shadows, so a single channel passes
       unshadowed and of a stereo pair the left channel is brighter in the left ear. These
       weights change smoothly and share one phase (``LP + w HP``), so correlated channels
       (L = R) add without notches. Dividing by the mean (not by the shadow of the orbit
       centre) leaves the pair's overall level difference to KEMAR: with the centre's shadow,
       the pair's ILD flattened at the sides and a music-like mix's ILD track fitted a
       sinusoid with R^2 = 0.89; now 0.95.
    2. The orbit centre through KEMAR: the stage-1 signal of ear ``E`` is panned onto the
       virtual loudspeakers around the centre's direction (``speaker_pan``) and filtered by
       their ear-``E`` filters. Two sources rendered through two different measured filters
       would comb-filter wherever those filters' phases differ (the sum of HRTFs 60 deg apart
       has notches of 5-7 dB); sharing the centre's filters avoids it, as sharing the delay does.

    Same contract as ``SphericalHeadShadow``: ``ear_signals(block, first_sample)`` returns the two
    ears' orbiting band (crossover high-pass included) before the per-ear delays. Only the
    loudspeakers that are fed (or whose filters still ring) are convolved.
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
        hrtf_path: str | None = None,
    ):
        self.orbit = orbit
        self.intensity = intensity
        self.control_step = control_step
        self.radius_m = kemar_head_radius_m(hrtf_path)
        # (speakers, ears, taps), equalised over the directions this orbit takes
        self.filters = speaker_filters(sample_rate, intensity, hrtf_path, orbit_shape(orbit))
        self.taps = self.filters.shape[-1]
        self.hop_frames = FFT_FRAME - (self.taps - 1)
        self._history = np.zeros(self.filters.shape[:2] + (self.taps - 1,), dtype=np.float32)
        self._spectra: dict[int, np.ndarray] = {}  # loudspeaker: (ears, bins) at FFT_FRAME
        length = 2 * int(round(PAN_SMOOTHING_S * sample_rate / control_step / 2)) + 1
        smoothing = scipy.signal.windows.blackmanharris(length + 2)[1:-1]  # no zero ends
        self._smoothing = smoothing / smoothing.sum()
        loudness = ShadowLoudness(sample_rate, crossover_hz, LOUDNESS_FFT_SIZE)
        self._reference = loudness.reference
        spectra = np.fft.rfft(self.filters, LOUDNESS_FFT_SIZE, axis=-1)
        weighting = np.vstack([loudness.band, loudness.band * loudness.shapes])  # plain, then A, B, C shapes
        self._cross_power = np.stack(  # (plain|A|B|C, ears, speakers, speakers)
            [
                [np.real((spectra[:, ear] * row) @ np.conj(spectra[:, ear]).T) for ear in range(spectra.shape[1])]
                for row in weighting
            ]
        )
        self.sources = SphericalHeadShadow(
            sample_rate,
            channels,
            orbit,
            source_offsets_rad,
            SOURCE_SHADING * intensity,
            crossover_hz,
            control_step,
            relative=True,
            ear_terms=self._source_ear_terms,
        )

    def _smoothed_pan(self, sample_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The loudspeakers fed and their gains ``(points, speakers)`` at consecutive control points
        ``sample_index``: ``speaker_pan`` of the orbit centre, smoothed over time.

        ``speaker_pan``'s gains are smooth in the direction, but a fast orbit sweeps past the
        loudspeakers tens of times a second (a figure-eight of 1 s per turn passes up to 75 a second
        on the horizontal ring), and each pass hands the sound from one measured filter to the next:
        the effective response wobbles at that rate and its harmonics, which spreads a pure tone.
        Measured on the effective response at 1 kHz (energy outside 1 kHz +-50 Hz, the pan alone):
        figure-eight -39 dB at 1 s per turn, -67 dB at 2 s; circle -70 dB at 1 s; overhead -62 dB.
        Each gain is therefore convolved over time with a Blackman-Harris window of
        ``PAN_SMOOTHING_S`` (sidelobes -92 dB; Harris, Proc. IEEE 66(1), 1978): the gains keep
        their sum and move with nothing above ~50 Hz (-94, -100, -95 dB for those three at 1 s),
        while a slow orbit is hardly changed (at 8 s per turn the window spans 4 deg).
        Computed from the absolute control points around the block, so blocks do not matter.
        """
        step = self.control_step
        reach = len(self._smoothing) // 2
        extended = sample_index[0] + step * np.arange(-reach, len(sample_index) + reach)
        index, weight = speaker_pan(*self.orbit.direction_rad(extended), self.intensity)
        speakers = np.unique(index[weight != 0])
        dense = np.zeros((len(extended), len(speakers)))
        column = np.minimum(np.searchsorted(speakers, index), len(speakers) - 1)
        np.add.at(dense, (np.arange(len(extended))[:, np.newaxis], column), np.where(weight != 0, weight, 0.0))
        windows = np.lib.stride_tricks.sliding_window_view(dense, len(self._smoothing), axis=0)
        gains = windows @ self._smoothing  # (points, speakers)
        kept = np.any(gains != 0, axis=0)
        return speakers[kept], gains[:, kept]

    def _panned_power(self, speakers: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """Weighted power ``(plain|A|B|C, ears, points)`` of the panned loudspeaker filters.

        ``|sum_i g_i H_i|^2 = sum_ij g_i g_j Re(H_i H_j*)``: exact at every control point from
        the loudspeakers' cross powers, so the gains are as smooth as the pan.
        """
        cross = self._cross_power[:, :, speakers[:, np.newaxis], speakers[np.newaxis, :]]
        return np.einsum("pi,xeij,pj->xep", gains, cross, gains, optimize=True)

    def _pan_gain(self, power: np.ndarray) -> np.ndarray:
        """Gain that keeps a signal fed to both ears' pans as loud as it came in:
        ``sqrt(2 sum W|X|^2 / sum_E sum W|X|^2 |H_E|^2)``."""
        return np.sqrt(2 * self._reference / power[0].sum(axis=0))

    def _source_ear_terms(self, sample_index: np.ndarray) -> np.ndarray:
        """``ShadowLoudness`` terms ``(A|B|C, ears, points)`` of the gained pans that follow stage 1."""
        power = self._panned_power(*self._smoothed_pan(sample_index))
        return power[1:] * self._pan_gain(power) ** 2 / self._reference

    def _filter_spectrum(self, fft_size: int, speaker: int) -> np.ndarray:
        """``(ears, bins)`` spectrum of a loudspeaker's filters; of whole hops' size, the last
        ``SPECTRA_KEPT`` loudspeakers used are kept (a block's shorter last hop computes its own)."""
        if fft_size != FFT_FRAME:
            return scipy.fft.rfft(self.filters[speaker], fft_size, axis=-1).astype(np.complex64)
        spectrum = self._spectra.pop(speaker, None)
        if spectrum is None:
            spectrum = scipy.fft.rfft(self.filters[speaker], fft_size, axis=-1).astype(np.complex64)
            if len(self._spectra) >= SPECTRA_KEPT:
                self._spectra.pop(next(iter(self._spectra)))
        self._spectra[speaker] = spectrum  # re-inserted: the dict's order is the order of use
        return spectrum

    def ear_signals(self, block: np.ndarray, first_sample: int) -> np.ndarray:
        """``(2, frames)`` float32 ear signals (orbiting band only) of a ``(channels, frames)`` float32 block."""
        ears = self.sources.ear_signals(block, first_sample)  # float32 already
        return np.concatenate(
            [
                self._render_hop(ears[:, start : start + self.hop_frames], first_sample + start)
                for start in range(0, ears.shape[1], self.hop_frames)
            ],
            axis=1,
        )

    def _render_hop(self, ears: np.ndarray, first_sample: int) -> np.ndarray:
        frames = ears.shape[1]
        sample_index = control_indices(first_sample, frames, self.control_step) * self.control_step
        fed, gains = self._smoothed_pan(sample_index)
        controls = (gains * self._pan_gain(self._panned_power(fed, gains))[:, np.newaxis]).T
        ramps = segment_ramps(controls[:, :-1], controls[:, 1:], first_sample, frames, self.control_step)
        active = sorted(
            int(speaker) for speaker in set(fed) | set(np.flatnonzero(np.any(self._history != 0, axis=(1, 2))))
        )
        fft_size = scipy.fft.next_fast_len(frames + self.taps - 1, real=True)
        signal = np.zeros((len(active), 2, fft_size), dtype=np.float32)  # (loudspeakers, ears, time)
        signal[:, :, : self.taps - 1] = self._history[active]
        for ramp, speaker in zip(ramps, fed, strict=True):
            signal[active.index(speaker), :, self.taps - 1 : self.taps - 1 + frames] = ramp * ears
        self._history[:] = 0.0
        self._history[active] = signal[:, :, frames : frames + self.taps - 1]
        spectra = scipy.fft.rfft(signal, axis=-1)
        output = spectra[0] * self._filter_spectrum(fft_size, active[0])
        for row in range(1, len(active)):
            output += spectra[row] * self._filter_spectrum(fft_size, active[row])
        return scipy.fft.irfft(output, fft_size, axis=-1)[:, self.taps - 1 : self.taps - 1 + frames]
