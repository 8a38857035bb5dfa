"""Motion (issue 10), the pure parts: the paths' geometry, the phase laws, the envelope, the beat
tracker's tempo and the preview's window. Renders and conversions: tests/integration/test_motion_quality.py."""

import numpy as np
import pytest
import scipy.signal

from surroundyou.engine.beats import OnsetEnvelope, beat_grid
from surroundyou.engine.curves import SHORTEST_TURN_S, BeatGridPhase, EffectEnvelope, SpeedCurvePhase
from surroundyou.engine.options import PERIOD_RANGE_S, RenderOptions
from surroundyou.engine.orbit import PATHS, Orbit
from surroundyou.engine.preview import HOP_S, loudest_window_s

SR = 44100


def unit_vectors(orbit: Orbit, sample_index: np.ndarray) -> np.ndarray:
    azimuth, elevation = orbit.azimuth_rad(sample_index), orbit.elevation_rad(sample_index)
    return np.stack([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])


@pytest.mark.parametrize("path", PATHS)
def test_every_path_moves_smoothly_from_the_front_where_the_heads_have_data(path):
    orbit = Orbit(4.0, SR, True, 10.0, path)
    step = 16  # samples: 1/11025 of a turn
    index = np.arange(0, 3 * 4 * SR, step, dtype=np.float64)
    direction = unit_vectors(orbit, index)
    velocity = np.diff(direction, axis=1)
    # a continuous first derivative: the velocity changes by a vanishing part of itself per step
    # (a corner, or a jump in direction, would change it by about its whole size at once)
    assert np.abs(np.diff(velocity, axis=1)).max() <= 0.01 * np.abs(velocity).max()
    elevation_deg = np.degrees(orbit.elevation_rad(index))
    assert elevation_deg.min() >= -40.0 and elevation_deg.max() <= 90.0
    assert orbit.azimuth_rad(np.zeros(1))[0] == 0.0  # starts in front
    if path != "overhead":  # a vertical loop (its lower half out to one side)
        assert direction[1].max() >= 0.5 and direction[1].min() <= -0.5, "it goes to both sides"
    mirrored = unit_vectors(Orbit(4.0, SR, False, 10.0, path), index)
    np.testing.assert_allclose(mirrored[1], -direction[1], atol=1e-9)
    np.testing.assert_allclose(mirrored[[0, 2]], direction[[0, 2]], atol=1e-9)


def test_circle_is_todays_orbit():
    orbit = Orbit(8.0, SR, True, 10.0)
    index = np.arange(0, 20 * SR, 64)
    phase = 2 * np.pi * np.fmod(index.astype(np.float64), 8.0 * SR) / (8.0 * SR)
    np.testing.assert_array_equal(orbit.azimuth_rad(index), phase)
    np.testing.assert_array_equal(orbit.elevation_rad(index), np.radians(10.0) * np.sin(2 * phase))


def test_the_overhead_loop_passes_over_the_top_and_behind():
    orbit = Orbit(4.0, SR, True, 0.0, "overhead")
    quarter = np.array([0.0, 1.0, 2.0]) * SR  # front, a quarter turn, half a turn
    elevation_deg = np.degrees(orbit.elevation_rad(quarter))
    azimuth_deg = np.degrees(orbit.azimuth_rad(quarter))
    assert elevation_deg[1] >= 75.0
    assert abs(elevation_deg[2]) < 1e-6 and abs(abs(azimuth_deg[2]) - 180.0) < 1e-6


def test_a_period_curve_turns_at_the_speed_it_says_with_no_jump():
    curve = ((5.0, 8.0), (10.0, 2.0), (20.0, 4.0))
    phase = SpeedCurvePhase(curve, SR)
    index = np.arange(0, 25 * SR, 441, dtype=np.float64)
    turns = phase.turns(index)
    speed = np.gradient(turns, index / SR)  # turns per second, measured from the turns alone
    # held before the first point and after the last, the points' speeds at the points
    for time_s, period_s in ((2.0, 8.0), (5.0, 8.0), (10.0, 2.0), (20.0, 4.0), (24.0, 4.0)):
        assert speed[int(time_s * SR / 441)] == pytest.approx(1 / period_s, rel=1e-3)
    assert np.abs(np.diff(speed)).max() <= 0.01 * speed.max()  # no jump in speed
    # block-size independence: a pure function of the absolute index
    pieces = np.concatenate([phase.turns(part) for part in np.array_split(index, 7)])
    np.testing.assert_array_equal(pieces, turns)


def test_a_beat_grid_puts_turn_k_over_n_on_beat_k_and_follows_a_drift():
    beats_s = 0.3 + np.cumsum(np.linspace(0.5, 0.42, 40))  # a drifting tempo, 120 -> 143 BPM
    phase = BeatGridPhase(beats_s, 4, SR)
    np.testing.assert_allclose(phase.turns(beats_s * SR), np.arange(40) / 4, atol=1e-9)
    index = np.arange(0, 25 * SR, 64, dtype=np.float64)
    speed = np.diff(phase.turns(index)) / (64 / SR)
    assert speed.min() > 0 and np.abs(np.diff(speed)).max() <= 0.01 * speed.max()


def test_a_beat_grid_never_turns_faster_than_the_shortest_period_and_still_turns_on_beats():
    """2 beats per turn at 140 BPM would be 0.86 s a turn, faster than a period may be: 4 beats."""
    assert SHORTEST_TURN_S == PERIOD_RANGE_S[0]
    beats_s = 0.2 + np.arange(40) * 60.0 / 140.0
    fast = BeatGridPhase(beats_s, 2, SR)
    assert fast.beats_per_turn == 4
    np.testing.assert_allclose(fast.turns(beats_s * SR), np.arange(40) / 4, atol=1e-9)
    assert fast.mean_period_s == pytest.approx(4 * 60.0 / 140.0)
    slow = 0.2 + np.arange(40) * 0.5  # 120 BPM: 2 beats are exactly the shortest turn, kept
    assert BeatGridPhase(slow, 2, SR).beats_per_turn == 2 and BeatGridPhase(beats_s, 3, SR).beats_per_turn == 3


def test_the_envelope_fades_in_and_out_and_follows_an_intensity_curve():
    envelope = EffectEnvelope(SR, 60 * SR, 3.0, 4.0, ((0.0, 0.5), (30.0, 1.0)))
    amount = envelope.amount(np.array([0.0, 1.5, 3.0, 15.0, 30.0, 56.0, 58.0, 60.0]) * SR)
    assert amount[0] == 0.0 and 0.0 < amount[1] < 0.5 and 0.5 < amount[2] < 0.52  # the curve, faded in
    assert 0.5 < amount[3] < 1.0 and amount[4] == 1.0
    assert amount[5] == 1.0 and 0.0 < amount[6] < 1.0 and amount[7] == 0.0


@pytest.mark.parametrize("fades_s", [(3.0, 3.0), (0.0, 2.5), (1.3, 0.0), (0.7, 0.9)])
def test_the_envelope_over_a_block_is_its_amount_and_none_only_where_that_is_exactly_one(fades_s):
    total = 10 * SR + 123
    envelope = EffectEnvelope(SR, total, *fades_s, 1.0)
    whole = envelope.amount(np.arange(total))
    for block in (4410, 65536, 100003):
        for start in range(0, total, block):
            over = envelope.amount_over(start, min(block, total - start))
            expected = whole[start : start + block]
            if over is None:
                assert np.all(expected == 1.0)
            else:
                np.testing.assert_array_equal(over, expected)
    mid = envelope.amount_over(5 * SR, SR)
    assert mid is None  # between the fades: callers skip the multiplication
    curved = EffectEnvelope(SR, total, 0.0, 0.0, ((0.0, 0.5), (5.0, 1.0)))
    assert curved.amount_over(8 * SR, SR) is not None  # an intensity curve is partial all along


def test_the_envelope_mixes_the_original_in_each_ear_and_leaves_the_whole_effect_alone(signals):
    from surroundyou.engine.render import DELAY_CONTROL_STEP, LATENCY_SAMPLES, OrbitRenderer, render

    options = RenderOptions(period_s=2.0, reverb=0.0)
    stereo = signals.pink_noise(4.0, SR, seed=9, channels=2)
    whole = OrbitRenderer(SR, 2, options, envelope=EffectEnvelope(SR, stereo.shape[1], 2.0, 0.0, 1.0))
    out = np.concatenate(
        [whole.process(stereo[:, start : start + 30000]) for start in range(0, stereo.shape[1], 30000)], 1
    )
    # after the fade, from the ear delays' first control point where m = 1 (the ramp before it starts short of 1)
    whole_from = -(-2 * SR // DELAY_CONTROL_STEP) * DELAY_CONTROL_STEP
    np.testing.assert_array_equal(out[:, whole_from:], render(stereo, SR, options)[:, whole_from:])
    # at its start each ear hears its own channel, LATENCY_SAMPLES late (the time difference and its
    # hand-over between the ears grow with the effect), compared above 2 kHz (the crossover's
    # all-pass turns the lows' phase)
    treble = scipy.signal.butter(4, 2000.0, "highpass", fs=SR, output="sos")
    heard = scipy.signal.sosfilt(treble, out[:, LATENCY_SAMPLES : SR // 10])
    own = scipy.signal.sosfilt(treble, stereo[:, : SR // 10 - LATENCY_SAMPLES])
    for ear in range(2):
        assert np.corrcoef(heard[ear, 2000:], own[ear, 2000:])[0, 1] >= 0.98
        assert abs(np.corrcoef(heard[ear, 2000:], own[1 - ear, 2000:])[0, 1]) <= 0.1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(path="spiral"), "path must be one of circle, figure8, wander, overhead, arc"),
        (dict(sync="bars"), "sync must be one of off, beats"),
        (dict(beats_per_turn=65), "beats_per_turn must be a whole number 2-64"),
        (dict(fade_in_s=-1.0), "fade_in_s must be 0-30 seconds"),
        (dict(fade_out_s=31.0), "fade_out_s must be 0-30 seconds"),
        (dict(period_s=((0.0, 8.0), (0.0, 4.0))), "period_s curve times must be seconds >= 0, strictly ascending"),
        (dict(period_s=((0.0, 8.0), (10.0, 0.5))), "period_s curve values must be 1-120"),
        (dict(intensity=((0.0, 1.5),)), "intensity curve values must be 0-1"),
        (dict(period_s="fast"), "period_s must be a number or a curve"),
    ],
)
def test_motion_options_are_checked_with_clear_messages(options, message):
    with pytest.raises(ValueError, match=message):
        RenderOptions(**options)


def test_an_intensity_curve_runs_the_heads_at_its_peak():
    options = RenderOptions(intensity=[[0, 0.5], [30, 0.8]], period_s=[[0, 8], [30, 4]])
    assert options.intensity == 0.8 and options.intensity_curve == ((0.0, 0.5), (30.0, 0.8))
    assert options.period_s == ((0.0, 8.0), (30.0, 4.0)) and options.nominal_period_s == 8.0


def test_a_click_track_gives_its_tempo_and_a_held_tone_no_beat():
    bpm, seconds = 128.0, 12.0
    track = np.zeros(int(seconds * SR), dtype=np.float32)
    t = np.arange(int(0.03 * SR)) / SR
    click = (0.5 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.005)).astype(np.float32)
    beats_s = np.arange(0.25, seconds - 0.1, 60 / bpm)
    for beat_s in beats_s:
        start = int(round(beat_s * SR))
        track[start : start + click.size] += click
    onsets = OnsetEnvelope(SR)
    for start in range(0, track.size, 10000):  # odd blocks: the envelope does not depend on them
        onsets.add(track[np.newaxis, start : start + 10000])
    grid = beat_grid(onsets)
    assert grid.clear and grid.tempo_bpm == pytest.approx(bpm, rel=0.01)
    assert np.abs(grid.beats_s[:, np.newaxis] - beats_s).min(axis=1).max() <= 0.01
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * SR)) / SR)).astype(np.float32)
    held = OnsetEnvelope(SR)
    held.add(tone[np.newaxis])
    assert not beat_grid(held).clear


@pytest.mark.parametrize("seconds", [0.001, 0.05, 0.3, 1.0])
def test_a_song_too_short_for_a_beat_has_no_clear_beat(seconds):
    """Under 0.4 s (the onset trend's window) the tracker raised a ValueError."""
    onsets = OnsetEnvelope(SR)
    onsets.add(np.random.default_rng(7).standard_normal((2, max(1, round(seconds * SR)))).astype(np.float32) * 0.3)
    assert not beat_grid(onsets).clear


def test_the_preview_window_is_the_loudest_stretch():
    hops = np.full(int(120 / HOP_S), 1e-4)
    hops[int(70 / HOP_S) : int(100 / HOP_S)] = 1e-2  # 30 s, 20 dB louder, from 70 s
    hops[int(10 / HOP_S) : int(11 / HOP_S)] = 1.0  # one short, very loud moment
    assert loudest_window_s(hops) == pytest.approx(70.0, abs=HOP_S)
    assert loudest_window_s(hops[: int(20 / HOP_S)]) == 0.0  # shorter than a preview: all of it


@pytest.mark.parametrize("path", ["wander", "overhead"])
def test_a_curved_render_does_not_depend_on_the_block_size(signals, path):
    from surroundyou.engine.render import render

    options = RenderOptions(period_s=((0.0, 3.0), (1.0, 1.5)), path=path, reverb=0.0)
    audio = signals.pink_noise(2.0, SR, seed=7, channels=2)
    np.testing.assert_array_equal(render(audio, SR, options, 4410), render(audio, SR, options, 65536))


def test_a_faded_render_does_not_depend_on_the_block_size(signals):
    from surroundyou.engine.render import OrbitRenderer

    options = RenderOptions(period_s=2.0, reverb=0.0, intensity=((0.0, 0.2), (1.5, 1.0)))
    stereo = signals.pink_noise(3.0, SR, seed=8, channels=2)

    def rendered(block: int) -> np.ndarray:
        envelope = EffectEnvelope(SR, stereo.shape[1], 1.0, 1.0, options.intensity_curve)
        renderer = OrbitRenderer(SR, 2, options, envelope=envelope)
        return np.concatenate([renderer.process(stereo[:, i : i + block]) for i in range(0, stereo.shape[1], block)], 1)

    np.testing.assert_array_equal(rendered(1000), rendered(65536))


def test_a_song_shorter_than_its_fades_mixes_once():
    from surroundyou.engine.render import LATENCY_SAMPLES, OrbitRenderer

    envelope = EffectEnvelope(SR, SR, 3.0, 3.0, 1.0)  # 1 s song, 3 s fades: the spans meet
    noise = np.random.default_rng(3).standard_normal((2, SR)).astype(np.float32) * 0.1
    out = OrbitRenderer(SR, 2, RenderOptions(reverb=0.0), envelope=envelope).process(noise)
    assert out.shape == (2, SR) and np.all(np.isfinite(out))
    # m stays under 0.08 (3 s fades over 1 s): the ears are nearly the original
    late = LATENCY_SAMPLES
    assert np.corrcoef(out[0, late : SR // 2], noise[0, : SR // 2 - late])[0, 1] >= 0.95
