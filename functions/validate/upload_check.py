"""The check an upload passes before any compute is spent on it: it belongs to a job awaiting its
upload, it is within the size limit, it really is audio of a supported format, and its duration
is within the limit. Then the job moves to QUEUED, once, owned by the execution that checked it:
a duplicate delivery of the same S3 event (EventBridge delivers at least once) starts another
execution, which is recognised and touches nothing; the same execution's retry of this step (its
answer lost after the job was queued) goes on with the job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from audio_probe import NotReadableAudio, probe_audio

from surroundyou_formats import SHORTEST_SONG_S
from surroundyou_jobs.keys import parse_input_key
from surroundyou_jobs.limits import ClientLimits
from surroundyou_jobs.model import Job, JobNotFound, JobStatus, JobStore, TransitionRejected
from surroundyou_jobs.settings import Settings
from surroundyou_jobs.wording import file_size, spoken_duration


class InvalidUpload(Exception):
    """The upload will not be converted; the message tells the person why.

    Step Functions names a Lambda error after its class: this one is caught as "InvalidUpload"
    (ErrorCode.INVALID_UPLOAD), and notify shows the message (the Cause's errorMessage) on the job.
    """


def outcome(job_id: str, *, duplicate: bool) -> dict[str, Any]:
    """The state machine's $.validation: the job item holds everything else the task needs."""
    return {"jobId": job_id, "duplicate": duplicate}


def validate_upload(
    store: JobStore,
    settings: Settings,
    bucket: str,
    key: str,
    open_upload: Callable[[str, str], tuple[BinaryIO, str]],
    limits: ClientLimits,
    execution_arn: str,
) -> dict[str, Any]:
    """Check the upload at s3://bucket/key and queue its job for the conversion ``execution_arn``.

    ``open_upload(bucket, key)`` gives a seekable binary file of the object and its ETag; only the
    few kilobytes the format checks read are fetched. The job records the ETag: the upload form
    stays valid for minutes, and an object sent again with it after this check is not the one
    checked (the task reads only this one). The job, counted among its client's unfinished ones for
    the upload window only, now counts for its render (``limits``). Raises InvalidUpload.
    """
    try:
        job_id, extension = parse_input_key(key)
    except ValueError:
        raise InvalidUpload("This file was not uploaded through SurroundYou.") from None
    try:
        job = store.get(job_id)
    except JobNotFound:
        raise InvalidUpload(
            "No conversion is waiting for this file; it may have expired. Please start again."
        ) from None
    if job["status"] != JobStatus.AWAITING_UPLOAD.value:
        return outcome(job_id, duplicate=not _queued_by(job, execution_arn))
    if key != job["inputKey"]:
        raise InvalidUpload("This file was not uploaded with the form SurroundYou issued.")

    upload, etag = open_upload(bucket, key)
    size_bytes = upload.seek(0, 2)
    if size_bytes > settings.max_upload_bytes:
        raise InvalidUpload(
            f"The file is {file_size(size_bytes)}; the limit is {file_size(settings.max_upload_bytes)}."
        )
    try:
        probe = probe_audio(upload, extension)
    except NotReadableAudio as exc:
        raise InvalidUpload(str(exc)) from None
    if probe.duration_s <= 0:
        raise InvalidUpload("This file contains no audio.")
    if probe.duration_s < SHORTEST_SONG_S:  # refused here, before a task is started (and billed) for it
        raise InvalidUpload(
            f"The song is too short to convert: it lasts {1000 * probe.duration_s:.2g} ms, "
            f"and the shortest SurroundYou converts lasts {1000 * SHORTEST_SONG_S:g} ms."
        )
    if probe.duration_s > settings.max_duration_s:
        raise InvalidUpload(
            f"The song is {spoken_duration(probe.duration_s)} long; "
            f"the limit is {spoken_duration(settings.max_duration_s)}."
        )

    if "clientId" in job:  # made through the API (a library batch's jobs are not counted)
        limits.renew(job["clientId"], job_id)
    try:
        store.transition(job_id, JobStatus.QUEUED, input_etag=etag, execution_arn=execution_arn)
    except TransitionRejected:  # another delivery of this event queued it meanwhile (or an attempt of ours)
        return outcome(job_id, duplicate=not _queued_by(store.get(job_id), execution_arn))
    return outcome(job_id, duplicate=False)


def _queued_by(job: Job, execution_arn: str) -> bool:
    """The job waits for its render, queued by ``execution_arn``."""
    return job["status"] == JobStatus.QUEUED.value and job.get("executionArn") == execution_arn
