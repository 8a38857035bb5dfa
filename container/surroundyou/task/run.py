"""One job's run: claim it, convert its song, upload the result and record it on the job; on any
failure mark the job FAILED with a reason a person can read, except a render stopped where the
state machine renders an interrupted job again (Fargate Spot), which leaves the job to that."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from surroundyou.engine.convert import convert_file
from surroundyou.engine.decode import AudioInputError
from surroundyou.job_options import render_options_for
from surroundyou_jobs.errors import INTERRUPTED_MESSAGE, ErrorCode, JobError
from surroundyou_jobs.keys import OUTPUT_CONTENT_TYPES, output_key, parse_input_key
from surroundyou_jobs.model import Job, JobNotFound, JobResult, JobStatus, JobStore, TransitionRejected

from . import logger, preload
from .interruption import Interrupted
from .progress import CONVERTED_PROGRESS, UPLOADED_PROGRESS, ProgressReporter

RENDER_FAILED_MESSAGE = "Something went wrong while rendering; please try again."
NOT_PERMITTED_MESSAGE = (
    "The converter is not allowed to read your song or store the result. This is a problem with how this "
    "site is set up, so trying again will not help until its owner fixes it."
)
# What AWS answers a request its policies refuse (S3, DynamoDB, STS); a refused HEAD (the start of
# a download) has no body, so botocore names its error by the status alone.
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "403"})
REPLACED_MESSAGE = "The song was replaced after it was checked; please start again and upload it once."
DOWNLOAD_CHUNK_BYTES = 1 << 20


class JobFailed(RuntimeError):
    """The job was marked FAILED with ``error`` (the cause is chained)."""

    def __init__(self, error: JobError):
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


class JobInterrupted(RuntimeError):
    """The render was stopped where the state machine renders an interrupted job again: the job
    was left PROCESSING (``JobStore.mark_interrupted``), not FAILED."""


def run_job(job_id: str, bucket: str, s3: Any, store: JobStore, *, retried_when_interrupted: bool = False) -> JobResult:
    """Claim the job, convert its song, upload the result and record it. Returns the result.

    ``s3`` is a boto3 S3 client. Raises TransitionRejected/JobNotFound when the job is not for a
    render to claim (it is left alone) and JobFailed after marking the job FAILED. Stopped by a
    signal where the state machine renders an interrupted job again (``retried_when_interrupted``),
    it leaves the job PROCESSING for the next render and raises JobInterrupted.
    """
    try:
        # Inside the try: a signal that lands while the claim's response is read must still mark
        # the job (FAILED may be entered from QUEUED as well as from PROCESSING).
        job = store.claim(job_id)
        logger.info("job claimed", extra={"input_key": job["inputKey"]})
        with tempfile.TemporaryDirectory(prefix="surroundyou-") as workdir:
            result = _convert_and_upload(job, bucket, s3, store, Path(workdir))
        store.record_result(job_id, result)
        logger.info("result recorded", extra=dict(result))
        return result
    except (TransitionRejected, JobNotFound):
        raise  # another execution's job, or none: not ours to touch
    except Interrupted as exc:
        if not retried_when_interrupted:
            raise _failed(store, job_id, exc) from exc
        try:
            store.mark_interrupted(job_id)  # False while QUEUED: the next render claims it as it is
        except Exception:  # noqa: BLE001 - unmarked, the next render cannot claim it and MarkFailed ends it
            logger.error("could not mark the job interrupted", exc_info=True)
        logger.warning("render interrupted: the job is left for the state machine to render again or end")
        raise JobInterrupted(job_id) from exc
    except Exception as exc:
        raise _failed(store, job_id, exc) from exc


def _failed(store: JobStore, job_id: str, exc: BaseException) -> JobFailed:
    """Mark the job FAILED with the reason ``exc`` gives (logged); the JobFailed to raise."""
    error = job_error(exc)
    logger.error("job failed", exc_info=exc, extra={"error_code": error.code.value, "error_message": error.message})
    _mark_failed(store, job_id, error)
    return JobFailed(error)


def _convert_and_upload(job: Job, bucket: str, s3: Any, store: JobStore, workdir: Path) -> JobResult:
    options = render_options_for(job["options"])
    fmt, preview = job["options"]["format"], bool(job["options"].get("preview", False))
    key = output_key(job["jobId"], job["filename"], fmt, preview)
    _, input_ext = parse_input_key(job["inputKey"])
    source = workdir / f"source.{input_ext}"  # the extension tells the engine which decoder to try
    rendered = workdir / "result" / PurePosixPath(key).name
    rendered.parent.mkdir()

    # the object validate checked, not one sent over it since with the same upload form; a job
    # queued before the ETag was recorded reads the object as it is
    checked = {"IfMatch": job["inputEtag"]} if "inputEtag" in job else {}
    body = s3.get_object(Bucket=bucket, Key=job["inputKey"], **checked)["Body"]
    with source.open("wb") as sink:  # streamed in chunks, never whole in memory
        for chunk in body.iter_chunks(DOWNLOAD_CHUNK_BYTES):
            sink.write(chunk)
    logger.info("input downloaded", extra={"size_bytes": source.stat().st_size})

    progress = ProgressReporter(store, job["jobId"])
    preload.wait()
    report = convert_file(
        source,
        rendered,
        options,
        output_format=fmt,
        progress=progress.conversion,
        preview=preview,
    )
    progress.write(CONVERTED_PROGRESS, force=True)
    logger.info(
        "converted",
        extra={
            "duration_s": report.duration_s,
            "input_lufs": report.input_lufs,
            "output_lufs": report.output_lufs,
            # NaN/inf samples of the upload, converted as silence (the decoder repairs them)
            "non_finite_samples": report.non_finite_samples,
            "right_inverted": report.right_inverted,  # the upload's channels were in opposite polarity
            "dc_offset_removed": report.dc_offset_removed,  # the largest of the upload's channels' offsets
            "timbre_corrected_db": report.timbre_corrected_db,  # the render's departure that pass 2 evened out
            "peaks_clipped_db": report.peaks_clipped_db,  # a loud master's peak tips, clipped before the limiter
        },
    )

    # upload_file switches to a multipart upload above 8 MiB and streams the file from disk.
    s3.upload_file(str(rendered), bucket, key, ExtraArgs={"ContentType": OUTPUT_CONTENT_TYPES[fmt]})
    progress.write(UPLOADED_PROGRESS, force=True)
    result = JobResult(
        outputKey=key, format=fmt, durationS=round(report.duration_s, 3), sizeBytes=rendered.stat().st_size
    )
    result["sync"] = report.sync
    # for the page: matched loudness, a preview's place in the song, the tempo followed
    # (a silent song's loudness is -inf, which the job's item cannot hold: left out)
    measured = {
        "inputLufs": (report.input_lufs, 2),
        "outputLufs": (report.output_lufs, 2),
        "previewStartS": (report.preview_start_s, 3),
        "tempoBpm": (report.tempo_bpm, 1),
    }
    for name, (value, digits) in measured.items():
        if value is not None and math.isfinite(value):
            result[name] = round(value, digits)  # type: ignore[literal-required]
    if report.non_finite_samples:
        result["nonFiniteSamples"] = report.non_finite_samples
    return result


def job_error(exc: BaseException) -> JobError:
    """The reason stored on the job: the engine's own words for bad input, a generic one otherwise."""
    if isinstance(exc, AudioInputError):
        # The reason alone: the file name in str(exc) is the task's temp copy, not the user's.
        return JobError(ErrorCode.DECODE_FAILED, _as_sentence(exc.reason))
    if isinstance(exc, Interrupted):
        return JobError(ErrorCode.INTERRUPTED, INTERRUPTED_MESSAGE)
    code = _aws_error_code(exc)
    if code in ACCESS_DENIED_CODES:
        return JobError(ErrorCode.NOT_PERMITTED, NOT_PERMITTED_MESSAGE)
    if code == "PreconditionFailed":  # the upload is no longer the object validate checked
        return JobError(ErrorCode.INVALID_UPLOAD, REPLACED_MESSAGE)
    return JobError(ErrorCode.RENDER_FAILED, RENDER_FAILED_MESSAGE)


def _aws_error_code(exc: BaseException) -> str | None:
    """The code of a botocore ClientError (a refusal by IAM, a failed condition...); None for others."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return response.get("Error", {}).get("Code")


def _as_sentence(reason: str) -> str:
    """'the file is empty' -> 'The file is empty.' (how the other job errors read)."""
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith((".", "!", "?")) else ".")


def _mark_failed(store: JobStore, job_id: str, error: JobError) -> None:
    try:
        store.transition(job_id, JobStatus.FAILED, error=error)
    except Exception:  # noqa: BLE001 - the state machine's Catch marks it FAILED as a fallback
        logger.error("could not mark the job FAILED", exc_info=True)
