"""The local stack's own parts, without a running stack: the template read with local values, the
HTTP API's events and answers, the terminal's job lines, the task runner's queue, the in-process
Lambda runtime."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from surroundyou_local import task_runner
from surroundyou_local.api_gateway import Route, find_route, http_api_event, http_response, routes_of
from surroundyou_local.job_log import transition_line
from surroundyou_local.lambda_runtime import LocalLambdaRuntime
from surroundyou_local.stack import local_parameters
from surroundyou_local.task_runner import LocalTaskRunner
from surroundyou_local.template import LocalTemplate, TemplateError

REPO = Path(__file__).resolve().parents[2]
NETWORK = {"vpc": "vpc-1", "subnet": "subnet-1", "security_group": "sg-1"}
ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return LocalTemplate(REPO / "template.yaml", local_parameters(ORIGINS, NETWORK, {"MaxUploadMB": 5}))


# ---------------------------------------------------------------- template.yaml, locally
def test_functions_get_the_template_environment_with_local_values(template):
    (api_id,) = [
        i
        for i, r in template.resources_of_type("AWS::Serverless::Function").items()
        if "HttpApi" in json.dumps(r["Properties"].get("Events", {}))
    ]
    variables = template.properties(api_id)["Environment"]["Variables"]
    table_id = "JobsTable"
    bucket_id, _ = template.one_resource_of_type("AWS::S3::Bucket")
    assert variables["JOBS_TABLE"] == template.name(table_id)
    assert variables["BUCKET"] == template.name(bucket_id)
    assert variables["MAX_UPLOAD_BYTES"] == "5000000"
    assert variables["ALLOWED_ORIGINS"] == ",".join(ORIGINS)


def test_the_task_definition_names_the_local_bucket_and_table(template):
    # the state machine passes only JOB_ID: the task finds the rest from its definition and the job item
    definition_id, _ = template.one_resource_of_type("AWS::ECS::TaskDefinition")
    (container,) = template.properties(definition_id)["ContainerDefinitions"]
    variables = {e["Name"]: e["Value"] for e in container["Environment"]}
    table_id = "JobsTable"
    bucket_id, _ = template.one_resource_of_type("AWS::S3::Bucket")
    assert variables["JOBS_TABLE"] == template.name(table_id)
    assert variables["BUCKET"] == template.name(bucket_id)
    assert not {"JOB_ID", "INPUT_KEY", "OUTPUT_KEY", "OPTIONS"} & variables.keys()


def test_the_state_machine_substitutions_name_local_resources(template):
    substitutions = template.properties("ConvertStateMachine")["DefinitionSubstitutions"]
    definition_id, _ = template.one_resource_of_type("AWS::ECS::TaskDefinition")
    assert substitutions["TaskDefinitionArn"] == template.arn(definition_id)
    assert substitutions["TaskDefinitionArn"].endswith(":task-definition/surroundyou-local-render:1")
    assert substitutions["SubnetIds"] == "subnet-1" and substitutions["SecurityGroupIds"] == "sg-1"
    assert "${" not in json.dumps(substitutions)


def test_the_bucket_allows_the_local_origins(template):
    bucket_id, _ = template.one_resource_of_type("AWS::S3::Bucket")
    (rule,) = template.properties(bucket_id)["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == ORIGINS


def test_a_parameter_the_template_does_not_declare_is_refused():
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        LocalTemplate(REPO / "template.yaml", {"NoSuchParameter": "x"})


def test_intrinsic_functions_resolve_like_cloudformation(tmp_path):
    (tmp_path / "template.yaml").write_text("""
Parameters:
  Stage: {Type: String, Default: dev}
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Mappings:
  Sizes: {dev: {Mb: 128}}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Stage}"
  Thing:
    Type: Custom::Thing
    Properties:
      Arn: !GetAtt Queue.Arn
      Text: !Sub ["${Queue.QueueName} in ${Where} costs ${!Money}", {Where: !Select [1, !Ref Zones]}]
      Joined: !Join ["+", !Split [",", "x,y"]]
      Size: !FindInMap [Sizes, !Ref Stage, Mb]
      OnlyInProd: !If [IsProd, yes, !Ref AWS::NoValue]
      Kept: !If [IsProd, 1, 2]
""")
    props = LocalTemplate(tmp_path / "template.yaml").properties("Thing")
    assert props == {
        "Arn": "arn:aws:sqs:us-east-1:123456789012:surroundyou-local-dev",
        "Text": "surroundyou-local-dev in b costs ${Money}",
        "Joined": "x+y",
        "Size": 128,
        "Kept": 2,
    }


# ---------------------------------------------------------------- the HTTP API
API_FUNCTION = {
    "Events": {
        "Create": {"Type": "HttpApi", "Properties": {"Path": "/jobs", "Method": "POST"}},
        "Get": {"Type": "HttpApi", "Properties": {"Path": "/jobs/{jobId}", "Method": "get"}},
        "Files": {"Type": "HttpApi", "Properties": {"Path": "/files/{proxy+}", "Method": "ANY"}},
    }
}


def test_requests_find_their_route_and_path_parameters():
    routes = routes_of(API_FUNCTION)
    assert find_route(routes, "GET", "/jobs/abc") == (Route("GET", "/jobs/{jobId}"), {"jobId": "abc"})
    assert find_route(routes, "POST", "/jobs") == (Route("POST", "/jobs"), {})
    assert find_route(routes, "DELETE", "/files/a/b.mp3") == (Route("ANY", "/files/{proxy+}"), {"proxy": "a/b.mp3"})
    assert find_route(routes, "GET", "/jobs") is None and find_route(routes, "GET", "/jobs/a/b") is None


def test_a_request_becomes_a_payload_2_event():
    route, parameters = find_route(routes_of(API_FUNCTION), "GET", "/jobs/abc")
    event = http_api_event(
        route,
        parameters,
        method="GET",
        path="/jobs/abc",
        query_string="a=1&a=2&b=",
        headers={"user-agent": "test", "cookie": "x=1; y=2"},
        body=b"",
        source_ip="127.0.0.1",
        host="127.0.0.1:8000",
    )
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "GET /jobs/{jobId}", "/jobs/abc")
    assert event["pathParameters"] == {"jobId": "abc"} and event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["x=1", "y=2"] and "body" not in event
    assert event["requestContext"]["http"] == {
        "method": "GET",
        "path": "/jobs/abc",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "test",
    }


def test_json_bodies_arrive_as_text_and_others_base64_encoded():
    route = Route("POST", "/jobs")
    as_json = http_api_event(
        route,
        {},
        method="POST",
        path="/jobs",
        query_string="",
        body=b'{"a": 1}',
        headers={"content-type": "application/json"},
        source_ip="::1",
        host="h",
    )
    assert (as_json["body"], as_json["isBase64Encoded"]) == ('{"a": 1}', False)
    as_bytes = http_api_event(
        route,
        {},
        method="POST",
        path="/jobs",
        query_string="",
        body=b"\xff\x00",
        headers={"content-type": "audio/mpeg"},
        source_ip="::1",
        host="h",
    )
    assert (base64.b64decode(as_bytes["body"]), as_bytes["isBase64Encoded"]) == (b"\xff\x00", True)


def test_function_results_become_answers_as_api_gateway_makes_them():
    full = http_response({"statusCode": 201, "headers": {"X-A": "1"}, "body": '{"ok": true}', "cookies": ["s=1"]})
    assert (full.status, full.body) == (201, b'{"ok": true}')
    assert ("X-A", "1") in full.headers and ("Set-Cookie", "s=1") in full.headers
    assert ("Content-Type", "application/json") in full.headers
    bare = http_response({"jobs": []})  # no statusCode: 200 with the value as JSON
    assert (bare.status, json.loads(bare.body)) == (200, {"jobs": []})
    binary = http_response({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})
    assert binary.body == b"\x00\x01"


# ---------------------------------------------------------------- the terminal's job lines
NOW = datetime(2026, 1, 2, 12, 0, 1)
JOB = {"jobId": "3f2a1b9c" + "0" * 24, "filename": "song.mp3", "options": {"preset": "fast", "format": "mp3"}}


def test_each_status_change_makes_one_readable_line():
    assert (
        transition_line({}, {**JOB, "status": "AWAITING_UPLOAD"}, NOW)
        == "12:00:01  3f2a1b9c  AWAITING_UPLOAD  song.mp3  (preset fast, mp3)"
    )
    ready = {
        **JOB,
        "status": "READY",
        "result": {"outputKey": "processed/x/song.8d.mp3", "format": "mp3", "durationS": 6, "sizeBytes": 241500},
    }
    assert (
        transition_line({**JOB, "status": "PROCESSING"}, ready, NOW)
        == "12:00:01  3f2a1b9c  READY            song.mp3  -> song.8d.mp3, 6.0 s, 242 kB"
    )
    failed = {**JOB, "status": "FAILED", "error": {"code": "InvalidUpload", "message": "It looks like text."}}
    assert transition_line({**JOB, "status": "AWAITING_UPLOAD"}, failed, NOW).endswith(
        "FAILED           song.mp3  InvalidUpload: It looks like text."
    )


def test_progress_alone_prints_nothing():
    assert (
        transition_line(
            {**JOB, "status": "PROCESSING", "progress": 5}, {**JOB, "status": "PROCESSING", "progress": 50}, NOW
        )
        is None
    )


# ---------------------------------------------------------------- tasks: queue and workers
def test_tasks_beyond_the_workers_wait_and_all_run(tmp_path):
    script = "import os, time; time.sleep(0.3); raise SystemExit(int(os.environ['CODE']))"
    runner = LocalTaskRunner({}, workers=2, log_dir=tmp_path, command=(sys.executable, "-c", script))
    running, most_running, stopped = set(), 0, {}
    lock, all_stopped = threading.Lock(), threading.Event()

    def follow(task_id):
        def on_change(status, exit_code, reason):
            nonlocal most_running
            with lock:
                if status == "RUNNING":
                    running.add(task_id)
                    most_running = max(most_running, len(running))
                else:
                    running.discard(task_id)
                    stopped[task_id] = exit_code
                    if len(stopped) == 5:
                        all_stopped.set()

        return on_change

    try:
        for number in range(5):
            runner.submit(f"t{number}", {"CODE": str(number)}, follow(f"t{number}"))
        assert all_stopped.wait(60)
    finally:
        runner.stop()
    assert stopped == {f"t{n}": n for n in range(5)} and most_running == 2


def test_stopping_the_runner_stops_a_running_task_as_ecs_does(tmp_path):
    runner = LocalTaskRunner(
        {}, workers=1, log_dir=tmp_path, command=(sys.executable, "-c", "import time; time.sleep(60)")
    )
    changes, started = [], threading.Event()

    def on_change(status, exit_code, reason):
        changes.append((status, exit_code))
        if status == "RUNNING":
            started.set()

    runner.submit("long", {}, on_change)
    runner.submit("queued", {}, lambda *change: changes.append(("queued", *change)))
    assert started.wait(30)
    began_s = time.monotonic()
    runner.stop()
    assert time.monotonic() - began_s < 10
    assert ("STOPPED", 143) in changes  # 128 + SIGTERM, as a container reports it
    assert ("queued", "STOPPED", None, "the local stack is stopping") in changes


def test_a_task_that_ignores_a_spot_interruptions_sigterm_is_killed_after_the_stop_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(task_runner, "STOP_TIMEOUT_S", 0.5)
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    )
    runner = LocalTaskRunner({}, workers=1, log_dir=tmp_path, command=(sys.executable, "-u", "-c", script))
    changes, stopped = [], threading.Event()

    def on_change(status, exit_code, reason):
        changes.append((status, exit_code, reason))
        if status == "STOPPED":
            stopped.set()

    try:
        runner.submit("stubborn", {}, on_change)
        log = tmp_path / "task-stubborn.log"
        deadline_s = time.monotonic() + 30
        while not (log.exists() and "up" in log.read_text()) and time.monotonic() < deadline_s:
            time.sleep(0.05)  # its SIGTERM handler is set
        assert runner.interrupt() == 1
        assert stopped.wait(20)
    finally:
        runner.stop()
    assert changes[-1] == ("STOPPED", 137, task_runner.SPOT_INTERRUPTION)  # 128 + SIGKILL


# ---------------------------------------------------------------- the Lambda runtime
HANDLER = """\
import os, time
print("a handler's print goes to its log")
def lambda_handler(event, context):
    time.sleep(event.get("sleep_s", 0))
    return {"x": os.environ.get("SURROUNDYOU_TEST_X"), "function": context.function_name}
"""


@pytest.fixture
def runtime(tmp_path):
    runtime = LocalLambdaRuntime(log_dir=tmp_path)
    yield runtime
    runtime.stop()


def function_dir(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "app.py").write_text(HANDLER)
    return folder


def invoke(runtime: LocalLambdaRuntime, name: str, event: dict) -> tuple[dict, bool]:
    payload, failed = runtime.invoke(name, json.dumps(event).encode())
    return json.loads(payload), failed


def test_each_function_runs_in_its_own_environment(runtime, tmp_path):
    # one variable, two values: each execution environment has its own (its role's keys, too)
    runtime.register("a", function_dir(tmp_path, "a"), "app.lambda_handler", {"SURROUNDYOU_TEST_X": "1"})
    runtime.register("b", function_dir(tmp_path, "b"), "app.lambda_handler", {"SURROUNDYOU_TEST_X": "2"})
    assert invoke(runtime, "a", {}) == ({"x": "1", "function": "a"}, False)
    assert invoke(runtime, "b", {}) == ({"x": "2", "function": "b"}, False)
    assert "a handler's print goes to its log" in (tmp_path / "function-a.log").read_text()


def test_an_invocation_past_the_timeout_is_stopped_and_the_next_runs(runtime, tmp_path):
    runtime.register("slow", function_dir(tmp_path, "slow"), "app.lambda_handler", {}, timeout_s=0.5)
    error, failed = invoke(runtime, "slow", {"sleep_s": 30})
    assert failed and error["errorType"] == "Sandbox.Timedout" and "timed out" in error["errorMessage"]
    assert invoke(runtime, "slow", {}) == ({"x": None, "function": "slow"}, False)
