"""Job states, legal transitions and the job item (DynamoDB table, key ``jobId``).

AWAITING_UPLOAD -> QUEUED -> PROCESSING -> READY
        \\------------\\-----------\\------> FAILED

Every transition is a conditional write on the current status, so a duplicate event or a late
retry can never move a job backwards: it gets ``TransitionRejected`` and leaves the item alone.
The conversion execution that queues a job owns it (``executionArn``): another execution of the
same upload (a duplicate S3 event's) can no longer fail it.
The item is the job's one record: the state machine passes only ``jobId``, and every component
reads and writes the fields below under these names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any, NotRequired, Protocol, TypedDict

from .errors import JobError
from .settings import Settings


class JobStatus(StrEnum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


# status -> the statuses it may be entered from
ENTERED_FROM: dict[JobStatus, tuple[JobStatus, ...]] = {
    JobStatus.QUEUED: (JobStatus.AWAITING_UPLOAD,),
    JobStatus.PROCESSING: (JobStatus.QUEUED,),
    JobStatus.READY: (JobStatus.PROCESSING,),
    JobStatus.FAILED: (JobStatus.AWAITING_UPLOAD, JobStatus.QUEUED, JobStatus.PROCESSING),
}


class JobNotFound(LookupError):
    pass


class TransitionRejected(RuntimeError):
    """The job is not in a status the transition may start from (duplicate or late event)."""


class JobResult(TypedDict):
    """What the task wrote: written once, when the result is in S3."""

    outputKey: str  # processed/{jobId}/{stem}.8d.{format}
    format: str
    durationS: float
    sizeBytes: int
    # what the page tells and plays by: the song's and the result's integrated loudness (LUFS,
    # BS.1770), where a preview was cut from (seconds into the song), and for beat sync whether
    # the orbit followed the beat ("beats", at tempoBpm) or the song had "no clear beat"
    inputLufs: NotRequired[float]
    outputLufs: NotRequired[float]
    previewStartS: NotRequired[float]
    sync: NotRequired[str]
    tempoBpm: NotRequired[float]
    # channel samples of the upload that were NaN or infinite, converted as silence (present when any)
    nonFiniteSamples: NotRequired[int]


class Job(TypedDict):
    """The job item. Who writes which field: README, "The job, from the page to the download"."""

    jobId: str
    status: str  # a JobStatus value
    progress: int  # 0-100; 100 only when READY
    filename: str  # the user's file name, kept for the download's name only
    size: int  # bytes the browser said it would upload
    contentType: str
    options: dict[str, Any]  # options.parse_job_options shape
    inputKey: str  # uploads/{jobId}/source.{ext}
    inputEtag: NotRequired[str]  # the ETag of the upload validate checked: the task reads that object only
    executionArn: NotRequired[str]  # the conversion execution that queued it: only it may fail the job
    createdAt: int
    updatedAt: int
    expiresAt: int  # TTL
    clientId: NotRequired[str]  # limits.client_id of who created it (a hash, not the address)
    result: NotRequired[JobResult]
    error: NotRequired[dict[str, str]]  # {"code": ErrorCode value, "message"}
    # when its render was taken back mid-song (a Fargate Spot interruption) and the job left
    # PROCESSING for the state machine to render again (claim) or end
    interruptedAt: NotRequired[int]


def _plain(value: Any) -> Any:
    """DynamoDB Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _dynamo(value: Any) -> Any:
    """floats to Decimal, recursively (boto3's resource API refuses floats)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    return value


def public_view(job: Job) -> dict[str, Any]:
    """The job as the API shows it: no internal fields."""
    view: dict[str, Any] = {"jobId": job["jobId"], "status": job["status"], "progress": job.get("progress", 0)}
    for field in ("filename", "options", "error"):
        if field in job:
            view[field] = job[field]
    if job["status"] == JobStatus.PROCESSING.value and "interruptedAt" in job:
        view["interruptedAt"] = job["interruptedAt"]  # the page says its render starts again
    if job["status"] == JobStatus.READY.value and "result" in job:
        view["result"] = job["result"]
    return view


def new_job(
    job_id: str,
    *,
    filename: str,
    size: int,
    content_type: str,
    options: dict[str, Any],
    input_key: str,
    now_s: int,
    ttl_days: int,
) -> Job:
    """The item of a job that waits for its upload."""
    return Job(
        jobId=job_id,
        status=JobStatus.AWAITING_UPLOAD.value,
        progress=0,
        filename=filename,
        size=size,
        contentType=content_type,
        options=options,
        inputKey=input_key,
        createdAt=now_s,
        updatedAt=now_s,
        expiresAt=now_s + ttl_days * 86400,
    )


class JobStore(Protocol):
    """All reads and writes of job items: DynamoJobStore in AWS, an in-memory fake in unit tests."""

    def create(self, job: Job) -> Job:
        """Put a new item; never overwrites one with the same jobId."""

    def get(self, job_id: str) -> Job:
        """The item; raises JobNotFound."""

    def transition(
        self,
        job_id: str,
        to: JobStatus,
        error: JobError | None = None,
        input_etag: str | None = None,
        execution_arn: str | None = None,
    ) -> Job:
        """Move the job to ``to`` if ENTERED_FROM allows it from its current status (READY also sets
        progress 100; FAILED sets ``error``; QUEUED sets ``inputEtag``). ``execution_arn``, the
        conversion execution asking: QUEUED records it on the job, and FAILED is then refused to any
        other execution. Raises TransitionRejected or JobNotFound."""

    def claim(self, job_id: str) -> Job:
        """QUEUED -> PROCESSING for a render; a PROCESSING job whose render was interrupted
        (``mark_interrupted``) is claimed again as it is. Raises TransitionRejected or JobNotFound."""

    def mark_interrupted(self, job_id: str) -> bool:
        """A PROCESSING job's render was interrupted: it stays PROCESSING, for a render to claim it
        again; False when the job is not PROCESSING."""

    def set_progress(self, job_id: str, progress: int) -> bool:
        """Raise the progress (0-99) of a PROCESSING job, never lower it; False when not applied."""

    def record_result(self, job_id: str, result: JobResult) -> None:
        """Store the task's result on a PROCESSING job; raises TransitionRejected otherwise."""


class DynamoJobStore:
    """The JobStore on a DynamoDB table (``table``: a boto3 Table resource)."""

    def __init__(self, table: Any, clock: Callable[[], float] = time.time):
        self.table = table
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoJobStore:
        """The store on the table the settings name; boto3 takes region and endpoint from the environment."""
        import boto3  # imported here so the model itself stays importable without the AWS SDK

        return cls(boto3.resource("dynamodb").Table(settings.jobs_table))

    def _now(self) -> int:
        return int(self.clock())

    def create(self, job: Job) -> Job:
        self.table.put_item(Item=_dynamo(job), ConditionExpression="attribute_not_exists(jobId)")
        return job

    def get(self, job_id: str) -> Job:
        item = self.table.get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")
        if item is None:
            raise JobNotFound(job_id)
        return _plain(item)

    def transition(
        self,
        job_id: str,
        to: JobStatus,
        error: JobError | None = None,
        input_etag: str | None = None,
        execution_arn: str | None = None,
    ) -> Job:
        names = {"#s": "status", "#u": "updatedAt"}
        values: dict[str, Any] = {":to": to.value, ":now": self._now()}
        sets = ["#s = :to", "#u = :now"]
        if input_etag is not None:
            values[":etag"] = input_etag
            sets.append("inputEtag = :etag")
        if error is not None:
            values[":error"] = error.to_item()
            sets.append("#e = :error")
            names["#e"] = "error"
        if to is JobStatus.READY:
            values[":p"] = 100
            sets.append("progress = :p")
        statuses = " OR ".join(f"#s = :from{i}" for i in range(len(ENTERED_FROM[to])))
        values.update({f":from{i}": status.value for i, status in enumerate(ENTERED_FROM[to])})
        condition = f"attribute_exists(jobId) AND ({statuses})"
        if execution_arn is not None and to is JobStatus.QUEUED:
            values[":execution"] = execution_arn
            sets.append("executionArn = :execution")
        elif execution_arn is not None and to is JobStatus.FAILED:
            values[":execution"] = execution_arn
            condition += " AND (attribute_not_exists(executionArn) OR executionArn = :execution)"
        try:
            result = self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            current = self.get(job_id)  # raises JobNotFound for an unknown id
            if JobStatus(current["status"]) in ENTERED_FROM[to]:
                raise TransitionRejected(
                    f"job {job_id} was queued by another execution, {current.get('executionArn')}"
                ) from None
            raise TransitionRejected(f"job {job_id} is {current['status']}, cannot become {to.value}") from None
        return _plain(result["Attributes"])

    def claim(self, job_id: str) -> Job:
        try:
            result = self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET #s = :processing, #u = :now REMOVE interruptedAt",
                ConditionExpression=(
                    "attribute_exists(jobId) AND (#s = :queued OR (#s = :processing AND attribute_exists(interruptedAt)))"
                ),
                ExpressionAttributeNames={"#s": "status", "#u": "updatedAt"},
                ExpressionAttributeValues={
                    ":queued": JobStatus.QUEUED.value,
                    ":processing": JobStatus.PROCESSING.value,
                    ":now": self._now(),
                },
                ReturnValues="ALL_NEW",
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            current = self.get(job_id)  # raises JobNotFound for an unknown id
            raise TransitionRejected(f"job {job_id} is {current['status']}, not for a render to claim") from None
        return _plain(result["Attributes"])

    def mark_interrupted(self, job_id: str) -> bool:
        try:
            self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET interruptedAt = :now, #u = :now",
                ConditionExpression="#s = :processing",
                ExpressionAttributeNames={"#s": "status", "#u": "updatedAt"},
                ExpressionAttributeValues={":processing": JobStatus.PROCESSING.value, ":now": self._now()},
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_progress(self, job_id: str, progress: int) -> bool:
        progress = max(0, min(99, int(progress)))
        try:
            self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET progress = :p, #u = :now",
                ConditionExpression="#s = :processing AND progress < :p",
                ExpressionAttributeNames={"#s": "status", "#u": "updatedAt"},
                ExpressionAttributeValues={
                    ":p": progress,
                    ":processing": JobStatus.PROCESSING.value,
                    ":now": self._now(),
                },
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_result(self, job_id: str, result: JobResult) -> None:
        try:
            self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET #r = :result, #u = :now",
                ConditionExpression="#s = :processing",
                ExpressionAttributeNames={"#s": "status", "#u": "updatedAt", "#r": "result"},
                ExpressionAttributeValues={
                    ":result": _dynamo(result),
                    ":processing": JobStatus.PROCESSING.value,
                    ":now": self._now(),
                },
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            current = self.get(job_id)
            raise TransitionRejected(f"job {job_id} is {current['status']}, cannot take a result") from None
