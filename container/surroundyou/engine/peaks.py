"""Where a sampled peak really is: the vertex of the parabola through its three highest samples."""

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
