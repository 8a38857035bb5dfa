"""The S3 key scheme and the job options: what the server accepts and what it makes."""

import pytest

from surroundyou_jobs import keys, options


def test_input_key_round_trips_and_rejects_other_keys():
    job_id = keys.new_job_id()
    assert keys.is_job_id(job_id)
    key = keys.input_key(job_id, "flac")
    assert key == f"uploads/{job_id}/source.flac"
    assert keys.parse_input_key(key) == (job_id, "flac")
    for bad in (
        f"processed/{job_id}/x.8d.mp3",
        f"uploads/{job_id}/../x.mp3",
        "uploads/not-a-job/source.mp3",
        f"uploads/{job_id}/source.mp3/extra",
    ):
        with pytest.raises(ValueError):
            keys.parse_input_key(bad)


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("My Song.mp3", "My Song"),
        ("Café del Mar.flac", "Cafe del Mar"),
        ("../../etc/passwd.mp3", "passwd"),
        ("C:\\Users\\me\\Bad<>:name?.wav", "Badname"),
        ("...", "song"),
        ("???.flac", "song"),
    ],
)
def test_output_key_keeps_only_a_safe_stem(filename, expected):
    job_id = keys.new_job_id()
    assert keys.output_key(job_id, filename, "mp3") == f"processed/{job_id}/{expected}.8d.mp3"


def test_extension_is_lower_case_without_dot():
    assert keys.extension_of("Track.FLAC") == "flac"
    assert keys.extension_of("noext") == ""


def test_default_options_are_the_classic_preset():
    parsed = options.parse_job_options(None)
    assert parsed == {"preset": "classic", "format": "mp3", "mode": "spherical"}
    assert options.render_parameters(parsed) == {**options.PRESETS["classic"][1], "mode": "spherical"}


def test_overrides_replace_preset_values():
    parsed = options.parse_job_options({"preset": "slow", "periodS": 5, "reverb": 0, "direction": "counterclockwise"})
    params = options.render_parameters(parsed)
    assert params["period_s"] == 5.0 and params["reverb"] == 0.0
    assert params["direction"] == "counterclockwise"
    assert params["width_deg"] == options.PRESETS["slow"][1]["width_deg"]


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"preset": "loud"}, "unknown preset 'loud'"),
        ({"format": "aac"}, "unknown format 'aac'"),
        ({"periodS": 0.1}, "periodS must be a number from 1 to 120"),
        ({"reverb": True}, "reverb must be a number"),
        ({"reverb": "0.5"}, "reverb must be a number"),
        ({"volume": 11}, "unknown option(s): volume"),
        ({"direction": "up"}, "direction must be one of"),
        (["classic"], "options must be an object"),
    ],
)
def test_bad_options_are_refused_with_a_message_naming_the_problem(raw, fragment):
    with pytest.raises(options.InvalidOptions, match=None) as caught:
        options.parse_job_options(raw)
    assert fragment in str(caught.value)


def test_catalog_lists_every_preset_with_its_parameters():
    catalog = options.preset_catalog()
    assert [p["name"] for p in catalog] == list(options.PRESETS)
    assert {"classic", "slow", "fast", "subtle", "concert"} <= {p["name"] for p in catalog}
    assert all(p["description"] and p["periodS"] > 0 for p in catalog)


def test_catalog_names_each_parameter_as_the_job_options_do():
    classic = next(p for p in options.preset_catalog() if p["name"] == "classic")
    assert classic == {
        "name": "classic",
        "description": options.PRESETS["classic"][0],
        "periodS": 8.0,
        "direction": "clockwise",
        "widthDeg": 60.0,
        "elevationWobbleDeg": 10.0,
        "intensity": 1.0,
        "reverb": 0.2,
        "crossoverHz": 120.0,
        "room": "small",
    }
    # every user override is spelled as in the catalog
    overrides = options.parse_job_options({"periodS": 5, "widthDeg": 30, "intensity": 0.5, "reverb": 0.1})
    assert set(overrides) - {"preset", "format", "mode"} <= set(classic)
