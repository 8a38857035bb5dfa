"""statemachine/convert.asl.json executed by moto's Step Functions interpreter, end to end.

The local stack runs in this process (surroundyou_local.stack, without its terminal): the machine
is created from template.yaml, its Lambda tasks run the real validate/notify handlers and its ECS
task the real `python -m surroundyou.task`. An upload is an S3 PutObject on the local endpoint,
whose EventBridge event starts the execution. Each case asserts the job's final item in DynamoDB.

A render crash is injected by a wrapper around the task entrypoint: for a job id listed in a
file it exits 1 without a word, as a container killed mid-render would.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import requests
from pedalboard.io import AudioFile

from surroundyou_jobs.keys import input_key, output_key
from surroundyou_jobs.model import JobResult
from surroundyou_local.stack import LocalStack, StackOptions

pytestmark = pytest.mark.slow

SAMPLE_RATE = 44100
TASK_WRAPPER = """\
import os, runpy, sys
if os.environ["JOB_ID"] in open({crash_list!r}).read().split():
    sys.exit(1)
runpy.run_module("surroundyou.task", run_name="__main__")
"""


class Pipeline:
    """The running stack, and what a test needs of it: create a job, upload, read the outcome."""

    def __init__(self, stack: LocalStack, crash_list: Path):
        self.stack = stack
        self.crash_list = crash_list
        self.s3 = stack.aws.client("s3")
        self.sfn = stack.aws.client("stepfunctions")
        self.table = stack.aws.resource("dynamodb").Table(stack.resources.table)

    def create_job(self, filename: str, size: int) -> dict:
        answer = requests.post(
            f"{self.stack.url}api/jobs",
            timeout=30,
            json={"filename": filename, "size": size, "contentType": "audio/wav", "options": {"preset": "fast"}},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def upload(self, job: dict, data: bytes) -> str:
        """PutObject to the job's upload key (S3 sends the Object Created event); returns the key."""
        key = job["upload"]["fields"]["key"]
        self.s3.put_object(Bucket=self.stack.resources.bucket, Key=key, Body=data, ContentType="audio/wav")
        return key

    def executions_of(self, key: str) -> list[dict]:
        found = []
        for execution in self.sfn.list_executions(stateMachineArn=self.stack.resources.state_machine_arn)["executions"]:
            described = self.sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described["input"])["detail"]["object"]["key"] == key:
                found.append(described)
        return found

    def finished(self, execution_arn: str, timeout_s: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.2)
        raise AssertionError(f"{execution_arn} still running after {timeout_s:.0f} s")

    def run(self, filename: str, data: bytes, crash: bool = False) -> tuple[dict, dict]:
        """Upload ``data`` as a new job's song: (the finished execution, the job's final item)."""
        job = self.create_job(filename, len(data))
        if crash:
            with self.crash_list.open("a") as crash_list:
                crash_list.write(job["jobId"] + "\n")
        key = self.upload(job, data)
        deadline = time.monotonic() + 10
        while not (executions := self.executions_of(key)) and time.monotonic() < deadline:
            time.sleep(0.1)
        (execution,) = executions
        return self.finished(execution["executionArn"]), self.job(job["jobId"])

    def job(self, job_id: str) -> dict:
        return self.table.get_item(Key={"jobId": job_id}, ConsistentRead=True)["Item"]

    def history(self, execution_arn: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]

    def task_log(self, job_id: str) -> list[dict]:
        """The JSON lines the tasks logged about ``job_id`` (each task logs to task-<id>.log)."""
        lines = [
            line
            for log in sorted(self.stack.log_dir.glob("task-*.log"))
            for line in log.read_text().splitlines()
            if job_id in line
        ]
        return [json.loads(line) for line in lines]


@contextmanager
def running_stack(options: StackOptions) -> Iterator[LocalStack]:
    """The local stack started in this process, stopped after; this process's environment, which
    the stack points at its endpoint (the AWS SDK's), as it was before."""
    environ = dict(os.environ)
    stack = LocalStack(options, console=io.StringIO())
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    crash_list = folder / "crash-jobs.txt"
    crash_list.write_text("")
    wrapper = folder / "task.py"
    wrapper.write_text(TASK_WRAPPER.format(crash_list=str(crash_list)))
    options = StackOptions(port=0, workers=2, log_dir=folder / "logs", task_command=(sys.executable, str(wrapper)))
    with running_stack(options) as stack:
        yield Pipeline(stack, crash_list)


def wav_song(seconds: float = 2.0) -> bytes:
    t_s = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = np.random.default_rng(1).standard_normal(t_s.size) * 0.05
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t_s) + noise, 0.3 * np.sin(2 * np.pi * 550 * t_s) + noise])
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", SAMPLE_RATE, 2, format="wav") as song:
        song.write(stereo.astype(np.float32))
    return buffer.getvalue()


def entered_states(history: list[dict]) -> list[str]:
    return [event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event]


def test_an_accepted_upload_is_rendered_and_the_job_is_ready(pipeline):
    execution, job = pipeline.run("song.wav", wav_song())
    assert execution["status"] == "SUCCEEDED"
    assert job["status"] == "READY" and job["progress"] == 100
    assert job["inputKey"] == input_key(job["jobId"], "wav")
    assert job["executionArn"] == execution["executionArn"]  # the execution that queued it owns it
    result = job["result"]  # written by the task; notify only moved the job to READY
    assert {"outputKey", "format", "durationS", "sizeBytes"} <= set(result) <= set(JobResult.__annotations__)
    assert result["outputKey"] == output_key(job["jobId"], "song.wav", "mp3") and result["format"] == "mp3"
    assert float(result["durationS"]) == pytest.approx(2.0, abs=0.05)
    head = pipeline.s3.head_object(Bucket=pipeline.stack.resources.bucket, Key=result["outputKey"])
    assert head["ContentLength"] == result["sizeBytes"] > 0


def test_the_execution_carries_only_the_job_id(pipeline):
    execution, job = pipeline.run("carried.wav", wav_song())
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["validation"] == {"jobId": job["jobId"], "duplicate": False}
    history = pipeline.history(execution["executionArn"])
    (render,) = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in history
        if e.get("taskScheduledEventDetails", {}).get("resourceType") == "ecs"
    ]
    (override,) = render["Overrides"]["ContainerOverrides"]
    assert override["Environment"] == [{"Name": "JOB_ID", "Value": job["jobId"]}]


def test_the_task_logs_json_lines_about_its_job(pipeline):
    _, job = pipeline.run("logged.wav", wav_song())
    records = pipeline.task_log(job["jobId"])
    assert records and all(
        record["service"] == "surroundyou-task" and record["job_id"] == job["jobId"] for record in records
    )
    assert all({"level", "message", "timestamp"} <= set(record) for record in records)
    assert "result recorded" in [record["message"] for record in records]


def test_a_repeated_event_ends_early_and_leaves_the_job_alone(pipeline):
    first, job = pipeline.run("again.wav", wav_song())
    assert (first["status"], job["status"]) == ("SUCCEEDED", "READY")
    # EventBridge delivers at least once: the same event starts a second execution.
    repeat = pipeline.sfn.start_execution(
        stateMachineArn=pipeline.stack.resources.state_machine_arn, name="redelivered", input=first["input"]
    )
    second = pipeline.finished(repeat["executionArn"])
    assert second["status"] == "SUCCEEDED"
    assert entered_states(pipeline.history(second["executionArn"])) == [
        "ValidateUpload",
        "IsDuplicate",
        "AlreadyHandled",
    ]
    assert pipeline.job(job["jobId"]) == job  # not one attribute written, updatedAt included


def test_a_file_that_is_not_audio_fails_validation_with_a_readable_reason(pipeline):
    execution, job = pipeline.run("notes.wav", b"Dear diary, today I renamed a text file.\n" * 50)
    assert (execution["status"], execution["error"]) == ("FAILED", "ConversionFailed")
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "InvalidUpload" and "not audio" in job["error"]["message"]
    states = entered_states(pipeline.history(execution["executionArn"]))
    assert states == ["ValidateUpload", "MarkFailed", "ConversionFailed"]


def test_a_render_that_crashes_fails_the_job(pipeline):
    execution, job = pipeline.run("crash.wav", wav_song(), crash=True)
    assert (execution["status"], execution["error"]) == ("FAILED", "ConversionFailed")
    assert job["status"] == "FAILED" and job["error"]["message"] and "States." not in job["error"]["message"]
    assert job["error"]["code"] == "ConverterStopped"  # the task said nothing: the state machine's reason
    history = pipeline.history(execution["executionArn"])
    (failure,) = [e["taskFailedEventDetails"] for e in history if "taskFailedEventDetails" in e]
    stopped_task = json.loads(failure["cause"])
    assert failure["error"] == "States.TaskFailed"
    assert (stopped_task["StopCode"], stopped_task["Containers"][0]["ExitCode"]) == ("EssentialContainerExited", 1)
    states = entered_states(history)
    assert "RenderAudio" in states and states[-2:] == ["MarkFailed", "ConversionFailed"]
