"""Fixtures of the local stack (`python -m surroundyou_local`) started as a subprocess on a free port.

    def test_x(local_stack): requests.get(local_stack + "api/presets")   # "http://127.0.0.1:PORT/"
    def test_y(local_stack_process): local_stack_process.aws_endpoint_url, .job_lines()

One stack serves the whole session. Uploads above E2E_MAX_UPLOAD_MB are refused, so the limit is
tested with a small file. The web app served is --web-dist (pytest option) or $SURROUNDYOU_WEB_DIST,
else the stack's default (web/dist).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from stack_process import LocalStackProcess, start_local_stack, stop_local_stack

E2E_MAX_UPLOAD_MB = 5
E2E_WORKERS = 2  # parallel renders, as on a 2-core machine (the five-at-once test queues some)


def pytest_addoption(parser):
    parser.addoption("--web-dist", default=None, help="built web app the local stack serves (default web/dist)")


@pytest.fixture(scope="session")
def web_dist(request) -> Path | None:
    chosen = request.config.getoption("--web-dist", default=None) or os.environ.get("SURROUNDYOU_WEB_DIST")
    return Path(chosen).resolve() if chosen else None


@pytest.fixture(scope="session")
def local_stack_process(web_dist, tmp_path_factory) -> LocalStackProcess:
    """The stack's task and function logs go to pytest's temporary folder (kept for a few runs)."""
    arguments = ["--max-upload-mb", str(E2E_MAX_UPLOAD_MB), "--workers", str(E2E_WORKERS),
                 "--log-dir", str(tmp_path_factory.mktemp("local-stack-logs"))]
    if web_dist is not None:
        arguments += ["--web-dist", str(web_dist)]
    stack = start_local_stack(*arguments)
    yield stack
    exit_code = stop_local_stack(stack)
    assert exit_code == 0, "\n".join(stack.lines[-40:])


@pytest.fixture(scope="session")
def local_stack(local_stack_process) -> str:
    """The base URL of a running local stack, e.g. "http://127.0.0.1:PORT/"."""
    return local_stack_process.url
