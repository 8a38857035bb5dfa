"""A picture of a measured orbit, for ``surroundyou analyze --plot`` (matplotlib, loaded when drawing).

Azimuth here is degrees, 0 = front, +90 = left, +-180 = back (seen from above).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from surroundyou.engine.analysis import OrbitMeasurement

if TYPE_CHECKING:
    from matplotlib.projections.polar import PolarAxes


def azimuth_track_deg(measurement: OrbitMeasurement) -> np.ndarray:
    """A display estimate of the source azimuth (0 front, +90 left) from the cue tracks.

    Lateral angle from the ITD by the sine law ``asin(ITD / ITD_side)`` with ``ITD_side`` the
    track's 99th percentile |ITD|; front while the fitted tilt sinusoid is above its mean, back
    otherwise (the fit, not the raw tilt, which music makes noisy).
    """
    itd_side_ms = max(float(np.nanpercentile(np.abs(measurement.itd_ms), 99)), 1e-6)
    lateral_deg = np.degrees(np.arcsin(np.clip(measurement.itd_ms / itd_side_ms, -1.0, 1.0)))
    front = measurement.tilt_fit.evaluate(measurement.times_s) >= measurement.tilt_fit.offset_value
    return np.where(front, lateral_deg, np.sign(lateral_deg + 1e-12) * 180.0 - lateral_deg)


def plot_orbit(measurement: OrbitMeasurement, png_path: str | Path) -> Path:
    """Draw the ILD and ITD tracks (with their fitted sinusoids) and the azimuth seen from above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times_s = measurement.times_s
    figure = plt.figure(figsize=(11, 5.5), layout="constrained")
    grid = figure.add_gridspec(2, 2, width_ratios=(1.6, 1))
    for row, (track, fit, label) in enumerate(
        (
            (measurement.ild_db, measurement.ild_fit, "ILD 2-8 kHz (dB, + = left louder)"),
            (measurement.itd_ms, measurement.itd_fit, "ITD 200-1500 Hz (ms, + = left first)"),
        )
    ):
        axes = figure.add_subplot(grid[row, 0])
        axes.plot(times_s, track, ".", markersize=3, label="measured")
        axes.plot(
            times_s, fit.evaluate(times_s), "-", linewidth=1.2, label=f"sinusoid: ±{fit.amplitude:.2f}, R²={fit.r2:.3f}"
        )
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper right", fontsize=8)
    axes.set_xlabel("time (s)")
    polar = cast("PolarAxes", figure.add_subplot(grid[:, 1], projection="polar"))
    polar.set_theta_zero_location("N")  # front at the top, left to the left (seen from above)
    polar.set_thetagrids((0, 90, 180, 270), ("front", "left", "back", "right"))
    polar.scatter(np.radians(azimuth_track_deg(measurement)), times_s, c=times_s, s=6, cmap="viridis")
    polar.set_title(f"azimuth over time (radius = s)\nperiod {measurement.period_s:.2f} s", fontsize=9)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)  # as convert makes its output's folder
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
    return png_path
