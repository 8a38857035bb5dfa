"""Run every benchmark in bench/ and print their figures in one table (``make bench``).

A benchmark is a ``bench/bench_*.py`` module with a ``figures()`` function returning a list of
objects with ``name``, ``value`` and ``target`` (text; the target may be empty). Figures are
printed, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent


def main() -> int:
    table = Table(title="SurroundYou benchmarks", title_justify="left")
    for column in ("benchmark", "figure", "value", "target"):
        table.add_column(column)
    for path in sorted(BENCH.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        for figure in module.figures():
            table.add_row(path.stem, figure.name, figure.value, figure.target)
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
