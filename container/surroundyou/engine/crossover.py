"""Linkwitz-Riley 4th-order (LR4) crossover: the bass band that stays centred and the rest.

An LR4 low-pass is a 2nd-order Butterworth low-pass applied twice, the high-pass likewise:

    H_LP(s) = 1 / (1 + sqrt(2) s/w_c + (s/w_c)^2)^2
    H_HP(s) = (s/w_c)^4 / (1 + sqrt(2) s/w_c + (s/w_c)^2)^2

Both are -6 dB at the crossover w_c, fall at 24 dB/octave, and are in phase at every frequency,
so ``H_LP + H_HP`` is an all-pass: the two bands sum back to a flat magnitude
(Linkwitz, "Active crossover networks for noncoincident drivers", JAES 24(1), 1976; Linkwitz &
Riley). The digital sections come from the bilinear transform with the corner pre-warped
(what ``scipy.signal.butter`` designs), which keeps the same relation between the two bands:
with ``K = tan(pi f_c / fs)`` and ``d = 1 + sqrt(2) K + K^2`` the Butterworth biquads are

    low-pass   (K^2, 2 K^2, K^2) / d        high-pass  (1, -2, 1) / d
    both       a = (1, 2 (K^2 - 1) / d, (1 - sqrt(2) K + K^2) / d)

(RBJ's Audio EQ Cookbook, Q = 1/sqrt(2)).
"""

from __future__ import annotations

import math

import numpy as np


def linkwitz_riley4_sos(crossover_hz: float, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lowpass_sos, highpass_sos)`` of an LR4 crossover at ``crossover_hz``, 2 sections each."""
    if not 0 < crossover_hz < sample_rate / 2:
        raise ValueError(f"crossover_hz must be between 0 and {sample_rate / 2:g} Hz, got {crossover_hz:g}")
    k = math.tan(math.pi * crossover_hz / sample_rate)
    d = 1 + math.sqrt(2) * k + k * k
    a = [1.0, 2 * (k * k - 1) / d, (1 - math.sqrt(2) * k + k * k) / d]
    butterworth_lp = np.array([k * k / d, 2 * k * k / d, k * k / d, *a])
    butterworth_hp = np.array([1 / d, -2 / d, 1 / d, *a])
    return np.vstack([butterworth_lp, butterworth_lp]), np.vstack([butterworth_hp, butterworth_hp])
