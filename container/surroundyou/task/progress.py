"""The job's progress (0-99) in its item while the task works; 100 comes with READY (notify)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from surroundyou_jobs.model import JobStore

from . import logger

# Converting runs 0 -> CONVERTED_PROGRESS; the upload takes it to UPLOADED_PROGRESS.
CONVERTED_PROGRESS = 95
UPLOADED_PROGRESS = 99


class ProgressReporter:
    """Writes the job's progress into its item, throttled.

    A write happens only when the progress rose by at least ``min_step`` points since the last write
    and at least ``min_interval_s`` has passed: the web app polls about once a second, and each
    write is a billed DynamoDB request. ``write(..., force=True)`` skips the throttle for the
    milestones (converted, uploaded). A failed write is logged, never fatal to the job.
    """

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        *,
        min_step: int = 5,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.job_id = job_id
        self.min_step = min_step
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.written = 0  # the claim (QUEUED -> PROCESSING) left progress at 0
        self._written_at_s = clock()

    def conversion(self, fraction: float) -> None:
        """The engine's ``progress`` callback: fraction 0..1 of the conversion."""
        self.write(math.floor(min(max(fraction, 0.0), 1.0) * CONVERTED_PROGRESS))

    def write(self, progress: int, *, force: bool = False) -> None:
        now_s = self.clock()
        if progress <= self.written:
            return
        if not force and (progress - self.written < self.min_step or now_s - self._written_at_s < self.min_interval_s):
            return
        try:
            self.store.set_progress(self.job_id, progress)
        except Exception:  # noqa: BLE001 - progress is cosmetic; the conversion goes on
            logger.warning("could not write progress", exc_info=True, extra={"progress": progress})
            return
        self.written = progress
        self._written_at_s = now_s
