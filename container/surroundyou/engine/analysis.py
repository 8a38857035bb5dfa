"""Cue tracking of 8D audio: what a listener's ears receive, tracked over time, and the orbit it traces.

What ``surroundyou analyze`` reports, and what the quality and end-to-end tests measure renderings
with, so one definition of every figure serves them all. The measurements never look inside the
renderer: they read the two ear signals only.

Conventions
-----------
- Audio arrays use pedalboard's layout ``(channels, frames)``, float; channel 0 is the left
  ear, channel 1 the right ear. A 1-D array is one channel.
- ILD (interaural level difference) is ``10*log10(E_left / E_right)``: positive = left louder.
- ITD (interaural time difference) is how much earlier the sound reaches the left ear:
  positive = left ear leads, i.e. the source is on the left.

Tracks are measured in consecutive windows (``window_s``, 50 ms by default) whose centres
are ``times_s``. A window with almost no energy in a measurement band (more than
``SILENCE_BELOW_MEDIAN_DB`` below the median window) gives NaN there, and the fits skip it, so
silence in a song does not pollute its orbit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
import scipy.optimize
import scipy.signal

from .decode import open_audio, read_span
from .peaks import parabolic_peak_offset
from .preview import PREVIEW_S, preview_start_s
from .resampling import resampled
from .timbre_match import COLORATION_BAND_HZ, band_energy, third_octave_levels_db, usable_top_hz

ILD_BAND_HZ = (2000.0, 8000.0)
ITD_BAND_HZ = (200.0, 1500.0)
TILT_LOW_BAND_HZ = (500.0, 2000.0)
TILT_HIGH_BAND_HZ = (5000.0, 12000.0)
ITD_SEARCH_MS = 1.0
# GCC-PHAT needs more than 50 ms of signal for a steady peak at 200 Hz; its frames are this
# long, centred on the same window centres as the level tracks.
ITD_FRAME_S = 0.1
ITD_UPSAMPLING = 4
SILENCE_BELOW_MEDIAN_DB = 40.0
MIN_PERIOD_S = 1.0
ANALYZE_MAX_S = 180.0
ORIGINAL_SLACK_S = 0.5
COHERENCE_OCTAVES_HZ = (250.0, 500.0, 1000.0, 2000.0)
COHERENCE_SEGMENT_S = 0.2
TRUE_PEAK_CHUNK_FRAMES = 1 << 16
TRUE_PEAK_CONTEXT_FRAMES = 1 << 12
CHUNK_WINDOWS = 256
_TINY = 1e-20


# ---------------------------------------------------------------- framing and spectra


def _as_2d(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    return audio[np.newaxis, :] if audio.ndim == 1 else audio


def window_centres(frames: int, sample_rate: int, window_s: float) -> np.ndarray:
    """Sample index of the centre of every whole window of ``window_s`` (consecutive, no overlap)."""
    window = int(round(window_s * sample_rate))
    return np.arange(frames // window) * window + window // 2


def centred_frames(audio: np.ndarray, centres: np.ndarray, frame_len: int) -> np.ndarray:
    """Frames of ``frame_len`` samples centred on ``centres``: shape (channels, len(centres), frame_len).

    The signal is zero-padded by half a frame at both ends so edge frames exist.
    """
    audio = _as_2d(audio)
    half = frame_len // 2
    padded = np.pad(audio, ((0, 0), (half, frame_len - half)))
    starts = centres[:, np.newaxis] + np.arange(frame_len)  # padded index of centre - half + k
    return padded[:, starts]


def frame_spectra_in_chunks(
    audio: np.ndarray, sample_rate: int, window_s: float, frame_s: float | None = None, fft_len: int | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``frame_spectra``, ``CHUNK_WINDOWS`` windows at a time (at least one chunk, maybe empty): a
    measure that sums over the windows holds one chunk's spectra, not a 3-minute song's (1 GB for
    0.5 s frames every 0.125 s)."""
    audio = _as_2d(audio)
    centres = window_centres(audio.shape[-1], sample_rate, window_s)
    frame_len = int(round((frame_s or window_s) * sample_rate))
    window = scipy.signal.windows.hann(frame_len, sym=False)
    fft_len = fft_len or frame_len
    freqs_hz = np.fft.rfftfreq(fft_len, 1.0 / sample_rate)
    for first in range(0, max(centres.size, 1), CHUNK_WINDOWS):
        chunk = centres[first : first + CHUNK_WINDOWS]
        # the chunk's frames and nothing more; past the song's ends, zeros (``centred_frames``)
        start = max(0, int(chunk[0]) - frame_len // 2) if chunk.size else 0
        part = audio[:, start : int(chunk[-1]) - frame_len // 2 + frame_len] if chunk.size else audio[:, :0]
        frames = centred_frames(part, chunk - start, frame_len) * window
        yield chunk / sample_rate, freqs_hz, np.fft.rfft(frames, n=fft_len, axis=-1)


def frame_spectra(
    audio: np.ndarray, sample_rate: int, window_s: float, frame_s: float | None = None, fft_len: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectra of Hann-windowed frames of ``frame_s`` (default ``window_s``) centred on the windows.

    Returns ``(times_s, freqs_hz, spectra)``, spectra complex of shape (channels, windows, bins)
    with ``fft_len`` points (default: the frame length).
    """
    chunks = list(frame_spectra_in_chunks(audio, sample_rate, window_s, frame_s, fft_len))
    times_s, freqs_hz = np.concatenate([chunk[0] for chunk in chunks]), chunks[0][1]
    return times_s, freqs_hz, np.concatenate([chunk[2] for chunk in chunks], axis=1)


def inverse_rfft_at(spectrum: np.ndarray, bins: np.ndarray, lags: np.ndarray, size: int) -> np.ndarray:
    """``np.fft.irfft(full, size)[lags]`` of a half spectrum ``full`` that is zero but at ``bins``
    (neither DC nor Nyquist; ``spectrum`` holds those, last axis): twice the real part of their
    sum, each turned by its lag. A cross-correlation searched within a few lags needs no more (the
    whole upsampled GCC-PHAT correlation of 3 minutes' frames took 2 GB)."""
    return 2 * (spectrum @ np.exp(2j * np.pi * np.outer(bins, lags) / size)).real / size


def frame_power_spectra(
    audio: np.ndarray, sample_rate: int, window_s: float, frame_s: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|X|^2`` of ``frame_spectra`` with frames of ``frame_s`` (default ``window_s``) every
    ``window_s``: (times_s, freqs_hz, power)."""
    times_s, freqs_hz, spectra = frame_spectra(audio, sample_rate, window_s, frame_s)
    return times_s, freqs_hz, np.abs(spectra) ** 2


def _silent(energy: np.ndarray) -> np.ndarray:
    """Windows whose energy is more than SILENCE_BELOW_MEDIAN_DB below the median window."""
    floor = np.median(energy) * 10 ** (-SILENCE_BELOW_MEDIAN_DB / 10) if energy.size else 0.0  # no window at all
    return energy <= max(floor, _TINY)


def _level_ratio_db(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    ratio_db = 10 * np.log10((numerator + _TINY) / (denominator + _TINY))
    return np.where(_silent(numerator + denominator), np.nan, ratio_db)


# ---------------------------------------------------------------- interaural cues


def ild_track_db(
    stereo: np.ndarray, sample_rate: int, window_s: float = 0.05, band_hz: tuple[float, float] = ILD_BAND_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """Interaural level difference per window: ``ILD = 10*log10(E_L / E_R)`` in ``band_hz``.

    E is the band energy of the window's Hann-windowed spectrum. 2-8 kHz is where the head
    shadow dominates (Blauert, *Spatial Hearing*, MIT Press, 1997). Returns (times_s, ild_db).
    """
    times_s, freqs_hz, power = frame_power_spectra(stereo, sample_rate, window_s)
    energy = band_energy(power, freqs_hz, band_hz)
    return times_s, _level_ratio_db(energy[0], energy[1])


def tilt_track_db(stereo: np.ndarray, sample_rate: int, window_s: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Spectral tilt per window: ``10*log10(E(5-12 kHz) / E(0.5-2 kHz))``, energies summed over both ears.

    Front and back differ mostly in the high band (pinna and rear shadow), so a source moving
    around the head makes the tilt swing once per turn: highest in front, lowest behind.
    Returns (times_s, tilt_db).
    """
    times_s, freqs_hz, power = frame_power_spectra(stereo, sample_rate, window_s)
    both_ears = power.sum(axis=0)
    high_band_hz = (TILT_HIGH_BAND_HZ[0], usable_top_hz(TILT_HIGH_BAND_HZ[1], sample_rate))
    return times_s, _level_ratio_db(
        band_energy(both_ears, freqs_hz, high_band_hz), band_energy(both_ears, freqs_hz, TILT_LOW_BAND_HZ)
    )


def itd_track_ms(
    stereo: np.ndarray,
    sample_rate: int,
    window_s: float = 0.05,
    frame_s: float = ITD_FRAME_S,
    band_hz: tuple[float, float] = ITD_BAND_HZ,
    max_itd_ms: float = ITD_SEARCH_MS,
) -> tuple[np.ndarray, np.ndarray]:
    """Interaural time difference per window by GCC-PHAT, positive when the left ear leads.

    Generalised cross-correlation with phase transform (Knapp & Carter, IEEE Trans. ASSP 24(4),
    1976): ``G(f) = R(f) L*(f) / |R(f) L*(f)|`` kept only in ``band_hz`` (200-1500 Hz, where the
    auditory system reads interaural phase), ``r(tau) = IFFT(G)``. ``r`` peaks at the lag by which
    the right ear lags the left, i.e. at ``+ITD``. The peak is searched within +-``max_itd_ms``
    on a correlation interpolated ``ITD_UPSAMPLING`` times (zero-padded spectrum), then refined
    by parabolic interpolation. Frames of ``frame_s`` (Hann) are centred on the windows of
    ``window_s``. Returns (times_s, itd_ms).
    """
    fft_len = 2 * int(round(frame_s * sample_rate))  # twice the frame: no circular wrap-around of lags
    corr_len = fft_len * ITD_UPSAMPLING
    max_lag = int(np.ceil(max_itd_ms * 1e-3 * sample_rate * ITD_UPSAMPLING))
    lags = np.arange(-max_lag, max_lag + 1)
    times_s, itd_ms, band_power = [], [], []
    for chunk_times_s, freqs_hz, spectra in frame_spectra_in_chunks(stereo, sample_rate, window_s, frame_s, fft_len):
        in_band = (freqs_hz >= band_hz[0]) & (freqs_hz <= band_hz[1])
        cross = spectra[1][:, in_band] * np.conj(spectra[0][:, in_band])
        search = inverse_rfft_at(cross / (np.abs(cross) + _TINY), np.flatnonzero(in_band), lags, corr_len)
        peak = np.argmax(search, axis=-1).clip(1, len(lags) - 2)
        rows = np.arange(len(peak))
        offset = parabolic_peak_offset(search[rows, peak - 1], search[rows, peak], search[rows, peak + 1])
        times_s.append(chunk_times_s)
        itd_ms.append((lags[peak] + offset) / (sample_rate * ITD_UPSAMPLING) * 1e3)
        band_power.append((np.abs(spectra[:, :, in_band]) ** 2).sum(axis=(0, -1)))
    silent = _silent(np.concatenate(band_power))
    return np.concatenate(times_s), np.where(silent, np.nan, np.concatenate(itd_ms))


# ---------------------------------------------------------------- orbit fits


@dataclass(frozen=True)
class SinusoidFit:
    """``value(t) ≈ offset_value + amplitude * sin(2*pi*t/period_s + phase_deg)``."""

    period_s: float
    offset_value: float
    amplitude: float
    phase_deg: float
    r2: float

    def evaluate(self, times_s: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * np.asarray(times_s) / self.period_s + np.radians(self.phase_deg)
        return self.offset_value + self.amplitude * np.sin(angle)


def fit_sinusoid(times_s: np.ndarray, values: np.ndarray, period_s: float) -> SinusoidFit:
    """Least-squares fit of ``c + a*sin(w t) + b*cos(w t)``, ``w = 2*pi/period_s`` (NaNs skipped).

    ``amplitude = hypot(a, b)``, ``phase = atan2(b, a)``, ``R^2 = 1 - SS_res / SS_tot``
    (0 for a constant track). Fewer than 3 measured values fit nothing: NaNs and R^2 = 0.
    """
    times_s, values = np.asarray(times_s, dtype=float), np.asarray(values, dtype=float)
    valid = np.isfinite(values)
    if valid.sum() < 3:
        return SinusoidFit(period_s=float(period_s), offset_value=np.nan, amplitude=np.nan, phase_deg=np.nan, r2=0.0)
    angle = 2 * np.pi * times_s[valid] / period_s
    design = np.column_stack([np.ones_like(angle), np.sin(angle), np.cos(angle)])
    (c, a, b), *_ = np.linalg.lstsq(design, values[valid], rcond=None)
    residual = values[valid] - design @ (c, a, b)
    ss_tot = np.sum((values[valid] - values[valid].mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / ss_tot if ss_tot > 0 else 0.0
    return SinusoidFit(
        period_s=float(period_s),
        offset_value=float(c),
        amplitude=float(np.hypot(a, b)),
        phase_deg=float(np.degrees(np.arctan2(b, a))),
        r2=float(r2),
    )


def estimate_period_s(
    times_s: np.ndarray,
    tracks: Sequence[np.ndarray],
    min_period_s: float = MIN_PERIOD_S,
    max_period_s: float | None = None,
) -> float:
    """Orbit period: the period whose sinusoid fits ``tracks`` best (highest mean R^2).

    Candidates are scanned on a 0.5 % logarithmic grid from ``min_period_s`` to
    ``max_period_s`` (default: the track length / 1.5, so at least 1.5 turns are seen), then
    the best one is refined by a bounded scalar search between its grid neighbours.
    """
    span_s = float(times_s[-1] - times_s[0]) if len(times_s) else 0.0
    max_period_s = max_period_s or span_s / 1.5
    if len(times_s) < 3 or max_period_s <= min_period_s:  # before silence: a short file has too few windows
        raise ValueError(
            f"too short to measure an orbit: one of at least {min_period_s:g} s per turn needs "
            f"{1.5 * min_period_s:g} s or more of audio, and these tracks span {span_s:.2g} s"
        )
    if all(np.isfinite(track).sum() < 3 for track in tracks):
        raise ValueError("the audio is silent: there is no orbit to measure")

    def misfit(period_s: float) -> float:
        return -float(np.mean([fit_sinusoid(times_s, track, period_s).r2 for track in tracks]))

    step = 1.005
    grid = min_period_s * step ** np.arange(int(np.log(max_period_s / min_period_s) / np.log(step)) + 1)
    best = grid[int(np.argmin([misfit(p) for p in grid]))]
    refined = scipy.optimize.minimize_scalar(
        misfit, bounds=(best / step, best * step), method="bounded", options={"xatol": best * 1e-5}
    )
    return float(refined.x)


def phase_difference_deg(phase_a_deg: float, phase_b_deg: float) -> float:
    """Angle between two phases folded to 0..180 degrees (direction-independent)."""
    difference = (phase_a_deg - phase_b_deg) % 360.0
    return float(min(difference, 360.0 - difference))


@dataclass(frozen=True)
class OrbitMeasurement:
    """Interaural cue tracks of a rendering and the orbit they trace (see module conventions)."""

    times_s: np.ndarray
    ild_db: np.ndarray
    itd_ms: np.ndarray
    tilt_db: np.ndarray
    period_s: float
    ild_fit: SinusoidFit
    itd_fit: SinusoidFit
    tilt_fit: SinusoidFit

    @property
    def ild_amplitude_db(self) -> float:
        return self.ild_fit.amplitude

    @property
    def itd_amplitude_ms(self) -> float:
        return self.itd_fit.amplitude

    @property
    def tilt_amplitude_db(self) -> float:
        return self.tilt_fit.amplitude

    @property
    def ild_r2(self) -> float:
        return self.ild_fit.r2

    @property
    def itd_r2(self) -> float:
        return self.itd_fit.r2

    @property
    def tilt_r2(self) -> float:
        return self.tilt_fit.r2

    @property
    def tilt_phase_deg_from_ild(self) -> float:
        """Phase between the tilt and ILD sinusoids, 0..180°: ~90° when front and back differ."""
        return phase_difference_deg(self.tilt_fit.phase_deg, self.ild_fit.phase_deg)

    def summary(self) -> dict[str, float]:
        """The orbit's figures as plain floats (for printing and JSON)."""
        return {
            "period_s": self.period_s,
            "ild_amplitude_db": self.ild_amplitude_db,
            "ild_r2": self.ild_r2,
            "itd_amplitude_ms": self.itd_amplitude_ms,
            "itd_r2": self.itd_r2,
            "tilt_amplitude_db": self.tilt_amplitude_db,
            "tilt_r2": self.tilt_r2,
            "tilt_phase_deg_from_ild": self.tilt_phase_deg_from_ild,
        }


def measure_orbit(
    stereo: np.ndarray, sample_rate: int, window_s: float = 0.05, period_hint_s: float | None = None
) -> OrbitMeasurement:
    """ILD, ITD and tilt tracks of a stereo rendering, its orbit period and sinusoid fits.

    The period maximises the mean R^2 of the ILD and ITD fits (``estimate_period_s``); with
    ``period_hint_s`` only periods within a factor 1.25 of the hint are considered.
    """
    times_s, ild_db = ild_track_db(stereo, sample_rate, window_s)
    _, itd_ms = itd_track_ms(stereo, sample_rate, window_s)
    _, tilt_db = tilt_track_db(stereo, sample_rate, window_s)
    bounds = (
        {} if period_hint_s is None else {"min_period_s": period_hint_s / 1.25, "max_period_s": period_hint_s * 1.25}
    )
    period_s = estimate_period_s(times_s, [ild_db, itd_ms], **bounds)
    return OrbitMeasurement(
        times_s=times_s,
        ild_db=ild_db,
        itd_ms=itd_ms,
        tilt_db=tilt_db,
        period_s=period_s,
        ild_fit=fit_sinusoid(times_s, ild_db, period_s),
        itd_fit=fit_sinusoid(times_s, itd_ms, period_s),
        tilt_fit=fit_sinusoid(times_s, tilt_db, period_s),
    )


# ---------------------------------------------------------------- loudness and level


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Gated integrated loudness, ITU-R BS.1770-4, measured by ``pyloudnorm.Meter``."""
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(_as_2d(audio).T))


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak: ``20*log10(max |x|)`` of the signal oversampled 8x (ITU-R BS.1770-4, Annex 2).

    The interpolator is the band-limited one itself, to the Nyquist frequency (a clipped
    master's content up there is read, not smoothed away as by a short FIR): each chunk's
    spectrum, zero-padded 8x (Nyquist bin split), back to time. Chunks are read with
    ``TRUE_PEAK_CONTEXT_FRAMES`` on both sides and measured without them, so the FFT's wrap-around
    stays out of the measure (its ringing there is under 0.002 dB). Before the first sample and
    after the last the context is silence, as a player's converter hears it (without it a file
    that starts loud reads the wrap-around of its chunk's far end). 8x leaves at most 0.17 dB
    between points for any tone; the sample rate does not enter.
    """
    audio = _as_2d(audio)
    frames = audio.shape[-1]
    silence = np.zeros((audio.shape[0], TRUE_PEAK_CONTEXT_FRAMES), dtype=audio.dtype)
    peak = 0.0
    for start in range(0, frames, TRUE_PEAK_CHUNK_FRAMES):
        first = max(0, start - TRUE_PEAK_CONTEXT_FRAMES)
        end = start + TRUE_PEAK_CHUNK_FRAMES + TRUE_PEAK_CONTEXT_FRAMES
        chunk = np.concatenate([silence, audio[:, first:end], silence], axis=-1)
        offset = TRUE_PEAK_CONTEXT_FRAMES + start - first
        size = chunk.shape[-1] + chunk.shape[-1] % 2
        spectrum = np.fft.rfft(chunk, n=size, axis=-1)
        spectrum[:, -1] *= 0.5
        oversampled = np.fft.irfft(spectrum, n=8 * size, axis=-1) * 8
        own = oversampled[:, 8 * offset : 8 * (offset + min(TRUE_PEAK_CHUNK_FRAMES, frames - start))]
        peak = max(peak, float(np.max(np.abs(own))))
    return float(20 * np.log10(peak + _TINY))


# ---------------------------------------------------------------- timbre and the ears' coherence


def long_term_third_octaves_db(
    audio: np.ndarray, sample_rate: int, band_hz: tuple[float, float] = COLORATION_BAND_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres_hz, level_db)``: the long-term spectrum in 1/3-octave bands (IEC 61260 base-10
    centres ``1000 * 10^(k/10)``, edges ``fc * 10^(+-1/20)``; at low rates only the bands under
    ``usable_top_hz``), all channels' power summed, averaged over 0.5 s Hann windows every 0.125 s.
    Overlapping by three quarters, the windows' squares sum to a constant, so every instant's power
    weighs alike; end to end, a song at 120 bpm put its beats at the same place in every window,
    and a kick on the windows' edges went unheard (a music-like mix's 100 Hz third read 4.4 dB
    under the whole song's periodogram)."""
    freqs_hz = np.fft.rfftfreq(int(round(0.5 * sample_rate)), 1.0 / sample_rate)
    power, windows = np.zeros(freqs_hz.size), 0
    for _, _, spectra in frame_spectra_in_chunks(audio, sample_rate, 0.125, frame_s=0.5):
        power += (spectra.real**2 + spectra.imag**2).sum(axis=(0, 1))
        windows += spectra.shape[1]
    return third_octave_levels_db(power / max(windows, 1), freqs_hz, sample_rate, band_hz)


def coloration_db(audio: np.ndarray, sample_rate: int, original: np.ndarray | None = None) -> float:
    """How far the long-term 1/3-octave spectrum (100 Hz - 12.5 kHz, ``long_term_third_octaves_db``)
    departs from a reference, largest band, dB, after level normalisation (both spectra's mean over
    the bands removed).

    With the ``original`` (the song before conversion): from its spectrum, the issue's timbre
    measure (a converter's colouring). A file alone has no reference: then from the straight line
    (dB against log frequency) fitted to its own spectrum, i.e. how lumpy its timbre is beyond its
    overall tilt (``spectral_tilt_db_per_octave``); a song's own timbre counts there too.
    """
    centres_hz, level_db = long_term_third_octaves_db(audio, sample_rate)
    if original is not None:
        reference_db = long_term_third_octaves_db(original, sample_rate)[1]
    else:
        octaves = np.log2(centres_hz / 1000.0)
        reference_db = np.polyval(np.polyfit(octaves, level_db, 1), octaves)
    difference = (level_db - level_db.mean()) - (reference_db - reference_db.mean())
    return float(np.max(np.abs(difference)))


def spectral_tilt_db_per_octave(audio: np.ndarray, sample_rate: int) -> float:
    """Slope of the straight line fitted to the long-term 1/3-octave spectrum (100 Hz - 12.5 kHz),
    dB per octave (pink noise ~0, white noise ~+3, a dark master below 0)."""
    centres_hz, level_db = long_term_third_octaves_db(audio, sample_rate)
    return float(np.polyfit(np.log2(centres_hz / 1000.0), level_db, 1)[0])


def interaural_coherence(
    stereo: np.ndarray, sample_rate: int, octaves_hz: Sequence[float] = COHERENCE_OCTAVES_HZ
) -> dict[float, float]:
    """Real interaural coherence per octave band, ``sum Re S_LR / sqrt(sum S_LL sum S_RR)`` over the
    band's Welch bins (``COHERENCE_SEGMENT_S`` Hann segments): 1 for one source straight ahead, ~0.2 at
    2 kHz for a diffuse field's sinc (Cook et al., J. Acoust. Soc. Am. 27(6), 1955), negative when
    the ears are out of phase."""
    left, right = _as_2d(stereo)[:2] if _as_2d(stereo).shape[0] > 1 else (_as_2d(stereo)[0],) * 2
    segment = min(len(left), int(round(COHERENCE_SEGMENT_S * sample_rate)))
    freqs_hz, cross = scipy.signal.csd(left, right, sample_rate, nperseg=segment)
    _, left_power = scipy.signal.welch(left, sample_rate, nperseg=segment)
    _, right_power = scipy.signal.welch(right, sample_rate, nperseg=segment)
    coherence = {}
    for centre_hz in octaves_hz:
        band = (freqs_hz >= centre_hz / np.sqrt(2)) & (freqs_hz < centre_hz * np.sqrt(2))
        norm = np.sqrt(left_power[band].sum() * right_power[band].sum()) + _TINY
        coherence[float(centre_hz)] = float(cross[band].real.sum() / norm)
    return coherence


# ---------------------------------------------------------------- files


@dataclass(frozen=True)
class AnalysedFile:
    """What ``analyze_file`` read: the first ``ANALYZE_MAX_S`` seconds (its own channels) at its
    ``sample_rate``, and the original's matching stretch (``None`` without one) at ``compared_rate``:
    the lower of the two rates, which both hold (the converter raises a rate a format cannot carry
    or its limiter would cut the treble of, ``encode.output_sample_rate``)."""

    audio: np.ndarray
    original: np.ndarray | None
    sample_rate: int
    compared_rate: int

    @property
    def stereo(self) -> np.ndarray:
        """The two ears (a mono file: two identical ones)."""
        return np.repeat(self.audio, 2, axis=0) if self.audio.shape[0] == 1 else self.audio

    @functools.cached_property
    def compared_stereo(self) -> np.ndarray:
        """The two ears at ``compared_rate``, frame for frame with the original."""
        ears = resampled(self.stereo, self.sample_rate, self.compared_rate).astype(np.float32, copy=False)
        return ears if self.original is None else ears[:, : self.original.shape[-1]]


def read_analysed(path: str | Path, original_path: str | Path | None = None) -> tuple[AnalysedFile, float]:
    """``(the audio, the file's duration in s)``; the original, when named, cut to the same span (a
    converted file lines up with its song sample for sample; a ``PREVIEW_S`` file shorter than its
    song, with the song's loudest window, where ``convert --preview`` cut it from). ``ValueError`` if
    their durations differ by more than ``ORIGINAL_SLACK_S`` (a lossy file's padding) otherwise."""
    audio, sample_rate, duration_s = read_span(path, ANALYZE_MAX_S)
    if original_path is None:
        return AnalysedFile(audio, None, sample_rate, sample_rate), duration_s
    with open_audio(original_path) as source:  # its length, to know where to read it from
        original_rate, original_s = source.info.sample_rate, source.info.frames / source.info.sample_rate
    start_s = 0.0
    if abs(original_s - duration_s) > ORIGINAL_SLACK_S:
        if abs(duration_s - PREVIEW_S) > ORIGINAL_SLACK_S or original_s < duration_s:
            raise ValueError(
                f"{Path(original_path).name} is {original_s:.1f} s at {original_rate} Hz and {Path(path).name} "
                f"{duration_s:.1f} s at {sample_rate} Hz: the original must be the song the file (or its "
                f"{PREVIEW_S:g} s preview) was converted from"
            )
        start_s = preview_start_s(original_path)
    original, _, _ = read_span(original_path, ANALYZE_MAX_S, start_s)
    compared_rate = min(sample_rate, original_rate)
    original = resampled(original, original_rate, compared_rate).astype(np.float32, copy=False)
    frames = min(round(audio.shape[-1] * compared_rate / sample_rate), original.shape[-1])
    audio = audio[:, : round(frames * sample_rate / compared_rate)]  # at compared_rate: at least frames long
    return AnalysedFile(audio, original[:, :frames], sample_rate, compared_rate), duration_s


def analyze_file(
    path: str | Path, original_path: str | Path | None = None
) -> tuple[dict[str, float], OrbitMeasurement]:
    """Orbit, loudness, true peak, timbre and the ears' coherence of an audio file (the first
    ``ANALYZE_MAX_S`` seconds): ``(figures, the orbit's tracks)``.

    Any format the converter reads (``decode.open_audio``, which raises ``AudioInputError``
    for a file that is not audio). A mono file is measured as two identical ears. With
    ``original_path`` (the song it was converted from), the coloration is measured against it.
    """
    analysed, duration_s = read_analysed(path, original_path)
    return analysed_figures(analysed, duration_s, Path(path).name)


def analysed_figures(analysed: AnalysedFile, duration_s: float, name: str) -> tuple[dict[str, float], OrbitMeasurement]:
    """``analyze_file``'s figures and orbit of what ``read_analysed`` read from the file ``name``."""
    stereo, sample_rate = analysed.stereo, analysed.sample_rate
    try:
        orbit = measure_orbit(stereo, sample_rate)
    except ValueError as error:
        raise ValueError(f"{name} ({duration_s:.2g} s long): {error}") from error
    coherence = interaural_coherence(stereo, sample_rate)
    figures = {
        "duration_s": duration_s,
        "analysed_s": stereo.shape[-1] / sample_rate,
        "sample_rate": sample_rate,
        "channels": int(analysed.audio.shape[0]),
        **orbit.summary(),
        "integrated_lufs": integrated_lufs(analysed.audio, sample_rate),
        "true_peak_dbtp": true_peak_dbtp(analysed.audio),
        "coloration_db": coloration_db(analysed.compared_stereo, analysed.compared_rate, analysed.original),
        "spectral_tilt_db_per_octave": spectral_tilt_db_per_octave(stereo, sample_rate),
        **{f"coherence_{int(centre_hz)}_hz": value for centre_hz, value in coherence.items()},
    }
    return figures, orbit
