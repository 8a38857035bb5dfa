"""Fixtures of the local stack (`python -m surroundyou_local`) started as a subprocess on a free port.

    def test_x(local_stack): requests.get(local_stack + "api/presets")   # "http://127.0.0.1:PORT/"
    def test_y(local_stack_process): local_stack_process.aws_endpoint_url, .job_lines()

One stack serves the whole session. Uploads above E2E_MAX_UPLOAD_MB are refused, so the limit is
tested with a small file. The web app served is the stack's default, web/dist (`make web` builds it).
"""

from __future__ import annotations

import pytest
from stack_process import E2E_MAX_UPLOAD_MB, E2E_OPEN_JOBS, LocalStackProcess, start_local_stack, stop_local_stack

E2E_WORKERS = 2  # parallel renders, as on a 2-core machine (the five-at-once test queues some)


@pytest.fixture(scope="session")
def local_stack_process(tmp_path_factory) -> LocalStackProcess:
    """The stack's task and function logs go to pytest's temporary folder (kept for a few runs)."""
    arguments = [
        "--parameter",
        f"MaxUploadMB={E2E_MAX_UPLOAD_MB}",
        "--parameter",
        f"OpenJobsPerClient={E2E_OPEN_JOBS}",
        "--parameter",
        "BatchPollSeconds=1",  # a batch looks at its songs' jobs every second (AWS default: 15 s)
        "--workers",
        str(E2E_WORKERS),
        "--log-dir",
        str(tmp_path_factory.mktemp("local-stack-logs")),
    ]
    stack = start_local_stack(*arguments)
    yield stack
    exit_code = stop_local_stack(stack)
    assert exit_code == 0, "\n".join(stack.lines[-40:])


@pytest.fixture(scope="session")
def local_stack(local_stack_process) -> str:
    """The base URL of a running local stack, e.g. "http://127.0.0.1:PORT/"."""
    return local_stack_process.url
