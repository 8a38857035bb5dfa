"""Job states, legal transitions and the DynamoDB item shape (table key: ``jobId``).

AWAITING_UPLOAD -> QUEUED -> PROCESSING -> READY
        \\------------\\-----------\\------> FAILED

Every transition is a conditional write on the current status, so a duplicate event or a late
retry can never move a job backwards: it gets ``TransitionRejected`` and leaves the item alone.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from .settings import Settings


class JobStatus(str, Enum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.READY, JobStatus.FAILED)


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


@dataclass(frozen=True)
class JobError:
    code: str
    message: str

    def to_item(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


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


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """The job as the API shows it: no internal keys."""
    item = _plain(item)
    view = {"jobId": item["jobId"], "status": item["status"], "progress": item.get("progress", 0)}
    for field in ("filename", "options", "error", "result"):
        if field in item:
            view[field] = item[field]
    return view


class JobStore:
    """All reads and writes of job items. ``table`` is a boto3 DynamoDB Table resource."""

    def __init__(self, table: Any, ttl_days: int = 7, clock=time.time):
        self.table = table
        self.ttl_days = ttl_days
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> JobStore:
        """The store on the table the settings name; boto3 takes region and endpoint from the environment."""
        import boto3  # imported here so the model itself stays importable without the AWS SDK

        return cls(boto3.resource("dynamodb").Table(settings.jobs_table), ttl_days=settings.job_ttl_days)

    def create(self, job_id: str, *, filename: str, size: int, content_type: str,
               options: dict[str, Any], upload_key: str, result_key: str) -> dict[str, Any]:
        now = int(self.clock())
        item = {
            "jobId": job_id,
            "status": JobStatus.AWAITING_UPLOAD.value,
            "progress": 0,
            "filename": filename,
            "size": size,
            "contentType": content_type,
            "options": options,
            "uploadKey": upload_key,
            "resultKey": result_key,
            "createdAt": now,
            "updatedAt": now,
            "expiresAt": now + self.ttl_days * 86400,
        }
        self.table.put_item(Item=_dynamo(item), ConditionExpression="attribute_not_exists(jobId)")
        return item

    def get(self, job_id: str) -> dict[str, Any]:
        item = self.table.get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")
        if item is None:
            raise JobNotFound(job_id)
        return _plain(item)

    def transition(self, job_id: str, to: JobStatus, **fields: Any) -> dict[str, Any]:
        """Move the job to ``to`` if its current status allows it; set ``fields`` with it.

        Raises TransitionRejected (job in another status) or JobNotFound.
        """
        allowed = ENTERED_FROM[to]
        names = {"#s": "status", "#u": "updatedAt"}
        values: dict[str, Any] = {":to": to.value, ":now": int(self.clock())}
        sets = ["#s = :to", "#u = :now"]
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = _dynamo(value.to_item() if isinstance(value, JobError) else value)
            sets.append(f"#f{i} = :f{i}")
        if to is JobStatus.READY:
            values[":p"] = 100
            sets.append("progress = :p")
        conditions = []
        for i, status in enumerate(allowed):
            values[f":from{i}"] = status.value
            conditions.append(f"#s = :from{i}")
        try:
            result = self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(jobId) AND (" + " OR ".join(conditions) + ")",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            current = self.get(job_id)  # raises JobNotFound for an unknown id
            raise TransitionRejected(
                f"job {job_id} is {current['status']}, cannot become {to.value}"
            ) from None
        return _plain(result["Attributes"])

    def set_progress(self, job_id: str, progress: int) -> bool:
        """Raise progress of a PROCESSING job (never lowers it). False when not applied."""
        progress = max(0, min(99, int(progress)))
        try:
            self.table.update_item(
                Key={"jobId": job_id},
                UpdateExpression="SET progress = :p, #u = :now",
                ConditionExpression="#s = :processing AND progress < :p",
                ExpressionAttributeNames={"#s": "status", "#u": "updatedAt"},
                ExpressionAttributeValues={":p": progress, ":processing": JobStatus.PROCESSING.value,
                                           ":now": int(self.clock())},
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
