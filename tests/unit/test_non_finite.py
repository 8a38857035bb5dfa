"""NaN and infinite input samples are repaired by the decoder (replaced by silence and counted), so
the command line and the task never write a broken file; the encoder refuses any that slip through.
(The task's path, against moto: tests/integration/test_task_nonfinite.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from audio_files import decode, write_audio

from surroundyou import cli
from surroundyou.engine.analysis import integrated_lufs
from surroundyou.engine.decode import open_audio
from surroundyou.engine.encode import AudioWriter

SR = 44100


def with_non_finite_runs(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``audio`` with runs of NaN (both channels), +inf (left) and -inf (right); (audio, bad mask)."""
    broken = audio.astype(np.float32).copy()
    broken[:, 10_000:10_100] = np.nan
    broken[0, 30_000:30_050] = np.inf
    broken[1, 50_000:50_010] = -np.inf
    return broken, ~np.isfinite(broken)


@pytest.fixture(scope="module")
def music(signals):
    return signals.music_like(2.0, SR, seed=12)


def test_the_decoder_zeroes_non_finite_samples_and_counts_them(tmp_path, music):
    broken, bad = with_non_finite_runs(music)
    path = write_audio(tmp_path / "broken.wav", broken, SR, bit_depth=32)
    with open_audio(path) as source:
        decoded = np.concatenate(list(source.blocks(block_frames=20_000)), axis=1)
        assert source.non_finite_samples == int(bad.sum()) == 260
    assert np.all(decoded[bad] == 0.0)
    np.testing.assert_array_equal(decoded[~bad], broken[~bad])


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_the_command_line_converts_a_float_wav_with_nan_and_inf_and_names_the_count(tmp_path, music, capsys, fmt):
    broken, _ = with_non_finite_runs(music)
    source = write_audio(tmp_path / "broken.wav", broken, SR, bit_depth=32)
    status = cli.main(["convert", str(source), "-o", str(tmp_path / f"broken.8d.{fmt}"), "-j", "1"])
    assert status == 0
    assert "broken.wav: 260 samples were NaN or infinite" in " ".join(capsys.readouterr().err.split())
    out, _ = decode(tmp_path / f"broken.8d.{fmt}")
    assert np.isfinite(out).all()
    # the music is still there, as loud as the input (not NaN, not near-silence)
    assert abs(integrated_lufs(out, SR) - integrated_lufs(music, SR)) <= 1.0


def test_the_encoder_refuses_non_finite_samples(tmp_path):
    block = np.zeros((2, 100), dtype=np.float32)
    block[1, 7] = np.nan
    with AudioWriter(tmp_path / "x.wav", "wav", SR, 2, bit_depth=32) as writer:
        with pytest.raises(ValueError, match="non-finite"):
            writer.write(block)
