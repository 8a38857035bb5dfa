"""Filters designed from magnitudes on an rfft grid: smoothing and minimum phase."""

from __future__ import annotations

import numpy as np


def minimum_phase(magnitude: np.ndarray, taps: int) -> np.ndarray:
    """Minimum-phase impulse responses (last axis, ``taps`` long) of rfft-grid magnitudes.

    (Not ``scipy.signal.minimum_phase``: it starts from an impulse response rather than the
    designed magnitude, lifts the spectrum by 1e-7 of its minimum and leaves ``c[N/2]`` out.)

    Real cepstrum ``c = IFFT(log|H|)``, folded onto positive quefrencies (``c[0]``,
    ``2 c[1..N/2-1]``, ``c[N/2]``), ``h = IFFT(exp(FFT(c_folded)))``; truncated with a
    half-Hann fade over the last quarter.
    """
    size = 2 * (magnitude.shape[-1] - 1)
    cepstrum = np.fft.irfft(np.log(np.maximum(magnitude, 1e-8)), size, axis=-1)
    fold = np.zeros(size)
    fold[0], fold[1 : size // 2], fold[size // 2] = 1.0, 2.0, 1.0
    response = np.fft.irfft(np.exp(np.fft.rfft(cepstrum * fold, axis=-1)), size, axis=-1)[..., :taps]
    fade = taps // 4
    response[..., taps - fade :] *= np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    return response


def octave_smoothed(power: np.ndarray, freqs_hz: np.ndarray, octaves: float) -> np.ndarray:
    """Mean of ``power`` over ``+-octaves/2`` around every frequency (last axis; DC copies the lowest bin)."""
    cumulative = np.concatenate([np.zeros(power.shape[:-1] + (1,)), np.cumsum(power, axis=-1)], axis=-1)
    bin_width = freqs_hz[1]
    centre = np.maximum(freqs_hz, bin_width)
    low = np.clip(np.searchsorted(freqs_hz, centre * 2 ** (-octaves / 2)), 0, len(freqs_hz) - 1)
    high = np.clip(np.searchsorted(freqs_hz, centre * 2 ** (octaves / 2), side="right"), low + 1, len(freqs_hz))
    return (cumulative[..., high] - cumulative[..., low]) / (high - low)
