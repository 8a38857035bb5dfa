"""How loud a filter makes music sound: K-weighted power of a pink spectrum through it.

Equal loudness around the orbit needs one number per direction: the loudness a direction's
filters give typical music. Music's long-term spectrum falls roughly as 1/f (pink; Voss &
Clarke, Nature 258, 1975), and ITU-R BS.1770 loudness is the power after K-weighting (a
+4 dB shelf above ~1.5 kHz and a 38 Hz high-pass). So

    loudness(H) ~ sum_f W(f) |H(f)|^2,    W(f) = |K(f)|^2 / f   (f >= 20 Hz)

on a uniform frequency grid. Ratios of such sums are loudness ratios; the absolute scale
never matters. The K-weighting biquads are ``loudness.k_weighting_sos``, pyloudnorm's (the meter
the analysis uses), so the renderer equalises exactly the loudness that is measured.
"""

from __future__ import annotations

import numpy as np

from .loudness import k_weighting_sos
from .streaming_sos import sos_response

GRID_FFT_SIZE = 8192
LOWEST_MUSIC_HZ = 20.0
# Fraction of a typical mix's power that is the same in both channels (see correlated_mix_gain).
CORRELATED_FRACTION = 0.5


def frequency_grid_hz(sample_rate: int, fft_size: int = GRID_FFT_SIZE) -> np.ndarray:
    """The uniform grid the weights live on: ``rfftfreq(fft_size, 1/sample_rate)``."""
    return np.fft.rfftfreq(fft_size, 1.0 / sample_rate)


def k_weighting_power(freqs_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    """``|K(f)|^2`` of BS.1770's K-weighting (pre-filter shelf + RLB high-pass) at ``sample_rate``."""
    return np.abs(sos_response(k_weighting_sos(sample_rate), freqs_hz, sample_rate)) ** 2


def music_weighting(sample_rate: int, fft_size: int = GRID_FFT_SIZE) -> np.ndarray:
    """``W(f) = |K(f)|^2 / f`` above 20 Hz (0 below) on ``frequency_grid_hz``."""
    freqs_hz = frequency_grid_hz(sample_rate, fft_size)
    pink = np.where(freqs_hz >= LOWEST_MUSIC_HZ, 1.0 / np.maximum(freqs_hz, LOWEST_MUSIC_HZ), 0.0)
    return k_weighting_power(freqs_hz, sample_rate) * pink


def correlated_mix_gain(coherent_ratio: np.ndarray, correlated_fraction: float = CORRELATED_FRACTION) -> np.ndarray:
    """Common gain for sources each normalised to keep its own loudness: ``1/sqrt(1 - rho + rho r)``.

    Per-source normalisation is exact when the channels are uncorrelated (their powers add).
    Channels carrying the same sound add as amplitudes instead, ``r`` times louder than their
    summed input (``coherent_ratio``; > 1, and varying around the orbit as the sources'
    filters grow more or less alike). A mix whose power is a fraction ``rho`` correlated comes
    out ``1 - rho + rho r`` times the input; this gain evens that out. ``rho = 0.5`` splits the
    difference between independent (L, R unrelated) and identical (L = R) channels.
    """
    return 1.0 / np.sqrt(1 - correlated_fraction + correlated_fraction * coherent_ratio)


def channel_mean_gain(channels: int, correlated_fraction: float = CORRELATED_FRACTION) -> float:
    """The gain that sets the channels' mean, heard in both ears, level with the orbiting band: the
    centred bass's (``render``) and the room's input (``room.RoomRenderer``).

    The band's sources each keep their own power, summed over the ears (``spherical_head.ShadowLoudness``),
    for a mix a fraction ``rho`` correlated (``correlated_mix_gain``): ``S P`` for ``S`` channels of
    power ``P``. Their mean in both ears carries ``2 P (1 + (S - 1) rho) / S``, and both move alike
    with ``rho``. The gain is the root of the ratio, ``S / sqrt(2 (1 + (S - 1) rho))``: 1/sqrt(2)
    (-3 dB) for one channel, +1.25 dB for two. Measured on pink noise (mono, L = R, left only,
    independent), both modes: the bass at 40-80 Hz within 0.6 dB of the band at 250 Hz - 1 kHz,
    against the input's balance; with the plain mean it sat 1.2-1.4 dB under the band for two
    channels and 2.7-2.9 dB over it for one.
    """
    return float(channels / np.sqrt(2 * (1 + (channels - 1) * correlated_fraction)))
