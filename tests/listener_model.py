"""A listener model: where a KEMAR-eared listener hears a binaural render, frame by frame.

Independent of the renderer: it reads the input and the two ear signals, and compares them with a
measured head, the MIT KEMAR set (Gardner & Martin, MIT Media Lab Perceptual Computing TR #280,
1994) as Debian's ``libmysofa1`` package ships it (``MIT_KEMAR_normal_pinna.sofa``, AES69-2015
SOFA, SimpleFreeFieldHRIR; read with h5py). The package is fetched with
``apt-get download libmysofa1`` and unpacked with ``dpkg-deb -x`` into a cache folder
(``kemar_sofa_path``), so a fresh machine gets the same file.

Features, per 100 ms Hann frame (hop 50 ms), for the render and for every horizontal-plane
direction of the set (72, every 5 deg; or, ``sphere=True``, all 710 directions from 40 deg below
the horizon to straight overhead, for the heard elevation):

- each ear's transfer magnitude ``T_E(b) = 10 log10(P_out,E(b) / P_in(b))`` in 1/6-octave bands
  ``b`` (centres ``300 * 2^(k/6)`` Hz up to 14 kHz, edges ``fc * 2^(+-1/12)``), ``P_in`` the
  input's band power (mean over its channels); for the set, ``|H_E|^2`` averaged over the band;
- the interaural level spectrum ``ILD(b) = T_L(b) - T_R(b)``;
- the interaural time difference, GCC-PHAT (Knapp & Carter, IEEE Trans. ASSP 24(4), 1976)
  over 200-1500 Hz, the peak refined by a parabola: positive = the left ear leads.

Distance of a frame to a direction (squared differences on the scales a listener cares about):

    d = sum_b ((ILD_f - ILD_d) / 3 dB)^2 + sum_E sum_b ((T~_E,f - T~_E,d) / 3 dB)^2 + ((ITD_f - ITD_d) / 0.1 ms)^2

with ``T~`` the ear's spectrum with its mean over the bands removed (the level is not a cue).
The nearest direction is what the model hears. Unwrapped over the render, its azimuth gives the
net rotation per turn: a full circle scores ~360 deg, a swing through the front (a plain
left-right panner) ~0, because the way back cancels the way out.

Azimuths are reported in the engine's convention (0 = front, positive = right, clockwise seen
from above); the SOFA file counts counter-clockwise.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess  # nosec B404: apt-get and dpkg-deb with fixed arguments
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal

SOFA_MEMBER = "usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"
FRAME_S = 0.1
HOP_S = 0.05
LOW_BAND_HZ = 300.0
HIGH_BAND_HZ = 14000.0
ITD_BAND_HZ = (200.0, 1500.0)
ITD_SEARCH_S = 1e-3
ITD_UPSAMPLING = 8
LEVEL_SCALE_DB = 3.0
ITD_SCALE_S = 1e-4
_TINY = 1e-20


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/surroundyou`` (default ``~/.cache/surroundyou``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "surroundyou"


def kemar_sofa_path() -> Path:
    """The MIT KEMAR SOFA file of Debian's libmysofa1, fetched once into the cache folder.

    ``apt-get download libmysofa1`` (after ``apt-get update`` when a fresh machine has no package
    lists) then ``dpkg-deb -x``; only the .sofa file is kept.
    """
    target = cache_dir() / "libmysofa1" / Path(SOFA_MEMBER).name
    if target.exists():
        return target
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"fetching the KEMAR SOFA file needs {tool} (Debian/Ubuntu)")
    with tempfile.TemporaryDirectory() as work:
        download = ["apt-get", "download", "libmysofa1"]
        if subprocess.run(download, cwd=work, capture_output=True).returncode != 0:  # nosec B603 B607
            # a fresh machine has no package lists yet (the tests run as root, as CI does)
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)  # nosec B603 B607
            subprocess.run(download, cwd=work, check=True, capture_output=True)  # nosec B603 B607
        package = next(Path(work).glob("libmysofa1_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(package), str(Path(work) / "x")], check=True)  # nosec B603 B607
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(Path(work) / "x" / SOFA_MEMBER, partial)
        partial.replace(target)
    return target


@dataclass(frozen=True)
class HorizontalSet:
    """Measured directions: ``azimuth_deg`` (engine convention), ``irs`` (n, 2, taps), ``elevation_deg``."""

    azimuth_deg: np.ndarray
    irs: np.ndarray
    sample_rate: int
    elevation_deg: np.ndarray


def kemar_horizontal(sample_rate: int = 44100) -> HorizontalSet:
    """The set's elevation-0 directions, sorted by azimuth (engine convention), resampled if needed."""
    return kemar_directions(sample_rate)


@functools.cache
def kemar_directions(sample_rate: int = 44100, sphere: bool = False) -> HorizontalSet:
    """The set's elevation-0 directions (``sphere``: all 710, -40..90 deg), sorted by elevation then
    azimuth (engine convention, -180..180), resampled if needed."""
    import h5py

    with h5py.File(kemar_sofa_path(), "r") as sofa:
        positions = np.asarray(sofa["SourcePosition"][:], dtype=np.float64)
        irs = np.asarray(sofa["Data.IR"][:], dtype=np.float64)
        rate = int(round(float(sofa["Data.SamplingRate"][0])))
    chosen = np.arange(len(positions)) if sphere else np.flatnonzero(np.isclose(positions[:, 1], 0.0))
    azimuth = np.mod(-positions[chosen, 0] + 180.0, 360.0) - 180.0  # counter-clockwise -> ours, -180..180
    elevation = positions[chosen, 1]
    order = np.lexsort((azimuth, elevation))
    irs = irs[chosen[order]]
    if sample_rate != rate:
        irs = scipy.signal.resample_poly(irs, sample_rate, rate, axis=-1)
    return HorizontalSet(azimuth_deg=azimuth[order], irs=irs, sample_rate=sample_rate, elevation_deg=elevation[order])


def band_edges_hz() -> tuple[np.ndarray, np.ndarray]:
    """Centres and ``(low, high)`` edges of the 1/6-octave bands from 300 Hz to 14 kHz."""
    count = int(np.floor(6 * np.log2(HIGH_BAND_HZ / LOW_BAND_HZ))) + 1
    centres = LOW_BAND_HZ * 2 ** (np.arange(count) / 6)
    return centres, np.stack([centres * 2 ** (-1 / 12), centres * 2 ** (1 / 12)], axis=-1)


def band_powers(power: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Mean of ``power`` (last axis on ``freqs_hz``) over each 1/6-octave band -> (..., bands)."""
    _, edges = band_edges_hz()
    cumulative = np.concatenate([np.zeros(power.shape[:-1] + (1,)), np.cumsum(power, axis=-1)], axis=-1)
    low = np.searchsorted(freqs_hz, edges[:, 0])
    high = np.maximum(np.searchsorted(freqs_hz, edges[:, 1]), low + 1)
    return (cumulative[..., high] - cumulative[..., low]) / (high - low)


def gcc_phat_itd_s(left: np.ndarray, right: np.ndarray, sample_rate: int, fft_len: int) -> np.ndarray:
    """GCC-PHAT interaural time difference (s) over ITD_BAND_HZ: positive when the left ear leads (last axis: time)."""
    spectrum_left = np.fft.rfft(left, fft_len, axis=-1)
    spectrum_right = np.fft.rfft(right, fft_len, axis=-1)
    cross = spectrum_right * np.conj(spectrum_left)  # peaks at the lag of the right ear behind the left one
    freqs_hz = np.fft.rfftfreq(fft_len, 1.0 / sample_rate)
    band = (freqs_hz >= ITD_BAND_HZ[0]) & (freqs_hz <= ITD_BAND_HZ[1])
    cross = np.where(band, cross / (np.abs(cross) + _TINY), 0.0)
    size = fft_len * ITD_UPSAMPLING
    correlation = np.fft.irfft(cross, size, axis=-1)
    search = int(np.ceil(ITD_SEARCH_S * sample_rate * ITD_UPSAMPLING))
    window = np.concatenate([correlation[..., -search:], correlation[..., : search + 1]], axis=-1)
    peak = np.argmax(window, axis=-1)
    inner = np.clip(peak, 1, window.shape[-1] - 2)
    below, centre, above = (np.take_along_axis(window, (inner + k)[..., np.newaxis], -1)[..., 0] for k in (-1, 0, 1))
    curvature = below - 2 * centre + above
    offset = np.where(curvature < 0, 0.5 * (below - above) / np.where(curvature < 0, curvature, -1.0), 0.0)
    return (inner + offset - search) / (sample_rate * ITD_UPSAMPLING)


@dataclass(frozen=True)
class Features:
    """Per frame (or direction): ears' transfer ``(n, 2, bands)`` dB and ITD ``(n,)`` s."""

    ears_db: np.ndarray
    itd_s: np.ndarray


@functools.cache
def kemar_features(sample_rate: int = 44100, headphones: str = "diffuse-field", sphere: bool = False) -> Features:
    """The features of every horizontal direction of the set, as heard through ``headphones``.

    ``"diffuse-field"``: the listener wears headphones equalised to the set's diffuse field of
    the horizontal plane (its power response averaged over the directions and both ears, per
    band), the playback a binaural render made for such headphones assumes (Moller,
    "Fundamentals of binaural technology", Applied Acoustics 36, 1992): the render's ear
    spectra are compared with the set's divided by that average, so a render whose long-term
    timbre is flat is heard with the head's own. ``"none"``: the render is the eardrum signal
    (compared with the set as measured; an ideal render through the raw set is heard right).
    ``sphere``: every direction of the set, through the same (horizontal-plane) headphones.
    """
    kemar = kemar_directions(sample_rate, sphere)
    fft_len = 8192
    freqs_hz = np.fft.rfftfreq(fft_len, 1 / sample_rate)
    power = band_powers(np.abs(np.fft.rfft(kemar.irs, fft_len, axis=-1)) ** 2, freqs_hz)
    if headphones == "diffuse-field":
        horizontal = np.abs(np.fft.rfft(kemar_horizontal(sample_rate).irs, fft_len, axis=-1)) ** 2
        power = power / band_powers(horizontal, freqs_hz).mean(axis=(0, 1))
    elif headphones != "none":
        raise ValueError(f"headphones must be 'diffuse-field' or 'none', got {headphones!r}")
    itd = gcc_phat_itd_s(kemar.irs[:, 0], kemar.irs[:, 1], sample_rate, fft_len)
    return Features(ears_db=10 * np.log10(power + _TINY), itd_s=itd)


def frames_of(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Hann-windowed frames ``(channels, frames, length)`` of FRAME_S every HOP_S (whole frames only)."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    length, hop = int(round(FRAME_S * sample_rate)), int(round(HOP_S * sample_rate))
    windows = np.lib.stride_tricks.sliding_window_view(audio, length, axis=-1)[:, ::hop]
    return windows * scipy.signal.windows.hann(length, sym=False)


def render_features(ears: np.ndarray, source: np.ndarray, sample_rate: int) -> tuple[np.ndarray, Features]:
    """Frame centre times (s) and features of ear signals ``(2, n)`` rendered from ``source`` ``(channels, n)``."""
    ear_frames = frames_of(ears, sample_rate)
    source_frames = frames_of(source, sample_rate)
    length = ear_frames.shape[-1]
    freqs_hz = np.fft.rfftfreq(length, 1.0 / sample_rate)
    ear_power = band_powers(np.abs(np.fft.rfft(ear_frames, axis=-1)) ** 2, freqs_hz)
    source_power = band_powers(np.abs(np.fft.rfft(source_frames, axis=-1)) ** 2, freqs_hz).mean(axis=0)
    ears_db = 10 * np.log10((ear_power + _TINY) / (source_power + _TINY))  # (2, frames, bands)
    itd = gcc_phat_itd_s(ear_frames[0], ear_frames[1], sample_rate, 2 * length)
    times_s = (np.arange(ear_frames.shape[1]) * round(HOP_S * sample_rate) + length / 2) / sample_rate
    return times_s, Features(ears_db=np.moveaxis(ears_db, 0, 1), itd_s=itd)


def distances(frames: Features, directions: Features) -> np.ndarray:
    """Squared-difference distance ``(frames, directions)`` (module doc)."""
    ild_f = frames.ears_db[:, 0] - frames.ears_db[:, 1]
    ild_d = directions.ears_db[:, 0] - directions.ears_db[:, 1]
    ears_f = frames.ears_db - frames.ears_db.mean(axis=-1, keepdims=True)
    ears_d = directions.ears_db - directions.ears_db.mean(axis=-1, keepdims=True)
    total = (((ild_f[:, np.newaxis] - ild_d[np.newaxis]) / LEVEL_SCALE_DB) ** 2).sum(axis=-1)
    for ear in range(2):
        total += (((ears_f[:, np.newaxis, ear] - ears_d[np.newaxis, :, ear]) / LEVEL_SCALE_DB) ** 2).sum(axis=-1)
    total += ((frames.itd_s[:, np.newaxis] - directions.itd_s[np.newaxis]) / ITD_SCALE_S) ** 2
    return total


def spectral_dips_db(ears: np.ndarray, source: np.ndarray, sample_rate: int) -> np.ndarray:
    """How far each frame's, ear's and band's transfer ``T_E(b)`` dips below its half-octave
    smoothed curve (the power mean of the band and its two 1/6-octave neighbours), dB, shape
    ``(frames, ears, bands - 2)``: notches a moving render digs into the input's spectrum."""
    _, features = render_features(ears, source, sample_rate)
    power = 10 ** (features.ears_db / 10)
    smoothed = (power[..., :-2] + power[..., 1:-1] + power[..., 2:]) / 3
    return 10 * np.log10(smoothed / power[..., 1:-1])


@dataclass(frozen=True)
class Heard:
    """What the model heard per frame: ``times_s``, ``azimuth_deg`` (engine convention), ``elevation_deg``."""

    times_s: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray

    def net_rotation_deg_per_turn(self, period_s: float) -> float:
        """Unwrapped azimuth, last minus first, per ``period_s`` of the frames' time span (+ = clockwise)."""
        unwrapped = np.degrees(np.unwrap(np.radians(self.azimuth_deg)))
        turns = (self.times_s[-1] - self.times_s[0]) / period_s
        return float((unwrapped[-1] - unwrapped[0]) / turns)

    @property
    def behind_fraction(self) -> float:
        """Share of the frames heard behind the ears (|azimuth| > 90 deg)."""
        return float(np.mean(np.abs(self.azimuth_deg) > 90.0))


def heard(
    ears: np.ndarray, source: np.ndarray, sample_rate: int, headphones: str = "diffuse-field", sphere: bool = False
) -> Heard:
    """The nearest KEMAR horizontal direction (``sphere``: of all its directions) of every frame of
    ``ears`` rendered from ``source``."""
    times_s, features = render_features(ears, source, sample_rate)
    kemar = kemar_directions(sample_rate, sphere)
    nearest = np.argmin(distances(features, kemar_features(sample_rate, headphones, sphere)), axis=1)
    return Heard(times_s=times_s, azimuth_deg=kemar.azimuth_deg[nearest], elevation_deg=kemar.elevation_deg[nearest])


# ---------------------------------------------------------------- reference renders (known answers)


def kemar_render(mono: np.ndarray, sample_rate: int, period_s: float, clockwise: bool = True) -> np.ndarray:
    """An ideal render through the set: the measured responses of the two measured directions around
    the orbit's azimuth, crossfaded linearly (5 deg apart), each convolved with the whole input."""
    kemar = kemar_horizontal(sample_rate)
    mono = np.asarray(mono, dtype=np.float64).reshape(-1)
    azimuth = np.degrees(2 * np.pi * np.arange(len(mono)) / (period_s * sample_rate)) * (1 if clockwise else -1)
    order = np.argsort(np.mod(kemar.azimuth_deg, 360.0))
    ring = np.mod(kemar.azimuth_deg[order], 360.0)
    spacing = 360.0 / len(ring)
    position = np.mod(azimuth, 360.0) / spacing
    below = np.floor(position).astype(int) % len(ring)
    fraction = position - np.floor(position)
    output = np.zeros((2, len(mono)))
    for slot, direction in enumerate(order):
        weight = np.where(below == slot, 1 - fraction, 0.0) + np.where((below + 1) % len(ring) == slot, fraction, 0.0)
        if not weight.any():
            continue
        for ear in range(2):
            output[ear] += weight * scipy.signal.fftconvolve(mono, kemar.irs[direction, ear])[: len(mono)]
    return output


def panner_render(mono: np.ndarray, sample_rate: int, period_s: float) -> np.ndarray:
    """A plain constant-power left-right panner following ``sin(azimuth)``: no time or spectral cue."""
    mono = np.asarray(mono, dtype=np.float64).reshape(-1)
    pan = np.sin(2 * np.pi * np.arange(len(mono)) / (period_s * sample_rate))
    angle = (pan + 1) * np.pi / 4
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono])
