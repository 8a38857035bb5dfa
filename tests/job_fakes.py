"""Jobs for tests: an in-memory JobStore that keeps the same rules as DynamoJobStore
(tests/integration/test_job_store.py holds both to one contract), Links that record what the API
asked for, and a job walked to any status in either store."""

from __future__ import annotations

import copy
from typing import Any

from surroundyou_jobs.errors import ErrorCode, JobError
from surroundyou_jobs.keys import input_key, output_key
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

    def transition(self, job_id: str, to: JobStatus, error: JobError | None = None) -> Job:
        item = self._item(job_id)
        if JobStatus(item["status"]) not in ENTERED_FROM[to]:
            raise TransitionRejected(f"job {job_id} is {item['status']}, cannot become {to.value}")
        item["status"] = to.value
        item["updatedAt"] = int(self.clock())
        if error is not None:
            item["error"] = error.to_item()
        if to is JobStatus.READY:
            item["progress"] = 100
        return copy.deepcopy(item)

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
) -> Job:
    """A job created as the API creates it and walked through the legal transitions up to ``status``
    (a READY job has the result the task records; a FAILED one FAILED_ERROR)."""
    store.create(
        new_job(
            job_id,
            filename=filename,
            size=7340032,
            content_type="audio/mpeg",
            options={"preset": "classic", "format": "mp3", "mode": "spherical"},
            input_key=input_key(job_id, extension),
            now_s=1_700_000_000,
            ttl_days=7,
        )
    )
    for step in _PATH_TO[status]:
        if step is JobStatus.READY:
            store.record_result(
                job_id,
                JobResult(outputKey=output_key(job_id, filename, "mp3"), format="mp3", durationS=2.0, sizeBytes=11),
            )
        store.transition(job_id, step, error=FAILED_ERROR if step is JobStatus.FAILED else None)
    return store.get(job_id)
