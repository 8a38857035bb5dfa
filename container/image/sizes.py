"""What each Python package weighs in the task image: ``python3 sizes.py SITE_PACKAGES [BEFORE_SITE_PACKAGES]``.

Sums the files each installed distribution lists in its RECORD that are still there (so what
prune.py removed does not count), in MB (10^6 bytes), largest first, as a Markdown table. With a
second site-packages folder (e.g. a full install of the same versions), a column shows what the
same distributions weigh there. On the built image (buildah):

    ctr=$(buildah from localhost/surroundyou-task:latest); root=$(buildah mount "$ctr")
    python3 container/image/sizes.py "$root"/opt/venv/lib/python3.*/site-packages .venv/lib/python3.*/site-packages
    buildah rm "$ctr"
"""

from __future__ import annotations

import sys
from importlib.metadata import distributions
from pathlib import Path


def distribution_sizes(site_packages: Path) -> dict[str, int]:
    """Bytes on disk per distribution (by its normalised name) under ``site_packages``."""
    sizes: dict[str, int] = {}
    for dist in distributions(path=[str(site_packages)]):
        name = dist.metadata["Name"].lower().replace("_", "-")
        total = 0
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        sizes[name] = sizes.get(name, 0) + total
    return sizes


def table(after: dict[str, int], before: dict[str, int] | None = None) -> str:
    header = "| package | in the image (MB) |" + (" full install (MB) |" if before else "")
    lines = [header, "|---|---:|" + ("---:|" if before else "")]
    for name, size in sorted(after.items(), key=lambda item: -item[1]):
        row = f"| {name} | {size / 1e6:.1f} |"
        if before:
            row += f" {before.get(name, 0) / 1e6:.1f} |"
        lines.append(row)
    total = f"| all packages | {sum(after.values()) / 1e6:.1f} |"
    if before:
        total += f" {sum(before.get(name, 0) for name in after) / 1e6:.1f} |"
    lines.append(total)
    return "\n".join(lines)


def main(site_packages: str, before: str | None = None) -> int:
    print(table(distribution_sizes(Path(site_packages)), distribution_sizes(Path(before)) if before else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
