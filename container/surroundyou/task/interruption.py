"""SIGTERM/SIGINT (Fargate stopping the task, a Spot interruption, Ctrl-C) as an exception."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


class Interrupted(BaseException):
    """A stop signal arrived. A BaseException, like KeyboardInterrupt, so that no ``except Exception``
    in the engine or in boto3 swallows it on its way up to run_job."""


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM/SIGINT raise Interrupted in the main thread, once; a second signal is ignored so it
    cannot cut short the FAILED write (ECS follows up with SIGKILL after its stop timeout anyway)."""

    def interrupt(signum: int, _frame: Any) -> None:
        for ignored in (signal.SIGTERM, signal.SIGINT):
            signal.signal(ignored, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
