"""The local stack refuses what a role may not do, as AWS would, and the job still ends.

Each case runs the stack in this process from a variant of template.yaml (`StackOptions.template`,
what `python -m surroundyou_local --template PATH` runs) whose TaskRole lacks one statement: the
render cannot read the upload, or cannot update the job. The job must end FAILED with a reason a
person understands, never READY and never stuck; the refused call is in the stack's record. The
real template ending READY under the same enforcement is tests/statemachine/test_execution.py and
tests/e2e/test_permissions.py.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from pedalboard.io import AudioFile

from surroundyou_local.stack import LocalStack, StackOptions
from surroundyou_local.template import load_template

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLE_RATE = 44100
JOB_TIMEOUT_S = 180.0


def variant_template(folder: Path, drop_task_role_statement: str) -> Path:
    """template.yaml without one statement of TaskRole's policy, beside the code it points to."""
    template = load_template(REPO / "template.yaml")
    (policy,) = template["Resources"]["TaskRole"]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    kept = [statement for statement in statements if statement.get("Sid") != drop_task_role_statement]
    assert len(kept) == len(statements) - 1, f"TaskRole has no statement {drop_task_role_statement}"
    policy["PolicyDocument"]["Statement"] = kept
    for code in ("functions", "statemachine"):  # CodeUri and DefinitionUri are relative to the template
        (folder / code).symlink_to(REPO / code)
    path = folder / "template.yaml"
    path.write_text(json.dumps(template, indent=1))  # JSON is YAML
    return path


def wav_song(seconds: float = 1.0) -> bytes:
    t_s = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t_s), 0.3 * np.sin(2 * np.pi * 550 * t_s)])
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", SAMPLE_RATE, 2, format="wav") as song:
        song.write(stereo.astype(np.float32))
    return buffer.getvalue()


def run_job(url: str, data: bytes) -> dict:
    """Create a job, upload ``data`` with the presigned POST, poll until the job ends."""
    created = requests.post(
        f"{url}api/jobs",
        json={"filename": "song.wav", "size": len(data), "contentType": "audio/wav", "options": {"preset": "fast"}},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    job = created.json()
    upload = job["upload"]
    uploaded = requests.post(upload["url"], data=upload["fields"], files={"file": ("song.wav", data)}, timeout=30)
    assert uploaded.status_code == 204, uploaded.text
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        view = requests.get(f"{url}api/jobs/{job['jobId']}", timeout=30).json()
        if view["status"] in ("READY", "FAILED"):
            return view
        time.sleep(0.25)
    raise AssertionError(f"job {job['jobId']} is stuck in {view['status']} after {JOB_TIMEOUT_S:.0f} s")


@pytest.fixture
def stack_without(tmp_path):
    """stack_without(sid) -> a running stack whose TaskRole lacks the statement ``sid``."""
    started: list[LocalStack] = []
    environ = dict(os.environ)  # the stack points this process's AWS SDK at its endpoint

    def start(sid: str) -> LocalStack:
        template = variant_template(tmp_path, sid)
        stack = LocalStack(
            StackOptions(port=0, workers=1, log_dir=tmp_path / "logs", template=template), console=io.StringIO()
        )
        started.append(stack)
        stack.start()
        return stack

    yield start
    for stack in started:
        stack.stop()
    os.environ.clear()
    os.environ.update(environ)


def refused(stack: LocalStack) -> list[tuple[str, str, str]]:
    return [
        (call.principal.rsplit("/", 1)[-1], call.action, call.resource)
        for call, allowed in stack.iam.decisions
        if not allowed
    ]


@pytest.mark.parametrize(
    ("sid", "action", "resource_part", "code"),
    [
        # the render cannot read the song: the task says it is a setup problem, not worth a retry
        ("ReadUploads", "s3:GetObject", "/uploads/", "NotPermitted"),
        # the render cannot even claim the job: the state machine's MarkFailed explains the stopped task
        ("UpdateJob", "dynamodb:UpdateItem", ":table/", "ConverterStopped"),
    ],
)
def test_a_task_role_without_a_grant_fails_the_job_with_a_readable_reason(
    stack_without, sid, action, resource_part, code
):
    stack = stack_without(sid)
    job = run_job(stack.url, wav_song())
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == code
    message = job["error"]["message"]
    assert message and not any(word in message for word in ("States.", "AccessDenied", "arn:", "Traceback")), message
    denials = refused(stack)
    assert denials and {role for role, _, _ in denials} == {"surroundyou-local-taskrole"}, denials
    assert any(a == action and resource_part in r for _, a, r in denials), denials
