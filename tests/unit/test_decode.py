"""Streaming readers: every input format pedalboard reads, exact lengths, resolutions, bad files.
(What the ffmpeg subprocess decodes: tests/integration/test_ffmpeg_inputs.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from audio_files import assert_decodes_to_the_written_audio, assert_refused, decode, stereo_tone, write_audio
from pedalboard.io import AudioFile

from surroundyou.engine.decode import AudioInputError, open_audio, resampled
from surroundyou.engine.encode import output_sample_rate

SR = 44100


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg", "aiff"])
def test_every_input_format_decodes_in_blocks_to_the_written_audio(tmp_path, fmt):
    assert_decodes_to_the_written_audio(tmp_path, fmt, "pedalboard")


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 48000])
def test_mp3_decodes_gapless_at_every_mpeg_version(tmp_path, sample_rate):
    """pedalboard returns the LAME encoder delay and padding as audio; the reader trims them."""
    frames = sample_rate + 777
    audio = np.zeros((2, frames), dtype=np.float32)
    audio[:, 1000] = 0.9
    write_audio(tmp_path / "click.mp3", audio, sample_rate, quality=320)
    with AudioFile(str(tmp_path / "click.mp3")) as raw:
        assert raw.frames > frames  # what pedalboard alone delivers
    decoded, rate = decode(tmp_path / "click.mp3")
    assert rate == sample_rate
    assert decoded.shape[1] == frames
    assert int(np.argmax(np.abs(decoded[0]))) == 1000


def test_a_file_named_as_another_format_is_checked_and_trimmed_as_what_it_holds(tmp_path):
    """An MP3 named .wav was decoded with the encoder's delay and padding (1836 frames, 41.6 ms, more)."""
    frames = SR + 777
    audio = np.zeros((2, frames), dtype=np.float32)
    audio[:, 1000] = 0.9
    mp3 = write_audio(tmp_path / "click.mp3", audio, SR, quality=320)
    named_wav = tmp_path / "click.wav"
    named_wav.write_bytes(mp3.read_bytes())
    decoded, _ = decode(named_wav)
    assert decoded.shape[1] == frames and int(np.argmax(np.abs(decoded[0]))) == 1000
    assert open_audio(named_wav).info.sample_format == "float32"  # lossy, whatever its name

    wav = write_audio(tmp_path / "tone.wav", stereo_tone(1.0), SR)
    named_mp3 = tmp_path / "tone.mp3"
    named_mp3.write_bytes(wav.read_bytes()[:-SR])  # half a second cut off: caught as a WAV's shortfall
    with pytest.raises(AudioInputError, match="tone.mp3: the file is cut short"):
        open_audio(named_mp3)


def test_mono_files(tmp_path):
    mono = stereo_tone(1.0)[:1]
    for fmt in ("wav", "mp3", "flac"):
        with open_audio(write_audio(tmp_path / f"mono.{fmt}", mono, SR)) as source:
            assert source.info.channels == 1
            assert next(source.blocks()).shape[0] == 1


@pytest.mark.parametrize(
    "name, bit_depth, expected",
    [
        ("a.wav", 16, "int16"),
        ("b.wav", 24, "int24"),
        ("c.wav", 32, "float32"),
        ("d.flac", 16, "int16"),
        ("e.flac", 24, "int24"),
        ("f.aiff", 24, "int24"),
        ("g.mp3", 16, "float32"),
        ("h.ogg", 16, "float32"),
    ],
)
def test_the_source_resolution_is_known(tmp_path, name, bit_depth, expected):
    path = write_audio(tmp_path / name, stereo_tone(0.5), SR, bit_depth=bit_depth)
    with open_audio(path) as source:
        assert source.info.sample_format == expected


def test_mp3_rates_low_rates_and_resampling():
    assert [output_sample_rate("mp3", rate) for rate in (8000, 44100, 48000, 96000, 88200, 37800, 7000)] == [
        48000,
        44100,
        48000,
        48000,
        44100,
        44100,
        48000,
    ]
    assert output_sample_rate("flac", 96000) == 96000
    # under 32 kHz the limiter's band limit would cut audible treble: up to a multiple of the rate
    assert [output_sample_rate("flac", rate) for rate in (11025, 22050, 16000, 24000, 32000)] == [
        44100,
        44100,
        48000,
        48000,
        32000,
    ]
    audio = np.zeros((2, 96000 * 2), dtype=np.float32)
    audio[:, 96000] = 1.0
    blocks = (audio[:, start : start + 10000] for start in range(0, audio.shape[1], 10000))
    out = np.concatenate(list(resampled(blocks, 96000, 48000, 2)), axis=1)
    assert out.shape == (2, 96000)
    assert int(np.argmax(out[0])) == 48000  # aligned, same length in seconds


def _truncated(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _file(directory, name, content):
    path = directory / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda d: _file(d, "empty.mp3", b""), "the file is empty"),
        (
            lambda d: write_audio(d / "three.wav", np.full((2, 3), 0.1, np.float32), SR),
            "too short to convert: 3 samples",
        ),
        (
            lambda d: write_audio(d / "five.flac", np.full((2, 5), 0.1, np.float32), 96000),
            "too short to convert: 5 samples",
        ),
        (
            lambda d: write_audio(d / "one.wav", np.full((2, 1), 0.1, np.float32), SR),
            "too short to convert: 1 sample (",
        ),
        (  # the limiter's fades would leave it 3 dB quieter
            lambda d: write_audio(d / "blip.wav", np.full((2, 200), 0.1, np.float32), SR),
            "too short to convert: 200 samples (4.5 ms), under 10 ms",
        ),
        (lambda d: _truncated(write_audio(d / "cut.mp3", stereo_tone(3.0), SR)), "cut short"),
        (lambda d: _truncated(write_audio(d / "cut.wav", stereo_tone(3.0), SR)), "cut short"),
        (lambda d: _truncated(write_audio(d / "cut.aiff", stereo_tone(3.0), SR)), "cut short"),
        (lambda d: _truncated(write_audio(d / "cut.ogg", stereo_tone(3.0), SR)), "its Ogg stream stops before its end"),
        (lambda d: d / "missing.flac", "no such file"),
        (lambda d: d, "a folder, not a file"),
    ],
)
def test_bad_inputs_name_the_file_and_the_reason(tmp_path, make, reason):
    assert_refused(make(tmp_path), reason)


def test_a_wav_written_while_streaming_decodes_to_its_audio_and_no_more(tmp_path):
    """``ffmpeg ... -f wav -`` leaves the data chunk's size at 0xFFFFFFFF: read by its header, a 3 s
    file held 6.8 hours (pedalboard reads silence past its end), and converting it ran for hours."""
    path = write_audio(tmp_path / "piped.wav", stereo_tone(3.0), SR)
    data = bytearray(path.read_bytes())
    data_chunk = data.find(b"data")
    data[data_chunk + 4 : data_chunk + 8] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    with open_audio(path) as source:
        assert source.info.frames == 3 * SR
    audio, _ = decode(path)
    np.testing.assert_allclose(audio, stereo_tone(3.0), atol=1e-4)


def test_mp3s_joined_end_to_end_decode_whole(tmp_path):
    """``cat a.mp3 b.mp3``: pedalboard stops where the first one's header says it ends, and the
    second half of the song was lost without a word; ffmpeg reads both (and the join's gap)."""
    part = write_audio(tmp_path / "part.mp3", stereo_tone(2.0), SR).read_bytes()
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(part + part)
    audio, _ = decode(joined)
    assert audio.shape[1] == pytest.approx(4 * SR, abs=0.1 * SR)


def test_a_damaged_flac_fails_its_md5_check(tmp_path):
    """pedalboard fills a cut-off FLAC with silence; the stream's MD5 signature catches it."""
    for bit_depth in (16, 24):
        good = write_audio(tmp_path / f"good{bit_depth}.flac", stereo_tone(3.0), SR, bit_depth=bit_depth)
        assert decode(good)[0].shape[1] == 3 * SR  # the check passes on an intact file
        cut = _truncated(write_audio(tmp_path / f"cut{bit_depth}.flac", stereo_tone(3.0), SR, bit_depth=bit_depth), 0.7)
        with pytest.raises(AudioInputError, match="MD5"):
            decode(cut)
