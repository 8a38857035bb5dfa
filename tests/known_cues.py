"""Stereo signals whose interaural cues are known by construction: the answers the measurements
must find (tests of the analysis in every tier, and of the plot)."""

from __future__ import annotations

import numpy as np

SR = 44100
PERIOD_S = 4.0


def moving_delay(signal: np.ndarray, delay_s: np.ndarray) -> np.ndarray:
    """``signal(t - delay_s(t))`` by linear interpolation (accurate for band-limited low-frequency content)."""
    index = np.arange(signal.shape[-1])
    return np.interp(index - delay_s * SR, index, signal)


def orbit_cues(
    signals,
    seconds: float,
    itd_ms: np.ndarray | None = None,
    ild_db: np.ndarray | None = None,
    tilt_db: np.ndarray | None = None,
) -> np.ndarray:
    """Stereo noise with given ITD (150-1900 Hz part), ILD (2-8 kHz part) and tilt (8.5-12 kHz part).

    ITD > 0 makes the left ear lead: left = x(t + ITD/2), right = x(t - ITD/2).
    ILD > 0 makes the left louder: gains 10^(+-ILD/40). The tilt part has the same gain
    10^(tilt/20) in both ears. Each part is exactly band-limited so the bands never mix.
    """
    frames = int(seconds * SR)
    low = signals.band_noise(seconds, 150.0, 1900.0, seed=1)[0]
    half_itd_s = np.zeros(frames) if itd_ms is None else itd_ms * 1e-3 / 2
    stereo = np.stack([moving_delay(low, -half_itd_s), moving_delay(low, half_itd_s)])
    high = signals.band_noise(seconds, 2000.0, 8000.0, seed=2)[0]
    ild_gain = np.ones(frames) if ild_db is None else 10 ** (ild_db / 40)
    stereo += np.stack([high * ild_gain, high / ild_gain])
    if tilt_db is not None:
        stereo += signals.band_noise(seconds, 8500.0, 12000.0, seed=3)[0] * 10 ** (tilt_db / 20)
    return stereo


def orbit_phase(seconds: float, period_s: float = PERIOD_S) -> np.ndarray:
    return 2 * np.pi * np.arange(int(seconds * SR)) / SR / period_s


def rendered_looking_song(signals, seconds: float) -> np.ndarray:
    """float32 stereo with an orbit's cues: ITD 0.6 ms, ILD 10 dB, tilt 6 dB a quarter turn apart."""
    phase = orbit_phase(seconds)
    return orbit_cues(
        signals, seconds, itd_ms=0.6 * np.sin(phase), ild_db=10 * np.sin(phase), tilt_db=6 * np.cos(phase)
    ).astype(np.float32)
