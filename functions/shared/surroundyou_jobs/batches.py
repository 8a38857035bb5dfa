"""A batch: every song under a prefix of the library converted by the BatchConvert state machine.

The batch item (DynamoDB table BatchesTable, key ``batchId`` = the execution's name) is the batch's
one record: the owner's `surroundyou batch status` reads it, the batch function writes it at the
start and at the end, and the state machine counts each song's outcome on it:

    status     RUNNING -> SUCCEEDED | FAILED (the execution's own outcome)
    total      songs under the prefix when the batch started (keys ending in "/" are folders)
    running    songs whose job exists and is not finished yet
    ready      songs whose job ended READY
    failed     songs whose job ended FAILED (the reasons are on the jobs: GET /jobs/{jobId})
    startedAt, finishedAt, prefix, options, outputPrefix (where its 8D songs go), reportPrefix,
    manifestKey (the Distributed Map's ResultWriter manifest), error ({"code", "message"} when the
    batch FAILED)

Each song becomes an ordinary job: its library object is copied to the job's upload key, and
S3's Object Created event starts the Convert state machine as for an upload from the page. A song
whose job is READY is copied from the job's result (which expires with every result) to the
library's output folder, under its path relative to the batch's prefix:
library/albums/2024/Song.mp3 -> library-8d/albums/2024/Song.8d.mp3.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, NotRequired, TypedDict, cast

from .keys import INPUT_CONTENT_TYPES, extension_of, input_key
from .model import Job, _plain, new_job

# the folder of the media bucket the Distributed Map's ResultWriter writes each batch's report to
REPORT_PREFIX = "batches/"


class BatchStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Batch(TypedDict):
    batchId: str
    status: str  # a BatchStatus value
    prefix: str  # as the owner gave it, relative to the library
    listPrefix: str  # the key prefix the map lists: the library prefix + prefix
    outputPrefix: str  # where its 8D songs go: the library's output folder + outputPrefix (default: prefix)
    options: dict[str, Any]
    reportPrefix: str
    skipExisting: bool  # songs whose 8D version is in the output folder already are left out
    total: int  # songs to convert
    skipped: int  # songs left out at the start: converted before (skipExisting), or another file of one song
    running: int
    ready: int
    failed: int
    startedAt: int
    expiresAt: int
    finishedAt: NotRequired[int]
    manifestKey: NotRequired[str]
    error: NotRequired[dict[str, str]]


class InvalidBatch(ValueError):
    """The batch cannot start; the message tells the owner why. Step Functions names the Lambda error
    after this class ("InvalidBatch")."""


@dataclass(frozen=True)
class BatchSettings:
    """Where the library is (template parameters LibraryBucket/LibraryPrefix) and the batch table."""

    library_bucket: str = field(default_factory=lambda: os.environ.get("LIBRARY_BUCKET", "surroundyou-media"))
    library_prefix: str = field(default_factory=lambda: os.environ.get("LIBRARY_PREFIX", "library/"))
    library_output_prefix: str = field(default_factory=lambda: os.environ.get("LIBRARY_OUTPUT_PREFIX", "library-8d/"))
    batches_table: str = field(default_factory=lambda: os.environ.get("BATCHES_TABLE", "surroundyou-batches"))


def listing_prefix(library_prefix: str, prefix: str) -> str:
    """The key prefix a batch lists: ``prefix`` (relative to the library, "" = all of it) under the
    library's own prefix. InvalidBatch for a prefix that would leave the library."""
    prefix = prefix or ""
    parts = prefix.split("/")
    if prefix.startswith("/") or ".." in parts or "." in parts or "//" in prefix:
        raise InvalidBatch(
            f'"{prefix}" is not a folder of the library: give it relative to {library_prefix or "the bucket"}, '
            'e.g. "albums/2024/", without "/" at the start, "." or "..".'
        )
    return library_prefix + prefix


def delivered_key(key: str, list_prefix: str, output_prefix: str, fmt: str) -> str:
    """Where the 8D version of the library song ``key`` goes: its path under the batch's listing
    prefix, under ``output_prefix``, named like a download (Song.mp3 -> Song.8d.mp3)."""
    relative = PurePosixPath(key.removeprefix(list_prefix))
    folder = "" if str(relative.parent) == "." else f"{relative.parent}/"
    return f"{output_prefix}{folder}{relative.stem}.8d.{fmt}"


def first_songs_of_each_result(songs: list[str]) -> set[str]:
    """Of library songs whose 8D versions would have one key (Song.flac beside Song.mp3: one folder, one
    name but the extension), the first by key: the one a batch converts, as the command line does."""
    firsts: dict[str, str] = {}
    for key in sorted(songs):
        firsts.setdefault(key.rsplit(".", 1)[0], key)
    return set(firsts.values())


def library_song_job(
    job_id: str, *, batch_id: str, key: str, size: int, options: dict[str, Any], now_s: int, ttl_days: int
) -> Job:
    """The job of one library song: an ordinary job waiting for its upload (the batch copies the
    song to its upload key next), which remembers its batch and library key (a song's: ``is_song_name``)."""
    ext = extension_of(key)
    job = new_job(
        job_id,
        filename=PurePosixPath(key).name,
        size=size,
        content_type=INPUT_CONTENT_TYPES[ext][0],
        options=options,
        input_key=input_key(job_id, ext),
        now_s=now_s,
        ttl_days=ttl_days,
    )
    return cast(Job, {**job, "batchId": batch_id, "libraryKey": key})


def new_batch(
    batch_id: str,
    *,
    prefix: str,
    list_prefix: str,
    output_prefix: str,
    options: dict[str, Any],
    skip_existing: bool,
    total: int,
    skipped: int,
    now_s: int,
    ttl_days: int,
) -> Batch:
    return Batch(
        batchId=batch_id,
        status=BatchStatus.RUNNING.value,
        prefix=prefix,
        listPrefix=list_prefix,
        outputPrefix=output_prefix,
        options=options,
        reportPrefix=f"{REPORT_PREFIX}{batch_id}/",
        skipExisting=skip_existing,
        total=total,
        skipped=skipped,
        running=0,
        ready=0,
        failed=0,
        startedAt=now_s,
        expiresAt=now_s + ttl_days * 86400,
    )


class DynamoBatchStore:
    """Batch items on a DynamoDB table (``table``: a boto3 Table resource)."""

    def __init__(self, table: Any, clock: Callable[[], float] = time.time):
        self.table = table
        self.clock = clock

    def create(self, batch: Batch) -> Batch:
        """A new batch; a second start of the same execution name finds its batch already there."""
        try:
            self.table.put_item(Item=batch, ConditionExpression="attribute_not_exists(batchId)")
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            raise InvalidBatch(f"batch {batch['batchId']} exists already; start a batch under a new name") from None
        return batch

    def get(self, batch_id: str) -> Batch | None:
        item = self.table.get_item(Key={"batchId": batch_id}, ConsistentRead=True).get("Item")
        return None if item is None else _plain(item)

    def song_started(self, batch_id: str) -> None:
        """One more song's job exists and runs."""
        self.table.update_item(
            Key={"batchId": batch_id},
            UpdateExpression="ADD running :one",
            ConditionExpression="attribute_exists(batchId)",
            ExpressionAttributeValues={":one": 1},
        )

    def finish(
        self, batch_id: str, status: BatchStatus, *, manifest_key: str | None, error: dict[str, str] | None
    ) -> Batch:
        """The batch ends with the execution: its status, when, its report; no song runs any more
        (songs still running when a failed batch stops end on their own; their jobs say how)."""
        names = {"#s": "status"}
        values: dict[str, Any] = {":status": status.value, ":now": int(self.clock()), ":zero": 0}
        sets = ["#s = :status", "finishedAt = :now", "running = :zero"]
        if manifest_key:
            sets.append("manifestKey = :manifest")
            values[":manifest"] = manifest_key
        if error:
            sets.append("#e = :error")
            names["#e"] = "error"
            values[":error"] = error
        answer = self.table.update_item(
            Key={"batchId": batch_id},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _plain(answer["Attributes"])


def counts(batch: dict[str, Any]) -> dict[str, int]:
    """total, ready, failed, running, skipped of a batch item as plain ints (Decimals from DynamoDB)."""
    names = ("total", "ready", "failed", "running", "skipped")
    return {name: int(Decimal(str(batch.get(name, 0)))) for name in names}
