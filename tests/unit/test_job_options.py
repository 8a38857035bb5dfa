"""RenderOptions: the engine's typed view of the job model's presets."""
import pytest

from surroundyou.presets import RenderOptions
from surroundyou_jobs.options import PRESETS, parse_job_options


def test_default_options_are_the_classic_preset():
    assert RenderOptions() == RenderOptions.from_preset("classic") == RenderOptions.from_preset()


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds(name):
    options = RenderOptions.from_preset(name)
    assert options.period_s == PRESETS[name][1]["period_s"] and options.mode == "spherical"


def test_overrides_apply():
    options = RenderOptions.from_preset("slow", reverb=0.0, mode="hrtf")
    assert (options.period_s, options.reverb, options.mode) == (16.0, 0.0, "hrtf")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: RenderOptions.from_preset("loud"), "unknown preset 'loud'"),
    (lambda: RenderOptions.from_preset("classic", speed=2), "unknown render option"),
    (lambda: RenderOptions.from_preset("classic", period_s=0), "period_s"),
    (lambda: RenderOptions.from_preset("classic", direction="up"), "direction"),
    (lambda: RenderOptions.from_preset("classic", mode="stereo"), "mode"),
    (lambda: RenderOptions.from_preset("classic", intensity=1.5), "intensity"),
])
def test_bad_presets_and_values_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_job_options_map_onto_render_options():
    job = parse_job_options({"preset": "fast", "mode": "hrtf", "periodS": 5, "direction": "counterclockwise"})
    options = RenderOptions.from_job_options(job)
    assert (options.period_s, options.mode, options.direction, options.width_deg) == (5.0, "hrtf",
                                                                                      "counterclockwise", 50.0)
