"""The engine's render options: one frozen value that checks its own fields.

Presets and the options a person may send live with the jobs (``surroundyou_jobs.options``);
``surroundyou.job_options.render_options_for`` maps those onto this value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .curves import Curve, check_curve
from .orbit import PATHS

DIRECTIONS = ("clockwise", "counterclockwise")
MODES = ("spherical", "hrtf")
ROOMS = ("none", "small", "medium", "hall")
SYNCS = ("off", "beats")
PERIOD_RANGE_S = (1.0, 120.0)
BEATS_PER_TURN_RANGE = (2, 64)
FADE_RANGE_S = (0.0, 30.0)


@dataclass(frozen=True)
class RenderOptions:
    """How the music orbits the head.

    period_s             seconds per full turn around the head (1-120), or a curve of them:
                         breakpoints ``((t_s, period_s), ...)`` (``curves``: speed changes smoothly)
    direction            "clockwise" (front -> right -> back -> left, seen from above) or
                         "counterclockwise"
    width_deg            angle on the orbit between the left- and right-channel sources
    elevation_wobble_deg peak up/down excursion of the orbit, degrees (0 = flat)
    intensity            0-1, strength of the head cues (1 = a real head, 0 = no cues); given a
                         curve of it, the curve moves to ``intensity_curve`` and ``intensity``
                         becomes its peak: the heads run at the peak, and the effect is mixed
                         with the original stereo by value/peak (``curves.EffectEnvelope``)
    path                 the orbit's path (``orbit.PATHS``): "circle", "figure8", "wander",
                         "overhead", "arc"
    sync                 "off", or "beats": one turn every ``beats_per_turn`` beats of the song
                         (``beats``), starting on a beat; without a clear beat, ``period_s``
    beats_per_turn       2-64
    fade_in_s            the effect fades in from the original stereo over these seconds (0-30)
    fade_out_s           ... and back out to it over the song's last seconds (0-30)
    reverb               0-1 level of the room: direct-to-reverberant ratio -20 log10(reverb) dB
                         (0 = dry, no room at all); the dry renderer ignores it
    room                 the room around the head (``room``): "none", "small", "medium", "hall"
    crossover_hz         below this the bass stays centred and untouched
    mode                 "spherical" (Brown-Duda spherical head) or "hrtf" (MIT KEMAR)
    hrtf_path            HRTF mode's head: an AES69 SOFA file (SimpleFreeFieldHRIR) instead of
                         the bundled KEMAR set (``sofa``); only with mode "hrtf"
    """

    period_s: float | Curve = 8.0
    direction: str = "clockwise"
    width_deg: float = 60.0
    elevation_wobble_deg: float = 10.0
    intensity: float = 1.0
    reverb: float = 0.2
    crossover_hz: float = 120.0
    mode: str = "spherical"
    room: str = "small"
    hrtf_path: str | None = None
    path: str = "circle"
    sync: str = "off"
    beats_per_turn: int = 16
    fade_in_s: float = 3.0
    fade_out_s: float = 3.0
    intensity_curve: Curve | None = None

    def __post_init__(self) -> None:
        # curves: checked and stored as tuples of float pairs (a list from JSON compares unequal)
        for name, (low, high) in (("period_s", PERIOD_RANGE_S), ("intensity", (0.0, 1.0))):
            value: Any = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                object.__setattr__(self, name, check_curve(value, name, low, high))
        curve: Curve | None = None
        given: Any = self.intensity  # a curve at construction (the field's type is its peak's)
        if not isinstance(given, (int, float)):
            curve = given
        elif self.intensity_curve is not None:  # dataclasses.replace passes both back
            curve = check_curve(self.intensity_curve, "intensity", 0.0, 1.0)
        if curve is not None:
            object.__setattr__(self, "intensity_curve", curve)
            object.__setattr__(self, "intensity", max(v for _, v in curve))
        low_s, high_s = PERIOD_RANGE_S
        low_fade, high_fade = FADE_RANGE_S
        low_beats, high_beats = BEATS_PER_TURN_RANGE
        checks = (
            (
                not isinstance(self.period_s, (int, float)) or low_s <= self.period_s <= high_s,
                f"period_s must be {low_s:g}-{high_s:g} seconds, got {self.period_s!r}",
            ),
            (self.direction in DIRECTIONS, f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}"),
            (0 <= self.width_deg <= 180, f"width_deg must be 0-180, got {self.width_deg!r}"),
            (
                0 <= self.elevation_wobble_deg <= 45,
                f"elevation_wobble_deg must be 0-45, got {self.elevation_wobble_deg!r}",
            ),
            (0 <= self.intensity <= 1, f"intensity must be 0-1, got {self.intensity!r}"),
            (0 <= self.reverb <= 1, f"reverb must be 0-1, got {self.reverb!r}"),
            (self.crossover_hz > 0, f"crossover_hz must be positive, got {self.crossover_hz!r}"),
            (self.mode in MODES, f"mode must be one of {', '.join(MODES)}, got {self.mode!r}"),
            (self.room in ROOMS, f"room must be one of {', '.join(ROOMS)}, got {self.room!r}"),
            (self.hrtf_path is None or self.mode == "hrtf", "hrtf_path (a SOFA file) needs mode 'hrtf'"),
            (self.path in PATHS, f"path must be one of {', '.join(PATHS)}, got {self.path!r}"),
            (self.sync in SYNCS, f"sync must be one of {', '.join(SYNCS)}, got {self.sync!r}"),
            (
                isinstance(self.beats_per_turn, int)
                and not isinstance(self.beats_per_turn, bool)
                and low_beats <= self.beats_per_turn <= high_beats,
                f"beats_per_turn must be a whole number {low_beats}-{high_beats}, got {self.beats_per_turn!r}",
            ),
            (
                low_fade <= self.fade_in_s <= high_fade,
                f"fade_in_s must be {low_fade:g}-{high_fade:g} seconds, got {self.fade_in_s!r}",
            ),
            (
                low_fade <= self.fade_out_s <= high_fade,
                f"fade_out_s must be {low_fade:g}-{high_fade:g} seconds, got {self.fade_out_s!r}",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def nominal_period_s(self) -> float:
        """Seconds per turn: the number, or a curve's first value."""
        return float(self.period_s) if isinstance(self.period_s, (int, float)) else self.period_s[0][1]
