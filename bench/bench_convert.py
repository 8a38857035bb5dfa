"""Benchmark of the conversion: speed against a plain transcode, start-up, peak memory, image size, cost.

    .venv/bin/python bench/bench_convert.py [--rounds N] [--no-hour]   (or `make bench`)

Input: the demo song (surroundyou.demo, deterministic), 44.1 kHz stereo, encoded as MP3
320 kbps, 5 minutes and 60 minutes long, and the 5 minutes mastered loud, made once and cached
in bench/.cache (gitignored; the first run spends ~5 minutes making them, every run ~3 minutes
converting the hour).

Figures (printed, never asserted; timings depend on the machine and its load):
- (a) a plain MP3 -> MP3 transcode with pedalboard (decode + encode in blocks), and
  (b) ``surroundyou convert`` MP3 -> MP3 with the default preset, both whole processes pinned
  to one core (``taskset -c 0``), at 320 kbps (the default) and at 192 kbps; the ratio b/a
  (target <= 1.3 at 320 kbps). Both CPU time (user + sys) and wall time are shown. On a shared
  machine other processes slow both down by up to ~20 %: (a) and (b) alternate for ``--rounds``
  rounds and the fastest of each is kept. The same at 320 kbps for the song mastered loud (as
  most released music is: about -8 LUFS), whose MP3 is decoded and measured (``decoded_peak``).
- Start-up: from process start to the first decoded block of the song, in a process that imports
  what the task imports (boto3, ``surroundyou.task.run`` and so the engine's decoder and
  encoder), then decodes one block (target <= 0.5 s); best of five. Of it, the imports alone.
  Then, in the same process, the render stack's import (renderer, room, limiter: scipy), which
  the task runs on a thread while it claims the job and downloads the song
  (``surroundyou.task.preload``) and the command line when the first block is rendered.
- The task image's size (``make image``), when it is built.
- A cost table (bench/costs.py, prices in bench/aws_prices.toml): $ per 1000 five-minute songs from
  the measured CPU time and peak memory of the 320 kbps conversion and the image's size.
- Peak resident memory of ``surroundyou convert`` for the 5- and the 60-minute song (target
  <= 250 MB both): the subprocess's own peak (``WITH_PEAK_RSS``).
- Render speed, in times real time: the dry renderer alone, in this process, on one minute.
- Where a conversion's CPU goes: the 5-minute song converted in one pinned process with the
  compiled kernels timed (the encoder's writes, the filters' SOS kernel, the FFTs); what
  remains is decoding, numpy and Python. The kernels' work is what no Python-level change can
  remove: with the plain transcode's decode and encode it sets a floor under the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/costs.py, run from anywhere
from costs import COLUMNS  # noqa: E402

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
ROOT = BENCH.parent
SOURCE_KBPS = 320
TARGET_KBPS = (320, 192)  # the default first
STARTUP_ROUNDS = 5
IMAGE = "localhost/surroundyou-task:latest"
LOUD_DRIVE_DB = 8.0
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


# What the task imports before it decodes (its entry point imports boto3 and surroundyou.task.run),
# then one decoded block; prints the seconds the imports took, from this program's first line, then
# (after the parent has read the first line) the seconds the render stack's import takes.
STARTUP = """
import time
started = time.perf_counter()
import sys
import boto3
import surroundyou.task.run
from surroundyou.engine.decode import open_audio
imported = time.perf_counter()
with open_audio(sys.argv[1]) as source:
    next(iter(source.blocks()))
print(f"{imported - started:.4f}", flush=True)
import importlib
from surroundyou.task.preload import RENDER_MODULES
loading = time.perf_counter()
for name in RENDER_MODULES:
    importlib.import_module(name)
print(f"{time.perf_counter() - loading:.4f}", flush=True)
"""

# One conversion in this process with the compiled kernels timed: prints JSON of CPU seconds.
KERNEL_SHARES = """
import json, sys, time
import scipy.fft
import surroundyou.engine.encode as encode
import surroundyou.engine.streaming_sos as streaming_sos
from surroundyou.engine.convert import convert_file
from surroundyou.job_options import render_options_for
spent = {"encode": 0.0, "filters": 0.0, "ffts": 0.0}
def timed(name, function):
    def call(*args, **kwargs):
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started
    return call
kernel = streaming_sos.sos_kernel()
streaming_sos.sos_kernel = lambda: timed("filters", kernel)
for name in ("rfft", "irfft"):
    setattr(scipy.fft, name, timed("ffts", getattr(scipy.fft, name)))
encode.AudioWriter.write = timed("encode", encode.AudioWriter.write)
started = time.process_time()
convert_file(sys.argv[1], sys.argv[2], render_options_for({}))
print(json.dumps({"total": time.process_time() - started, **spent}))
"""


# `python -m surroundyou ARGS` that then writes its peak RSS (VmHWM, kB: the peak of its memory
# map, new at exec) to the file named by PEAK_RSS_FILE. os.wait4's ru_maxrss cannot serve: Linux
# carries the parent's peak into a child it forks, and a bench that had just made its songs in
# memory read 450 MB for a conversion that peaked at 96 MB.
WITH_PEAK_RSS = """
import os, runpy
try:
    runpy.run_module("surroundyou", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status, open(os.environ["PEAK_RSS_FILE"], "w") as peak:
        peak.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    max_rss_mb: float  # conversions only (WITH_PEAK_RSS), else NaN


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


def loud_song(minutes: int) -> Path:
    """The demo song mastered loud, as most released music is (peak-normalised, driven
    ``LOUD_DRIVE_DB`` into pedalboard's limiter, clipped at -0.2 dBFS: about -8 LUFS, true peak
    over full scale): dense enough that its MP3 is decoded and measured (``convert``)."""
    from pedalboard import Gain, Limiter, Pedalboard
    from pedalboard.io import AudioFile

    path = CACHE / f"demo-song-{minutes}min-loud-{SOURCE_KBPS}k.mp3"
    if not path.exists():
        with AudioFile(str(song(minutes))) as source:
            music, sample_rate = source.read(source.frames), source.samplerate
        board = Pedalboard([Gain(LOUD_DRIVE_DB), Limiter(threshold_db=-1.0, release_ms=60)])
        loud = np.clip(board(music / np.abs(music).max(), sample_rate), -0.98, 0.98)
        partial = path.with_suffix(".part.mp3")
        with AudioFile(str(partial), "w", sample_rate, loud.shape[0], quality=SOURCE_KBPS) as target:
            target.write(loud)
        partial.replace(path)
    return path


def run_pinned(command: list[str]) -> Run:
    """Run ``command`` on CPU 0 (when taskset exists); its wall time, CPU time and peak RSS."""
    command = pinned(command)
    # errors: the progress bar, shown only if the run fails
    with tempfile.TemporaryFile() as errors, tempfile.NamedTemporaryFile("r") as peak:
        started = time.perf_counter()
        environment = {**os.environ, "PEAK_RSS_FILE": peak.name}
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=environment)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU time
        wall_s = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"{' '.join(command)} failed ({process.returncode}):\n{errors.read().decode(errors='replace')}"
            )
        peak_kb = peak.read()
    return Run(wall_s, usage.ru_utime + usage.ru_stime, float(peak_kb) / 1024 if peak_kb else math.nan)


def convert_command(src: Path, dst: Path, kbps: int = TARGET_KBPS[0]) -> list[str]:
    return [sys.executable, "-c", WITH_PEAK_RSS, "convert", str(src), "-o", str(dst), "--mp3-quality", str(kbps)]


def pinned(command: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *command] if shutil.which("taskset") else command


def startup(path: Path) -> tuple[float, float, float]:
    """(seconds from process start to the first decoded block, of which imports, then the render
    stack's import), best of a few."""
    runs = []
    for _ in range(STARTUP_ROUNDS):
        started = time.perf_counter()
        process = subprocess.Popen(
            pinned([sys.executable, "-c", STARTUP, str(path)]), stdout=subprocess.PIPE, text=True
        )
        line = process.stdout.readline()
        first_block_s = time.perf_counter() - started
        render_stack, _ = process.communicate()
        runs.append((first_block_s, float(line), float(render_stack)))
    return min(runs)


def image_mb(image: str = IMAGE) -> float | None:
    """The task image's size in MB (container/image/size.sh), or None when it is not built."""
    try:
        line = subprocess.run(
            [str(ROOT / "container" / "image" / "size.sh"), image], capture_output=True, text=True, check=True
        ).stdout
    except (subprocess.CalledProcessError, OSError):
        return None
    return float(line.split()[-2])


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


def kernel_shares(path: Path, out: Path) -> dict[str, float]:
    """CPU seconds of one in-process conversion (``total``) and of its compiled kernels."""
    line = subprocess.run(
        pinned([sys.executable, "-c", KERNEL_SHARES, str(path), str(out)]), capture_output=True, text=True, check=True
    ).stdout
    return json.loads(line)


def fastest(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.cpu_s)


def side_by_side(source: Path, out: Path, kbps: int, rounds: int) -> tuple[Run, Run, float]:
    """The plain transcode (a) and the conversion (b) of ``source`` at ``kbps``, alternating for
    ``rounds``: the fastest of each, and the conversions' largest peak RSS (MB)."""
    plains, converts = [], []
    for _ in range(rounds):
        plains.append(
            run_pinned([sys.executable, "-c", PLAIN_TRANSCODE, str(source), str(out / "plain.mp3"), str(kbps)])
        )
        converts.append(run_pinned(convert_command(source, out / f"{source.stem}.8d.mp3", kbps)))
    return fastest(plains), fastest(converts), max(run.max_rss_mb for run in converts)


def figures(rounds: int = 3, hour: bool = True) -> list[Figure]:
    from costs import cost_rows, format_table

    five = song(5)
    out = CACHE / "out"
    out.mkdir(exist_ok=True)
    figures, at_default = [], None
    for kbps in TARGET_KBPS:
        plain, convert, peak_mb = side_by_side(five, out, kbps, rounds)
        at_default = at_default or (convert, peak_mb)
        figures += [
            Figure(
                f"plain transcode 5 min MP3 -> MP3 {kbps}k (a)", f"{plain.cpu_s:.2f} s CPU, {plain.wall_s:.2f} s wall"
            ),
            Figure(
                f"surroundyou convert 5 min -> MP3 {kbps}k (b)",
                f"{convert.cpu_s:.2f} s CPU, {convert.wall_s:.2f} s wall",
            ),
            Figure(
                f"ratio b/a at {kbps}k",
                f"{convert.cpu_s / plain.cpu_s:.2f}x CPU, {convert.wall_s / plain.wall_s:.2f}x wall",
                "<= 1.3x" if kbps == TARGET_KBPS[0] else "",
            ),
        ]
    convert, peak_mb = at_default
    loud_plain, loud_convert, _ = side_by_side(loud_song(5), out, TARGET_KBPS[0], rounds)
    figures += [
        Figure("plain transcode, the song mastered loud", f"{loud_plain.cpu_s:.2f} s CPU"),
        Figure("surroundyou convert, the song mastered loud (verified decoded)", f"{loud_convert.cpu_s:.2f} s CPU"),
        Figure("ratio, the song mastered loud", f"{loud_convert.cpu_s / loud_plain.cpu_s:.2f}x CPU"),
    ]
    shares = kernel_shares(five, out / "shares.8d.mp3")
    figures += [
        Figure("conversion in one process (no start-up)", f"{shares['total']:.2f} s CPU"),
        Figure("  of which MP3 encode (pedalboard)", f"{shares['encode']:.2f} s"),
        Figure("  of which filters (scipy's SOS kernel)", f"{shares['filters']:.2f} s"),
        Figure("  of which FFTs (scipy.fft)", f"{shares['ffts']:.2f} s"),
        Figure(
            "  decode, numpy and Python",
            f"{shares['total'] - shares['encode'] - shares['filters'] - shares['ffts']:.2f} s",
        ),
    ]
    first_block_s, imports_s, render_stack_s = startup(five)
    size_mb = image_mb()
    figures += [
        Figure("start-up: process start -> first decoded block", f"{first_block_s:.2f} s", "<= 0.5 s"),
        Figure("  of which the task's imports", f"{imports_s:.2f} s"),
        Figure("then the render stack's import (scipy)", f"{render_stack_s:.2f} s"),
        Figure("peak RSS, convert 5 min", f"{peak_mb:.0f} MB", "<= 250 MB"),
        Figure("task image size", f"{size_mb:.0f} MB" if size_mb else "not built (make image)", "<= 350 MB"),
        Figure("render speed (OrbitRenderer alone)", f"{render_speed():.0f}x real time"),
        Figure("convert speed (whole pipeline, 5 min, 320k)", f"{300 / convert.cpu_s:.0f}x real time"),
    ]
    if hour:
        sixty = run_pinned(convert_command(song(60), out / "sixty.8d.mp3"))
        figures += [
            Figure("peak RSS, convert 60 min", f"{sixty.max_rss_mb:.0f} MB", "<= 250 MB"),
            Figure("convert 60 min -> MP3 320k", f"{sixty.cpu_s:.0f} s CPU ({3600 / sixty.cpu_s:.0f}x real time)"),
        ]
    rows = cost_rows(convert.cpu_s, peak_mb, size_mb or 350.0)
    figures += [
        Figure(f"$ per 1000 songs, {column}", f"{usd:.2f}") for column, usd in zip(COLUMNS, rows[-1].usd, strict=True)
    ]
    figures.append(Figure("cost table (Markdown)", "\n" + format_table(rows)))
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
