"""The ``surroundyou`` command line across processes: a batch in worker processes, a file ffmpeg
reads as no audio, ``python -m surroundyou``, the demo, and a conversion stopped midway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from audio_files import decode, tiny_png, write_audio

from surroundyou import cli
from surroundyou.engine.partial_file import create_locked, partial_file_for

SR = 44100


@pytest.fixture(scope="module")
def music(signals):
    return signals.music_like(4.0, SR, seed=7)


def test_batch_converts_the_good_files_and_names_each_bad_one(tmp_path, music, capsys):
    good = [write_audio(tmp_path / "one.wav", music, SR), write_audio(tmp_path / "two.flac", music, SR)]
    (tmp_path / "broken.mp3").write_bytes(b"this is a letter, not a song\n" * 20)
    (tmp_path / "photo.xyz").write_bytes(tiny_png())
    out_dir = tmp_path / "out"
    status = cli.main(
        [
            "convert",
            str(good[0]),
            str(tmp_path / "broken.mp3"),
            str(good[1]),
            str(tmp_path / "photo.xyz"),
            "--out-dir",
            str(out_dir),
            "-j",
            "2",
        ]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert sorted(path.name for path in out_dir.iterdir()) == ["one.8d.mp3", "two.8d.mp3"]
    assert "broken.mp3: not an audio file" in captured.err
    assert "photo.xyz: the file contains no audio stream" in captured.err
    assert "2 converted, 2 failed" in captured.out
    for name in ("one.8d.mp3", "two.8d.mp3"):
        assert decode(out_dir / name)[0].shape == (2, music.shape[1])


def test_analyze_names_a_file_that_is_no_audio(tmp_path, capsys):
    (tmp_path / "notes.mp3").write_text("la la la\n" * 30)
    assert cli.main(["analyze", str(tmp_path / "notes.mp3")]) == 1
    assert "notes.mp3: not an audio file" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "surroundyou", "convert", "--help"], capture_output=True, text=True, check=True
    )
    assert "--mp3-quality" in result.stdout and "--out-dir" in result.stdout


def test_demo_makes_a_song_and_its_8d_version(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "surroundyou.demo", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert str(tmp_path / "demo-song.8d.mp3") in result.stdout
    out, _ = decode(tmp_path / "demo-song.8d.mp3")
    assert out.shape == (2, 20 * SR)


@pytest.mark.parametrize("stopping", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_conversion_stopped_by_a_signal_says_so_and_leaves_no_partial_file(tmp_path, signals, stopping):
    """``timeout`` or a service manager (SIGTERM) or a closed terminal (SIGHUP) stops the
    ``surroundyou`` script: one line, exit 128 + the signal's number as a shell reports it, no
    hidden ``.part`` file left."""
    song = write_audio(tmp_path / "long.wav", signals.music_like(120.0, SR, seed=7), SR)
    script = Path(sys.executable).with_name("surroundyou")  # the console script beside the interpreter
    process = subprocess.Popen(
        [str(script), "convert", str(song), "-o", str(tmp_path / "long.8d.mp3")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60.0
    while not any(path.name.endswith(".mp3") for path in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(stopping)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + stopping, stderr
    assert stderr.strip().splitlines()[-1] == "surroundyou: stopped" and "Traceback" not in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["long.wav"]


def test_a_stop_landing_in_a_finaliser_is_said_in_one_line_not_as_a_traceback(monkeypatch):
    """The signal can land while Python runs a finaliser (the test above once caught it in an
    import lock's): the KeyboardInterrupt it raises there is only reported, not raised. The stop
    is recorded all the same, and its report is not printed; anything else still is."""
    reported = []
    monkeypatch.setattr(cli, "_stops", [])
    monkeypatch.setattr(sys, "unraisablehook", cli._quiet_stops(reported.append))

    class StoppedInFinaliser:
        def __del__(self):
            cli._stop(signal.SIGTERM, None)

    class BrokenFinaliser:
        def __del__(self):
            raise ValueError("a real defect")

    StoppedInFinaliser()  # collected at once: its finaliser's exception is unraisable
    BrokenFinaliser()
    assert cli._stops == [signal.SIGTERM]
    assert [(report.exc_type, str(report.exc_value)) for report in reported] == [(ValueError, "a real defect")]


def test_a_partial_file_left_by_a_killed_conversion_is_removed_by_the_next(tmp_path, signals, music):
    """SIGKILL (or the out-of-memory killer, a power cut) gives a conversion no chance to remove its
    hidden partial file. Once it has stood for a minute unlocked, the next conversion of the same
    result removes it; a live conversion's (locked) is left alone."""
    target = tmp_path / "long.8d.mp3"
    song = write_audio(tmp_path / "long.wav", signals.music_like(120.0, SR, seed=7), SR)
    killed = subprocess.Popen(
        [sys.executable, "-m", "surroundyou", "convert", str(song), "-o", str(target)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60.0
    while not (dead := list(tmp_path.glob(".long.*.part.mp3"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.kill()
    killed.wait(timeout=30)
    live = partial_file_for(target, "mp3")
    lock = create_locked(live)  # as a conversion running beside this one holds it
    for part in (*dead, live):  # both stood for a minute: only the lock tells the dead one from the live one
        os.utime(part, (time.time() - 120, time.time() - 120))
    try:
        short = write_audio(tmp_path / "long.flac", music, SR)  # another song with the same result name
        assert cli.main(["convert", str(short), "-o", str(target)]) == 0
        assert len(dead) == 1 and list(tmp_path.glob(".long.*.part.mp3")) == [live]
    finally:
        os.close(lock)
