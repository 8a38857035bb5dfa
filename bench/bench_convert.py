"""Benchmark of the conversion: speed against a plain transcode, peak memory, render speed.

    .venv/bin/python bench/bench_convert.py [--rounds N] [--no-hour]   (or `make bench`)

Input: the demo song (surroundyou.demo, deterministic), 44.1 kHz stereo, encoded as MP3
320 kbps, 5 minutes and 60 minutes long, made once and cached in bench/.cache (gitignored;
the first run spends ~5 minutes making them, every run ~3 minutes converting the hour).

Figures (printed, never asserted; timings depend on the machine and its load):
- (a) a plain MP3 -> MP3 192 kbps transcode with pedalboard (decode + encode in blocks), and
  (b) ``surroundyou convert`` MP3 -> MP3 192 kbps with the default preset, both in a
  subprocess pinned to one core (``taskset -c 0``); the ratio b/a (target <= 1.3). Both CPU
  time (user + sys) and wall time are shown. On a shared machine other processes slow both
  down by up to ~20 %: (a) and (b) alternate for ``--rounds`` rounds and the fastest of each
  is kept.
- Peak resident memory of ``surroundyou convert`` for the 5- and the 60-minute song (target
  <= 250 MB both), from ``os.wait4``: the subprocess's own maximum RSS.
- Render speed, in times real time: the dry renderer alone, in this process, on one minute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
SOURCE_KBPS = 320
TARGET_KBPS = 192
PLAIN_TRANSCODE = """
import sys
from pedalboard.io import AudioFile
with AudioFile(sys.argv[1]) as source, AudioFile(sys.argv[2], "w", source.samplerate, source.num_channels,
                                                 quality=int(sys.argv[3])) as target:
    while True:
        block = source.read(65536)
        if block.shape[1] == 0:
            break
        target.write(block)
"""


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    max_rss_mb: float


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    target: str = ""


def song(minutes: int) -> Path:
    """The cached demo song of ``minutes`` minutes as MP3 (made block by block the first time)."""
    from surroundyou.demo import write_song

    path = CACHE / f"demo-song-{minutes}min-{SOURCE_KBPS}k.mp3"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        partial = path.with_suffix(".part.mp3")
        write_song(partial, minutes * 60.0, quality=SOURCE_KBPS)
        partial.replace(path)
    return path


def run_pinned(command: list[str]) -> Run:
    """Run ``command`` on CPU 0 (when taskset exists); its wall time, CPU time and peak RSS."""
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    with tempfile.TemporaryFile() as errors:  # the progress bar; shown only if the run fails
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU time and peak RSS
        wall_s = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"{' '.join(command)} failed ({process.returncode}):\n{errors.read().decode(errors='replace')}"
            )
    return Run(wall_s, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def convert_command(src: Path, dst: Path) -> list[str]:
    return [sys.executable, "-m", "surroundyou", "convert", str(src), "-o", str(dst), "--mp3-quality", str(TARGET_KBPS)]


def render_speed(seconds: float = 60.0) -> float:
    """Times real time of ``OrbitRenderer`` alone (default preset, 44.1 kHz stereo, 64k blocks)."""
    from surroundyou.allocator import keep_freed_memory
    from surroundyou.demo import song_blocks
    from surroundyou.engine.render import OrbitRenderer
    from surroundyou.job_options import render_options_for

    keep_freed_memory()  # as the command line's and the task's entry points do
    blocks = list(song_blocks(seconds))
    renderer = OrbitRenderer(44100, 2, render_options_for({}))
    started = time.process_time()
    for block in blocks:
        renderer.process(block)
    return seconds / (time.process_time() - started)


def fastest(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.cpu_s)


def figures(rounds: int = 3, hour: bool = True) -> list[Figure]:
    five = song(5)
    out = CACHE / "out"
    out.mkdir(exist_ok=True)
    plains, converts = [], []
    for _ in range(rounds):
        plains.append(
            run_pinned([sys.executable, "-c", PLAIN_TRANSCODE, str(five), str(out / "plain.mp3"), str(TARGET_KBPS)])
        )
        converts.append(run_pinned(convert_command(five, out / "five.8d.mp3")))
    plain, convert = fastest(plains), fastest(converts)
    figures = [
        Figure("plain transcode 5 min MP3 -> MP3 192k (a)", f"{plain.cpu_s:.1f} s CPU, {plain.wall_s:.1f} s wall"),
        Figure("surroundyou convert 5 min -> MP3 192k (b)", f"{convert.cpu_s:.1f} s CPU, {convert.wall_s:.1f} s wall"),
        Figure(
            "ratio b/a", f"{convert.cpu_s / plain.cpu_s:.2f}x CPU, {convert.wall_s / plain.wall_s:.2f}x wall", "<= 1.3x"
        ),
        Figure("peak RSS, convert 5 min", f"{max(run.max_rss_mb for run in converts):.0f} MB", "<= 250 MB"),
        Figure("render speed (OrbitRenderer alone)", f"{render_speed():.0f}x real time"),
        Figure("convert speed (whole pipeline, 5 min)", f"{300 / convert.cpu_s:.0f}x real time"),
    ]
    if hour:
        sixty = run_pinned(convert_command(song(60), out / "sixty.8d.mp3"))
        figures += [
            Figure("peak RSS, convert 60 min", f"{sixty.max_rss_mb:.0f} MB", "<= 250 MB"),
            Figure("convert 60 min -> MP3 192k", f"{sixty.cpu_s:.0f} s CPU ({3600 / sixty.cpu_s:.0f}x real time)"),
        ]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating plain/convert runs; the fastest of each counts (default 3)"
    )
    parser.add_argument("--no-hour", action="store_true", help="skip the 60-minute song (~3 min)")
    args = parser.parse_args()
    width = 45
    for figure in figures(max(1, args.rounds), hour=not args.no_hour):
        target = f"   (target {figure.target})" if figure.target else ""
        print(f"{figure.name:<{width}} {figure.value}{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
