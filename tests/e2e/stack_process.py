"""The local stack as a subprocess: `python -m surroundyou_local --port <free port> ...`.

start_local_stack(*arguments) returns once the stack prints that it is running; the process's
output is read all along (job lines collected, the pipe never fills). stop_local_stack sends
SIGTERM, as Ctrl-C would stop it, and returns the exit code.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
E2E_MAX_UPLOAD_MB = 5  # the shared stack's MaxUploadMB (conftest): small, so the limit is tested cheaply
E2E_OPEN_JOBS = 8  # OpenJobsPerClient: the tests start five songs at once from one address
STOP_TIMEOUT_S = 60.0
_READY = re.compile(r"SurroundYou is running at (http://\S+/)")
_AWS_ENDPOINT = re.compile(r"Local AWS endpoint: (http://\S+)")
_JOB_LINE = re.compile(r"^\d\d:\d\d:\d\d  [0-9a-f]{8}  [A-Z_]+ ")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalStackProcess:
    process: subprocess.Popen
    url: str = ""
    aws_endpoint_url: str = ""
    lines: list[str] = field(default_factory=list)

    def job_lines(self, job_id: str | None = None) -> list[str]:
        """The terminal's job transition lines so far (of one job when given)."""
        return [
            line for line in list(self.lines) if _JOB_LINE.match(line) and (job_id is None or line[10:18] == job_id[:8])
        ]

    def read_output(self, ready: threading.Event) -> None:
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if match := _AWS_ENDPOINT.search(line):
                self.aws_endpoint_url = match[1]
            if match := _READY.search(line):
                self.url = match[1]
                ready.set()
        ready.set()  # the process ended


def start_local_stack(*arguments: str) -> LocalStackProcess:
    """Start the stack with extra command-line ``arguments``; returns once it answers."""
    command = [sys.executable, "-m", "surroundyou_local", "--port", str(free_port()), *arguments]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
    )
    stack = LocalStackProcess(process)
    ready = threading.Event()
    threading.Thread(target=stack.read_output, args=(ready,), daemon=True).start()
    ready.wait(START_TIMEOUT_S)
    if not stack.url:
        stop_local_stack(stack)
        raise RuntimeError("the local stack did not start:\n" + "\n".join(stack.lines[-40:]))
    return stack


def stop_local_stack(stack: LocalStackProcess) -> int:
    """SIGTERM, as Ctrl-C would stop it; returns the exit code."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
    try:
        return stack.process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        raise
