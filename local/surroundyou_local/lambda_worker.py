"""One function's execution environment: `python -m surroundyou_local.lambda_worker CODE_DIR HANDLER
NAME ARN MEMORY_MB TIMEOUT_S`, started by lambda_runtime with the function's environment (its
variables and its role's credentials), as Lambda starts a runtime.

The handler module is imported from CODE_DIR (the function's root, like /var/task) once; then each
line on stdin is one invocation's JSON payload, and each answer one JSON line
{"payload": "...", "failed": bool} on the original stdout. What the handler prints goes to stderr
(the function's log), never into the answers.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started_s: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started_s)) * 1000))


def run(handler: Any, context: LambdaContext, payload: str) -> dict[str, Any]:
    """One invocation: the handler's result, or its exception as Lambda reports an Unhandled error."""
    try:
        result = handler(json.loads(payload or "{}"), context)
        return {"payload": json.dumps(result), "failed": False}
    except Exception as exc:  # noqa: BLE001 - whatever escapes a handler is the function's error
        print(f"{context.function_name} raised {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        error = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": context.aws_request_id,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return {"payload": json.dumps(error), "failed": True}


def main(argv: list[str]) -> int:
    code_dir, handler_name, function_name, function_arn, memory_mb, timeout_s = argv
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the handler's prints and logs go to the function's log
    sys.stdout = sys.stderr
    sys.path.insert(0, code_dir)
    module_name, attribute = handler_name.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # noqa: BLE001 - Lambda reports an import failure on every invocation
        traceback.print_exc()
        failure = {"errorMessage": f"Unable to import module '{module_name}': {exc}", "errorType": "ImportModuleError"}
        handler = None
    answers.write(json.dumps({"ready": handler is not None}) + "\n")
    for line in sys.stdin:
        if handler is None:
            answer = {"payload": json.dumps(failure), "failed": True}
        else:
            context = LambdaContext(function_name, function_arn, int(memory_mb), float(timeout_s))
            answer = run(handler, context, json.loads(line)["payload"])
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
