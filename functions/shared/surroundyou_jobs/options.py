"""The conversion options a job may carry: the presets and the checks on user-supplied values.

Plain Python (no numpy) so the API Lambda can validate a request without the DSP engine; the engine
turns the validated dict into its RenderOptions (surroundyou.job_options).
"""

from __future__ import annotations

from typing import Any

from .keys import OUTPUT_FORMATS

# name -> (description, parameters). Parameter meanings:
#   period_s             seconds per full turn around the head
#   direction            "clockwise" or "counterclockwise", seen from above
#   width_deg            angle on the orbit between the left- and right-channel sources
#   elevation_wobble_deg peak up/down excursion of the orbit (0 = flat)
#   intensity            0-1, how strong the head cues are (1 = a real head)
#   reverb               0-1 level of the room: direct-to-reverberant ratio -20 log10(reverb) dB
#                        (pink noise: 14 dB at 0.2); 0 turns the room off entirely
#   room                 the room around the head: "none", "small" (~0.2 s), "medium" (~0.6 s),
#                        "hall" (~2 s): early reflections through the head and a diffuse tail
#   crossover_hz         below this the bass stays centred and untouched
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "classic": (
        "One turn every 8 seconds with a touch of room.",
        dict(
            period_s=8.0,
            direction="clockwise",
            width_deg=60.0,
            elevation_wobble_deg=10.0,
            intensity=1.0,
            reverb=0.2,
            crossover_hz=120.0,
            room="small",
        ),
    ),
    "slow": (
        "A lazy orbit, one turn every 16 seconds.",
        dict(
            period_s=16.0,
            direction="clockwise",
            width_deg=60.0,
            elevation_wobble_deg=8.0,
            intensity=1.0,
            reverb=0.25,
            crossover_hz=120.0,
            room="medium",
        ),
    ),
    "fast": (
        "A quick spin, one turn every 4 seconds.",
        dict(
            period_s=4.0,
            direction="clockwise",
            width_deg=50.0,
            elevation_wobble_deg=0.0,
            intensity=1.0,
            reverb=0.15,
            crossover_hz=120.0,
            room="small",
        ),
    ),
    "subtle": (
        "Gentle movement that keeps the mix's own width.",
        dict(
            period_s=10.0,
            direction="clockwise",
            width_deg=90.0,
            elevation_wobble_deg=0.0,
            intensity=0.6,
            reverb=0.15,
            crossover_hz=150.0,
            room="small",
        ),
    ),
    "concert": (
        "A wide orbit in a bigger room.",
        dict(
            period_s=12.0,
            direction="counterclockwise",
            width_deg=80.0,
            elevation_wobble_deg=12.0,
            intensity=1.0,
            reverb=0.45,
            crossover_hz=120.0,
            room="hall",
        ),
    ),
}
DEFAULT_PRESET = "classic"
MODES = ("spherical", "hrtf")
# what a job gets for an option it leaves out
DEFAULT_OPTIONS = {"preset": DEFAULT_PRESET, "format": "mp3", "mode": "spherical"}
DIRECTIONS = ("clockwise", "counterclockwise")
ROOMS = ("none", "small", "medium", "hall")
# user-facing option -> the values it may take (the engine's RenderOptions checks the same lists)
_CHOICE_OVERRIDES = {"direction": DIRECTIONS, "room": ROOMS}

# user-facing option -> (parameter, minimum, maximum)
_NUMERIC_OVERRIDES = {
    "periodS": ("period_s", 1.0, 120.0),
    "reverb": ("reverb", 0.0, 1.0),
    "widthDeg": ("width_deg", 0.0, 180.0),
    "intensity": ("intensity", 0.0, 1.0),
}


class InvalidOptions(ValueError):
    """An option a person sent is unknown or out of range; the message says which."""


def _camel_case(name: str) -> str:
    """period_s -> periodS: the API's spelling of an engine parameter."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def preset_catalog() -> list[dict[str, Any]]:
    """The presets as the API and the web app list them, parameters named as the job options are."""
    return [
        {"name": name, "description": text, **{_camel_case(k): v for k, v in params.items()}}
        for name, (text, params) in PRESETS.items()
    ]


def parse_job_options(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Validate the ``options`` of a job request; returns the normalised dict stored on the job.

    Shape: {"preset": name, "format": "mp3"|"flac"|"wav"|"ogg", "mode": "spherical"|"hrtf",
            and optional overrides "periodS", "reverb", "widthDeg", "intensity", "direction", "room"}.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidOptions("options must be an object")
    raw = dict(raw)
    options: dict[str, Any] = {name: raw.pop(name, default) for name, default in DEFAULT_OPTIONS.items()}
    if options["preset"] not in PRESETS:
        raise InvalidOptions(f"unknown preset {options['preset']!r}; choose one of {', '.join(PRESETS)}")
    if options["format"] not in OUTPUT_FORMATS:
        raise InvalidOptions(f"unknown format {options['format']!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    if options["mode"] not in MODES:
        raise InvalidOptions(f"unknown mode {options['mode']!r}; choose one of {', '.join(MODES)}")
    for name, choices in _CHOICE_OVERRIDES.items():
        if name not in raw:
            continue
        value = raw.pop(name)
        if value not in choices:
            raise InvalidOptions(f"{name} must be one of {', '.join(choices)}")
        options[name] = value
    for name, (_, low, high) in _NUMERIC_OVERRIDES.items():
        if name not in raw:
            continue
        value = raw.pop(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise InvalidOptions(f"{name} must be a number from {low:g} to {high:g}")
        options[name] = float(value)
    if raw:
        raise InvalidOptions(f"unknown option(s): {', '.join(sorted(raw))}")
    return options


def render_parameters(options: dict[str, Any]) -> dict[str, Any]:
    """The engine parameters for validated job options: the preset's, with the overrides applied."""
    params = dict(PRESETS[options.get("preset", DEFAULT_PRESET)][1])
    params["mode"] = options.get("mode", DEFAULT_OPTIONS["mode"])
    for name in _CHOICE_OVERRIDES:
        if name in options:
            params[name] = options[name]
    for name, (param, _, _) in _NUMERIC_OVERRIDES.items():
        if name in options:
            params[param] = float(options[name])
    return params
