"""The container's entrypoint: the environment in, an exit code out.

Exit codes: 0 done, 1 job failed (marked FAILED) or the task's deadline passed, 2 bad environment
(job untouched), 3 job not for a render to claim, or unknown (job untouched), 143 stopped by
SIGTERM/SIGINT (the job marked FAILED, or, where RENDERS_RETRIED_WHEN_INTERRUPTED, left PROCESSING
for the next render).

A task that hangs (a call that never returns) must not bill for good: ECS has no task timeout,
and the state machine's RenderAudio timeout fails the job but may leave the task running. So
``RENDER_DEADLINE_S`` after it starts, the process prints every thread's traceback (what it hung
on, in its log) and exits 1, from faulthandler's watchdog: a thread of C code, which ends the
process even while the main thread is stuck in a call that holds the GIL.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
from collections.abc import Mapping
from enum import IntEnum

from surroundyou_jobs.keys import is_job_id
from surroundyou_jobs.model import DynamoJobStore, JobNotFound, TransitionRejected
from surroundyou_jobs.settings import Settings

from . import logger
from .interruption import Interrupted, signals_interrupt


class ExitCode(IntEnum):
    OK = 0
    JOB_FAILED = 1
    BAD_ENVIRONMENT = 2
    NOT_QUEUED = 3
    INTERRUPTED = 128 + signal.SIGTERM  # the shell convention for "killed by SIGTERM"


REQUIRED_ENVIRONMENT = ("JOB_ID", "BUCKET", "JOBS_TABLE")


def environment_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with the task's environment, or None."""
    missing = [name for name in REQUIRED_ENVIRONMENT if not environ.get(name)]
    if missing:
        return f"missing environment variable(s): {', '.join(missing)}"
    if not is_job_id(environ["JOB_ID"]):
        return f"JOB_ID is not a job id: {environ['JOB_ID']!r}"
    return None


def main() -> int:
    job_id = os.environ.get("JOB_ID")
    logger.append_keys(job_id=job_id)
    problem = environment_problem(os.environ)
    if problem:
        logger.error(f"cannot start: {problem}")
        return ExitCode.BAD_ENVIRONMENT
    settings = Settings()
    faulthandler.dump_traceback_later(settings.render_deadline_s, exit=True)
    try:
        with signals_interrupt():
            # Imported here so a bad environment is reported without loading the engine.
            import boto3

            from surroundyou.allocator import keep_freed_memory

            from . import preload
            from .run import JobFailed, JobInterrupted, run_job

            keep_freed_memory()
            preload.start()  # the render stack loads while the job is claimed and downloaded
            try:
                run_job(
                    os.environ["JOB_ID"],
                    settings.bucket,
                    boto3.client("s3"),
                    DynamoJobStore.from_settings(settings),
                    retried_when_interrupted=settings.renders_retried_when_interrupted,
                )
            except JobFailed as exc:  # run_job logged why and marked the job
                return ExitCode.INTERRUPTED if isinstance(exc.__cause__, Interrupted) else ExitCode.JOB_FAILED
            except JobInterrupted:  # run_job left the job for the state machine's next render
                return ExitCode.INTERRUPTED
    except TransitionRejected as exc:
        logger.error(f"job not run, left untouched: {exc}")
        return ExitCode.NOT_QUEUED
    except JobNotFound:
        logger.error(f"job not run: there is no job {job_id} in the jobs table")
        return ExitCode.NOT_QUEUED
    except Interrupted:
        logger.error("stopped before the job was claimed; it is left as it was")
        return ExitCode.INTERRUPTED
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
