"""statemachine/batch.asl.json as graphs (the batch, and the child workflow each song runs in
the Distributed Map), and its substituted definition through cfn-lint, which does not look into a
DefinitionUri file by itself."""

from __future__ import annotations

import json
import re
from collections import deque
from pathlib import Path

from cfnlint.api import lint

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "batch.asl.json"
ACCOUNT = "arn:aws:{service}:us-east-1:123456789012:{resource}"
SUBSTITUTIONS = {  # values of the shape CloudFormation substitutes on deploy
    "BatchFunctionArn": ACCOUNT.format(service="lambda", resource="function:surroundyou-batch"),
    "LibraryBucketName": "surroundyou-media",
    "MediaBucketName": "surroundyou-media",
    "JobsTableName": "surroundyou-jobs",
    "BatchesTableName": "surroundyou-batches",
    "BatchMaxConcurrency": "100",
    "BatchToleratedFailurePercentage": "25",
    "BatchPollSeconds": "15",
}


def definition() -> dict:
    text = ASL_PATH.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(SUBSTITUTIONS)
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: SUBSTITUTIONS[m[1]], text))


DEFINITION = definition()
MAP = DEFINITION["States"]["ConvertLibrary"]
CHILD = MAP["ItemProcessor"]


def transitions(state: dict) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [rule["Next"] for rule in state.get("Choices", [])]
    targets += [state["Default"]] if "Default" in state else []
    return targets + [catcher["Next"] for catcher in state.get("Catch", [])]


def reachable(states: dict, start: str, skip: set[tuple[str, str]] = frozenset()) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        name = queue.popleft()
        for target in transitions(states[name]):
            if (name, target) not in skip and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def check_graph(machine: dict) -> None:
    states = machine["States"]
    for name, state in states.items():
        assert all(target in states for target in transitions(state)), name
        assert len(state.get("Comment", "")) > 10, name
        ends = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        assert ends or transitions(state), f"{name} is a dead end"
        assert any(states[n]["Type"] in ("Succeed", "Fail") or states[n].get("End") for n in reachable(states, name)), (
            f"{name} never finishes"
        )
    assert reachable(states, machine["StartAt"]) == set(states)


def test_both_graphs_are_whole():
    check_graph(DEFINITION)
    check_graph(CHILD)


def test_the_map_is_distributed_over_the_library_listing_with_a_budget_and_a_manifest():
    assert MAP["Type"] == "Map"
    assert CHILD["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert MAP["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "surroundyou-media", "Prefix.$": "$.listPrefix"},
    }
    assert MAP["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert MAP["ResultWriter"]["Parameters"] == {"Bucket": "surroundyou-media", "Prefix.$": "$.reportPrefix"}
    limits = DEFINITION["States"]["ReadLimits"]["Parameters"]
    assert MAP["MaxConcurrencyPath"] == "$.limits.maxConcurrency"
    assert limits["maxConcurrency.$"] == "States.StringToJson('100')"
    assert MAP["ToleratedFailurePercentagePath"] == "$.limits.toleratedFailurePercentage"
    assert limits["toleratedFailurePercentage.$"] == "States.StringToJson('25')"
    assert [c["Next"] for c in MAP["Catch"]] == ["FinishFailedBatch"]


def test_every_way_out_of_the_batch_records_its_outcome_first():
    states = DEFINITION["States"]
    finishers = {"FinishBatch", "FinishFailedBatch", "RecordRefusal"}
    for end in ("BatchSucceeded", "BatchFailed"):
        entering = {name for name, state in states.items() if end in transitions(state)}
        assert entering <= finishers, (end, entering)
    assert all(states[name]["Parameters"]["Payload"]["action"] == "finish" for name in finishers)
    assert [c["Next"] for c in states["StartBatch"]["Catch"]] == ["RecordRefusal"]


def test_the_childs_wait_loop_is_bounded_by_a_counter_set_before_it():
    states = CHILD["States"]
    (guard,) = [rule for rule in states["JobOutcome"]["Choices"] if "NumericLessThan" in rule]
    assert guard["Variable"] == "$.wait.polls" and guard["Next"] == "CountPoll" and guard["NumericLessThan"] > 0
    assert states["CountPoll"]["Parameters"] == {"polls.$": "States.MathAdd($.wait.polls, 1)"}
    assert states["StartPolling"]["Result"] == {"polls": 0} and states["StartPolling"]["ResultPath"] == "$.wait"
    # without the guarded edge, no cycle is left
    skip = {("JobOutcome", "CountPoll")}
    assert not [
        (a, b) for a in states for b in transitions(states[a]) if (a, b) not in skip and a in reachable(states, b, skip)
    ]


def test_each_song_ends_counted_and_a_failed_song_fails_its_child_with_the_jobs_reason():
    states = CHILD["States"]
    outcomes = {
        rule["StringEquals"]: rule["Next"] for rule in states["JobOutcome"]["Choices"] if "StringEquals" in rule
    }
    assert outcomes == {"READY": "Deliver", "FAILED": "CountFailed"}
    # a READY song's file goes to the library's output folder before it counts; if it cannot, it fails
    assert (
        states["Deliver"]["Next"] == "CountReady" and states["Deliver"]["Parameters"]["Payload"]["action"] == "deliver"
    )
    assert [c["Next"] for c in states["Deliver"]["Catch"]] == ["CountUndelivered"]
    assert states[states["CountUndelivered"]["Next"]]["Type"] == "Fail"
    counters = (
        ("CountReady", "ready"),
        ("CountFailed", "failed"),
        ("CountGaveUp", "failed"),
        ("CountUndelivered", "failed"),
    )
    for counter, field in counters:
        update = states[counter]["Parameters"]
        assert update["ExpressionAttributeNames"] == {"#outcome": field, "#running": "running"}
    assert states["SongFailed"]["Type"] == "Fail" and states["SongFailed"]["ErrorPath"] == "$.job.item.error.M.code.S"
    assert states[states["CountGaveUp"]["Next"]]["Type"] == "Fail"


def test_substituted_definition_passes_cfn_lint():
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "BatchStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "STANDARD",
                    "RoleArn": "arn:aws:iam::123456789012:role/surroundyou-batch",
                    "Definition": DEFINITION,
                },
            }
        },
    }
    assert [f"{m.rule.id} {m.message} ({m.path})" for m in lint(json.dumps(template))] == []
