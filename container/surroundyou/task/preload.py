"""Load the render stack on a thread while the job is claimed and its song downloaded.

The renderer, the room and the limiter import scipy (scipy.signal alone is ~0.9 s of CPU); the
task's first steps are network waits (DynamoDB, S3) that leave the CPU idle. Importing those
modules on a thread started before the claim overlaps the two, so the conversion starts with
them loaded. :func:`wait` joins the thread before the engine is used: two threads never import
the same modules at once, and an import error surfaces where the conversion would have met it.
"""

from __future__ import annotations

import importlib
import threading

RENDER_MODULES = ("surroundyou.engine.render", "surroundyou.engine.room", "surroundyou.engine.limiter")

_thread: threading.Thread | None = None


def start() -> None:
    """Start importing :data:`RENDER_MODULES` on a daemon thread (once)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_import_all, name="preload-render-stack", daemon=True)
        _thread.start()


def wait() -> None:
    """Wait for the thread :func:`start` started, if any (then the modules are imported or, had one
    failed, the conversion's own import raises the error)."""
    if _thread is not None:
        _thread.join()


def _import_all() -> None:
    for name in RENDER_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the conversion imports it again and reports the error
            return
