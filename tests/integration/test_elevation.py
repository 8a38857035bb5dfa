"""Elevation (issue 10's paths through the heads of issue 12): both heads render any direction from
40 deg below the horizon to straight overhead without clicks, with elevation cues a listener hears.

- A vertical circle over the top of the head (40 deg below in front, up through the zenith, to
  40 deg below behind and back), 4 s per sweep: a 1 kHz sine keeps the energy outside
  1 kHz +- 50 Hz at or under -80 dB in both ears (tests/instruments.py), in both modes.
- The overhead path (engine/orbit.py) through the listener model matched against every KEMAR
  direction (tests/listener_model.py, ``sphere=True``): the heard elevation follows the path's
  (correlation >= 0.6), where the path is above 50 deg it is heard at least 45 deg up, and where
  it is more than 10 deg below the horizon (its lower half, out to the side) it is heard below
  (mean heard elevation <= -5 deg).
- A horizontal circle 30 deg below the horizon (KEMAR's -30 deg ring) is heard below: mean heard
  elevation <= -5 deg and at least 15 deg under that of the same circle on the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import instruments
import listener_model
import numpy as np
import pytest

from surroundyou.engine.render import OrbitRenderer, render
from surroundyou.job_options import render_options_for

SR = 44100
ONSET_S = 0.5


@dataclass(frozen=True)
class OverTheTop:
    """A direction sweeping the median plane: ``phi = 90 + 130 sin(2 pi n / (period sr))`` deg from the
    front horizon, over the top: in front from 40 deg below to the zenith, then behind down to 40 deg below."""

    period_s: float
    sample_rate: int

    def direction_rad(self, sample_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phi = np.radians(90.0 + 130.0 * np.sin(2 * np.pi * np.asarray(sample_index, float) / (self.period_s * SR)))
        azimuth = np.where(np.cos(phi) >= 0, 0.0, np.pi)
        return azimuth, np.arcsin(np.clip(np.sin(phi), -1.0, 1.0))


@dataclass(frozen=True)
class Ring:
    """A horizontal circle at a fixed elevation, clockwise from the front, ``period_s`` per turn."""

    period_s: float
    elevation_deg: float

    def direction_rad(self, sample_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        azimuth = 2 * np.pi * np.asarray(sample_index, float) / (self.period_s * SR)
        return azimuth, np.full_like(azimuth, np.radians(self.elevation_deg))


def render_along(audio: np.ndarray, mode: str, path: OverTheTop | Ring | None = None) -> np.ndarray:
    """The dry render with every part that follows the orbit following ``path`` (default ``OverTheTop``)."""
    options = render_options_for({"preset": "classic", "reverb": 0.0, "mode": mode})
    renderer = OrbitRenderer(SR, len(audio), options)
    sweep = OverTheTop(4.0, SR) if path is None else path
    heads = [renderer.head, getattr(renderer.head, "sources", None)]
    for part in [renderer, *heads]:
        if part is not None:
            object.__setattr__(part, "orbit", sweep)
    return np.concatenate([renderer.process(audio[:, i : i + 65536]) for i in range(0, audio.shape[1], 65536)], 1)


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_any_elevation_renders_without_clicks(signals, mode):
    sine = signals.sine(8.0 + ONSET_S, 1000.0, amplitude=0.5, sample_rate=SR, channels=2).astype(np.float32)
    ears = render_along(sine, mode)
    for ear in ears:
        assert instruments.out_of_band_db(ear, SR, 1000.0, 50.0, skip_s=ONSET_S) <= -80.0


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_the_overhead_path_is_heard_going_up(signals, mode):
    options = render_options_for({"preset": "classic", "reverb": 0.0, "mode": mode, "periodS": 8.0, "path": "overhead"})
    pink = signals.pink_noise(16.0, SR, seed=21)
    source = np.concatenate([pink, pink])
    heard = listener_model.heard(render(source, SR, options), source, SR, sphere=True)
    _, elevation = OrbitRenderer(SR, 2, options).orbit.direction_rad(np.round(heard.times_s * SR))
    elevation_deg = np.degrees(elevation)
    correlation = np.corrcoef(elevation_deg, heard.elevation_deg)[0, 1]
    up = np.median(heard.elevation_deg[elevation_deg > 50.0])
    down = np.mean(heard.elevation_deg[elevation_deg < -10.0])
    assert correlation >= 0.6 and up >= 45.0 and down <= -5.0, (mode, correlation, up, down)


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_a_circle_below_the_horizon_is_heard_below(signals, mode):
    pink = signals.pink_noise(8.0, SR, seed=21)
    source = np.concatenate([pink, pink])
    heard = {
        elevation: listener_model.heard(render_along(source, mode, Ring(8.0, elevation)), source, SR, sphere=True)
        for elevation in (0.0, -30.0)
    }
    below, level = (float(np.mean(heard[elevation].elevation_deg)) for elevation in (-30.0, 0.0))
    assert below <= -5.0 and below <= level - 15.0, (mode, below, level)
