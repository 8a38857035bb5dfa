"""The pipeline's path for NaN/inf input: `python -m surroundyou.task`, as ECS runs it, against a moto
server (the approach of tests/integration/test_task.py), on a 32-bit float WAV holding runs of NaN and
infinity. The engine's decoder repairs them (silence, counted), so the job converts into a finite,
audible result instead of a WAV of NaNs or a near-silent MP3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from audio_files import decode, write_audio
from task_aws import task_aws

from surroundyou.engine.analysis import integrated_lufs
from surroundyou.task.__main__ import ExitCode
from surroundyou_jobs.keys import input_key
from surroundyou_jobs.model import JobStatus, new_job
from surroundyou_jobs.options import parse_job_options

BUCKET = "surroundyou-nonfinite-test"
JOBS_TABLE = "surroundyou-nonfinite-test-jobs"
SR = 44100


@pytest.fixture(scope="module")
def aws(jobs_table_properties):
    with task_aws(jobs_table_properties, BUCKET, JOBS_TABLE) as made:
        yield made


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_float_wav_with_nan_and_inf_converts_into_a_finite_audible_result(aws, signals, tmp_path, fmt):
    music = signals.music_like(4.0, SR, seed=21)
    broken = music.copy()
    broken[:, 20_000:20_500] = np.nan
    broken[0, 60_000:60_100] = np.inf
    broken[1, 90_000:90_010] = -np.inf
    upload = write_audio(tmp_path / "broken.wav", broken, SR, bit_depth=32)

    job_id = os.urandom(16).hex()
    key = input_key(job_id, "wav")
    aws.store.create(
        new_job(
            job_id,
            filename="broken.wav",
            size=upload.stat().st_size,
            content_type="audio/wav",
            options=parse_job_options({"preset": "classic", "format": fmt}),
            input_key=key,
            now_s=int(time.time()),
            ttl_days=1,
        )
    )
    aws.s3.upload_file(str(upload), BUCKET, key)
    aws.store.transition(job_id, JobStatus.QUEUED)
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws.endpoint,
        "JOB_ID": job_id,
        "BUCKET": BUCKET,
        "JOBS_TABLE": JOBS_TABLE,
    }

    finished = subprocess.run(
        [sys.executable, "-m", "surroundyou.task"], env=environ, capture_output=True, text=True, timeout=600
    )

    assert finished.returncode == ExitCode.OK, finished.stdout + finished.stderr
    item = aws.store.get(job_id)
    assert item["status"] == JobStatus.PROCESSING.value and "result" in item  # notify marks it READY
    assert item["result"]["nonFiniteSamples"] == 2 * 500 + 100 + 10  # the page tells the user how many
    result = Path(tmp_path / f"result.{fmt}")
    aws.s3.download_file(BUCKET, item["result"]["outputKey"], str(result))
    out, _ = decode(result)
    assert out.shape == (2, music.shape[1])
    assert np.isfinite(out).all()
    assert abs(integrated_lufs(out, SR) - integrated_lufs(music, SR)) <= 1.0  # the music, not NaN or silence
