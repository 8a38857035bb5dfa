"""Streaming audio encoding (pedalboard): float32 blocks in, a file out.

MP3 (LAME, 320 kbps CBR by default, or VBR "V0"), FLAC, WAV, OGG/Vorbis. Lossless outputs keep
the source's resolution: 16-bit stays 16-bit (written with TPDF dither from a fixed seed), 24-bit
stays 24-bit, float stays float (32-bit float WAV; FLAC holds at most 24 bits). Lossy decoders
deliver float, so a decoded MP3 becomes a float WAV or a 24-bit FLAC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

OUTPUT_FORMATS = ("mp3", "flac", "wav", "ogg")
LOSSLESS_FORMATS = ("flac", "wav")  # decoded, they give back the samples written (at their bit depth)
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# from 64 kbps: a 32-56 kbps frame is too small for the LAME header that gives the encoder's delay
# and padding, so the result started ~25 ms late and ran 30-42 ms long in every decoder
MP3_CBR_KBPS = (64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_VBR_QUALITIES = tuple(f"V{level}" for level in range(10))
DEFAULT_MP3_QUALITY = "320"
OGG_KBPS = 320
DITHER_SEED = 0x8D
# a run of frames this long whose samples all stay under 1/128 of a 16-bit step (the float rounding
# of the room's FFTs reads ~1e-10 in a silence) is silence: it gets no dither
SILENT_RUN_FRAMES = 1024
SILENT_BELOW = 2.0**-22


OGG_HIGHEST_SAMPLE_RATE = 192000  # pedalboard's Vorbis encoder refuses more
# under it, the limiter's band limit (0.469 fs, ``limiter``) would cut audible treble: a 22.05 kHz
# song lost 2.5 dB in its 10 kHz third-octave
LOWEST_KEPT_SAMPLE_RATE = 32000


def output_sample_rate(fmt: str, sample_rate: int) -> int:
    """The rate the song is rendered and written at: the input's, except under
    ``LOWEST_KEPT_SAMPLE_RATE``, MP3 beyond its nine rates and Ogg Vorbis beyond
    ``OGG_HIGHEST_SAMPLE_RATE``.

    A lower rate goes to 44.1 kHz when it divides it (11.025, 22.05 kHz), else to 48 kHz (8, 16,
    24 kHz). MP3 stops at 48 kHz: 88.2/176.4 kHz go to 44.1 kHz, other rates above 48 kHz to
    48 kHz. Ogg halves a higher rate until it fits.
    """
    if sample_rate < LOWEST_KEPT_SAMPLE_RATE:
        return 44100 if 44100 % sample_rate == 0 else 48000
    if fmt == "ogg" and sample_rate > OGG_HIGHEST_SAMPLE_RATE:
        return output_sample_rate(fmt, sample_rate // 2)
    if fmt != "mp3" or sample_rate in MP3_SAMPLE_RATES:
        return sample_rate
    if sample_rate > MP3_SAMPLE_RATES[-1]:
        return 44100 if sample_rate % 44100 == 0 else 48000
    return next(rate for rate in MP3_SAMPLE_RATES if rate >= sample_rate)


def output_bit_depth(fmt: str, sample_format: str) -> int | None:
    """Bits per sample a lossless output keeps from a source of ``sample_format`` (None: lossy)."""
    if fmt not in LOSSLESS_FORMATS:
        return None
    if sample_format == "int16":
        return 16
    if fmt == "flac" or sample_format == "int24":
        return 24
    return 32  # float WAV


def check_mp3_quality(quality: str | int) -> str:
    """Normalise an MP3 quality: CBR kbps (``320``, ``"192"``) or LAME VBR (``"V0"``)."""
    text = str(quality).upper()
    if text in MP3_VBR_QUALITIES or (text.isdigit() and int(text) in MP3_CBR_KBPS):
        return text
    raise ValueError(
        f"MP3 quality must be a bitrate in kbps ({', '.join(map(str, MP3_CBR_KBPS))}) "
        f"or a LAME VBR level V0-V9, got {quality!r}"
    )


class AudioWriter:
    """Writes float32 ``(channels, frames)`` blocks to ``path`` in format ``fmt``."""

    def __init__(
        self,
        path: str | Path,
        fmt: str,
        sample_rate: int,
        channels: int,
        *,
        bit_depth: int | None = None,
        mp3_quality: str | int = DEFAULT_MP3_QUALITY,
    ):
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
        quality: str | int | None = None
        if fmt == "mp3":
            quality = check_mp3_quality(mp3_quality)
            quality = int(quality) if quality.isdigit() else quality
        elif fmt == "ogg":
            quality = OGG_KBPS
        self._dither = np.random.default_rng(DITHER_SEED) if bit_depth == 16 else None
        self._file = AudioFile(str(path), "w", sample_rate, channels, bit_depth=bit_depth or 16, quality=quality)

    def write(self, block: np.ndarray) -> None:
        # the decoder repairs NaN/inf input (decode.AudioSource); one here is a bug upstream, and
        # writing it would make a broken file (a WAV of NaNs, a near-silent MP3): refuse instead
        if not np.isfinite(block).all():
            raise ValueError("non-finite samples reached the encoder")
        if self._dither is not None:
            block = dithered_int16(block, self._dither)
        self._file.write(block)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def dithered_int16(block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """TPDF dither (sum of two uniform +-0.5 LSB draws: +-1 LSB triangular), then round.

    Lipshitz, Wannamaker & Vanderkooy, "Quantization and Dither: A Theoretical Survey",
    JAES 40(5), 1992: TPDF makes the error's first two moments independent of the signal.
    Scale 32767 matches pedalboard's 16-bit reader; integers are written exactly. Silence stays
    digital silence, as mastering dithers blank it: the dither is left out of every run of
    ``SILENT_RUN_FRAMES`` where no sample reaches ``SILENT_BELOW`` (a song's silent start read
    -84 dBFS of noise).
    """
    noise = rng.random(block.shape) - rng.random(block.shape)
    frames = block.shape[-1]
    runs = -(-frames // SILENT_RUN_FRAMES)
    loudest = np.zeros(runs * SILENT_RUN_FRAMES, dtype=block.dtype)
    np.max(np.abs(block), axis=0, out=loudest[:frames])
    silent = loudest.reshape(runs, SILENT_RUN_FRAMES).max(axis=1) < SILENT_BELOW
    noise[:, np.repeat(silent, SILENT_RUN_FRAMES)[:frames]] = 0.0
    scaled = np.round(block * 32767.0 + noise)
    return np.clip(scaled, -32768, 32767).astype(np.int16)
