"""``surroundyou analyze --plot``: the orbit's picture."""

import numpy as np
import pytest
from known_cues import PERIOD_S, SR, orbit_cues, orbit_phase

from surroundyou.engine import analysis
from surroundyou.plot import azimuth_track_deg, plot_orbit


def test_plot_orbit_draws_a_png(signals, tmp_path):
    phase = orbit_phase(9.0)
    stereo = orbit_cues(signals, 9.0, itd_ms=0.6 * np.sin(phase), ild_db=10 * np.sin(phase), tilt_db=6 * np.cos(phase))
    orbit = analysis.measure_orbit(stereo, SR)
    azimuth_deg = azimuth_track_deg(orbit)
    quarter = np.argmin(np.abs(orbit.times_s - PERIOD_S / 4))  # ITD max: source on the left
    assert azimuth_deg[quarter] == pytest.approx(90.0, abs=15.0)
    png = plot_orbit(orbit, tmp_path / "orbit.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
