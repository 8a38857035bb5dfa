"""The substituted ASL, as the Definition of a plain AWS::StepFunctions::StateMachine, passes cfn-lint."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cfnlint.api import lint

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "convert.asl.json"
ACCOUNT = "arn:aws:{service}:us-east-1:123456789012:{resource}"
# Values of the shape CloudFormation substitutes on deploy.
SUBSTITUTIONS = {
    "ValidateFunctionArn": ACCOUNT.format(service="lambda", resource="function:surroundyou-validate"),
    "NotifyFunctionArn": ACCOUNT.format(service="lambda", resource="function:surroundyou-notify"),
    "ClusterArn": ACCOUNT.format(service="ecs", resource="cluster/surroundyou"),
    "TaskDefinitionArn": ACCOUNT.format(service="ecs", resource="task-definition/surroundyou-render:3"),
    "ContainerName": "render",
    "CapacityProvider": "FARGATE_SPOT",
    "SubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "SecurityGroupIds": "sg-0123456789abcdef0",
    "AssignPublicIp": "ENABLED",
    "LimitsTableName": "surroundyou-limits",
    "MaxConcurrentRenders": "50",
}


def substituted_definition() -> dict:
    text = ASL_PATH.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(SUBSTITUTIONS)
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: SUBSTITUTIONS[m[1]], text))


def test_substituted_definition_passes_cfn_lint():
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "ConvertStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "STANDARD",
                    "RoleArn": "arn:aws:iam::123456789012:role/surroundyou-convert",
                    "Definition": substituted_definition(),
                },
            }
        },
    }
    matches = lint(json.dumps(template))
    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []


def test_cfn_lint_does_check_the_definition():
    # A broken definition is reported, so the clean result above means something.
    definition = substituted_definition()
    definition["States"]["Done"]["Type"] = "Succeeded"
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/r", "Definition": definition},
            }
        }
    }
    assert {m.rule.id for m in lint(json.dumps(template))} == {"E3601"}
