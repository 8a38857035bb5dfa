"""surroundyou_local.moto_compat: each patch fixes a real gap of moto 5.2.5, and each hook works.

Every `test_moto_still_...` runs moto's own behaviour. When one of them fails, moto behaves like
AWS there now: delete that patch from moto_compat.py (and its test), and move MOTO_VERSION on.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import boto3
import moto
import pytest
import requests
from moto import mock_aws
from moto.events.models import events_backends
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_ecs
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

from surroundyou_local import moto_compat
from surroundyou_local.lambda_runtime import LocalLambdaRuntime
from surroundyou_local.local_aws import MOTO_CONFIG
from surroundyou_local.task_runner import LocalTaskRunner

REGION = "us-east-1"
PASCAL_RUN_TASK = {
    "Cluster": "render-cluster",
    "LaunchType": "FARGATE",
    "Overrides": {"ContainerOverrides": [{"Name": "render", "Environment": [{"Name": "JOB_ID", "Value": "1"}]}]},
}


@pytest.fixture
def released_moto():
    """moto exactly as released (no patch, no hook), before and after the test."""
    moto_compat.uninstall()
    yield
    moto_compat.uninstall()


@pytest.fixture
def aws(released_moto, monkeypatch):
    """An in-process moto that executes state machines; clients() -> SimpleNamespace of clients."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(config=MOTO_CONFIG):
        session = boto3.Session(region_name=REGION)
        yield SimpleNamespace(
            **{
                ("lambda_" if name == "lambda" else name): session.client(name)
                for name in ("ec2", "ecs", "s3", "sqs", "events", "stepfunctions", "lambda", "iam", "dynamodb")
            }
        )


def ecs_service() -> StateTaskServiceEcs:
    service = StateTaskServiceEcs()
    service.resource = SimpleNamespace(api_name="ecs", api_action="runTask")
    return service


def register_render_task(aws, *, memory: bool = True, dns_hostnames: bool = True) -> dict[str, str]:
    """A Fargate cluster and task definition; returns the network to run it in."""
    if dns_hostnames:
        network = moto_compat.create_task_network(aws.ec2)
    else:
        vpc_id = aws.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        network = {
            "subnet": aws.ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"],
            "security_group": aws.ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc_id)["GroupId"],
        }
    aws.ecs.create_cluster(clusterName="render-cluster", capacityProviders=["FARGATE"])
    container = {
        "name": "render",
        "image": "render:latest",
        "essential": True,
        "environment": [{"name": "JOBS_TABLE", "value": "jobs"}, {"name": "BUCKET", "value": "media"}],
    }
    if memory:
        container = moto_compat.complete_container_definitions([container], 512)[0]
    aws.ecs.register_task_definition(
        family="render",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )
    return network


def run_render(aws, network: dict[str, str]) -> list[dict]:
    return aws.ecs.run_task(
        cluster="render-cluster",
        taskDefinition="render",
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [network["subnet"]], "securityGroups": [network["security_group"]]}
        },
    )["tasks"]


def finished_execution(aws, definition: dict, execution_input: dict) -> dict:
    role = aws.iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = aws.stepfunctions.create_state_machine(name="m", definition=json.dumps(definition), roleArn=role)[
        "stateMachineArn"
    ]
    arn = aws.stepfunctions.start_execution(stateMachineArn=machine, name="run-1", input=json.dumps(execution_input))[
        "executionArn"
    ]
    for _ in range(600):
        execution = aws.stepfunctions.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.1)
    raise AssertionError("the execution did not finish within 60 s")


def run_task_sync_machine(network: dict[str, str]) -> dict:
    return {
        "StartAt": "Render",
        "States": {
            "Render": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.sync",
                "End": True,
                # (moto cannot serialise the described task's datetimes as an execution's output)
                "ResultSelector": {"StopCode.$": "$.StopCode", "Containers.$": "$.Containers"},
                "Parameters": {
                    "Cluster": "render-cluster",
                    "TaskDefinition": "render",
                    "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}],
                    "NetworkConfiguration": {
                        "AwsvpcConfiguration": {
                            "Subnets": [network["subnet"]],
                            "SecurityGroups": [network["security_group"]],
                        }
                    },
                    "Overrides": {
                        "ContainerOverrides": [
                            {"Name": "render", "Environment": [{"Name": "JOB_ID", "Value.$": "$.jobId"}]}
                        ]
                    },
                },
            }
        },
    }


@pytest.fixture
def exiting_task(tmp_path):
    """exiting_task(code) -> a task runner whose 'container' saves its environment to
    tmp_path/environ.json and exits with ``code``."""
    script = tmp_path / "task.py"
    script.write_text(
        "import json, os, sys\n"
        f"open({str(tmp_path / 'environ.json')!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "sys.exit(int(os.environ['EXIT_CODE']))\n"
    )
    runners: list[LocalTaskRunner] = []

    def runner(exit_code: int) -> LocalTaskRunner:
        runners.append(
            LocalTaskRunner(
                {"EXIT_CODE": str(exit_code)}, workers=1, log_dir=tmp_path, command=(sys.executable, str(script))
            )
        )
        return runners[-1]

    yield runner
    for started in runners:
        started.stop()


def test_patches_are_written_for_the_installed_moto():
    assert moto.__version__ == moto_compat.MOTO_VERSION, (
        "moto changed: run tests/integration/test_moto_compat.py, drop the patches it no longer needs, "
        "then set MOTO_VERSION"
    )


# ---------------------------------------------------------------- 1. runTask parameter casing
def test_moto_still_passes_pascal_case_run_task_parameters_to_ecs(released_moto):
    parameters = json.loads(json.dumps(PASCAL_RUN_TASK))
    moto_compat.ORIGINAL["ecs_normalise_parameters"](ecs_service(), parameters)
    assert parameters == PASCAL_RUN_TASK  # ECS's API wants cluster, overrides.containerOverrides, ...


def test_run_task_parameters_reach_ecs_in_its_own_casing():
    parameters = json.loads(json.dumps(PASCAL_RUN_TASK))
    moto_compat._ecs_normalise_parameters(ecs_service(), parameters)
    assert parameters == {
        "cluster": "render-cluster",
        "launchType": "FARGATE",
        "overrides": {"containerOverrides": [{"name": "render", "environment": [{"name": "JOB_ID", "value": "1"}]}]},
    }


# ---------------------------------------------------------------- 7. CapacityProviderStrategy
def test_moto_still_drops_the_capacity_provider_strategy(released_moto):
    assert "CapacityProviderStrategy" not in state_task_service_ecs._SUPPORTED_API_PARAM_BINDINGS["runtask"]


# ---------------------------------------------------------------- 5. container memory
def test_moto_still_fails_a_fargate_task_whose_container_has_no_memory(aws):
    network = register_render_task(aws, memory=False)
    with pytest.raises(TypeError):
        run_render(aws, network)


def test_containers_get_the_task_memory_when_they_have_none():
    completed = moto_compat.complete_container_definitions(
        [{"name": "a"}, {"name": "b", "memory": 256}, {"name": "c", "memoryReservation": 128}], "2048"
    )
    assert [c.get("memory") for c in completed] == [2048, 256, None]


# ---------------------------------------------------------------- 6. task network
def test_moto_still_needs_dns_hostnames_for_awsvpc_tasks(aws):
    network = register_render_task(aws, dns_hostnames=False)
    with pytest.raises(AttributeError, match="private_dns_name"):
        run_render(aws, network)


# ---------------------------------------------------------------- 2. runTask.sync exit codes (+ 1, 7, ECS hook)
def test_moto_still_succeeds_a_run_task_sync_whose_container_exited_non_zero(aws, exiting_task, monkeypatch):
    moto_compat.install(task_runner=exiting_task(1))
    monkeypatch.setattr(StateTaskServiceEcs, "_build_sync_resolver", moto_compat.ORIGINAL["ecs_build_sync_resolver"])
    network = register_render_task(aws)
    assert finished_execution(aws, run_task_sync_machine(network), {"jobId": "j1"})["status"] == "SUCCEEDED"


def test_a_container_exiting_non_zero_fails_the_state_with_the_task_as_cause(aws, exiting_task):
    moto_compat.install(task_runner=exiting_task(1))
    network = register_render_task(aws)
    execution = finished_execution(aws, run_task_sync_machine(network), {"jobId": "j1"})
    assert (execution["status"], execution["error"]) == ("FAILED", "States.TaskFailed")
    task = json.loads(execution["cause"])
    assert (task["LastStatus"], task["StopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert task["Containers"][0]["ExitCode"] == 1


def test_run_task_sync_runs_the_container_with_its_environment_and_waits_for_it(aws, exiting_task, tmp_path):
    runner = exiting_task(0)
    moto_compat.install(task_runner=runner)
    network = register_render_task(aws)
    execution = finished_execution(aws, run_task_sync_machine(network), {"jobId": "j1"})
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert (output["StopCode"], output["Containers"][0]["ExitCode"]) == ("EssentialContainerExited", 0)
    environ = json.loads((tmp_path / "environ.json").read_text())
    # the task definition's variables (as template.yaml's: table and bucket), then the state's override (JOB_ID)
    assert (environ["JOBS_TABLE"], environ["BUCKET"], environ["JOB_ID"], environ["EXIT_CODE"]) == (
        "jobs",
        "media",
        "j1",
        "0",
    )


def test_moto_still_runs_nothing_for_an_ecs_task(aws):
    network = register_render_task(aws)
    task_arn = run_render(aws, network)[0]["taskArn"]
    described = [aws.ecs.describe_tasks(cluster="render-cluster", tasks=[task_arn])["tasks"][0] for _ in range(5)]
    # moto walks the task to STOPPED as it is described, "exit code 0", with no process behind it
    assert described[-1]["lastStatus"] == "STOPPED"
    assert described[-1]["containers"][0]["exitCode"] == 0


# ---------------------------------------------------------------- 3. + 4. S3 -> EventBridge -> Step Functions
def s3_events_to_queue(aws) -> str:
    aws.s3.create_bucket(Bucket="media")
    aws.s3.put_bucket_notification_configuration(
        Bucket="media", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    queue_url = aws.sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.events.put_rule(
        Name="uploads", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]})
    )
    aws.events.put_targets(Rule="uploads", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def delivered_event(aws, queue_url: str) -> dict:
    messages = aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
    return json.loads(messages[0]["Body"])


def test_moto_still_sends_s3_events_in_its_own_shape(aws):
    queue_url = s3_events_to_queue(aws)
    aws.s3.put_object(Bucket="media", Key="uploads/a/source.mp3", Body=b"song")
    detail = delivered_event(aws, queue_url)["detail"]
    assert "eTag" in detail["object"] and detail["reason"] == "ObjectCreated"


def test_s3_events_have_the_shape_aws_sends(aws):
    moto_compat.install()
    queue_url = s3_events_to_queue(aws)
    aws.s3.put_object(Bucket="media", Key="uploads/a/source.mp3", Body=b"song")
    event = delivered_event(aws, queue_url)
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.s3",
        "Object Created",
        ["arn:aws:s3:::media"],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    detail = event["detail"]
    assert detail["bucket"] == {"name": "media"}
    assert {k: detail["object"][k] for k in ("key", "size", "etag")} == {
        "key": "uploads/a/source.mp3",
        "size": 4,
        "etag": hashlib.md5(b"song").hexdigest(),
    }
    assert detail["reason"] == "PutObject"


def state_machine_target(aws) -> str:
    role = aws.iam.create_role(RoleName="events", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = aws.stepfunctions.create_state_machine(
        name="uploads",
        roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    aws.s3.create_bucket(Bucket="media")
    aws.s3.put_bucket_notification_configuration(
        Bucket="media", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    aws.events.put_rule(
        Name="uploads",
        EventPattern=json.dumps(
            {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"object": {"key": [{"prefix": "uploads/"}]}},
            }
        ),
    )
    aws.events.put_targets(Rule="uploads", Targets=[{"Id": "machine", "Arn": machine, "RoleArn": role}])
    return machine


def test_moto_still_cannot_deliver_to_a_state_machine(aws):
    state_machine_target(aws)
    rule = next(iter(events_backends["123456789012"][REGION].event_buses["default"].rules.values()))
    with pytest.raises(NotImplementedError):
        moto_compat.ORIGINAL["rule_send_to_targets"](
            rule,
            {"source": "aws.s3", "detail-type": "Object Created", "detail": {"object": {"key": "uploads/x"}}},
            transform_input=False,
        )


def test_each_matching_upload_starts_one_execution_with_the_event(aws):
    moto_compat.install()
    machine = state_machine_target(aws)
    aws.s3.put_object(Bucket="media", Key="uploads/a/source.mp3", Body=b"song")
    aws.s3.put_object(Bucket="media", Key="uploads/b/source.mp3", Body=b"song")
    aws.s3.put_object(Bucket="media", Key="processed/a/song.8d.mp3", Body=b"song")  # not matched
    executions = aws.stepfunctions.list_executions(stateMachineArn=machine)["executions"]
    keys = sorted(
        json.loads(aws.stepfunctions.describe_execution(executionArn=e["executionArn"])["input"])["detail"]["object"][
            "key"
        ]
        for e in executions
    )
    assert keys == ["uploads/a/source.mp3", "uploads/b/source.mp3"]


# ---------------------------------------------------------------- hook: Lambda runs the real handler
@pytest.fixture
def local_function(tmp_path) -> Iterator[LocalLambdaRuntime]:
    code = tmp_path / "function"
    code.mkdir()
    (code / "app.py").write_text(
        "class InvalidUpload(ValueError):\n    pass\n\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('bad'):\n        raise InvalidUpload('That file is not a song.')\n"
        "    return {'echo': event, 'function': context.function_name}\n"
    )
    runtime = LocalLambdaRuntime()
    runtime.register("checker", code, "app.lambda_handler", {})
    yield runtime
    runtime.stop()


def create_function(aws) -> None:
    role = aws.iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.lambda_.create_function(
        FunctionName="checker",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )


def test_moto_still_echoes_instead_of_running_a_function(aws):
    create_function(aws)
    answer = aws.lambda_.invoke(FunctionName="checker", Payload=json.dumps({"bad": True}))
    assert "FunctionError" not in answer and json.loads(answer["Payload"].read()) == {"bad": True}


def test_invoke_runs_the_handler_and_reports_its_exception_as_aws_does(aws, local_function):
    moto_compat.install(lambda_runtime=local_function)
    create_function(aws)
    answer = aws.lambda_.invoke(FunctionName="checker", Payload=json.dumps({"song": 1}))
    assert json.loads(answer["Payload"].read()) == {"echo": {"song": 1}, "function": "checker"}
    failed = aws.lambda_.invoke(FunctionName="checker", Payload=json.dumps({"bad": True}))
    error = json.loads(failed["Payload"].read())
    assert failed["FunctionError"] == "Unhandled"
    assert (error["errorType"], error["errorMessage"]) == ("InvalidUpload", "That file is not a song.")


# ---------------------------------------------------------------- 15. an ended execution's event, Lambda targets
ENDED = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
FAILING_MACHINE = {
    "StartAt": "Broken",
    "States": {"Broken": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}},
}


def ended_executions_to_queue(aws) -> str:
    queue_url = aws.sqs.create_queue(QueueName="ended")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.events.put_rule(Name="ended", EventPattern=json.dumps(ENDED))
    aws.events.put_targets(Rule="ended", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def test_moto_still_sends_no_event_when_an_execution_ends(aws):
    queue_url = ended_executions_to_queue(aws)
    assert finished_execution(aws, FAILING_MACHINE, {"song": 1})["status"] == "FAILED"
    assert "Messages" not in aws.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_an_ended_execution_sends_the_event_aws_sends(aws):
    moto_compat.install()
    queue_url = ended_executions_to_queue(aws)
    execution = finished_execution(aws, FAILING_MACHINE, {"song": 1})
    event = delivered_event(aws, queue_url)
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.states",
        "Step Functions Execution Status Change",
        [execution["executionArn"]],
    )
    detail = event["detail"]
    assert {key: detail[key] for key in ("executionArn", "stateMachineArn", "status", "error", "cause")} == {
        "executionArn": execution["executionArn"],
        "stateMachineArn": execution["stateMachineArn"],
        "status": "FAILED",
        "error": "Broken",
        "cause": "on purpose",
    }
    assert json.loads(detail["input"]) == {"song": 1}
    assert detail["stopDate"] >= detail["startDate"] > 1_600_000_000_000  # epoch milliseconds


def test_moto_still_cannot_deliver_to_a_function(aws):
    create_function(aws)
    aws.events.put_rule(Name="ended", EventPattern=json.dumps(ENDED))
    function_arn = aws.lambda_.get_function(FunctionName="checker")["Configuration"]["FunctionArn"]
    aws.events.put_targets(Rule="ended", Targets=[{"Id": "function", "Arn": function_arn}])
    with pytest.raises(NotImplementedError):
        aws.events.put_events(Entries=[{"Source": "aws.states", "DetailType": ENDED["detail-type"][0], "Detail": "{}"}])


def test_a_rule_invokes_its_function_with_the_whole_event(aws, tmp_path):
    code = tmp_path / "recorder"
    code.mkdir()
    record = tmp_path / "events.jsonl"
    (code / "app.py").write_text(
        f"import json\ndef lambda_handler(event, context):\n    open({str(record)!r}, 'a').write(json.dumps(event) + '\\n')\n"
    )
    runtime = LocalLambdaRuntime()
    runtime.register("checker", code, "app.lambda_handler", {})
    try:
        moto_compat.install(lambda_runtime=runtime)
        create_function(aws)
        function_arn = aws.lambda_.get_function(FunctionName="checker")["Configuration"]["FunctionArn"]
        aws.events.put_rule(Name="ended", EventPattern=json.dumps(ENDED))
        aws.events.put_targets(Rule="ended", Targets=[{"Id": "function", "Arn": function_arn}])
        execution = finished_execution(aws, FAILING_MACHINE, {"song": 1})
        for _ in range(100):  # EventBridge invokes asynchronously
            if record.exists():
                break
            time.sleep(0.1)
        (event,) = [json.loads(line) for line in record.read_text().splitlines()]
    finally:
        runtime.stop()
    assert (event["detail-type"], event["detail"]["executionArn"]) == (
        ENDED["detail-type"][0],
        execution["executionArn"],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])


# ---------------------------------------------------------------- 16. a stopped execution's task (+ StopTask hook)
# moto 5.2.5's runTask.sync, once its execution is stopped, ends its waiting thread with a TypeError
# (a dict compared with 0 in state_task_service_callback); the execution is ABORTED all the same
ends_waiting_thread = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture
def waiting_tasks(tmp_path):
    """A task runner (one worker) whose 'container' waits a minute, as a render does."""
    script = tmp_path / "task.py"
    script.write_text("import time\ntime.sleep(60)\n")
    runner = LocalTaskRunner({}, workers=1, log_dir=tmp_path, command=(sys.executable, str(script)))
    yield runner
    runner.stop()


def task_status(aws, task_arn: str, wanted: str) -> dict:
    """The task once its lastStatus is ``wanted`` (within 10 s)."""
    for _ in range(100):
        (task,) = aws.ecs.describe_tasks(cluster="render-cluster", tasks=[task_arn])["tasks"]
        if task["lastStatus"] == wanted:
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_arn} is {task['lastStatus']}, not {wanted}")


def stopped_while_rendering(aws) -> str:
    """Starts run_task_sync_machine, stops its execution once its task runs; returns the task."""
    network = register_render_task(aws)
    role = aws.iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = aws.stepfunctions.create_state_machine(
        name="m", definition=json.dumps(run_task_sync_machine(network)), roleArn=role
    )["stateMachineArn"]
    execution = aws.stepfunctions.start_execution(stateMachineArn=machine, input=json.dumps({"jobId": "j1"}))
    for _ in range(100):
        if task_arns := aws.ecs.list_tasks(cluster="render-cluster")["taskArns"]:
            break
        time.sleep(0.1)
    task_status(aws, task_arns[0], "RUNNING")
    aws.stepfunctions.stop_execution(executionArn=execution["executionArn"], error="Stopped", cause="by hand")
    for _ in range(100):
        if aws.stepfunctions.describe_execution(executionArn=execution["executionArn"])["status"] == "ABORTED":
            return task_arns[0]
        time.sleep(0.1)
    raise AssertionError("the execution was not stopped within 10 s")


@ends_waiting_thread
def test_moto_still_leaves_a_stopped_executions_task_running(aws, waiting_tasks, monkeypatch):
    moto_compat.install(task_runner=waiting_tasks)
    monkeypatch.setattr(BaseExecutionWorkerCommunication, "terminated", moto_compat.ORIGINAL["execution_terminated"])
    task_arn = stopped_while_rendering(aws)
    time.sleep(1.0)
    assert task_status(aws, task_arn, "RUNNING")["desiredStatus"] == "RUNNING"


@ends_waiting_thread
def test_a_stopped_execution_stops_its_task(aws, waiting_tasks):
    moto_compat.install(task_runner=waiting_tasks)
    task = task_status(aws, stopped_while_rendering(aws), "STOPPED")
    assert (task["stopCode"], task["containers"][0]["exitCode"]) == ("UserInitiated", 143)  # SIGTERM


def test_moto_still_marks_a_task_stopped_without_stopping_it(aws):
    task_arn = run_render(aws, register_render_task(aws))[0]["taskArn"]
    assert aws.ecs.stop_task(cluster="render-cluster", task=task_arn)["task"]["lastStatus"] == "STOPPED"


def test_stop_task_stops_the_process_and_a_waiting_task_never_starts(aws, waiting_tasks, tmp_path):
    moto_compat.install(task_runner=waiting_tasks)
    network = register_render_task(aws)
    running, waiting = (run_render(aws, network)[0]["taskArn"] for _ in range(2))  # one worker
    task_status(aws, running, "RUNNING")

    answer = aws.ecs.stop_task(cluster="render-cluster", task=waiting, reason="not wanted")["task"]
    assert (answer["desiredStatus"], answer["stoppedReason"]) == ("STOPPED", "not wanted")
    aws.ecs.stop_task(cluster="render-cluster", task=running, reason="by hand")

    stopped = task_status(aws, running, "STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"], stopped["containers"][0]["exitCode"]) == (
        "UserInitiated",
        "by hand",
        143,
    )
    never_ran = task_status(aws, waiting, "STOPPED")
    assert (never_ran["stopCode"], "exitCode" in never_ran["containers"][0]) == ("UserInitiated", False)
    assert not (tmp_path / f"task-{waiting.rsplit('/', 1)[-1]}.log").exists()


def test_the_patches_are_confined_to_one_module():
    package = Path(moto_compat.__file__).parent
    reaching_in = sorted(
        path.name
        for path in package.glob("*.py")
        if path.name != "moto_compat.py"
        and "from moto." in path.read_text()
        and "moto.moto_server" not in path.read_text()
    )
    assert reaching_in == []


# ---------------------------------------------------------------- 8. IAM: moto's own authorization
TABLE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:*:*:table/jobs"}],
}


def create_table(aws, name: str) -> None:
    aws.dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_moto_still_refuses_a_call_that_a_grant_on_its_table_allows(aws):
    create_table(aws, "jobs")
    aws.iam.create_user(UserName="writer")
    aws.iam.put_user_policy(UserName="writer", PolicyName="p", PolicyDocument=json.dumps(TABLE_ONLY))
    key = aws.iam.create_access_key(UserName="writer")["AccessKey"]
    writer = boto3.client(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    with moto.core.enable_iam_authentication():
        with pytest.raises(writer.exceptions.ClientError, match="AccessDenied"):  # AWS allows it
            writer.put_item(TableName="jobs", Item={"jobId": {"S": "1"}})


def test_with_iam_installed_a_role_may_do_what_its_policies_allow_and_nothing_else(aws):
    from surroundyou_local.iam import LocalIam, Role, TemplateRoles

    create_table(aws, "jobs")
    create_table(aws, "other")
    role_arn = "arn:aws:iam::123456789012:role/writer"
    trust = {"Version": "2012-10-17", "Statement": []}
    iam = LocalIam()
    iam.create_admin("AKIAADMINFORTESTS", "admin-secret")
    iam.create_roles(TemplateRoles({role_arn: Role("Writer", "writer", role_arn, trust, (("p", TABLE_ONLY),))}, {}))
    moto_compat.install(iam=iam)
    credentials = iam.credentials(role_arn)
    writer = boto3.client(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )
    writer.put_item(TableName="jobs", Item={"jobId": {"S": "1"}})
    with pytest.raises(writer.exceptions.ClientError, match="AccessDeniedException.*dynamodb:PutItem"):
        writer.put_item(TableName="other", Item={"jobId": {"S": "1"}})
    with pytest.raises(writer.exceptions.ClientError, match="AccessDeniedException.*dynamodb:GetItem"):
        writer.get_item(TableName="jobs", Key={"jobId": {"S": "1"}})
    assert [(call.action, call.resource.rsplit("/", 1)[-1], ok) for call, ok in iam.decisions] == [
        ("dynamodb:PutItem", "jobs", True),
        ("dynamodb:PutItem", "other", False),
        ("dynamodb:GetItem", "jobs", False),
    ]
    stranger = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with pytest.raises(stranger.exceptions.ClientError, match="UnrecognizedClientException"):
        stranger.list_tables()


# ---------------------------------------------------------------- 9. the execution role's credentials
def test_moto_still_signs_state_machine_calls_with_fixed_keys(released_moto):
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils import boto_client_for

    client = boto_client_for(REGION, "lambda", StateCredentials(role_arn="arn:aws:iam::123456789012:role/machine"))
    assert client._request_signer._credentials.access_key == "ak"


def test_state_machine_calls_are_signed_as_the_execution_role(released_moto):
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    role_keys = {"AWS_ACCESS_KEY_ID": "ASIAMACHINE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    iam = SimpleNamespace(credentials=lambda role_arn: role_keys if role_arn.endswith("/machine") else {})
    moto_compat.install(iam=iam)
    for module in moto_compat._interpreter_modules():
        assert module.boto_client_for is moto_compat._sfn_boto_client_for
    client = lambda_eval_utils.boto_client_for(
        REGION, "lambda", StateCredentials(role_arn="arn:aws:iam::123456789012:role/machine")
    )
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.token) == ("ASIAMACHINE", "t")


def test_moto_still_cannot_authenticate_a_presigned_url(aws):
    aws.s3.create_bucket(Bucket="media")
    aws.s3.put_object(Bucket="media", Key="song.mp3", Body=b"song")
    aws.iam.create_user(UserName="reader")
    reader_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    aws.iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps(reader_policy))
    key = aws.iam.create_access_key(UserName="reader")["AccessKey"]
    reader = boto3.client(
        "s3", region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    url = reader.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "song.mp3"})
    with moto.core.enable_iam_authentication(), pytest.raises(KeyError, match="AUTHORIZATION"):
        requests.get(url, timeout=10)  # AWS answers 200 with the object


def test_moto_still_refuses_an_anonymous_cors_preflight(aws):
    aws.s3.create_bucket(Bucket="media")
    cors = {"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["POST"]}]}
    aws.s3.put_bucket_cors(Bucket="media", CORSConfiguration=cors)
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with moto.core.enable_iam_authentication(), pytest.raises(KeyError, match="AUTHORIZATION"):
        requests.options("https://media.s3.amazonaws.com/", headers=preflight, timeout=10)  # AWS: 200


def test_with_iam_installed_a_missing_object_is_404_only_to_a_role_that_may_list(aws):
    from surroundyou_local.iam import LocalIam, Role, TemplateRoles

    aws.s3.create_bucket(Bucket="media")
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::media/*"}
    listing = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::media"}
    roles = {
        f"arn:aws:iam::123456789012:role/{name}": Role(
            name, name, f"arn:aws:iam::123456789012:role/{name}", {"Statement": []}, (("p", {"Statement": grants}),)
        )
        for name, grants in (("reader", [read]), ("lister", [read, listing]))
    }
    iam = LocalIam()
    iam.create_admin("AKIAADMINFORTESTS", "admin-secret")
    iam.create_roles(TemplateRoles(roles, {}))
    moto_compat.install(iam=iam)
    codes = {}
    for arn, role in roles.items():
        credentials = iam.credentials(arn)
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        with pytest.raises(s3.exceptions.ClientError) as missing:
            s3.head_object(Bucket="media", Key="gone.mp3")
        codes[role.name] = missing.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert codes == {"reader": 403, "lister": 404}


# ---------------------------------------------------------------- 14. DynamoDB writes, one at a time
def slots_taken_at_once(aws, monkeypatch) -> int:
    """Two threads take a slot under a cap of one (the render slots' conditional increment), each
    held between moto's check of the condition and its update until the other gets there too (or
    3 s pass: one write at a time, the other cannot), as thread switches there can make it;
    returns how many succeeded. The wait, not a fixed sleep, keeps a loaded machine's slow thread
    start from reading as atomicity."""
    from moto.dynamodb import models as dynamodb_models

    both_checked = threading.Barrier(2)

    class SlowValidator(dynamodb_models.UpdateExpressionValidator):
        def validate(self, *args, **kwargs):
            try:
                both_checked.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass  # the other write waits for this one
            return super().validate(*args, **kwargs)

    monkeypatch.setattr(dynamodb_models, "UpdateExpressionValidator", SlowValidator)
    create_table(aws, "limits")
    aws.dynamodb.put_item(TableName="limits", Item={"jobId": {"S": "renders"}, "running": {"N": "0"}})

    def take_slot(_: int) -> bool:
        try:
            aws.dynamodb.update_item(
                TableName="limits",
                Key={"jobId": {"S": "renders"}},
                UpdateExpression="SET running = running + :one",
                ConditionExpression="running < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": "1"}},
            )
            return True
        except aws.dynamodb.exceptions.ConditionalCheckFailedException:
            return False

    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(take_slot, range(2)))


def test_moto_still_lets_two_conditional_updates_through_where_aws_lets_one(aws, monkeypatch):
    assert slots_taken_at_once(aws, monkeypatch) == 2


def test_a_conditional_update_is_atomic(aws, monkeypatch):
    moto_compat.install()
    assert slots_taken_at_once(aws, monkeypatch) == 1
