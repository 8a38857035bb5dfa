"""Where the rendered music is: direction of travel, start, cue strength, sample rates, loudness."""

import dataclasses

import numpy as np
import pytest

from surroundyou.engine import analysis
from surroundyou.engine.options import RenderOptions
from surroundyou.engine.render import render
from surroundyou.job_options import render_options_for

SR = 44100


def flat(options: RenderOptions) -> RenderOptions:
    """``options`` with a level orbit (no elevation wobble): the cues of the azimuth alone."""
    return dataclasses.replace(options, elevation_wobble_deg=0.0)


def cues_at(rendered, sample_rate, time_s, window_s=0.1):
    """(ILD dB, ITD ms) around ``time_s``; positive = left louder / left earlier (analysis conventions)."""
    start = int(round((time_s - window_s / 2) * sample_rate))
    segment = rendered[:, start : start + int(round(window_s * sample_rate))]
    _, ild = analysis.ild_track_db(segment, sample_rate, window_s)
    _, itd = analysis.itd_track_ms(segment, sample_rate, window_s, frame_s=window_s)
    return float(ild[0]), float(itd[0])


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_clockwise_goes_front_right_back_left(signals, mode):
    mono = signals.pink_noise(8.2, SR, seed=11)
    rendered = render(mono, SR, flat(render_options_for({"preset": "classic", "mode": mode, "periodS": 8.0})))
    front, right, left = (cues_at(rendered, SR, t) for t in (0.06, 2.0, 6.0))
    assert abs(front[0]) < 2.0 and abs(front[1]) < 0.05  # starts in front
    assert right[0] < -8 and right[1] < -0.55  # right ear louder and first
    assert left[0] > 8 and left[1] > 0.55
    back_tilt = analysis.tilt_track_db(rendered[:, 3 * SR : 5 * SR], SR, 1.0)[1][0]
    front_tilt = analysis.tilt_track_db(
        np.concatenate([rendered[:, 7 * SR : 8 * SR], rendered[:, :SR]], axis=1), SR, 1.0
    )[1][0]
    assert front_tilt - back_tilt > 2.0  # duller behind


def test_counterclockwise_goes_left_first(signals):
    mono = signals.pink_noise(2.2, SR, seed=12)
    rendered = render(mono, SR, render_options_for({"preset": "concert", "reverb": 0.0, "periodS": 8.0}))
    ild_db, itd_ms = cues_at(rendered, SR, 2.0)
    assert ild_db > 8 and itd_ms > 0.55


def test_intensity_zero_leaves_both_ears_identical(signals):
    stereo = signals.pink_noise(2.0, SR, seed=13, channels=2)
    rendered = render(stereo, SR, render_options_for({"preset": "classic", "intensity": 0.0}))
    assert np.max(np.abs(rendered[0] - rendered[1])) < 1e-6


@pytest.mark.parametrize(
    ("mode", "sample_rate"), [("spherical", 48000), ("spherical", 96000), ("hrtf", 48000), ("hrtf", 22050)]
)
def test_other_sample_rates_keep_the_head_in_seconds(signals, mode, sample_rate):
    mono = signals.pink_noise(4.2, sample_rate, seed=14)
    rendered = render(mono, sample_rate, flat(render_options_for({"preset": "classic", "mode": mode, "periodS": 4.0})))
    ild_db, itd_ms = cues_at(rendered, sample_rate, 1.0)  # right side
    assert -0.8 <= itd_ms <= -0.6 and ild_db < -8


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_one_channel_keeps_its_loudness(signals, mode):
    mono = signals.pink_noise(8.0, SR, seed=15)
    rendered = render(mono, SR, render_options_for({"preset": "classic", "mode": mode}))
    assert analysis.integrated_lufs(rendered, SR) == pytest.approx(analysis.integrated_lufs(mono, SR), abs=0.5)


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_a_music_like_mix_keeps_its_loudness_within_1_5_lu(signals, mode):
    """The dry render's loudness follows what the channels share, from an unrelated pair's -1.6 LU to an
    identical pair's +1.2 LU (``spherical_head.ShadowLoudness``); this mix, its kick in both channels,
    comes out +1.05 LU. The pipeline matches the input's loudness (tests/integration/test_true_peak.py)."""
    music = signals.music_like(8.0, SR, seed=16)
    rendered = render(music, SR, render_options_for({"preset": "classic", "mode": mode}))
    assert analysis.integrated_lufs(rendered, SR) == pytest.approx(analysis.integrated_lufs(music, SR), abs=1.5)
