"""The ``surroundyou`` command line: convert songs to 8D audio, list the presets, analyse a file.

    surroundyou convert song.mp3 other.flac --out-dir 8d/ --preset slow -j 2
    surroundyou convert ~/Music --out-dir ~/Music-8D --skip-existing    (a library, its folders kept)
    surroundyou convert song.m4a -o song-8d.flac --reverb 0        (dry, lossless)
    surroundyou convert song.mp3 --path figure8 --period 0:8,60:4 --fade-in 5
    surroundyou convert song.mp3 --sync beats --beats-per-turn 8 --preview
    surroundyou presets
    surroundyou analyze song.8d.mp3 --plot orbit.png

A folder stands for every song under it. Batch conversion runs the files in parallel worker
processes (``-j``, default: the CPUs this process may use); a bad file gets its own error line and
the others still convert; the exit status is 1 when any file failed, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import functools
import importlib.metadata
import math
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table
except ImportError as error:  # the task image has no `cli` extra
    raise SystemExit("the surroundyou command line needs its extra: pip install 'surroundyou[cli]'") from error

from surroundyou.allocator import keep_freed_memory
from surroundyou.batch import add_batch_command
from surroundyou.engine.convert import (
    CEILING_DBTP,
    ConversionReport,
    OutputPathError,
    convert_file,
    output_format_for,
)
from surroundyou.engine.decode import AudioInputError
from surroundyou.engine.encode import DEFAULT_MP3_QUALITY, OUTPUT_FORMATS, check_mp3_quality
from surroundyou.engine.options import (
    BEATS_PER_TURN_RANGE,
    DIRECTIONS,
    MODES,
    PATHS,
    ROOMS,
    SYNCS,
    RenderOptions,
)
from surroundyou.job_options import render_options_for
from surroundyou_jobs.keys import INPUT_CONTENT_TYPES, is_song_name, result_suffix
from surroundyou_jobs.options import DEFAULT_PRESET, PRESETS, parse_curve
from surroundyou_jobs.wording import file_size, spoken_duration

PROGRESS_STEP = 0.01  # a worker reports progress when it moved by at least this fraction
# with more songs than this, a song's bar shows only while it converts, under one bar for them all
SONG_BARS_KEPT = 8
# with more songs than this (a library, not an album or two), the summary sums them up and lists
# the failures: a row and notes per song would bury those under thousands of lines
SUMMARY_ROWS_KEPT = 40
# analyze: under this mean R² of the ILD and ITD tracks' fits no orbit was found (the period is
# chosen to maximise it: renders of real songs read 0.93-0.97, a song as released 0.04, the
# tests' 4 s music-like mixes 0.14-0.25)
ORBIT_FOUND_MEAN_R2 = 0.3


@dataclass(frozen=True)
class ConversionJob:
    index: int
    src: Path
    dst: Path
    fmt: str
    options: RenderOptions
    mp3_quality: str
    preview: bool = False


@dataclass(frozen=True)
class Outcome:
    job: ConversionJob
    report: ConversionReport | None = None
    error: str | None = None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    keep_freed_memory()
    # stopped (Ctrl-C, SIGTERM from `timeout` or a service manager, SIGHUP from a closed terminal):
    # the conversions in hand remove their partial files, the command says so in one line and
    # exits as the shell reports a signal, 128 + its number
    _stops.clear()
    for stopping in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stopping, _stop)
    unraisable_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_stops(unraisable_hook)
    try:
        status = args.command(args)
    except KeyboardInterrupt:
        _stops.append(signal.SIGINT)
    finally:
        sys.unraisablehook = unraisable_hook
    if not _stops:
        return status
    print("surroundyou: stopped", file=sys.stderr)
    return 128 + _stops[0]


# The signals that stopped this process, the first first. A KeyboardInterrupt that lands while
# Python runs a finaliser (a generator closed by the garbage collector...) is only printed, so the
# conversion also checks this between blocks (convert_job), and main after it.
_stops: list[signal.Signals] = []


def _stop(signum: int, frame: object) -> None:
    _stops.append(signal.Signals(signum))
    raise KeyboardInterrupt


def _quiet_stops(unraisable_hook: Callable[[Any], object]) -> Callable[[Any], None]:
    """``unraisable_hook`` except for a stop that lands in a finaliser (an import's lock given
    back, a generator closed...): ``_stops`` has it, and main's one line says so, not a traceback."""

    def hook(unraisable: Any) -> None:
        if not (issubclass(unraisable.exc_type, KeyboardInterrupt) and _stops):
            unraisable_hook(unraisable)

    return hook


def _version() -> str:
    try:
        return importlib.metadata.version("surroundyou")
    except importlib.metadata.PackageNotFoundError:  # run from the source tree, not installed
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surroundyou", description="Turn songs into 8D audio that orbits your head (listen on headphones)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    convert = commands.add_parser(
        "convert",
        help="convert songs to 8D audio",
        description="Convert songs (MP3, WAV, FLAC, OGG, AIFF, M4A/AAC, Opus, WebM) to 8D audio.",
    )
    convert.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="a song, or a folder: every song under it (hidden files and earlier results aside)",
    )
    where = convert.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", type=_output_file, help="output file (one input only); its extension picks the format"
    )
    where.add_argument(
        "--out-dir",
        type=Path,
        help="folder for the results (default: beside each input); names are {stem}.8d.{format}, and a folder "
        "input's sub-folders are kept",
    )
    convert.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave out songs whose result is already there (run again, a library picks up where it stopped)",
    )
    convert.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        choices=list(PRESETS),
        help=f"bundle of settings (default {DEFAULT_PRESET}; see `surroundyou presets`)",
    )
    convert.add_argument(
        "--period",
        type=_number_or_curve,
        metavar="SECONDS|CURVE",
        help="seconds per turn around the head (1-120), or a curve T:V,T:V,... (seconds into the song: "
        "seconds per turn), e.g. 0:8,60:4 speeds up over the first minute",
    )
    convert.add_argument(
        "--intensity",
        type=_number_or_curve,
        metavar="AMOUNT|CURVE",
        help="0-1 strength of the effect, or a curve T:V,... (e.g. 0:0.5,30:1)",
    )
    convert.add_argument("--path", choices=PATHS, help="the orbit's path (default: the preset's, circle)")
    convert.add_argument(
        "--sync", choices=SYNCS, help="beats: one turn every --beats-per-turn beats of the song, starting on a beat"
    )
    convert.add_argument(
        "--beats-per-turn",
        type=int,
        metavar="N",
        help=f"beats per turn with --sync beats ({BEATS_PER_TURN_RANGE[0]}-{BEATS_PER_TURN_RANGE[1]}, default 16)",
    )
    convert.add_argument(
        "--fade-in", type=float, metavar="SECONDS", help="the effect fades in from the original over these (default 3)"
    )
    convert.add_argument(
        "--fade-out", type=float, metavar="SECONDS", help="... and out to it over the song's last seconds (default 3)"
    )
    convert.add_argument(
        "--preview",
        action="store_true",
        help="only 30 s, from the song's loudest part (named {stem}.preview.8d.{format})",
    )
    convert.add_argument(
        "--reverb", type=float, metavar="AMOUNT", help="0-1 level of the room (DRR -20 log10 AMOUNT dB); 0 = dry"
    )
    convert.add_argument("--room", choices=ROOMS, help="the room around the head (default: the preset's)")
    convert.add_argument("--direction", choices=DIRECTIONS, help="orbit direction, seen from above")
    convert.add_argument("--mode", choices=MODES, help="spherical head model or measured HRTF (MIT KEMAR)")
    convert.add_argument(
        "--hrtf",
        type=Path,
        metavar="FILE.sofa",
        help="render through your own head: an AES69 SOFA file (SimpleFreeFieldHRIR); implies --mode hrtf",
    )
    convert.add_argument("--format", choices=OUTPUT_FORMATS, help="output format (default: -o's extension, else mp3)")
    convert.add_argument(
        "--mp3-quality",
        type=_mp3_quality,
        default=DEFAULT_MP3_QUALITY,
        metavar="Q",
        help="MP3 bitrate in kbps (CBR, default 320) or LAME VBR level V0-V9",
    )
    convert.add_argument(
        "-j",
        "--jobs",
        type=_job_count,
        default=_usable_cpus(),
        metavar="JOBS",
        help="files converted at once (default: the CPUs available, here %(default)s)",
    )
    convert.set_defaults(command=_convert_command)

    presets = commands.add_parser("presets", help="list the presets and their parameters")
    presets.set_defaults(command=_presets_command)

    analyze = commands.add_parser(
        "analyze",
        help="measure the 8D orbit of a file",
        description="Measure the orbit (ILD/ITD tracks, period), loudness, true peak (8x), coloration, comb depth, "
        "interaural coherence and where a listener model hears it (heard behind) of an audio file.",
    )
    analyze.add_argument("file", type=Path, metavar="FILE")
    analyze.add_argument("--plot", type=_png_file, metavar="PNG", help="also draw the orbit into this PNG")
    analyze.add_argument(
        "--original",
        type=Path,
        metavar="SONG",
        help="the song FILE (or its 30 s preview) was converted from: coloration, comb depth and the listener model "
        "measure against it",
    )
    analyze.set_defaults(command=_analyze_command)
    add_batch_command(commands)  # surroundyou batch start|status (surroundyou/batch.py)
    return parser


def _mp3_quality(text: str) -> str:
    try:
        return check_mp3_quality(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _number_or_curve(text: str) -> float | str:
    """A number, or a breakpoint curve's text (its ranges are checked when the options are built)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parse_curve(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# ---------------------------------------------------------------- convert


def _convert_command(args: argparse.Namespace) -> int:
    console, errors = Console(), Console(stderr=True)
    try:
        jobs, left_out = plan_jobs(args)
    except (ValueError, OSError) as error:
        errors.print(f"[red]surroundyou convert: {_message(error)}[/red]", highlight=False)
        return 2
    for note in left_out:
        console.print(note, highlight=False)
    if args.skip_existing:
        to_do = [job for job in jobs if not job.dst.exists()]
        if len(to_do) < len(jobs):
            console.print(f"{len(jobs) - len(to_do)} skipped: their results are there already", highlight=False)
        jobs = [dataclasses.replace(job, index=index) for index, job in enumerate(to_do)]
        if not jobs:
            return 0
    try:
        outcomes = run_jobs(jobs, max(1, min(args.jobs, len(jobs))), errors)
    except KeyboardInterrupt:
        if len(jobs) > 1:
            made = sum(1 for job in jobs if job.dst.exists())
            again = "run the same command again" if args.skip_existing else "run it again with --skip-existing"
            errors.print(f"{made} of {len(jobs)} songs were converted: {again} to go on from there", highlight=False)
        raise
    if len(outcomes) > SUMMARY_ROWS_KEPT:
        console.print(_library_summary(outcomes))
        for outcome in outcomes:
            if outcome.error:  # told as it ended too, hours of output ago
                console.print(f"[red]failed:[/red] {outcome.error}", highlight=False)
    else:
        for outcome in outcomes:
            for line in _motion_notes(outcome):
                console.print(line, highlight=False)
        console.print(_summary(outcomes))
    failed = sum(1 for outcome in outcomes if outcome.error)
    console.print(f"{len(outcomes) - failed} converted, {failed} failed", highlight=False)
    return 1 if failed else 0


def _problem(outcome: Outcome) -> str | None:
    """The error or warning line a song's outcome calls for, if any."""
    if outcome.error:
        return f"[red]error:[/red] {outcome.error}"
    if outcome.report is not None and outcome.report.non_finite_samples:
        return (
            f"[yellow]warning:[/yellow] {outcome.job.src.name}: {outcome.report.non_finite_samples} samples "
            "were NaN or infinite; they were converted as silence"
        )
    return None


def _motion_notes(outcome: Outcome) -> list[str]:
    """What a conversion's beat sync, input correction and preview did, in a line each."""
    report, name = outcome.report, outcome.job.src.name
    if report is None:
        return []
    notes = []
    if report.sync == "beats" and report.tempo_bpm is not None and report.beats_per_turn is not None:
        beats = report.beats_per_turn
        notes.append(
            f"{name}: beat sync: {report.tempo_bpm:.1f} BPM, one turn every {beats} beats "
            f"({60 * beats / report.tempo_bpm:.2f} s)"
        )
    elif report.sync == "no clear beat":
        notes.append(
            f"[yellow]{name}: no clear beat found; the orbit kept the period "
            f"({_describe(outcome.job.options.period_s)} s)[/yellow]"
        )
    if report.right_inverted:
        notes.append(f"{name}: its channels were in opposite polarity; the right one was inverted so nothing cancels")
    if report.dc_offset_removed:
        notes.append(f"{name}: a DC offset of {report.dc_offset_removed:.3f} was removed")
    if report.peaks_clipped_db:
        notes.append(
            f"{name}: mastered loud: the tips of its peaks were soft-clipped, up to "
            f"{report.peaks_clipped_db:.1f} dB, to keep its loudness under the ceiling"
        )
    if report.preview_start_s is not None:
        start = report.preview_start_s
        notes.append(f"{name}: preview of {report.duration_s:.0f} s from {int(start // 60)}:{start % 60:04.1f}")
    return notes


def _output_file(text: str) -> Path:
    """``-o``'s file; a name ending in a separator is a folder (it was written as a file named so)."""
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text} names a folder: give a file name, or use --out-dir {text}")
    return Path(text)


def _message(error: Exception) -> str:
    """An error as one line; a path the system refused (a name too long...) as ``path: reason``."""
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _job_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count}: at least one file is converted at a time")
    return count


def _png_file(text: str) -> Path:
    """``--plot``'s file: matplotlib picks the format from the extension, and the plot is a PNG."""
    if Path(text).suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text} is not a .png file name")
    return Path(text)


def _describe(value: float | tuple[tuple[float, float], ...]) -> str:
    """A number as ``8``, a curve as ``0:8,60:4``."""
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return ",".join(f"{t:g}:{v:g}" for t, v in value)


def plan_jobs(args: argparse.Namespace) -> tuple[list[ConversionJob], list[str]]:
    """One job per song, with its output path, and a note for each song of a folder left out because
    another's result has its name (Song.flac beside Song.mp3: the first by name is converted);
    ValueError for a command line that cannot work (two songs named on it with one result)."""
    options = render_options_for(job_options(args))
    if args.hrtf is not None:  # a file on this machine: a CLI choice, not a job option
        from surroundyou.engine.hrtf import kemar_head_radius_m

        kemar_head_radius_m(str(args.hrtf))  # reads the file: a SofaError (a ValueError) names what is wrong first
        options = dataclasses.replace(options, mode="hrtf", hrtf_path=str(args.hrtf))
    songs = songs_and_folders(args.inputs, args.out_dir)
    if args.output is not None and len(songs) > 1:
        raise ValueError("-o/--output takes one input; use --out-dir for several")
    if args.out_dir is not None and args.out_dir.exists() and not args.out_dir.is_dir():
        raise ValueError(f"--out-dir {args.out_dir} is a file, not a folder")
    if args.output is not None and args.output.is_dir():
        raise ValueError(f"-o/--output {args.output} is a folder: give a file name, or use --out-dir {args.output}")
    if args.output is not None:
        fmt = output_format_for(args.output, args.format)
        if args.format and args.output.suffix and args.output.suffix.lstrip(".").lower() != args.format:
            raise ValueError(f"--format {args.format} does not match the output name {args.output.name}")
    else:
        fmt = args.format or "mp3"
    named = {given.resolve() for given in args.inputs if not given.is_dir()}
    jobs: list[ConversionJob] = []
    left_out: list[str] = []
    seen: dict[Path, Path] = {}
    for src, folder in songs:
        dst = args.output or folder / f"{src.stem}{result_suffix(fmt, args.preview)}"
        if dst.resolve() == src.resolve():
            raise ValueError(f"{src}: the output would overwrite the input")
        first = seen.setdefault(dst.resolve(), src)
        if first == src:
            jobs.append(ConversionJob(len(jobs), src, dst, fmt, options, args.mp3_quality, args.preview))
        elif src.resolve() in named and first.resolve() in named:
            raise ValueError(f"{src} and {first} would both be written to {dst}")
        else:
            left_out.append(f"{src} left out: its result would be {dst}, as {first.name}'s is")
    return jobs, left_out


def songs_and_folders(inputs: Sequence[Path], out_dir: Path | None) -> list[tuple[Path, Path]]:
    """Each song with the folder its result goes to. A folder input stands for every song under it, by
    name (``is_song_name``), in its sub-folders too (hidden ones aside); with ``out_dir`` their results
    keep its tree, as a library batch's do (``surroundyou_jobs.batches``). A song named twice (by
    itself and by its folder, or by overlapping globs) is converted once, where it is first named."""
    songs: list[tuple[Path, Path]] = []
    for given in inputs:
        if not given.is_dir():
            songs.append((given, out_dir or given.parent))
            continue
        found = []
        for where, folders, names in os.walk(given):  # symbolic links to folders are not followed: no loops
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            here = Path(where)
            target = out_dir / here.relative_to(given) if out_dir else here
            found += [(here / name, target) for name in sorted(names) if is_song_name(name)]
        if not found:
            raise ValueError(f"{given} is a folder with no songs in it ({', '.join(INPUT_CONTENT_TYPES)})")
        songs += found
    first_named: dict[Path, tuple[Path, Path]] = {}
    for song, folder in songs:
        first_named.setdefault(song.resolve(), (song, folder))
    return list(first_named.values())


def job_options(args: argparse.Namespace) -> dict[str, object]:
    """The command line's render choices as a job's options: the preset and the flags given."""
    flags = (
        ("periodS", args.period),
        ("reverb", args.reverb),
        ("room", args.room),
        ("direction", args.direction),
        ("mode", args.mode),
        ("intensity", args.intensity),
        ("path", args.path),
        ("sync", args.sync),
        ("beatsPerTurn", args.beats_per_turn),
        ("fadeInS", args.fade_in),
        ("fadeOutS", args.fade_out),
    )
    return {"preset": args.preset, **{name: value for name, value in flags if value is not None}}


def run_jobs(jobs: list[ConversionJob], workers: int, console: Console) -> list[Outcome]:
    """Convert every job (in ``workers`` processes when more than one) under a progress bar; a song's
    error or warning is printed above the bars as it ends."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bars:
        many = len(jobs) > SONG_BARS_KEPT
        overall = bars.add_task(f"{len(jobs)} songs", total=len(jobs)) if many else None
        tasks = [bars.add_task(job.src.name, total=1.0, visible=not many) for job in jobs]
        ended: set[int] = set()  # a worker's last progress may be read after its song ended

        def show(index: int, fraction: float) -> None:
            bars.update(tasks[index], completed=fraction, visible=not many or index not in ended)

        def finished(outcome: Outcome) -> Outcome:
            task = tasks[outcome.job.index]
            ended.add(outcome.job.index)
            problem = _problem(outcome)
            if problem is not None:  # told at once, above the bars: a library's run may be stopped hours later
                bars.console.print(problem, highlight=False)
            if overall is not None:
                bars.update(task, visible=False)
                bars.advance(overall)
            elif outcome.error:
                bars.update(task, description=f"{outcome.job.src.name} [red]failed[/red]")
            return outcome

        if workers == 1:
            return [finished(convert_job(job, functools.partial(show, job.index))) for job in jobs]
        # forkserver: forking this process (its progress thread running) could deadlock a worker
        context = multiprocessing.get_context("forkserver")
        updates = context.Queue()
        outcomes: list[Outcome] = []
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(updates,)
        ) as pool:
            pending = {pool.submit(_convert_in_worker, job): job for job in jobs}
            while pending:
                done, _ = concurrent.futures.wait(pending, timeout=0.1)
                _drain(updates, show)
                for future in done:
                    job = pending.pop(future)
                    try:
                        outcomes.append(finished(future.result()))
                    except Exception as error:  # noqa: BLE001 - a worker that died takes only its file
                        outcomes.append(
                            finished(
                                Outcome(
                                    job,
                                    error=f"{job.src.name}: the conversion process stopped ({type(error).__name__})",
                                )
                            )
                        )
            _drain(updates, show)
        return sorted(outcomes, key=lambda outcome: outcome.job.index)


def convert_job(job: ConversionJob, progress: Callable[[float], None]) -> Outcome:
    """Convert one file; any failure becomes the outcome's message (the batch goes on)."""

    def progress_unless_stopped(fraction: float) -> None:
        if _stops:
            raise KeyboardInterrupt
        progress(fraction)

    try:
        report = convert_file(
            job.src,
            job.dst,
            job.options,
            output_format=job.fmt,
            progress=progress_unless_stopped,
            mp3_quality=job.mp3_quality,
            preview=job.preview,
        )
    except AudioInputError as error:
        return Outcome(job, error=str(error))
    except OutputPathError as error:
        return Outcome(job, error=f"{job.src.name}: {error}")
    except Exception as error:  # noqa: BLE001 - one broken file must not stop the batch
        return Outcome(job, error=f"{job.src.name}: conversion failed ({type(error).__name__}: {error})")
    return Outcome(job, report=report)


_worker_queue: multiprocessing.Queue | None = None


def _start_worker(updates: multiprocessing.Queue) -> None:
    """A worker process's entry point: the process-wide malloc setting, and the progress queue."""
    global _worker_queue
    keep_freed_memory()
    _worker_queue = updates


def _convert_in_worker(job: ConversionJob) -> Outcome:
    last = [0.0]

    updates = _worker_queue
    if updates is None:
        raise RuntimeError("a conversion worker started without its progress queue")

    def report(fraction: float) -> None:
        if fraction - last[0] >= PROGRESS_STEP or fraction >= 1.0:
            last[0] = fraction
            updates.put((job.index, fraction))

    return convert_job(job, report)


def _drain(updates: multiprocessing.Queue, apply: Callable[[int, float], None]) -> None:
    while True:
        try:
            apply(*updates.get_nowait())
        except queue.Empty:
            return


def _summary(outcomes: list[Outcome]) -> Table:
    table = Table(title="SurroundYou", title_justify="left")
    for column in ("input", "output"):
        table.add_column(column, justify="left")
    for column in ("duration", "loudness in → out", "true peak", "size"):
        table.add_column(column, justify="right")
    for outcome in outcomes:
        report = outcome.report
        if report is None:
            table.add_row(
                outcome.job.src.name, f"[red]failed: {(outcome.error or '').split(': ', 1)[-1]}[/red]", "", "", "", ""
            )
            continue
        table.add_row(
            outcome.job.src.name,
            str(outcome.job.dst),
            f"{report.duration_s:.1f} s",
            f"{report.input_lufs:.1f} → {report.output_lufs:.1f} LUFS",
            report.true_peak_text,
            f"{report.output_bytes / 1e6:.1f} MB",
        )
    return table


def _library_summary(outcomes: list[Outcome]) -> Table:
    """Many songs' conversions summed up: how much was converted, the spread of the loudness
    change, the highest true peak, and what beat sync and the input correction did."""

    def songs(count: int) -> str:
        return f"{count} song{'s' * (count != 1)}"

    def lu(change: float) -> str:
        return f"{round(change, 1) + 0.0:+.1f}"  # + 0.0: no "-0.0"

    reports = [outcome.report for outcome in outcomes if outcome.report is not None]
    failed = len(outcomes) - len(reports)
    table = Table(title=f"SurroundYou: {songs(len(outcomes))}", title_justify="left", show_header=False, box=None)
    table.add_column(justify="left")
    table.add_column(justify="left")
    music_s, written = sum(r.duration_s for r in reports), sum(r.output_bytes for r in reports)
    table.add_row(
        "converted", f"{len(reports)}: {spoken_duration(music_s)} of music, {file_size(written)}" if reports else "0"
    )
    table.add_row("failed", f"[red]{failed}[/red] (listed below)" if failed else "0")
    changes = sorted(r.output_lufs - r.input_lufs for r in reports if math.isfinite(r.output_lufs - r.input_lufs))
    if changes:
        middle = changes[len(changes) // 2]
        table.add_row("loudness out - in", f"{lu(changes[0])} to {lu(changes[-1])} LU, median {lu(middle)} LU")
    if reports:
        measured = [r.true_peak_dbtp for r in reports if r.true_peak_dbtp is not None]
        highest = max(measured, default=-math.inf)
        unmeasured = len(measured) < len(reports)  # lossy results under their limiter's ceiling
        table.add_row(
            "true peak", f"≤ {max(highest, CEILING_DBTP):.1f} dBTP" if unmeasured else f"{highest:.1f} dBTP at most"
        )
    synced = sum(1 for r in reports if r.sync == "beats")
    unclear = sum(1 for r in reports if r.sync == "no clear beat")
    if synced or unclear:
        table.add_row("beat sync", f"{songs(synced)}; no clear beat in {unclear} (they kept the period)")
    inverted, offsets = sum(1 for r in reports if r.right_inverted), sum(1 for r in reports if r.dc_offset_removed)
    if inverted or offsets:
        table.add_row("input corrected", f"right channel inverted in {songs(inverted)}, DC offset removed in {offsets}")
    return table


# ---------------------------------------------------------------- presets and analyze


def _presets_command(args: argparse.Namespace) -> int:
    console = Console()
    for name, (description, params) in PRESETS.items():
        default = " (default)" if name == DEFAULT_PRESET else ""
        console.print(f"[bold]{name}[/bold]{default}  {description}", highlight=False)
        options = RenderOptions(**params)
        sync = f", beat sync ({options.beats_per_turn} beats per turn)" if options.sync == "beats" else ""
        console.print(
            f"    period {_describe(options.period_s)} s, {options.path} path, {options.direction}, "
            f"width {options.width_deg:g}°, elevation wobble {options.elevation_wobble_deg:g}°, "
            f"intensity {_describe(options.intensity_curve or options.intensity)}, reverb {options.reverb:g} "
            f"({options.room} room), fades {options.fade_in_s:g} s in / {options.fade_out_s:g} s out{sync}, "
            f"bass centred below {options.crossover_hz:g} Hz",
            highlight=False,
        )
    return 0


def _analyze_command(args: argparse.Namespace) -> int:
    from surroundyou.engine.analysis import analysed_figures, read_analysed  # scipy: loaded only when asked for
    from surroundyou.listening import listening_figures

    errors = Console(stderr=True)
    try:
        analysed, duration_s = read_analysed(args.file, args.original)
        figures, orbit = analysed_figures(analysed, duration_s, args.file.name)
        figures.update(listening_figures(analysed.compared_stereo, analysed.original, analysed.compared_rate))
    except (AudioInputError, ValueError, RuntimeError, OSError) as error:
        errors.print(f"[red]error:[/red] {_message(error)}", highlight=False)
        return 1
    table = Table(title=f"{args.file.name}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
    if (orbit.ild_r2 + orbit.itd_r2) / 2 < ORBIT_FOUND_MEAN_R2:
        Console().print(
            f"no orbit found: no period fits the level and time differences between the ears (R² "
            f"{orbit.ild_r2:.2f} / {orbit.itd_r2:.2f}); period_s is the best of poor fits",
            highlight=False,
        )
    if args.plot is not None:
        from surroundyou.plot import plot_orbit

        try:
            plot_orbit(orbit, args.plot)
        except OSError as error:
            errors.print(f"[red]error:[/red] cannot draw the orbit into {args.plot}: {error.strerror}", highlight=False)
            return 1
        Console().print(f"orbit drawn in {args.plot}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
