"""What is corrected in a song before the render: a DC offset does not reach the result, and
nothing of a song in opposite polarity (L = -R, or close) cancels in the render.

Measured on the decoded conversion with an instrument of the tests (``instruments``: long-term
1/3-octave levels from 100 Hz to 12.5 kHz, both channels' power, level-normalised), against the
input, the issue's 2 dB timbre bound. Before the repair, a music-like mix with its right channel
inverted read 6.6 dB (its bass gone) and pink noise L = -R 14.5 dB.
"""

from __future__ import annotations

import instruments
import numpy as np
import pytest
from audio_files import decode, write_audio

from surroundyou import cli
from surroundyou.engine.analysis import integrated_lufs
from surroundyou.engine.convert import convert_file
from surroundyou.engine.input_correction import probe
from surroundyou.job_options import render_options_for

SR = 44100
CLASSIC = render_options_for({})
RIGHT_INVERTED = np.array([[1.0], [-1.0]], dtype=np.float32)


@pytest.fixture(scope="module")
def music_at_03(signals):
    music = signals.music_like(6.0, SR, seed=3)
    return music / np.abs(music).max() * 0.3


def long_term_db(audio: np.ndarray) -> np.ndarray:
    _, levels = instruments.third_octave_levels_db(audio, SR, window_s=0.5, low_hz=100.0, high_hz=12500.0)
    level_db = 10 * np.log10((10 ** (levels / 10)).sum(axis=0).mean(axis=0))
    return level_db - level_db.mean()


def mixed(signals, correlation: float) -> np.ndarray:
    """Pink noise whose two channels have ``correlation``."""
    first, second = signals.pink_noise(6.0, SR, seed=31), signals.pink_noise(6.0, SR, seed=32)
    return np.concatenate([first, correlation * first + np.sqrt(1 - correlation**2) * second])


@pytest.mark.parametrize(
    "correlation, opposite", [(-1.0, True), (-0.6, True), (-0.4, False), (0.0, False), (0.9, False)]
)
def test_a_song_is_in_opposite_polarity_when_its_channels_correlate_at_or_below_minus_half(
    tmp_path, signals, correlation, opposite
):
    audio = mixed(signals, correlation)
    assert np.corrcoef(audio)[0, 1] == pytest.approx(correlation, abs=0.03)
    assert probe(write_audio(tmp_path / "song.wav", audio, SR)).right_inverted is opposite


def test_a_left_only_mono_or_silent_song_keeps_its_polarity(tmp_path, signals):
    pink = signals.pink_noise(2.0, SR, seed=33)
    for name, audio in (("left", np.concatenate([pink, np.zeros_like(pink)])), ("mono", pink), ("silent", 0 * pink)):
        assert not probe(write_audio(tmp_path / f"{name}.wav", audio, SR)).right_inverted, name


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_a_song_in_opposite_polarity_keeps_its_timbre_and_renders_like_the_song_itself(tmp_path, signals, mode):
    options = render_options_for({"mode": mode})
    song = signals.music_like(16.0, SR, seed=34)  # two turns: the long-term spectrum of whole orbits
    for name, audio in (("song", song), ("inverted", song * RIGHT_INVERTED)):
        source = write_audio(tmp_path / f"{name}.wav", audio, SR, bit_depth=32)  # float: exactly -x
        report = convert_file(source, tmp_path / f"{name}.8d.wav", options)
        assert report.right_inverted is (name == "inverted")
    inverted, _ = decode(tmp_path / "inverted.8d.wav")
    assert np.array_equal(inverted, decode(tmp_path / "song.8d.wav")[0])
    difference_db = long_term_db(inverted) - long_term_db(song * RIGHT_INVERTED)
    assert np.max(np.abs(difference_db)) <= 2.0, np.round(difference_db, 2)

    pink = signals.pink_noise(16.0, SR, seed=35)
    convert_file(
        write_audio(tmp_path / "pink.wav", np.concatenate([pink, -pink]), SR), tmp_path / "pink.8d.wav", options
    )
    difference_db = long_term_db(decode(tmp_path / "pink.8d.wav")[0]) - long_term_db(np.concatenate([pink, -pink]))
    assert np.max(np.abs(difference_db)) <= 2.0, np.round(difference_db, 2)


def test_the_beats_of_a_song_in_opposite_polarity_are_found(tmp_path, signals):
    """Beat sync reads onsets from the channels' mean, where L = -R drums cancel: no beat was found."""
    bpm, seconds = 120.0, 12.0
    song = np.zeros((1, round(seconds * SR)), dtype=np.float32)
    burst = signals.pink_noise(0.03, SR, seed=37, rms=0.3)[0] * np.exp(-np.arange(round(0.03 * SR)) / (0.005 * SR))
    for beat_s in np.arange(0.25, seconds - 0.1, 60.0 / bpm):
        start = round(beat_s * SR)
        song[0, start : start + burst.size] += burst
    options = render_options_for({"sync": "beats"})
    report = convert_file(
        write_audio(tmp_path / "drums.wav", song * RIGHT_INVERTED, SR), tmp_path / "drums.8d.wav", options
    )
    assert report.right_inverted and report.sync == "beats", report
    assert report.tempo_bpm == pytest.approx(bpm, rel=0.01)


def test_the_command_line_says_the_right_channel_was_inverted(tmp_path, signals, capsys):
    source = write_audio(tmp_path / "wired.wav", signals.music_like(3.0, SR, seed=36) * RIGHT_INVERTED, SR)
    assert cli.main(["convert", str(source), "-o", str(tmp_path / "wired.8d.mp3")]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps lines
    assert "wired.wav: its channels were in opposite polarity; the right one was inverted so nothing cancels" in printed


@pytest.mark.parametrize("offsets", [(0.6, 0.6), (0.05, -0.2), (0.002, -0.002)])
def test_a_dc_offset_is_measured_and_only_a_real_one_is_removed(tmp_path, signals, offsets):
    music = signals.music_like(3.0, SR, seed=38)
    song = music - music.mean(axis=1, keepdims=True) + np.array(offsets, dtype=np.float32)[:, np.newaxis]
    correction = probe(write_audio(tmp_path / "song.wav", song, SR, bit_depth=32))
    if max(map(abs, offsets)) >= 0.003:
        assert correction.offsets == pytest.approx(song.mean(axis=1), abs=1e-6)
    else:
        assert correction.offsets == ()


def test_a_dc_offset_does_not_reach_the_result(tmp_path, music_at_03):
    """Music (peak 0.3) riding on a 0.6 offset: the result had a 0.58 offset, and ended on a step
    from it; now its mean is zero and it ends as quietly as the same music without the offset,
    and it is as loud."""
    ends = {}
    for offset in (0.0, 0.6):
        source = write_audio(tmp_path / f"song{offset}.wav", music_at_03 + offset, SR)
        report = convert_file(source, tmp_path / f"song{offset}.8d.flac", CLASSIC)
        assert report.dc_offset_removed == pytest.approx(offset, abs=1e-3)
        out, _ = decode(tmp_path / f"song{offset}.8d.flac")
        assert np.all(np.abs(out.mean(axis=1)) < 1e-3)
        ends[offset] = np.abs(out[:, -SR // 100 :]).max()
        assert abs(integrated_lufs(out, SR) - integrated_lufs(music_at_03, SR)) <= 0.5
    assert ends[0.6] < ends[0.0] + 0.01


def test_the_command_line_says_a_dc_offset_was_removed(tmp_path, music_at_03, capsys):
    source = write_audio(tmp_path / "offset.wav", music_at_03 + 0.25, SR)
    assert cli.main(["convert", str(source), "-o", str(tmp_path / "offset.8d.mp3")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "offset.wav: a DC offset of 0.250 was removed" in printed
