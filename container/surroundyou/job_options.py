"""The one mapping from a job's options onto the engine's: used by the task and the command line.

A job's options (``surroundyou_jobs.options.parse_job_options``'s shape: a preset name and
camelCase overrides) become the preset's engine parameters with the overrides applied
(``surroundyou_jobs.options.render_parameters``), checked by :class:`RenderOptions` itself.
"""

from __future__ import annotations

from typing import Any

from surroundyou.engine.options import RenderOptions
from surroundyou_jobs.options import DEFAULT_PRESET, PRESETS, render_parameters


def render_options_for(job_options: dict[str, Any]) -> RenderOptions:
    """The engine's options for ``job_options``; ValueError naming an unknown preset or a bad value."""
    preset = job_options.get("preset", DEFAULT_PRESET)
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return RenderOptions(**render_parameters(job_options))
