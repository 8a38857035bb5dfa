"""A signal at another sample rate: scipy's polyphase resampler at the exact ratio of the two."""

from __future__ import annotations

import math

import numpy as np
import scipy.signal


def resampled(signal: np.ndarray, from_rate: int, to_rate: int, axis: int = -1) -> np.ndarray:
    """``signal`` (time along ``axis``) at ``to_rate``; itself when the rates are one."""
    if from_rate == to_rate:
        return signal
    common = math.gcd(from_rate, to_rate)
    return scipy.signal.resample_poly(signal, to_rate // common, from_rate // common, axis=axis)
