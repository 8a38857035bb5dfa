"""The streaming loudness meter agrees with the whole-signal reference (pyloudnorm)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surroundyou.engine.analysis import integrated_lufs
from surroundyou.engine.loudness import LoudnessMeter


@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000, 96000])
def test_streaming_meter_matches_the_reference_in_any_blocks(signals, sample_rate):
    music = signals.music_like(5.0, sample_rate, seed=2)
    for block_frames in (65536, 4410, 999):
        meter = LoudnessMeter(sample_rate, 2)
        for start in range(0, music.shape[1], block_frames):
            meter.add(music[:, start : start + block_frames])
        assert meter.integrated_lufs() == pytest.approx(integrated_lufs(music, sample_rate), abs=0.02)


def test_gating_ignores_silence_and_silence_is_minus_infinity(signals):
    music = signals.music_like(3.0, 44100)
    padded = np.concatenate([music, np.zeros((2, 44100 * 6), dtype=np.float32)], axis=1)
    meter = LoudnessMeter(44100, 2)
    meter.add(padded)
    assert meter.integrated_lufs() == pytest.approx(integrated_lufs(padded, 44100), abs=0.02)
    assert meter.integrated_lufs() == pytest.approx(integrated_lufs(music, 44100), abs=0.2)
    silent = LoudnessMeter(44100, 2)
    silent.add(np.zeros((2, 44100), dtype=np.float32))
    assert silent.integrated_lufs() == -math.inf


@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000, 96000, 192000])
def test_k_weighting_biquads_are_pyloudnorms(sample_rate):
    import pyloudnorm

    from surroundyou.engine.loudness import k_weighting_sos

    stages = (
        pyloudnorm.IIRfilter(4.0, 1 / math.sqrt(2), 1500.0, sample_rate, "high_shelf"),
        pyloudnorm.IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass"),
    )
    expected = np.array([np.concatenate([stage.b, stage.a]) / stage.a[0] for stage in stages])
    np.testing.assert_allclose(k_weighting_sos(sample_rate), expected, rtol=0, atol=1e-14)
