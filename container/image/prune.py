"""Remove what the task never loads from the image's virtualenv: ``python prune.py /opt/venv``.

Run in the image's build stage after each ``pip install`` (container/Dockerfile). It removes:
- test suites shipped inside packages (``tests/`` folders: numpy's and scipy's are ~25 MB);
- C headers, Cython declarations and static libraries (``include/``, ``*.h``, ``*.pxd``, ``*.a``):
  they serve compiling against a package, which the runtime never does;
- botocore's models of the ~400 AWS services the task never calls (it calls S3 and DynamoDB;
  STS and the SSO pair stay for credential providers that may ask for them);
- boto3's resource models except DynamoDB's (the job store uses ``boto3.resource("dynamodb")``);
- whole subpackages that no conversion loads (found by listing ``sys.modules`` after converting MP3,
  WAV, FLAC and M4A inputs to every output format in both render modes, with the task's boto3
  clients made): scipy's io, odr, cluster, fftpack, datasets and differentiate (scipy.signal pulls in
  the rest of scipy), Powertools' event handler and every utility but jmespath_utils (the Logger
  imports only that one). numpy.f2py stays: scipy's array API layer star-imports numpy, which loads it;
- imageio-ffmpeg's ffmpeg build (165 MB, every video codec): the image carries an audio-only ffmpeg
  of its own (container/image/ffmpeg.sh) and points imageio-ffmpeg at it (IMAGEIO_FFMPEG_EXE).
The compiled ``.pyc`` files of everything kept stay: the root file system is read-only on ECS, so a
missing ``.pyc`` would be recompiled in memory at every start.

Prints what it removed, in MB.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

BOTOCORE_SERVICES = {"s3", "dynamodb", "sts", "sso", "sso-oidc"}
BOTO3_RESOURCES = {"dynamodb"}
DEAD_DIRECTORIES = {"tests", "include"}
UNLOADED_SUBPACKAGES = {
    "scipy": {"io", "odr", "cluster", "fftpack", "datasets", "differentiate"},
    "aws_lambda_powertools": {"event_handler"},
}
POWERTOOLS_UTILITIES_KEPT = {"__init__.py", "jmespath_utils", "__pycache__"}
DEAD_SUFFIXES = {".h", ".hpp", ".pxd", ".pyx", ".a", ".mm"}


def size_bytes(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(child.lstat().st_size for child in path.rglob("*") if child.is_file() or child.is_symlink())


def dead_paths(site_packages: Path) -> list[Path]:
    """Everything under ``site_packages`` that the task never loads (see the module docstring)."""
    dead: list[Path] = []
    for package in site_packages.iterdir():
        if not package.is_dir() or package.name.endswith((".dist-info", ".libs")):
            continue
        for path in package.rglob("*"):
            if any(parent in dead for parent in path.parents):
                continue
            if path.is_dir() and path.name in DEAD_DIRECTORIES:
                dead.append(path)
            elif path.is_file() and path.suffix in DEAD_SUFFIXES:
                dead.append(path)
    botocore_data = site_packages / "botocore" / "data"
    if botocore_data.is_dir():
        dead += [path for path in botocore_data.iterdir() if path.is_dir() and path.name not in BOTOCORE_SERVICES]
    boto3_data = site_packages / "boto3" / "data"
    if boto3_data.is_dir():
        dead += [path for path in boto3_data.iterdir() if path.is_dir() and path.name not in BOTO3_RESOURCES]
    for package, subpackages in UNLOADED_SUBPACKAGES.items():
        dead += [
            site_packages / package / name for name in sorted(subpackages) if (site_packages / package / name).exists()
        ]
    utilities = site_packages / "aws_lambda_powertools" / "utilities"
    if utilities.is_dir():
        dead += [path for path in sorted(utilities.iterdir()) if path.name not in POWERTOOLS_UTILITIES_KEPT]
    dead += sorted((site_packages / "imageio_ffmpeg" / "binaries").glob("ffmpeg-*"))
    return dead


def main(venv: str) -> int:
    (site_packages,) = Path(venv).glob("lib/python3*/site-packages")
    removed = 0
    for path in dead_paths(site_packages):
        if not path.exists():  # inside a folder removed before it
            continue
        removed += size_bytes(path)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    print(f"prune: removed {removed / 1e6:.1f} MB from {site_packages}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
