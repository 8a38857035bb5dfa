"""The image's pinned packages (container/image/requirements.txt) agree with pyproject.toml: every
dependency of the project is pinned there, at a version its range admits, and the `cli` extra is not."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    lines = (ROOT / "container" / "image" / "requirements.txt").read_text().splitlines()
    requirements = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    for requirement in requirements:
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{requirement} is not pinned"
    return {canonicalize_name(r.name): next(iter(r.specifier)).version for r in requirements}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_dependency_is_pinned_within_its_range():
    pinned = pins()
    for line in project()["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} (a dependency in pyproject.toml) is missing from the image's pins"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (name, pinned[name], line)


def test_the_command_line_extra_stays_out_of_the_image():
    pinned = pins()
    for line in project()["optional-dependencies"]["cli"]:
        assert canonicalize_name(Requirement(line).name) not in pinned
