"""statemachine/convert.asl.json as a graph, and its Choice/Pass logic run on sample task outcomes.

The graph checks: every transition target exists, every state is reachable from StartAt, every path
can end in Succeed/Fail, the only loop is bounded by a counter, every Task catches into MarkFailed.
The run checks use a small interpreter of the ASL subset the machine uses (Choice, Pass, Wait,
Succeed, Fail, Task Parameters/ResultSelector/ResultPath/Catch, dotted JSONPaths, and the
intrinsics States.StringToJson/JsonToString/StringSplit/MathAdd), with scripted task outcomes.
"""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from pathlib import Path

import pytest

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "convert.asl.json"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
LAMBDA_TRANSIENT_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
SUBSTITUTIONS = {"SubnetIds": "subnet-a,subnet-b", "SecurityGroupIds": "sg-1"}


def load_definition() -> dict:
    """The ASL with each ${Name} replaced (by SUBSTITUTIONS, else by 'sub:Name')."""
    text = PLACEHOLDER.sub(lambda m: SUBSTITUTIONS.get(m[1], f"sub:{m[1]}"), ASL_PATH.read_text())
    return json.loads(text)


DEFINITION = load_definition()
STATES: dict[str, dict] = DEFINITION["States"]


# ---------------------------------------------------------------- graph


def _choice_rule_targets(state: dict) -> list[str]:
    return [rule["Next"] for rule in state.get("Choices", [])]


def transitions(state: dict) -> list[str]:
    """Every state this one may go to: Next, Choice rules, Default, Catch."""
    targets = [state["Next"]] if "Next" in state else []
    targets += _choice_rule_targets(state)
    targets += [state["Default"]] if "Default" in state else []
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


def reachable(start: str, edges=None) -> set[str]:
    edges = edges or {name: transitions(state) for name, state in STATES.items()}
    seen, queue = {start}, deque([start])
    while queue:
        for target in edges[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def is_terminal(state: dict) -> bool:
    return state["Type"] in {"Succeed", "Fail"} or state.get("End") is True


def test_every_transition_target_exists():
    for name, state in STATES.items():
        for target in transitions(state):
            assert target in STATES, f"{name} -> {target}"
    assert DEFINITION["StartAt"] in STATES


def test_every_state_is_reachable_from_start():
    assert reachable(DEFINITION["StartAt"]) == set(STATES)


def test_every_state_can_finish_in_succeed_or_fail():
    terminals = {name for name, state in STATES.items() if is_terminal(state)}
    assert {STATES[t]["Type"] for t in terminals} <= {"Succeed", "Fail"}
    for name, state in STATES.items():
        assert is_terminal(state) or transitions(state), f"{name} is a dead end"
        assert reachable(name) & terminals, f"{name} never finishes"
    assert STATES["ConversionFailed"]["Type"] == "Fail"
    assert STATES["ConversionFailed"]["Error"] and STATES["ConversionFailed"]["Cause"]


def _counter_guards(state: dict) -> list[tuple[str, str, float]]:
    """(target, counter path, bound) of Choice rules that only pass while a counter is below a bound."""
    guards = []
    for rule in state.get("Choices", []):
        for condition in rule.get("And", [rule]):
            if "NumericLessThan" in condition:
                guards.append((rule["Next"], condition["Variable"], condition["NumericLessThan"]))
    return guards


def test_every_loop_is_bounded_by_a_counter():
    edges = {name: transitions(state) for name, state in STATES.items()}
    loops = [(a, b) for a, bs in edges.items() for b in bs if a in reachable(b, edges)]
    assert loops, "expected the bounded RenderAudio start-up retry loop"
    guarded = {(name, target): path for name, state in STATES.items() for target, path, _ in _counter_guards(state)}
    assert any(edge in guarded for edge in loops), "no loop edge is guarded by a counter"
    # Without the guarded edges the graph has no cycle left.
    unguarded = {a: [b for b in bs if (a, b) not in guarded] for a, bs in edges.items()}
    assert not [(a, b) for a, bs in unguarded.items() for b in bs if a in reachable(b, unguarded)]
    # Each guard's counter is incremented inside its loop and set before the loop is entered.
    for (choice, target), path in guarded.items():
        in_loop = reachable(target, edges) & {n for n in STATES if choice in reachable(n, edges)}
        field = path.rsplit(".", 1)[1]
        increments = [
            n
            for n in in_loop
            if STATES[n]["Type"] == "Pass"
            and STATES[n].get("Parameters", {}).get(f"{field}.$") == f"States.MathAdd({path}, 1)"
        ]
        assert increments, f"{path} is not incremented in the loop through {choice}"
        initialisers = [
            n
            for n in set(STATES) - in_loop
            if STATES[n]["Type"] == "Pass"
            and STATES[n].get("Result", {}).get(field) == 0
            and f"{STATES[n]['ResultPath']}.{field}" == path
        ]
        assert initialisers, f"{path} is not set to 0 before its loop"


def test_every_state_has_a_comment():
    assert DEFINITION["Comment"]
    for name, state in STATES.items():
        assert len(state.get("Comment", "")) > 10, name


SLOT_RELEASES = {"ReleaseRenderSlot", "ReleaseRenderSlotAfterFailure"}


def test_every_task_catches_everything_into_mark_failed():
    tasks = {name: state for name, state in STATES.items() if state["Type"] == "Task" and name not in SLOT_RELEASES}
    assert set(tasks) == {"ValidateUpload", "AcquireRenderSlot", "RenderAudio", "NotifyReady", "MarkFailed"}
    for name, task in tasks.items():
        last = task["Catch"][-1]
        assert last["ErrorEquals"] == ["States.ALL"], name
        expected = "ConversionFailed" if name == "MarkFailed" else "MarkFailed"
        # a render gives its slot back first, then its failure is examined
        assert last["Next"] == ("ReleaseRenderSlotAfterFailure" if name == "RenderAudio" else expected), name
        assert name == "MarkFailed" or last["ResultPath"] == "$.error"
        # Earlier catchers only route to an inspection that itself ends in MarkFailed.
        for catcher in task["Catch"]:
            assert expected in reachable(catcher["Next"]), (name, catcher)
    assert STATES["MarkFailed"]["Next"] == "ConversionFailed"


def test_giving_a_render_slot_back_never_fails_the_job():
    for name in SLOT_RELEASES:
        (catcher,) = STATES[name]["Catch"]
        assert catcher == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.releaseError", "Next": STATES[name]["Next"]}
        assert STATES[name]["ResultPath"] is None


def test_every_render_holds_a_slot_and_every_way_out_gives_it_back():
    """The render semaphore (MaxConcurrentRenders): AcquireRenderSlot is the only way into RenderAudio,
    and no path from RenderAudio reaches NotifyReady, MarkFailed or another acquire without a release."""
    into_render = [name for name, state in STATES.items() if "RenderAudio" in transitions(state)]
    assert into_render == ["AcquireRenderSlot"]
    edges = {name: transitions(state) for name, state in STATES.items()}
    edges.update({name: [] for name in SLOT_RELEASES})  # a path that released the slot ends here
    assert not {"NotifyReady", "MarkFailed", "AcquireRenderSlot"} & reachable("RenderAudio", edges)
    assert reachable("RenderAudio") >= SLOT_RELEASES | {"NotifyReady", "MarkFailed", "AcquireRenderSlot"}


def test_the_slot_is_held_in_the_limits_table_by_the_job_and_capped_by_the_parameter():
    acquire, release = STATES["AcquireRenderSlot"], STATES["ReleaseRenderSlot"]
    for task in (acquire, release, STATES["ReleaseRenderSlotAfterFailure"]):
        assert task["Resource"] == "arn:aws:states:::dynamodb:updateItem"
        parameters = task["Parameters"]
        assert (parameters["TableName"], parameters["Key"]) == ("sub:LimitsTableName", {"key": {"S": "renders"}})
        assert parameters["ExpressionAttributeNames"] == {"#running": "running", "#holder.$": "$.validation.jobId"}
    assert acquire["Parameters"]["ExpressionAttributeValues"][":max"] == {"N": "sub:MaxConcurrentRenders"}
    assert "#running < :max" in acquire["Parameters"]["ConditionExpression"]
    assert "attribute_not_exists(#holder)" in acquire["Parameters"]["ConditionExpression"]
    assert release["Parameters"]["ConditionExpression"] == "attribute_exists(#holder)"  # given back once
    (wait,) = [r for r in acquire["Retry"] if r["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]]
    # a full house waits (the job stays QUEUED) for about three hours before it gives up
    waited_s, delay_s = 0.0, float(wait["IntervalSeconds"])
    for _ in range(wait["MaxAttempts"]):
        waited_s += min(delay_s, wait["MaxDelaySeconds"])
        delay_s *= wait["BackoffRate"]
    assert 2 * 3600 <= waited_s <= 5 * 3600 and wait["JitterStrategy"] == "FULL"


def test_lambda_tasks_invoke_with_payload_and_retry_transient_errors_with_jitter():
    lambda_tasks = [s for s in STATES.values() if s.get("Resource") == "arn:aws:states:::lambda:invoke"]
    assert len(lambda_tasks) == 3
    for task in lambda_tasks:
        assert task["Parameters"]["FunctionName"].startswith("sub:")
        assert "Payload" in task["Parameters"] or "Payload.$" in task["Parameters"]
        (retry,) = [r for r in task["Retry"] if LAMBDA_TRANSIENT_ERRORS <= set(r["ErrorEquals"])]
        assert retry["IntervalSeconds"] >= 1 and retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 2
        assert retry["JitterStrategy"] == "FULL"
    validate = STATES["ValidateUpload"]
    # the upload event, and the execution that will own the job (a duplicate event starts another)
    assert validate["Parameters"]["Payload"] == {"upload.$": "$", "executionArn.$": "$$.Execution.Id"}
    # only the job's id and the duplicate flag travel on: everything else about the job is in its item
    assert validate["ResultSelector"] == {"jobId.$": "$.Payload.jobId", "duplicate.$": "$.Payload.duplicate"}
    assert validate["ResultPath"] == "$.validation"


def test_render_task_runs_fargate_sync_with_timeout_and_retries_ecs_errors():
    render = STATES["RenderAudio"]
    assert render["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert 600 <= render["TimeoutSeconds"] <= 4 * 3600
    (retry,) = render["Retry"]
    assert retry["ErrorEquals"] == ["ECS.AmazonECSException"]  # API errors, capacity unavailable included
    assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 3 and retry["JitterStrategy"] == "FULL"
    # every failure gives the slot back, then IsStoppedTaskReport tells a stopped task from the rest
    assert render["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ReleaseRenderSlotAfterFailure"}
    ]
    assert render["Parameters"]["CapacityProviderStrategy"] == [
        {"CapacityProvider": "sub:CapacityProvider", "Weight": 1}
    ]


# ---------------------------------------------------------------- a small interpreter


class StatesRuntime(Exception):
    """What Step Functions raises for a path that does not exist (uncatchable: the execution fails)."""


CONTEXT = {"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:convert:run-1"}}


def get_path(data, path: str):
    if path.startswith("$$."):
        data, path = CONTEXT, path[1:]
    if path == "$":
        return data
    assert path.startswith("$."), path
    for part in path[2:].split("."):
        if not isinstance(data, dict) or part not in data:
            raise StatesRuntime(f"{path} not found")
        data = data[part]
    return data


def set_path(data: dict, path: str | None, value) -> dict:
    if path is None:
        return data
    if path == "$":
        return value
    data = copy.deepcopy(data)
    node = data
    *parents, last = path[2:].split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return data


def _split_arguments(text: str) -> list[str]:
    arguments, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'" and not current.endswith("\\"):
            quoted = not quoted
        if not quoted and char in "(,)":
            depth += {"(": 1, ")": -1, ",": 0}[char]
            if char == "," and depth == 0:
                arguments.append(current.strip())
                current = ""
                continue
        current += char
    return arguments + [current.strip()]


INTRINSICS = {
    "States.StringToJson": json.loads,
    "States.JsonToString": lambda value: json.dumps(value, separators=(",", ":")),
    "States.StringSplit": lambda text, separator: [p for p in text.split(separator) if p],
    "States.MathAdd": lambda a, b: a + b,
}


def evaluate(expression: str, data):
    """A JSONPath ($...), a quoted string, a number, or an intrinsic call."""
    if expression.startswith("$"):
        return get_path(data, expression)
    if expression.startswith("'"):
        return expression[1:-1].replace("\\'", "'")
    call = re.fullmatch(r"(States\.\w+)\((.*)\)", expression, re.DOTALL)
    if call:
        return INTRINSICS[call[1]](*(evaluate(a, data) for a in _split_arguments(call[2])))
    return json.loads(expression)


def build(template, data):
    """Parameters/ResultSelector: keys ending in .$ are evaluated against data."""
    if isinstance(template, list):
        return [build(item, data) for item in template]
    if not isinstance(template, dict):
        return template
    return {
        (key[:-2] if key.endswith(".$") else key): (evaluate(value, data) if key.endswith(".$") else build(value, data))
        for key, value in template.items()
    }


def _string_matches(value: str, pattern: str) -> bool:
    regex = "".join(
        ".*" if part == "*" else re.escape(part.replace("\\*", "*")) for part in re.split(r"(?<!\\)(\*)", pattern)
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def rule_holds(rule: dict, data) -> bool:
    if "And" in rule:
        return all(rule_holds(r, data) for r in rule["And"])  # all() stops at the first false, as AWS does
    if "Or" in rule:
        return any(rule_holds(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not rule_holds(rule["Not"], data)
    if "IsPresent" in rule:
        try:
            get_path(data, rule["Variable"])
            return rule["IsPresent"]
        except StatesRuntime:
            return not rule["IsPresent"]
    value = get_path(data, rule["Variable"])
    comparisons = {
        "StringEquals": lambda expected: value == expected,
        "StringMatches": lambda pattern: isinstance(value, str) and _string_matches(value, pattern),
        "BooleanEquals": lambda expected: value is expected,
        "NumericLessThan": lambda bound: value < bound,
    }
    (operator,) = set(rule) & set(comparisons)  # an operator this interpreter lacks fails here, loudly
    return comparisons[operator](rule[operator])


def _catches(error: str, error_equals: list[str]) -> bool:
    if "States.ALL" in error_equals or error in error_equals:
        return True
    # In Retry and Catch, States.TaskFailed matches every error except States.Timeout.
    return "States.TaskFailed" in error_equals and error != "States.Timeout"


class TaskError(Exception):
    def __init__(self, error: str, cause: str):
        super().__init__(error)
        self.error, self.cause = error, cause


def run(data: dict, outcomes: dict, start: str = DEFINITION["StartAt"], max_steps: int = 100):
    """Runs from start; outcomes[task] is a list of results or TaskErrors, consumed one per call
    (a TaskError stands for the error left after the task's own Retry). Returns (final state,
    output, [(task, effective parameters)])."""
    outcomes = {task: deque(results) for task, results in outcomes.items()}
    calls, name = [], start
    for _ in range(max_steps):
        state = STATES[name]
        kind = state["Type"]
        if kind in {"Succeed", "Fail"}:
            return name, data, calls
        if kind == "Choice":
            name = next((r["Next"] for r in state["Choices"] if rule_holds(r, data)), state.get("Default"))
            continue
        if kind == "Pass":
            result = build(state["Parameters"], data) if "Parameters" in state else state.get("Result", data)
            data = set_path(data, state.get("ResultPath", "$"), result)
        elif kind == "Task":
            parameters = build(state["Parameters"], data)
            calls.append((name, parameters))
            # the render slot's updates succeed unless a test scripts them
            outcome = (
                outcomes[name].popleft() if name in outcomes else ({} if "dynamodb" in state["Resource"] else None)
            )
            if isinstance(outcome, TaskError):
                catcher = next(c for c in state["Catch"] if _catches(outcome.error, c["ErrorEquals"]))
                data = set_path(data, catcher.get("ResultPath", "$"), {"Error": outcome.error, "Cause": outcome.cause})
                name = catcher["Next"]
                continue
            result = build(state["ResultSelector"], outcome) if "ResultSelector" in state else outcome
            data = set_path(data, state.get("ResultPath", "$"), result)
        name = state["Next"]
    raise AssertionError(f"no end after {max_steps} steps (at {name})")


# ---------------------------------------------------------------- runs on sample outcomes

UPLOAD_KEY = "uploads/0123456789abcdef0123456789abcdef/source.mp3"
EVENT = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {"bucket": {"name": "media-bucket"}, "object": {"key": UPLOAD_KEY, "size": 1234, "etag": "e"}},
}
JOB_ID = "0123456789abcdef0123456789abcdef"
VALIDATED = {"ExecutedVersion": "$LATEST", "Payload": {"jobId": JOB_ID, "duplicate": False}, "StatusCode": 200}


def stopped_task(stop_code: str, reason: str, exit_code: int | None) -> TaskError:
    """runTask.sync's error for a task that stopped unsuccessfully: the ECS task as JSON in Cause."""
    container = {"Name": "render", "LastStatus": "STOPPED"}
    if exit_code is not None:
        container["ExitCode"] = exit_code
    task = {
        "TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/1",
        "LastStatus": "STOPPED",
        "StopCode": stop_code,
        "StoppedReason": reason,
        "Containers": [container],
    }
    return TaskError("States.TaskFailed", json.dumps(task, separators=(",", ":")))


START_FAILURE = stopped_task(
    "TaskFailedToStart",
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed",
    None,
)
EXIT_1 = stopped_task("EssentialContainerExited", "Essential container in task exited", 1)
SPOT_INTERRUPTION = stopped_task("SpotInterruption", "Your Spot Task was interrupted.", 143)


def test_happy_path_renders_with_the_job_id_and_notifies_ready():
    final, output, calls = run(EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": [{}], "NotifyReady": [{}]})
    assert final == "Done"
    assert [task for task, _ in calls] == [
        "ValidateUpload",
        "AcquireRenderSlot",
        "RenderAudio",
        "ReleaseRenderSlot",
        "NotifyReady",
    ]
    assert calls[0][1]["Payload"] == {"upload": EVENT, "executionArn": CONTEXT["Execution"]["Id"]}
    assert output["validation"] == {"jobId": JOB_ID, "duplicate": False}
    assert calls[1][1]["ExpressionAttributeNames"]["#holder"] == JOB_ID
    assert calls[1][1]["ExpressionAttributeValues"][":execution"] == {"S": CONTEXT["Execution"]["Id"]}
    render = calls[2][1]
    (override,) = render["Overrides"]["ContainerOverrides"]
    assert override["Name"] == "sub:ContainerName"
    # the task reads everything else from the job item, BUCKET and JOBS_TABLE from its definition
    assert override["Environment"] == [{"Name": "JOB_ID", "Value": JOB_ID}]
    network = render["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert (network["Subnets"], network["SecurityGroups"]) == (["subnet-a", "subnet-b"], ["sg-1"])
    assert calls[4][1]["Payload"] == {"action": "ready", "jobId": JOB_ID}


def test_whatever_else_validate_returns_stays_out_of_the_execution():
    chatty = {
        **VALIDATED,
        "Payload": {"jobId": JOB_ID, "duplicate": False, "inputKey": UPLOAD_KEY, "options": {"preset": "classic"}},
    }
    final, output, calls = run(EVENT, {"ValidateUpload": [chatty], "RenderAudio": [{}], "NotifyReady": [{}]})
    assert final == "Done"
    assert output["validation"] == {"jobId": JOB_ID, "duplicate": False}
    assert UPLOAD_KEY not in json.dumps([parameters for task, parameters in calls if task != "ValidateUpload"])


def test_duplicate_event_ends_early_without_touching_the_job():
    duplicate = {"Payload": {"jobId": JOB_ID, "duplicate": True}}
    final, _, calls = run(EVENT, {"ValidateUpload": [duplicate]})
    assert (final, [task for task, _ in calls]) == ("AlreadyHandled", ["ValidateUpload"])


def test_invalid_upload_marks_the_job_failed_with_the_error():
    invalid = TaskError("InvalidUpload", json.dumps({"errorMessage": "source.mp3: not an audio file"}))
    final, output, calls = run(EVENT, {"ValidateUpload": [invalid], "MarkFailed": [{}]})
    assert final == "ConversionFailed"
    assert calls[-1] == (
        "MarkFailed",
        {
            "FunctionName": "sub:NotifyFunctionArn",
            "Payload": {
                "action": "failed",
                "key": UPLOAD_KEY,
                "executionArn": CONTEXT["Execution"]["Id"],  # a job another execution queued is kept
                "error": {"Error": "InvalidUpload", "Cause": invalid.cause},
            },
        },
    )


def test_task_exit_code_1_goes_straight_to_mark_failed():
    final, output, calls = run(EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": [EXIT_1], "MarkFailed": [{}]})
    assert final == "ConversionFailed"
    assert [task for task, _ in calls] == [
        "ValidateUpload",
        "AcquireRenderSlot",
        "RenderAudio",
        "ReleaseRenderSlotAfterFailure",
        "MarkFailed",
    ]
    assert calls[-1][1]["Payload"]["error"] == {"Error": "States.TaskFailed", "Cause": EXIT_1.cause}
    assert output["renderFailure"]["task"]["StopCode"] == "EssentialContainerExited"


@pytest.mark.parametrize(
    ("failure", "counted"),
    [
        (START_FAILURE, {"startRetries": 1, "interruptions": 0}),
        (SPOT_INTERRUPTION, {"startRetries": 0, "interruptions": 1}),
    ],
    ids=["a task that failed to start", "a render Spot took back"],
)
def test_a_retryable_render_failure_is_rendered_again_then_succeeds(failure, counted):
    final, output, calls = run(
        EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": [failure, {}], "NotifyReady": [{}]}
    )
    assert final == "Done"
    assert [task for task, _ in calls] == [
        "ValidateUpload",
        "AcquireRenderSlot",
        "RenderAudio",
        "ReleaseRenderSlotAfterFailure",
        "AcquireRenderSlot",  # the retry waits for a slot like any render
        "RenderAudio",
        "ReleaseRenderSlot",
        "NotifyReady",
    ]
    assert output["render"] == counted


def test_resource_initialization_error_is_retried_at_most_twice():
    final, output, calls = run(
        EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": [START_FAILURE] * 3, "MarkFailed": [{}]}
    )
    assert final == "ConversionFailed"
    assert [task for task, _ in calls].count("RenderAudio") == 3
    assert output["render"] == {"startRetries": 2, "interruptions": 0}
    assert calls[-1][1]["Payload"]["error"]["Cause"] == START_FAILURE.cause


def test_interruptions_and_start_failures_are_counted_apart_and_each_retried_at_most_twice():
    renders = [SPOT_INTERRUPTION, START_FAILURE, SPOT_INTERRUPTION, START_FAILURE, SPOT_INTERRUPTION]
    final, output, calls = run(EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": renders, "MarkFailed": [{}]})
    assert final == "ConversionFailed"
    assert [task for task, _ in calls].count("RenderAudio") == 5
    assert output["render"] == {"startRetries": 2, "interruptions": 2}
    assert calls[-1][1]["Payload"]["error"]["Cause"] == SPOT_INTERRUPTION.cause


@pytest.mark.parametrize(
    "error",
    [
        TaskError("ECS.AmazonECSException", "Capacity is unavailable at this time. Please try again later."),
        TaskError("States.Timeout", ""),
        TaskError("States.TaskFailed", "not a task report"),
        stopped_task("TaskFailedToStart", "CannotPullContainerError: pull image manifest has been retried", None),
    ],
)
def test_other_render_errors_go_to_mark_failed_without_retry(error):
    final, _, calls = run(EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": [error], "MarkFailed": [{}]})
    assert final == "ConversionFailed"
    assert [task for task, _ in calls] == [
        "ValidateUpload",
        "AcquireRenderSlot",
        "RenderAudio",
        "ReleaseRenderSlotAfterFailure",
        "MarkFailed",
    ]
    assert calls[-1][1]["Payload"]["error"] == {"Error": error.error, "Cause": error.cause}


def test_a_task_report_without_stop_code_is_not_a_runtime_error():
    # The IsPresent guards come first in the And, so a missing field fails the rule, not the execution.
    odd = TaskError("States.TaskFailed", json.dumps({"LastStatus": "STOPPED"}))
    final, _, _ = run(EVENT, {"ValidateUpload": [VALIDATED], "RenderAudio": [odd], "MarkFailed": [{}]})
    assert final == "ConversionFailed"


def test_notify_failure_and_mark_failed_failure_still_end_in_fail():
    lambda_error = TaskError("Lambda.ServiceException", "service unavailable")
    final, _, calls = run(
        EVENT,
        {
            "ValidateUpload": [VALIDATED],
            "RenderAudio": [{}],
            "NotifyReady": [lambda_error],
            "MarkFailed": [lambda_error],
        },
    )
    assert final == "ConversionFailed"
    assert [task for task, _ in calls][-2:] == ["NotifyReady", "MarkFailed"]


def test_a_job_that_never_gets_a_render_slot_is_marked_failed_and_never_rendered():
    full = TaskError("DynamoDB.ConditionalCheckFailedException", "The conditional request failed")
    final, _, calls = run(EVENT, {"ValidateUpload": [VALIDATED], "AcquireRenderSlot": [full], "MarkFailed": [{}]})
    assert final == "ConversionFailed"
    assert [task for task, _ in calls] == ["ValidateUpload", "AcquireRenderSlot", "MarkFailed"]
    assert calls[-1][1]["Payload"]["error"]["Error"] == "DynamoDB.ConditionalCheckFailedException"


def test_a_slot_that_cannot_be_given_back_does_not_fail_the_job():
    lost = TaskError("DynamoDB.AmazonDynamoDBException", "service unavailable")
    final, output, calls = run(
        EVENT,
        {"ValidateUpload": [VALIDATED], "RenderAudio": [{}], "ReleaseRenderSlot": [lost], "NotifyReady": [{}]},
    )
    assert final == "Done"
    assert output["releaseError"]["Error"] == "DynamoDB.AmazonDynamoDBException"
