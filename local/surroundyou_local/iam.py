"""IAM on this machine: the template's roles, their credentials, and every call checked against them.

template.yaml gives each component a role: SAM makes one per function and one for the state
machine (and one for its EventBridge rule) out of their `Policies`; TaskRole and TaskExecutionRole
are written out. `template_roles` reads them the way CloudFormation gets them, after samtranslator
has expanded the SAM resources, with AWS managed policies (AWSLambdaBasicExecutionRole, ...) from
the copy of their documents that moto ships.

`LocalIam` creates those roles in moto's IAM, an administrator for the stack itself and its owner,
and hands out each role's temporary credentials (sts:AssumeRole, as Lambda, ECS and Step Functions
do for their roles). Every request the local endpoint receives is described as IAM sees it (the
action, the resource ARNs, the condition keys: `describe_request`) and decided by `evaluate`, a
small policy evaluator (explicit Deny wins, then any Allow; Action/NotAction and Resource/
NotResource with wildcards; the condition operators below). Each decision is recorded, so a test
can compare what the components used with what the template grants.
"""

from __future__ import annotations

import fnmatch
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from . import moto_compat
from .template import ACCOUNT_ID, REGION, LocalTemplate, load_template

ADMIN_USER = "surroundyou-local-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SESSION_S = 12 * 3600
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


# ---------------------------------------------------------------- the template's roles
@dataclass(frozen=True)
class Role:
    logical_id: str
    name: str
    arn: str
    trust_policy: dict[str, Any]
    # (policy name, document): inline policies, then the managed ones by their ARN
    policies: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class TemplateRoles:
    roles: dict[str, Role]  # by role ARN
    components: dict[str, str]  # component ("ApiFunction", "TaskDefinition.task", ...) -> role ARN

    def by_logical_id(self, logical_id: str) -> Role:
        return next(role for role in self.roles.values() if role.logical_id == logical_id)


def _packaged(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` hands to CloudFormation: code and definition paths become S3 locations
    (samtranslator wants those; they play no part in the roles)."""
    template = json.loads(json.dumps(template))
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://local-artifacts/{logical_id}/{key}"
    return template


class _BundledManagedPolicies:
    """samtranslator resolves managed policy names from its bundled map; nothing to ask IAM."""

    def load(self) -> dict[str, str]:
        return {}


def translated_template(path: Path) -> dict[str, Any]:
    """template.yaml after the SAM transform, as CloudFormation receives it."""
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator derives the partition from it
    return transform(_packaged(load_template(path)), {}, _BundledManagedPolicies())


def template_roles(template: LocalTemplate) -> TemplateRoles:
    """The roles of ``template`` (parameters as given to it) and which component runs as which."""
    translated = LocalTemplate.from_dict(template.path, translated_template(template.path), template.parameter_values)
    roles: dict[str, Role] = {}
    for logical_id in translated.resources_of_type("AWS::IAM::Role"):
        props = translated.properties(logical_id)
        policies = [(p["PolicyName"], p["PolicyDocument"]) for p in props.get("Policies") or []]
        policies += [
            (arn, moto_compat.aws_managed_policy_document(arn)) for arn in props.get("ManagedPolicyArns") or []
        ]
        arn = translated.arn(logical_id)
        roles[arn] = Role(
            logical_id, translated.name(logical_id), arn, props["AssumeRolePolicyDocument"], tuple(policies)
        )
    components: dict[str, str] = {}
    for logical_id in translated.resources_of_type("AWS::Lambda::Function"):
        components[logical_id] = translated.properties(logical_id)["Role"]
    for logical_id in translated.resources_of_type("AWS::StepFunctions::StateMachine"):
        components[logical_id] = translated.properties(logical_id)["RoleArn"]
    for logical_id in translated.resources_of_type("AWS::ECS::TaskDefinition"):
        props = translated.properties(logical_id)
        if "TaskRoleArn" in props:
            components[f"{logical_id}.task"] = props["TaskRoleArn"]
        if "ExecutionRoleArn" in props:
            components[f"{logical_id}.execution"] = props["ExecutionRoleArn"]
    for logical_id in translated.resources_of_type("AWS::Events::Rule"):
        for target in translated.properties(logical_id).get("Targets") or []:
            if "RoleArn" in target:
                components[f"{logical_id}.{target['Id']}"] = target["RoleArn"]
    return TemplateRoles(roles, components)


# ---------------------------------------------------------------- the policy evaluator
@dataclass(frozen=True)
class Call:
    """One authorization IAM makes: who, which action, on what, with which condition keys."""

    principal: str  # role ARN, or the user's ARN
    action: str  # "dynamodb:UpdateItem"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: tuple[tuple[str, str], ...] = ()

    def to_json(self, allowed: bool) -> str:
        return json.dumps({**self.__dict__, "context": dict(self.context), "allowed": allowed})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM wildcards: * any run of characters, ? one character (ARN segments included)."""
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


_CONDITION_OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringNotEquals": lambda expected, actual: actual != expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringLike": lambda expected, actual: _matches(expected, actual),
    "StringNotLike": lambda expected, actual: not _matches(expected, actual),
    "ArnEquals": lambda expected, actual: _matches(expected, actual),
    "ArnLike": lambda expected, actual: _matches(expected, actual),
    "ArnNotEquals": lambda expected, actual: not _matches(expected, actual),
    "ArnNotLike": lambda expected, actual: not _matches(expected, actual),
    "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
}


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not know: refused rather than guessed."""


def _condition_holds(operator: str, key_values: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    name = operator.removesuffix("IfExists")
    if name not in _CONDITION_OPERATORS:
        raise UnsupportedCondition(f"condition operator {operator} is not supported by the local evaluator")
    test = _CONDITION_OPERATORS[name]
    negated = "Not" in name
    for key, expected in key_values.items():
        actual = next((value for k, value in context.items() if k.lower() == key.lower()), None)
        if actual is None:
            if if_exists or negated:
                continue
            return False
        results = [test(str(e), actual) for e in _as_list(expected)]
        if not (all(results) if negated else any(results)):
            return False
    return True


def statement_applies(statement: Mapping[str, Any], call: Call) -> bool:
    """Whether ``statement`` (Allow or Deny) covers ``call``."""
    if "Action" in statement:
        if not any(_matches(a, call.action, case_sensitive=False) for a in _as_list(statement["Action"])):
            return False
    elif any(_matches(a, call.action, case_sensitive=False) for a in _as_list(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(_matches(r, call.resource) for r in _as_list(statement["Resource"])):
            return False
    elif any(_matches(r, call.resource) for r in _as_list(statement.get("NotResource", []))):
        return False
    context = dict(call.context)
    return all(
        _condition_holds(operator, key_values, context)
        for operator, key_values in (statement.get("Condition") or {}).items()
    )


def evaluate(policies: Iterable[Mapping[str, Any]], call: Call) -> bool:
    """IAM's identity-policy logic: an explicit Deny wins, else an Allow is needed."""
    allowed = False
    for policy in policies:
        for statement in _as_list(policy.get("Statement", [])):
            if statement_applies(statement, call):
                if statement["Effect"] == "Deny":
                    return False
                allowed = True
    return allowed


# ---------------------------------------------------------------- requests as IAM sees them
def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def _ecs_cluster_arn(cluster: str | None) -> str:
    cluster = cluster or "default"
    return cluster if cluster.startswith("arn:") else _arn("ecs", f"cluster/{cluster}")


def _ecs_task_arn(task: str, cluster_arn: str) -> str:
    return task if task.startswith("arn:") else _arn("ecs", f"task/{cluster_arn.rsplit('/', 1)[-1]}/{task}")


def describe_request(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    path: str = "/",
    resource: str = "*",
    task_definition_roles: Mapping[str, list[str]] | None = None,
) -> list[Call]:
    """The authorizations one request needs, for a principal filled in later ("" here).

    ``operation`` is the API operation (for S3, moto's IAM action name), ``params`` its request
    parameters, ``resource`` what moto itself names (S3 buckets and objects).
    ``task_definition_roles`` maps a task definition ARN to the roles it passes to ECS.
    """
    action = f"{service}:{operation}"
    if service == "dynamodb" and "TableName" in params:
        return [Call("", action, _arn("dynamodb", f"table/{params['TableName']}"))]
    if service == "s3" and operation == "ListBucket":  # ListObjects(V2): the prefix is a condition key
        return [Call("", action, resource, (("s3:prefix", str(params.get("prefix", ""))),))]
    if service == "s3":
        return [Call("", action, resource)]
    if service == "lambda" and path.rstrip("/").endswith("/invocations"):
        function = unquote(path.rstrip("/").split("/")[-2])
        arn = function if function.startswith("arn:") else _arn("lambda", f"function:{function}")
        return [Call("", "lambda:InvokeFunction", arn)]
    if service == "ecs" and operation == "RunTask":
        cluster = _ecs_cluster_arn(params.get("cluster"))
        definition = params.get("taskDefinition", "")
        if not definition.startswith("arn:"):
            definition = _arn("ecs", f"task-definition/{definition}")
        calls = [Call("", action, definition, (("ecs:cluster", cluster),))]
        for role in (task_definition_roles or {}).get(definition, []):
            calls.append(Call("", "iam:PassRole", role, (("iam:PassedToService", ECS_TASKS_SERVICE),)))
        return calls
    if service == "ecs" and operation in ("DescribeTasks", "StopTask"):
        cluster = _ecs_cluster_arn(params.get("cluster"))
        tasks = params.get("tasks") or [params.get("task", "")]
        return [Call("", action, _ecs_task_arn(task, cluster), (("ecs:cluster", cluster),)) for task in tasks]
    if service == "states" and operation == "StartExecution":
        return [Call("", action, params.get("stateMachineArn", "*"))]
    if service == "states" and "executionArn" in params:
        return [Call("", action, params["executionArn"])]
    return [Call("", action, "*")]


# ---------------------------------------------------------------- credentials and decisions
class AccessDenied(Exception):
    """What AWS answers a call the principal's policies do not allow."""

    def __init__(self, call: Call):
        super().__init__(f"{call.principal} is not authorized to perform: {call.action} on resource: {call.resource}")
        self.call = call


@dataclass
class LocalIam:
    """The account's administrator and the template's roles in moto's IAM, their credentials, and
    the decisions on their calls.

    ``calls_path``: where each decision is appended as a JSON line (None: kept in memory only).
    """

    calls_path: Path | None = None
    roles: TemplateRoles = field(default_factory=lambda: TemplateRoles({}, {}))
    admin_access_key_id: str = ""
    admin_secret_access_key: str = ""
    task_definition_roles: dict[str, list[str]] = field(default_factory=dict)
    _credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    _principals: dict[str, str] = field(default_factory=dict)  # access key id -> role/user ARN
    _lock: threading.Lock = field(default_factory=threading.Lock)
    decisions: list[tuple[Call, bool]] = field(default_factory=list)

    def create_admin(self, access_key_id: str, secret_access_key: str) -> None:
        """The account's administrator, a user allowed everything, with the given keys."""
        iam = moto_compat.iam_backend(ACCOUNT_ID)
        iam.create_user(REGION, ADMIN_USER)
        iam.put_user_policy(ADMIN_USER, "AdministratorAccess", json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(ADMIN_USER)
        key.access_key_id, key.secret_access_key = access_key_id, secret_access_key
        self.admin_access_key_id, self.admin_secret_access_key = access_key_id, secret_access_key
        self._principals[access_key_id] = f"arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER}"

    def create_roles(self, roles: TemplateRoles) -> None:
        """The template's roles with their inline policies (CloudFormation's part)."""
        iam = moto_compat.iam_backend(ACCOUNT_ID)
        self.roles = roles
        for role in roles.roles.values():
            iam.create_role(
                role_name=role.name,
                assume_role_policy_document=json.dumps(role.trust_policy),
                path="/",
                permissions_boundary=None,
                description=f"{role.logical_id} of the template",
                tags=[],
                max_session_duration=str(SESSION_S),
                linked_service=None,
            )
            for name, document in role.policies:
                if not name.startswith("arn:"):  # managed policies are evaluated from their documents
                    # SAM writes no Version (IAM then reads 2008-10-17); moto's validator wants one.
                    iam.put_role_policy(role.name, name, json.dumps({"Version": "2012-10-17", **document}))

    def credentials(self, role_arn: str) -> dict[str, str]:
        """The role's temporary credentials as environment variables (sts:AssumeRole by the
        service that runs the component)."""
        with self._lock:
            if role_arn not in self._credentials:
                assumed = moto_compat.assume_role(ACCOUNT_ID, REGION, role_arn, "surroundyou-local", SESSION_S)
                self._principals[assumed.access_key_id] = role_arn
                self._credentials[role_arn] = {
                    "AWS_ACCESS_KEY_ID": assumed.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
                    "AWS_SESSION_TOKEN": assumed.session_token,
                }
            return dict(self._credentials[role_arn])

    def principal_of(self, access_key_id: str) -> str | None:
        return self._principals.get(access_key_id)

    def secret_of(self, access_key_id: str) -> str | None:
        """The secret behind an access key this stack handed out (to check a presigned POST)."""
        if access_key_id == self.admin_access_key_id:
            return self.admin_secret_access_key
        return next(
            (c["AWS_SECRET_ACCESS_KEY"] for c in self._credentials.values() if c["AWS_ACCESS_KEY_ID"] == access_key_id),
            None,
        )

    def policies_of(self, principal: str) -> list[dict[str, Any]]:
        if principal == self._principals.get(self.admin_access_key_id):
            return [ADMIN_POLICY]
        role = self.roles.roles.get(principal)
        return [document for _, document in role.policies] if role else []

    def authorize(self, principal: str, calls: Iterable[Call]) -> None:
        """Decide each call of ``principal`` and record those of the template's roles (the
        administrator's are the stack's own); raise AccessDenied at the first refused."""
        policies = self.policies_of(principal)
        for call in calls:
            call = Call(principal, call.action, call.resource, call.context)
            allowed = evaluate(policies, call)
            if principal in self.roles.roles:
                self._record(call, allowed)
            if not allowed:
                raise AccessDenied(call)

    def _record(self, call: Call, allowed: bool) -> None:
        with self._lock:
            self.decisions.append((call, allowed))
            if self.calls_path is not None:
                with self.calls_path.open("a") as log:
                    log.write(call.to_json(allowed) + "\n")


def read_calls(path: Path) -> list[tuple[Call, bool]]:
    """The decisions a stack wrote to ``path``."""
    decisions = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        call = Call(record["principal"], record["action"], record["resource"], tuple(record["context"].items()))
        decisions.append((call, record["allowed"]))
    return decisions
