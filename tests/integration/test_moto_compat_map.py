"""surroundyou_local.moto_compat's Distributed Map gaps (10-12): each `test_moto_still_...` runs moto
5.2.5 as released and fails once moto behaves like AWS there (then delete the patch and its test);
the others run the patched interpreter. Gap 13 (the map asks for states:StartExecution on its own
state machine) is checked by the permissions record (tests/e2e/test_permissions.py).
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from test_moto_compat import aws, released_moto  # noqa: F401 - fixtures

from surroundyou_local import moto_compat
from surroundyou_local.moto_compat import ItemReaderS3

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
