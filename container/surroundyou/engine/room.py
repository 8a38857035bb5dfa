"""A room around the head: early reflections of a shoebox room through the head, and a diffuse tail.

``RoomRenderer.process(block)`` returns the room's part only, ``(2, frames)``, to be added to the
dry render (``render.OrbitRenderer``). The room hears one source at the orbit centre, the input
channels' mean (scaled as the centred bass is), above ``ROOM_LOW_CUT_HZ`` only (the bass stays centred
and dry, as in the dry render; and as a mixing engineer high-passes a reverb send: a tone's
reverberation adds to its direct sound in a phase of its own, so a steady low tone came out up
to 1 dB louder or softer with the room, and a music-like mix's long-term spectrum 1.85 dB off the
input's with a low cut at the 120 Hz crossover, 0.9-1.3 dB at 250 Hz), through two gentle
shelves that keep its mean response flat (``timbre_shelves``: the reflections' bass build-up,
the head's rear shade). That input filter is applied in the convolutions' spectra, the frames'
(``EarlyReflections.filter_input``) and the tail's (filtered once), not as a filter of its own.

Early reflections (image sources; Allen & Berkley, "Image method for efficiently simulating
small-room acoustics", J. Acoust. Soc. Am. 65(4), 1979). The listener stands in a shoebox room;
the source orbits them at ``source_distance_m`` with the orbit's azimuth and elevation (held
above the floor: ``source_positions``). Every image of order 1 and 2 (24 of them) is a copy of
the source, arriving ``(d - r)/c`` after the direct sound with the amplitude ``beta * r / d``
(``d`` its distance, ``r`` the source's, ``beta`` the product of the pressure reflection
coefficients on its path) from its own direction, through the same head model as the direct
sound (``HeadResponses``: the spherical head's Woodworth time difference, Brown & Duda shadow,
rear cut and pinna bands, or KEMAR's loudspeaker filters and time difference). The images move
as the source orbits: their directions, delays and levels are recomputed every hop (``HOP_S``,
~93 ms at 44.1 kHz: 4 degrees of an 8 s orbit) and the binaural response of each hop is applied
to its frame of the source, windowed so that consecutive responses cross-fade over 58 ms (FFT
convolution, overlap-add; the window's shape keeps a steady tone steady: ``EarlyReflections``).

Late tail (Polack, "Playing billiards in the concert hall: the mathematical foundations of
geometrical room acoustics", Appl. Acoust. 38, 1993: exponentially decaying Gaussian noise):
its power per second is ``4 pi c r^2 / V * exp(-13.8 t / T60(f))`` relative to the direct sound
(the image sources' density ``4 pi c^3 t^2 / V`` times their energy ``(r / ct)^2``; Kuttruff,
*Room Acoustics*, ch. 4), faded in where the second-order images arrive. ``T60`` is Eyring's
for the room, shorter at high frequencies (``T60(f) = T60 / (1 + (f / 8 kHz)^2)``, our choice,
as air and soft furnishings absorb the treble); the treble starts louder by ``T60 / T60(f)``
so that every frequency carries the same energy (only the treble dies away sooner). The two
ears are made from two independent noises, ``L = a n1 + b n2``, ``R = a n1 - b n2`` per
frequency with ``a^2 - b^2 = gamma(f)``, ``a^2 + b^2 = 1`` (in a short-time Fourier transform,
the second noise made orthogonal to the first and as strong in every bin, so that a short tail
holds the target; the corrected spectra are no signal's, so the tail's own are taken back and
corrected again, ``TAIL_ROUNDS`` in all, its side first given back its mid's envelope, so that
the two decay alike and the coherence holds through the tail: alternating projections as in
Griffin & Lim, "Signal estimation from modified short-time Fourier transform", IEEE Trans. ASSP
32(2), 1984), so their coherence is that of a diffuse field at two points ``d`` apart:

    gamma(f) = sin(k d) / (k d),   k = 2 pi f / c
    (Cook et al., "Measurement of correlation coefficients in reverberant sound fields",
    J. Acoust. Soc. Am. 27(6), 1955; Jacobsen & Roisin, "The coherence of reverberant sound
    fields", J. Acoust. Soc. Am. 108(1), 2000)

with ``d`` the acoustic distance between the ears of the spherical head, the path around it
that gives Woodworth's largest time difference, ``c * ITD(90 deg) = a (pi/2 + 1)`` = 22.5 cm
(the head lengthens the path between the ears; Lindevald & Benade, "Two-ear correlation in the
statistical sound fields of rooms", J. Acoust. Soc. Am. 80(2), 1986). The tail is one fixed
response per room, convolved by FFT; built once, from a fixed seed.

Level. ``level`` (the options' ``reverb``, 0-1) sets the direct-to-reverberant ratio, whatever
the room: the room's whole response (early + late, averaged over the orbit, for pink noise) is
scaled to ``level^2`` of the dry render's energy (``RoomRenderer``), so for pink noise
DRR = -20 log10(level) dB: 14 dB at 0.2, 6.9 dB at 0.45 (measured at 44.1 and 48 kHz within
0.6 dB for every preset, both modes; at 96 kHz within 0.82 dB). The room sets the rest: when
the reflections come and from where, how dense and long the tail is, and the balance of early
and late energy.

Streaming: the hops sit on the absolute sample grid and every frame's contribution is computed
from the samples it covers as they arrive, so the output does not depend on the block sizes
(to float rounding) and the same input always gives the same output; memory is a few hops plus
the tail's length, whatever the song's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.fft

from .crossover import linkwitz_riley4_sos
from .loudness_weighting import channel_mean_gain
from .options import RenderOptions
from .orbit import Orbit, front_back_cosine, rounded_lateral_angle_rad
from .spherical_head import (
    HEAD_RADIUS_M,
    PINNA_CUES,
    SPEED_OF_SOUND_M_S,
    TORSO_SHADOW_DEPTH,
    PinnaFilter,
    below_horizon,
    ear_delays_s,
    first_order_bilinear,
    first_order_sos,
    low_row_gains,
    pinna_cue_gains,
    pinna_response,
    pinna_strength,
    shadow_lowpass_ba,
    shadow_power,
    treble_weights,
    woodworth_itd_s,
)
from .streaming_fir import OverlapAdd, StreamingFir
from .streaming_sos import StreamingSos, sos_response

HOP_S = 4096 / 44100
CROSSFADE_HOPS = 5 / 8  # the reflections' cross-fade from one hop's response to the next (EarlyReflections)
ROOM_MARGIN_M = 0.1  # the source keeps this far from the floor and the ceiling (source_positions)
ROOM_LOW_CUT_HZ = 250.0  # the room hears the source above this (module doc)
# the input filter's impulse response (a high-pass at 250 Hz or above, two shelves) has lost
# all but 1e-10 of its energy (-100 dB) by then
INPUT_FILTER_REACH_S = 0.012
MAX_ORDER = 2
TAIL_SEED = 8
TAIL_ROUNDS = 5  # late_tail: the coherence corrected this many times
TAIL_HIGH_DECAY_HZ = 8000.0
TAIL_END_DB = -60.0
DRY_POWER_GAIN_DB = 3.2  # see RoomRenderer
# the spherical head's kernels: the shadow low-pass and the pinna's cues have died out (-95 dB)
HEAD_KERNEL_S = 0.0025
# the room's timbre: low, middle and high bands, evened out by shelves at these corners
TIMBRE_BANDS_HZ = ((120.0, 350.0), (500.0, 2000.0), (4000.0, 12500.0))
SHELF_HZ = (350.0, 4000.0)
# the level's calibration: pink noise over the audible band
CALIBRATION_BAND_HZ = (20.0, 20000.0)


@dataclass(frozen=True)
class ShoeboxRoom:
    """A rectangular room: size (front-back, left-right, height), the listener's ear position in it,
    the orbit's radius, and the pressure reflection coefficients of the four walls, the floor and
    the ceiling.

    The floor and the ceiling absorb more than the walls (carpet, acoustic tiles): the source orbits
    at a constant height, so their reflections keep the same delay all the way round, and a strong
    one would comb-filter the mix (the "floor bounce": a notch at ``c / (2 (d - r))``, 116 Hz in the
    small room) instead of averaging out like the walls' reflections, whose delays change.
    """

    size_m: tuple[float, float, float]
    listener_m: tuple[float, float, float]
    source_distance_m: float
    wall_coefficient: float
    floor_coefficient: float
    ceiling_coefficient: float

    @property
    def volume_m3(self) -> float:
        return float(np.prod(self.size_m))

    @property
    def surface_m2(self) -> float:
        x, y, z = self.size_m
        return 2 * (x * y + x * z + y * z)

    def coefficients(self) -> tuple[tuple[float, float], ...]:
        """Per axis, the coefficients of the wall at 0 and of the wall at the room's length."""
        wall = (self.wall_coefficient, self.wall_coefficient)
        return wall, wall, (self.floor_coefficient, self.ceiling_coefficient)

    @property
    def rt60_s(self) -> float:
        """Eyring: ``T60 = 0.161 V / (-S ln(1 - alpha))``, ``alpha`` the area-weighted mean of ``1 - beta^2``."""
        x, y, z = self.size_m
        areas = (y * z, x * z, x * y)  # of each axis's two walls
        absorbed = sum(
            area * (2 - low**2 - high**2) for area, (low, high) in zip(areas, self.coefficients(), strict=True)
        )
        return 0.161 * self.volume_m3 / (-self.surface_m2 * np.log(1 - absorbed / self.surface_m2))


SHOEBOXES: dict[str, ShoeboxRoom] = {
    # a small living room, T60 0.21 s
    "small": ShoeboxRoom((4.5, 3.8, 2.6), (2.1, 1.75, 1.2), 1.2, 0.9, 0.55, 0.75),
    # a studio or a club, T60 0.71 s
    "medium": ShoeboxRoom((9.0, 7.0, 3.5), (4.2, 3.3, 1.3), 2.0, 0.96, 0.75, 0.85),
    # a concert hall, T60 2.07 s
    "hall": ShoeboxRoom((26.0, 18.0, 11.0), (11.0, 8.6, 1.5), 4.0, 0.94, 0.8, 0.9),
}


def image_sources(
    room: ShoeboxRoom, source_m: np.ndarray, max_order: int = MAX_ORDER
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image positions ``(..., images, 3)`` of sources at ``source_m`` ``(..., 3)``, their orders and
    reflectances (the product of the coefficients of the walls on their paths).

    Allen & Berkley 1979, eq. 8: along each axis of length ``L`` an image sits at
    ``(1 - 2q) x + 2 m L`` (``q`` in {0, 1}, ``m`` an integer) after ``|m - q|`` reflections off
    the wall at 0 and ``|m|`` off the wall at ``L``. All images of order 1..``max_order`` (the
    source itself, order 0, is the direct sound).
    """
    signs, offsets, orders, reflectances = _images(room, max_order)
    return np.asarray(source_m)[..., np.newaxis, :] * signs + offsets, orders, reflectances


@functools.cache
def _images(room: ShoeboxRoom, max_order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``image_sources``' signs and offsets ``(images, 3)``, orders and reflectances (built once per room)."""
    axis_images = []  # per axis: (sign, offset, order, reflectance) of the 1-D images of order <= max_order
    for length, (low, high) in zip(room.size_m, room.coefficients(), strict=True):
        axis = [
            (1 - 2 * q, 2 * m * length, abs(m - q) + abs(m), low ** abs(m - q) * high ** abs(m))
            for m in range(-max_order, max_order + 1)
            for q in (0, 1)
            if abs(m - q) + abs(m) <= max_order
        ]
        axis_images.append(axis)
    signs, offsets, orders, reflectances = [], [], [], []
    for sx, ox, nx, bx in axis_images[0]:
        for sy, oy, ny, by in axis_images[1]:
            for sz, oz, nz, bz in axis_images[2]:
                if 1 <= nx + ny + nz <= max_order:
                    signs.append((sx, sy, sz))
                    offsets.append((ox, oy, oz))
                    orders.append(nx + ny + nz)
                    reflectances.append(bx * by * bz)
    arrays = np.asarray(signs, dtype=float), np.asarray(offsets), np.asarray(orders), np.asarray(reflectances)
    for array in arrays:
        array.flags.writeable = False  # shared by every call
    return arrays


class HeadResponses(Protocol):
    """The head model as the room uses it: the ears' responses to sources in given directions.

    ``responses(azimuth_rad, elevation_rad)`` for ``n`` directions returns ``(kernels, delays_s)``:
    ``(n, 2, taps)`` filters of the two ears (left, right) and ``(n, 2)`` their delays in seconds
    (the time difference), scaled so that a source's power summed over both ears is ~its own.
    ``radius_m``: the head's radius, which sets the ears' distance for the tail's coherence.
    """

    radius_m: float

    def responses(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class SphericalHeadResponses:
    """The spherical head (``spherical_head``): Woodworth delays, ``g_E LP + w HP`` shadow with the rear
    cut and the torso below the horizon, and the pinna's directional cues ``1 + sum_i g_i P_i``, as the
    direct sound gets them (a floor's reflections arrive from below).

    ``g_E LP + w HP = w delta + (g_E - w) LP``, so each ear's kernel is
    ``(g_E - w) (LP + sum_i g_i LP P_i) + w (delta + sum_i g_i P_i)`` (impulse responses of
    ``HEAD_KERNEL_S``), with ``g`` the direction's ``pinna_cue_gains``, divided by the cues' loudness
    ``sqrt(1 + 2 b.g + g.C.g)`` (pink noise above the crossover). The treble weights are
    power-normalised over the ears (``treble_weights``), so ``1/sqrt(2)`` keeps a source's power;
    the low row's gains ``g_E`` (``low_row_gains``: the head's low-band level difference, and below
    the horizon the torso's) and the torso's deeper shadow change that power, and the kernels are
    scaled back to the power they would have without them.
    """

    def __init__(self, sample_rate: int, intensity: float, crossover_hz: float, radius_m: float = HEAD_RADIUS_M):
        self.intensity = intensity
        self.radius_m = radius_m
        impulse = np.zeros(int(np.ceil(HEAD_KERNEL_S * sample_rate)))
        impulse[0] = 1.0
        lowpass = StreamingSos(first_order_sos(*shadow_lowpass_ba(sample_rate)), 1)(impulse)[0]
        # the low row and the direct row, then each one through each cue: (2, 1 + cues, taps)
        self._rows = np.stack(
            [
                np.stack([row, *(PinnaFilter(sample_rate, bands)(row) for bands in PINNA_CUES)])
                for row in (lowpass, impulse)
            ]
        )
        # the cues' loudness, 1 + 2 b.g + g.C.g for pink noise above the crossover
        freqs_hz = np.linspace(0, sample_rate / 2, 4097)
        responses = np.stack([pinna_response(sample_rate, bands, freqs_hz) for bands in PINNA_CUES])
        crossover = sos_response(linkwitz_riley4_sos(crossover_hz, sample_rate)[1], freqs_hz, sample_rate)
        weights = pink_weights(freqs_hz) * np.abs(crossover) ** 2
        weights /= weights.sum()
        self._cues_loudness = (
            np.real(responses) @ weights,
            np.real(responses[:, np.newaxis] * np.conj(responses[np.newaxis])) @ weights,
        )
        # A, B, C of an ear's g_E LP + w HP (shadow_power: the torso's correction)
        lowpass = sos_response(first_order_sos(*shadow_lowpass_ba(sample_rate)), freqs_hz, sample_rate)
        highpass = 1 - lowpass
        self._shadow_terms = (
            np.abs(lowpass) ** 2 @ weights,
            np.real(lowpass * np.conj(highpass)) @ weights,
            np.abs(highpass) ** 2 @ weights,
        )

    def responses(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lateral = rounded_lateral_angle_rad(azimuth_rad, elevation_rad)
        front_back = front_back_cosine(azimuth_rad, elevation_rad)
        below = below_horizon(elevation_rad)
        rear_cut = pinna_strength(self.intensity)
        weights = np.stack(
            treble_weights(lateral, front_back, self.intensity, 1 + TORSO_SHADOW_DEPTH * below, rear_cut), -1
        )
        gains = pinna_cue_gains(azimuth_rad, elevation_rad, self.intensity, front_back)  # (cues, n)
        b, c = self._cues_loudness
        loudness = 1 + 2 * b @ gains + np.einsum("in,ij,jn->n", gains, c, gains)
        with_cues = np.concatenate([np.ones((1, gains.shape[1])), gains]) / np.sqrt(2 * loudness)
        low, direct = ((with_cues.T @ row)[:, np.newaxis] for row in self._rows)  # (n, 1, taps) each
        kernels = weights[..., np.newaxis] * (direct - low)  # weights (n, 2) -> (n, 2, 1)
        low_gains = np.stack(low_row_gains(lateral, elevation_rad, self.intensity), -1)  # (n, 2)
        plain = np.stack(treble_weights(lateral, front_back, self.intensity, rear_cut_strength=rear_cut), -1)
        power = shadow_power(self._shadow_terms, low_gains, weights).sum(-1)
        power_plain = shadow_power(self._shadow_terms, 1.0, plain).sum(-1)
        kernels += low_gains[..., np.newaxis] * low
        kernels *= np.sqrt(power_plain / power)[:, np.newaxis, np.newaxis]
        delays = np.stack(ear_delays_s(self.intensity * woodworth_itd_s(lateral, self.radius_m)), axis=-1)
        return kernels, delays


class KemarResponses:
    """The measured head of HRTF mode (``hrtf``: KEMAR, or the SOFA file at ``hrtf_path``): its
    loudspeaker filters, panned, and its time difference."""

    def __init__(self, sample_rate: int, intensity: float, hrtf_path: str | None = None):
        from .hrtf import kemar_head_radius_m, speaker_azimuths_rad, speaker_filters, speaker_pan

        self._pan = functools.partial(speaker_pan, intensity=intensity)
        filters = speaker_filters(sample_rate, intensity, hrtf_path)
        # a direction's power summed over the ears, on average over the horizontal ring: scaled to 1
        ring = filters[: len(speaker_azimuths_rad())]
        self._filters = filters / np.sqrt(np.mean(np.sum(ring**2, axis=(1, 2))))
        self.intensity = intensity
        self.radius_m = kemar_head_radius_m(hrtf_path)

    def responses(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, weight = self._pan(azimuth_rad, elevation_rad)
        kernels = np.einsum("...k,...ket->...et", weight, self._filters[index])
        lateral = rounded_lateral_angle_rad(azimuth_rad, elevation_rad)
        delays = np.stack(ear_delays_s(self.intensity * woodworth_itd_s(lateral, self.radius_m)), axis=-1)
        return kernels, delays


def diffuse_field_coherence(freqs_hz: np.ndarray, ear_distance_m: float) -> np.ndarray:
    """``sin(k d) / (k d)``, ``k = 2 pi f / c``: the coherence of a diffuse field at two points ``d`` apart."""
    return np.sinc(2 * np.asarray(freqs_hz) * ear_distance_m / SPEED_OF_SOUND_M_S)  # np.sinc(x) = sin(pi x)/(pi x)


def ear_distance_m(radius_m: float = HEAD_RADIUS_M) -> float:
    """The acoustic distance between the ears: ``c * ITD(90 deg) = a (pi/2 + 1)`` (Woodworth)."""
    return float(SPEED_OF_SOUND_M_S * woodworth_itd_s(np.pi / 2, radius_m))


def source_positions(room: ShoeboxRoom, azimuth_rad: np.ndarray, elevation_rad: np.ndarray) -> np.ndarray:
    """The source's positions ``(n, 3)`` in the room, ``source_distance_m`` from the listener in the
    orbit's directions, its elevation held where the floor and the ceiling allow (``ROOM_MARGIN_M``
    inside): in the hall the floor is 22 degrees below the listener's ears, and the figure-eight and
    overhead paths dip to 30 and 36 degrees (a source under the floor has images nearer than itself)."""
    r, height = room.source_distance_m, room.size_m[2]
    lowest, highest = (
        np.arcsin(np.clip((z - room.listener_m[2]) / r, -1.0, 1.0)) for z in (ROOM_MARGIN_M, height - ROOM_MARGIN_M)
    )
    elevation = np.clip(elevation_rad, lowest, highest)
    direction = np.stack(
        [np.cos(elevation) * np.cos(azimuth_rad), np.cos(elevation) * np.sin(azimuth_rad), np.sin(elevation)], -1
    )
    return np.asarray(room.listener_m) + r * direction


def latest_reflection_s(room: ShoeboxRoom) -> float:
    """The latest image's arrival after the direct sound, wherever the source is: the largest over a
    5 degree grid of directions, plus how much nearer the grid's nearest point may be (0.1 r)."""
    azimuth, elevation = (
        grid.ravel() for grid in np.meshgrid(np.radians(np.arange(0, 360, 5)), np.radians(np.arange(-90, 91, 5)))
    )
    positions, _, _ = image_sources(room, source_positions(room, azimuth, elevation))
    distance = np.linalg.norm(positions - room.listener_m, axis=-1)
    return float((distance.max() - room.source_distance_m + 0.1 * room.source_distance_m) / SPEED_OF_SOUND_M_S)


def tail_window_s(room: ShoeboxRoom) -> tuple[float, float]:
    """When the tail fades in (after the direct sound): from the first second-order image's arrival
    to the last one's, over the orbit (the images of order 1 and 2 are the early reflections)."""
    azimuth = np.radians(np.arange(0, 360, 15))
    source = np.asarray(room.listener_m) + room.source_distance_m * np.stack(
        [np.cos(azimuth), np.sin(azimuth), np.zeros_like(azimuth)], -1
    )
    positions, orders, _ = image_sources(room, source)
    delays = (np.linalg.norm(positions - room.listener_m, axis=-1) - room.source_distance_m) / SPEED_OF_SOUND_M_S
    second = delays[:, orders == MAX_ORDER]
    return float(second.min()), float(second.max())


@functools.cache
def late_tail(room_name: str, sample_rate: int, radius_m: float = HEAD_RADIUS_M) -> np.ndarray:
    """The room's late tail ``(2, taps)`` relative to a direct sound of unit amplitude (module doc)."""
    room = SHOEBOXES[room_name]
    fade_in_s, full_s = tail_window_s(room)
    length = int(np.ceil((full_s + room.rt60_s * TAIL_END_DB / -60.0) * sample_rate))
    rng = np.random.default_rng(TAIL_SEED)
    noise = rng.standard_normal((2, length))
    # the decay varies with frequency: filter short overlapping pieces of the noise, each with the
    # envelope of its own time, by a short-time Fourier transform
    segment = int(2 ** np.ceil(np.log2(0.02 * sample_rate)))
    stft_freqs, times, spectra = _stft(noise, sample_rate, segment)
    rt60 = room.rt60_s / (1 + (stft_freqs / TAIL_HIGH_DECAY_HZ) ** 2)
    power = 4 * np.pi * SPEED_OF_SOUND_M_S * room.source_distance_m**2 / room.volume_m3
    decay = np.exp(-13.8 * times[np.newaxis, :] / rt60[:, np.newaxis])
    envelope = np.sqrt(power / sample_rate * (room.rt60_s / rt60)[:, np.newaxis] * decay)
    ramp = np.clip((times - fade_in_s) / (full_s - fade_in_s), 0.0, 1.0)
    envelope *= np.sin(np.pi / 2 * ramp)
    coherence = diffuse_field_coherence(stft_freqs, ear_distance_m(radius_m))[:, np.newaxis]
    common, apart = np.sqrt((1 + coherence) / 2), np.sqrt((1 - coherence) / 2)

    def ears(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        # a short tail holds few independent samples per band, so two noises would be correlated by
        # chance: make the second one orthogonal to the first, and as strong, in every frequency bin
        first_power = np.sum(np.abs(first) ** 2, axis=1, keepdims=True) + 1e-30
        second = second - np.sum(second * np.conj(first), axis=1, keepdims=True) / first_power * first
        second *= np.sqrt(first_power / (np.sum(np.abs(second) ** 2, axis=1, keepdims=True) + 1e-30))
        return _istft(np.stack([common * first + apart * second, common * first - apart * second]), segment)[:, :length]

    tail = ears(spectra[0] * envelope, spectra[1] * envelope)
    for _ in range(TAIL_ROUNDS - 1):
        # the corrected spectra were no signal's short-time spectra, so the tail made from them
        # drifted from the target (it lost some of its side, L - R, and the side's decay slowed):
        # correct its own again, the side first given back the mid's envelope, cell by cell
        _, _, spectra = _stft(tail, sample_rate, segment)
        first = (spectra[0] + spectra[1]) / (2 * common)
        second = (spectra[0] - spectra[1]) / (2 * np.maximum(apart, 1e-9))
        envelope_gain = np.sqrt(_local_mean(np.abs(first) ** 2) / (_local_mean(np.abs(second) ** 2) + 1e-300))
        second *= np.where(apart > 0.1, np.clip(envelope_gain, 0.25, 4.0), 1.0)  # apart ~ 0: no side to match
        tail = ears(first, second)
    fade_out = max(1, length // 10)
    tail[:, -fade_out:] *= np.cos(np.pi / 2 * np.arange(1, fade_out + 1) / fade_out)
    return tail


def _local_mean(power: np.ndarray) -> np.ndarray:
    """``power (freqs, times)`` averaged over its neighbours, +-2 bins and +-1 frame (edges repeated)."""
    bins, frames = power.shape
    padded = np.pad(power, ((2, 2), (1, 1)), mode="edge")
    across = np.add.reduce([padded[shift : shift + bins] for shift in range(5)])
    return np.add.reduce([across[:, shift : shift + frames] for shift in range(3)]) / 15


def _hann(segment: int) -> np.ndarray:
    """The periodic Hann window of ``segment`` points (``scipy.signal.get_window("hann", segment)``)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(segment) / segment)


def _stft(signal: np.ndarray, sample_rate: int, segment: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(freqs_hz, times_s, spectra (..., freqs, times))``: the short-time Fourier transform with a
    periodic Hann window of ``segment`` points, hop ``segment / 4``, the signal padded with half a
    segment of zeros at both ends and at its end to whole hops, scaled by the window's sum
    (``scipy.signal.stft``'s defaults; scipy.signal is not imported for it)."""
    hop = segment // 4
    window = _hann(segment)
    padded = np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(segment // 2, segment // 2)])
    extra = (-(padded.shape[-1] - segment) % hop) % segment
    padded = np.pad(padded, [(0, 0)] * (signal.ndim - 1) + [(0, extra)])
    pieces = np.lib.stride_tricks.sliding_window_view(padded, segment, axis=-1)[..., ::hop, :]
    spectra = scipy.fft.rfft(pieces * window, axis=-1) / window.sum()
    times = np.arange(pieces.shape[-2]) * hop / sample_rate
    return scipy.fft.rfftfreq(segment, 1 / sample_rate), times, np.moveaxis(spectra, -1, -2)


def _istft(spectra: np.ndarray, segment: int) -> np.ndarray:
    """The inverse of ``_stft`` (``scipy.signal.istft``'s defaults): each piece back, windowed again,
    overlap-added and divided by the summed squared windows; the padding at the start cut off."""
    hop = segment // 4
    window = _hann(segment)
    pieces = scipy.fft.irfft(np.moveaxis(spectra, -2, -1), segment, axis=-1) * (window.sum() * window)
    count = pieces.shape[-2]
    # the pieces overlap by three quarters: quarter q of piece k lands on hop k + q
    quarters = pieces.reshape(*pieces.shape[:-1], 4, hop)
    output = np.zeros((*pieces.shape[:-2], count + 3, hop))
    norm = np.zeros((count + 3, hop))
    for quarter, window_quarter in enumerate((window**2).reshape(4, hop)):
        output[..., quarter : quarter + count, :] += quarters[..., quarter, :]
        norm[quarter : quarter + count] += window_quarter
    half = segment // 2
    output, norm = output.reshape(*output.shape[:-2], -1)[..., half:-half], norm.ravel()[half:-half]
    return output / np.where(norm > 1e-10, norm, 1.0)


def input_filter_reach(sample_rate: int) -> int:
    """Samples of the input filter's response that count (``INPUT_FILTER_REACH_S``)."""
    return int(np.ceil(INPUT_FILTER_REACH_S * sample_rate))


def pink_weights(freqs_hz: np.ndarray) -> np.ndarray:
    """Power of pink noise per frequency bin over ``CALIBRATION_BAND_HZ`` (zero outside), summing to 1."""
    low, high = CALIBRATION_BAND_HZ
    inside = (freqs_hz >= low) & (freqs_hz <= high)
    weights = np.where(inside, 1 / np.maximum(freqs_hz, low), 0.0)
    return weights / weights.sum()


def first_order_shelf_sos(corner_hz: float, low_gain: float, high_gain: float, sample_rate: int) -> np.ndarray:
    """``H(s) = (high s + low w) / (s + w)``: ``low_gain`` at DC, ``high_gain`` at high frequencies,
    the geometric mean at ``corner_hz`` (bilinear transform, corner pre-warped)."""
    warped = 2 * sample_rate * np.tan(np.pi * corner_hz / sample_rate)
    return first_order_sos(*first_order_bilinear(high_gain, low_gain * warped, warped, sample_rate))


def timbre_shelves(freqs_hz: np.ndarray, power: np.ndarray, sample_rate: int) -> np.ndarray:
    """Two first-order shelves that even out the room's mean power response: a low shelf at
    ``SHELF_HZ[0]`` brings the low band up or down to the middle band, a high shelf at
    ``SHELF_HZ[1]`` the high band (``TIMBRE_BANDS_HZ``, pink-weighted; at most +-6 dB each).

    The reflections add up in phase at low frequencies (the room's bass build-up) and the head
    shades the treble of those from behind; evened out, the room keeps the song's timbre.
    """
    weights = pink_weights(freqs_hz)

    def band_power(band: tuple[float, float]) -> float:
        inside = (freqs_hz >= band[0]) & (freqs_hz < band[1])
        return float(weights[inside] @ power[inside] / weights[inside].sum()) if weights[inside].any() else np.nan

    low, middle, high = (band_power(band) for band in TIMBRE_BANDS_HZ)
    # a band past a low rate's Nyquist frequency (a song sampled under 8 kHz) has nothing to even out
    low_gain, high_gain = (
        float(np.clip(np.sqrt(middle / band), 0.5, 2.0)) if np.isfinite(middle / band) else 1.0 for band in (low, high)
    )
    return np.vstack(
        [
            first_order_shelf_sos(SHELF_HZ[0], low_gain, 1.0, sample_rate),
            first_order_shelf_sos(SHELF_HZ[1], 1.0, high_gain, sample_rate),
        ]
    )


class EarlyReflections:
    """Streaming image-source reflections through the head, following the orbit (module doc).

    Frame ``k`` covers samples ``[k hop - fade, (k + 1) hop)`` under a window that rises and falls
    over ``fade`` (``CROSSFADE_HOPS``: 58 ms) and is flat between, so neighbouring windows sum to
    one, and is convolved with the binaural response at its middle: consecutive responses
    cross-fade over ``fade``.

    The cross-fade is what a steady tone hears of the motion. A reflection's delay changes from one
    hop to the next (by ~0.3 ms at 8 s per turn: 2 rad at 1 kHz), so a tone's reflection is the
    sequence of its hops' phasors interpolated by the window, and the window's spectrum around
    multiples of the hop rate (10.8 Hz) is what spreads the tone. The rise is the square of the
    Vorbis window's, ``sin^2(pi/2 sin^2(pi u/2))`` (power-complementary as ``sin(pi/2 sin^2)`` is;
    Vorbis I specification, Xiph.Org Foundation): smooth in more derivatives than a ``sin^2``
    rise, its spectrum falls much faster. Measured on a 1 kHz sine through the classic preset (the
    dry render plus the room, energy outside 1 kHz +-50 Hz, every path, both heads, 1-8 s per
    turn): a ``sin^2`` rise over a quarter hop -54 to -62 dB; over the whole hop (a Hann window
    over two hops, a longer FFT) -77 to -87 dB; this rise over 5/8 of a hop -86.5 to -96 dB,
    except at 1 s per turn on the figure-eight and overhead paths, where the dry render alone
    measures -82 dB (-81.5 to -83.6 dB with the room).

    ``gain`` scales the responses (``RoomRenderer`` sets it from the level).
    """

    def __init__(self, sample_rate: int, orbit: Orbit, room: ShoeboxRoom, head: HeadResponses, first_sample: int = 0):
        self.sample_rate = int(sample_rate)
        self.orbit = orbit
        self.room = room
        self.head = head
        self.gain = 1.0
        self.hop = int(2 ** np.round(np.log2(HOP_S * self.sample_rate)))
        self.fade = int(self.hop * CROSSFADE_HOPS)
        ramp = np.sin(np.pi / 2 * np.sin(np.pi / 2 * (np.arange(self.fade) + 0.5) / self.fade) ** 2) ** 2
        self.window = np.concatenate([ramp, np.ones(self.hop - self.fade), ramp[::-1]]).astype(np.float32)
        kernels, ear_delays = head.responses(np.array([np.pi / 2, -np.pi / 2]), np.zeros(2))  # at the sides
        self.taps = (
            int(np.ceil((latest_reflection_s(room) + ear_delays.max()) * self.sample_rate)) + kernels.shape[-1] + 1
        )
        self.fft_size = scipy.fft.next_fast_len(len(self.window) + self.taps, real=True)
        self._input_response: np.ndarray | None = None  # filter_input's
        self._overlap = OverlapAdd()
        self.frames_done = int(first_sample)  # the absolute index of the next source sample

    def filter_input(self, sos: np.ndarray) -> None:
        """Filter the source by ``sos``, in each frame's spectrum: the FFT grows by the filter's
        reach (``INPUT_FILTER_REACH_S``), so that its response fits with the frame's."""
        self.fft_size = scipy.fft.next_fast_len(
            len(self.window) + self.taps + input_filter_reach(self.sample_rate), real=True
        )
        freqs_hz = scipy.fft.rfftfreq(self.fft_size, 1 / self.sample_rate)
        self._input_response = sos_response(sos, freqs_hz, self.sample_rate).astype(np.complex64)

    def responses(self, sample_index: np.ndarray) -> np.ndarray:
        """Binaural responses ``(n, 2, taps)`` of the reflections (times ``gain``) at ``sample_index``."""
        r = self.room.source_distance_m
        listener = np.asarray(self.room.listener_m)
        source = source_positions(self.room, *self.orbit.direction_rad(sample_index))
        positions, _, reflectances = image_sources(self.room, source)
        relative = positions - listener  # (n, images, 3)
        distance = np.linalg.norm(relative, axis=-1)
        image_azimuth = np.arctan2(relative[..., 1], relative[..., 0])
        image_elevation = np.arcsin(relative[..., 2] / distance)
        kernels, ear_delays = self.head.responses(image_azimuth.ravel(), image_elevation.ravel())
        n, images = distance.shape
        taps = kernels.shape[-1]
        amplitude = (self.gain * reflectances * r / distance).ravel()
        delay = ((distance - r) / SPEED_OF_SOUND_M_S).ravel()[:, np.newaxis] + ear_delays  # (n*images, 2)
        # to the nearest sample (+-11 us at 44.1 kHz): as the source moves, a reflection's delay changes
        # by many samples from one hop to the next anyway, and the cross-fade covers both
        start = np.rint(delay * self.sample_rate).astype(np.int64)
        row = (np.arange(n).repeat(images)[:, np.newaxis] * 2 + np.arange(2)) * self.taps  # (n*images, 2)
        index = (row + start)[..., np.newaxis] + np.arange(taps)
        placed = kernels * amplitude[:, np.newaxis, np.newaxis]
        return np.bincount(index.ravel(), placed.ravel(), minlength=n * 2 * self.taps).reshape(n, 2, self.taps)

    def process(self, source: np.ndarray) -> np.ndarray:
        """``(2, frames)`` reflections of the mono float32 ``source``; each frame's new samples are added."""
        hop, fade, first, frames = self.hop, self.fade, self.frames_done, len(source)
        self.frames_done += frames
        output = self._overlap.buffer(frames, self.fft_size)
        if frames == 0:
            return self._overlap.emit(output, frames)
        indices = np.arange(first // hop, (first + frames + fade - 1) // hop + 1)
        starts = [int(frame) * hop - fade - first for frame in indices]  # < 0: the frame began earlier
        windowed = np.zeros((len(starts), len(self.window)), dtype=np.float32)
        for row, start in enumerate(starts):
            low, high = max(start, 0), min(start + len(self.window), frames)
            windowed[row, low - start : high - start] = source[low:high] * self.window[low - start : high - start]
        responses = self.responses(indices * hop + (hop - fade) / 2).astype(np.float32)
        spectra = scipy.fft.rfft(windowed, self.fft_size, axis=-1)
        if self._input_response is not None:
            spectra *= self._input_response
        spectra = spectra[:, np.newaxis]
        wet = scipy.fft.irfft(spectra * scipy.fft.rfft(responses, self.fft_size, axis=-1), self.fft_size, axis=-1)
        for row, start in enumerate(starts):
            skip = max(0, -start)  # what came before this block is silent in this block's part of the frame
            output[:, start + skip : start + self.fft_size] += wet[row, :, skip:]
        return self._overlap.emit(output, frames)


class RoomRenderer:
    """Streaming room: ``process(block)`` -> ``(2, frames)`` early reflections + late tail (module doc).

    The room hears the channels' mean times ``loudness_weighting.channel_mean_gain``, as the centred
    bass does: whatever the channels share, the dry render comes out ``DRY_POWER_GAIN_DB`` over it
    (the mean is heard in both ears). Measured on pink noise (mono, L = R, independent) and a
    music-like mix, classic and concert presets, both modes: 3.0-3.4 dB, so the documented DRR
    holds for all of them (the room hearing ``sum(channels) / sqrt(channels)`` instead, independent
    channels came out 1.6 dB drier than mono and L = R, a music-like mix 0.8 dB).
    """

    def __init__(
        self,
        sample_rate: int,
        orbit: Orbit,
        room_name: str,
        level: float,
        head: HeadResponses,
        crossover_hz: float,
        first_sample: int = 0,
    ):
        if room_name not in SHOEBOXES:
            raise ValueError(f"room must be one of {', '.join(SHOEBOXES)}, got {room_name!r}")
        self.sample_rate = int(sample_rate)
        room = SHOEBOXES[room_name]
        self.early = EarlyReflections(self.sample_rate, orbit, room, head, first_sample)
        tail = late_tail(room_name, self.sample_rate, head.radius_m)
        freqs_hz, power = self._power_spectrum(tail)
        _, highpass = linkwitz_riley4_sos(max(crossover_hz, ROOM_LOW_CUT_HZ), self.sample_rate)
        sos = np.vstack([highpass, timbre_shelves(freqs_hz, power, self.sample_rate)])
        # the input filter is applied in the convolutions' spectra: the frames' (early) and the tail's
        self.early.filter_input(sos)
        tail = StreamingSos(sos, 2)(np.pad(tail, ((0, 0), (0, input_filter_reach(self.sample_rate)))))
        response = sos_response(sos, freqs_hz, self.sample_rate)
        # a sinusoid's power through a filter h is |H|^2 times its own; pink noise weights the bins
        energy = float(pink_weights(freqs_hz) @ (power * np.abs(response) ** 2))
        gain = level * 10 ** (DRY_POWER_GAIN_DB / 20) / np.sqrt(energy)
        self.early.gain = gain
        self.late = StreamingFir(tail * gain)

    def _power_spectrum(self, tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(freqs_hz, power)``: the unscaled room's power response, both ears, averaged over one turn."""
        orbit = self.early.orbit
        responses = self.early.responses(np.arange(24) * orbit.period_s * self.sample_rate / 24)
        fft_size = scipy.fft.next_fast_len(max(responses.shape[-1], tail.shape[-1]))
        early = np.abs(np.fft.rfft(responses, fft_size, axis=-1)) ** 2
        late = np.abs(np.fft.rfft(tail, fft_size, axis=-1)) ** 2
        return np.fft.rfftfreq(fft_size, 1 / self.sample_rate), early.sum(axis=1).mean(axis=0) + late.sum(axis=0)

    def process(self, block: np.ndarray) -> np.ndarray:
        """The room's ``(2, frames)`` float32 output for a ``(channels, frames)`` float32 block."""
        block = np.asarray(block, dtype=np.float32)
        source = block.mean(axis=0) * np.float32(channel_mean_gain(len(block)))
        output = self.early.process(source)
        output += self.late.process(source)
        return output


def room_for(options: RenderOptions, sample_rate: int, orbit: Orbit, first_sample: int = 0) -> RoomRenderer | None:
    """The room of ``options`` around ``orbit``, through the head of ``options.mode``; ``None`` if dry.
    ``first_sample``: the absolute index of the first sample it will hear (a preview's window), so
    its reflections follow the orbit from there."""
    if options.room == "none" or options.reverb <= 0:
        return None
    head: HeadResponses
    if options.mode == "hrtf":
        head = KemarResponses(sample_rate, options.intensity, options.hrtf_path)
    else:
        head = SphericalHeadResponses(sample_rate, options.intensity, options.crossover_hz)
    return RoomRenderer(sample_rate, orbit, options.room, options.reverb, head, options.crossover_hz, first_sample)
