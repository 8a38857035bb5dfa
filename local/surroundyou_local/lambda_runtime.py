"""A Lambda runtime in this process: the template's Python functions, run as AWS would run them.

Like `sam local start-lambda`, without Docker: the handler module is imported from the function's
CodeUri, called with the event and a context object, and whatever escapes it becomes an Unhandled
function error ({"errorMessage", "errorType", "stackTrace"}), so a state machine's Catch sees the
exception's class name (e.g. "InvalidUpload") just as on AWS.

Each function has one execution environment: it serves one invocation at a time, as a Lambda
environment does, so handler module state (Powertools' logger keys, cached boto3 resources) is
never shared by two requests at once. All functions share this process's environment variables
and its module table: registering two functions that need different values for one variable, or
that ship modules of the same name, is refused rather than silently mixed.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .template import ACCOUNT_ID, REGION

logger = logging.getLogger(__name__)


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started_s: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started_s)) * 1000))


@dataclass
class LocalFunction:
    name: str
    handler: Callable[[Any, LambdaContext], Any]
    memory_mb: int
    timeout_s: float
    execution_environment: threading.Lock = field(default_factory=threading.Lock)


class ConflictingFunctions(RuntimeError):
    """Two in-process functions need different values for one environment variable, or bring
    modules of the same name."""


class LocalLambdaRuntime:
    def __init__(self) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self._environment: dict[str, tuple[str, str]] = {}  # variable -> (value, function)
        self._modules: dict[str, str] = {}  # top-level module name -> function
        self._import_lock = threading.Lock()

    def register(
        self,
        name: str,
        code_dir: Path,
        handler: str,
        environment: dict[str, str],
        memory_mb: int = 128,
        timeout_s: float = 3.0,
    ) -> None:
        """Make ``name`` invocable: set its environment, import its handler ("module.function")."""
        for variable, value in environment.items():
            value = str(value)
            known = self._environment.get(variable)
            if known is not None and known[0] != value:
                raise ConflictingFunctions(
                    f"{name} needs {variable}={value!r} but {known[1]} needs {known[0]!r}; "
                    "the local stack runs every function in one process"
                )
            self._environment[variable] = (value, name)
            os.environ[variable] = value
        module_name, function_name = handler.rsplit(".", 1)
        self._claim_modules(name, code_dir, handler_module=module_name)
        module = self._import(name, code_dir, module_name)
        self._functions[name] = LocalFunction(name, getattr(module, function_name), memory_mb, timeout_s)

    def _claim_modules(self, function: str, code_dir: Path, handler_module: str) -> None:
        """The handler's siblings load under their own names (``import jobs_api``): one module
        name may belong to one function only. The handler module gets a name of its own."""
        names = {path.stem for path in code_dir.glob("*.py")} | {
            path.parent.name for path in code_dir.glob("*/__init__.py")
        }
        for module in sorted(names - {handler_module}):
            owner = self._modules.setdefault(module, function)
            if owner != function:
                raise ConflictingFunctions(f"{function} and {owner} both bring a module named {module!r}")

    def _import(self, function: str, code_dir: Path, module_name: str) -> ModuleType:
        """Import ``module_name`` from ``code_dir`` under a name of its own, as Lambda would with
        the code directory as its root (siblings importable while the module loads)."""
        source = code_dir / f"{module_name.replace('.', '/')}.py"
        unique_name = f"surroundyou_local_functions.{function}.{module_name}"
        spec = importlib.util.spec_from_file_location(unique_name, source)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"{function}: no handler module {source}")
        module = importlib.util.module_from_spec(spec)
        with self._import_lock:
            sys.path.insert(0, str(code_dir))
            try:
                sys.modules[unique_name] = module
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(code_dir))
        return module

    def handles(self, function_name: str) -> bool:
        return function_name in self._functions

    def invoke(self, function_name: str, payload: bytes) -> tuple[bytes, bool]:
        """Run the handler on the JSON ``payload``: (response payload, True if it failed)."""
        function = self._functions[function_name]
        with function.execution_environment:
            return self._run(function, payload)

    @staticmethod
    def _run(function: LocalFunction, payload: bytes) -> tuple[bytes, bool]:
        context = LambdaContext(function.name, function.memory_mb, function.timeout_s)
        try:
            event = json.loads(payload or b"{}")
            result = function.handler(event, context)
            return json.dumps(result).encode(), False
        except Exception as exc:  # noqa: BLE001 - whatever escapes a handler is the function's error
            logger.info("%s raised %s: %s", function.name, type(exc).__name__, exc)
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return json.dumps(error).encode(), True
