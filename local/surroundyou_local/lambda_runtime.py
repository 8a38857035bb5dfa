"""A Lambda runtime on this machine: the template's Python functions, each in a process of its own.

Like `sam local start-lambda`, without Docker: each function gets one execution environment, a
worker process (lambda_worker) started with the function's environment variables and its role's
credentials, as Lambda starts one, so every AWS call a handler makes is signed as its own role.
The worker imports the handler from the function's CodeUri once and serves one invocation at a
time; whatever escapes the handler becomes an Unhandled function error ({"errorMessage",
"errorType", "stackTrace"}), so a state machine's Catch sees the exception's class name (e.g.
"InvalidUpload") just as on AWS. An invocation that outlives the function's timeout is stopped
with the worker, which starts again for the next one, as Lambda does.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .template import ACCOUNT_ID, REGION

logger = logging.getLogger(__name__)

# What a Lambda execution environment has beside the function's own variables.
_HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
_START_TIMEOUT_S = 60.0  # an init phase longer than this is reported as the invocation's error


@dataclass
class LocalFunction:
    name: str
    command: list[str]
    environment: dict[str, str]
    timeout_s: float
    log_path: Path
    execution_environment: threading.Lock = field(default_factory=threading.Lock)
    process: subprocess.Popen | None = None
    ready: bool = False


class LocalLambdaRuntime:
    """``environment``: what every function's environment holds (endpoint, region); ``log_dir``:
    where each function's log goes (function-<name>.log)."""

    def __init__(self, environment: dict[str, str] | None = None, log_dir: Path | None = None) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self.environment = {
            **{v: os.environ[v] for v in _HOST_VARIABLES if v in os.environ},
            **(environment or {}),
        }
        self.log_dir = log_dir

    def register(
        self,
        name: str,
        code_dir: Path,
        handler: str,
        environment: dict[str, str],
        memory_mb: int = 128,
        timeout_s: float = 3.0,
    ) -> None:
        """Make ``name`` invocable and start its execution environment (its init runs meanwhile)."""
        function = LocalFunction(
            name,
            [sys.executable, "-m", "surroundyou_local.lambda_worker", str(code_dir), handler, name]
            + [f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}", str(memory_mb), str(timeout_s)],
            {
                **self.environment,
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
                **{variable: str(value) for variable, value in environment.items()},
            },
            timeout_s,
            self.log_dir / f"function-{name}.log" if self.log_dir else Path(os.devnull),
        )
        self._functions[name] = function
        self._start(function)

    def _start(self, function: LocalFunction) -> None:
        log = function.log_path.open("ab")
        try:
            function.process = subprocess.Popen(
                function.command,
                env=function.environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        finally:
            log.close()
        function.ready = False

    def handles(self, function_name: str) -> bool:
        return function_name in self._functions

    def invoke(self, function_name: str, payload: bytes) -> tuple[bytes, bool]:
        """Run the handler on the JSON ``payload``: (response payload, True if it failed)."""
        function = self._functions[function_name]
        with function.execution_environment:
            return self._run(function, payload)

    def _run(self, function: LocalFunction, payload: bytes) -> tuple[bytes, bool]:
        process = function.process
        if process is None or process.poll() is not None:
            self._start(function)
            process = function.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        if not function.ready:
            started = _read_line(process.stdout, _START_TIMEOUT_S)
            if started is None:
                return self._timed_out(function, _START_TIMEOUT_S)
            function.ready = True
        process.stdin.write(json.dumps({"payload": payload.decode() if payload else "{}"}) + "\n")
        process.stdin.flush()
        answer = _read_line(process.stdout, function.timeout_s + 1.0)
        if answer is None:
            return self._timed_out(function, function.timeout_s)
        result = json.loads(answer)
        return result["payload"].encode(), result["failed"]

    def _timed_out(self, function: LocalFunction, after_s: float) -> tuple[bytes, bool]:
        """Lambda stops an invocation at its timeout (or a dead runtime) and starts afresh."""
        self._stop(function)
        logger.info("%s timed out after %.0f s", function.name, after_s)
        error = {"errorMessage": f"Task timed out after {after_s:.2f} seconds", "errorType": "Sandbox.Timedout"}
        return json.dumps(error).encode(), True

    @staticmethod
    def _stop(function: LocalFunction) -> None:
        process = function.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        function.process, function.ready = None, False

    def stop(self) -> None:
        """End every execution environment."""
        for function in self._functions.values():
            with function.execution_environment:
                if function.process is not None and function.process.stdin is not None:
                    function.process.stdin.close()
                    try:
                        function.process.wait(5)
                    except subprocess.TimeoutExpired:
                        pass
                self._stop(function)


def _read_line(stream: IO[str], timeout_s: float) -> str | None:
    """A line from the worker within ``timeout_s``, or None (silent, or ended)."""
    ready, _, _ = select.select([stream], [], [], timeout_s)
    if not ready:
        return None
    line = stream.readline()
    return line or None
