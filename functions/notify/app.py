"""Notify Lambda: last step of the conversion state machine, on success and on failure, and what
ends a job whose execution ended without a last step.

{"action": "ready", "jobId"}                               -> the job becomes READY (the task wrote its result)
{"action": "failed", "key" | "jobId", "executionArn", "error": {"Error", "Cause"}} -> the job becomes
FAILED with a readable reason (the Catch of every state), unless another execution queued it.
An EventBridge "Step Functions Execution Status Change" of the conversion state machine, ABORTED,
TIMED_OUT or FAILED -> the render slot the execution held is given back and its job, if not
ended yet and not queued by another execution, becomes FAILED: a stopped execution runs none of
its own states. Thin adapter around job_outcome.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from job_outcome import ended_execution_reason, failure_reason, mark_failed, mark_ready
from pydantic import BaseModel, Field, Json

from surroundyou_jobs.keys import parse_input_key
from surroundyou_jobs.limits import DynamoClientLimits, release_render_slot
from surroundyou_jobs.model import DynamoJobStore, Job, JobNotFound, JobStatus
from surroundyou_jobs.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
CAUSE_LOG_CHARS = 4000


class ReadyEvent(BaseModel):
    action: Literal["ready"]
    jobId: str


class StepFunctionsError(BaseModel):
    """What a Catch puts at its ResultPath."""

    Error: str = ""
    Cause: str | None = None


class FailedEvent(BaseModel):
    action: Literal["failed"]
    key: str | None = None  # the upload key ($.detail.object.key), or
    jobId: str | None = None
    executionArn: str | None = None  # the failing execution: a job another one queued is kept
    error: StepFunctionsError = StepFunctionsError()


NotifyEvent = Annotated[ReadyEvent | FailedEvent, Field(discriminator="action")]


class UploadObject(BaseModel):
    key: str


class UploadDetail(BaseModel):
    object: UploadObject


class UploadEvent(BaseModel):
    """The part of an execution's input (the S3 "Object Created" event that started it) that names its job."""

    detail: UploadDetail


class ExecutionDetail(BaseModel):
    executionArn: str
    status: Literal["ABORTED", "TIMED_OUT", "FAILED"]  # the rule's pattern sends no other
    input: Json[UploadEvent] | None = None  # left out by EventBridge past 256 KB; an upload's is ~1 KB
    error: str | None = None
    cause: str | None = None


class ExecutionEnded(BaseModel):
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionDetail


NotifyInput = NotifyEvent | ExecutionEnded  # the state machine's payloads, and EventBridge's event


@cache
def job_store() -> DynamoJobStore:
    """Made on first use (not at import) so tests can import this module before moto starts."""
    return DynamoJobStore.from_settings(Settings())


@cache
def client_limits() -> DynamoClientLimits:
    return DynamoClientLimits.from_settings(Settings())


def close_for_its_client(job: Job) -> None:
    """A job READY or FAILED no longer counts against its client's unfinished jobs (one another
    execution renders still does)."""
    if "clientId" in job and job["status"] in (JobStatus.READY.value, JobStatus.FAILED.value):
        client_limits().close(job["clientId"], job["jobId"])


def job_ready(event: ReadyEvent) -> dict[str, Any]:
    job = mark_ready(job_store(), event.jobId)
    close_for_its_client(job)
    logger.info("job ready", extra={"result": job.get("result")})
    metrics.add_metric(name="JobsReady", unit=MetricUnit.Count, value=1)
    return {"jobId": event.jobId, "status": job["status"]}


def job_failed(event: FailedEvent) -> dict[str, Any]:
    logger.warning(
        "conversion failed", extra={"error": event.error.Error, "cause": (event.error.Cause or "")[:CAUSE_LOG_CHARS]}
    )
    try:
        job_id = event.jobId or parse_input_key(event.key or "")[0]
    except ValueError:
        logger.warning("no job to mark failed: not an upload key", extra={"key": event.key})
        return {"jobId": None, "status": None}
    logger.append_keys(job_id=job_id)
    reason = failure_reason(event.error.Error, event.error.Cause)
    try:
        job, failed_now = mark_failed(job_store(), job_id, reason, event.executionArn)
    except JobNotFound:
        logger.warning("no job to mark failed: unknown job id")
        return {"jobId": job_id, "status": None}
    close_for_its_client(job)
    if not failed_now:
        logger.info("job kept as it was", extra={"status": job["status"], "job_error": job.get("error")})
    if job["status"] == JobStatus.FAILED.value:
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return {"jobId": job_id, "status": job["status"]}


def execution_ended(event: ExecutionEnded) -> dict[str, Any]:
    detail = event.detail
    logger.append_keys(execution=detail.executionArn)
    if detail.input is None:
        logger.warning("an ended execution without its input: no job to end", extra={"status": detail.status})
        return {"jobId": None, "status": None}
    try:
        job_id = parse_input_key(detail.input.detail.object.key)[0]
    except ValueError:
        logger.warning("an ended execution of no upload", extra={"key": detail.input.detail.object.key})
        return {"jobId": None, "status": None}
    logger.append_keys(job_id=job_id)
    if release_render_slot(client_limits().table, job_id, detail.executionArn):
        logger.warning("render slot given back for an execution that ended holding it", extra={"status": detail.status})
    reason = ended_execution_reason(detail.status, detail.error, detail.cause)
    try:
        job, failed_now = mark_failed(job_store(), job_id, reason, detail.executionArn)
    except JobNotFound:
        logger.warning("an ended execution of an unknown job")
        return {"jobId": job_id, "status": None}
    close_for_its_client(job)
    if failed_now:
        logger.warning("job failed: its execution ended without ending it", extra={"status": detail.status})
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return {"jobId": job_id, "status": job["status"]}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=NotifyInput)
def lambda_handler(event: ReadyEvent | FailedEvent | ExecutionEnded, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, ExecutionEnded):
        return execution_ended(event)
    if isinstance(event, ReadyEvent):
        logger.append_keys(job_id=event.jobId)
        return job_ready(event)
    return job_failed(event)
