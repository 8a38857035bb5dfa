"""Where a sampled peak really is, and how high: the vertex of the parabola through its three highest samples."""

from __future__ import annotations

import numpy as np

_TINY = 1e-20


def parabolic_peak_offset(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Vertex of the parabola through three equally spaced points, in steps from the centre one.

    ``delta = (y[-1] - y[+1]) / (2 * (y[-1] - 2*y[0] + y[+1]))`` (Smith, *Spectral Audio
    Signal Processing*, "Quadratic Interpolation of Spectral Peaks"), within +-0.5 (where it
    always is when the centre is the highest of the three).
    """
    curvature = left - 2 * centre + right
    safe = np.where(np.abs(curvature) > _TINY, curvature, -_TINY)
    return np.clip(0.5 * (left - right) / safe, -0.5, 0.5)


def parabolic_peak_height(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``|centre|`` raised to the vertex of the parabola through the three points, taken on the
    centre's sign, where ``|centre|`` is a local maximum of ``|y|``:
    ``y0 + (y- - y+)^2 / (8 (2 y0 - y- - y+))`` (``parabolic_peak_offset``'s parabola). The vertex
    is at most 1.25 x the point (a point between two of opposite sign and the same size)."""
    sign = np.sign(centre)
    left, peak, right = sign * left, np.abs(centre), sign * right
    curvature = 2 * peak - left - right
    top = (peak >= np.abs(left)) & (peak >= np.abs(right)) & (curvature > 0)
    return peak + np.where(top, (left - right) ** 2 / (8 * np.where(top, curvature, 1)), 0)
