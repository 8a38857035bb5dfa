"""What a lossy encoder takes from a song's loudness, so that the gain before it makes that up.

The gain is set on the song before it is encoded (``convert``), and some encoder settings give
the song back quieter. From four real songs (bench/bench_real_songs.py's excerpts, matched before
the encoder) MP3 at a constant 224 / 192 / 160-64 kbps took 0.17-0.18 / 0.25-0.26 / 0.38-0.52 LU,
VBR V9 0.01-0.28 LU; 320 and 256 kbps, VBR V0-V8 and Vorbis moved them by at most 0.06 LU. It is
not only the treble the encoder drops: a 1 kHz sine came back 0.27 / 0.45 dB lower at 192 / 128
kbps, decoded by pedalboard and by ffmpeg alike (LAME 3.100 as pedalboard drives it). How much
depends on the song and on what the encoder makes of it, so it is measured on the song itself:
excerpts of it (``Spill.excerpt``, ~12 s), encoded with the song's settings and decoded, against
themselves (they read the encoder's take within 0.02 dB on those songs; ~0.1 s of CPU).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from .encode import LOSSLESS_FORMATS, AudioWriter, check_mp3_quality
from .loudness import LoudnessMeter

# the MP3 settings that take measurable loudness (module docstring): constant bitrates under
# TRANSPARENT_FROM_KBPS, and the lowest VBR level
TRANSPARENT_FROM_KBPS = 256
LOSSY_VBR_LEVEL = "V9"


def takes_loudness(fmt: str, mp3_quality: str | int) -> bool:
    """Whether encoding to ``fmt`` at ``mp3_quality`` measurably takes loudness."""
    if fmt != "mp3":
        return False
    quality = check_mp3_quality(mp3_quality)
    return quality == LOSSY_VBR_LEVEL or (quality.isdigit() and int(quality) < TRANSPARENT_FROM_KBPS)


def loudness_change_db(audio: np.ndarray, fmt: str, sample_rate: int, mp3_quality: str | int) -> float:
    """How much louder ``audio`` (channels, frames) comes back from the format's encoder, decoded
    (dB, < 0: quieter; 0 for a lossless format or audio too short or quiet to measure)."""
    if fmt in LOSSLESS_FORMATS:
        return 0.0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"excerpt.{fmt}"
        with AudioWriter(path, fmt, sample_rate, audio.shape[0], mp3_quality=mp3_quality) as writer:
            writer.write(audio)
        with AudioFile(str(path)) as encoded:
            decoded = encoded.read(encoded.frames)
    sent, heard = LoudnessMeter(sample_rate, audio.shape[0]), LoudnessMeter(sample_rate, decoded.shape[0])
    sent.add(audio)
    heard.add(decoded)
    change_db = heard.integrated_lufs() - sent.integrated_lufs()
    return change_db if math.isfinite(change_db) else 0.0
