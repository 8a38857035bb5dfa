"""Motion (issue 10), measured on renders and conversions: every path keeps the quality bar, the
orbit follows the song's beats and a speed curve, the effect fades in, a preview is the loudest 30 s.

The ear signals are measured with ``surroundyou.engine.analysis`` (ILD tracks, from the audio
alone) and the test instruments (tests/instruments.py), never from the renderer's own state.
"""

import instruments
import numpy as np
import pytest
from audio_files import decode, write_audio

from surroundyou.engine import analysis
from surroundyou.engine.convert import convert_file
from surroundyou.engine.curves import EffectEnvelope
from surroundyou.engine.options import PERIOD_RANGE_S
from surroundyou.engine.orbit import PATHS
from surroundyou.engine.render import OrbitRenderer, render
from surroundyou.job_options import render_options_for

SR = 44100
ONSET_S = 0.5
PERIOD_S = 4.0


def after_onset(audio: np.ndarray) -> np.ndarray:
    return audio[..., int(ONSET_S * SR) :]


# ---------------------------------------------------------------- every path keeps the quality bar


@pytest.fixture(scope="module")
def inputs(signals) -> dict[str, np.ndarray]:
    turn_s = PERIOD_S + ONSET_S
    stereo = signals.pink_noise(turn_s, SR, seed=23, channels=2)
    mono = signals.pink_noise(turn_s, SR, seed=21)
    left, right = stereo.copy(), stereo.copy()
    left[1], right[0] = 0.0, 0.0
    return {
        "pink L=R": np.repeat(mono, 2, axis=0),
        "sine 1 kHz": signals.sine(turn_s, 1000.0, amplitude=0.5, sample_rate=SR, channels=2),
        "pink stereo": stereo,
        "pink mono": mono,
        "left only": left,
        "right only": right,
        "bass stereo": signals.band_noise(turn_s, 25.0, 100.0, SR, seed=24, channels=2).astype(np.float32),
    }


def rendered_one_after_another(inputs: dict[str, np.ndarray], options) -> dict[str, np.ndarray]:
    """Each input's render: the stereo ones one after another through one renderer (``ONSET_S`` of
    each is skipped by the measures, so the previous one's ringing counts for nothing; the first,
    L=R, starts at the orbit's start as the mono one does), the mono one on its own."""
    names = [name for name in inputs if name != "pink mono"]
    together = render(np.concatenate([inputs[name] for name in names], axis=1), SR, options)
    frames = inputs["pink mono"].shape[1]
    out = {name: together[:, k * frames : (k + 1) * frames] for k, name in enumerate(names)}
    return {**out, "pink mono": render(inputs["pink mono"], SR, options)}


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
@pytest.mark.parametrize("path", PATHS)
def test_every_path_keeps_the_quality_bar(inputs, path, mode):
    options = render_options_for({"preset": "classic", "reverb": 0.0, "mode": mode, "periodS": PERIOD_S, "path": path})
    out = rendered_one_after_another(inputs, options)
    figures = {
        "ripple stereo": instruments.loudness_ripple_db(
            after_onset(out["pink stereo"]), SR, reference=after_onset(inputs["pink stereo"])
        ),
        "ripple L=R": instruments.loudness_ripple_db(
            after_onset(out["pink L=R"]), SR, reference=after_onset(inputs["pink L=R"])
        ),
        "dip left only": instruments.energy_dips_db(
            after_onset(out["left only"]), SR, 0.05, reference=after_onset(inputs["left only"])
        ),
        "dip right only": instruments.energy_dips_db(
            after_onset(out["right only"]), SR, 0.05, reference=after_onset(inputs["right only"])
        ),
        "bass correlation": instruments.band_correlation(after_onset(out["bass stereo"]), SR, 120.0),
        "comb depth": instruments.comb_filter_depth_db(after_onset(out["pink L=R"]), after_onset(out["pink mono"]), SR),
        "clicks": max(instruments.out_of_band_db(ear, SR, 1000.0, 50.0, skip_s=ONSET_S) for ear in out["sine 1 kHz"]),
    }
    assert figures["ripple stereo"] <= 1.0 and figures["ripple L=R"] <= 1.0, figures
    assert figures["dip left only"] <= 6.0 and figures["dip right only"] <= 6.0, figures
    assert figures["bass correlation"] >= 0.95, figures
    assert figures["comb depth"] <= 3.0, figures
    assert figures["clicks"] <= -80.0, figures


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
@pytest.mark.parametrize("path", PATHS)
def test_every_path_is_click_free_at_the_fastest_period(signals, path, mode):
    """At one turn a second (the shortest period an option or a beat grid gives) a 1 kHz sine still
    keeps its energy outside 1 kHz +- 50 Hz at or under -80 dB in both ears, over four turns."""
    fastest_s = PERIOD_RANGE_S[0]
    options = render_options_for({"preset": "classic", "reverb": 0.0, "mode": mode, "periodS": fastest_s, "path": path})
    sine = signals.sine(4 * fastest_s + ONSET_S, 1000.0, amplitude=0.5, sample_rate=SR, channels=2)
    ears = render(sine, SR, options)
    spread_db = [instruments.out_of_band_db(ear, SR, 1000.0, 50.0, skip_s=ONSET_S) for ear in ears]
    assert max(spread_db) <= -80.0, spread_db


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_a_partial_effect_mixes_with_the_original_without_combing(inputs, mode):
    """An intensity curve held at half its peak: half the effect, half the original, in each ear."""
    half = {"preset": "classic", "reverb": 0.0, "mode": mode, "periodS": PERIOD_S, "intensity": "0:0.5,100:1"}
    options = render_options_for(half)
    frames = inputs["pink mono"].shape[1]

    def rendered(audio: np.ndarray) -> np.ndarray:
        envelope = EffectEnvelope(SR, frames, 0.0, 0.0, options.intensity_curve)
        return after_onset(OrbitRenderer(SR, len(audio), options, envelope=envelope).process(audio))

    pair, mono = rendered(inputs["pink L=R"]), rendered(inputs["pink mono"])
    assert instruments.comb_filter_depth_db(pair, mono, SR) <= 3.0
    assert instruments.loudness_ripple_db(pair, SR, reference=after_onset(inputs["pink L=R"])) <= 1.0


# ---------------------------------------------------------------- the orbit's timing, measured on the ILD


def ild_zero_crossings_s(stereo: np.ndarray) -> np.ndarray:
    """Times where the 2-8 kHz ILD crosses 0 dB: sign changes of the track (smoothed over 5 windows),
    each refined by a straight line fitted to the raw track within 120 ms of it."""
    times_s, ild_db = analysis.ild_track_db(stereo, SR, window_s=0.02)
    smooth = np.convolve(ild_db, np.ones(5) / 5, mode="same")
    crossings = []
    for index in np.flatnonzero(np.diff(np.sign(smooth)) != 0):
        near = np.abs(times_s - times_s[index]) <= 0.12
        slope, offset = np.polyfit(times_s[near], ild_db[near], 1)
        crossings.append(-offset / slope)
    return np.array(crossings)


def beat_song(
    kind: str, bpm: float, seconds: float, signals, seed: int = 0, drift_bpm: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A click track or a drum loop (kick, snare, eighth-note hats) over a quiet L=R pink bed
    (content for the ILD all the time), its tempo drifting by ``drift_bpm`` over the song; returns
    the stereo signal and its beat times."""
    frames = int(seconds * SR)
    song = np.repeat(signals.pink_noise(seconds, SR, seed=seed + 40, rms=0.01), 2, axis=0).astype(np.float64)
    beats = [0.4]
    while beats[-1] + 60.0 / bpm < seconds - 0.2:
        beats.append(beats[-1] + 60.0 / (bpm + drift_bpm * beats[-1] / seconds))
    beats_s = np.array(beats)
    t = np.arange(int(0.3 * SR)) / SR
    rng = np.random.default_rng(seed)
    click = 0.5 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.005)
    kick = 0.6 * np.sin(2 * np.pi * (50 + 90 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.1)
    snare = 0.25 * rng.standard_normal(t.size) * np.exp(-t / 0.06) + 0.2 * np.sin(2 * np.pi * 190 * t) * np.exp(
        -t / 0.05
    )
    hat = 0.06 * np.diff(rng.standard_normal(t.size), prepend=0.0) * np.exp(-t / 0.015)

    def put(sound: np.ndarray, at_s: float) -> None:
        start = int(round(at_s * SR))
        count = min(sound.size, frames - start)
        if count > 0:
            song[:, start : start + count] += sound[:count]

    for k, beat_s in enumerate(beats_s):
        if kind == "click track":
            put(click, beat_s)
        else:
            put(kick if k % 2 == 0 else snare, beat_s)
            put(hat, beat_s)
            put(hat, beat_s + 30.0 / (bpm + drift_bpm * beat_s / seconds))
    return song.astype(np.float32), beats_s


DRY = {"preset": "classic", "reverb": 0.0, "fadeInS": 0, "fadeOutS": 0}


@pytest.mark.parametrize("kind", ["click track", "drum loop"])
@pytest.mark.parametrize("bpm", [90.0, 120.0, 128.0, 140.0])
def test_a_beat_synced_orbit_turns_every_n_beats_and_crosses_the_front_on_beats(tmp_path, signals, kind, bpm):
    beats_per_turn = 4
    song, beats_s = beat_song(kind, bpm, 14.0, signals)
    options = render_options_for({**DRY, "sync": "beats", "beatsPerTurn": beats_per_turn})
    report = convert_file(write_audio(tmp_path / "beat.wav", song, SR), tmp_path / "beat.8d.wav", options)
    assert report.sync == "beats" and report.tempo_bpm == pytest.approx(bpm, rel=0.01), report
    assert report.beats_per_turn == beats_per_turn
    out, _ = decode(tmp_path / "beat.8d.wav")
    crossings_s = ild_zero_crossings_s(out)
    turn_s = beats_per_turn * 60.0 / bpm
    # two crossings a turn (front and back), each on a beat
    assert len(crossings_s) == pytest.approx(2 * 14.0 / turn_s, abs=2)
    misses_s = np.abs(crossings_s[:, np.newaxis] - beats_s).min(axis=1)
    assert misses_s.max() <= 0.030, (misses_s.max(), crossings_s)
    # the period: from the crossings a whole turn apart
    measured_turn_s = np.mean(crossings_s[2:] - crossings_s[:-2])
    assert measured_turn_s == pytest.approx(turn_s, rel=0.01)


def test_a_turn_of_fewer_beats_than_a_second_holds_takes_a_multiple_of_them_and_the_report_says_so(tmp_path, signals):
    song, beats_s = beat_song("click track", 140.0, 8.0, signals)  # 2 beats = 0.86 s, under the 1 s a turn may take
    options = render_options_for({**DRY, "sync": "beats", "beatsPerTurn": 2})
    report = convert_file(write_audio(tmp_path / "fast.wav", song, SR), tmp_path / "fast.8d.wav", options)
    assert (report.sync, report.beats_per_turn) == ("beats", 4)
    crossings_s = ild_zero_crossings_s(decode(tmp_path / "fast.8d.wav")[0])
    assert np.mean(crossings_s[2:] - crossings_s[:-2]) == pytest.approx(4 * 60.0 / 140.0, rel=0.01)


def test_a_beat_synced_orbit_follows_a_drifting_tempo(tmp_path, signals):
    song, beats_s = beat_song("drum loop", 116.0, 20.0, signals, seed=3, drift_bpm=16.0)  # 116 -> 132 BPM
    options = render_options_for({**DRY, "sync": "beats", "beatsPerTurn": 4})
    report = convert_file(write_audio(tmp_path / "drift.wav", song, SR), tmp_path / "drift.8d.wav", options)
    assert report.sync == "beats"
    out, _ = decode(tmp_path / "drift.8d.wav")
    crossings_s = ild_zero_crossings_s(out)
    crossings_s = crossings_s[crossings_s <= beats_s[-1] + 0.05]  # after the last beat the speed holds
    assert len(crossings_s) >= 2 * (len(beats_s) // 4) - 1
    assert np.abs(crossings_s[:, np.newaxis] - beats_s).min(axis=1).max() <= 0.030


def test_a_song_without_a_clear_beat_keeps_the_period_and_says_so(tmp_path, signals):
    pad = signals.sine(8.0, 220.0, amplitude=0.3, sample_rate=SR, channels=2)
    options = render_options_for({**DRY, "sync": "beats", "periodS": 2.0})
    report = convert_file(write_audio(tmp_path / "pad.wav", pad, SR), tmp_path / "pad.8d.wav", options)
    assert report.sync == "no clear beat" and report.tempo_bpm is None


def test_the_orbit_follows_a_speed_curve(tmp_path, signals):
    """Period 4 s until 2 s, then faster, to 2 s at 10 s: the ILD crosses 0 dB at every half turn of
    the turns integrated here from the curve's definition (speed 1/period, smoothstep between points)."""
    noise = np.repeat(signals.pink_noise(14.0, SR, seed=31), 2, axis=0)
    options = render_options_for({**DRY, "periodS": "2:4,10:2"})
    convert_file(write_audio(tmp_path / "curve.wav", noise, SR), tmp_path / "curve.8d.wav", options)
    out, _ = decode(tmp_path / "curve.8d.wav")
    times_s = np.arange(0, 14.0, 1e-3)
    x = np.clip((times_s - 2.0) / 8.0, 0.0, 1.0)
    speed = 1 / 4.0 + (1 / 2.0 - 1 / 4.0) * (3 * x**2 - 2 * x**3)
    turns = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2) * 1e-3])
    half_turns_s = np.interp(np.arange(0.5, turns[-1], 0.5), turns, times_s)
    crossings_s = ild_zero_crossings_s(out)
    assert len(crossings_s) == len(half_turns_s)
    assert np.abs(crossings_s - half_turns_s).max() <= 0.03
    # each turn's length (between crossings a turn apart) is the curve's, from 4 s down to 2 s
    periods_s, expected_s = crossings_s[2:] - crossings_s[:-2], half_turns_s[2:] - half_turns_s[:-2]
    np.testing.assert_allclose(periods_s, expected_s, rtol=0.02)
    assert expected_s[0] >= 3.4 and expected_s[-1] == pytest.approx(2.0, rel=0.01)


def test_the_effect_fades_in_from_the_original(tmp_path, signals):
    noise = np.repeat(signals.pink_noise(16.0, SR, seed=32), 2, axis=0)
    options = render_options_for({**DRY, "periodS": 2.0, "fadeInS": 8.0})
    convert_file(write_audio(tmp_path / "fade.wav", noise, SR), tmp_path / "fade.8d.wav", options)
    out, _ = decode(tmp_path / "fade.8d.wav")
    times_s, ild_db = analysis.ild_track_db(out, SR)
    swing_db = [np.ptp(ild_db[(times_s >= start) & (times_s < start + 2.0)]) for start in range(0, 16, 2)]
    assert swing_db[0] <= 0.25 * swing_db[-1], swing_db  # it starts as the original (L = R: no ILD)
    assert all(a < b for a, b in zip(swing_db[:3], swing_db[1:4], strict=True)), swing_db  # and grows
    assert min(swing_db[4:]) >= 0.9 * max(swing_db[4:]), swing_db  # whole after the fade


# ---------------------------------------------------------------- preview


def test_a_preview_is_thirty_seconds_of_the_loudest_part(tmp_path, signals):
    song = signals.pink_noise(80.0, SR, seed=33, channels=2, rms=0.01)
    song[:, 40 * SR : 70 * SR] *= 10.0  # 20 dB louder from 40 s to 70 s
    song[:, 10 * SR : 11 * SR] *= 30.0  # and one loud second elsewhere
    source = write_audio(tmp_path / "song.wav", song, SR, bit_depth=32)
    report = convert_file(source, tmp_path / "song.preview.wav", render_options_for({}), preview=True)
    out, _ = decode(tmp_path / "song.preview.wav")
    assert out.shape == (2, 30 * SR) and report.duration_s == 30.0
    assert report.preview_start_s == pytest.approx(40.0, abs=0.2)
    loudness = instruments.windowed_loudness_lufs(out[:, SR : 29 * SR], SR, 1.0, 1.0)
    assert loudness.max() - loudness.min() <= 3.0, loudness  # loud all through: none of the quiet part
