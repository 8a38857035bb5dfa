"""template.yaml read the way CloudFormation would deploy it, with local values for what AWS names.

The local stack creates its bucket, table, functions, task definition and state machine from the
template's own properties, so a change to the template changes the local run. Intrinsic functions
(Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If with Conditions, ...) resolve against local physical
names: `surroundyou-local-<logicalid>` unless the template names the resource itself.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "surroundyou-local"

PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::StackName": STACK_NAME,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
    "AWS::NotificationARNs": [],
}

# resource type -> (the property that names it, how its ARN is made from that name)
_NAMED_TYPES: dict[str, tuple[str, str]] = {
    "AWS::S3::Bucket": ("BucketName", "arn:aws:s3:::{name}"),
    "AWS::DynamoDB::Table": ("TableName", "arn:aws:dynamodb:{region}:{account}:table/{name}"),
    "AWS::Serverless::Function": ("FunctionName", "arn:aws:lambda:{region}:{account}:function:{name}"),
    "AWS::Lambda::Function": ("FunctionName", "arn:aws:lambda:{region}:{account}:function:{name}"),
    "AWS::ECS::Cluster": ("ClusterName", "arn:aws:ecs:{region}:{account}:cluster/{name}"),
    "AWS::ECS::TaskDefinition": ("Family", "arn:aws:ecs:{region}:{account}:task-definition/{name}:1"),
    "AWS::Serverless::StateMachine": ("Name", "arn:aws:states:{region}:{account}:stateMachine:{name}"),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "arn:aws:states:{region}:{account}:stateMachine:{name}"),
    "AWS::SQS::Queue": ("QueueName", "arn:aws:sqs:{region}:{account}:{name}"),
    "AWS::IAM::Role": ("RoleName", "arn:aws:iam::{account}:role/{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:aws:logs:{region}:{account}:log-group:{name}"),
    "AWS::ECR::Repository": ("RepositoryName", "arn:aws:ecr:{region}:{account}:repository/{name}"),
}
# resource types whose Ref is the ARN rather than the name
_REF_IS_ARN = {"AWS::ECS::TaskDefinition", "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"}


def load_template(path: Path) -> dict[str, Any]:
    """template.yaml with short-form intrinsics (!Ref, !Sub ...) in their long form, as plain dicts
    (cfn-lint's loader, the one the template tests use)."""
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


class TemplateError(ValueError):
    """The template uses something the local stack cannot reproduce; the message says what."""


@dataclass
class LocalTemplate:
    """template.yaml with parameters and physical names fixed for one local run."""

    path: Path
    parameter_values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(init=False)
    parameters: dict[str, Any] = field(init=False)
    _resolved_names: dict[str, dict[str, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.raw = load_template(self.path)
        self.parameters = self._parameters()

    @classmethod
    def from_dict(cls, path: Path, raw: dict[str, Any], parameter_values: dict[str, Any]) -> LocalTemplate:
        """A template already loaded (e.g. after the SAM transform); ``path`` places its code."""
        template = cls.__new__(cls)
        template.path, template.parameter_values, template._resolved_names = path, parameter_values, {}
        template.raw = raw
        template.parameters = template._parameters()
        return template

    # ------------------------------------------------------------ what the template declares
    @property
    def root(self) -> Path:
        return self.path.parent

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw["Resources"].items()
            if resource["Type"] == resource_type and self.condition_holds(resource.get("Condition"))
        }

    def one_resource_of_type(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources_of_type(resource_type)
        if len(found) != 1:
            raise TemplateError(f"expected one {resource_type} in {self.path.name}, found {sorted(found)}")
        return next(iter(found.items()))

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's properties, resolved; SAM functions get their Globals merged in."""
        resource = self.raw["Resources"][logical_id]
        props = copy.deepcopy(resource.get("Properties") or {})
        if resource["Type"] == "AWS::Serverless::Function":
            props = _merge_globals(copy.deepcopy(self.raw.get("Globals", {}).get("Function", {})), props)
        return self.resolve(props)

    def name(self, logical_id: str) -> str:
        return self._names(logical_id)["Name"]

    def arn(self, logical_id: str) -> str:
        return self._names(logical_id)["Arn"]

    # ------------------------------------------------------------ parameters and conditions
    def _parameters(self) -> dict[str, Any]:
        declared = self.raw.get("Parameters", {})
        unknown = set(self.parameter_values) - set(declared)
        if unknown:
            raise TemplateError(f"{self.path.name} declares no parameter(s) {sorted(unknown)}")
        values = {}
        for name, spec in declared.items():
            value = self.parameter_values.get(name, spec.get("Default", f"local-{name}"))
            if str(spec.get("Type", "")).startswith(("List<", "CommaDelimitedList")) and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            values[name] = value
        return values

    def condition_holds(self, name: str | None) -> bool:
        if name is None:
            return True
        return bool(self.resolve(self.raw.get("Conditions", {})[name]))

    # ------------------------------------------------------------ physical names
    def _names(self, logical_id: str) -> dict[str, str]:
        """Ref, Arn and Name of a resource: the name the template gives it, else a local one."""
        if logical_id not in self._resolved_names:
            resource = self.raw["Resources"][logical_id]
            name_property, arn_format = _NAMED_TYPES.get(resource["Type"], (None, "local-{name}"))
            declared = (resource.get("Properties") or {}).get(name_property) if name_property else None
            name = f"{STACK_NAME}-{logical_id.lower()}" if declared is None else str(self.resolve(declared))
            arn = arn_format.format(name=name, region=REGION, account=ACCOUNT_ID)
            names = {"Ref": arn if resource["Type"] in _REF_IS_ARN else name, "Arn": arn, "Name": name}
            if resource["Type"] == "AWS::SQS::Queue":
                names["Ref"] = names["QueueUrl"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
                names["QueueName"] = name
            self._resolved_names[logical_id] = names
        return self._resolved_names[logical_id]

    # ------------------------------------------------------------ intrinsic functions
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self._ref(arg)
        if key == "Condition":
            return self.condition_holds(arg)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            names = self._names(logical_id)
            return names.get(attribute, f"local-{logical_id}-{attribute}")
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return re.sub(
                r"\$\{([^!}][^}]*)\}",
                lambda m: str(variables[m[1]] if m[1] in variables else self._sub_reference(m[1])),
                template,
            ).replace("${!", "${")
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(v) for v in self.resolve(items))
        if key == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(separator)
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::If":
            condition, if_true, if_false = arg
            chosen = self.resolve(if_true if self.condition_holds(condition) else if_false)
            return _NO_VALUE if chosen is None else chosen
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(arg))
        if key == "Fn::Or":
            return any(self.resolve(arg))
        if key == "Fn::FindInMap":
            mapping, top, second = self.resolve(arg)
            return self.raw["Mappings"][mapping][top][second]
        if key == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b"]
        if key == "Fn::Base64":
            return self.resolve(arg)
        raise TemplateError(f"{key} is not supported by the local stack")

    def _ref(self, name: str) -> Any:
        if name in PSEUDO_PARAMETERS:
            value = PSEUDO_PARAMETERS[name]
            return _NO_VALUE if value is None else value
        if name in self.parameters:
            return self.parameters[name]
        if name in self.raw.get("Resources", {}):
            return self._names(name)["Ref"]
        raise TemplateError(f"Ref to unknown {name!r} in {self.path.name}")

    def _sub_reference(self, reference: str) -> Any:
        if "." in reference and reference.split(".", 1)[0] in self.raw.get("Resources", {}):
            return self._intrinsic("Fn::GetAtt", reference.split(".", 1))
        value = self._ref(reference)
        return ",".join(value) if isinstance(value, list) else value


class _NoValue:
    """AWS::NoValue: the property disappears."""


_NO_VALUE = _NoValue()


def _merge_globals(globals_: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (function wins), anything else is replaced by the function's."""
    merged = dict(globals_)
    for key, value in props.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_globals(merged[key], value)
        else:
            merged[key] = value
    return merged
