"""What the engine reads through the ffmpeg subprocess (imageio-ffmpeg): M4A/AAC, Opus, WebM, more
than two channels, files that are no audio at all, and the tags of songs ffmpeg encodes."""

from __future__ import annotations

import numpy as np
import pytest
from audio_files import (
    assert_decodes_to_the_written_audio,
    assert_refused,
    stereo_tone,
    tiny_png,
    write_audio,
)
from known_cues import PERIOD_S, rendered_looking_song
from tagged_songs import assert_tags_survive

from surroundyou.engine import analysis
from surroundyou.engine.convert import convert_file
from surroundyou.engine.decode import AudioInputError, open_audio
from surroundyou.job_options import render_options_for

SR = 44100
CLASSIC = render_options_for({})


@pytest.fixture(scope="module")
def music(signals):
    return signals.music_like(6.0, SR, seed=3)


@pytest.mark.parametrize("fmt", ["m4a", "opus", "webm"])
def test_every_input_format_decodes_in_blocks_to_the_written_audio(tmp_path, fmt):
    assert_decodes_to_the_written_audio(tmp_path, fmt, "ffmpeg")


def test_more_than_two_channels_are_downmixed_to_stereo(tmp_path):
    surround = np.tile(stereo_tone(1.0), (3, 1))
    with open_audio(write_audio(tmp_path / "surround.wav", surround, SR)) as source:
        assert (source.info.decoder, source.info.channels) == ("ffmpeg", 2)
        assert np.concatenate(list(source.blocks()), axis=1).shape == (2, SR)


def test_the_source_resolution_is_known(tmp_path):
    with open_audio(write_audio(tmp_path / "i.m4a", stereo_tone(0.5), SR, bit_depth=16)) as source:
        assert source.info.sample_format == "float32"


def _file(directory, name, content):
    path = directory / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("notes.mp3", b"not music\n" * 100, "not an audio file"),
        ("cover.mp3", tiny_png(), "no audio stream"),
        ("data.xyz", bytes(range(256)) * 40, "not an audio file"),
    ],
)
def test_bad_inputs_name_the_file_and_the_reason(tmp_path, name, content, reason):
    assert_refused(_file(tmp_path, name, content), reason)


def test_a_tag_without_audio_and_cut_m4a_and_opus_files_say_so(tmp_path):
    """Two read "not an audio file": an MP3 tag (here ID3v2.3 with 64 bytes of padding) with no
    frames after it, and an M4A whose download stopped before its index (written last); half an
    Opus file converted as a shorter song."""
    assert_refused(_file(tmp_path, "tag.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x40" + bytes(64)), "an MP3 tag")
    cut = write_audio(tmp_path / "cut.m4a", stereo_tone(3.0), SR)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    assert_refused(cut, "the M4A/MP4 file is cut short or damaged")
    opus = write_audio(tmp_path / "cut.opus", stereo_tone(3.0), SR)
    opus.write_bytes(opus.read_bytes()[: opus.stat().st_size // 2])
    assert_refused(opus, "its Ogg stream stops before its end")


@pytest.mark.parametrize("fmt", ["m4a", "opus"])
def test_ffmpeg_inputs_convert(tmp_path, music, fmt):
    source = write_audio(tmp_path / f"song.{fmt}", music[:, : 3 * SR], SR)
    report = convert_file(source, tmp_path / "song.8d.mp3", CLASSIC)
    assert report.duration_s == pytest.approx(3.0, abs=0.03)
    assert abs(report.output_lufs - report.input_lufs) <= 1.0


def _bad_inputs(directory):
    cut = write_audio(directory / "cut.mp3", stereo_tone(3.0), SR)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    files = {
        "empty.mp3": b"",
        "letter.mp3": b"Dear listener,\n" * 50,
        "picture.png": tiny_png(),
        "unknown.xyz": bytes(range(256)) * 20,
    }
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return [cut] + [directory / name for name in files]


def test_bad_inputs_raise_a_clear_error_and_leave_no_output(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for bad in _bad_inputs(inputs):
        out_dir = tmp_path / f"out-{bad.stem}"
        with pytest.raises(AudioInputError) as caught:
            convert_file(bad, out_dir / f"{bad.stem}.8d.mp3", CLASSIC)
        assert str(caught.value).startswith(f"{bad.name}: ")
        assert len(str(caught.value)) > len(bad.name) + 10
        assert list(out_dir.iterdir()) == [], "no partial or temporary file is left"


def test_analyze_file_reads_what_ffmpeg_decodes(signals, tmp_path):
    seconds = 10.0
    stereo = rendered_looking_song(signals, seconds)
    path = tmp_path / "orbit.m4a"
    write_audio(path, 0.5 * stereo, SR)
    report, _ = analysis.analyze_file(path)
    assert report["period_s"] == pytest.approx(PERIOD_S, rel=0.01)
    assert report["ild_amplitude_db"] == pytest.approx(10.0, rel=0.1)
    assert report["itd_amplitude_ms"] == pytest.approx(0.6, rel=0.1)


@pytest.mark.parametrize("src_fmt, dst_fmt", [("m4a", "ogg"), ("opus", "mp3"), ("m4a", "mp3")])
def test_tags_and_cover_survive_between_formats(tmp_path, src_fmt, dst_fmt):
    assert_tags_survive(tmp_path, src_fmt, dst_fmt)
