"""RenderOptions and the one mapping onto them: a job's options (preset + overrides) -> the engine's."""

import pytest

from surroundyou.engine import options as engine_options
from surroundyou.engine.options import RenderOptions
from surroundyou.job_options import render_options_for
from surroundyou_jobs import options as job_options
from surroundyou_jobs.options import PRESETS, parse_job_options


def test_default_options_are_the_classic_preset():
    assert RenderOptions() == render_options_for({"preset": "classic"}) == render_options_for({})


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds(name):
    options = render_options_for({"preset": name})
    assert options.period_s == PRESETS[name][1]["period_s"] and options.mode == "spherical"


def test_overrides_apply():
    options = render_options_for({"preset": "slow", "reverb": 0.0, "mode": "hrtf"})
    assert (options.period_s, options.reverb, options.mode) == (16.0, 0.0, "hrtf")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: render_options_for({"preset": "loud"}), ValueError, "unknown preset 'loud'"),
        (lambda: RenderOptions(speed=2), TypeError, "speed"),
        (lambda: render_options_for({"preset": "classic", "periodS": 0}), ValueError, "period_s"),
        (lambda: render_options_for({"preset": "classic", "direction": "up"}), ValueError, "direction"),
        (lambda: render_options_for({"preset": "classic", "mode": "stereo"}), ValueError, "mode"),
        (lambda: render_options_for({"preset": "classic", "intensity": 1.5}), ValueError, "intensity"),
    ],
)
def test_bad_presets_and_values_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_job_options_map_onto_render_options():
    job = parse_job_options({"preset": "fast", "mode": "hrtf", "periodS": 5, "direction": "counterclockwise"})
    options = render_options_for(job)
    assert (options.period_s, options.mode, options.direction, options.width_deg) == (
        5.0,
        "hrtf",
        "counterclockwise",
        50.0,
    )


def test_the_job_model_offers_exactly_the_choices_the_engine_takes():
    """The API validates without the engine; both keep a list, and they must be the same list."""
    assert job_options.ROOMS == engine_options.ROOMS
    assert job_options.MODES == engine_options.MODES
    assert job_options.DIRECTIONS == engine_options.DIRECTIONS


def test_a_room_can_be_chosen_over_the_presets():
    assert render_options_for(parse_job_options({"preset": "concert", "room": "none"})).room == "none"
    assert render_options_for(parse_job_options({"preset": "classic", "room": "hall"})).room == "hall"
    with pytest.raises(job_options.InvalidOptions, match="room must be one of none, small, medium, hall"):
        parse_job_options({"room": "cathedral"})
