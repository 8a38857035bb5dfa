"""Fixtures of the template tests live in template_under_test (a unique module name: importable by tests)."""

from template_under_test import cfn_resources, cfn_template, sam_cli, sam_template  # noqa: F401
