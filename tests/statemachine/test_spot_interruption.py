"""A render Fargate Spot takes back mid-song is rendered again, and its job never reads FAILED.

The local stack runs in this process with UseFargateSpot=true; `LocalStack.interrupt_renders`
takes the running task back as Fargate Spot does (SIGTERM, then StopCode SpotInterruption). The
task leaves its job PROCESSING (the API shows `interruptedAt`, for the page to say so), the
state machine waits and renders it again, and the job ends READY. Slow: the state machine waits
30 s before the second render, as on AWS.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from test_execution import Pipeline, running_stack, wav_song

from surroundyou_local.stack import StackOptions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def on_spot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spot")
    options = StackOptions(port=0, workers=1, log_dir=folder / "logs", parameters={"UseFargateSpot": "true"})
    with running_stack(options) as stack:
        yield Pipeline(stack, folder / "crash-jobs.txt")


def test_a_render_spot_takes_back_is_rendered_again_and_its_job_ends_ready(on_spot):
    pipeline = on_spot
    song = wav_song(60.0)
    job = pipeline.create_job("long.wav", len(song))
    statuses: list[str] = []
    watching = threading.Event()

    def watch() -> None:  # every status the job reads while the test goes on
        while not watching.is_set():
            statuses.append(pipeline.job(job["jobId"])["status"])
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        key = pipeline.upload(job, song)
        deadline = time.monotonic() + 60
        while pipeline.job(job["jobId"])["status"] != "PROCESSING":
            assert time.monotonic() < deadline, "the render never claimed the job"
            time.sleep(0.02)
        assert pipeline.stack.interrupt_renders() == 1
        deadline = time.monotonic() + 20  # the state machine waits 30 s before the next render
        while "interruptedAt" not in (
            view := requests.get(f"{pipeline.stack.url}api/jobs/{job['jobId']}", timeout=10).json()
        ):
            assert time.monotonic() < deadline, f"the page never learns the render was taken back: {view}"
            time.sleep(0.1)
        assert view["status"] == "PROCESSING"  # the page says another render picks the song up
        (execution,) = pipeline.executions_of(key)
        finished = pipeline.finished(execution["executionArn"], timeout_s=180)
    finally:
        watching.set()
        watcher.join()

    item = pipeline.job(job["jobId"])
    assert (finished["status"], item["status"]) == ("SUCCEEDED", "READY"), item
    assert "interruptedAt" not in item and "error" not in item
    assert "FAILED" not in statuses and "PROCESSING" in statuses
    renders = [
        event
        for event in pipeline.history(execution["executionArn"])
        if event["type"] == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] == "RenderAudio"
    ]
    assert len(renders) == 2
    result = pipeline.s3.head_object(Bucket=pipeline.stack.resources.bucket, Key=item["result"]["outputKey"])
    assert result["ContentLength"] == item["result"]["sizeBytes"]
