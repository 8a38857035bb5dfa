"""Local stand-in for Fargate: each ECS task runs the container's entrypoint as a local process.

At most ``workers`` processes run at once; further tasks wait in submission order (ECS reports
them PENDING) and none is dropped. A process gets the environment its container would get (the
task definition's variables and the run's overrides, set by the caller) plus what a container
image brings: PATH, the Python interpreter, credentials and the AWS endpoint.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

# The container image's entrypoint (container/Dockerfile), run with this interpreter.
TASK_ENTRYPOINT = (sys.executable, "-m", "surroundyou.task")
# What the image itself provides beside the task's variables; the rest of the host's environment
# stays out, as it would in a container.
_HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
STOP_TIMEOUT_S = 30.0  # ECS's default stopTimeout between SIGTERM and SIGKILL
SPOT_INTERRUPTION = "SpotInterruption"  # the stop code of a task Fargate Spot took back
USER_INITIATED = "UserInitiated"  # the stop code of a task stopped by ecs:StopTask

# (lastStatus, exit code, reason: why it never ran, or the stop code of a task stopped from outside)
OnChange = Callable[[str, "int | None", str], None]


class LocalTaskRunner:
    def __init__(
        self, runtime_environ: dict[str, str], workers: int, log_dir: Path, command: Sequence[str] = TASK_ENTRYPOINT
    ):
        self.command = tuple(command)
        self.runtime_environ = {**{v: os.environ[v] for v in _HOST_VARIABLES if v in os.environ}, **runtime_environ}
        self.log_dir = log_dir
        self._queue: queue.Queue[tuple[str, dict[str, str], OnChange] | None] = queue.Queue()
        self._running: dict[str, subprocess.Popen] = {}
        self._waiting: set[str] = set()  # submitted, not started yet
        self._stop_codes: dict[str, str] = {}  # tasks stopped from outside, running or still waiting
        self._lock = threading.Lock()
        self._stopping = False
        self._workers = [
            threading.Thread(target=self._work, name=f"ecs-worker-{i}", daemon=True) for i in range(max(1, workers))
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, task_id: str, environ: dict[str, str], on_change: OnChange) -> None:
        if self._stopping:
            on_change("STOPPED", None, "the local stack is stopping")
            return
        with self._lock:
            self._waiting.add(task_id)
        self._queue.put((task_id, environ, on_change))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            task_id, environ, on_change = item
            if self._stopping:
                on_change("STOPPED", None, "the local stack is stopping")
                continue
            with self._lock:
                stop_code = self._stop_codes.pop(task_id, None)
                if stop_code is not None:  # stopped while it waited: it never runs
                    self._waiting.discard(task_id)
            if stop_code is None:
                self._run(task_id, environ, on_change)
            else:
                on_change("STOPPED", None, stop_code)

    def _run(self, task_id: str, environ: dict[str, str], on_change: OnChange) -> None:
        log_path = self.log_dir / f"task-{task_id}.log"
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
                    self.command,
                    env={**self.runtime_environ, **environ},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            except OSError as exc:  # ECS: CannotStartContainerError
                with self._lock:
                    self._waiting.discard(task_id)
                    self._stop_codes.pop(task_id, None)
                on_change("STOPPED", None, f"CannotStartContainerError: {exc}")
                return
            with self._lock:
                self._running[task_id] = process
                self._waiting.discard(task_id)
                if self._stopping or task_id in self._stop_codes:  # stopped between the queue and the start
                    _terminate(process)
            on_change("RUNNING", None, "")
            exit_code = process.wait()
            with self._lock:
                del self._running[task_id]
                reason = self._stop_codes.pop(task_id, "")
        # A process killed by a signal reports -N; a container reports 128+N.
        exit_code = 128 - exit_code if exit_code < 0 else exit_code
        logger.info("task %s exited %s (log: %s)", task_id, exit_code, log_path)
        on_change("STOPPED", exit_code, reason)

    def interrupt(self) -> int:
        """Take back every running task as Fargate Spot does: SIGTERM, then SIGKILL after the stop
        timeout, and the task stops with StopCode SpotInterruption. Returns how many were running."""
        with self._lock:
            running = dict(self._running)
            self._stop_codes.update(dict.fromkeys(running, SPOT_INTERRUPTION))
        for process in running.values():
            _terminate(process)
        return len(running)

    def stop_task(self, task_id: str) -> bool:
        """ecs:StopTask: the task's process gets SIGTERM, then SIGKILL after the stop timeout, and
        stops with StopCode UserInitiated; a task still waiting for a worker never starts. False for
        a task this runner is not running or holding."""
        with self._lock:
            process = self._running.get(task_id)
            if process is None and task_id not in self._waiting:
                return False
            self._stop_codes[task_id] = USER_INITIATED
        if process is not None:
            _terminate(process)
        return True

    def stop(self) -> None:
        """Refuse new tasks, drop queued ones, stop the running ones as ECS does (SIGTERM, then
        SIGKILL after the stop timeout) and wait for them."""
        self._stopping = True
        for _ in self._workers:
            self._queue.put(None)
        with self._lock:
            running = list(self._running.values())
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
        for worker in self._workers:
            worker.join(STOP_TIMEOUT_S)


def _terminate(process: subprocess.Popen) -> None:
    """Stop a task's process as ECS stops a container: SIGTERM, then SIGKILL after the stop timeout."""
    process.send_signal(signal.SIGTERM)
    killer = threading.Timer(STOP_TIMEOUT_S, lambda: process.poll() is None and process.kill())
    killer.daemon = True
    killer.start()
