"""The renderer as a stream: blocks of any size, same output, same length, fixed tiny latency."""

import numpy as np
import pytest

from surroundyou.engine.options import RenderOptions
from surroundyou.engine.render import LATENCY_SAMPLES, OrbitRenderer, render
from surroundyou.job_options import render_options_for

SR = 44100
ODD_BLOCKS = (1, 63, 64, 65, 1000, 4410, 65537, 3)


def render_in_blocks(audio, options, sizes):
    renderer = OrbitRenderer(SR, audio.shape[0], options)
    pieces, start, turn = [], 0, 0
    while start < audio.shape[1]:
        size = sizes[turn % len(sizes)]
        pieces.append(renderer.process(audio[:, start : start + size]))
        start, turn = start + size, turn + 1
    return np.concatenate(pieces, axis=1)


@pytest.fixture(scope="module")
def stereo(signals):
    return signals.pink_noise(3.5, SR, seed=5, channels=2)


@pytest.mark.parametrize("preset", ["classic", "fast", "subtle", "concert"])
def test_spherical_blocks_of_any_size_give_the_one_shot_output_bit_for_bit(stereo, preset):
    options = render_options_for({"preset": preset, "periodS": 2.0})
    assert np.array_equal(render_in_blocks(stereo, options, ODD_BLOCKS), render(stereo, SR, options))


def test_hrtf_blocks_of_any_size_give_the_one_shot_output_within_1e_6(stereo):
    """FFT rounding depends on where a block ends, so HRTF mode is equal to float precision."""
    options = render_options_for({"preset": "classic", "mode": "hrtf", "periodS": 2.0})
    one_shot = render(stereo, SR, options)
    assert np.max(np.abs(render_in_blocks(stereo, options, ODD_BLOCKS) - one_shot)) < 1e-6


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_same_input_same_output(stereo, mode):
    options = render_options_for({"preset": "classic", "mode": mode})
    assert np.array_equal(render(stereo, SR, options), render(stereo, SR, options))


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_output_is_two_float32_ears_of_the_input_length(signals, channels):
    audio = signals.pink_noise(1.01, SR, seed=6, channels=channels)
    rendered = render(audio, SR, RenderOptions())
    assert rendered.shape == (2, audio.shape[1]) and rendered.dtype == np.float32
    assert np.all(np.isfinite(rendered)) and np.max(np.abs(rendered)) > 0.01


def test_an_empty_block_gives_an_empty_output():
    assert OrbitRenderer(SR, 2, RenderOptions()).process(np.zeros((2, 0), np.float32)).shape == (2, 0)


def test_a_block_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(2, frames\)"):
        OrbitRenderer(SR, 2, RenderOptions()).process(np.zeros((1, 100), np.float32))


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_output_follows_the_input_by_the_fixed_latency(signals, mode):
    """Cross-correlating input and output (both ears summed) peaks at the fixed latency."""
    mono = signals.pink_noise(2.0, SR, seed=7)
    rendered = render(mono, SR, render_options_for({"preset": "classic", "mode": mode})).sum(axis=0)
    lags = np.arange(-5, LATENCY_SAMPLES + 6)
    correlation = [np.dot(rendered[20 + lag : -20 + lag], mono[0, 20:-20]) for lag in lags]
    assert lags[int(np.argmax(correlation))] == LATENCY_SAMPLES
