"""How a conversion ends: the job becomes READY (the task already wrote its result), or FAILED with
a reason a person understands, derived from the error the state machine caught.

Both are conditional writes that never move a job backwards: a retried notification finds the job
already READY, a job the task already failed keeps the task's own, more precise reason, and a job
another execution queued is that execution's to end.
"""

from __future__ import annotations

import json
from typing import Any

from surroundyou_jobs.errors import INTERRUPTED_MESSAGE, ErrorCode, JobError
from surroundyou_jobs.model import Job, JobStatus, JobStore, TransitionRejected

# Step Functions error names (States.*, and Lambda/ECS errors named by their type)
TIMEOUTS = ("States.Timeout", "States.HeartbeatTimeout")
ECS_API_ERROR_PREFIX = "ECS."
INTERRUPTED_EXIT_CODE = 143  # the task's own on SIGTERM (surroundyou.task's ExitCode.INTERRUPTED)

TIMEOUT_MESSAGE = "Rendering took too long and was stopped. Please try a shorter song, or try again later."
CONVERTER_STOPPED_MESSAGE = "The converter stopped unexpectedly. Please try again in a few minutes."
NO_CONVERTER_MESSAGE = "No converter could be started right now. Please try again in a few minutes."
BUSY_MESSAGE = "Too many songs are being converted right now and yours waited too long. Please try again later."
# AcquireRenderSlot gave up waiting for a free render slot (MaxConcurrentRenders)
NO_RENDER_SLOT = "DynamoDB.ConditionalCheckFailedException"
GENERIC_MESSAGE = "Something went wrong while converting your song. Please try again."


def _json_object(cause: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(cause or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_ecs_task(cause: dict[str, Any]) -> bool:
    """True for the ECS task description runTask.sync puts in the Cause of a failed task
    (PascalCase keys from Step Functions, camelCase from the ECS API itself)."""
    return any(name in cause for name in ("TaskArn", "taskArn", "Containers", "containers"))


def _was_interrupted(task: dict[str, Any]) -> bool:
    """A task Fargate Spot took back, or whose container was stopped by SIGTERM (exit 143) mid-render."""
    containers = task.get("Containers") or task.get("containers") or []
    exit_codes = {container.get("ExitCode", container.get("exitCode")) for container in containers}
    return (task.get("StopCode") or task.get("stopCode")) == "SpotInterruption" or INTERRUPTED_EXIT_CODE in exit_codes


def failure_reason(error_name: str, cause: str | None) -> JobError:
    """The job's error for a Step Functions error {"Error": error_name, "Cause": cause}."""
    cause_json = _json_object(cause)
    if error_name == ErrorCode.INVALID_UPLOAD:  # validate's exception, named after its class
        # a Lambda error's Cause is {"errorMessage", "errorType", "stackTrace", ...}
        message = (cause_json or {}).get("errorMessage") or "This file can't be converted."
        return JobError(ErrorCode.INVALID_UPLOAD, message)
    if error_name == NO_RENDER_SLOT:
        return JobError(ErrorCode.CONVERTER_UNAVAILABLE, BUSY_MESSAGE)
    if error_name in TIMEOUTS:
        return JobError(ErrorCode.TIMEOUT, TIMEOUT_MESSAGE)
    if cause_json is not None and _is_ecs_task(cause_json):
        if _was_interrupted(cause_json):
            return JobError(ErrorCode.INTERRUPTED, INTERRUPTED_MESSAGE)
        return JobError(ErrorCode.CONVERTER_STOPPED, CONVERTER_STOPPED_MESSAGE)
    if error_name.startswith(ECS_API_ERROR_PREFIX):
        return JobError(ErrorCode.CONVERTER_UNAVAILABLE, NO_CONVERTER_MESSAGE)
    return JobError(ErrorCode.CONVERSION_FAILED, GENERIC_MESSAGE)


def ended_execution_reason(status: str, error_name: str | None, cause: str | None) -> JobError:
    """The job's error when its execution ended ABORTED (StopExecution: the console, the CLI),
    TIMED_OUT or FAILED without marking it (a stopped execution runs no Catch)."""
    if status == "ABORTED":
        return JobError(ErrorCode.INTERRUPTED, INTERRUPTED_MESSAGE)
    if status == "TIMED_OUT":
        return JobError(ErrorCode.TIMEOUT, TIMEOUT_MESSAGE)
    return failure_reason(error_name or "", cause)


def mark_ready(store: JobStore, job_id: str) -> Job:
    """PROCESSING -> READY; a job already READY is returned as it is."""
    try:
        return store.transition(job_id, JobStatus.READY)
    except TransitionRejected:
        job = store.get(job_id)
        if job["status"] == JobStatus.READY.value:
            return job
        raise


def mark_failed(store: JobStore, job_id: str, reason: JobError, execution_arn: str | None) -> tuple[Job, bool]:
    """-> FAILED with ``reason``, for the execution ``execution_arn``: (the job, True); a job already
    FAILED or READY, or queued by another execution (a duplicate upload event's execution failed),
    is returned as it is: (the job, False).

    Raises JobNotFound for an unknown job.
    """
    try:
        return store.transition(job_id, JobStatus.FAILED, error=reason, execution_arn=execution_arn), True
    except TransitionRejected:
        return store.get(job_id), False
