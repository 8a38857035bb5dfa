"""Create the template's resources on the local AWS endpoint, from the template's own properties.

The roles (as SAM expands them, see iam), bucket (CORS, EventBridge notifications), every table,
the functions (registered in moto and in the local Lambda runtime, each with its role's
credentials), the ECS cluster and task definition (with its roles), the state machine from its
ASL file with DefinitionSubstitutions filled and its role, and its EventBridge rule with the
rule's role. Resources the local run does not need (log groups, alarms, KMS, ECR) are skipped.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.session import get_session

from . import moto_compat
from .api_gateway import Route, routes_of
from .iam import LocalIam
from .lambda_runtime import LocalLambdaRuntime
from .template import LocalTemplate, TemplateError


@dataclass(frozen=True)
class ApiFunction:
    """The function behind the HTTP API and its routes (the function answers CORS itself)."""

    name: str
    routes: list[Route]
    environment: dict[str, str]


@dataclass(frozen=True)
class LocalResources:
    bucket: str
    table: str
    state_machine_arn: str  # the one S3 events start (an upload's conversion)
    api: ApiFunction
    state_machines: dict[str, str]  # every state machine's ARN by logical id (BatchStateMachine, ...)

    @property
    def max_upload_bytes(self) -> int:
        """The limit the API pins in every upload policy."""
        return int(self.api.environment["MAX_UPLOAD_BYTES"])


def api_request(service: str, operation: str, properties: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation properties as an API request: member names matched case-insensitively
    (ContainerDefinitions -> containerDefinitions), scalars cast to the API's types, and
    properties the API does not have left out."""
    shape = get_session().get_service_model(service).operation_model(operation).input_shape
    return _cast(properties, shape)


def _cast(value: Any, shape: Any) -> Any:
    if shape.type_name == "structure" and isinstance(value, dict):
        members = {name.lower(): (name, member) for name, member in shape.members.items()}
        return {
            members[key.lower()][0]: _cast(item, members[key.lower()][1])
            for key, item in value.items()
            if key.lower() in members
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_cast(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _cast(item, shape.value) for key, item in value.items()}
    if shape.type_name == "string":
        return str(value).lower() if isinstance(value, bool) else str(value)
    if shape.type_name in ("integer", "long"):
        return int(value)
    if shape.type_name == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value


def provision(
    template: LocalTemplate,
    runtime: LocalLambdaRuntime,
    client: Callable[[str], Any],
    iam: LocalIam,
    presign_endpoint: str | None = None,
) -> LocalResources:
    """Create everything with ``client(service_name)``: boto3 clients of the local endpoint (the
    administrator's); ``iam`` holds the template's roles, already created; ``presign_endpoint``
    is where the API function's presigned URLs point."""
    roles = iam.roles.components
    bucket = _create_bucket(template, client("s3"))
    table = _create_table(template, client("dynamodb"))
    api = _create_functions(template, runtime, roles, iam, client("lambda"), client("events"), presign_endpoint)
    _create_render_task(template, client("ecs"), iam)
    state_machines = {
        logical_id: _create_state_machine(template, logical_id, roles, client("stepfunctions"), client("events"))
        for logical_id in template.resources_of_type("AWS::Serverless::StateMachine")
    }
    (state_machine_arn,) = [
        state_machines[logical_id]
        for logical_id in state_machines
        if (template.properties(logical_id).get("Events") or {})
    ]
    return LocalResources(
        bucket=bucket, table=table, state_machine_arn=state_machine_arn, api=api, state_machines=state_machines
    )


def _create_bucket(template: LocalTemplate, s3: Any) -> str:
    logical_id, _ = template.one_resource_of_type("AWS::S3::Bucket")
    props = template.properties(logical_id)
    name = template.name(logical_id)
    s3.create_bucket(Bucket=name)
    cors_rules = (props.get("CorsConfiguration") or {}).get("CorsRules")
    if cors_rules:  # CloudFormation's names differ from the S3 API's here
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={
                "CORSRules": [
                    {
                        key: value
                        for key, value in {
                            "AllowedOrigins": rule.get("AllowedOrigins"),
                            "AllowedMethods": rule.get("AllowedMethods"),
                            "AllowedHeaders": rule.get("AllowedHeaders"),
                            "ExposeHeaders": rule.get("ExposedHeaders"),
                            "MaxAgeSeconds": rule.get("MaxAge"),
                        }.items()
                        if value is not None
                    }
                    for rule in cors_rules
                ]
            },
        )
    notifications = props.get("NotificationConfiguration") or {}
    if (notifications.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    return name


JOBS_TABLE_ID = "JobsTable"


def _create_table(template: LocalTemplate, dynamodb: Any) -> str:
    """Every table of the template; returns the jobs table's name."""
    for logical_id in template.resources_of_type("AWS::DynamoDB::Table"):
        # The jobs table's stream is the local stack's own addition: the terminal's job log reads it.
        create_table(
            dynamodb, template.name(logical_id), template.properties(logical_id), stream=logical_id == JOBS_TABLE_ID
        )
    return template.name(JOBS_TABLE_ID)


def create_table(dynamodb: Any, name: str, properties: dict[str, Any], *, stream: bool = False) -> None:
    """CreateTable (+ UpdateTimeToLive) from an AWS::DynamoDB::Table's CloudFormation properties.

    Point-in-time recovery does not change what the table stores, so it is left out.
    """
    request = api_request(
        "dynamodb",
        "CreateTable",
        {
            key: properties[key]
            for key in (
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "SSESpecification",
            )
            if key in properties
        },
    )
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    dynamodb.create_table(TableName=name, **request)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification=api_request("dynamodb", "UpdateTimeToLive", {"TimeToLiveSpecification": ttl})[
                "TimeToLiveSpecification"
            ],
        )


def _create_functions(
    template: LocalTemplate,
    runtime: LocalLambdaRuntime,
    roles: dict[str, str],
    iam: LocalIam,
    lambda_: Any,
    events: Any,
    presign_endpoint: str | None,
) -> ApiFunction:
    """Every SAM function, in moto (for lambda:Invoke) and in the local runtime, which runs it
    with its role's credentials, and the EventBridge rules that invoke it. Returns the API
    function: the one with HttpApi events, whose presigned URLs name ``presign_endpoint`` (the
    browser's way to S3) when given."""
    api: ApiFunction | None = None
    empty_zip = io.BytesIO()
    zipfile.ZipFile(empty_zip, "w").close()
    for logical_id in template.resources_of_type("AWS::Serverless::Function"):
        props = template.properties(logical_id)
        name = template.name(logical_id)
        variables = (props.get("Environment") or {}).get("Variables") or {}
        environment = {variable: str(value) for variable, value in variables.items()}
        lambda_.create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.12"),
            Role=roles[logical_id],
            Handler=props["Handler"],
            Code={"ZipFile": empty_zip.getvalue()},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": environment},
        )
        routes = routes_of(props)
        # Only the presigning function's S3 endpoint is the front door: a request signed for a
        # path under it would not match at the endpoint, as a signature covers the path.
        local = {"AWS_ENDPOINT_URL_S3": presign_endpoint} if routes and presign_endpoint else {}
        runtime.register(
            name,
            template.root / props["CodeUri"],
            props["Handler"],
            {**environment, **local, **iam.credentials(roles[logical_id])},
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_s=float(props.get("Timeout", 3)),
        )
        for event_id, event in (props.get("Events") or {}).items():
            if event["Type"] == "EventBridgeRule":  # invoked as EventBridge does: the whole event, asynchronously
                _put_rule(
                    template,
                    logical_id,
                    event_id,
                    events,
                    {"Id": f"{logical_id}{event_id}LambdaTarget", "Arn": template.arn(logical_id)},
                )
        if routes:
            if api is not None:
                raise TemplateError("the local stack serves one API function; found two with HttpApi events")
            api = ApiFunction(name, routes, environment)
    if api is None:
        raise TemplateError("no function with HttpApi events: nothing to serve under /api")
    return api


def _create_render_task(template: LocalTemplate, ecs: Any, iam: LocalIam) -> None:
    cluster_id, _ = template.one_resource_of_type("AWS::ECS::Cluster")
    cluster = api_request("ecs", "CreateCluster", template.properties(cluster_id))
    ecs.create_cluster(**{**cluster, "clusterName": template.name(cluster_id)})

    definition_id, _ = template.one_resource_of_type("AWS::ECS::TaskDefinition")
    props = template.properties(definition_id)
    request = api_request("ecs", "RegisterTaskDefinition", props)
    request["family"] = template.name(definition_id)
    request["containerDefinitions"] = moto_compat.complete_container_definitions(
        request["containerDefinitions"], props["Memory"]
    )
    arn = ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
    if arn != template.arn(definition_id):
        raise TemplateError(f"task definition registered as {arn}, expected {template.arn(definition_id)}")
    # RunTask passes these roles to ECS: the caller needs iam:PassRole on each.
    iam.task_definition_roles[arn] = [request[key] for key in ("taskRoleArn", "executionRoleArn") if key in request]


def _create_state_machine(
    template: LocalTemplate, logical_id: str, roles: dict[str, str], stepfunctions: Any, events: Any
) -> str:
    props = template.properties(logical_id)
    if "DefinitionUri" not in props:
        raise TemplateError("the local stack runs a state machine from its DefinitionUri file")
    substitutions = {key: str(value) for key, value in (props.get("DefinitionSubstitutions") or {}).items()}
    definition = re.sub(
        r"\$\{(\w+)\}", lambda m: substitutions.get(m[1], m[0]), (template.root / props["DefinitionUri"]).read_text()
    )
    arn = stepfunctions.create_state_machine(
        name=template.name(logical_id),
        definition=definition,
        roleArn=roles[logical_id],
        type=props.get("Type", "STANDARD"),
        tags=[{"key": key, "value": str(value)} for key, value in (props.get("Tags") or {}).items()],
    )["stateMachineArn"]
    if arn != template.arn(logical_id):
        raise TemplateError(f"state machine created as {arn}, expected {template.arn(logical_id)}")

    for event_id, event in (props.get("Events") or {}).items():
        if event["Type"] != "EventBridgeRule":
            raise TemplateError(f"{logical_id} event {event_id}: only EventBridgeRule events run locally")
        # SAM names the rule {machine}{event} and its target {rule}StepFunctionsTarget.
        target_id = f"{logical_id}{event_id}StepFunctionsTarget"
        _put_rule(
            template,
            logical_id,
            event_id,
            events,
            {"Id": target_id, "Arn": arn, "RoleArn": roles[f"{logical_id}{event_id}.{target_id}"]},
        )
    return arn


def _put_rule(template: LocalTemplate, logical_id: str, event_id: str, events: Any, target: dict[str, Any]) -> None:
    """The EventBridgeRule event ``event_id`` of resource ``logical_id``, delivering to ``target``."""
    rule = template.properties(logical_id)["Events"][event_id]["Properties"]
    if {"Input", "InputPath", "InputTransformer"} & set(rule):
        raise TemplateError(f"{logical_id} event {event_id}: the local stack delivers whole events only")
    name = rule.get("RuleName", f"{template.name(logical_id)}-{event_id}")
    bus = rule.get("EventBusName", "default")
    events.put_rule(Name=name, EventPattern=json.dumps(rule["Pattern"]), State="ENABLED", EventBusName=bus)
    target.update({key: rule[key] for key in ("RetryPolicy", "DeadLetterConfig") if key in rule})
    events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
