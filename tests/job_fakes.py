"""Jobs for tests: an in-memory JobStore and ClientLimits that keep the same rules as the DynamoDB
ones (tests/integration/test_job_store.py and test_client_limits.py hold both to one contract),
Links that record what the API asked for, and a job walked to any status in either store."""

from __future__ import annotations

import copy
from typing import Any

from surroundyou_jobs.errors import ErrorCode, JobError
from surroundyou_jobs.keys import input_key, output_key
from surroundyou_jobs.limits import (
    DEFAULT_UPLOAD_WINDOW_S,
    HOUR_S,
    OPEN_JOB_LIFETIME_S,
    OPEN_LIMIT_RETRY_AFTER_S,
    LimitExceeded,
    hourly_limit_message,
    open_limit_message,
)
from surroundyou_jobs.model import (
    ENTERED_FROM,
    Job,
    JobNotFound,
    JobResult,
    JobStatus,
    TransitionRejected,
    new_job,
)


class InMemoryJobStore:
    def __init__(self, clock=lambda: 1_700_000_000.0):
        self.items: dict[str, Job] = {}
        self.clock = clock

    def create(self, job: Job) -> Job:
        if job["jobId"] in self.items:
            raise ValueError(f"job {job['jobId']} exists")
        self.items[job["jobId"]] = copy.deepcopy(job)
        return job

    def get(self, job_id: str) -> Job:
        if job_id not in self.items:
            raise JobNotFound(job_id)
        return copy.deepcopy(self.items[job_id])

    def transition(
        self,
        job_id: str,
        to: JobStatus,
        error: JobError | None = None,
        input_etag: str | None = None,
        execution_arn: str | None = None,
    ) -> Job:
        item = self._item(job_id)
        if JobStatus(item["status"]) not in ENTERED_FROM[to]:
            raise TransitionRejected(f"job {job_id} is {item['status']}, cannot become {to.value}")
        if (
            to is JobStatus.FAILED
            and execution_arn is not None
            and item.get("executionArn", execution_arn) != execution_arn
        ):
            raise TransitionRejected(f"job {job_id} was queued by another execution, {item['executionArn']}")
        if to is JobStatus.QUEUED and execution_arn is not None:
            item["executionArn"] = execution_arn
        item["status"] = to.value
        item["updatedAt"] = int(self.clock())
        if input_etag is not None:
            item["inputEtag"] = input_etag
        if error is not None:
            item["error"] = error.to_item()
        if to is JobStatus.READY:
            item["progress"] = 100
        return copy.deepcopy(item)

    def claim(self, job_id: str) -> Job:
        item = self._item(job_id)
        resumed = item["status"] == JobStatus.PROCESSING.value and "interruptedAt" in item
        if item["status"] != JobStatus.QUEUED.value and not resumed:
            raise TransitionRejected(f"job {job_id} is {item['status']}, not for a render to claim")
        item.pop("interruptedAt", None)
        item["status"] = JobStatus.PROCESSING.value
        item["updatedAt"] = int(self.clock())
        return copy.deepcopy(item)

    def mark_interrupted(self, job_id: str) -> bool:
        item = self.items.get(job_id)
        if item is None or item["status"] != JobStatus.PROCESSING.value:
            return False
        item["interruptedAt"] = item["updatedAt"] = int(self.clock())
        return True

    def set_progress(self, job_id: str, progress: int) -> bool:
        item = self.items.get(job_id)
        progress = max(0, min(99, int(progress)))
        if item is None or item["status"] != JobStatus.PROCESSING.value or item["progress"] >= progress:
            return False
        item["progress"] = progress
        item["updatedAt"] = int(self.clock())
        return True

    def record_result(self, job_id: str, result: JobResult) -> None:
        item = self._item(job_id)
        if item["status"] != JobStatus.PROCESSING.value:
            raise TransitionRejected(f"job {job_id} is {item['status']}, cannot take a result")
        item["result"] = copy.deepcopy(result)
        item["updatedAt"] = int(self.clock())

    def _item(self, job_id: str) -> Job:
        if job_id not in self.items:
            raise JobNotFound(job_id)
        return self.items[job_id]


class RecordingLinks:
    """jobs_api.Links that make recognisable URLs and remember every request."""

    def __init__(self):
        self.forms: list[dict[str, Any]] = []
        self.downloads: list[dict[str, Any]] = []

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        self.forms.append({"key": key, "content_type": content_type, "max_bytes": max_bytes, "expires_s": expires_s})
        return {"url": "https://bucket.example/", "fields": {"key": key, "Content-Type": content_type}}

    def download_url(self, key: str, filename: str, expires_s: int) -> str:
        self.downloads.append({"key": key, "filename": filename, "expires_s": expires_s})
        return f"https://bucket.example/{key}?as={filename}"


KNOWN_JOB = "3f9c2a7be41d4c0e9a6b5d8e7f102b34"  # the job of the sample events (events/*.json)
# conversion executions: the one that queues a job, and a duplicate upload event's
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ConvertStateMachine-a1B2c3D4e5F6:first"
OTHER_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ConvertStateMachine-a1B2c3D4e5F6:second"
_PATH_TO = {
    JobStatus.AWAITING_UPLOAD: [],
    JobStatus.QUEUED: [JobStatus.QUEUED],
    JobStatus.PROCESSING: [JobStatus.QUEUED, JobStatus.PROCESSING],
    JobStatus.READY: [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.READY],
    JobStatus.FAILED: [JobStatus.QUEUED, JobStatus.FAILED],
}
FAILED_ERROR = JobError(ErrorCode.INVALID_UPLOAD, "This file is not audio we can read: it looks like text.")


def job_in_status(
    store,
    status: JobStatus = JobStatus.AWAITING_UPLOAD,
    job_id: str = KNOWN_JOB,
    filename: str = "My Song.mp3",
    extension: str = "mp3",
    preview: bool = False,
) -> Job:
    """A job created as the API creates it and walked through the legal transitions up to ``status``
    (a READY job has the result the task records; a FAILED one FAILED_ERROR)."""
    store.create(
        new_job(
            job_id,
            filename=filename,
            size=7340032,
            content_type="audio/mpeg",
            options={
                "preset": "classic",
                "format": "mp3",
                "mode": "spherical",
                **({"preview": True} if preview else {}),
            },
            input_key=input_key(job_id, extension),
            now_s=1_700_000_000,
            ttl_days=7,
        )
    )
    for step in _PATH_TO[status]:
        if step is JobStatus.READY:
            store.record_result(
                job_id,
                JobResult(
                    outputKey=output_key(job_id, filename, "mp3", preview), format="mp3", durationS=2.0, sizeBytes=11
                ),
            )
        store.transition(job_id, step, error=FAILED_ERROR if step is JobStatus.FAILED else None)
    return store.get(job_id)


class InMemoryClientLimits:
    """limits.ClientLimits in memory, with DynamoClientLimits' rules (tests/integration/test_client_limits.py)."""

    def __init__(
        self, jobs_per_hour: int, open_jobs: int, upload_window_s=DEFAULT_UPLOAD_WINDOW_S, clock=lambda: 1_700_000_000.0
    ):
        self.jobs_per_hour = jobs_per_hour
        self.open_jobs = open_jobs
        self.upload_window_s = upload_window_s
        self.clock = clock
        self.hours: dict[tuple[str, int], int] = {}
        self.open: dict[str, dict[str, int]] = {}

    def admit(self, client: str, job_id: str) -> None:
        now_s = int(self.clock())
        live = {job: deadline for job, deadline in self.open.get(client, {}).items() if deadline > now_s}
        if len(live) >= self.open_jobs:
            raise LimitExceeded(
                ErrorCode.TOO_MANY_OPEN_JOBS,
                open_limit_message(self.open_jobs, self.upload_window_s),
                OPEN_LIMIT_RETRY_AFTER_S,
            )
        hour_start_s = now_s - now_s % HOUR_S
        if self.hours.get((client, hour_start_s), 0) >= self.jobs_per_hour:
            retry_after_s = hour_start_s + HOUR_S - now_s
            message = hourly_limit_message(self.jobs_per_hour, retry_after_s)
            raise LimitExceeded(ErrorCode.TOO_MANY_JOBS, message, retry_after_s)
        self.hours[(client, hour_start_s)] = self.hours.get((client, hour_start_s), 0) + 1
        self.open[client] = {**live, job_id: now_s + self.upload_window_s}

    def renew(self, client: str, job_id: str) -> None:
        if client in self.open:
            self.open[client][job_id] = int(self.clock()) + OPEN_JOB_LIFETIME_S

    def close(self, client: str, job_id: str) -> None:
        self.open.get(client, {}).pop(job_id, None)
