"""The conversion options a job may carry: the presets and the checks on user-supplied values.

Plain Python (no numpy) so the API Lambda can validate a request without the DSP engine; the engine
turns the validated dict into its RenderOptions (surroundyou.job_options).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from .keys import OUTPUT_FORMATS

# name -> (description, parameters). Parameter meanings:
#   period_s             seconds per full turn around the head (with sync "beats", only for a
#                        song that has no clear beat)
#   direction            "clockwise" or "counterclockwise", seen from above
#   width_deg            angle on the orbit between the left- and right-channel sources
#   elevation_wobble_deg peak up/down excursion of the orbit (0 = flat)
#   intensity            0-1, how strong the head cues are (1 = a real head)
#   reverb               0-1 level of the room: direct-to-reverberant ratio -20 log10(reverb) dB
#                        (pink noise: 14 dB at 0.2); 0 turns the room off entirely
#   room                 the room around the head: "none", "small" (~0.2 s), "medium" (~0.6 s),
#                        "hall" (~2 s): early reflections through the head and a diffuse tail
#   crossover_hz         below this the bass stays centred and untouched
#   path                 the orbit's path: "circle", "figure8", "wander", "overhead", "arc"
#                        (engine/orbit.py has their formulas)
#   sync                 "off", or "beats": one turn every beats_per_turn beats of the song
#   beats_per_turn       2-64
#   fade_in_s            the effect fades in from the original stereo over these seconds, and
#   fade_out_s           back out to it over the song's last seconds
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
            path="circle",
            sync="off",
            beats_per_turn=16,
            fade_in_s=3.0,
            fade_out_s=3.0,
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
            path="circle",
            sync="off",
            beats_per_turn=16,
            fade_in_s=3.0,
            fade_out_s=3.0,
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
            path="circle",
            sync="off",
            beats_per_turn=16,
            fade_in_s=3.0,
            fade_out_s=3.0,
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
            path="circle",
            sync="off",
            beats_per_turn=16,
            fade_in_s=3.0,
            fade_out_s=3.0,
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
            path="circle",
            sync="off",
            beats_per_turn=16,
            fade_in_s=3.0,
            fade_out_s=3.0,
        ),
    ),
    "dance": (
        "Turns with the song's beat: one turn every 16 beats.",
        dict(
            period_s=8.0,
            direction="clockwise",
            width_deg=60.0,
            elevation_wobble_deg=10.0,
            intensity=1.0,
            reverb=0.2,
            crossover_hz=120.0,
            room="small",
            path="circle",
            sync="beats",
            beats_per_turn=16,
            fade_in_s=3.0,
            fade_out_s=3.0,
        ),
    ),
}
DEFAULT_PRESET = "classic"
MODES = ("spherical", "hrtf")
# what a job gets for an option it leaves out
DEFAULT_OPTIONS = {"preset": DEFAULT_PRESET, "format": "mp3", "mode": "spherical"}
DIRECTIONS = ("clockwise", "counterclockwise")
ROOMS = ("none", "small", "medium", "hall")
PATHS = ("circle", "figure8", "wander", "overhead", "arc")
SYNCS = ("off", "beats")
# how the page names each choice to a person (GET /config); the engine's docstrings say exactly
# what each one does (engine/orbit.py for the paths, engine/room.py for the rooms)
HEADS = {
    "spherical": ("Modelled head", "A rigid sphere with ear cues (Brown & Duda's model): clean and light."),
    "hrtf": (
        "Measured head (MIT KEMAR)",
        "Recordings of a dummy head's ears (MIT KEMAR): more natural, a little coloured.",
    ),
}
PATH_DESCRIPTIONS = {
    "circle": "Round and round your head: front, right, back, left.",
    "figure8": "A figure-eight: a loop around each ear, crossing in front of you.",
    "wander": "Drifts around you on a smooth, unhurried random path (the same every time).",
    "overhead": "A vertical loop: up from the front over your head to the back, then round below and out to one side back to the front.",
    "arc": "Swings from ear to ear in front of you, never behind.",
}
ROOM_DESCRIPTIONS = {
    "none": "No room: dry.",
    "small": "A small room (echoes die in about 0.2 s).",
    "medium": "A medium room (about 0.6 s).",
    "hall": "A concert hall (about 2 s).",
}
# a preview (option "preview") is this long, cut from the loudest part of the song
PREVIEW_S = 30.0
# user-facing option -> the values it may take (the engine's RenderOptions checks the same lists)
_CHOICE_OVERRIDES = {"direction": DIRECTIONS, "room": ROOMS, "path": PATHS, "sync": SYNCS}

# user-facing option -> (parameter, minimum, maximum)
_NUMERIC_OVERRIDES = {
    "periodS": ("period_s", 1.0, 120.0),
    "reverb": ("reverb", 0.0, 1.0),
    "widthDeg": ("width_deg", 0.0, 180.0),
    "intensity": ("intensity", 0.0, 1.0),
    "fadeInS": ("fade_in_s", 0.0, 30.0),
    "fadeOutS": ("fade_out_s", 0.0, 30.0),
}
# numeric options that may instead be a breakpoint curve "T:V,T:V,..." (V in the same range), each
# with an example in its range for the messages
CURVE_OPTIONS = {"periodS": "0:8,60:4", "intensity": "0:0.5,30:1"}
# user-facing whole-number option -> (parameter, minimum, maximum)
_INTEGER_OVERRIDES = {"beatsPerTurn": ("beats_per_turn", 2, 64)}
# user-facing on/off options; none of them is a render parameter (preview picks the song's window)
_BOOLEAN_OPTIONS = ("preview",)
# every option a job request may carry
OPTION_NAMES = frozenset(
    [*DEFAULT_OPTIONS, *_CHOICE_OVERRIDES, *_NUMERIC_OVERRIDES, *_INTEGER_OVERRIDES, *_BOOLEAN_OPTIONS]
)
# a curve's size limit: enough to shape a song, small enough for the job's database item
MAX_CURVE_POINTS = 64


class InvalidOptions(ValueError):
    """An option a person sent is unknown or out of range; the message says which."""


def _number_text(value: float) -> str:
    """30.0 -> "30", 0.25 -> "0.25": the shortest text that reads back as the same float."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def parse_curve(text: str, low: float = float("-inf"), high: float = float("inf")) -> tuple[tuple[float, float], ...]:
    """A breakpoint curve "T:V,T:V,..." as ((T, V), ...): T seconds into the song, V the value there.

    T >= 0 and strictly ascending (the first T need not be 0: before the first point the first
    value holds, after the last the last; between points the engine goes smoothly); every V in
    [low, high], the caller's range. Spaces around numbers are allowed. InvalidOptions says what is
    wrong and where, e.g. ``point 2 ("30:abc"): abc is not a number``.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidOptions('a curve is a list of TIME:VALUE points such as "0:8,60:4"')
    pieces = text.split(",")
    if len(pieces) > MAX_CURVE_POINTS:
        raise InvalidOptions(f"a curve may have at most {MAX_CURVE_POINTS} points, this one has {len(pieces)}")
    points: list[tuple[float, float]] = []
    for index, piece in enumerate(pieces, start=1):
        where = f'point {index} ("{piece.strip()}")'
        parts = piece.split(":")
        if len(parts) != 2:
            raise InvalidOptions(f'{where} must be TIME:VALUE, e.g. "30:4"')
        numbers = []
        for part in parts:
            try:
                number = float(part)
            except ValueError:
                raise InvalidOptions(f"{where}: {part.strip() or 'an empty field'} is not a number") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise InvalidOptions(f"{where}: {part.strip()} is not a finite number")
            numbers.append(number)
        time_s, value = numbers
        if time_s < 0:
            raise InvalidOptions(f"{where}: the time must be 0 s or later")
        if points and time_s <= points[-1][0]:
            raise InvalidOptions(
                f"{where}: the times must go up, and {_number_text(time_s)} s does not come after "
                f"{_number_text(points[-1][0])} s"
            )
        if not low <= value <= high:
            raise InvalidOptions(f"{where}: the value must be from {low:g} to {high:g}")
        points.append((time_s, value))
    return tuple(points)


def curve_text(points: tuple[tuple[float, float], ...]) -> str:
    """The canonical text of a curve, as stored on a job: parse_curve(curve_text(c)) == c."""
    return ",".join(f"{_number_text(t)}:{_number_text(v)}" for t, v in points)


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


def choice_catalog() -> dict[str, list[dict[str, str]]]:
    """The heads (by mode), paths and rooms a job may choose, each with a name and a description a
    person reads (GET /config; the page offers them by these names)."""
    return {
        "heads": [{"mode": mode, "name": name, "description": text} for mode, (name, text) in HEADS.items()],
        "paths": [{"name": name, "description": PATH_DESCRIPTIONS[name]} for name in PATHS],
        "rooms": [{"name": name, "description": ROOM_DESCRIPTIONS[name]} for name in ROOMS],
    }


def option_ranges() -> dict[str, dict[str, Any]]:
    """The bounds of every numeric option, for the page's controls (GET /config): {"min", "max",
    "integer", "curve"} per option; "curve" when the option may also be a breakpoint curve."""
    ranges = {
        name: {"min": low, "max": high, "integer": False, "curve": name in CURVE_OPTIONS}
        for name, (_, low, high) in _NUMERIC_OVERRIDES.items()
    }
    for name, (_, low_int, high_int) in _INTEGER_OVERRIDES.items():
        ranges[name] = {"min": low_int, "max": high_int, "integer": True, "curve": False}
    return ranges


def _is_number(value: Any) -> bool:
    """A finite JSON number (JSON parsers also read NaN and Infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_choice(value: Any, choices: Collection[str]) -> bool:
    """One of ``choices`` (a list or an object sent for a name must not reach ``in`` on a dict)."""
    return isinstance(value, str) and value in choices


def _parsed_number(name: str, value: Any, low: float, high: float) -> float | str:
    """A numeric option as stored on the job: a float, or for CURVE_OPTIONS a curve's canonical text."""
    if name in CURVE_OPTIONS and isinstance(value, str):
        try:
            return curve_text(parse_curve(value, low, high))
        except InvalidOptions as exc:
            raise InvalidOptions(f"{name} curve: {exc}") from None
    if not _is_number(value) or not low <= value <= high:
        also = f' or a curve such as "{CURVE_OPTIONS[name]}"' if name in CURVE_OPTIONS else ""
        raise InvalidOptions(f"{name} must be a number from {low:g} to {high:g}{also}")
    return float(value)


def parse_job_options(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Validate the ``options`` of a job request; returns the normalised dict stored on the job.

    Shape: {"preset": name, "format": "mp3"|"flac"|"wav"|"ogg", "mode": "spherical"|"hrtf",
            and optional overrides "direction", "room", "path", "sync" (choices), "periodS",
            "intensity" (a number, or a curve "T:V,..." stored as its canonical text), "reverb",
            "widthDeg", "fadeInS", "fadeOutS" (numbers), "beatsPerTurn" (a whole number) and
            "preview" (true: render 30 s from the loudest part of the song)}.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidOptions("options must be an object")
    raw = dict(raw)
    options: dict[str, Any] = {name: raw.pop(name, default) for name, default in DEFAULT_OPTIONS.items()}
    if not _is_choice(options["preset"], PRESETS):
        raise InvalidOptions(f"unknown preset {options['preset']!r}; choose one of {', '.join(PRESETS)}")
    if not _is_choice(options["format"], OUTPUT_FORMATS):
        raise InvalidOptions(f"unknown format {options['format']!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    if not _is_choice(options["mode"], MODES):
        raise InvalidOptions(f"unknown mode {options['mode']!r}; choose one of {', '.join(MODES)}")
    for name, choices in _CHOICE_OVERRIDES.items():
        if name not in raw:
            continue
        value = raw.pop(name)
        if not _is_choice(value, choices):
            raise InvalidOptions(f"{name} must be one of {', '.join(choices)}")
        options[name] = value
    for name, (_, low, high) in _NUMERIC_OVERRIDES.items():
        if name in raw:
            options[name] = _parsed_number(name, raw.pop(name), low, high)
    for name, (_, low_int, high_int) in _INTEGER_OVERRIDES.items():
        if name not in raw:
            continue
        value = raw.pop(name)
        if not _is_number(value) or value != int(value) or not low_int <= value <= high_int:
            raise InvalidOptions(f"{name} must be a whole number from {low_int} to {high_int}")
        options[name] = int(value)
    for name in _BOOLEAN_OPTIONS:
        if name not in raw:
            continue
        value = raw.pop(name)
        if not isinstance(value, bool):
            raise InvalidOptions(f"{name} must be true or false")
        options[name] = value
    if raw:
        raise InvalidOptions(f"unknown option(s): {', '.join(sorted(raw))}")
    return options


def render_parameters(options: dict[str, Any]) -> dict[str, Any]:
    """The engine parameters for validated job options: the preset's, with the overrides applied.

    Curves become ((T, V), ...) tuples; "preview" is not a render parameter (convert_file takes it).
    """
    params = dict(PRESETS[options.get("preset", DEFAULT_PRESET)][1])
    params["mode"] = options.get("mode", DEFAULT_OPTIONS["mode"])
    for name in _CHOICE_OVERRIDES:
        if name in options:
            params[name] = options[name]
    for name, (param, _, _) in _NUMERIC_OVERRIDES.items():
        if name in options:
            value = options[name]
            params[param] = parse_curve(value) if isinstance(value, str) else float(value)
    for name, (param, _, _) in _INTEGER_OVERRIDES.items():
        if name in options:
            params[param] = int(options[name])
    return params
