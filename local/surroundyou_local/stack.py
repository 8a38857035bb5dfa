"""The whole product on one machine: local AWS, resources from template.yaml, the HTTP front.

    LocalStack(StackOptions(port=8000)).start() -> "http://127.0.0.1:8000/"

Only AWS is replaced: the API, validation and notification handlers, the state machine definition,
the task entrypoint and the engine are the ones deployed to AWS, each running as the role the
template gives it, and the local AWS refuses what that role may not do (see iam).
"""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response

from . import moto_compat
from .http_front import S3_PREFIX, ApiFront, Front, S3Front, StaticFront
from .iam import LocalIam, template_roles
from .job_log import JobLog, stream_arn_of
from .lambda_runtime import LocalLambdaRuntime
from .local_aws import ACCESS_KEY_ID, SECRET_ACCESS_KEY, LocalAws
from .provision import LocalResources, provision
from .task_runner import TASK_ENTRYPOINT, LocalTaskRunner
from .template import LocalTemplate

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 8000  # 0 picks a free port
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    web_dist: Path | None = None  # default: <root>/web/dist
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter overrides (NAME -> value)
    root: Path = REPOSITORY_ROOT  # where template.yaml, functions/ and statemachine/ are
    template: Path | None = None  # default: <root>/template.yaml; code paths are relative to its folder
    log_dir: Path | None = None  # default: <root>/.local-stack/logs/<port>
    task_command: Sequence[str] = TASK_ENTRYPOINT


def local_parameters(origins: list[str], network: dict[str, str], overrides: dict[str, Any]) -> dict[str, Any]:
    """Template parameter values for the local run: the web app's origins, the local network's
    subnet and security group, and the overrides asked for (e.g. MaxUploadMB, OpenJobsPerClient)."""
    # Given subnets and group: the stack then builds no network of its own (CreateTaskNetwork is false).
    values: dict[str, Any] = {
        "AllowedOrigins": ",".join(origins),
        "SubnetIds": network["subnet"],
        "SecurityGroupIds": network["security_group"],
    }
    return {**values, **overrides}


def browser_host(host: str) -> str:
    """The address a browser on this machine opens: 127.0.0.1 when listening on every interface."""
    try:
        return "127.0.0.1" if ipaddress.ip_address(host).is_unspecified else host
    except ValueError:  # a name, e.g. localhost
        return host


class _LateApp:
    """The WSGI app, bound before the stack is ready (so the port is known to the resources)."""

    def __init__(self) -> None:
        self.front: Front | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if self.front is None:
            return Response("SurroundYou is starting", status=503)(environ, start_response)
        return self.front(environ, start_response)


class LocalStack:
    def __init__(self, options: StackOptions, console: TextIO = sys.stdout):
        self.options = options
        self.console = console
        self.aws = LocalAws()
        self.url = ""
        self.log_dir = Path()
        self.resources: LocalResources | None = None
        self.library: tuple[str, str] | None = None  # (bucket, prefix) BatchConvert converts from
        self.iam: LocalIam | None = None
        self._runtime: LocalLambdaRuntime | None = None
        self._app = _LateApp()
        self._server: BaseWSGIServer | None = None
        self._runner: LocalTaskRunner | None = None
        self._job_log: JobLog | None = None
        self._serving: threading.Thread | None = None

    @property
    def aws_endpoint_url(self) -> str:
        return self.aws.endpoint_url

    def bind(self) -> Path:
        """Take the port (requests get 503 until start() finishes); returns the fresh log folder."""
        options = self.options
        self._server = make_server(options.host, options.port, self._app, threaded=True)
        port = self._server.server_port
        self.url = f"http://{browser_host(options.host)}:{port}/"
        self.log_dir = options.log_dir or options.root / ".local-stack" / "logs" / str(port)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old_log in self.log_dir.glob("task-*.log"):
            old_log.unlink()
        return self.log_dir

    def start(self) -> str:
        """Start everything and serve; returns the URL a person opens."""
        options = self.options
        if self._server is None:
            self.bind()
        self.aws.start()
        # From here every call is authenticated and authorized: the stack's own as the administrator.
        self.iam = iam = LocalIam(calls_path=self.log_dir / "iam-calls.jsonl")
        iam.calls_path.unlink(missing_ok=True)
        iam.create_admin(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        self._runtime = runtime = LocalLambdaRuntime(self.aws.process_environment(), self.log_dir)
        self._runner = LocalTaskRunner(
            self.aws.process_environment(), options.workers, self.log_dir, options.task_command
        )
        moto_compat.install(runtime, self._runner, iam)

        origins = sorted(
            {
                self.url.rstrip("/"),
                *(f"http://{name}:{self._server.server_port}" for name in ("127.0.0.1", "localhost")),
            }
        )
        parameters = local_parameters(origins, self.aws.create_task_network(), options.parameters)
        template = LocalTemplate(options.template or options.root / "template.yaml", parameters)
        iam.create_roles(template_roles(template))
        # Presigned URLs the API function makes must reach S3 through this front door.
        self.resources = resources = provision(
            template, runtime, self.aws.client, iam, presign_endpoint=self.url.rstrip("/") + S3_PREFIX
        )

        for logical_id in template.resources_of_type("AWS::Serverless::Function"):
            variables = (template.properties(logical_id).get("Environment") or {}).get("Variables") or {}
            if "LIBRARY_BUCKET" in variables:
                self.library = (str(variables["LIBRARY_BUCKET"]), str(variables["LIBRARY_PREFIX"]))
        self._job_log = JobLog(
            stream_arn_of(resources.table, self.aws.client("dynamodb")),
            self.aws.client("dynamodbstreams"),
            self.console,
        )
        self._job_log.start()
        web_dist = options.web_dist or options.root / "web" / "dist"
        self._app.front = Front(
            api=ApiFront(lambda payload: runtime.invoke(resources.api.name, payload), resources.api.routes),
            s3=S3Front(self.aws.endpoint_url, iam.secret_of, resources.max_upload_bytes),
            static=StaticFront(web_dist, {"apiBaseUrl": "/api"}),
        )
        self._serving = threading.Thread(target=self._server.serve_forever, name="front", daemon=True)
        self._serving.start()
        return self.url

    def interrupt_renders(self) -> int:
        """Take back every running render task as Fargate Spot does (SIGTERM, then StopCode
        SpotInterruption). Returns how many were running."""
        return self._runner.interrupt() if self._runner is not None else 0

    def stop(self) -> None:
        """Stop taking requests, stop the running tasks (they mark their jobs FAILED; on Spot they
        leave them PROCESSING for a retry), then AWS."""
        if self._serving is not None:
            self._server.shutdown()
        if self._server is not None:
            self._server.server_close()
        if self._runner is not None:
            self._runner.stop()
        if self._runtime is not None:
            self._runtime.stop()
        if self._job_log is not None:
            self._job_log.stop()
        self.aws.stop()
        moto_compat.uninstall()
