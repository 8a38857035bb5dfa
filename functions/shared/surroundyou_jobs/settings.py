"""Settings every component reads from its environment (the template and the local stack set them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    jobs_table: str = field(default_factory=lambda: os.environ.get("JOBS_TABLE", "surroundyou-jobs"))
    bucket: str = field(default_factory=lambda: os.environ.get("BUCKET", "surroundyou-media"))
    max_upload_bytes: int = field(default_factory=lambda: int(os.environ.get("MAX_UPLOAD_BYTES", 200_000_000)))
    max_duration_s: float = field(default_factory=lambda: float(os.environ.get("MAX_DURATION_S", 3600)))
    upload_url_expires_s: int = field(default_factory=lambda: int(os.environ.get("UPLOAD_URL_EXPIRES_S", 900)))
    download_url_expires_s: int = field(default_factory=lambda: int(os.environ.get("DOWNLOAD_URL_EXPIRES_S", 3600)))
    job_ttl_days: int = field(default_factory=lambda: int(os.environ.get("JOB_TTL_DAYS", 7)))
    allowed_origins: tuple[str, ...] = field(default_factory=lambda: _csv(os.environ.get("ALLOWED_ORIGINS", "")))
    limits_table: str = field(default_factory=lambda: os.environ.get("LIMITS_TABLE", "surroundyou-limits"))
    jobs_per_hour_per_client: int = field(default_factory=lambda: int(os.environ.get("JOBS_PER_HOUR_PER_CLIENT", 30)))
    open_jobs_per_client: int = field(default_factory=lambda: int(os.environ.get("OPEN_JOBS_PER_CLIENT", 3)))
    # the render task's: the state machine renders a job again when its task is taken back mid-song
    # (a Fargate Spot interruption), so an interrupted task leaves the job PROCESSING instead of FAILED
    renders_retried_when_interrupted: bool = field(
        default_factory=lambda: os.environ.get("RENDERS_RETRIED_WHEN_INTERRUPTED", "false") == "true"
    )
    # the render task's: it ends itself this long after it starts, whatever it is doing, past the
    # state machine's RenderAudio timeout (3600 s), which has failed the job by then
    render_deadline_s: float = field(default_factory=lambda: float(os.environ.get("RENDER_DEADLINE_S", 3660)))
