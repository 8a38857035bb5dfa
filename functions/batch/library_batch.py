"""What the batch function does, without Lambda: start a batch over a prefix of the library, turn
one library song into an ordinary job, and end the batch. app.py adapts it to the state machine.

A song becomes a job the way an upload does: the job item is created AWAITING_UPLOAD, then the
song is copied from the library to the job's upload key; S3's Object Created event for that copy
starts the Convert state machine (validate -> render -> notify), which ends the job READY or
FAILED. The batch's state machine waits for that outcome, copies a READY job's result to the
library's output folder (results expire after RetentionDays; the library's copies stay) and counts it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from surroundyou_jobs.batches import (
    BatchSettings,
    BatchStatus,
    DynamoBatchStore,
    InvalidBatch,
    delivered_key,
    first_songs_of_each_result,
    library_song_job,
    listing_prefix,
    new_batch,
)
from surroundyou_jobs.errors import ErrorCode, JobError
from surroundyou_jobs.keys import is_song_name
from surroundyou_jobs.model import JobNotFound, JobStatus, JobStore
from surroundyou_jobs.options import InvalidOptions, parse_job_options
from surroundyou_jobs.settings import Settings

# job ids of library songs: one per (batch, key), so a retried step finds the job it made
_SONG_JOB_IDS = uuid.UUID("4f0c1b8e-2d55-4a8f-9a51-5b3c8d1e7a20")


def song_job_id(batch_id: str, key: str) -> str:
    return uuid.uuid5(_SONG_JOB_IDS, f"{batch_id}\n{key}").hex


class LibraryBatch:
    """``s3``: a boto3 S3 client; ``batches``: the batch table's store."""

    def __init__(
        self,
        jobs: JobStore,
        batches: DynamoBatchStore,
        s3: Any,
        settings: Settings,
        batch_settings: BatchSettings,
        clock: Callable[[], float] = time.time,
    ):
        self.jobs = jobs
        self.batches = batches
        self.s3 = s3
        self.settings = settings
        self.batch_settings = batch_settings
        self.clock = clock

    def start(
        self,
        batch_id: str,
        prefix: str,
        options: dict[str, Any] | None,
        output_prefix: str | None,
        skip_existing: bool = False,
    ) -> dict:
        """Check the request, count the songs and create the batch item; what the map needs next.

        ``output_prefix``: the folder of the library's output folder its 8D songs go to (default:
        ``prefix``, so the output mirrors the library). ``skip_existing``: leave out the songs whose
        8D version is there already (a library batch run again converts only what is new). Of songs
        whose 8D versions would have one key (Song.flac beside Song.mp3) only the first is converted."""
        try:
            parsed = parse_job_options(options)
        except InvalidOptions as exc:
            raise InvalidBatch(f"options: {exc}") from None
        list_prefix = listing_prefix(self.batch_settings.library_prefix, prefix)
        library, outputs = self.batch_settings.library_prefix, self.batch_settings.library_output_prefix
        if outputs.startswith(library) or library.startswith(outputs):
            raise InvalidBatch(f"the output folder {outputs} and the library {library} overlap (LibraryOutputPrefix)")
        output = output_prefix if output_prefix is not None else prefix
        if output and not output.endswith("/"):
            output += "/"
        output_folder = listing_prefix(self.batch_settings.library_output_prefix, output)
        songs = to_convert = [key for key in self._keys(list_prefix) if is_song_name(key)]
        if not songs:  # a mistyped prefix would otherwise "succeed" with nothing done
            raise InvalidBatch(
                f'there are no songs under "{prefix}" in the library ({list_prefix}): is the prefix right?'
            )
        firsts = first_songs_of_each_result(songs)
        to_convert = [key for key in songs if key in firsts]
        if skip_existing:
            there = set(self._keys(output_folder))
            to_convert = [
                key
                for key in to_convert
                if delivered_key(key, list_prefix, output_folder, parsed["format"]) not in there
            ]
        batch = new_batch(
            batch_id,
            prefix=prefix,
            list_prefix=list_prefix,
            output_prefix=output_folder,
            options=parsed,
            skip_existing=skip_existing,
            total=len(to_convert),
            skipped=len(songs) - len(to_convert),
            now_s=int(self.clock()),
            ttl_days=self.settings.job_ttl_days,
        )
        self.batches.create(batch)
        return {
            "batchId": batch_id,
            "listPrefix": list_prefix,
            "outputPrefix": output_folder,
            "options": parsed,
            "reportPrefix": batch["reportPrefix"],
            "skipExisting": skip_existing,
            "total": batch["total"],
        }

    def _keys(self, prefix: str, limit: int | None = None) -> list[str]:
        """The library bucket's keys under ``prefix`` (the first ``limit`` of them)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.batch_settings.library_bucket,
            Prefix=prefix,
            PaginationConfig={"MaxItems": limit} if limit else {},
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def add_song(
        self,
        batch_id: str,
        key: str,
        size: int,
        options: dict[str, Any],
        skip_existing: bool = False,
        list_prefix: str = "",
        output_prefix: str = "",
    ) -> dict[str, str | None]:
        """The song's job, created and its song copied to the upload key (once, however often
        this is retried); a song that cannot be copied ends its job FAILED at once, with the reason.
        A file that is no song by its name (a cover, a folder marker: ``is_song_name``), a song whose
        8D version another song of its folder makes (Song.flac beside Song.mp3: the first by key is
        converted), or with ``skip_existing`` a song whose 8D version is in ``output_prefix`` already,
        gets no job (``jobId`` None) and counts neither as ready nor as failed."""
        if not is_song_name(key):
            return {"jobId": None}
        namesakes = [other for other in self._keys(key.rsplit(".", 1)[0] + ".") if is_song_name(other)]
        if key not in first_songs_of_each_result([key, *namesakes]):
            return {"jobId": None}
        if skip_existing:
            target = delivered_key(key, list_prefix, output_prefix, options["format"])
            if self._keys(target, limit=1) == [target]:
                return {"jobId": None}
        job_id = song_job_id(batch_id, key)
        try:
            self.jobs.get(job_id)
            return {"jobId": job_id}  # a retry: the job exists, its song was copied or it failed
        except JobNotFound:
            pass
        job = library_song_job(
            job_id,
            batch_id=batch_id,
            key=key,
            size=size,
            options=options,
            now_s=int(self.clock()),
            ttl_days=self.settings.job_ttl_days,
        )
        self.jobs.create(job)
        self.batches.song_started(batch_id)
        try:
            self.s3.copy_object(
                Bucket=self.settings.bucket,
                Key=job["inputKey"],
                CopySource={"Bucket": self.batch_settings.library_bucket, "Key": key},
            )
        except self.s3.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "an error")
            error = JobError(ErrorCode.CONVERSION_FAILED, f"The song could not be read from the library ({code}).")
            self.jobs.transition(job_id, JobStatus.FAILED, error=error)
        return {"jobId": job_id}

    def deliver(self, job_id: str, key: str, list_prefix: str, output_prefix: str) -> dict[str, str]:
        """Copy a READY job's result beside the library (the result itself expires); its key."""
        result = self.jobs.get(job_id)["result"]
        target = delivered_key(key, list_prefix, output_prefix, result["format"])
        self.s3.copy_object(
            Bucket=self.batch_settings.library_bucket,
            Key=target,
            CopySource={"Bucket": self.settings.bucket, "Key": result["outputKey"]},
        )
        return {"key": target}

    def finish(
        self, batch_id: str, succeeded: bool, manifest_key: str | None, error: dict[str, str] | None
    ) -> dict[str, Any]:
        """The batch item ends as its execution does; returns the summary the execution outputs."""
        batch = self.batches.finish(
            batch_id,
            BatchStatus.SUCCEEDED if succeeded else BatchStatus.FAILED,
            manifest_key=manifest_key,
            error=error,
        )
        return {name: batch.get(name) for name in ("batchId", "status", "total", "ready", "failed", "manifestKey")}
