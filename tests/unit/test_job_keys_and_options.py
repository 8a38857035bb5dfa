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


def test_a_previews_key_and_download_name_say_preview_as_the_command_lines_file_name_does():
    job_id = keys.new_job_id()
    assert keys.output_key(job_id, "Café del Mar.flac", "ogg", preview=True) == (
        f"processed/{job_id}/Cafe del Mar.preview.8d.ogg"
    )
    assert keys.download_name("Café del Mar.flac", "ogg", preview=True) == "Café del Mar.preview.8d.ogg"
    assert keys.download_name("Café del Mar.flac", "ogg") == "Café del Mar.8d.ogg"


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
        # a list or an object where a name belongs, and NaN/Infinity (JSON parsers read both): 500s
        ({"preset": ["classic"]}, "unknown preset ['classic']"),
        ({"preset": {"x": 1}}, "unknown preset {'x': 1}"),
        ({"room": ["small"]}, "room must be one of"),
        ({"beatsPerTurn": float("nan")}, "beatsPerTurn must be a whole number"),
        ({"beatsPerTurn": float("inf")}, "beatsPerTurn must be a whole number"),
        ({"periodS": float("nan")}, "periodS must be a number"),
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
        "path": "circle",
        "sync": "off",
        "beatsPerTurn": 16,
        "fadeInS": 3.0,
        "fadeOutS": 3.0,
    }
    # every user override is spelled as in the catalog
    overrides = options.parse_job_options(
        {"periodS": 5, "widthDeg": 30, "intensity": 0.5, "reverb": 0.1, "path": "arc", "sync": "beats"}
        | {"beatsPerTurn": 8, "fadeInS": 1, "fadeOutS": 2, "room": "hall", "direction": "clockwise"}
    )
    assert set(overrides) - {"preset", "format", "mode"} <= set(classic)


def test_curve_reads_points_in_order_and_round_trips_through_its_canonical_text():
    curve = options.parse_curve(" 0:8, 30.5:4 ,90:12", 1, 120)
    assert curve == ((0.0, 8.0), (30.5, 4.0), (90.0, 12.0))
    assert options.curve_text(curve) == "0:8,30.5:4,90:12"
    assert options.parse_curve(options.curve_text(curve)) == curve
    # the first point need not be at 0 s; one point is a constant
    assert options.parse_curve("12:0.25", 0, 1) == ((12.0, 0.25),)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "a curve is a list of TIME:VALUE points"),
        ("0:8;30:4", 'point 1 ("0:8;30:4") must be TIME:VALUE'),
        ("0:8,30", 'point 2 ("30") must be TIME:VALUE'),
        ("0:8,x:4", 'point 2 ("x:4"): x is not a number'),
        ("0:8,30:4,30:6", "the times must go up, and 30 s does not come after 30 s"),
        ("10:8,5:4", "5 s does not come after 10 s"),
        ("-1:8", "the time must be 0 s or later"),
        ("0:8,10:121", 'point 2 ("10:121"): the value must be from 1 to 120'),
        ("0:inf", "inf is not a finite number"),
        (",".join(f"{t}:8" for t in range(65)), "at most 64 points"),
    ],
)
def test_bad_curves_are_refused_with_a_message_naming_the_point(text, fragment):
    with pytest.raises(options.InvalidOptions) as caught:
        options.parse_curve(text, 1, 120)
    assert fragment in str(caught.value)


def test_motion_options_are_validated_stored_and_mapped_onto_engine_parameters():
    raw = {
        "path": "figure8",
        "sync": "beats",
        "beatsPerTurn": 8,
        "fadeInS": 0,
        "fadeOutS": 12.5,
        "periodS": "0:8, 60:4",
        "intensity": "0:0.5,30:1",
        "preview": True,
    }
    parsed = options.parse_job_options(raw)
    # curves are stored as their canonical text (a plain string in the job's item)
    assert parsed["periodS"] == "0:8,60:4" and parsed["intensity"] == "0:0.5,30:1"
    assert parsed["beatsPerTurn"] == 8 and parsed["preview"] is True
    params = options.render_parameters(parsed)
    assert params["path"] == "figure8" and params["sync"] == "beats" and params["beats_per_turn"] == 8
    assert params["fade_in_s"] == 0.0 and params["fade_out_s"] == 12.5
    assert params["period_s"] == ((0.0, 8.0), (60.0, 4.0))
    assert params["intensity"] == ((0.0, 0.5), (30.0, 1.0))
    assert "preview" not in params
    # a number stays a number
    assert options.render_parameters(options.parse_job_options({"periodS": 6, "intensity": 1}))["period_s"] == 6.0


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"path": "spiral"}, "path must be one of circle, figure8, wander, overhead, arc"),
        ({"sync": "bars"}, "sync must be one of off, beats"),
        ({"beatsPerTurn": 1}, "beatsPerTurn must be a whole number from 2 to 64"),
        ({"beatsPerTurn": 65}, "beatsPerTurn must be a whole number from 2 to 64"),
        ({"beatsPerTurn": 8.5}, "beatsPerTurn must be a whole number"),
        ({"beatsPerTurn": "8"}, "beatsPerTurn must be a whole number"),
        ({"fadeInS": -1}, "fadeInS must be a number from 0 to 30"),
        ({"fadeOutS": 31}, "fadeOutS must be a number from 0 to 30"),
        ({"fadeOutS": "0:3"}, "fadeOutS must be a number from 0 to 30"),
        ({"periodS": 200}, 'periodS must be a number from 1 to 120 or a curve such as "0:8,60:4"'),
        ({"periodS": "0:8,10:0.5"}, 'periodS curve: point 2 ("10:0.5"): the value must be from 1 to 120'),
        ({"intensity": "0:1.5"}, "intensity curve: point 1"),
        ({"intensity": 2}, 'intensity must be a number from 0 to 1 or a curve such as "0:0.5,30:1"'),
        ({"preview": "yes"}, "preview must be true or false"),
        ({"preview": 1}, "preview must be true or false"),
    ],
)
def test_bad_motion_options_are_refused_with_a_message_naming_the_option(raw, fragment):
    with pytest.raises(options.InvalidOptions) as caught:
        options.parse_job_options(raw)
    assert fragment in str(caught.value)


def test_option_ranges_give_the_page_every_numeric_option_with_its_bounds():
    ranges = options.option_ranges()
    assert ranges["periodS"] == {"min": 1.0, "max": 120.0, "integer": False, "curve": True}
    assert ranges["beatsPerTurn"] == {"min": 2, "max": 64, "integer": True, "curve": False}
    # every bound is one parse_job_options enforces
    for name, bounds in ranges.items():
        options.parse_job_options({name: bounds["min"]})
        options.parse_job_options({name: bounds["max"]})
        with pytest.raises(options.InvalidOptions):
            options.parse_job_options({name: bounds["max"] + 1})
