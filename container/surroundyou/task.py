"""The Fargate task: one job, one song. Run as ``python -m surroundyou.task``.

Environment (the task definition and the state machine's container overrides set it):
    JOB_ID       the job to run (must be QUEUED)
    BUCKET       where the upload is and the result goes
    INPUT_KEY    uploads/{jobId}/source.{ext}
    OUTPUT_KEY   processed/{jobId}/{stem}.8d.{format}
    OPTIONS      the job's options as JSON (surroundyou_jobs.options.parse_job_options shape)
    JOBS_TABLE   the DynamoDB jobs table (read through surroundyou_jobs.settings.Settings)
boto3 reads AWS_ENDPOINT_URL itself, which is how the local stack and the tests point it elsewhere.

What it does: QUEUED -> PROCESSING, download the upload to a temp file, convert it with the engine
while writing progress into the job, upload the result with its duration as metadata (the notify
Lambda reads it and marks the job READY). On failure it marks the job FAILED with a reason a person
can read and exits non-zero; the state machine's Catch then keeps that reason.

Exit codes: 0 done, 1 job failed (marked FAILED), 2 bad environment (job untouched),
3 job not QUEUED or unknown (job untouched), 143 stopped by SIGTERM/SIGINT.
Logs: one JSON object per line on stdout (CloudWatch Logs keeps each as one event).
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import boto3

from surroundyou.audio_io import AudioInputError
from surroundyou.convert import convert_file
from surroundyou.presets import RenderOptions
from surroundyou_jobs.keys import OUTPUT_CONTENT_TYPES, RESULT_PREFIX, parse_upload_key
from surroundyou_jobs.model import JobError, JobNotFound, JobStatus, JobStore, TransitionRejected
from surroundyou_jobs.options import InvalidOptions, parse_job_options
from surroundyou_jobs.settings import Settings

logger = logging.getLogger("surroundyou.task")

REQUIRED_ENVIRONMENT = ("JOB_ID", "BUCKET", "INPUT_KEY", "OUTPUT_KEY", "OPTIONS", "JOBS_TABLE")

# Progress shown while converting runs 0 -> CONVERTED_PROGRESS; the upload takes it to
# UPLOADED_PROGRESS. 100 is written by the notify Lambda together with READY.
CONVERTED_PROGRESS = 95
UPLOADED_PROGRESS = 99

RENDER_FAILED_MESSAGE = "Something went wrong while rendering; please try again."
INTERRUPTED_MESSAGE = "The conversion was stopped before it finished; please try again."


class ExitCode(IntEnum):
    OK = 0
    JOB_FAILED = 1
    BAD_ENVIRONMENT = 2
    NOT_QUEUED = 3
    INTERRUPTED = 128 + signal.SIGTERM  # the shell convention for "killed by SIGTERM"


class BadEnvironment(ValueError):
    """The task was started with a missing or malformed variable; the message names it."""


class Interrupted(BaseException):
    """SIGTERM/SIGINT arrived (Fargate stopping the task, a Spot interruption, Ctrl-C).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` in the engine or in
    boto3 swallows it on its way up to run_job.
    """


class JobFailed(RuntimeError):
    """The job was marked FAILED with ``error`` (the cause is chained)."""

    def __init__(self, error: JobError):
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


@dataclass(frozen=True)
class TaskJob:
    """What the task was asked to do."""

    job_id: str
    bucket: str
    input_key: str
    output_key: str
    options: dict[str, Any]  # normalised by parse_job_options, so "format" is always present

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TaskJob:
        """Raises BadEnvironment naming the first variable that is missing or wrong."""
        missing = [name for name in REQUIRED_ENVIRONMENT if not environ.get(name)]
        if missing:
            raise BadEnvironment(f"missing environment variable(s): {', '.join(missing)}")
        job_id = environ["JOB_ID"]
        try:
            upload_job_id, _ = parse_upload_key(environ["INPUT_KEY"])
        except ValueError as exc:
            raise BadEnvironment(f"INPUT_KEY: {exc}") from None
        # Cross-wired overrides would render one job's song into another job's result.
        if upload_job_id != job_id:
            raise BadEnvironment(f"INPUT_KEY {environ['INPUT_KEY']!r} does not belong to JOB_ID {job_id}")
        if not environ["OUTPUT_KEY"].startswith(f"{RESULT_PREFIX}{job_id}/"):
            raise BadEnvironment(f"OUTPUT_KEY must be under {RESULT_PREFIX}{job_id}/, got {environ['OUTPUT_KEY']!r}")
        try:
            options = parse_job_options(json.loads(environ["OPTIONS"]))
        except (json.JSONDecodeError, InvalidOptions) as exc:
            raise BadEnvironment(f"OPTIONS: {exc}") from None
        return cls(job_id=job_id, bucket=environ["BUCKET"], input_key=environ["INPUT_KEY"],
                   output_key=environ["OUTPUT_KEY"], options=options)


class ProgressReporter:
    """Writes the job's progress (0-99) into DynamoDB, throttled.

    A write happens only when the progress rose by at least ``min_step`` points since the last write
    and at least ``min_interval_s`` has passed: the web app polls about once a second, and each
    write is a billed DynamoDB request. ``write(..., force=True)`` skips the throttle for the
    milestones (converted, uploaded). A failed write is logged, never fatal to the job.
    """

    def __init__(self, store: JobStore, job_id: str, *, min_step: int = 5, min_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.job_id = job_id
        self.min_step = min_step
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.written = 0  # the claim (QUEUED -> PROCESSING) left progress at 0
        self._written_at_s = clock()

    def conversion(self, fraction: float) -> None:
        """The engine's ``progress`` callback: fraction 0..1 of the conversion."""
        self.write(math.floor(min(max(fraction, 0.0), 1.0) * CONVERTED_PROGRESS))

    def write(self, progress: int, *, force: bool = False) -> None:
        now_s = self.clock()
        if progress <= self.written:
            return
        if not force and (progress - self.written < self.min_step
                          or now_s - self._written_at_s < self.min_interval_s):
            return
        try:
            self.store.set_progress(self.job_id, progress)
        except Exception:  # noqa: BLE001 - progress is cosmetic; the conversion goes on
            logger.warning("could not write progress", exc_info=True,
                           extra={"job_id": self.job_id, "progress": progress})
            return
        self.written = progress
        self._written_at_s = now_s


def run_job(job: TaskJob, s3: Any, store: JobStore) -> dict[str, Any]:
    """Claim the job, convert its song and upload the result. Returns what was uploaded.

    ``s3`` is a boto3 S3 client, ``store`` the JobStore. Raises TransitionRejected/JobNotFound when
    the job is not QUEUED (the job is left alone) and JobFailed after marking the job FAILED.
    """
    try:
        # Inside the try: a signal that lands while the claim's response is read must still mark
        # the job (FAILED may be entered from QUEUED as well as from PROCESSING).
        claimed = store.transition(job.job_id, JobStatus.PROCESSING)
        logger.info("job claimed", extra={"job_id": job.job_id, "input_key": job.input_key})
        with tempfile.TemporaryDirectory(prefix="surroundyou-") as workdir:
            return _convert_and_upload(job, claimed.get("filename", ""), s3, store, Path(workdir))
    except (TransitionRejected, JobNotFound):
        raise  # another execution's job, or none: not ours to touch
    except (Exception, Interrupted) as exc:
        error = _job_error(exc)
        logger.error("job failed", exc_info=exc, extra={"job_id": job.job_id, "error_code": error.code,
                                                        "error_message": error.message})
        _mark_failed(store, job.job_id, error)
        raise JobFailed(error) from exc


def _convert_and_upload(job: TaskJob, filename: str, s3: Any, store: JobStore,
                        workdir: Path) -> dict[str, Any]:
    options = RenderOptions.from_job_options(job.options)
    fmt = job.options["format"]
    _, input_ext = parse_upload_key(job.input_key)
    source = workdir / f"source.{input_ext}"  # the extension tells the engine which decoder to try
    result = workdir / "result" / PurePosixPath(job.output_key).name
    result.parent.mkdir()

    with source.open("wb") as sink:  # streamed in chunks by s3transfer, never whole in memory
        s3.download_fileobj(job.bucket, job.input_key, sink)
    logger.info("input downloaded", extra={"job_id": job.job_id, "size_bytes": source.stat().st_size})

    progress = ProgressReporter(store, job.job_id)
    report = convert_file(source, result, options, output_format=fmt, progress=progress.conversion)
    progress.write(CONVERTED_PROGRESS, force=True)
    logger.info("converted", extra={"job_id": job.job_id, "duration_s": report.duration_s,
                                    "input_lufs": report.input_lufs, "output_lufs": report.output_lufs,
                                    "output_bytes": report.output_bytes})

    metadata = {
        "duration-s": f"{report.duration_s:.3f}",
        # S3 metadata travels as HTTP headers: ASCII only, so the name is percent-encoded UTF-8.
        "source-filename": quote(filename, safe=" "),
    }
    # upload_file switches to a multipart upload above 8 MiB and streams the file from disk.
    s3.upload_file(str(result), job.bucket, job.output_key,
                   ExtraArgs={"ContentType": OUTPUT_CONTENT_TYPES[fmt], "Metadata": metadata})
    progress.write(UPLOADED_PROGRESS, force=True)
    uploaded = {"key": job.output_key, "format": fmt, "durationS": report.duration_s,
                "sizeBytes": result.stat().st_size}
    logger.info("result uploaded", extra={"job_id": job.job_id, **uploaded})
    return uploaded


def _job_error(exc: BaseException) -> JobError:
    """The reason stored on the job: the engine's own words for bad input, a generic one otherwise."""
    if isinstance(exc, AudioInputError):
        # The reason alone: the file name in str(exc) is the task's temp copy, not the user's.
        return JobError("DECODE_FAILED", _as_sentence(exc.reason))
    if isinstance(exc, Interrupted):
        return JobError("INTERRUPTED", INTERRUPTED_MESSAGE)
    return JobError("RENDER_FAILED", RENDER_FAILED_MESSAGE)


def _as_sentence(reason: str) -> str:
    """'the file is empty' -> 'The file is empty.' (how the other job errors read)."""
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith((".", "!", "?")) else ".")


def _mark_failed(store: JobStore, job_id: str, error: JobError) -> None:
    try:
        store.transition(job_id, JobStatus.FAILED, error=error)
    except Exception:  # noqa: BLE001 - the state machine's Catch marks it FAILED as a fallback
        logger.error("could not mark the job FAILED", extra={"job_id": job_id},
                     exc_info=True)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM/SIGINT raise Interrupted in the main thread, once; a second signal is ignored so it
    cannot cut short the FAILED write (ECS follows up with SIGKILL after its stop timeout anyway)."""

    def interrupt(signum: int, _frame: Any) -> None:
        for ignored in (signal.SIGTERM, signal.SIGINT):
            signal.signal(ignored, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, message, job_id and any ``extra`` fields."""

    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "job_id": getattr(record, "job_id", None),
        }
        entry.update({key: value for key, value in vars(record).items()
                      if key not in self._STANDARD and key not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLinesFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for chatty in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def main() -> int:
    """The container's entrypoint: the environment in, an exit code out (see the module docstring)."""
    _configure_logging(os.environ.get("LOG_LEVEL", "INFO"))  # the task definition: DEBUG outside prod
    job_id = os.environ.get("JOB_ID")
    try:
        with signals_interrupt():
            job = TaskJob.from_environ(os.environ)
            settings = Settings()
            store = JobStore(boto3.resource("dynamodb").Table(settings.jobs_table),
                             ttl_days=settings.job_ttl_days)
            run_job(job, boto3.client("s3"), store)
    except BadEnvironment as exc:
        logger.error(f"cannot start: {exc}", extra={"job_id": job_id})
        return ExitCode.BAD_ENVIRONMENT
    except TransitionRejected as exc:
        logger.error(f"job not run, left untouched: {exc}", extra={"job_id": job_id})
        return ExitCode.NOT_QUEUED
    except JobNotFound:
        logger.error(f"job not run: there is no job {job_id} in the jobs table", extra={"job_id": job_id})
        return ExitCode.NOT_QUEUED
    except JobFailed as exc:  # run_job logged why and marked the job
        return ExitCode.INTERRUPTED if isinstance(exc.__cause__, Interrupted) else ExitCode.JOB_FAILED
    except Interrupted:
        logger.error("stopped before the job was claimed; it is left as it was", extra={"job_id": job_id})
        return ExitCode.INTERRUPTED
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
