"""Streaming readers and writers: every input format, exact lengths, resolutions, bad files."""
from __future__ import annotations

import mutagen.mp3
import numpy as np
import pytest
from audio_files import decode, stereo_tone, tiny_png, write_audio
from pedalboard.io import AudioFile

from surroundyou.audio_io import (
    AudioInputError,
    AudioWriter,
    check_mp3_quality,
    open_audio,
    output_bit_depth,
    output_sample_rate,
    resampled,
)

SR = 44100


@pytest.mark.parametrize("fmt, decoder", [("wav", "pedalboard"), ("flac", "pedalboard"), ("mp3", "pedalboard"),
                                          ("ogg", "pedalboard"), ("aiff", "pedalboard"), ("m4a", "ffmpeg"),
                                          ("opus", "ffmpeg"), ("webm", "ffmpeg")])
def test_every_input_format_decodes_in_blocks_to_the_written_audio(tmp_path, fmt, decoder):
    audio = stereo_tone(1.5)
    path = write_audio(tmp_path / f"song.{fmt}", audio, SR)
    with open_audio(path) as source:
        info = source.info
        blocks = list(source.blocks(block_frames=8192))
    decoded = np.concatenate(blocks, axis=1)
    assert (info.decoder, info.channels) == (decoder, 2)
    assert max(block.shape[1] for block in blocks) <= 8192
    if fmt in ("opus", "webm"):   # Opus always decodes at 48 kHz
        assert info.sample_rate == 48000
        assert abs(decoded.shape[1] - round(1.5 * 48000)) <= 960
        return
    assert info.sample_rate == SR
    assert decoded.shape[1] == audio.shape[1], "decoders trim the codec delay and padding"
    # the same samples at the same times: 440 Hz left, 660 Hz right, no shift
    assert np.corrcoef(decoded[0], audio[0])[0, 1] > 0.999
    assert np.corrcoef(decoded[1], audio[1])[0, 1] > 0.999
    if fmt in ("wav", "flac", "aiff"):
        np.testing.assert_allclose(decoded, audio, atol=1.5 / 32767)


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 48000])
def test_mp3_decodes_gapless_at_every_mpeg_version(tmp_path, sample_rate):
    """pedalboard returns the LAME encoder delay and padding as audio; the reader trims them."""
    frames = sample_rate + 777
    audio = np.zeros((2, frames), dtype=np.float32)
    audio[:, 1000] = 0.9
    write_audio(tmp_path / "click.mp3", audio, sample_rate, quality=320)
    with AudioFile(str(tmp_path / "click.mp3")) as raw:
        assert raw.frames > frames   # what pedalboard alone delivers
    decoded, rate = decode(tmp_path / "click.mp3")
    assert rate == sample_rate
    assert decoded.shape[1] == frames
    assert int(np.argmax(np.abs(decoded[0]))) == 1000


def test_mono_and_multichannel_files(tmp_path):
    mono = stereo_tone(1.0)[:1]
    for fmt in ("wav", "mp3", "flac"):
        with open_audio(write_audio(tmp_path / f"mono.{fmt}", mono, SR)) as source:
            assert source.info.channels == 1
            assert next(source.blocks()).shape[0] == 1
    # more than two channels: ffmpeg downmixes to stereo
    surround = np.tile(stereo_tone(1.0), (3, 1))
    with open_audio(write_audio(tmp_path / "surround.wav", surround, SR)) as source:
        assert (source.info.decoder, source.info.channels) == ("ffmpeg", 2)
        assert np.concatenate(list(source.blocks()), axis=1).shape == (2, SR)


@pytest.mark.parametrize("name, bit_depth, expected", [
    ("a.wav", 16, "int16"), ("b.wav", 24, "int24"), ("c.wav", 32, "float32"), ("d.flac", 16, "int16"),
    ("e.flac", 24, "int24"), ("f.aiff", 24, "int24"), ("g.mp3", 16, "float32"), ("h.ogg", 16, "float32"),
    ("i.m4a", 16, "float32")])
def test_the_source_resolution_is_known(tmp_path, name, bit_depth, expected):
    path = write_audio(tmp_path / name, stereo_tone(0.5), SR, bit_depth=bit_depth)
    with open_audio(path) as source:
        assert source.info.sample_format == expected


def test_lossless_outputs_keep_the_resolution():
    assert output_bit_depth("flac", "int16") == 16
    assert output_bit_depth("wav", "int16") == 16
    assert output_bit_depth("flac", "int24") == 24
    assert output_bit_depth("wav", "int24") == 24
    assert output_bit_depth("wav", "float32") == 32     # float WAV
    assert output_bit_depth("flac", "float32") == 24    # FLAC holds at most 24 bits
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
    assert set(np.unique(samples)) <= {-1.0, 0.0, 1.0, 2.0}    # error within +-1 LSB (triangular)


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


def test_mp3_rates_and_resampling():
    assert [output_sample_rate("mp3", rate) for rate in (8000, 44100, 48000, 96000, 88200, 37800, 7000)] == \
        [8000, 44100, 48000, 48000, 44100, 44100, 8000]
    assert output_sample_rate("flac", 96000) == 96000
    audio = np.zeros((2, 96000 * 2), dtype=np.float32)
    audio[:, 96000] = 1.0
    blocks = (audio[:, start:start + 10000] for start in range(0, audio.shape[1], 10000))
    out = np.concatenate(list(resampled(blocks, 96000, 48000, 2)), axis=1)
    assert out.shape == (2, 96000)
    assert int(np.argmax(out[0])) == 48000   # aligned, same length in seconds


def _truncated(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    return path


def _file(directory, name, content):
    path = directory / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda d: _file(d, "empty.mp3", b""), "the file is empty"),
    (lambda d: _file(d, "notes.mp3", b"not music\n" * 100), "not an audio file"),
    (lambda d: _file(d, "cover.mp3", tiny_png()), "no audio stream"),
    (lambda d: _file(d, "data.xyz", bytes(range(256)) * 40), "not an audio file"),
    (lambda d: _truncated(write_audio(d / "cut.mp3", stereo_tone(3.0), SR)), "cut short"),
    (lambda d: _truncated(write_audio(d / "cut.wav", stereo_tone(3.0), SR)), "cut short"),
    (lambda d: d / "missing.flac", "no such file"),
])
def test_bad_inputs_name_the_file_and_the_reason(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(AudioInputError) as caught:
        with open_audio(path) as source:
            for _ in source.blocks():
                pass
    assert str(caught.value).startswith(f"{path.name}: ")
    assert reason in str(caught.value)


def test_a_damaged_flac_fails_its_md5_check(tmp_path):
    """pedalboard fills a cut-off FLAC with silence; the stream's MD5 signature catches it."""
    for bit_depth in (16, 24):
        good = write_audio(tmp_path / f"good{bit_depth}.flac", stereo_tone(3.0), SR, bit_depth=bit_depth)
        assert decode(good)[0].shape[1] == 3 * SR          # the check passes on an intact file
        cut = _truncated(write_audio(tmp_path / f"cut{bit_depth}.flac", stereo_tone(3.0), SR,
                                     bit_depth=bit_depth), 0.7)
        with pytest.raises(AudioInputError, match="MD5"):
            decode(cut)
