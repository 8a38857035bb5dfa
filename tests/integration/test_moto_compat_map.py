"""surroundyou_local.moto_compat's Distributed Map gaps (10-12): each `test_moto_still_...` runs moto
5.2.5 as released and fails once moto behaves like AWS there (then delete the patch and its test);
the others run the patched interpreter (gap 13 with a recording stand-in for surroundyou_local.iam;
tests/e2e/test_permissions.py checks the template's grant through it).
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from moto.core.authorization import ActionAuthenticatorMixin
from test_moto_compat import aws, released_moto  # noqa: F401 - fixtures

from surroundyou_local import moto_compat
from surroundyou_local.moto_compat import DistributedItemProcessorWorker, ItemReaderS3

pytestmark = pytest.mark.slow
BUCKET = "library-bucket"
_machines = itertools.count()


def distributed_map(child_states: dict, start_at: str, **fields) -> dict:
    return {
        "StartAt": "Songs",
        "States": {
            "Songs": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.prefix"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": start_at,
                    "States": child_states,
                },
                "End": True,
                **fields,
            }
        },
    }


PASS = {"Item": {"Type": "Pass", "End": True}}
# a child that fails for keys under bad/
JUDGE = {
    "Judge": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.Key", "StringMatches": "songs/bad*", "Next": "Bad"}],
        "Default": "Good",
    },
    "Bad": {"Type": "Fail", "Error": "BadSong", "Cause": "not audio"},
    "Good": {"Type": "Pass", "End": True},
}


def finished_execution(clients, definition: dict, execution_input: dict) -> dict:
    """Run ``definition`` once (its own machine and role) and return the finished execution."""
    name = f"m{next(_machines)}"
    role = clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = clients.stepfunctions.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)
    arn = clients.stepfunctions.start_execution(
        stateMachineArn=machine["stateMachineArn"], name="run", input=json.dumps(execution_input)
    )["executionArn"]
    for _ in range(600):
        execution = clients.stepfunctions.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.1)
    raise AssertionError("the execution did not finish within 60 s")


def put_songs(clients, good: int, bad: int) -> None:
    clients.s3.create_bucket(Bucket=BUCKET)
    for n in range(good):
        clients.s3.put_object(Bucket=BUCKET, Key=f"songs/good-{n}.wav", Body=b"x")
    for n in range(bad):
        clients.s3.put_object(Bucket=BUCKET, Key=f"songs/bad-{n}.wav", Body=b"x")


@pytest.fixture
def patched(released_moto):  # noqa: F811 - the fixture imported above
    moto_compat.install()
    yield
    moto_compat.uninstall()


# ---------------------------------------------------------------- 10. the item reader
def test_moto_still_fails_a_listing_of_an_empty_prefix(aws):  # noqa: F811
    aws.s3.create_bucket(Bucket=BUCKET)
    execution = finished_execution(aws, distributed_map(PASS, "Item"), {"prefix": "nothing/"})
    assert execution["status"] == "FAILED"


def test_the_item_reader_hands_out_every_page_in_the_documented_shape(aws, patched):  # noqa: F811
    put_songs(aws, good=5, bad=0)
    definition = distributed_map(PASS, "Item")
    definition["States"]["Songs"]["ItemReader"]["Parameters"]["MaxKeys"] = 2  # three pages (AWS reads 1000 a page)
    execution = finished_execution(aws, definition, {"prefix": "songs/"})
    assert execution["status"] == "SUCCEEDED", execution
    items = json.loads(execution["output"])
    assert [item["Key"] for item in items] == [f"songs/good-{n}.wav" for n in range(5)]
    assert set(items[0]) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert isinstance(items[0]["LastModified"], int) and items[0]["Size"] == 1
    empty = finished_execution(aws, distributed_map(PASS, "Item"), {"prefix": "nothing/"})
    assert (empty["status"], json.loads(empty["output"])) == ("SUCCEEDED", [])


# ---------------------------------------------------------------- 11. the failure budget
# (moto's parser takes the budget from a path only: ToleratedFailurePercentagePath)
BUDGET = {"ToleratedFailurePercentagePath": "$.budget"}


def test_moto_still_succeeds_a_map_run_over_its_failure_budget(aws, monkeypatch):  # noqa: F811
    # only the item reader patched: moto's own items (a datetime) cannot even reach a child
    monkeypatch.setattr(ItemReaderS3, "_handle_list_objects_v2", staticmethod(moto_compat._item_reader_list_objects_v2))
    put_songs(aws, good=2, bad=2)
    execution = finished_execution(aws, distributed_map(JUDGE, "Judge", **BUDGET), {"prefix": "songs/", "budget": 25})
    assert execution["status"] == "SUCCEEDED"


def test_a_map_run_over_its_failure_budget_fails_and_one_within_succeeds(aws, patched):  # noqa: F811
    put_songs(aws, good=3, bad=1)  # 25 %: within
    within = finished_execution(aws, distributed_map(JUDGE, "Judge", **BUDGET), {"prefix": "songs/", "budget": 25})
    assert within["status"] == "SUCCEEDED", within
    aws.s3.put_object(Bucket=BUCKET, Key="songs/bad-extra.wav", Body=b"x")  # 2 of 5: over
    over = finished_execution(aws, distributed_map(JUDGE, "Judge", **BUDGET), {"prefix": "songs/", "budget": 25})
    assert (over["status"], over["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    no_budget = finished_execution(aws, distributed_map(JUDGE, "Judge"), {"prefix": "songs/"})
    assert no_budget["status"] == "FAILED"  # without a budget, one failure fails the map


# ---------------------------------------------------------------- 12. the result writer
WRITER = {
    "ResultWriter": {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.report"},
    },
    "ToleratedFailurePercentagePath": "$.budget",
}


def test_moto_still_reads_the_result_writers_paths_from_the_results(aws):  # noqa: F811
    put_songs(aws, good=1, bad=1)
    execution = finished_execution(
        aws, distributed_map(JUDGE, "Judge", **WRITER), {"prefix": "songs/", "report": "r/", "budget": 50}
    )
    assert execution["status"] == "FAILED"


def test_the_result_writer_writes_the_manifest_and_a_file_per_outcome(aws, patched):  # noqa: F811
    put_songs(aws, good=2, bad=1)
    execution = finished_execution(
        aws, distributed_map(JUDGE, "Judge", **WRITER), {"prefix": "songs/", "report": "r/", "budget": 50}
    )
    assert execution["status"] == "SUCCEEDED", execution
    details = json.loads(execution["output"])["ResultWriterDetails"]
    assert details["Bucket"] == BUCKET and details["Key"].startswith("r/") and details["Key"].endswith("/manifest.json")
    manifest = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=details["Key"])["Body"].read())

    def executions(outcome: str) -> list[dict]:
        (entry,) = manifest["ResultFiles"][outcome]
        return json.loads(aws.s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read())

    assert manifest["ResultFiles"]["PENDING"] == []
    assert sorted(json.loads(e["Input"])["Key"] for e in executions("SUCCEEDED")) == [
        "songs/good-0.wav",
        "songs/good-1.wav",
    ]
    (failed,) = executions("FAILED")
    assert (failed["Status"], failed["Error"], failed["Cause"]) == ("FAILED", "BadSong", "not audio")


# ---------------------------------------------------------------- 13. the children's StartExecution
class RecordingIam:
    """The part of surroundyou_local.iam.LocalIam the shims use: every key is the test's user, who
    may do anything; a role is refused the actions in ``refuse``. Records each authorization."""

    task_definition_roles: dict = {}

    def __init__(self, refuse: tuple[str, ...] = ()):
        self.refuse = refuse
        self.calls: list = []

    def principal_of(self, access_key_id: str) -> str | None:
        return "arn:aws:iam::123456789012:user/test"

    def credentials(self, role_arn: str) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}

    def authorize(self, principal: str, calls) -> None:
        from surroundyou_local.iam import AccessDenied, Call

        for call in calls:
            self.calls.append((principal, call.action, call.resource))
            if ":role/" in principal and call.action in self.refuse:
                raise AccessDenied(Call(principal, call.action, call.resource))


@pytest.fixture
def recording_iam(monkeypatch) -> RecordingIam:
    """A RecordingIam for the shims only: requests are authenticated as moto does in tests (not at all)."""
    iam = RecordingIam()
    monkeypatch.setitem(moto_compat._hooks, "iam", iam)
    monkeypatch.setattr(
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_action",
        moto_compat.ORIGINAL["authenticate_and_authorize"],
    )
    return iam


def start_executions(iam: RecordingIam) -> list:
    return [call for call in iam.calls if call[1] == "states:StartExecution"]


def test_moto_still_starts_child_workflows_without_asking(aws, patched, recording_iam, monkeypatch):  # noqa: F811
    iam = recording_iam
    iam.refuse = ("states:StartExecution",)
    monkeypatch.setattr(DistributedItemProcessorWorker, "_eval_job", moto_compat.ORIGINAL["distributed_eval_job"])
    put_songs(aws, good=2, bad=0)
    execution = finished_execution(aws, distributed_map(PASS, "Item"), {"prefix": "songs/"})
    assert execution["status"] == "SUCCEEDED" and start_executions(iam) == []


def test_each_child_workflow_is_started_as_the_execution_role_on_its_own_state_machine(
    aws,  # noqa: F811
    patched,
    recording_iam,
):
    iam = recording_iam
    put_songs(aws, good=2, bad=0)
    execution = finished_execution(aws, distributed_map(PASS, "Item"), {"prefix": "songs/"})
    assert execution["status"] == "SUCCEEDED", execution
    role = aws.iam.get_role(RoleName=f"m{next(_machines) - 1}")["Role"]["Arn"]
    assert start_executions(iam) == [(role, "states:StartExecution", execution["stateMachineArn"])] * 2
    iam.refuse = ("states:StartExecution",)  # a role without the grant: no child runs, the map fails
    refused = finished_execution(aws, distributed_map(PASS, "Item"), {"prefix": "songs/"})
    assert refused["status"] == "FAILED"
