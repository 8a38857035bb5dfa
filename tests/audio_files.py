"""Audio files made in code for the engine's tests (no binary fixtures in the repository), and the
checks the decoder tests of both tiers make on them.

pedalboard writes WAV, FLAC, MP3, OGG and AIFF; the ffmpeg of imageio-ffmpeg encodes M4A/AAC,
Opus and WebM from a WAV.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from pedalboard.io import AudioFile

from surroundyou.engine.decode import AudioInputError, open_audio

FFMPEG_CODECS = {
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
    "opus": ["-c:a", "libopus", "-b:a", "128k"],
    "webm": ["-c:a", "libopus", "-b:a", "128k"],
}


def write_audio(
    path: Path, audio: np.ndarray, sample_rate: int, *, bit_depth: int = 16, quality: str | int | None = None
) -> Path:
    """``audio`` (channels, frames) into ``path``; m4a/opus/webm go through a WAV and ffmpeg."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt in FFMPEG_CODECS:
        wav = path.with_suffix(".source.wav")
        write_audio(wav, audio, sample_rate, bit_depth=24)
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-i",
                str(wav),
                *FFMPEG_CODECS[fmt],
                str(path),
            ],
            check=True,
        )
        wav.unlink()
        return path
    with AudioFile(str(path), "w", sample_rate, audio.shape[0], bit_depth=bit_depth, quality=quality) as out:
        out.write(np.asarray(audio, dtype=np.float32))
    return path


def decode(path: Path) -> tuple[np.ndarray, int]:
    """The whole file decoded by the engine's reader: (audio (channels, frames), sample rate)."""
    with open_audio(path) as source:
        return np.concatenate(list(source.blocks()), axis=1), source.info.sample_rate


def assert_decodes_to_the_written_audio(directory: Path, fmt: str, decoder: str, sample_rate: int = 44100) -> None:
    """A 1.5 s stereo tone written as ``fmt`` decodes in blocks by ``decoder`` to the same samples."""
    audio = stereo_tone(1.5, sample_rate)
    path = write_audio(directory / f"song.{fmt}", audio, sample_rate)
    with open_audio(path) as source:
        info = source.info
        blocks = list(source.blocks(block_frames=8192))
    decoded = np.concatenate(blocks, axis=1)
    assert (info.decoder, info.channels) == (decoder, 2)
    assert max(block.shape[1] for block in blocks) <= 8192
    if fmt in ("opus", "webm"):  # Opus always decodes at 48 kHz
        assert info.sample_rate == 48000
        assert abs(decoded.shape[1] - round(1.5 * 48000)) <= 960
        return
    assert info.sample_rate == sample_rate
    assert decoded.shape[1] == audio.shape[1], "decoders trim the codec delay and padding"
    # the same samples at the same times: 440 Hz left, 660 Hz right, no shift
    assert np.corrcoef(decoded[0], audio[0])[0, 1] > 0.999
    assert np.corrcoef(decoded[1], audio[1])[0, 1] > 0.999
    if fmt in ("wav", "flac", "aiff"):
        np.testing.assert_allclose(decoded, audio, atol=1.5 / 32767)


def assert_refused(path: Path, reason: str) -> None:
    """Decoding ``path`` raises AudioInputError ``"<file name>: ..."`` that gives ``reason``."""
    with pytest.raises(AudioInputError) as caught:
        with open_audio(path) as source:
            for _ in source.blocks():
                pass
    assert str(caught.value).startswith(f"{path.name}: ")
    assert reason in str(caught.value)


def stereo_tone(seconds: float, sample_rate: int = 44100, amplitude: float = 0.4) -> np.ndarray:
    """Different sines left (440 Hz) and right (660 Hz) plus a click at 0.25 s, float32 (2, n)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    audio = np.stack([amplitude * np.sin(2 * np.pi * 440 * t), amplitude * np.sin(2 * np.pi * 660 * t)])
    audio[:, int(0.25 * sample_rate)] = 0.95
    return audio.astype(np.float32)


def tiny_png() -> bytes:
    """A valid 1x1 RGB PNG (cover art for tag tests, an image posing as a song for error tests)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00"))
        + chunk(b"IEND", b"")
    )
