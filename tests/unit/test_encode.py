"""Streaming writers: every output format, resolutions kept, dither, MP3 qualities."""

from __future__ import annotations

import mutagen.mp3
import numpy as np
import pytest
from audio_files import decode, stereo_tone
from pedalboard.io import AudioFile

from surroundyou.engine.encode import (
    MP3_CBR_KBPS,
    SILENT_RUN_FRAMES,
    AudioWriter,
    check_mp3_quality,
    output_bit_depth,
)

SR = 44100


def test_lossless_outputs_keep_the_resolution():
    assert output_bit_depth("flac", "int16") == 16
    assert output_bit_depth("wav", "int16") == 16
    assert output_bit_depth("flac", "int24") == 24
    assert output_bit_depth("wav", "int24") == 24
    assert output_bit_depth("wav", "float32") == 32  # float WAV
    assert output_bit_depth("flac", "float32") == 24  # FLAC holds at most 24 bits
    assert output_bit_depth("mp3", "int24") is None


def test_sixteen_bit_output_is_tpdf_dithered_and_deterministic(tmp_path):
    """A DC of 0.3 LSB truncates to silence without dither; with TPDF dither its mean survives."""
    level = 0.3 / 32767
    block = np.full((2, 200_000), level, dtype=np.float32)
    for name in ("one.wav", "two.wav"):
        with AudioWriter(tmp_path / name, "wav", SR, 2, bit_depth=16) as writer:
            writer.write(block)
    assert (tmp_path / "one.wav").read_bytes() == (tmp_path / "two.wav").read_bytes()
    with AudioFile(str(tmp_path / "one.wav")) as written:
        assert written.file_dtype == "int16"
        samples = written.read_raw(written.frames).astype(np.float64)
    assert abs(samples.mean() - 0.3) < 0.01
    assert set(np.unique(samples)) <= {-1.0, 0.0, 1.0, 2.0}  # error within +-1 LSB (triangular)


def test_digital_silence_is_written_silent_at_sixteen_bits(tmp_path, signals):
    """The dither is left out of silent runs: a song's silent start read -84 dBFS of noise (the run
    where the music starts is dithered whole)."""
    song = np.concatenate([np.zeros((2, SR), np.float32), signals.music_like(1.0, SR, seed=2)], axis=1)
    with AudioWriter(tmp_path / "song.flac", "flac", SR, 2, bit_depth=16) as writer:
        writer.write(song)
    with AudioFile(str(tmp_path / "song.flac")) as written:
        samples = written.read_raw(written.frames)
    assert not samples[:, : SR - SILENT_RUN_FRAMES].any()
    assert np.count_nonzero(samples[:, SR:]) > 0.99 * samples[:, SR:].size


def test_writers_make_each_format(tmp_path):
    audio = stereo_tone(1.0)
    expectations = {"mp3": "float32", "ogg": "float32", "flac": "int24", "wav": "float32"}
    for fmt, dtype in expectations.items():
        bit_depth = {"flac": 24, "wav": 32}.get(fmt)
        with AudioWriter(tmp_path / f"out.{fmt}", fmt, SR, 2, bit_depth=bit_depth) as writer:
            writer.write(audio)
        with AudioFile(str(tmp_path / f"out.{fmt}")) as written:
            assert written.file_dtype == dtype
            assert (written.samplerate, written.num_channels) == (SR, 2)


def test_mp3_quality_is_320k_cbr_by_default_or_v0(tmp_path):
    audio = np.random.default_rng(0).standard_normal((2, 3 * SR)).astype(np.float32) * 0.1
    with AudioWriter(tmp_path / "cbr.mp3", "mp3", SR, 2) as writer:
        writer.write(audio)
    with AudioWriter(tmp_path / "vbr.mp3", "mp3", SR, 2, mp3_quality="V0") as writer:
        writer.write(audio)
    cbr, vbr = mutagen.mp3.MP3(tmp_path / "cbr.mp3").info, mutagen.mp3.MP3(tmp_path / "vbr.mp3").info
    assert (cbr.bitrate_mode, cbr.bitrate) == (mutagen.mp3.BitrateMode.CBR, 320000)
    assert vbr.bitrate_mode == mutagen.mp3.BitrateMode.VBR
    assert check_mp3_quality("v0") == "V0" and check_mp3_quality(192) == "192"
    with pytest.raises(ValueError, match="MP3 quality"):
        check_mp3_quality("999")


@pytest.mark.parametrize("quality", [*MP3_CBR_KBPS, "V9"])
def test_every_mp3_quality_keeps_the_songs_start_and_length(tmp_path, quality):
    """Each carries the LAME header that gives the encoder's delay and padding (32-56 kbps, whose
    frames cannot hold it, came out 30-42 ms long and are no longer offered)."""
    tone = np.sin(2 * np.pi * 440.0 * np.arange(SR) / SR).astype(np.float32) * 0.3
    audio = np.stack([tone, tone])
    audio[:, :1000] = 0.0  # silence, then the tone: where it starts shows any delay
    with AudioWriter(tmp_path / "q.mp3", "mp3", SR, 2, mp3_quality=quality) as writer:
        writer.write(audio)
    decoded, _ = decode(tmp_path / "q.mp3")
    assert decoded.shape[1] == SR
    assert np.argmax(np.abs(decoded[0]) > 0.1) == pytest.approx(np.argmax(np.abs(audio[0]) > 0.1), abs=2)
    with pytest.raises(ValueError, match="MP3 quality"):
        check_mp3_quality("56")
