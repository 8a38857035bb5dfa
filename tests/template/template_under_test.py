"""template.yaml as written (SAM) and as CloudFormation sees it after the SAM transform."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform

from surroundyou_local.template import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "template.yaml"
ASL_PATH = REPO / "statemachine" / "convert.asl.json"


def load_sam_template() -> dict:
    """template.yaml with short-form intrinsics (!Ref, !Sub ...) in their long form, as plain dicts."""
    return load_template(TEMPLATE_PATH)


class _BundledManagedPoliciesOnly:
    """samtranslator resolves managed policy names from its bundled map; nothing to fetch from IAM."""

    def load(self) -> dict[str, str]:
        return {}


def packaged(template: dict) -> dict:
    """What `sam package` hands to CloudFormation: local code and definition paths become S3 locations."""
    template = json.loads(json.dumps(template))
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://packaged-artifacts/{name}/{key}"
    return template


@pytest.fixture(scope="session")
def sam_template() -> dict:
    return load_sam_template()


@pytest.fixture(scope="session")
def cfn_template(sam_template) -> dict:
    """The SAM-translated (plain CloudFormation) template."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator derives the partition from it
    return transform(packaged(sam_template), {}, _BundledManagedPoliciesOnly())


@pytest.fixture(scope="session")
def cfn_resources(cfn_template) -> dict:
    return cfn_template["Resources"]


@pytest.fixture(scope="session")
def sam_cli() -> str:
    """The SAM CLI from `make tools` (its own virtualenv: its pins clash with the project's)."""
    path = os.environ.get("SAM_CLI") or str(REPO / ".tools" / "sam" / "bin" / "sam")
    if not shutil.which(path):
        pytest.fail(f"SAM CLI not found at {path}: run `make tools`")
    return path


def sam_env() -> dict[str, str]:
    """Environment for SAM CLI subprocesses: no telemetry, and a region for the linter."""
    return {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
