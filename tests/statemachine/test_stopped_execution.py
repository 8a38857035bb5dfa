"""An execution stopped by hand (StopExecution: the Step Functions console, the CLI) runs none of
its own states, so it neither fails its job nor gives its render slot back. The notify function,
invoked by EventBridge when the execution ends, does both: the job ends FAILED with a reason, the
slot is free for the next song. Step Functions stops the render's task.

The local stack runs in this process with MaxConcurrentRenders=1; the task entrypoint is wrapped to
wait while a file exists, so the render holds its slot until the test stops its execution.
"""

from __future__ import annotations

import sys
import time

import pytest
from test_execution import Pipeline, running_stack, wav_song

from surroundyou_local.stack import StackOptions

pytestmark = [
    pytest.mark.slow,
    # moto 5.2.5's runTask.sync, once its execution is stopped, ends its waiting thread with a
    # TypeError (a dict compared with 0 in state_task_service_callback); the execution is ABORTED all the same
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

HELD_TASK = """\
import os, runpy, time
while os.path.exists({hold!r}):
    time.sleep(0.05)
runpy.run_module("surroundyou.task", run_name="__main__")
"""


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-slot")
    hold = folder / "hold"
    wrapper = folder / "task.py"
    wrapper.write_text(HELD_TASK.format(hold=str(hold)))
    options = StackOptions(
        port=0,
        workers=1,  # the next song renders only once the stopped execution's task has stopped
        log_dir=folder / "logs",
        task_command=(sys.executable, str(wrapper)),
        parameters={"MaxConcurrentRenders": "1"},
    )
    try:
        with running_stack(options) as stack:
            yield Pipeline(stack, folder / "crash-jobs.txt"), hold
    finally:
        hold.unlink(missing_ok=True)


def render_slots(pipeline: Pipeline) -> dict:
    table = pipeline.stack.aws.resource("dynamodb").Table(pipeline.stack.resources.api.environment["LIMITS_TABLE"])
    return table.get_item(Key={"key": "renders"}, ConsistentRead=True).get("Item", {})


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {what} after {timeout_s:.0f} s")


def test_a_stopped_execution_fails_its_job_and_frees_its_render_slot_for_the_next_song(one_slot):
    pipeline, hold = one_slot
    song = wav_song(2.0)
    hold.touch()
    job = pipeline.create_job("held.wav", len(song))
    key = pipeline.upload(job, song)
    (execution,) = wait_for(lambda: pipeline.executions_of(key), 10, "execution")
    wait_for(lambda: render_slots(pipeline).get(job["jobId"]), 30, "render slot taken")

    pipeline.sfn.stop_execution(executionArn=execution["executionArn"], error="Stopped", cause="by hand")

    assert pipeline.finished(execution["executionArn"])["status"] == "ABORTED"
    stopped = wait_for(lambda: (item := pipeline.job(job["jobId"]))["status"] == "FAILED" and item, 30, "FAILED job")
    assert stopped["error"] == {
        "code": "Interrupted",
        "message": "The conversion was stopped before it finished; please try again.",
    }
    assert render_slots(pipeline) == {"key": "renders", "running": 0}
    ecs = pipeline.stack.aws.client("ecs")
    (cluster,) = ecs.list_clusters()["clusterArns"]
    (task_arn,) = ecs.list_tasks(cluster=cluster)["taskArns"]
    task = wait_for(
        lambda: (
            (found := ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0])["lastStatus"] == "STOPPED"
            and found
        ),
        30,
        "stopped task",
    )
    assert (task["stopCode"], task["containers"][0]["exitCode"]) == ("UserInitiated", 143)  # as AWS stops it
    hold.unlink()

    execution, item = pipeline.run("next.wav", song)  # the slot and the worker are free: the next song renders

    assert (execution["status"], item["status"]) == ("SUCCEEDED", "READY")
    assert pipeline.job(job["jobId"])["status"] == "FAILED"
