"""The Fargate task entrypoint, run as ECS runs it: `python -m surroundyou.task` in its own process,
configured by environment variables only, against a moto server that holds the bucket and the jobs
table (created from template.yaml's own JobsTable definition), on a real short song.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile
from task_aws import task_aws

from surroundyou.engine.decode import open_audio
from surroundyou.task.__main__ import ExitCode
from surroundyou.task.progress import UPLOADED_PROGRESS
from surroundyou.task.run import RENDER_FAILED_MESSAGE, run_job
from surroundyou_jobs.keys import input_key, output_key
from surroundyou_jobs.model import JobNotFound, JobStatus, new_job
from surroundyou_jobs.options import parse_job_options

BUCKET = "surroundyou-task-test"
JOBS_TABLE = "surroundyou-task-test-jobs"
SONG_S = 6.0
SAMPLE_RATE = 44100
SONG_FRAMES = round(SONG_S * SAMPLE_RATE)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def aws(jobs_table_properties):
    with task_aws(jobs_table_properties, BUCKET, JOBS_TABLE) as made:
        yield made


@pytest.fixture(scope="module")
def song_mp3(signals, tmp_path_factory) -> Path:
    """A 6 s stereo music-like mix encoded as MP3 by pedalboard."""
    path = tmp_path_factory.mktemp("song") / "song.mp3"
    with AudioFile(str(path), "w", SAMPLE_RATE, 2, quality="V2") as song:
        song.write(signals.music_like(SONG_S))
    return path


def queued_job(
    aws, upload: bytes | None, *, filename: str = "Café del Mar.mp3", options: dict | None = None
) -> dict[str, str]:
    """A job moved to QUEUED as the validate Lambda leaves it; returns the task's variables (the
    state machine's JOB_ID and the task definition's BUCKET and JOBS_TABLE)."""
    job_id = os.urandom(16).hex()
    options = parse_job_options(options or {"preset": "fast", "format": "mp3"})
    key = input_key(job_id, "mp3")
    aws.store.create(
        new_job(
            job_id,
            filename=filename,
            size=len(upload or b""),
            content_type="audio/mpeg",
            options=options,
            input_key=key,
            now_s=int(time.time()),
            ttl_days=1,
        )
    )
    if upload is not None:
        aws.s3.put_object(Bucket=BUCKET, Key=key, Body=upload)
    aws.store.transition(job_id, JobStatus.QUEUED)
    return {"JOB_ID": job_id, "BUCKET": BUCKET, "JOBS_TABLE": JOBS_TABLE}


def task_environment(aws, job_variables: dict[str, str], tmpdir: Path) -> dict[str, str]:
    """What the task definition and the container overrides give the process, nothing from a real
    AWS configuration (no profile, no real credentials)."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    tmpdir.mkdir(exist_ok=True)
    return {**environ, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": aws.endpoint, "TMPDIR": str(tmpdir), **job_variables}


def run_task(environ: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "surroundyou.task"], env=environ, capture_output=True, text=True, timeout=600
    )


def log_lines(stdout: str) -> list[dict]:
    """Every stdout line is one JSON log object with the fields CloudWatch queries rely on."""
    lines = [json.loads(line) for line in stdout.splitlines()]
    for line in lines:
        assert {"timestamp", "level", "message", "service", "job_id"} <= line.keys(), line
    return lines


def results_of(aws, job_id: str) -> list[str]:
    listing = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"processed/{job_id}/")
    return [item["Key"] for item in listing.get("Contents", [])]


def decoded(path: Path) -> np.ndarray:
    """The song as the engine decodes it (MP3 encoder delay and padding trimmed)."""
    with open_audio(path) as source:
        return np.concatenate(list(source.blocks()), axis=1)


# ---------------------------------------------------------------------------------- the happy path


def test_task_converts_the_song_and_records_its_result_on_the_job(aws, song_mp3, tmp_path):
    job = queued_job(aws, song_mp3.read_bytes())
    tmpdir = tmp_path / "task-tmp"

    finished = run_task(task_environment(aws, job, tmpdir))

    assert finished.returncode == ExitCode.OK, finished.stdout + finished.stderr
    logs = log_lines(finished.stdout)
    assert {line["job_id"] for line in logs} == {job["JOB_ID"]}
    assert {line["service"] for line in logs} == {"surroundyou-task"}
    assert logs[-1]["message"] == "result recorded"

    # The task leaves the job PROCESSING (notify marks it READY) with its result and the upload's
    # milestone reached; nothing travels in S3 metadata.
    output = output_key(job["JOB_ID"], "Café del Mar.mp3", "mp3")
    assert output == f"processed/{job['JOB_ID']}/Cafe del Mar.8d.mp3"
    item = aws.store.get(job["JOB_ID"])
    assert item["status"] == JobStatus.PROCESSING.value
    assert item["progress"] == UPLOADED_PROGRESS
    assert results_of(aws, job["JOB_ID"]) == [output]
    head = aws.s3.head_object(Bucket=BUCKET, Key=output)
    assert head["ContentType"] == "audio/mpeg"
    assert head["Metadata"] == {}
    assert item["result"] == {
        "outputKey": output,
        "format": "mp3",
        "durationS": item["result"]["durationS"],
        "sizeBytes": head["ContentLength"],
        "sync": "off",
        "inputLufs": item["result"]["inputLufs"],
        "outputLufs": item["result"]["outputLufs"],
    }
    assert item["result"]["durationS"] == pytest.approx(SONG_S, abs=1e-3)
    # the loudnesses the page's player matches the two versions by (the converter's: within 1 LU)
    assert item["result"]["outputLufs"] == pytest.approx(item["result"]["inputLufs"], abs=1.0)

    result_path = tmp_path / "result.mp3"
    aws.s3.download_file(BUCKET, output, str(result_path))
    result = decoded(result_path)
    assert result.shape == decoded(song_mp3).shape == (2, SONG_FRAMES)
    assert np.sqrt(np.mean(result**2)) > 0.01  # music came out, not silence

    assert list(tmpdir.iterdir()) == []  # the download, the render and the result were removed


# ---------------------------------------------------------------------------------- failures


def test_a_file_that_is_not_audio_fails_the_job_with_a_readable_reason(aws, tmp_path):
    job = queued_job(aws, b"These are the lyrics, typed out, not the song itself.\n" * 200)
    tmpdir = tmp_path / "task-tmp"

    finished = run_task(task_environment(aws, job, tmpdir))

    assert finished.returncode == ExitCode.JOB_FAILED
    error = aws.store.get(job["JOB_ID"])["error"]
    assert aws.store.get(job["JOB_ID"])["status"] == JobStatus.FAILED.value
    assert error["code"] == "DecodeFailed"
    assert error["message"] and "Traceback" not in error["message"] and len(error["message"]) < 300
    failure = [line for line in log_lines(finished.stdout) if line["level"] == "ERROR"]
    assert failure[0]["error_code"] == "DecodeFailed"
    assert "AudioInputError" in failure[0]["exception"]  # the traceback, inside the one JSON line
    assert results_of(aws, job["JOB_ID"]) == []
    assert list(tmpdir.iterdir()) == []


def test_an_upload_that_is_gone_fails_the_job_as_a_render_failure(aws, tmp_path):
    job = queued_job(aws, upload=None)

    finished = run_task(task_environment(aws, job, tmp_path / "task-tmp"))

    assert finished.returncode == ExitCode.JOB_FAILED
    item = aws.store.get(job["JOB_ID"])
    assert item["status"] == JobStatus.FAILED.value
    assert item["error"] == {"code": "RenderFailed", "message": RENDER_FAILED_MESSAGE}
    assert results_of(aws, job["JOB_ID"]) == []


def test_a_job_that_is_not_queued_is_left_untouched(aws, song_mp3, tmp_path):
    job = queued_job(aws, song_mp3.read_bytes())
    for status in (JobStatus.PROCESSING, JobStatus.READY):  # e.g. a duplicate execution, long done
        aws.store.transition(job["JOB_ID"], status)
    before = aws.store.get(job["JOB_ID"])

    finished = run_task(task_environment(aws, job, tmp_path / "task-tmp"))

    assert finished.returncode == ExitCode.NOT_QUEUED
    assert "READY" in finished.stdout
    assert aws.store.get(job["JOB_ID"]) == before
    assert results_of(aws, job["JOB_ID"]) == []


@pytest.mark.parametrize("variable", ["BUCKET", "JOBS_TABLE"])
def test_a_missing_variable_stops_the_task_before_it_touches_the_job(aws, variable, tmp_path):
    job = queued_job(aws, b"never read")
    environ = task_environment(aws, job, tmp_path / "task-tmp")
    del environ[variable]

    finished = run_task(environ)

    assert finished.returncode == ExitCode.BAD_ENVIRONMENT
    [line] = log_lines(finished.stdout)
    assert line["level"] == "ERROR" and variable in line["message"]
    assert aws.store.get(job["JOB_ID"])["status"] == JobStatus.QUEUED.value


def test_a_task_that_hangs_ends_itself_at_its_deadline_saying_where(tmp_path):
    """ECS has no task timeout: a task stuck in a call that never returns would bill for good. Here
    every AWS call hangs (an endpoint that takes the connection and never answers, where botocore
    would wait 60 s a try, and try again); at RENDER_DEADLINE_S the task prints where each thread
    was and exits 1."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        environ = {
            **{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "TMPDIR": str(tmp_path),
            "JOB_ID": os.urandom(16).hex(),
            "BUCKET": BUCKET,
            "JOBS_TABLE": JOBS_TABLE,
            "RENDER_DEADLINE_S": "2",
        }
        finished = run_task(environ)

    assert finished.returncode == 1
    assert "Timeout (0:00:02)!" in finished.stderr
    assert "in run_job" in finished.stderr  # the main thread's stack: where it hung


def test_sigterm_marks_the_job_interrupted_and_cleans_up(aws, song_mp3, tmp_path):
    # A longer song, so the render is still running when the signal arrives.
    long_song = tmp_path / "long.wav"
    with AudioFile(str(long_song), "w", SAMPLE_RATE, 2) as sink:
        sink.write(np.tile(decoded(song_mp3), 5))
    job = queued_job(aws, long_song.read_bytes())
    tmpdir = tmp_path / "task-tmp"
    task = subprocess.Popen(
        [sys.executable, "-m", "surroundyou.task"],
        env=task_environment(aws, job, tmpdir),
        stdout=subprocess.PIPE,
        text=True,
    )
    while aws.store.get(job["JOB_ID"])["status"] == JobStatus.QUEUED.value and task.poll() is None:
        time.sleep(0.02)  # the task claims the job (QUEUED -> PROCESSING) after installing its handler

    task.send_signal(signal.SIGTERM)
    stdout, _ = task.communicate(timeout=600)

    assert task.returncode == ExitCode.INTERRUPTED, stdout
    item = aws.store.get(job["JOB_ID"])
    assert item["status"] == JobStatus.FAILED.value
    assert item["error"]["code"] == "Interrupted"
    assert results_of(aws, job["JOB_ID"]) == []
    assert list(tmpdir.iterdir()) == []


def test_where_interrupted_renders_are_retried_sigterm_leaves_the_job_to_the_next_render(aws, song_mp3, tmp_path):
    long_song = tmp_path / "long.wav"
    with AudioFile(str(long_song), "w", SAMPLE_RATE, 2) as sink:
        sink.write(np.tile(decoded(song_mp3), 5))
    job = queued_job(aws, long_song.read_bytes())
    environ = {**task_environment(aws, job, tmp_path / "task-tmp"), "RENDERS_RETRIED_WHEN_INTERRUPTED": "true"}
    task = subprocess.Popen([sys.executable, "-m", "surroundyou.task"], env=environ, stdout=subprocess.PIPE, text=True)
    while aws.store.get(job["JOB_ID"])["status"] == JobStatus.QUEUED.value and task.poll() is None:
        time.sleep(0.02)

    task.send_signal(signal.SIGTERM)  # Fargate Spot taking the task back
    stdout, _ = task.communicate(timeout=600)

    assert task.returncode == ExitCode.INTERRUPTED, stdout
    item = aws.store.get(job["JOB_ID"])
    assert item["status"] == JobStatus.PROCESSING.value and "interruptedAt" in item and "error" not in item
    assert results_of(aws, job["JOB_ID"]) == [] and list((tmp_path / "task-tmp").iterdir()) == []

    again = run_task(environ)  # the state machine's next render

    assert again.returncode == ExitCode.OK, again.stdout
    item = aws.store.get(job["JOB_ID"])
    assert item["status"] == JobStatus.PROCESSING.value and "interruptedAt" not in item
    assert [item["result"]["outputKey"]] == results_of(aws, job["JOB_ID"])


def test_run_job_leaves_an_unknown_job_alone(aws):
    job_id = os.urandom(16).hex()
    with pytest.raises(JobNotFound):
        run_job(job_id, BUCKET, aws.s3, aws.store)
    assert results_of(aws, job_id) == []
