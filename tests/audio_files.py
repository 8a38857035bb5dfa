"""Audio files made in code for the engine's I/O tests (no binary fixtures in the repository).

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
from pedalboard.io import AudioFile

from surroundyou.audio_io import open_audio

FFMPEG_CODECS = {"m4a": ["-c:a", "aac", "-b:a", "192k"], "opus": ["-c:a", "libopus", "-b:a", "128k"],
                 "webm": ["-c:a", "libopus", "-b:a", "128k"]}


def write_audio(path: Path, audio: np.ndarray, sample_rate: int, *, bit_depth: int = 16,
                quality: str | int | None = None) -> Path:
    """``audio`` (channels, frames) into ``path``; m4a/opus/webm go through a WAV and ffmpeg."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt in FFMPEG_CODECS:
        wav = path.with_suffix(".source.wav")
        write_audio(wav, audio, sample_rate, bit_depth=24)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(wav),
                        *FFMPEG_CODECS[fmt], str(path)], check=True)
        wav.unlink()
        return path
    with AudioFile(str(path), "w", sample_rate, audio.shape[0], bit_depth=bit_depth, quality=quality) as out:
        out.write(np.asarray(audio, dtype=np.float32))
    return path


def decode(path: Path) -> tuple[np.ndarray, int]:
    """The whole file decoded by the engine's reader: (audio (channels, frames), sample rate)."""
    with open_audio(path) as source:
        return np.concatenate(list(source.blocks()), axis=1), source.info.sample_rate


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

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00")) + chunk(b"IEND", b""))
