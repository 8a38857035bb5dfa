"""`sam build` builds the three functions and the shared layer for arm64 Lambda (python3.12)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from template_under_test import REPO, TEMPLATE_PATH, sam_env

ELF_MACHINE_AARCH64 = 0xB7
FUNCTIONS = ("ApiFunction", "ValidateFunction", "NotifyFunction")


def _elf_machine(path: Path) -> int:
    """e_machine of an ELF file (bytes 18-19, little-endian on Linux targets)."""
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


@pytest.fixture(scope="module")
def build_dir(sam_cli, tmp_path_factory) -> Path:
    env = sam_env()
    if not shutil.which("python3.12", path=env.get("PATH")):
        pytest.fail("python3.12 is not on PATH: run through `make test` (it exports PYENV_VERSION)")
    out = tmp_path_factory.mktemp("sam") / "build"
    result = subprocess.run(
        [sam_cli, "build", "--template-file", str(TEMPLATE_PATH), "--build-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out


@pytest.mark.slow
def test_build_packages_each_function_with_its_dependencies(build_dir):
    for function in FUNCTIONS:
        built = build_dir / function
        assert (built / "app.py").is_file(), function
        assert (built / "aws_lambda_powertools").is_dir(), function
        # The job model comes from the layer, not a copy in each function.
        assert not (built / "surroundyou_jobs").exists(), function
    assert (build_dir / "template.yaml").is_file()


@pytest.mark.slow
def test_layer_holds_the_shared_job_package_on_the_python_path(build_dir):
    package = build_dir / "JobsLayer" / "python" / "surroundyou_jobs"
    assert {"keys.py", "model.py", "options.py", "settings.py"} <= {p.name for p in package.glob("*.py")}


@pytest.mark.slow
def test_native_dependencies_are_built_for_arm64(build_dir):
    libraries = list(build_dir.glob("*Function/**/*.so"))
    assert libraries, "expected compiled dependencies (pydantic-core) in the functions"
    assert {_elf_machine(library) for library in libraries} == {ELF_MACHINE_AARCH64}
