"""What an encoder takes from a song's loudness, read on the song through it: checked against the
encoded file decoded by the tests' reader and metered by pyloudnorm."""

from __future__ import annotations

import pyloudnorm
import pytest
from audio_files import decode

from surroundyou.engine.encode import AudioWriter
from surroundyou.engine.encoder_loss import loudness_change_db, takes_loudness

SR = 44100


@pytest.mark.parametrize(
    "fmt, quality, takes",
    [
        ("mp3", "224", True),
        ("mp3", "128", True),
        ("mp3", 64, True),
        ("mp3", "V9", True),
        ("mp3", "256", False),
        ("mp3", "320", False),
        ("mp3", "V0", False),
        ("mp3", "V8", False),
        ("ogg", "320", False),
        ("flac", "320", False),
    ],
)
def test_the_settings_that_take_loudness(fmt, quality, takes):
    assert takes_loudness(fmt, quality) is takes


@pytest.mark.parametrize("signal", ["pink noise", "sine"])
@pytest.mark.parametrize("quality", ["192", "128", "V9"])
def test_the_change_is_what_the_encoded_file_decodes_to(tmp_path, signals, quality, signal):
    """Read on the encoded file decoded by the tests' reader and metered by pyloudnorm (ffmpeg
    decodes a 1 kHz sine's 128 kbps MP3 0.446 dB low too: the file is quieter, not the reader)."""
    if signal == "sine":
        audio = signals.sine(8.0, 1000.0, 0.3)
    else:
        audio = signals.pink_noise(8.0, SR, seed=3, channels=2)
    path = tmp_path / "song.mp3"
    with AudioWriter(path, "mp3", SR, 2, mp3_quality=quality) as writer:
        writer.write(audio)
    meter = pyloudnorm.Meter(SR)
    decoded_db = meter.integrated_loudness(decode(path)[0].T) - meter.integrated_loudness(audio.T)
    assert decoded_db < -0.1 or quality == "V9"
    assert abs(loudness_change_db(audio, "mp3", SR, quality) - decoded_db) <= 0.03


def test_a_lossless_or_unmeasurable_song_loses_nothing(signals):
    pink = signals.pink_noise(8.0, SR, seed=3, channels=2)
    assert loudness_change_db(pink, "flac", SR, "320") == 0.0
    assert loudness_change_db(pink[:, : SR // 5], "mp3", SR, "128") == 0.0  # too short to meter
