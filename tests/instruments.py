"""Test instruments: what the quality tests measure beyond the cues ``surroundyou analyze`` reports.

Loudness ripple, clicks, energy dips, bass correlation, comb filtering: each measures the two
ear signals only, never the renderer's insides, and is itself checked on signals whose answer is
known by construction (tests/unit/test_analysis.py). Conventions are ``surroundyou.engine.analysis``'s:
``(channels, frames)`` float arrays, channel 0 the left ear; a 1-D array is one channel.

    from instruments import loudness_ripple_db, out_of_band_db
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from surroundyou.engine.analysis import frame_power_spectra
from surroundyou.engine.loudness import k_weighting_sos
from surroundyou.engine.timbre_match import band_energy

_TINY = 1e-20


def _as_2d(audio: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(audio, dtype=np.float64))


def k_weighted(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """ITU-R BS.1770-4 K-weighting: the high-shelf (+4 dB above ~1.5 kHz) then the 38 Hz high-pass.

    Same biquads as ``pyloudnorm.Meter`` (``loudness.k_weighting_sos``, designed at any sample rate).
    """
    return scipy.signal.sosfilt(k_weighting_sos(sample_rate), _as_2d(audio), axis=-1)


def windowed_loudness_lufs(
    audio: np.ndarray, sample_rate: int, window_s: float = 0.4, hop_s: float = 0.1
) -> np.ndarray:
    """Ungated loudness of each ``window_s`` window (hop ``hop_s``), BS.1770-4 eq. 2:
    ``L = -0.691 + 10*log10(sum_ch mean(z_ch^2))`` with ``z`` the K-weighted signal.
    """
    weighted = k_weighted(audio, sample_rate)
    window, hop = int(round(window_s * sample_rate)), int(round(hop_s * sample_rate))
    squares = np.lib.stride_tricks.sliding_window_view(weighted**2, window, axis=-1)[:, ::hop]
    return -0.691 + 10 * np.log10(squares.mean(axis=-1).sum(axis=0) + _TINY)


def loudness_ripple_db(
    stereo: np.ndarray, sample_rate: int, window_s: float = 0.4, reference: np.ndarray | None = None
) -> float:
    """Loudness ripple: spread ``p97.5 - p2.5`` of the K-weighted loudness of ``window_s`` windows.

    With ``reference`` (the input the rendering was made from, same length) the spread is of
    the loudness *gain* per window, ``L_out - L_in``, so the random level fluctuation of the test
    noise itself (about +-0.4 dB for pink noise in 400 ms) is not counted as ripple.
    """
    loudness = windowed_loudness_lufs(stereo, sample_rate, window_s)
    if reference is not None:
        loudness = loudness - windowed_loudness_lufs(reference, sample_rate, window_s)
    low, high = np.percentile(loudness, [2.5, 97.5])
    return float(high - low)


def out_of_band_db(
    signal: np.ndarray, sample_rate: int, f0_hz: float, half_width_hz: float, skip_s: float = 0.25
) -> float:
    """Energy outside ``f0_hz +- half_width_hz`` relative to the total, in dB (clicks, distortion).

    The spectrum of the signal after ``skip_s`` (the onset of a sine is itself a click) is
    taken with a 4-term Blackman-Harris window (side lobes -92 dB; Harris, Proc. IEEE 66(1),
    1978), so leakage of a clean sine stays far below the -80 dB being measured.
    """
    samples = np.asarray(signal, dtype=np.float64)[int(round(skip_s * sample_rate)) :]
    spectrum = np.abs(np.fft.rfft(samples * scipy.signal.windows.blackmanharris(len(samples)))) ** 2
    freqs_hz = np.fft.rfftfreq(len(samples), 1.0 / sample_rate)
    outside = np.abs(freqs_hz - f0_hz) > half_width_hz
    return float(10 * np.log10((spectrum[outside].sum() + _TINY) / (spectrum.sum() + _TINY)))


def windowed_energy_db(audio: np.ndarray, sample_rate: int, window_s: float) -> np.ndarray:
    """Energy of consecutive ``window_s`` windows summed over channels, ``10*log10(sum x^2)``."""
    audio = _as_2d(audio)
    window = int(round(window_s * sample_rate))
    count = audio.shape[-1] // window
    squares = audio[:, : count * window].reshape(audio.shape[0], count, window) ** 2
    return 10 * np.log10(squares.sum(axis=(0, 2)) + _TINY)


def energy_dips_db(
    stereo: np.ndarray, sample_rate: int, window_s: float = 0.05, reference: np.ndarray | None = None
) -> float:
    """How far the total energy of the ``window_s`` windows dips below its median, in dB (>= 0).

    With ``reference`` (the input) the energy gain ``E_out / E_in`` per window is used instead,
    so the random level of short windows of the test noise is not counted as a dip.
    """
    energy_db = windowed_energy_db(stereo, sample_rate, window_s)
    if reference is not None:
        energy_db = energy_db - windowed_energy_db(reference, sample_rate, window_s)
    return float(np.median(energy_db) - np.min(energy_db))


def band_correlation(stereo: np.ndarray, sample_rate: int, high_hz: float) -> float:
    """Zero-lag correlation ``sum(l*r) / sqrt(sum(l^2) * sum(r^2))`` of the content below ``high_hz``.

    Both channels pass the same zero-phase 8th-order Butterworth low-pass (``sosfiltfilt``),
    which leaves their relation untouched. 1 = the same signal (mono bass), 0 = unrelated.
    """
    low_pass = scipy.signal.butter(8, high_hz, btype="lowpass", fs=sample_rate, output="sos")
    left, right = scipy.signal.sosfiltfilt(low_pass, _as_2d(stereo), axis=-1)
    return float(np.sum(left * right) / np.sqrt(np.sum(left**2) * np.sum(right**2) + _TINY))


def third_octave_levels_db(
    audio: np.ndarray, sample_rate: int, window_s: float = 0.1, low_hz: float = 200.0, high_hz: float = 8000.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per channel and window, the energy in 1/3-octave bands (IEC 61260 base-10 centres
    ``1000 * 10^(k/10)``, edges ``fc * 10^(+-1/20)``) from ``low_hz`` to ``high_hz``. The Hann
    windows of ``window_s`` overlap by three quarters, so their squares sum to a constant and their
    mean weighs every instant's power alike (end to end, a beat as long as the window was read at
    the same place in each).

    Returns ``(centres_hz, levels_db)`` with levels of shape (channels, windows, bands).
    """
    _, freqs_hz, power = frame_power_spectra(audio, sample_rate, window_s / 4, frame_s=window_s)
    k = np.arange(round(10 * np.log10(low_hz / 1000)), round(10 * np.log10(high_hz / 1000)) + 1)
    centres_hz = 1000.0 * 10 ** (k / 10)
    levels = np.stack([band_energy(power, freqs_hz, (fc * 10**-0.05, fc * 10**0.05)) for fc in centres_hz], axis=-1)
    return centres_hz, 10 * np.log10(levels + _TINY)


def comb_filter_depth_db(
    stereo: np.ndarray,
    reference: np.ndarray,
    sample_rate: int,
    window_s: float = 0.1,
    low_hz: float = 200.0,
    high_hz: float = 8000.0,
) -> float:
    """Depth of comb-filter ripples in ``stereo`` that ``reference`` does not have, in dB.

    Per ear and window, the 1/3-octave level difference ``D(b) = L_stereo(b) - L_reference(b)``
    is fitted with a quadratic in log-frequency (any smooth change: a source placed or
    shadowed differently, a level offset) and the largest ``|D - fit|`` is returned. Two
    coherent copies of a sound arriving with different delays sum to ``|1 + g e^(-jwT)|``, a
    ripple of notches every ``1/T`` Hz, which a smooth trend cannot follow. ``reference`` is
    the same input rendered so that it cannot interfere with itself (e.g. as one mono source).
    """
    centres_hz, levels_db = third_octave_levels_db(stereo, sample_rate, window_s, low_hz, high_hz)
    _, reference_db = third_octave_levels_db(reference, sample_rate, window_s, low_hz, high_hz)
    difference_db = (levels_db - reference_db).reshape(-1, len(centres_hz)).T  # (bands, ears*windows)
    octaves = np.log2(centres_hz / np.sqrt(centres_hz[0] * centres_hz[-1]))
    trend = np.vander(octaves, 3)
    coefficients, *_ = np.linalg.lstsq(trend, difference_db, rcond=None)
    return float(np.max(np.abs(difference_db - trend @ coefficients)))


def true_peak_8x_dbtp(audio: np.ndarray, oversampling: int = 8, taps_per_phase: int = 256) -> float:
    """True peak in dBTP: ``20*log10(max |x|)`` of the signal oversampled ``oversampling`` times.

    The method of ITU-R BS.1770-4, Annex 2 (oversample, take the largest absolute value), with a
    much longer interpolator than the Annex's 4x, 48-tap example: a Kaiser-windowed sinc (beta 12)
    of ``oversampling * taps_per_phase + 1`` taps, by ``scipy.signal.resample_poly``; flat within
    0.01 dB to 0.476 fs (21 kHz at 44.1 kHz), so content near the Nyquist frequency (a clipped
    master's) is read, not smoothed away; 8x leaves at most 0.17 dB between points for any tone.
    Independent of the limiter's detector (``surroundyou.engine.limiter``): another filter,
    another factor, no peak interpolation. The signal is taken as zero outside its span.
    """
    prototype = scipy.signal.firwin(oversampling * taps_per_phase + 1, 1.0 / oversampling, window=("kaiser", 12.0))
    oversampled = scipy.signal.resample_poly(_as_2d(audio), oversampling, 1, axis=-1, window=prototype)
    return float(20 * np.log10(np.max(np.abs(oversampled)) + _TINY))


def short_meter_true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak in dBTP as a short meter reads it: the largest of ``scipy.signal.resample_poly``
    with its default filter (Kaiser beta 5, 20 taps a phase) at 4x, 8x and 16x. Such a filter lets
    part of the images of content near fs/2 through, so it reads broadband loud masters up to
    ~0.2 dB over :func:`true_peak_8x_dbtp`; the promise of -1 dBTP holds on it too.
    """
    audio = _as_2d(audio)
    return max(
        float(20 * np.log10(np.max(np.abs(scipy.signal.resample_poly(audio, factor, 1, axis=-1))) + _TINY))
        for factor in (4, 8, 16)
    )
