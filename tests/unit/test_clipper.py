"""The soft clipper a loud master's peaks pass before the limiter: its curve, sample by sample, and
which songs hide what it does (read with the tests' own 1/3-octave instrument). What it gives a
loud master, decoded and measured, is in tests/integration/test_true_peak.py."""

from __future__ import annotations

import numpy as np
import pytest
from instruments import third_octave_levels_db

from surroundyou.engine.clipper import KNEE_DB, masks_clipping, soft_clip

SR = 44100
CEILING_DBTP = -1.4


def _through_the_curve(levels_db: np.ndarray, depth_db: float) -> np.ndarray:
    """Samples at ``levels_db`` (dBFS), positive then negative, as a (2, n) block, clipped."""
    magnitude = (10 ** (levels_db / 20)).astype(np.float32)
    block = np.stack([magnitude, -magnitude])
    return soft_clip(block, CEILING_DBTP, depth_db)


@pytest.mark.parametrize("depth_db", [0.5, 2.0, 4.0])
def test_the_curve_keeps_what_is_under_the_knee_and_takes_the_tips_to_the_ceiling(depth_db):
    levels_db = np.linspace(-60.0, 12.0, 14401)
    clipped = _through_the_curve(levels_db, depth_db)
    magnitude = (10 ** (levels_db / 20)).astype(np.float32)
    ceiling = 10 ** (CEILING_DBTP / 20)
    assert np.array_equal(clipped[1], -clipped[0]), "the same curve for both signs"
    under = levels_db <= CEILING_DBTP - KNEE_DB
    assert np.array_equal(clipped[0, under], magnitude[under]), "under the knee: untouched, bit for bit"
    assert np.all(np.diff(clipped[0].astype(np.float64)) >= 0), "never folds back"
    tips = levels_db <= CEILING_DBTP + depth_db
    assert clipped[0, tips].max() <= ceiling * (1 + 1e-6)
    # no corner where the knee starts: the slope there is 1, and it eases towards the ceiling
    slope = np.diff(clipped[0].astype(np.float64)) / np.diff(magnitude.astype(np.float64))
    knee = np.searchsorted(levels_db, CEILING_DBTP - KNEE_DB)
    assert slope[knee + 1] == pytest.approx(1.0, abs=0.01)
    assert slope[np.searchsorted(levels_db, CEILING_DBTP) - 1] < 0.5
    # deeper than the depth, a peak leaves the depth lower, and a little more where the knee has not
    # reached the ceiling by then (the limiter takes the rest)
    deep = levels_db > CEILING_DBTP + depth_db + 0.5
    taken_db = 20 * np.log10(magnitude[deep] / clipped[0, deep])
    assert np.all((taken_db >= depth_db) & (taken_db <= depth_db + 0.2)), (taken_db.min(), taken_db.max())


def test_the_curve_works_in_place_on_any_block():
    block = np.array([[0.1, 0.95, -0.99], [2.0, -0.5, 0.0]], dtype=np.float32)
    view = block[:, ::-1]  # not contiguous
    result = soft_clip(view, CEILING_DBTP, 2.0)
    assert result is view and result.dtype == np.float32
    assert block[0, 0] == np.float32(0.1) and block[1, 1] == np.float32(-0.5) and block[1, 2] == 0.0
    ceiling = 10 ** (CEILING_DBTP / 20)
    assert 0 < block[0, 1] <= ceiling and -ceiling <= block[0, 2] < 0 and 0 < block[1, 0] < 2.0


def _long_term_thirds(audio: np.ndarray) -> np.ndarray:
    _, levels_db = third_octave_levels_db(audio, SR, window_s=0.1, low_hz=100.0, high_hz=12500.0)
    return (10 ** (levels_db / 10)).sum(axis=(0, 1))


@pytest.mark.parametrize(
    ("name", "hides"),
    [
        ("sine 1 kHz", False),
        ("sine 60 Hz", False),
        ("chord", False),
        ("pink noise", True),
        ("music-like mix", True),
        ("loud master", True),
        ("bass line over a bed", True),
    ],
)
def test_music_and_noise_hide_clipping_and_tones_do_not(signals, name, hides):
    """Clipping a tone adds partials nothing covers (a 1 kHz sine clipped 2 dB: its odd harmonics
    about 30 dB down, heard at once); music and noise have content in most thirds around them."""
    seconds = 4.0
    audio = {
        "sine 1 kHz": lambda: signals.sine(seconds, 1000.0, 0.9),
        "sine 60 Hz": lambda: signals.sine(seconds, 60.0, 0.9),
        "chord": lambda: sum(signals.sine(seconds, f, 0.3) for f in (220.0, 277.2, 329.6)),
        "pink noise": lambda: signals.pink_noise(seconds, SR, channels=2),
        "music-like mix": lambda: signals.music_like(seconds, SR),
        "loud master": lambda: signals.loud_master(seconds, 16.0, SR),
        "bass line over a bed": lambda: signals.bass_line_mix(seconds, SR),
    }[name]()
    assert masks_clipping(_long_term_thirds(audio)) == hides
