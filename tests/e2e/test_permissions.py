"""What the components use equals what template.yaml grants them.

The session's stack (conftest.local_stack_process) records every authorization its local AWS
decides for a template role: (role, action, resource, condition keys), allowed or refused. After a
song goes through to READY and a file that is not audio is refused, no call was refused (no
missing permission), and every grant of every role was used by some call (no needless one),
except the grants listed in KEPT with the reason each stays. The owner's line the stack prints is
the account's administrator.
"""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

import boto3
import pytest
from browser_client import convert, create_job, download, pink_noise_song, poll_until_finished, upload

from surroundyou_local.iam import Call, read_calls, statement_applies, template_roles
from surroundyou_local.stack import local_parameters
from surroundyou_local.template import LocalTemplate

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
LOG_LINE = re.compile(r"^Logs: (\S+)")
EXPORT_LINE = re.compile(r"^export (AWS_ENDPOINT_URL=.*)$")

LAMBDA_LOGS = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
XRAY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
# (role, policy name or action, or Sid and action): why the grant stays though no local call uses it.
KEPT = {
    **{
        (role, LAMBDA_LOGS): "the Lambda service writes the function's logs (locally: function-*.log files)"
        for role in ("ApiFunctionRole", "ValidateFunctionRole", "NotifyFunctionRole", "BatchFunctionRole")
    },
    **{
        (role, XRAY): "Tracing: Active sends X-Ray segments (no X-Ray daemon locally)"
        for role in (
            "ApiFunctionRole",
            "ValidateFunctionRole",
            "NotifyFunctionRole",
            "ConvertStateMachineRole",
            "BatchFunctionRole",
            "BatchStateMachineRole",
        )
    },
    ("TaskExecutionRole", "PullImageWriteLogs"): "ECS pulls the image and ships the task's logs (locally: a process)",
    ("ConvertStateMachineRole", "events:PutTargets"): "runTask.sync's managed rule on AWS (moto polls DescribeTasks)",
    ("ConvertStateMachineRole", "events:PutRule"): "runTask.sync's managed rule on AWS (moto polls DescribeTasks)",
    ("ConvertStateMachineRole", "events:DescribeRule"): "runTask.sync's managed rule on AWS (moto polls DescribeTasks)",
    **{
        (machine, action): "Step Functions delivers execution logs to CloudWatch Logs (vended logs)"
        for machine in ("ConvertStateMachineRole", "BatchStateMachineRole")
        for action in (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        )
    },
    ("ConvertStateMachineRole", "ecs:StopTask"): "runTask.sync stops the task when the state times out or the "
    "execution is stopped",
    **{
        ("BatchStateMachineRole", action): "the Distributed Map watches its child executions and stops them when the "
        "map run fails (locally they run inside the interpreter)"
        for action in ("states:DescribeExecution", "states:StopExecution")
    },
    **{
        ("BatchStateMachineRole", action): "ResultWriter writes large result files in parts (locally: one PutObject)"
        for action in ("s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
    },
    ("TaskRole", "s3:AbortMultipartUpload"): "a multipart upload of a long result that fails cleans up its parts",
    ("BatchFunctionRole", "CreateSongJobs", "dynamodb:UpdateItem"): "a song the library refuses to copy fails its job",
    ("TaskRole", "dynamodb:GetItem"): "a task whose claim is refused (job not QUEUED) reads the job to say why",
}


def stack_line(stack, pattern: re.Pattern) -> re.Match:
    (match,) = [m for line in list(stack.lines) if (m := pattern.match(line))]
    return match


def grants() -> list[tuple[str, str, dict]]:
    """Every Allow of every role, one (action, resource) pair each: (role, policy name, statement)."""
    network = {"vpc": "vpc-1", "subnet": "subnet-1", "security_group": "sg-1"}
    template = LocalTemplate(REPO / "template.yaml", local_parameters(["http://127.0.0.1"], network, {}))
    found = []
    for role in template_roles(template).roles.values():
        for name, document in role.policies:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                actions, resources = statement["Action"], statement["Resource"]
                for action in actions if isinstance(actions, list) else [actions]:
                    for resource in resources if isinstance(resources, list) else [resources]:
                        single = {**statement, "Action": action, "Resource": resource}
                        found.append((role.logical_id, name, single))
    return found


def kept(role: str, name: str, statement: dict) -> bool:
    """Whether KEPT names the grant: by its policy, its action, or its statement's Sid and action."""
    return any(
        key in KEPT
        for key in ((role, name), (role, statement["Action"]), (role, statement.get("Sid"), statement["Action"]))
    )


@pytest.fixture(scope="module")
def decisions(local_stack, local_stack_process, tmp_path_factory) -> list[tuple[Call, bool]]:
    """The stack's record after a song became READY (and downloaded) and a non-audio file failed."""
    folder = tmp_path_factory.mktemp("permissions")
    song = pink_noise_song(folder / "Permissions.mp3", 3.0)
    _, views = convert(local_stack, song, options={"preset": "fast"})
    assert views[-1]["status"] == "READY", views[-1]  # the real template: READY under enforcement
    assert download(views[-1]["download"]["url"]).status_code == 200

    text = b"Not a song at all.\n" * 200
    created = create_job(local_stack, "notes.mp3", len(text))
    assert created.status_code == 201, created.text
    job = created.json()
    assert upload(job, text, "notes.mp3", "audio/mpeg").status_code == 204
    assert poll_until_finished(local_stack, job["jobId"])[-1]["status"] == "FAILED"

    run_a_small_batch(local_stack_process, folder)
    log_dir = Path(stack_line(local_stack_process, LOG_LINE)[1])
    return read_calls(log_dir / "iam-calls.jsonl")


def run_a_small_batch(stack, folder: Path) -> None:
    """Three songs and a cover image under the library: the batch SUCCEEDS (the cover is left alone);
    run again with skipExisting after a new song came, it SUCCEEDS converting only that one."""
    environment = dict(item.split("=", 1) for item in shlex.split(stack_line(stack, EXPORT_LINE)[1]))
    session = boto3.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=environment["AWS_DEFAULT_REGION"],
    )
    s3 = session.client("s3", endpoint_url=stack.aws_endpoint_url)
    sfn = session.client("stepfunctions", endpoint_url=stack.aws_endpoint_url)
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    song = pink_noise_song(folder / "Batch.mp3", 2.0).read_bytes()
    for n in range(3):
        s3.put_object(Bucket=bucket, Key=f"library/permissions/song {n}.mp3", Body=song)
    s3.put_object(Bucket=bucket, Key="library/permissions/cover.jpg", Body=b"\xff\xd8\xff\xe0" + bytes(100))
    (machine,) = [
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-batch")
    ]
    for name, request in (
        ("permissions", '{"prefix": "permissions/"}'),
        ("permissions-again", '{"prefix": "permissions/", "skipExisting": true}'),
    ):
        execution = sfn.start_execution(stateMachineArn=machine, name=name, input=request)
        for _ in range(600):
            status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
            if status != "RUNNING":
                break
            time.sleep(0.5)
        assert status == "SUCCEEDED"
        s3.put_object(Bucket=bucket, Key="library/permissions/song 3.mp3", Body=song)


def test_no_component_was_refused_a_call(decisions):
    refused = sorted(
        {(c.principal.rsplit("/", 1)[-1], c.action, c.resource) for c, allowed in decisions if not allowed}
    )
    assert refused == []


def test_every_grant_is_used_or_kept_for_a_reason(decisions):
    allowed = [call for call, ok in decisions if ok]
    roles = {role for role, _, _ in grants()}
    unused = []
    for role, name, statement in grants():
        role_calls = [
            c for c in allowed if c.principal.rsplit("/", 1)[-1].lower() == f"surroundyou-local-{role.lower()}"
        ]
        used = any(statement_applies(statement, call) for call in role_calls)
        if used and kept(role, name, statement):
            unused.append(("kept but used", role, statement["Action"], statement["Resource"]))
        elif not used and not kept(role, name, statement):
            unused.append(("unused", role, statement["Action"], statement["Resource"]))
    assert unused == [], f"roles: {sorted(roles)}"


def test_every_call_is_made_by_a_role_of_the_template(decisions):
    roles = {f"surroundyou-local-{role.lower()}" for role, _, _ in grants()}
    assert {call.principal.rsplit("/", 1)[-1] for call, _ in decisions} <= roles


def test_the_owners_line_is_the_accounts_administrator(local_stack_process, decisions):
    environment = dict(item.split("=", 1) for item in shlex.split(stack_line(local_stack_process, EXPORT_LINE)[1]))
    assert set(environment) == {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
    session = boto3.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=environment["AWS_DEFAULT_REGION"],
    )
    endpoint = environment["AWS_ENDPOINT_URL"]
    assert session.client("iam", endpoint_url=endpoint).get_user()["User"]["UserName"] == "surroundyou-local-admin"
    assert session.client("dynamodb", endpoint_url=endpoint).list_tables()["TableNames"]
    stranger = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with pytest.raises(stranger.exceptions.ClientError, match="UnrecognizedClientException"):
        stranger.list_tables()
