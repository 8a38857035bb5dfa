"""The whole product on one machine, used over HTTP the way the web app uses it.

The stack runs as a subprocess (conftest.local_stack): the real API handler, state machine,
validation and notification handlers, task entrypoint and engine; only AWS is moto.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests
from browser_client import (
    SAMPLE_RATE,
    convert,
    create_job,
    dominant_frequency_hz,
    download,
    get_config,
    get_job,
    pink_noise_song,
    read_audio,
    tone_song,
    upload,
)
from stack_process import E2E_MAX_UPLOAD_MB, start_local_stack, stop_local_stack

from surroundyou.engine.analysis import measure_orbit
from surroundyou_jobs.keys import output_key
from surroundyou_jobs.model import JobResult
from surroundyou_jobs.options import PRESETS
from surroundyou_local.local_aws import ACCESS_KEY_ID, SECRET_ACCESS_KEY

pytestmark = pytest.mark.slow

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "convert.asl.json"
SONG_S = 8.0  # two turns of the "fast" preset
PRESET = "fast"
MP3_FRAME = 1152  # samples per MP3 frame: encoder and decoder pad and trim in these units
FIVE_TONES_HZ = (330.0, 440.0, 550.0, 660.0, 770.0)


@pytest.fixture(scope="module")
def converted_song(local_stack, tmp_path_factory):
    """One song through the whole pipeline: the input, the job's views while polling, the result."""
    folder = tmp_path_factory.mktemp("song")
    song = pink_noise_song(folder / "Evening Walk.mp3", SONG_S)
    started_s = time.monotonic()
    # no fades (presets fade the effect in and out over 3 s), so both turns are measured whole
    job, views = convert(local_stack, song, options={"preset": PRESET, "fadeInS": 0, "fadeOutS": 0})
    elapsed_s = time.monotonic() - started_s
    print(f"\n{SONG_S:.0f} s song: upload to READY in {elapsed_s:.1f} s")
    return {"job": job, "views": views, "input": read_audio(song.read_bytes(), folder / "input.mp3"), "folder": folder}


def test_a_song_becomes_8d_audio_that_downloads(converted_song):
    views = converted_song["views"]
    final = views[-1]
    assert final["status"] == "READY", final
    progress = [view["progress"] for view in views]
    assert progress == sorted(progress) and progress[0] < 100 == progress[-1]
    # the task writes the result while PROCESSING; the API shows it only once the job is READY
    assert not [view for view in views[:-1] if "result" in view or "download" in view]
    # the four every result has, and what the task adds for the page (loudness, sync; JobResult)
    assert {"outputKey", "format", "durationS", "sizeBytes"} <= set(final["result"]) <= set(JobResult.__annotations__)
    assert final["result"]["sync"] == "off"
    assert final["result"]["outputKey"] == output_key(final["jobId"], "Evening Walk.mp3", "mp3")
    assert final["result"]["format"] == "mp3" and final["result"]["durationS"] == pytest.approx(SONG_S, abs=0.1)

    answer = download(final["download"]["url"])
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"Evening Walk.8d.mp3\"; filename*=UTF-8''Evening%20Walk.8d.mp3"
    )
    assert len(answer.content) == final["result"]["sizeBytes"]
    result = read_audio(answer.content, converted_song["folder"] / "result.mp3")
    original = converted_song["input"]
    assert result.shape[0] == 2 and abs(result.shape[1] - original.shape[1]) <= MP3_FRAME

    orbit = measure_orbit(result, SAMPLE_RATE)
    period_s = PRESETS[PRESET][1]["period_s"]
    assert orbit.period_s == pytest.approx(period_s, rel=0.05), orbit.summary()
    assert orbit.ild_r2 > 0.8 and orbit.itd_r2 > 0.8, orbit.summary()
    assert orbit.ild_amplitude_db > 6.0 and 0.4 < orbit.itd_amplitude_ms < 0.8, orbit.summary()


def test_every_transition_of_a_job_prints_one_line(converted_song, local_stack_process):
    job_id = converted_song["job"]["jobId"]
    # the log reads the table's stream every 0.2 s (job_log.POLL_INTERVAL_S): its READY may trail the API's
    wait_until(lambda: len(local_stack_process.job_lines(job_id)) >= 4, timeout_s=10.0)
    lines = local_stack_process.job_lines(job_id)
    assert [line.split()[2] for line in lines] == ["AWAITING_UPLOAD", "QUEUED", "PROCESSING", "READY"], lines
    assert lines[-1].endswith(
        "Evening Walk.mp3  -> Evening Walk.8d.mp3, 8.0 s, "
        + f"{converted_song['views'][-1]['result']['sizeBytes'] / 1000:.0f} kB"
    )


def happy_path_of(asl: dict) -> list[str]:
    """The states an accepted upload goes through: from StartAt along Next, each Choice's Default."""
    names, name = [], asl["StartAt"]
    while name:
        names.append(name)
        state = asl["States"][name]
        name = state.get("Default") if state["Type"] == "Choice" else state.get("Next")
    return names


def test_the_execution_history_shows_the_states_of_the_asl_in_order(converted_song, local_stack_process):
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=local_stack_process.aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY_ID,  # the account's administrator, as the owner's shell has it
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    # the upload's state machine (the other one, <stack>-batch, converts libraries: test_batch.py)
    (machine,) = [m for m in sfn.list_state_machines()["stateMachines"] if not m["name"].endswith("-batch")]
    upload_key = converted_song["job"]["upload"]["fields"]["key"]
    (execution,) = [
        e
        for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        if json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["detail"]["object"]["key"]
        == upload_key
    ]
    assert execution["status"] == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    entered = [event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event]
    expected = happy_path_of(json.loads(ASL.read_text()))
    assert entered == expected
    assert {"ValidateUpload", "IsDuplicate", "RenderAudio", "NotifyReady", "Done"} <= set(expected)


def test_a_text_file_named_mp3_fails_with_a_reason_a_person_understands(local_stack, tmp_path):
    notes = tmp_path / "notes.mp3"
    notes.write_text("Shopping list: milk, eggs, bread.\n" * 40)
    _, views = convert(local_stack, notes)
    final = views[-1]
    assert final["status"] == "FAILED", final
    message = final["error"]["message"]
    assert "not audio" in message and "text" in message, final["error"]
    # the web app learns from GET /config that this code blames the file, not the service
    assert final["error"]["code"] == "InvalidUpload" and "InvalidUpload" in get_config(local_stack)["fileErrorCodes"]
    assert "result" not in final and "download" not in final
    assert not any(word in message for word in ("Traceback", "Exception", "States.", "errorType")), message


def max_upload_bytes(base_url: str) -> int:
    """The limit the API pins in upload policies, as GET /config tells the web app."""
    return get_config(base_url)["maxUploadBytes"]


def test_an_upload_over_the_size_limit_is_refused_and_the_job_keeps_waiting(local_stack):
    limit_bytes = max_upload_bytes(local_stack)
    created = create_job(local_stack, "long.mp3", limit_bytes)
    assert created.status_code == 201, created.text
    job = created.json()
    refused = upload(job, b"\xff\xfb" * (limit_bytes // 2 + 1), "long.mp3", "audio/mpeg")
    assert refused.status_code == 400 and "<Code>EntityTooLarge</Code>" in refused.text
    time.sleep(1.0)  # were anything stored, its event would have moved the job by now
    assert get_job(local_stack, job["jobId"]).json()["status"] == "AWAITING_UPLOAD"

    too_big = create_job(local_stack, "long.mp3", limit_bytes + 1)
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "FileTooLarge"


def test_an_upload_that_breaks_the_policy_is_refused(local_stack):
    created = create_job(local_stack, "song.mp3", 1000).json()
    other_key = dict(created["upload"]["fields"], key=created["upload"]["fields"]["key"].replace("source", "other"))
    answer = upload(
        {"upload": {"url": created["upload"]["url"], "fields": other_key}}, b"\xff\xfb" * 500, "song.mp3", "audio/mpeg"
    )
    assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text


def test_an_unknown_job_is_not_found(local_stack):
    answer = get_job(local_stack, "0" * 32)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "JobNotFound"


def test_five_uploads_at_once_each_become_their_own_8d_song(local_stack, tmp_path):
    songs = [tone_song(tmp_path / f"tone-{frequency_hz:.0f}.mp3", 3.0, frequency_hz) for frequency_hz in FIVE_TONES_HZ]
    with ThreadPoolExecutor(len(songs)) as pool:
        outcomes = list(pool.map(lambda song: convert(local_stack, song, options={"preset": PRESET}), songs))
    for song, frequency_hz, (job, views) in zip(songs, FIVE_TONES_HZ, outcomes, strict=True):
        final = views[-1]
        assert final["status"] == "READY", final
        assert final["result"]["outputKey"] == f"processed/{job['jobId']}/{song.stem}.8d.mp3"
        result = read_audio(download(final["download"]["url"]).content, tmp_path / f"result-{song.stem}.mp3")
        assert dominant_frequency_hz(result[0]) == pytest.approx(frequency_hz, abs=2.0)


def test_the_web_app_finds_its_api_in_config_json_and_the_rules_at_get_config(local_stack):
    assert requests.get(f"{local_stack}config.json", timeout=10).json() == {"apiBaseUrl": "/api"}
    config = get_config(local_stack)
    assert config["maxUploadBytes"] == E2E_MAX_UPLOAD_MB * 1_000_000  # the stack's MaxUploadMB, decimal
    assert {preset["name"] for preset in config["presets"]} == set(PRESETS)
    assert config["defaults"]["preset"] in PRESETS and config["defaults"]["format"] in config["outputFormats"]
    assert "mp3" in {input_format["extension"] for input_format in config["inputFormats"]}
    presets = requests.get(f"{local_stack}api/presets", timeout=10).json()["presets"]  # still served
    assert presets == config["presets"]


def test_a_browser_on_the_other_local_name_may_upload(local_stack):
    """The page may be open as localhost while the presigned URLs say 127.0.0.1: S3's CORS rules
    (the bucket's, from template.yaml, with the local origins) let that browser upload."""
    created = create_job(local_stack, "song.mp3", 1000).json()
    origin = local_stack.replace("127.0.0.1", "localhost").rstrip("/")
    preflight = requests.options(
        created["upload"]["url"], timeout=10, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    uploaded = requests.post(
        created["upload"]["url"],
        data=created["upload"]["fields"],
        timeout=10,
        files={"file": ("song.mp3", b"\xff\xfb" * 500, "audio/mpeg")},
        headers={"Origin": origin},
    )
    assert uploaded.status_code == 204 and uploaded.headers["Access-Control-Allow-Origin"] == origin
    assert "ETag" in uploaded.headers["Access-Control-Expose-Headers"]

    stranger = requests.options(
        created["upload"]["url"],
        timeout=10,
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert stranger.status_code == 403 and "Access-Control-Allow-Origin" not in stranger.headers


def processes_started_by(pid: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def test_stopping_the_stack_stops_a_running_render_and_fails_its_job(tmp_path):
    stack = start_local_stack("--workers", "1", "--log-dir", str(tmp_path / "logs"))
    try:
        song = pink_noise_song(tmp_path / "Long Drive.mp3", 90.0)
        data = song.read_bytes()
        job = create_job(stack.url, song.name, len(data), options={"preset": PRESET}).json()
        assert upload(job, data, song.name, "audio/mpeg").status_code == 204
        wait_until(lambda: get_job(stack.url, job["jobId"]).json()["status"] == "PROCESSING")
        tasks = processes_started_by(stack.process.pid)
        assert tasks, "the render runs as a process of the stack"
    finally:
        exit_code = stop_local_stack(stack)
    assert exit_code == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in tasks)
    lines = stack.job_lines(job["jobId"])
    assert lines[-1].split()[2:4] == ["FAILED", "Long"] and "stopped" in lines[-1], lines
    assert "Interrupted: " in lines[-1], lines  # the task's own reason, written on SIGTERM


def wait_until(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout_s:.0f} s"
        time.sleep(0.2)
