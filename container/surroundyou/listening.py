"""A listener model: where a KEMAR-eared listener hears a binaural recording, frame by frame.

It reads ear signals (and, when there is one, the input they were rendered from) and compares
them with a measured head: the MIT KEMAR set (Gardner & Martin, "HRTF measurements of a KEMAR
dummy-head microphone", MIT Media Lab Perceptual Computing TR #280, 1994). ``surroundyou
analyze`` uses the copy the engine ships (``bundled_head``: the `slab` wheel's); the tests use
the same measurement from Debian's libmysofa1 SOFA file (tests/listener_model.py). Nothing here
imports the renderer: it measures renders, it does not make them.

Features, per 100 ms Hann frame (hop 50 ms), for the recording and for every direction of the
head (its horizontal plane, or all of it for the heard elevation):

- each ear's transfer magnitude ``T_E(b) = 10 log10(P_out,E(b) / P_in(b))`` in 1/6-octave bands
  ``b`` (centres ``300 * 2^(k/6)`` Hz up to 14 kHz, or under the Nyquist frequency at rates
  below 32 kHz; edges ``fc * 2^(+-1/12)``), ``P_in`` the input's band power (mean over its
  channels); for the head, ``|H_E|^2`` averaged over the band.
  Without the input (a file alone), ``P_in`` is the recording's own long-term band power (both
  ears, all frames): for an orbit that goes all the way round, that is the input's spectrum
  through the head's diffuse field, which the headphones below take out;
- the interaural level spectrum ``ILD(b) = T_L(b) - T_R(b)``;
- the interaural time difference, GCC-PHAT (Knapp & Carter, IEEE Trans. ASSP 24(4), 1976)
  over 200-1500 Hz, the peak refined by a parabola: positive = the left ear leads.

Distance of a frame to a direction (squared differences on the scales a listener cares about):

    d = sum_b ((ILD_f - ILD_d) / 3 dB)^2 + sum_E sum_b ((T~_E,f - T~_E,d) / 3 dB)^2 + ((ITD_f - ITD_d) / 0.1 ms)^2

with ``T~`` the ear's spectrum with its mean over the bands removed (the level is not a cue).
The nearest direction is what the model hears. Unwrapped over the recording, its azimuth gives
the net rotation per turn: a full circle scores ~360 deg, a swing through the front (a plain
left-right panner) ~0, because the way back cancels the way out.

The head is heard through headphones equalised to its diffuse field of the horizontal plane (its
power response averaged over those directions and both ears, per band; Moller, "Fundamentals of
binaural technology", Applied Acoustics 36, 1992), the playback a binaural render assumes.

Azimuths are in the engine's convention (0 = front, positive = right, clockwise seen from above).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.signal

from surroundyou.engine.analysis import inverse_rfft_at
from surroundyou.engine.resampling import resampled
from surroundyou.engine.timbre_match import usable_top_hz

FRAME_S = 0.1
HOP_S = 0.05
LOW_BAND_HZ = 300.0
HIGH_BAND_HZ = 14000.0
ITD_BAND_HZ = (200.0, 1500.0)
ITD_SEARCH_S = 1e-3
ITD_UPSAMPLING = 8
LEVEL_SCALE_DB = 3.0
ITD_SCALE_S = 1e-4
HEAD_FFT_SIZE = 8192
_TINY = 1e-20


@dataclass(frozen=True)
class Head:
    """Measured directions: ``azimuth_deg`` (engine convention, -180..180), ``elevation_deg``,
    impulse responses ``irs`` ``(n, 2 ears, taps)`` at ``sample_rate``."""

    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    irs: np.ndarray
    sample_rate: int

    def horizontal(self) -> Head:
        """Its elevation-0 directions."""
        chosen = np.isclose(self.elevation_deg, 0.0)
        return Head(self.azimuth_deg[chosen], self.elevation_deg[chosen], self.irs[chosen], self.sample_rate)


def head_from_set(
    azimuth_ccw_deg: np.ndarray, elevation_deg: np.ndarray, irs: np.ndarray, rate: int, sample_rate: int, sphere: bool
) -> Head:
    """A ``Head`` from a set counted counter-clockwise (as SOFA files and the KEMAR data count), with
    ``irs`` ``(n, 2, taps)``: its horizontal plane (``sphere``: every direction), sorted by elevation
    then azimuth, resampled to ``sample_rate``."""
    chosen = np.arange(len(azimuth_ccw_deg)) if sphere else np.flatnonzero(np.isclose(elevation_deg, 0.0))
    azimuth = np.mod(-np.asarray(azimuth_ccw_deg)[chosen] + 180.0, 360.0) - 180.0
    elevation = np.asarray(elevation_deg, dtype=np.float64)[chosen]
    order = np.lexsort((azimuth, elevation))
    responses = np.asarray(irs, dtype=np.float64)[chosen[order]]
    return Head(azimuth[order], elevation[order], resampled(responses, rate, sample_rate), sample_rate)


@functools.cache
def bundled_head(sample_rate: int = 44100, sphere: bool = False) -> Head:
    """The MIT KEMAR set the engine ships (``engine.hrtf.load_kemar``), as a ``Head``."""
    from surroundyou.engine.hrtf import load_kemar  # the data file reader only (no rendering)

    kemar = load_kemar()
    irs = np.moveaxis(kemar.impulse_responses, 2, 1)  # (n, taps, ears) -> (n, ears, taps)
    return head_from_set(kemar.azimuth_deg, kemar.elevation_deg, irs, kemar.sample_rate, sample_rate, sphere)


def band_edges_hz(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres and ``(low, high)`` edges of the 1/6-octave bands from 300 Hz to 14 kHz, or to the
    last band under ``usable_top_hz`` (below 32 kHz; 22.05 kHz: 9.5 kHz)."""
    top_hz = usable_top_hz(HIGH_BAND_HZ * 2 ** (1 / 12), sample_rate) * 2 ** (-1 / 12)
    count = int(np.floor(6 * np.log2(top_hz / LOW_BAND_HZ))) + 1
    centres = LOW_BAND_HZ * 2 ** (np.arange(count) / 6)
    return centres, np.stack([centres * 2 ** (-1 / 12), centres * 2 ** (1 / 12)], axis=-1)


def band_powers(power: np.ndarray, freqs_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean of ``power`` (last axis on ``freqs_hz``) over each 1/6-octave band -> (..., bands)."""
    _, edges = band_edges_hz(sample_rate)
    cumulative = np.concatenate([np.zeros(power.shape[:-1] + (1,)), np.cumsum(power, axis=-1)], axis=-1)
    low = np.searchsorted(freqs_hz, edges[:, 0])
    high = np.maximum(np.searchsorted(freqs_hz, edges[:, 1]), low + 1)
    return (cumulative[..., high] - cumulative[..., low]) / (high - low)


def gcc_phat_itd_s(left: np.ndarray, right: np.ndarray, sample_rate: int, fft_len: int) -> np.ndarray:
    """GCC-PHAT interaural time difference (s) over ITD_BAND_HZ: positive when the left ear leads (last axis: time)."""
    freqs_hz = np.fft.rfftfreq(fft_len, 1.0 / sample_rate)
    band = (freqs_hz >= ITD_BAND_HZ[0]) & (freqs_hz <= ITD_BAND_HZ[1])
    # peaks at the lag of the right ear behind the left one
    cross = np.fft.rfft(right, fft_len, axis=-1)[..., band] * np.conj(np.fft.rfft(left, fft_len, axis=-1)[..., band])
    search = int(np.ceil(ITD_SEARCH_S * sample_rate * ITD_UPSAMPLING))
    lags = np.arange(-search, search + 1)
    window = inverse_rfft_at(cross / (np.abs(cross) + _TINY), np.flatnonzero(band), lags, fft_len * ITD_UPSAMPLING)
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


def head_features(head: Head, diffuse_field: Head | None = None, headphones: str = "diffuse-field") -> Features:
    """The features of every direction of ``head``, as heard through ``headphones``.

    ``"diffuse-field"``: the listener wears headphones equalised to the diffuse field of
    ``diffuse_field`` (default: ``head`` itself; pass its horizontal plane when ``head`` is the
    whole sphere): the recording's ear spectra are compared with the head's divided by that
    average, so a recording whose long-term timbre is flat is heard with the head's own.
    ``"none"``: the recording is the eardrum signal (compared with the head as measured).
    """
    freqs_hz = np.fft.rfftfreq(HEAD_FFT_SIZE, 1 / head.sample_rate)
    power = band_powers(np.abs(np.fft.rfft(head.irs, HEAD_FFT_SIZE, axis=-1)) ** 2, freqs_hz, head.sample_rate)
    if headphones == "diffuse-field":
        reference = head if diffuse_field is None else diffuse_field
        spectra = np.abs(np.fft.rfft(reference.irs, HEAD_FFT_SIZE, axis=-1)) ** 2
        power = power / band_powers(spectra, freqs_hz, head.sample_rate).mean(axis=(0, 1))
    elif headphones != "none":
        raise ValueError(f"headphones must be 'diffuse-field' or 'none', got {headphones!r}")
    itd = gcc_phat_itd_s(head.irs[:, 0], head.irs[:, 1], head.sample_rate, HEAD_FFT_SIZE)
    return Features(ears_db=10 * np.log10(power + _TINY), itd_s=itd)


@functools.cache
def bundled_features(sample_rate: int = 44100, sphere: bool = False) -> Features:
    """``head_features`` of the bundled KEMAR (its horizontal plane, or ``sphere``), diffuse-field headphones."""
    return head_features(bundled_head(sample_rate, sphere), bundled_head(sample_rate))


def frames_of(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Hann-windowed frames ``(channels, frames, length)`` of FRAME_S every HOP_S (whole frames only)."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    length, hop = int(round(FRAME_S * sample_rate)), int(round(HOP_S * sample_rate))
    windows = np.lib.stride_tricks.sliding_window_view(audio, length, axis=-1)[:, ::hop]
    return windows * scipy.signal.windows.hann(length, sym=False)


def render_features(ears: np.ndarray, source: np.ndarray | None, sample_rate: int) -> tuple[np.ndarray, Features]:
    """Frame centre times (s) and features of ear signals ``(2, n)`` rendered from ``source``
    ``(channels, n)``, or (``None``) measured against their own long-term spectrum (module doc)."""
    ear_frames = frames_of(ears, sample_rate)
    length = ear_frames.shape[-1]
    freqs_hz = np.fft.rfftfreq(length, 1.0 / sample_rate)
    ear_power = band_powers(np.abs(np.fft.rfft(ear_frames, axis=-1)) ** 2, freqs_hz, sample_rate)
    if source is None:
        source_power = ear_power.mean(axis=(0, 1))
    else:
        spectra = np.abs(np.fft.rfft(frames_of(source, sample_rate), axis=-1)) ** 2
        source_power = band_powers(spectra, freqs_hz, sample_rate).mean(axis=0)
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


def spectral_dips_db(ears: np.ndarray, source: np.ndarray | None, sample_rate: int) -> np.ndarray:
    """How far each frame's, ear's and band's transfer ``T_E(b)`` dips below its half-octave
    smoothed curve (the power mean of the band and its two 1/6-octave neighbours), dB, shape
    ``(frames, ears, bands - 2)``: notches a moving render digs into the input's spectrum
    (without the input, into the recording's own long-term spectrum)."""
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


def heard(ears: np.ndarray, source: np.ndarray | None, sample_rate: int, head: Head, features: Features) -> Heard:
    """The nearest direction of ``head`` (its ``features``) for every frame of ``ears`` rendered from
    ``source`` (or measured against their own long-term spectrum, ``None``)."""
    times_s, frame_features = render_features(ears, source, sample_rate)
    nearest = np.argmin(distances(frame_features, features), axis=1)
    return Heard(times_s=times_s, azimuth_deg=head.azimuth_deg[nearest], elevation_deg=head.elevation_deg[nearest])


def heard_by_kemar(ears: np.ndarray, source: np.ndarray | None, sample_rate: int, sphere: bool = False) -> Heard:
    """``heard`` against the bundled KEMAR (its horizontal plane, or ``sphere``)."""
    return heard(ears, source, sample_rate, bundled_head(sample_rate, sphere), bundled_features(sample_rate, sphere))


def listening_figures(ears: np.ndarray, source: np.ndarray | None, sample_rate: int) -> dict[str, float]:
    """What ``surroundyou analyze`` reports of the model: the share of frames heard behind the ears
    (bundled KEMAR, horizontal plane, %), and per ear the comb depth, the 95th percentile over frames
    and bands of ``spectral_dips_db`` (the issue's comb-notch measure; with the ``source``, of the
    render's transfer, without it of the recording's own spectrum, which a song's tones dig into too)."""
    dips_db = spectral_dips_db(ears, source, sample_rate)
    return {
        "heard_behind_pct": 100.0 * heard_by_kemar(ears, source, sample_rate).behind_fraction,
        "comb_depth_left_db": float(np.percentile(dips_db[:, 0], 95)),
        "comb_depth_right_db": float(np.percentile(dips_db[:, 1], 95)),
    }
