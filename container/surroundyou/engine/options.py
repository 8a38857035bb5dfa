"""The engine's render options: one frozen value that checks its own fields.

Presets and the options a person may send live with the jobs (``surroundyou_jobs.options``);
``surroundyou.job_options.render_options_for`` maps those onto this value.
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("clockwise", "counterclockwise")
MODES = ("spherical", "hrtf")
ROOMS = ("none", "small", "medium", "hall")


@dataclass(frozen=True)
class RenderOptions:
    """How the music orbits the head.

    period_s             seconds per full turn around the head
    direction            "clockwise" (front -> right -> back -> left, seen from above) or
                         "counterclockwise"
    width_deg            angle on the orbit between the left- and right-channel sources
    elevation_wobble_deg peak up/down excursion of the orbit, degrees (0 = flat)
    intensity            0-1, strength of the head cues (1 = a real head, 0 = no cues)
    reverb               0-1 level of the room: direct-to-reverberant ratio -20 log10(reverb) dB
                         (0 = dry, no room at all); the dry renderer ignores it
    room                 the room around the head (``room``): "none", "small", "medium", "hall"
    crossover_hz         below this the bass stays centred and untouched
    mode                 "spherical" (Brown-Duda spherical head) or "hrtf" (MIT KEMAR)
    hrtf_path            HRTF mode's head: an AES69 SOFA file (SimpleFreeFieldHRIR) instead of
                         the bundled KEMAR set (``sofa``); only with mode "hrtf"
    """

    period_s: float = 8.0
    direction: str = "clockwise"
    width_deg: float = 60.0
    elevation_wobble_deg: float = 10.0
    intensity: float = 1.0
    reverb: float = 0.2
    crossover_hz: float = 120.0
    mode: str = "spherical"
    room: str = "small"
    hrtf_path: str | None = None

    def __post_init__(self) -> None:
        checks = (
            (self.period_s > 0, f"period_s must be positive, got {self.period_s!r}"),
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
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
