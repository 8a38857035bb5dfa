"""Every place the local stack reaches into moto's internals, pinned to one moto version.

moto stands in for S3, DynamoDB, Lambda, ECS, EventBridge and Step Functions. Two kinds of patch
live here, and nowhere else:

Gaps: moto 5.2.5 behaves unlike AWS in a way the product depends on. Each has a test in
tests/integration/test_moto_compat.py that runs moto's own code and fails, asking for the patch to go,
once upstream behaves like AWS.
  1. Step Functions' ecs:runTask integration neither converts the ASL's PascalCase parameters
     to the ECS API's camelCase nor the ECS answer back (its normalisation methods are stubs),
     so runTask.sync cannot start a task (getmoto/moto#10076).
  2. ecs:runTask.sync succeeds whatever the container's exit code; AWS fails the state with
     States.TaskFailed and the described task as the Cause.
  3. S3's EventBridge event has moto's own shape ("eTag", "reason": "ObjectCreated", a number as
     "time"); AWS sends "etag", "reason": "PutObject"/"PostObject"/..., an ISO time.
  4. EventBridge rules do not deliver to Step Functions targets.
  5. A Fargate task definition whose containers have no memory of their own breaks run_task.
  6. An awsvpc task needs its subnet's VPC to have DNS hostnames on (moto names the ENI from them).
  7. The ecs:runTask integration silently drops CapacityProviderStrategy, which Step Functions
     passes on (aws/aws-cdk#20013); without it moto looks for EC2 container instances.
  8. IAM: moto authenticates SigV4 requests (a key it issued, the signature) but authorizes
     DynamoDB, Lambda, ECS, Step Functions... against the resource "*", so a policy that names a
     table or a function allows nothing; it evaluates no ecs:cluster or iam:PassedToService
     condition and checks no iam:PassRole on RunTask; it cannot authenticate a presigned S3
     URL or POST (no Authorization header), and it refuses a CORS preflight (which carries no
     credentials on AWS either). With `iam` installed, moto still checks key and
     signature; the call is then described as IAM sees it and decided by surroundyou_local.iam.
  9. The Step Functions interpreter signs every service call with fixed keys ("ak"/"sk"), not
     the execution role's: it now signs with that role's credentials from sts:AssumeRole.
 10. A Distributed Map's ItemReader (s3:listObjectsV2) reads only the first page of keys (1000),
     fails on a prefix with no object, and hands out boto3's item shape (ETag, a datetime) instead
     of the documented {Etag, Key, LastModified (epoch seconds), Size, StorageClass}.
 11. ToleratedFailurePercentage and ToleratedFailureCount are read but never applied: a map run
     whose child workflows fail still succeeds. AWS fails it with
     States.ExceedToleratedFailureThreshold and stops the children still running.
 12. ResultWriter evaluates its Parameters against the map's results instead of the state's input,
     and writes a manifest that lists no result files (and writes none).
 13. Child workflow executions start without the execution role being asked for
     states:StartExecution on its own state machine, which AWS requires.
 14. DynamoDB writes are not atomic: the threaded server runs requests at once, and a write checks
     its condition and applies its update without a lock, so two conditional updates can both
     pass where AWS lets one (the render slots' counter let three tasks run under a cap of two).
 15. A Step Functions execution that ends sends no "Step Functions Execution Status Change" event
     to EventBridge (AWS does, for every standard workflow), and EventBridge rules do not deliver
     to Lambda targets.
 16. Stopping an execution leaves the task its runTask.sync state started running; AWS stops it
     (ecs:StopTask).

Hooks: where AWS would run code, moto echoes (Lambda without Docker is its "simple" backend).
`install()` makes
  - lambda:Invoke call `LocalLambdaRuntime.invoke` (the real handler, in-process, as
    `sam local start-lambda` does without Docker) for the functions it knows;
  - ecs:RunTask hand every new task to `LocalTaskRunner` (the real entrypoint as a local process,
    with its task role's credentials) and keep moto's task record in step with that process, and
    ecs:StopTask stop that process (moto marks the task STOPPED and lets it run);
  - an EventBridge rule deliver to a state machine only if its target's role may
    states:StartExecution on it (moto never asks), and to a Lambda function the local runtime
    runs, asynchronously as EventBridge invokes.
"""

from __future__ import annotations

import copy
import datetime
import importlib
import itertools
import json
import logging
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import moto
from botocore.session import get_session
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.core.utils import iso_8601_datetime_without_milliseconds, unix_time
from moto.dynamodb.models import DynamoDBBackend
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends
from moto.events.models import Rule, events_backends
from moto.moto_api import state_manager
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import S3AccessDeniedError, S3InvalidAccessKeyIdError
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventType,
    MapRunFailedEventDetails,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3 import (
    ResourceEvalS3 as ItemReaderS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import ResultWriter
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_ecs
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.utils import camel_to_snake_case
from moto.stepfunctions.responses import get_backend as stepfunctions_backend
from werkzeug.exceptions import HTTPException

from .task_runner import SPOT_INTERRUPTION, USER_INITIATED

MOTO_VERSION = "5.2.5"
logger = logging.getLogger(__name__)

DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
# What the patches replace, kept so that tests can run moto's own behaviour.
ORIGINAL = {
    "ecs_normalise_parameters": StateTaskServiceEcs._normalise_parameters,
    "ecs_normalise_response": StateTaskServiceEcs._normalise_response,
    "ecs_build_sync_resolver": StateTaskServiceEcs._build_sync_resolver,
    "s3_send_event_bridge_message": s3_notifications._send_event_bridge_message,
    "rule_send_to_targets": Rule.send_to_targets,
    "lambda_invoke": LambdaSimpleBackend.invoke,
    "ecs_run_task": EC2ContainerServiceBackend.run_task,
    "ecs_stop_task": EC2ContainerServiceBackend.stop_task,
    "authenticate_and_authorize": ActionAuthenticatorMixin._authenticate_and_authorize_action,
    "sfn_boto_client_for": sfn_boto_client.boto_client_for,
    "item_reader_list_objects_v2": ItemReaderS3._handle_list_objects_v2,
    "distributed_eval_job": DistributedItemProcessorWorker._eval_job,
    "result_writer_eval_body": ResultWriter._eval_body,
    "execution_terminated": BaseExecutionWorkerCommunication.terminated,
    **{f"dynamodb_{name}": getattr(DynamoDBBackend, name) for name in DYNAMODB_WRITES},
}
_dynamodb_writes = threading.RLock()  # a transaction writes through the others


def _one_write_at_a_time(write: Callable[..., Any]) -> Callable[..., Any]:
    """``write`` holding the one DynamoDB write lock: its condition and its update are atomic, as on AWS."""

    def atomic(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_writes:
            return write(*args, **kwargs)

    return atomic


def check_version() -> None:
    """The patches reach into moto's internals: another version may not need or survive them."""
    if moto.__version__ != MOTO_VERSION:
        warnings.warn(
            f"surroundyou_local.moto_compat is written for moto {MOTO_VERSION}, found "
            f"{moto.__version__}: run tests/integration/test_moto_compat.py",
            RuntimeWarning,
            stacklevel=2,
        )


# ---------------------------------------------------------------- 1. runTask parameter casing
def _operation_model(service: str, action_snake: str):
    model = get_session().get_service_model(service)
    name = next(op for op in model.operation_names if camel_to_snake_case(op) == action_snake)
    return model.operation_model(name)


def _ecs_normalise_parameters(
    self, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    """ASL parameters (PascalCase, as AWS documents them) -> the ECS API's camelCase request."""
    shape = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    ).input_shape
    self._to_boto_request(parameters, shape)


def _ecs_normalise_response(
    self, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    """The ECS answer (camelCase) -> the PascalCase output Step Functions gives the state."""
    shape = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    ).output_shape
    self._from_boto_response(response, shape)


# ---------------------------------------------------------------- 2. runTask.sync exit codes
def failed_container(task: dict[str, Any]) -> dict[str, Any] | None:
    """The first container of a STOPPED task (Step Functions' PascalCase view) that did not exit 0."""
    return next((c for c in task.get("Containers", []) if c.get("ExitCode") != 0), None)


def _ecs_build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    (started,) = env.stack[-1]["Tasks"]  # runTask's answer, which the original takes off the stack
    execution_arn = env.states.context_object.context_object_data["Execution"]["Id"]
    _execution_tasks[execution_arn] = (started["ClusterArn"], started["TaskArn"])  # gap 16
    resolve = ORIGINAL["ecs_build_sync_resolver"](
        self, env, resource_runtime_part, normalised_parameters, state_credentials
    )

    def resolve_failing_on_exit_code() -> dict | None:
        task = resolve()
        if task is not None and failed_container(task) is not None:
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=to_json_str(task),
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            )
        return task

    return resolve_failing_on_exit_code


# ---------------------------------------------------------------- 3. the S3 event AWS sends
_S3_REASONS = {  # the S3 API call behind each ObjectCreated event
    "Put": "PutObject",
    "Post": "PostObject",
    "Copy": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}
_sequencer = itertools.count(1)


def s3_eventbridge_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
    """The EventBridge event S3 sends for ``event_name`` (s3:ObjectCreated:Put...), as AWS documents
    it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), except that "time"
    stays in epoch seconds, as moto's rules expect until they deliver (see ``as_delivered``)."""
    action = event_name.split(":")[-1]
    obj = {"key": key.name, "size": key.size, "etag": key.etag.strip('"'), "sequencer": f"{next(_sequencer):018X}"}
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": s3_notifications._detail_type(event_name),
        "source": "aws.s3",
        "account": account_id,
        "time": unix_time(),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _S3_REASONS.get(action, action),
        },
    }


def as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: "time" in ISO 8601, as moto does for its own targets."""
    time = datetime.datetime.fromtimestamp(float(event["time"]), datetime.UTC)
    return {**event, "time": iso_8601_datetime_without_milliseconds(time)}


def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    _deliver(account_id, bucket.region_name, s3_eventbridge_event(account_id, bucket, event_name, key))


def _deliver(account_id: str, region: str, event: dict[str, Any]) -> None:
    """``event`` to every matching rule of the account's event buses, as an AWS service sends its
    events; a rule that cannot deliver is logged (delivery is asynchronous on AWS: what sent the
    event goes on)."""
    for event_bus in events_backends[account_id][region].event_buses.values():
        for rule in list(event_bus.rules.values()):
            try:
                rule.send_to_targets(event, transform_input=False)
            except Exception:  # noqa: BLE001
                logger.exception("EventBridge rule %s could not deliver %s", rule.name, event["id"])


# ---------------------------------------------------------------- 4. Step Functions targets
def _is_state_machine(target: dict[str, Any]) -> bool:
    return target["Arn"].split(":")[2] == "states"


def _is_function(target: dict[str, Any]) -> bool:
    return target["Arn"].split(":")[2] == "lambda"


def _rule_send_to_targets(self: Rule, original_event: dict, transform_input: bool = True) -> None:
    others = [target for target in self.targets if not (_is_state_machine(target) or _is_function(target))]
    if others:  # moto raises NotImplementedError for a state machine among them
        rule_without_state_machines = copy.copy(self)
        rule_without_state_machines.targets = others
        ORIGINAL["rule_send_to_targets"](rule_without_state_machines, original_event, transform_input)
    if self.state != "ENABLED" or not self.event_pattern.matches_event(original_event):
        return
    runtime: LambdaRuntime | None = _hooks["lambda"]
    for target in filter(_is_function, self.targets):
        function_name = target["Arn"].split(":")[6]
        if runtime is not None and runtime.handles(function_name):
            payload = json.dumps(as_delivered(original_event)).encode()
            threading.Thread(target=runtime.invoke, args=(function_name, payload), daemon=True).start()
    for target in filter(_is_state_machine, self.targets):
        arn = target["Arn"]
        _, _, _, region, account, *_ = arn.split(":")
        iam: Iam | None = _hooks["iam"]
        if iam is not None:  # EventBridge starts the execution as the target's role
            from .iam import Call

            iam.authorize(target.get("RoleArn", ""), [Call("", "states:StartExecution", arn)])
        # AWS names these executions itself; a name also keeps moto from treating two different
        # events as one idempotent start.
        stepfunctions_backend(account, region).start_execution(
            arn, name=str(uuid.uuid4()), execution_input=json.dumps(as_delivered(original_event))
        )


# ---------------------------------------------------------------- 15. execution status events
def execution_status_event(execution: Any) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event AWS sends when ``execution`` ends."""
    described = execution.to_describe_output()

    def epoch_ms(moment: datetime.datetime | None) -> int | None:
        return None if moment is None else int(moment.timestamp() * 1000)

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution.account_id,
        "time": unix_time(),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": described["stateMachineArn"],
            "name": execution.name,
            "status": str(described["status"].value),
            "startDate": epoch_ms(execution.start_date),
            "stopDate": epoch_ms(execution.stop_date),
            "input": described["input"],
            "output": described.get("output"),
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if "output" in described else None,
            "error": described.get("error"),
            "cause": described.get("cause"),
        },
    }


def _execution_terminated(self: BaseExecutionWorkerCommunication) -> None:
    ORIGINAL["execution_terminated"](self)
    execution = self.execution
    _stop_task_of_stopped(execution)
    try:  # the execution ends whatever becomes of its event
        event = execution_status_event(execution)
    except Exception:  # noqa: BLE001
        logger.exception("the end of execution %s could not be described for EventBridge", execution.exec_arn)
        return
    _deliver(execution.account_id, execution.region_name, event)


# ---------------------------------------------------------------- 16. a stopped execution's task
_execution_tasks: dict[str, tuple[str, str]] = {}  # execution ARN -> (cluster, task) of its runTask.sync


def _stop_task_of_stopped(execution: Any) -> None:
    """An execution stopped while its runTask.sync state waited stops that task, as AWS does."""
    started = _execution_tasks.pop(execution.exec_arn, None)
    if started is None or execution.exec_status != ExecutionStatus.ABORTED:
        return
    cluster_arn, task_arn = started
    ecs = ecs_backends[execution.account_id][execution.region_name]
    if ecs.describe_tasks(cluster_arn, [task_arn])[0].last_status != "STOPPED":
        ecs.stop_task(cluster_arn, task_arn, "Stopped with its Step Functions execution")


# ---------------------------------------------------------------- 5. container memory
def complete_container_definitions(container_definitions: list[dict], task_memory_mib: str | int) -> list[dict]:
    """Fargate sizes memory per task; moto's run_task adds up per-container memory and fails
    without it. Give each container without memory/memoryReservation the task's memory."""
    return [
        c if "memory" in c or "memoryReservation" in c else {**c, "memory": int(task_memory_mib)}
        for c in container_definitions
    ]


# ---------------------------------------------------------------- 6. task network
def create_task_network(ec2: Any) -> dict[str, str]:
    """A VPC, subnet and security group that moto can attach awsvpc tasks to."""
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="surroundyou-local-tasks", Description="local tasks", VpcId=vpc_id)[
        "GroupId"
    ]
    return {"vpc": vpc_id, "subnet": subnet_id, "security_group": group_id}


# ---------------------------------------------------------------- 7. runTask parameters
RUN_TASK_PARAMETERS = state_task_service_ecs._SUPPORTED_API_PARAM_BINDINGS["runtask"]
MISSING_RUN_TASK_PARAMETERS = {"CapacityProviderStrategy"}


# ---------------------------------------------------------------- 10. Distributed Map: the S3 item reader
def listed_item(obj: dict[str, Any]) -> dict[str, Any]:
    """One ListObjectsV2 entry as the map's ItemReader hands it to a child workflow (AWS's shape)."""
    return {
        "Etag": obj["ETag"],
        "Key": obj["Key"],
        "LastModified": int(obj["LastModified"].timestamp()),
        "Size": obj["Size"],
        "StorageClass": obj.get("StorageClass", "STANDARD"),
    }


def _item_reader_list_objects_v2(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    s3 = _sfn_boto_client_for(resource_runtime_part.region, "s3", state_credentials)
    parameters = env.stack.pop()
    pages = s3.get_paginator("list_objects_v2").paginate(**parameters)
    env.stack.append([listed_item(obj) for page in pages for obj in page.get("Contents", [])])


# ---------------------------------------------------------------- 11-13. Distributed Map: the map run
class MapRunResults:
    """What AWS keeps about one map run's child executions: each one's outcome, for the failure
    budget and for ResultWriter's result files."""

    def __init__(self, record: Any, items: int) -> None:
        self.record = record
        self.items = items
        self.lock = threading.Lock()
        self.results: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        self.running: set[Any] = set()  # the job frames of children in flight
        self.exceeded = False

    def failure_budget_exceeded(self) -> bool:
        """AWS: more failed than ToleratedFailureCount, or a larger share of all items than
        ToleratedFailurePercentage; with neither given, any failure."""
        failed = len(self.results["FAILED"])
        count, percentage = self.record.tolerated_failure_count, self.record.tolerated_failure_percentage
        if not count and not percentage:
            return failed > 0
        return bool(count and failed > count) or bool(percentage and failed * 100.0 / self.items > percentage)


_map_runs: dict[str, MapRunResults] = {}


def map_run_results(map_run_arn: str) -> MapRunResults | None:
    return _map_runs.get(map_run_arn)


def _map_run_failure(env: Any, error: StatesErrorNameType, cause: str) -> FailureEventException:
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(
                mapRunFailedEventDetails=MapRunFailedEventDetails(error=error.to_name(), cause=cause)
            ),
        )
    )


def _child_execution(record: Any, job: Any, started: datetime.datetime) -> dict[str, Any]:
    name = uuid.uuid4().hex
    return {
        "ExecutionArn": f"{record.map_state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}",
        "Name": name,
        "StateMachineArn": record.map_state_machine_arn,
        "Input": json.dumps(job.job_input),
        "InputDetails": {"Included": True},
        "StartDate": started.isoformat(),
    }


def _distributed_eval_job(self: DistributedItemProcessorWorker, env: Any, job: Any) -> None:
    record = self._map_run_record
    with _lock:
        run = _map_runs.setdefault(record.map_run_arn, MapRunResults(record, self._job_pool._jobs_number))
    iam: Iam | None = _hooks["iam"]
    if iam is not None:  # the map starts each child as an execution of its own state machine
        from .iam import AccessDenied, Call

        machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
        try:
            iam.authorize(env.aws_execution_details.role_arn, [Call("", "states:StartExecution", machine)])
        except AccessDenied as denied:  # no child can start: the map run fails
            _fail_map_run(self._job_pool, _map_run_failure(env, StatesErrorNameType.StatesRuntime, str(denied)))
            return
    execution = _child_execution(record, job, datetime.datetime.now(datetime.UTC))
    with run.lock:
        run.running.add(env)
    try:
        ORIGINAL["distributed_eval_job"](self, env, job)
    finally:
        with run.lock:
            run.running.discard(env)
    execution["StopDate"] = datetime.datetime.now(datetime.UTC).isoformat()
    state = env.program_state()
    if isinstance(state, ProgramStopped):
        execution.update(Status="ABORTED")
        outcome = "PENDING"  # AWS lists the children it stopped among the unfinished ones
    elif isinstance(state, ProgramError) or job.job_output is None:
        error = (state.error or {}) if isinstance(state, ProgramError) else {}
        execution.update(Status="FAILED", Error=error.get("error", ""), Cause=error.get("cause", ""))
        outcome = "FAILED"
    else:
        execution.update(Status="SUCCEEDED", Output=json.dumps(job.job_output), OutputDetails={"Included": True})
        outcome = "SUCCEEDED"
    with run.lock:
        run.results[outcome].append(execution)
        if outcome != "FAILED" or run.exceeded or not run.failure_budget_exceeded():
            return
        run.exceeded = True
        in_flight = list(run.running)
    for frame in in_flight:  # AWS stops the children still running
        frame.set_stop(datetime.datetime.now(datetime.UTC), cause="the map run failed", error="States.Aborted")
    budget = "The specified tolerated failure threshold was exceeded"
    _fail_map_run(
        self._job_pool, _map_run_failure(env, StatesErrorNameType.StatesExceedToleratedFailureThreshold, budget)
    )


def _fail_map_run(pool: Any, failure: FailureEventException) -> None:
    """The map run fails with ``failure``: no further child starts, and the Map state sees it."""
    with pool._mutex:
        if pool._worker_exception is None:
            pool._worker_exception = failure
    pool._notify_on_termination()


def report_folder(prefix: str, map_run_arn: str) -> str:
    """Where AWS writes a map run's results: <Prefix>/<map run id>/."""
    run_id = map_run_arn.rsplit(":", 1)[-1]
    return f"{prefix.rstrip('/')}/{run_id}/" if prefix else f"{run_id}/"


def result_files(prefix: str, map_run_arn: str, run: MapRunResults | None) -> dict[str, list[dict[str, Any]]]:
    """The result files AWS writes under ResultWriter's prefix: key -> child executions."""
    results = run.results if run is not None else {}
    folder = report_folder(prefix, map_run_arn)
    return {f"{folder}{outcome}_0.json": executions for outcome, executions in results.items() if executions}


def _result_writer_eval_body(self: ResultWriter, env: Any) -> None:
    env.stack.pop()  # the children's outputs: AWS writes them to the files instead
    env.stack.append(env.states.get_input())  # the Parameters' paths read the Map state's input
    self.parargs.eval(env=env)
    parameters = env.stack.pop()
    env.stack.pop()
    self.resource.eval(env=env)
    runtime_part = env.stack.pop()
    s3 = _sfn_boto_client_for(runtime_part.region, "s3", StateCredentials(role_arn=env.aws_execution_details.role_arn))
    record = env.map_run_record_pool_manager.get_all()[-1]
    bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "")
    manifest: dict[str, Any] = {
        "DestinationBucket": bucket,
        "MapRunArn": record.map_run_arn,
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": []},
    }
    for key, executions in result_files(prefix, record.map_run_arn, map_run_results(record.map_run_arn)).items():
        body = json.dumps(executions).encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        manifest["ResultFiles"][key.rsplit("/", 1)[-1].split("_")[0]].append({"Key": key, "Size": len(body)})
    folder = report_folder(prefix, record.map_run_arn)
    key = f"{folder}manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append({"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}})


# ---------------------------------------------------------------- hooks: Lambda and ECS
class LambdaRuntime(Protocol):
    def handles(self, function_name: str) -> bool: ...
    def invoke(self, function_name: str, payload: bytes) -> tuple[bytes, bool]: ...


class TaskRunner(Protocol):
    def submit(
        self, task_id: str, environ: dict[str, str], on_change: Callable[[str, int | None, str], None]
    ) -> None: ...

    def stop_task(self, task_id: str) -> bool: ...


class Iam(Protocol):
    """surroundyou_local.iam.LocalIam, as the patches use it."""

    task_definition_roles: dict[str, list[str]]

    def principal_of(self, access_key_id: str) -> str | None: ...
    def credentials(self, role_arn: str) -> dict[str, str]: ...
    def authorize(self, principal: str, calls: Any) -> None: ...


_hooks: dict[str, Any] = {"lambda": None, "ecs": None, "iam": None}
_lock = threading.Lock()


# ---------------------------------------------------------------- 8. IAM: who calls, and may they
_JSON_ERRORS = {"lambda": 403}  # services answering AccessDeniedException in JSON, and its status


def _request_service_and_key(response: Any) -> tuple[str, str, str]:
    """(service, access key id, session token) of a request: from its Authorization header, or
    from a presigned URL's query or a POST upload's form (moto puts both in ``querystring``)."""
    authorization = response.headers.get("Authorization") or ""
    if "Credential=" in authorization:
        credential = authorization.partition("Credential=")[2].partition(",")[0]
        token = response.headers.get("X-Amz-Security-Token") or ""
    else:
        fields = {name.lower(): values[0] for name, values in response.querystring.items() if values}
        credential = fields.get("x-amz-credential", "")
        token = fields.get("x-amz-security-token", "")
    key_id, _, scope = credential.partition("/")
    parts = scope.split("/")
    return (parts[2] if len(parts) > 2 else ""), key_id, token


def _request_params(response: Any) -> dict[str, Any]:
    raw = response.raw_body or b""
    if raw[:1] in (b"{", "{"):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return {name: values[0] for name, values in (response.querystring or {}).items() if values}


def _request_operation(response: Any, service: str) -> str:
    if service == "s3":
        return response.data.get("Action", "")
    target = response.headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    try:
        return response._get_action() or ""
    except Exception:  # noqa: BLE001 - a REST path moto cannot name: the describer uses the path
        return ""


def _access_denied(response: Any, service: str, message: str) -> Exception:
    if service == "s3":
        return S3AccessDeniedError()
    target = response.headers.get("X-Amz-Target")
    if target or service in _JSON_ERRORS:
        error = JsonRESTError("AccessDeniedException", message)
        error.code = _JSON_ERRORS.get(service, 400)
        return error
    error = AccessDeniedError(user_arn="", action="")
    error.message = message
    return error


_JSON_AUTH_ERRORS = {
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}


def _check_signature(self: Any, iam_request_cls: type) -> None:
    """moto's own authentication: a key it issued (and its session token), a right signature."""
    query = urlparse(self.uri).query
    iam_request = iam_request_cls(
        account_id=self.current_account,
        method=self.method,
        path=self.raw_path + (f"?{query}" if query else ""),
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=self._get_action(),
    )
    iam_request.check_signature()


def _s3_object_exists(account_id: str, resource: str) -> bool:
    from moto.s3.models import s3_backends

    bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
    try:
        return s3_backends[account_id]["aws"].get_object(bucket, key) is not None
    except Exception:  # noqa: BLE001 - no such bucket: nothing there either
        return False


def _authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    """moto's authentication, then the request as IAM sees it, decided by the installed IAM."""
    iam: Iam | None = _hooks["iam"]
    if iam is None:
        return ORIGINAL["authenticate_and_authorize"](self, iam_request_cls, resource)
    from .iam import AccessDenied, Call, describe_request

    if self.method == "OPTIONS":  # a CORS preflight carries no credentials: S3 answers it by the bucket's rules
        return None
    service, key_id, token = _request_service_and_key(self)
    if "Credential=" in (self.headers.get("Authorization") or ""):
        try:
            _check_signature(self, iam_request_cls)
        except HTTPException as refused:  # moto answers in XML; JSON services answer in JSON
            if self.headers.get("X-Amz-Target") or service in _JSON_ERRORS:
                raise JsonRESTError(
                    _JSON_AUTH_ERRORS.get(getattr(refused, "error_type", ""), "UnrecognizedClientException"),
                    getattr(refused, "message", str(refused)),
                ) from None
            raise
    principal = iam.principal_of(key_id)
    if principal is None or (token and iam.credentials(principal).get("AWS_SESSION_TOKEN") != token):
        if service == "s3":
            raise S3InvalidAccessKeyIdError()
        raise JsonRESTError("UnrecognizedClientException", "The security token included in the request is invalid.")
    params = _request_params(self)
    operation = _request_operation(self, service)
    if service == "s3" and operation == "PutObject" and resource.count("/") == 0 and "key" in params:
        resource = f"{resource}/{params['key']}"  # a POST upload names its key in the form
    calls = describe_request(service, operation, params, self.raw_path, resource, iam.task_definition_roles)
    if service == "s3" and operation == "GetObject" and not _s3_object_exists(self.current_account, resource):
        # S3 tells a missing key (404) only to a caller who may list the bucket; others get 403
        calls.append(Call("", "s3:ListBucket", resource.split("/", 1)[0]))
    copy_source = self.headers.get("x-amz-copy-source") if service == "s3" and operation == "PutObject" else None
    if copy_source:  # CopyObject reads its source as the caller
        source = unquote(copy_source).lstrip("/").split("?versionId=", 1)[0]
        calls.append(Call("", "s3:GetObject", f"arn:aws:s3:::{source}"))
    try:
        iam.authorize(principal, calls)
    except AccessDenied as denied:
        raise _access_denied(
            self,
            service,
            f"User: {principal} is not authorized to perform: "
            f"{denied.call.action} on resource: {denied.call.resource} because no "
            "identity-based policy allows it",
        ) from None


# ---------------------------------------------------------------- 9. the execution role's credentials
def _sfn_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    iam: Iam | None = _hooks["iam"]
    client = ORIGINAL["sfn_boto_client_for"](region=region, service=service, state_credentials=state_credentials)
    if iam is None or state_credentials is None:
        return client
    credentials = iam.credentials(state_credentials.role_arn)
    import boto3

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


_STATE_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
_STATE_MAP = "moto.stepfunctions.parser.asl.component.state.exec.state_map"
# The interpreter's modules that import boto_client_for by name (the Lambda and service tasks).
INTERPRETER_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.utils.boto_client",
    f"{_STATE_TASK}.lambda_eval_utils",
    f"{_STATE_MAP}.item_reader.eval.resource_eval_s3",
    f"{_STATE_MAP}.result_writer.resource_eval.resource_eval_s3",
    *(
        f"{_STATE_TASK}.service.state_task_service_{service}"
        for service in ("dynamodb", "ecs", "events", "sqs", "sns", "sfn", "aws_sdk", "batch", "glue", "unsupported")
    ),
)


def _interpreter_modules() -> list[Any]:
    return [importlib.import_module(name) for name in INTERPRETER_CLIENT_MODULES]


def _set_boto_client_for(function: Any) -> None:
    for module in _interpreter_modules():
        module.boto_client_for = function


def _lambda_invoke(
    self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes | None:
    runtime: LambdaRuntime | None = _hooks["lambda"]
    fn = self.get_function(function_name, qualifier)  # 404 for an unknown function, as on AWS
    if runtime is None or not runtime.handles(fn.function_name):
        return ORIGINAL["lambda_invoke"](self, function_name, qualifier, body, headers, response_headers)
    payload, failed = runtime.invoke(fn.function_name, body.encode() if isinstance(body, str) else body)
    if failed:  # an exception escaped the handler: AWS reports it as an Unhandled function error
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["Content-Length"] = str(len(payload))
    return payload


def task_environment(task: Any, task_definition: Any) -> dict[str, str]:
    """The environment Fargate gives the first container: its definition's, then the overrides'."""
    container = task_definition.container_definitions[0]
    environ = {e["name"]: e["value"] for e in container.get("environment") or []}
    for override in task.overrides.get("containerOverrides", []):
        if override.get("name") == container["name"]:
            environ.update({e["name"]: e["value"] for e in override.get("environment") or []})
    return environ


def _follow_process(task: Any) -> Callable[[str, int | None, str], None]:
    """Mirror the local process of ``task`` into moto's record, the way ECS reports a task.

    The status is written last: Step Functions polls from other threads, and a STOPPED task must
    already carry its exit code when it is seen.
    """
    container = task.containers[0]

    def on_change(status: str, exit_code: int | None, reason: str) -> None:
        now = datetime.datetime.now(datetime.UTC)
        if status == "RUNNING":
            task.started_at = now
        if status == "STOPPED":
            task.desired_status = "STOPPED"
            task.stopped_at = task.execution_stopped_at = now
            if reason == SPOT_INTERRUPTION:  # LocalTaskRunner.interrupt, as Fargate Spot takes a task back
                task.stop_code, task.stopped_reason = SPOT_INTERRUPTION, "Your Spot Task was interrupted."
                reason = ""
            elif reason == USER_INITIATED:  # ecs:StopTask, whose reason is on the task already
                task.stop_code, reason = USER_INITIATED, ""
            elif exit_code is None:  # the process never ran
                task.stop_code, task.stopped_reason = "TaskFailedToStart", reason
            else:
                task.stop_code = "EssentialContainerExited"
                task.stopped_reason = "Essential container in task exited"
            container.exitCode = exit_code
            if reason:
                container.reason = reason
        container.last_status = status
        task.last_status = status

    return on_change


def _ecs_run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list:
    tasks = ORIGINAL["ecs_run_task"](self, *args, **kwargs)
    runner: TaskRunner | None = _hooks["ecs"]
    if runner is not None:
        for task in tasks:
            task.last_status = task.containers[0].last_status = "PENDING"
            task.containers[0].exitCode = None  # moto starts containers at 0: not exited yet
            definition = self.describe_task_definition(task.task_definition_arn)
            environ = task_environment(task, definition)
            iam: Iam | None = _hooks["iam"]
            if iam is not None and definition.task_role_arn:  # as the container credentials endpoint would
                environ.update(iam.credentials(definition.task_role_arn))
            runner.submit(task.id, environ, _follow_process(task))
    return tasks


def _ecs_stop_task(self: EC2ContainerServiceBackend, cluster_str: str, task_str: str, reason: str) -> Any:
    runner: TaskRunner | None = _hooks["ecs"]
    (task,) = self.describe_tasks(cluster_str, [task_str])
    if runner is None or not runner.stop_task(task.id):
        return ORIGINAL["ecs_stop_task"](self, cluster_str, task_str, reason)
    task.desired_status, task.stopped_reason = "STOPPED", reason  # STOPPED itself once its process is
    return task


# ---------------------------------------------------------------- moto's state, in this process
def reset_backends() -> None:
    """Forget every resource, user and role: each local stack starts with an empty account, even
    after another one ran in this process."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def iam_backend(account_id: str) -> Any:
    """moto's IAM of ``account_id``: where the stack creates its administrator and the roles."""
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["global"]


def assume_role(account_id: str, region: str, role_arn: str, session_name: str, duration_s: int) -> Any:
    """sts:AssumeRole as the service that runs a component does it (not a caller of the
    endpoint: moto would check the trust policy's Service principal against a user's ARN)."""
    from moto.sts.models import sts_backends

    return sts_backends[account_id]["aws"].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=duration_s,
        external_id="",
    )


def aws_managed_policy_document(arn: str) -> dict[str, Any]:
    """An AWS managed policy's document, from the copy moto ships."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)[arn.rsplit("/", 1)[-1]]["Document"]


def install(
    lambda_runtime: LambdaRuntime | None = None, task_runner: TaskRunner | None = None, iam: Iam | None = None
) -> None:
    """Apply the gap fixes (idempotent) and route Lambda invokes / ECS tasks to the given hooks;
    with ``iam``, every request is authenticated and authorized by it."""
    check_version()
    StateTaskServiceEcs._normalise_parameters = _ecs_normalise_parameters
    StateTaskServiceEcs._normalise_response = _ecs_normalise_response
    StateTaskServiceEcs._build_sync_resolver = _ecs_build_sync_resolver
    RUN_TASK_PARAMETERS.update(MISSING_RUN_TASK_PARAMETERS)
    s3_notifications._send_event_bridge_message = _send_event_bridge_message
    Rule.send_to_targets = _rule_send_to_targets
    LambdaSimpleBackend.invoke = _lambda_invoke
    EC2ContainerServiceBackend.run_task = _ecs_run_task
    EC2ContainerServiceBackend.stop_task = _ecs_stop_task
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize
    _set_boto_client_for(_sfn_boto_client_for)
    ItemReaderS3._handle_list_objects_v2 = staticmethod(_item_reader_list_objects_v2)
    DistributedItemProcessorWorker._eval_job = _distributed_eval_job
    ResultWriter._eval_body = _result_writer_eval_body
    BaseExecutionWorkerCommunication.terminated = _execution_terminated
    for name in DYNAMODB_WRITES:
        setattr(DynamoDBBackend, name, _one_write_at_a_time(ORIGINAL[f"dynamodb_{name}"]))
    # moto walks a task towards STOPPED one step per DescribeTasks; ours stop when their process does.
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 2**62})
    _hooks["lambda"] = lambda_runtime
    _hooks["ecs"] = task_runner
    _hooks["iam"] = iam


def uninstall() -> None:
    """Put moto back as it was (tests that run moto's own behaviour)."""
    StateTaskServiceEcs._normalise_parameters = ORIGINAL["ecs_normalise_parameters"]
    StateTaskServiceEcs._normalise_response = ORIGINAL["ecs_normalise_response"]
    StateTaskServiceEcs._build_sync_resolver = ORIGINAL["ecs_build_sync_resolver"]
    RUN_TASK_PARAMETERS.difference_update(MISSING_RUN_TASK_PARAMETERS)
    s3_notifications._send_event_bridge_message = ORIGINAL["s3_send_event_bridge_message"]
    Rule.send_to_targets = ORIGINAL["rule_send_to_targets"]
    LambdaSimpleBackend.invoke = ORIGINAL["lambda_invoke"]
    EC2ContainerServiceBackend.run_task = ORIGINAL["ecs_run_task"]
    EC2ContainerServiceBackend.stop_task = ORIGINAL["ecs_stop_task"]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = ORIGINAL["authenticate_and_authorize"]
    _set_boto_client_for(ORIGINAL["sfn_boto_client_for"])
    ItemReaderS3._handle_list_objects_v2 = staticmethod(ORIGINAL["item_reader_list_objects_v2"])
    DistributedItemProcessorWorker._eval_job = ORIGINAL["distributed_eval_job"]
    ResultWriter._eval_body = ORIGINAL["result_writer_eval_body"]
    BaseExecutionWorkerCommunication.terminated = ORIGINAL["execution_terminated"]
    for name in DYNAMODB_WRITES:
        setattr(DynamoDBBackend, name, ORIGINAL[f"dynamodb_{name}"])
    _map_runs.clear()
    _execution_tasks.clear()
    state_manager.unset_transition(model_name="ecs::task")
    _hooks["lambda"] = _hooks["ecs"] = _hooks["iam"] = None
