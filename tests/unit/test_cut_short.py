"""The one answer to "is this file cut short?", shared by the engine and the upload check."""

from __future__ import annotations

import io
import struct

import pytest
from audio_files import stereo_tone
from pedalboard.io import AudioFile

from surroundyou_formats.cut_short import ogg_stream_unfinished, read_xing, shortfall, streamed_wav_frames

SR = 44100


def encoded(fmt: str, seconds: float = 2.0) -> bytes:
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", SR, 2, format=fmt, quality=320 if fmt == "mp3" else None) as file:
        file.write(stereo_tone(seconds))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["wav", "aiff", "mp3"])
def test_a_whole_file_is_complete_and_half_of_it_is_not(fmt):
    data = encoded(fmt)
    assert shortfall(io.BytesIO(data), fmt) is None
    missing = shortfall(io.BytesIO(data[: len(data) // 2]), fmt)
    assert missing is not None and missing.fraction_present == pytest.approx(0.5, abs=0.02)


def test_a_few_bytes_short_is_short_for_pcm_but_within_the_mp3_slack():
    wav, mp3 = encoded("wav"), encoded("mp3")
    assert shortfall(io.BytesIO(wav[:-4]), "wav") is not None
    assert shortfall(io.BytesIO(mp3[:-1000]), "mp3") is None


def streamed(wav: bytes, size: int = 0xFFFFFFFF) -> bytes:
    """``wav`` as ``ffmpeg ... -f wav -`` writes it: the data chunk's size never filled in."""
    data = bytearray(wav)
    data_chunk = data.find(b"data")
    data[data_chunk + 4 : data_chunk + 8] = struct.pack("<I", size)
    return bytes(data)


def test_a_wav_written_while_streaming_does_not_say_its_size():
    assert shortfall(io.BytesIO(streamed(encoded("wav"))[: len(encoded("wav")) // 2]), "wav") is None


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0])
def test_a_wav_written_while_streaming_holds_what_its_file_holds(size):
    """Not the 6.8 hours its header says: the frames are counted from the file's size."""
    assert streamed_wav_frames(io.BytesIO(streamed(encoded("wav"), size))) == 2 * SR
    assert streamed_wav_frames(io.BytesIO(encoded("wav"))) is None
    assert streamed_wav_frames(io.BytesIO(encoded("aiff"))) is None


def test_formats_whose_header_does_not_say_are_not_judged():
    assert shortfall(io.BytesIO(encoded("flac")[:1000]), "flac") is None
    assert shortfall(io.BytesIO(b"not audio at all" * 10), "mp3") is None
    assert shortfall(io.BytesIO(b"RIFF\0\0\0\0WAVEfmt "), "wav") is None


def test_an_ogg_is_cut_when_its_last_whole_page_does_not_end_its_stream():
    """Ogg declares no length: a decoder plays half a download as a shorter song without a word."""
    whole = encoded("ogg", 4.0)
    assert not ogg_stream_unfinished(io.BytesIO(whole))
    assert not ogg_stream_unfinished(io.BytesIO(whole + b"TAG" + bytes(125)))  # an ID3v1 tag a tagger appended
    assert ogg_stream_unfinished(io.BytesIO(whole[: len(whole) // 2]))
    assert ogg_stream_unfinished(io.BytesIO(whole[:-10]))  # the last page's checksum no longer holds
    assert ogg_stream_unfinished(io.BytesIO(b"OggS" + bytes(100)))


def test_the_lame_tag_gives_the_encoder_delay_and_padding():
    import mutagen.mp3

    file = io.BytesIO(encoded("mp3"))
    header = read_xing(file, mutagen.mp3.MP3(file).info)
    assert header is not None and header.frames and header.audio_bytes
    delay, padding = header.encoder_delay_and_padding
    assert delay > 0 and header.frames * 1152 - delay - padding == 2 * SR
