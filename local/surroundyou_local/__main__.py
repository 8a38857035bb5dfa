"""`python -m surroundyou_local`: run SurroundYou on this machine (what `make run` starts).

Prints where the local AWS endpoint is, a line an owner pastes into a shell to use it as the
account's administrator (`export AWS_ENDPOINT_URL=... AWS_ACCESS_KEY_ID=...`), where the logs are,
then one line "SurroundYou is running at http://127.0.0.1:PORT/" once it answers, then one line
per job transition. Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import select
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import TextIO

from .stack import REPOSITORY_ROOT, LocalStack, StackOptions


def template_parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m surroundyou_local", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the SAM template to run (default template.yaml); CodeUri and DefinitionUri are relative to it",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port of the web app and API (default 8000; 0 = any free port)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="songs rendered at once; more wait in line (default: number of cores)",
    )
    parser.add_argument(
        "--web-dist",
        type=Path,
        default=REPOSITORY_ROOT / "web" / "dist",
        help="built web app to serve (default web/dist)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        type=template_parameter,
        metavar="NAME=VALUE",
        help="a template parameter for this run, e.g. MaxUploadMB=5 or OpenJobsPerClient=10 (repeatable)",
    )
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="where task and function logs go (default .local-stack/logs/<port>)"
    )
    return parser.parse_args(argv)


def owner_line(environment: dict[str, str]) -> str:
    """One line to paste into a shell: the local AWS, as the account's administrator."""
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return "export " + " ".join(f"{name}={shlex.quote(environment[name])}" for name in names)


def batch_hint(bucket: str, prefix: str) -> str:
    """How the owner converts a library folder on this stack (after pasting the export line)."""
    return (
        f"Convert a library: aws s3 cp --recursive SONGS/ s3://{bucket}/{prefix}albums/ && "
        ".venv/bin/surroundyou batch start --prefix albums/ --wait"
    )


def _log_to(stream: TextIO) -> None:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for logger in (logging.getLogger(), logging.getLogger("surroundyou_local")):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    # Powertools filters the root logger's handlers against every logger whose name contains its
    # service name ("surroundyou"), which would silence this package: it logs through its own.
    logging.getLogger("surroundyou_local").propagate = False
    logging.getLogger("moto").setLevel(logging.ERROR)  # the interpreter logs whole ASTs as warnings
    logging.captureWarnings(True)


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def _wait_for_a_signal() -> None:
    """Sleep until SIGINT/SIGTERM, whose handler raises KeyboardInterrupt here.

    Not signal.pause(): with the servers' threads running, the kernel may hand the signal to any
    thread, and a main thread in pause() would sleep on. The wakeup fd wakes it whichever thread
    took the signal; Python then runs the handler in the main thread.
    """
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    while True:
        select.select([reader], [], [])
        reader.recv(64)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The terminal shows the stack's own lines; what the functions and servers print goes to a log.
    console = sys.stdout
    stack = LocalStack(
        StackOptions(
            host=args.host,
            port=args.port,
            workers=args.workers,
            web_dist=args.web_dist,
            parameters=dict(args.parameter),
            log_dir=args.log_dir,
            template=args.template,
        ),
        console=console,
    )
    log_dir = stack.bind()  # a port in use: werkzeug says so and exits
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Explicitly: a shell starting us in the background would have us ignore Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    log = (log_dir / "stack.log").open("w")
    try:
        sys.stdout = log
        _log_to(log)
        url = stack.start()
        print(f"Local AWS endpoint: {stack.aws_endpoint_url}  (as the account's admin, for the aws CLI:)", file=console)
        print(owner_line(stack.aws.owner_environment()), file=console)
        print(f"Logs: {log_dir}", file=console)
        if stack.library is not None:
            print(batch_hint(*stack.library), file=console)
        print(f"SurroundYou is running at {url}", file=console, flush=True)
        _wait_for_a_signal()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping SurroundYou...", file=console, flush=True)
        stack.stop()
        sys.stdout = console
        log.close()
        # Everything is stopped; spare the interpreter's exit a garbage collection over moto's
        # objects (seconds on a busy machine).
        gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
