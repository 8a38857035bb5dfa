"""The tests' own true-peak meter (tests/instruments.py) reads known true peaks."""

import numpy as np
import pytest
from instruments import true_peak_8x_dbtp

SR = 44100


def test_a_sine_at_fs_over_4_with_45_degrees_of_phase_peaks_3_01_db_over_its_samples():
    """x[n] = sin(pi n / 2 + pi / 4): every sample is +-0.707 (-3.01 dBFS), the wave peaks at 1."""
    n = np.arange(SR)
    ramp = np.clip(np.minimum(n, n[::-1]) / 2000, 0, 1)  # fades: the abrupt ends would ring
    sine = ramp * np.sin(np.pi * n / 2 + np.pi / 4)
    assert 20 * np.log10(np.abs(sine).max()) == pytest.approx(-3.01, abs=0.005)
    assert true_peak_8x_dbtp(sine) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("frequency_hz", [997.0, 15_000.0, 20_500.0])
def test_tones_read_their_amplitude_up_to_20_khz(frequency_hz):
    t = np.arange(SR // 2) / SR
    tone = 0.5 * np.sin(2 * np.pi * frequency_hz * t + 0.3) * np.hanning(t.size) ** 0.1
    assert true_peak_8x_dbtp(tone) == pytest.approx(20 * np.log10(0.5), abs=0.03)
