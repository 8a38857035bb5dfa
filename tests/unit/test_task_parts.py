"""The Fargate task's parts in process: its environment check, the progress it writes, and one job's
run on the real engine against an in-memory job store and a bucket of local files."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from job_fakes import InMemoryJobStore, job_in_status
from pedalboard.io import AudioFile

from surroundyou.task.__main__ import environment_problem
from surroundyou.task.progress import CONVERTED_PROGRESS, UPLOADED_PROGRESS, ProgressReporter
from surroundyou.task.run import REPLACED_MESSAGE, JobFailed, job_error, run_job
from surroundyou_jobs.model import JobNotFound, JobStatus, TransitionRejected

GOOD_ENVIRONMENT = {"JOB_ID": "a" * 32, "BUCKET": "media", "JOBS_TABLE": "jobs"}


class LocalBucket:
    """The two S3 calls the task makes, on a folder (``get_object`` with S3's If-Match, ``upload_file``)."""

    def __init__(self, root: Path):
        self.root = root

    def get_object(self, Bucket: str, Key: str, IfMatch: str | None = None) -> dict:  # noqa: N803 - boto3's names
        data = (self.root / Bucket / Key).read_bytes()
        if IfMatch is not None and IfMatch != etag_of(data):
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Condition": "If-Match"}}, "GetObject")
        return {"Body": StreamingBody(io.BytesIO(data), len(data))}

    def upload_file(self, path: str, bucket: str, key: str, ExtraArgs: dict) -> None:  # noqa: N803 - boto3's name
        target = self.root / bucket / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        target.with_suffix(".content-type").write_text(ExtraArgs["ContentType"])

    def put(self, bucket: str, key: str, data: bytes) -> None:
        (self.root / bucket / key).parent.mkdir(parents=True, exist_ok=True)
        (self.root / bucket / key).write_bytes(data)


def etag_of(data: bytes) -> str:
    """S3's ETag of an object put in one part: its MD5, quoted."""
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


@pytest.fixture
def queued(tmp_path, signals):
    """A QUEUED job whose upload, a 3 s music-like WAV, is in a local bucket."""
    store, bucket = InMemoryJobStore(), LocalBucket(tmp_path)
    job = job_in_status(store, JobStatus.QUEUED, filename="My Song.wav", extension="wav")
    song = tmp_path / "song.wav"
    with AudioFile(str(song), "w", signals.sample_rate, 2) as sink:
        sink.write(signals.music_like(3.0))
    bucket.put("media", job["inputKey"], song.read_bytes())
    store.items[job["jobId"]]["inputEtag"] = etag_of(song.read_bytes())  # as validate records it
    return SimpleNamespace(store=store, bucket=bucket, job=job)


def test_run_job_converts_and_records_the_result_on_the_job(queued, tmp_path):
    result = run_job(queued.job["jobId"], "media", queued.bucket, queued.store)

    item = queued.store.get(queued.job["jobId"])
    assert item["status"] == JobStatus.PROCESSING.value  # notify makes it READY
    assert item["progress"] == UPLOADED_PROGRESS
    assert item["result"] == result
    assert result["outputKey"] == f"processed/{queued.job['jobId']}/My Song.8d.mp3"
    written = tmp_path / "media" / result["outputKey"]
    assert result["sizeBytes"] == written.stat().st_size > 0
    assert result["durationS"] == pytest.approx(3.0, abs=1e-3)
    assert written.with_suffix(".content-type").read_text() == "audio/mpeg"


def test_run_job_reads_only_the_upload_validate_checked(queued):
    """The upload form stays valid for minutes: a file sent again with it after the check (a longer
    song, another format, text) was rendered unchecked."""
    queued.bucket.put("media", queued.job["inputKey"], b"RIFF" + bytes(10_000))
    with pytest.raises(JobFailed):
        run_job(queued.job["jobId"], "media", queued.bucket, queued.store)
    item = queued.store.get(queued.job["jobId"])
    assert item["status"] == JobStatus.FAILED.value
    assert item["error"] == {"code": "InvalidUpload", "message": REPLACED_MESSAGE}


def test_run_job_fails_a_job_whose_upload_is_not_audio(queued):
    lyrics = b"Not a song, the lyrics.\n" * 100
    queued.bucket.put("media", queued.job["inputKey"], lyrics)
    queued.store.items[queued.job["jobId"]]["inputEtag"] = etag_of(lyrics)  # as if it had passed validate
    with pytest.raises(JobFailed):
        run_job(queued.job["jobId"], "media", queued.bucket, queued.store)
    item = queued.store.get(queued.job["jobId"])
    assert item["status"] == JobStatus.FAILED.value
    assert item["error"]["code"] == "DecodeFailed"
    assert item["error"]["message"].endswith(".") and "Traceback" not in item["error"]["message"]
    assert "result" not in item


def test_run_job_leaves_unknown_and_unqueued_jobs_alone(queued):
    with pytest.raises(JobNotFound):
        run_job("b" * 32, "media", queued.bucket, queued.store)
    queued.store.transition(queued.job["jobId"], JobStatus.FAILED)  # e.g. the state machine timed it out
    before = queued.store.get(queued.job["jobId"])
    with pytest.raises(TransitionRejected):
        run_job(queued.job["jobId"], "media", queued.bucket, queued.store)
    assert queued.store.get(queued.job["jobId"]) == before


def test_environment_check_names_what_is_wrong():
    assert environment_problem(GOOD_ENVIRONMENT) is None
    assert "BUCKET" in environment_problem({**GOOD_ENVIRONMENT, "BUCKET": ""})
    assert "JOBS_TABLE" in environment_problem({"JOB_ID": "a" * 32, "BUCKET": "media"})
    # a JOB_ID that is no job id never reaches a key or the table
    assert "JOB_ID" in environment_problem({**GOOD_ENVIRONMENT, "JOB_ID": "../../etc"})


class _RecordingStore:
    def __init__(self, fails: bool = False):
        self.writes: list[int] = []
        self.fails = fails

    def set_progress(self, job_id: str, progress: int) -> bool:
        if self.fails:
            raise ConnectionError("DynamoDB unreachable")
        self.writes.append(progress)
        return True


def test_progress_is_written_in_steps_of_five_points_at_most_once_a_second():
    clock = SimpleNamespace(now_s=0.0)
    store = _RecordingStore()
    reporter = ProgressReporter(store, "job", clock=lambda: clock.now_s)
    write_times_s = []
    for step in range(201):  # the engine reports every 0.5 %, every 0.2 s
        clock.now_s = step * 0.2
        before = len(store.writes)
        reporter.conversion(step / 200)
        if len(store.writes) > before:
            write_times_s.append(clock.now_s)
    reporter.write(CONVERTED_PROGRESS, force=True)
    reporter.write(UPLOADED_PROGRESS, force=True)

    assert store.writes[-2:] == [CONVERTED_PROGRESS, UPLOADED_PROGRESS]
    conversion_writes = store.writes[:-1]
    assert min(np.diff([0, *conversion_writes])) >= 5
    assert min(np.diff([0.0, *write_times_s])) >= 1.0
    assert max(conversion_writes) <= CONVERTED_PROGRESS
    assert len(conversion_writes) >= 15  # 40 s of converting: the bar keeps moving


def test_progress_that_cannot_be_written_does_not_stop_the_job():
    clock = SimpleNamespace(now_s=0.0)
    reporter = ProgressReporter(_RecordingStore(fails=True), "job", clock=lambda: clock.now_s)
    clock.now_s = 5.0
    reporter.conversion(0.5)
    assert reporter.written == 0


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "403"])
def test_a_refusal_by_iam_is_a_setup_problem_not_a_render_failure(code):
    from botocore.exceptions import ClientError

    refused = ClientError({"Error": {"Code": code, "Message": "denied"}}, "GetObject")
    assert job_error(refused).code == "NotPermitted"
    assert "trying again will not help" in job_error(refused).message
    assert job_error(ClientError({"Error": {"Code": "SlowDown"}}, "GetObject")).code == "RenderFailed"
