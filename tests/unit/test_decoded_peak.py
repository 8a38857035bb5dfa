"""The decoded-result meter that verifies a dense song's lossy result, against the tests' own
meter (``instruments.true_peak_8x_dbtp``: 8x, 2049-tap interpolator, the whole signal at once)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from audio_files import decode, write_audio
from instruments import true_peak_8x_dbtp
from pedalboard.io import AudioFile

from surroundyou.engine.decoded_peak import ERROR_DB, decoded_true_peak_dbtp

SR = 44100


@pytest.mark.parametrize("signal", ["white noise", "clipped music", "tone at 0.45 fs"])
def test_the_meter_reads_a_decoded_mp3_as_a_long_interpolator_does(tmp_path, signals, signal):
    """4 s: the file is read in blocks of 65 536 frames, whose seams must not change the reading.
    The noise is raw, the harshest case: content to 20 kHz at +3.9 dBTP (read 0.17 dB low)."""
    frames = 4 * SR
    if signal == "white noise":
        audio = np.random.default_rng(51).uniform(-0.8, 0.8, (2, frames))
    elif signal == "clipped music":
        audio = np.clip(signals.music_like(4.0, SR, seed=52) * 8.0, -0.9, 0.9)
    else:
        audio = 0.8 * np.sin(2 * np.pi * 0.45 * np.arange(frames) + 0.3) * np.ones((2, 1))
    with AudioFile(str(tmp_path / "song.mp3"), "w", SR, 2, quality=320) as out:
        out.write(audio.astype(np.float32))
    decoded, _ = decode(tmp_path / "song.mp3")
    reads_over_db = decoded_true_peak_dbtp(tmp_path / "song.mp3") - true_peak_8x_dbtp(decoded)
    assert -ERROR_DB <= reads_over_db <= 0.05  # the verification allows for ERROR_DB under


def test_a_silent_file_has_no_peak(tmp_path):
    assert decoded_true_peak_dbtp(write_audio(tmp_path / "silence.wav", np.zeros((2, SR)), SR)) == -math.inf
