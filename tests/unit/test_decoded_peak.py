"""The decoded-result meter that verifies a dense song's lossy result, against the tests' own
meter (``instruments.true_peak_8x_dbtp`` at 32x: a 8193-tap interpolator, the whole signal at
once; at 8x its points alone read up to 0.17 dB low between them)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from audio_files import decode, write_audio
from instruments import true_peak_8x_dbtp
from pedalboard.io import AudioFile

from surroundyou.engine.decoded_peak import ERROR_DB, decoded_true_peak_dbtp

SR = 44100


def long_interpolator_dbtp(audio: np.ndarray) -> float:
    return true_peak_8x_dbtp(audio, oversampling=32)


@pytest.mark.parametrize("signal", ["white noise", "clipped music", "tone at 0.45 fs"])
def test_the_meter_reads_a_decoded_mp3_as_a_long_interpolator_does(tmp_path, signals, signal):
    """4 s: the file is read in blocks of 65 536 frames, whose seams must not change the reading.
    The noise is raw, the harshest case: content to 20 kHz at +3.9 dBTP (the meter before, scipy's
    short resample_poly, read it 0.17 dB low)."""
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
    reads_over_db = decoded_true_peak_dbtp(tmp_path / "song.mp3") - long_interpolator_dbtp(decoded)
    assert abs(reads_over_db) <= 0.02


@pytest.mark.parametrize("cycles_per_frame", [0.25, 0.4, 0.45, 0.47])
def test_a_tone_near_the_nyquist_frequency_reads_at_most_error_db_low(tmp_path, cycles_per_frame):
    """Where the meter can read low: a peak between its 4x points, found by a parabola (a tone at
    0.47 fs, 0.06 dB at worst). Seven phases of each tone, its edges faded as a result's are."""
    frames = SR
    fade = np.minimum(1.0, np.minimum(np.arange(frames), frames - 1 - np.arange(frames)) / 2000)
    for phase in np.linspace(0, 2 * np.pi, 7, endpoint=False):
        audio = 0.5 * np.sin(2 * np.pi * cycles_per_frame * np.arange(frames) + phase) * fade * np.ones((2, 1))
        path = write_audio(tmp_path / "tone.wav", audio, SR, bit_depth=32)
        reads_over_db = decoded_true_peak_dbtp(path) - long_interpolator_dbtp(audio)
        assert -ERROR_DB <= reads_over_db <= 0.01, (phase, reads_over_db)


def test_a_silent_file_has_no_peak(tmp_path):
    assert decoded_true_peak_dbtp(write_audio(tmp_path / "silence.wav", np.zeros((2, SR)), SR)) == -math.inf


def test_measuring_loads_no_scipy_signal(tmp_path):
    """scipy.signal costs ~0.45 s of CPU to load: the meter, run once per dense song, does without."""
    path = write_audio(tmp_path / "noise.wav", np.random.default_rng(5).uniform(-0.5, 0.5, (2, SR)), SR)
    check = (
        "import sys\n"
        "from surroundyou.engine.decoded_peak import decoded_true_peak_dbtp\n"
        f"assert decoded_true_peak_dbtp({str(path)!r}) > -7\n"
        "print('scipy.signal' in sys.modules)\n"
    )
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"
