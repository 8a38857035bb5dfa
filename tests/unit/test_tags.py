"""Tags and cover art survive the trip between tag systems (ID3, Vorbis comments, MP4 atoms).
(Sources ffmpeg encodes, M4A and Opus: tests/integration/test_ffmpeg_inputs.py.)"""

from __future__ import annotations

import pytest
from audio_files import stereo_tone, write_audio
from tagged_songs import SR, assert_tags_survive

from surroundyou.engine.tags import Tags, copy_tags, read_tags


@pytest.mark.parametrize(
    "src_fmt, dst_fmt", [("mp3", "flac"), ("flac", "mp3"), ("ogg", "wav"), ("wav", "flac"), ("mp3", "ogg")]
)
def test_tags_and_cover_survive_between_formats(tmp_path, src_fmt, dst_fmt):
    assert_tags_survive(tmp_path, src_fmt, dst_fmt)


def test_a_file_without_tags_copies_nothing(tmp_path):
    source = write_audio(tmp_path / "plain.wav", stereo_tone(0.5), SR)
    target = write_audio(tmp_path / "target.mp3", stereo_tone(0.5), SR)
    assert copy_tags(source, target) == Tags()
    assert read_tags(target) == Tags()


def test_damaged_tags_do_not_stop_anything(tmp_path):
    path = write_audio(tmp_path / "song.mp3", stereo_tone(0.5), SR)
    path.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\xff" * 64 + path.read_bytes())
    assert read_tags(path) == Tags()
