"""Limits that protect the owner's bill: how many new jobs one client may start in a clock hour, and
how many unfinished jobs it may have at once (template parameters JobsPerHourPerClient and
OpenJobsPerClient). The API admits a job before creating it, validate renews it when its song has
arrived, notify closes it when it ends.

Items of the limits table (key ``key``, TTL ``expiresAt``):

    hour#{clientId}#{hourStartS}   {"jobs": n}                           one clock hour's new jobs
    open#{clientId}                {"jobs": {jobId: deadlineS}, "version": n}   unfinished jobs
    renders                        {"running": n, jobId: executionArn, ...}     the render semaphore

The state machine takes and gives back its render slots itself (AcquireRenderSlot,
ReleaseRenderSlot*); notify gives back the slot of an execution stopped while it held one
(``release_render_slot``), which no state of that execution will.

Every write is one atomic, conditional DynamoDB update. An unfinished job stops counting at its
deadline even if nothing closes it: a job whose song never came (a dropped connection, a closed
tab) once its upload form has expired and a slow upload's time more (the upload window), one whose
song arrived OPEN_JOB_LIFETIME_S after that. So an upload that failed locks nobody out for long.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Protocol

from .errors import ErrorCode
from .settings import Settings

HOUR_S = 3600
# Longest a job can stay unfinished once its song has arrived: a wait for a render slot, the render's timeout.
OPEN_JOB_LIFETIME_S = 2 * HOUR_S
# A song may still be arriving this long after its upload form expired (a large file, a slow line).
UPLOAD_TRANSFER_ALLOWANCE_S = 15 * 60
DEFAULT_UPLOAD_WINDOW_S = 15 * 60 + UPLOAD_TRANSFER_ALLOWANCE_S  # the template's form lifetime, 900 s
OPEN_LIMIT_RETRY_AFTER_S = 60  # a job in progress usually ends within a minute or two
ADMIT_ATTEMPTS = 5  # optimistic-lock retries when requests of one client race


def client_id(source_ip: str) -> str:
    """Who a limit counts: a hash of the request's source address, so no address is stored."""
    return hashlib.sha256(source_ip.encode()).hexdigest()[:24]


class LimitExceeded(Exception):
    """The client is at a limit; ``message`` says which in words, ``retry_after_s`` when to retry."""

    def __init__(self, code: ErrorCode, message: str, retry_after_s: int):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = max(1, int(retry_after_s))


class ClientLimits(Protocol):
    """DynamoClientLimits in AWS, an in-memory fake in unit tests."""

    def admit(self, client: str, job_id: str) -> None:
        """Count a new job of ``client``; raises LimitExceeded (and counts nothing) at a limit."""

    def renew(self, client: str, job_id: str) -> None:
        """The job's song arrived: it counts until OPEN_JOB_LIFETIME_S from now."""

    def close(self, client: str, job_id: str) -> None:
        """The job ended: it no longer counts as unfinished. Idempotent."""


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def hourly_limit_message(limit: int, retry_after_s: int) -> str:
    return (
        f"You have started {limit} conversions this hour, the most this site allows. "
        f"Please try again in {_minutes(retry_after_s)}."
    )


def open_limit_message(limit: int, upload_window_s: int) -> str:
    songs = "1 song" if limit == 1 else f"{limit} songs"
    return (
        f"You already have {songs} being uploaded or converted, the most at once. Please wait until one "
        f"is done; an upload that did not finish stops counting {_minutes(upload_window_s)} after it started."
    )


class DynamoClientLimits:
    """ClientLimits on the limits table (``table``: a boto3 Table resource)."""

    def __init__(
        self,
        table: Any,
        jobs_per_hour: int,
        open_jobs: int,
        upload_window_s: int = DEFAULT_UPLOAD_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ):
        self.table = table
        self.jobs_per_hour = jobs_per_hour
        self.open_jobs = open_jobs
        self.upload_window_s = upload_window_s
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoClientLimits:
        import boto3  # imported here so the model stays importable without the AWS SDK

        return cls(
            boto3.resource("dynamodb").Table(settings.limits_table),
            settings.jobs_per_hour_per_client,
            settings.open_jobs_per_client,
            settings.upload_url_expires_s + UPLOAD_TRANSFER_ALLOWANCE_S,
        )

    def admit(self, client: str, job_id: str) -> None:
        now_s = int(self.clock())
        self._open(client, job_id, now_s)
        try:
            self._count_hour(client, now_s)
        except LimitExceeded:
            self.close(client, job_id)  # the job will not exist
            raise

    def renew(self, client: str, job_id: str) -> None:
        now_s = int(self.clock())
        try:
            self.table.update_item(
                Key={"key": f"open#{client}"},
                # a new version: an admit that read the entry as stale must read again, not remove it
                UpdateExpression="SET jobs.#job = :deadline, expiresAt = :expires ADD version :one",
                ConditionExpression="attribute_exists(jobs)",
                ExpressionAttributeNames={"#job": job_id},
                ExpressionAttributeValues={
                    ":deadline": now_s + OPEN_JOB_LIFETIME_S,
                    ":expires": now_s + OPEN_JOB_LIFETIME_S + HOUR_S,
                    ":one": 1,
                },
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            pass  # the client's item expired: nothing of it counts any more

    def close(self, client: str, job_id: str) -> None:
        try:
            self.table.update_item(
                Key={"key": f"open#{client}"},
                UpdateExpression="REMOVE jobs.#job",
                ConditionExpression="attribute_exists(jobs.#job)",
                ExpressionAttributeNames={"#job": job_id},
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            pass  # closed before, or expired

    def _open(self, client: str, job_id: str, now_s: int) -> None:
        key = {"key": f"open#{client}"}
        for _ in range(ADMIT_ATTEMPTS):
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
            jobs = {name: int(deadline) for name, deadline in (item.get("jobs") or {}).items()}
            live = [name for name, deadline_s in jobs.items() if deadline_s > now_s]
            if len(live) >= self.open_jobs:
                raise self._full()
            deadline_s = now_s + self.upload_window_s
            version = int(item.get("version", 0))
            # the item outlives every deadline in it, a renewed one's too
            values: dict[str, Any] = {":version": version + 1, ":expires": now_s + OPEN_JOB_LIFETIME_S + HOUR_S}
            if not item:
                update = "SET jobs = :jobs, version = :version, expiresAt = :expires"
                condition = "attribute_not_exists(version)"
                names = None
                values[":jobs"] = {job_id: deadline_s}
            else:
                stale = [name for name in jobs if name not in live]
                names = {"#new": job_id, **{f"#s{i}": name for i, name in enumerate(stale)}}
                update = "SET jobs.#new = :deadline, version = :version, expiresAt = :expires"
                if stale:  # expired entries go, so the map stays as small as the limit
                    update += " REMOVE " + ", ".join(f"jobs.#s{i}" for i in range(len(stale)))
                condition = "version = :read"
                values.update({":deadline": deadline_s, ":read": version})
            try:
                self.table.update_item(
                    Key=key,
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    **({"ExpressionAttributeNames": names} if names else {}),
                )
                return
            except self.table.meta.client.exceptions.ConditionalCheckFailedException:
                continue  # another request of this client got there first: read again
        raise self._full()

    def _full(self) -> LimitExceeded:
        message = open_limit_message(self.open_jobs, self.upload_window_s)
        return LimitExceeded(ErrorCode.TOO_MANY_OPEN_JOBS, message, OPEN_LIMIT_RETRY_AFTER_S)

    def _count_hour(self, client: str, now_s: int) -> None:
        hour_start_s = now_s - now_s % HOUR_S
        try:
            self.table.update_item(
                Key={"key": f"hour#{client}#{hour_start_s}"},
                UpdateExpression="ADD jobs :one SET expiresAt = :expires",
                ConditionExpression="attribute_not_exists(jobs) OR jobs < :limit",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":limit": self.jobs_per_hour,
                    ":expires": hour_start_s + 2 * HOUR_S,
                },
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            retry_after_s = hour_start_s + HOUR_S - now_s
            message = hourly_limit_message(self.jobs_per_hour, retry_after_s)
            raise LimitExceeded(ErrorCode.TOO_MANY_JOBS, message, retry_after_s) from None


RENDER_SLOTS_KEY = "renders"


def release_render_slot(table: Any, job_id: str, execution_arn: str) -> bool:
    """Give back the render slot ``execution_arn`` holds for ``job_id`` (the state machine's
    ReleaseRenderSlot, and only while that execution is still the holder). True if it held one."""
    try:
        table.update_item(
            Key={"key": RENDER_SLOTS_KEY},
            UpdateExpression="SET running = running - :one REMOVE #holder",
            ConditionExpression="#holder = :execution",
            ExpressionAttributeNames={"#holder": job_id},
            ExpressionAttributeValues={":one": 1, ":execution": execution_arn},
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return False  # given back before, or never taken
    return True
