"""The render semaphore on the running machine: a burst of uploads above MaxConcurrentRenders all
end READY, and never more than that many render tasks run at once.

The local stack runs in this process with MaxConcurrentRenders=2 and room for six task processes,
so only the state machine's AcquireRenderSlot can hold renders back. What runs when is measured
outside the machine: the task entrypoint is wrapped to write a line as its process starts and ends.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_execution import Pipeline, running_stack, wav_song

from surroundyou_local.stack import StackOptions

pytestmark = pytest.mark.slow

CAP = 2
BURST = 6
TIMED_TASK = """\
import os, runpy, sys, time
log = open({timeline!r}, "a")
log.write(f"start {{time.monotonic()}}\\n"); log.flush()
try:
    runpy.run_module("surroundyou.task", run_name="__main__")
finally:
    log.write(f"end {{time.monotonic()}}\\n"); log.flush()
"""


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("capped")
    timeline = folder / "timeline.txt"
    wrapper = folder / "task.py"
    wrapper.write_text(TIMED_TASK.format(timeline=str(timeline)))
    crash_list = folder / "crash-jobs.txt"
    crash_list.write_text("")
    options = StackOptions(
        port=0,
        workers=BURST,
        log_dir=folder / "logs",
        task_command=(sys.executable, str(wrapper)),
        parameters={"MaxConcurrentRenders": str(CAP), "OpenJobsPerClient": str(BURST)},
    )
    with running_stack(options) as stack:
        yield Pipeline(stack, crash_list), timeline


def most_at_once(timeline: str) -> int:
    events = sorted(
        (float(t), +1 if kind == "start" else -1) for kind, t in (line.split() for line in timeline.splitlines())
    )
    running = peak = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):  # an end before a start at a tie
        running += step
        peak = max(peak, running)
    return peak


def test_a_burst_above_the_cap_all_ends_ready_never_more_than_the_cap_rendering(capped):
    pipeline, timeline = capped
    song = wav_song(3.0)
    started_s = time.monotonic()
    with ThreadPoolExecutor(BURST) as pool:
        outcomes = list(pool.map(lambda n: pipeline.run(f"song {n}.wav", song), range(BURST)))
    for execution, job in outcomes:
        assert (execution["status"], job["status"]) == ("SUCCEEDED", "READY"), job
    lines = timeline.read_text()
    assert lines.count("start") == lines.count("end") == BURST  # one task per job, none lost
    assert most_at_once(lines) == CAP  # the cap was reached, and never passed
    renders = pipeline.stack.aws.client("dynamodb").get_item(
        TableName=pipeline.stack.resources.api.environment["LIMITS_TABLE"],
        Key={"key": {"S": "renders"}},
        ConsistentRead=True,
    )["Item"]
    assert renders == {"key": {"S": "renders"}, "running": {"N": "0"}}  # every slot given back
    print(f"{BURST} jobs, cap {CAP}: all READY in {time.monotonic() - started_s:.0f} s")
