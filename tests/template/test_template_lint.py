"""template.yaml passes cfn-lint (as SAM and after the SAM transform) and `sam validate --lint`."""

from __future__ import annotations

import json
import subprocess

from cfnlint.api import lint, lint_file
from template_under_test import REPO, TEMPLATE_PATH, sam_env


def _describe(matches) -> list[str]:
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches]


def test_sam_template_passes_cfn_lint():
    assert _describe(lint_file(TEMPLATE_PATH)) == []


def test_translated_template_passes_cfn_lint(cfn_template):
    # cfn-lint checks SAM resources against SAM's schema; this checks what CloudFormation receives.
    assert _describe(lint(json.dumps(cfn_template))) == []


def test_sam_validate_lint_passes(sam_cli):
    result = subprocess.run(
        [sam_cli, "validate", "--lint", "--template-file", str(TEMPLATE_PATH)],
        cwd=REPO,
        env=sam_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr
