"""The task image, run as ECS runs it (``make image-test``): its own entrypoint, a read-only root file
system, a fresh /tmp, its non-root user and only the environment the task definition and the state
machine give it (container/image/run.sh), against a moto server on this machine.

Skipped unless SURROUNDYOU_IMAGE names a built image (``make image-test`` sets it after ``make image``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from audio_files import write_audio
from task_aws import task_aws

from surroundyou.engine.decode import open_audio
from surroundyou.task.__main__ import ExitCode
from surroundyou_jobs.keys import input_key
from surroundyou_jobs.model import JobStatus, new_job
from surroundyou_jobs.options import parse_job_options

IMAGE = os.environ.get("SURROUNDYOU_IMAGE", "")
RUN_IMAGE = Path(__file__).resolve().parents[2] / "container" / "image" / "run.sh"
BUCKET = "surroundyou-image-test"
JOBS_TABLE = "surroundyou-image-test-jobs"
SONG_S = 6.0
CREDENTIALS = ("AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1")

pytestmark = pytest.mark.skipif(not IMAGE, reason="no image: run `make image-test`")


@pytest.fixture(scope="module")
def aws(jobs_table_properties):
    with task_aws(jobs_table_properties, BUCKET, JOBS_TABLE) as made:
        yield made


def queued_job(aws, upload: bytes, ext: str, filename: str, options: dict | None = None) -> str:
    """A job as the validate Lambda leaves it (QUEUED, its upload in the bucket); returns its id."""
    job_id = os.urandom(16).hex()
    key = input_key(job_id, ext)
    job = new_job(
        job_id,
        filename=filename,
        size=len(upload),
        content_type="application/octet-stream",
        options=parse_job_options(options or {"preset": "fast", "format": "mp3"}),
        input_key=key,
        now_s=int(time.time()),
        ttl_days=1,
    )
    aws.store.create(job)
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=upload)
    aws.store.transition(job_id, JobStatus.QUEUED)
    return job_id


def run_image(aws, job_id: str) -> subprocess.CompletedProcess:
    """The image's entrypoint with the task definition's variables, the state machine's JOB_ID, the
    local AWS endpoint and fake credentials: nothing else from this machine reaches it."""
    variables = [f"JOB_ID={job_id}", f"BUCKET={BUCKET}", f"JOBS_TABLE={JOBS_TABLE}", f"AWS_ENDPOINT_URL={aws.endpoint}"]
    return subprocess.run(
        [str(RUN_IMAGE), IMAGE, *variables, *CREDENTIALS], capture_output=True, text=True, timeout=600, check=False
    )


def logs(finished: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in finished.stdout.splitlines()]


@pytest.mark.parametrize(
    ("ext", "options"),
    [
        ("mp3", None),
        ("m4a", None),
        ("opus", None),
        ("mp3", {"preset": "classic", "format": "mp3", "mode": "hrtf"}),
    ],
    ids=["mp3", "m4a", "opus", "mp3-hrtf"],
)
def test_a_song_ends_with_its_result_on_the_job_and_in_the_bucket(aws, signals, tmp_path, ext, options):
    """MP3 goes through pedalboard; M4A (AAC) and Opus through the image's own small ffmpeg; HRTF mode
    reads the KEMAR set from the slab wheel's data."""
    song = tmp_path / f"song.{ext}"
    write_audio(song, signals.music_like(SONG_S), 44100)
    job_id = queued_job(aws, song.read_bytes(), ext, f"Café del Mar.{ext}", options)

    finished = run_image(aws, job_id)

    assert finished.returncode == ExitCode.OK, finished.stdout + finished.stderr
    assert logs(finished)[-1]["message"] == "result recorded"
    job = aws.store.get(job_id)
    assert job["status"] == JobStatus.PROCESSING  # notify moves it to READY
    result = job["result"]
    assert abs(float(result["durationS"]) - SONG_S) < 0.1
    result_file = tmp_path / "result.mp3"
    aws.s3.download_file(BUCKET, result["outputKey"], str(result_file))
    assert result_file.stat().st_size == int(result["sizeBytes"])
    with open_audio(result_file) as decoded:
        assert decoded.info.channels == 2
        assert abs(decoded.info.frames / decoded.info.sample_rate - SONG_S) < 0.1


def test_a_text_file_named_mp3_ends_failed_with_a_reason_a_person_can_read(aws):
    job_id = queued_job(aws, b"Dear diary, today I renamed a text file.\n" * 200, "mp3", "diary.mp3")

    finished = run_image(aws, job_id)

    assert finished.returncode == ExitCode.JOB_FAILED, finished.stdout + finished.stderr
    job = aws.store.get(job_id)
    assert job["status"] == JobStatus.FAILED
    assert job["error"]["code"] == "DecodeFailed"
    assert job["error"]["message"].startswith("Not an audio file SurroundYou can read"), job["error"]
    assert "result" not in job
