"""The domain code behind the three Lambdas, without AWS: the API's rules (jobs_api), the upload
check (upload_check) and how a conversion ends (job_outcome), on the in-memory job store."""

from __future__ import annotations

import io
import wave

import pytest
from job_fakes import (
    EXECUTION,
    KNOWN_JOB,
    OTHER_EXECUTION,
    InMemoryClientLimits,
    InMemoryJobStore,
    RecordingLinks,
    job_in_status,
)
from job_outcome import GENERIC_MESSAGE, failure_reason, mark_failed, mark_ready
from jobs_api import ApiError, CreateJobRequest, JobsApi
from upload_check import InvalidUpload, validate_upload

from surroundyou_jobs.errors import ErrorCode, JobError
from surroundyou_jobs.model import JobStatus, TransitionRejected
from surroundyou_jobs.settings import Settings

SETTINGS = Settings(
    max_upload_bytes=200_000_000,
    max_duration_s=3600,
    upload_url_expires_s=900,
    download_url_expires_s=3600,
    job_ttl_days=7,
)


def wav_bytes(seconds: float, sample_rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(b"\x00\x01" * int(seconds * sample_rate))
    return buffer.getvalue()


LIMITS = InMemoryClientLimits(jobs_per_hour=30, open_jobs=3)  # for jobs no client counts (job_in_status)


@pytest.fixture
def api():
    store, links = InMemoryJobStore(), RecordingLinks()
    limits = InMemoryClientLimits(jobs_per_hour=30, open_jobs=3)
    return JobsApi(store, links, SETTINGS, limits, clock=lambda: 1_700_000_000.0), store, links


def request(filename="song.mp3", size=1000, content_type="audio/mpeg") -> CreateJobRequest:
    return CreateJobRequest(filename=filename, size=size, contentType=content_type)


# ---------------------------------------------------------------- the API


def test_a_new_job_waits_for_its_upload_under_a_key_the_server_made(api):
    jobs, store, links = api
    created = jobs.create_job(
        CreateJobRequest(filename=" ../../My Song.MP3 ", size=7_340_032, contentType="Audio/MPEG; charset=binary"),
        "client-1",
    )
    item = store.get(created["jobId"])
    assert item["status"] == "AWAITING_UPLOAD"
    assert item["inputKey"] == f"uploads/{created['jobId']}/source.mp3"
    assert item["expiresAt"] == 1_700_000_000 + 7 * 86400
    assert links.forms == [
        {"key": item["inputKey"], "content_type": "audio/mpeg", "max_bytes": 200_000_000, "expires_s": 900}
    ]
    assert created["expiresIn"] == 900
    assert item["clientId"] == "client-1"  # notify frees the client's place when the job ends


def test_a_client_at_its_limits_gets_429_with_when_to_retry_and_no_job(api):
    jobs, store, links = api
    for _ in range(3):
        jobs.create_job(request(), "busy")
    with pytest.raises(ApiError) as refused:
        jobs.create_job(request(), "busy")
    assert (refused.value.status, refused.value.code, refused.value.retry_after_s) == (
        429,
        ErrorCode.TOO_MANY_OPEN_JOBS,
        60,
    )
    assert "wait until one is done" in refused.value.message
    assert len(store.items) == 3 and len(links.forms) == 3
    jobs.limits.jobs_per_hour = 3
    jobs.limits.open_jobs = 10
    with pytest.raises(ApiError) as hourly:
        jobs.create_job(request(), "busy")
    assert (hourly.value.status, hourly.value.code) == (429, ErrorCode.TOO_MANY_JOBS)
    assert hourly.value.retry_after_s == 3600 - 1_700_000_000 % 3600


@pytest.mark.parametrize(
    "filename, named",
    [
        ("song\x00.mp3", "U+0000 CONTROL CHARACTER"),
        ("my\nsong.mp3", "U+000A CONTROL CHARACTER"),
        ("evil\u202egnp.mp3", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("a\u2066b.mp3", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ],
)
def test_a_file_name_with_control_characters_is_refused_saying_which(api, filename, named):
    jobs, store, _ = api
    with pytest.raises(ApiError) as refused:
        jobs.create_job(request(filename=filename), "client-1")
    assert (refused.value.status, refused.value.code) == (400, ErrorCode.INVALID_FILENAME)
    assert named in refused.value.message and "rename" in refused.value.message
    assert store.items == {}


def test_the_download_keeps_the_users_own_script(api):
    jobs, store, links = api
    job_in_status(store, JobStatus.READY, filename="Ça plane pour moi — 東京.mp3")
    jobs.get_job(KNOWN_JOB)
    assert links.downloads[0]["filename"] == "Ça plane pour moi — 東京.8d.mp3"


@pytest.mark.parametrize("size, allowed", [(200_000_000, True), (200_000_001, False), (195_000_000, True)])
def test_the_size_limit_is_decimal_and_worded_as_the_page_words_it(api, size, allowed):
    jobs, _, _ = api
    request = CreateJobRequest(filename="a.wav", size=size, contentType="audio/wav")
    if allowed:
        jobs.create_job(request, "client-1")
        return
    with pytest.raises(ApiError) as refused:
        jobs.create_job(request, "client-1")
    assert (refused.value.code, refused.value.message) == (
        ErrorCode.FILE_TOO_LARGE,
        "The file is 200 MB; the limit is 200 MB.",
    )


def test_config_is_what_create_job_enforces(api):
    jobs, _, _ = api
    config = jobs.config()
    assert config["maxUploadBytes"] == SETTINGS.max_upload_bytes
    assert config["defaults"] == {"preset": "classic", "format": "mp3", "mode": "spherical"}
    for entry in config["inputFormats"]:
        for content_type in entry["contentTypes"]:
            upload = CreateJobRequest(filename=f"x.{entry['extension']}", size=1, contentType=content_type)
            jobs.create_job(upload, f"{entry['extension']} {content_type}")
    assert set(config["fileErrorCodes"]) == {ErrorCode.INVALID_UPLOAD, ErrorCode.DECODE_FAILED}
    assert all(set(preset) >= {"name", "description", "periodS", "widthDeg"} for preset in config["presets"])


def test_a_ready_job_shows_its_result_and_a_download_that_saves_as_the_8d_name(api):
    jobs, store, links = api
    job_in_status(store, JobStatus.READY)
    view = jobs.get_job(KNOWN_JOB)
    assert view["result"]["outputKey"] == f"processed/{KNOWN_JOB}/My Song.8d.mp3"
    assert links.downloads == [{"key": view["result"]["outputKey"], "filename": "My Song.8d.mp3", "expires_s": 3600}]
    assert view["download"]["expiresIn"] == 3600


def test_an_unfinished_job_shows_no_result_even_when_the_task_wrote_one(api):
    jobs, store, _ = api
    job_in_status(store, JobStatus.PROCESSING)
    store.record_result(
        KNOWN_JOB, {"outputKey": "processed/x/y.8d.mp3", "format": "mp3", "durationS": 1.0, "sizeBytes": 1}
    )
    view = jobs.get_job(KNOWN_JOB)
    assert view["status"] == "PROCESSING" and "result" not in view and "download" not in view


def test_a_job_whose_render_was_interrupted_says_so_until_the_next_render_claims_it(api):
    jobs, store, _ = api
    job_in_status(store, JobStatus.PROCESSING)
    store.mark_interrupted(KNOWN_JOB)
    view = jobs.get_job(KNOWN_JOB)
    assert (view["status"], view["interruptedAt"]) == ("PROCESSING", 1_700_000_000)
    store.claim(KNOWN_JOB)
    assert "interruptedAt" not in jobs.get_job(KNOWN_JOB)


def test_an_unknown_or_malformed_job_id_is_not_found(api):
    jobs, _, _ = api
    for job_id in (KNOWN_JOB, "../etc/passwd"):
        with pytest.raises(ApiError) as missing:
            jobs.get_job(job_id)
        assert (missing.value.status, missing.value.code) == (404, ErrorCode.JOB_NOT_FOUND)


# ---------------------------------------------------------------- the upload check


def test_a_job_whose_song_arrived_counts_for_its_render_not_only_its_upload_window(api):
    jobs, store, _ = api
    created = jobs.create_job(request("song.wav", content_type="audio/wav"), "client-1")
    assert jobs.limits.open["client-1"][created["jobId"]] == 1_700_000_000 + 1800  # the upload window
    key = store.get(created["jobId"])["inputKey"]
    validate_upload(
        store, SETTINGS, "media", key, lambda bucket, key: (io.BytesIO(wav_bytes(1.0)), '"e"'), jobs.limits, EXECUTION
    )
    assert jobs.limits.open["client-1"][created["jobId"]] == 1_700_000_000 + 2 * 3600  # until rendered


def test_a_real_upload_queues_its_job_once():
    store = InMemoryJobStore()
    job = job_in_status(store, extension="wav")
    upload = wav_bytes(1.0)

    def check(execution_arn):
        return validate_upload(
            store,
            SETTINGS,
            "media",
            job["inputKey"],
            lambda bucket, key: (io.BytesIO(upload), '"etag-1"'),
            LIMITS,
            execution_arn,
        )

    assert check(EXECUTION) == {"jobId": KNOWN_JOB, "duplicate": False}
    queued = store.get(KNOWN_JOB)
    assert (queued["status"], queued["executionArn"]) == ("QUEUED", EXECUTION)
    assert queued["inputEtag"] == '"etag-1"'  # the task reads only the object checked
    # a duplicate event's execution leaves the job alone; this execution's retry of the step goes on
    assert check(OTHER_EXECUTION) == {"jobId": KNOWN_JOB, "duplicate": True}
    assert check(EXECUTION) == {"jobId": KNOWN_JOB, "duplicate": False}
    assert store.get(KNOWN_JOB) == queued
    store.claim(KNOWN_JOB)
    assert check(EXECUTION) == {"jobId": KNOWN_JOB, "duplicate": True}  # rendering: nothing more to start


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"Verse 1\nThe music goes round\n" * 50, "text"),
        (wav_bytes(0.0), "no audio"),
        # the engine would refuse it (its limiter's fades would leave it near silence): no task is started
        (wav_bytes(0.005), "it lasts 5 ms, and the shortest SurroundYou converts lasts 10 ms"),
    ],
)
def test_a_bad_upload_is_refused_with_a_reason_and_the_job_stays(data, reason):
    store = InMemoryJobStore()
    job = job_in_status(store, extension="wav")
    with pytest.raises(InvalidUpload, match=reason):
        validate_upload(
            store,
            SETTINGS,
            "media",
            job["inputKey"],
            lambda bucket, key: (io.BytesIO(data), '"etag-1"'),
            LIMITS,
            EXECUTION,
        )
    assert store.get(KNOWN_JOB)["status"] == "AWAITING_UPLOAD"  # the state machine marks it FAILED


def test_the_upload_error_is_named_as_the_state_machine_and_the_web_app_know_it():
    # Step Functions names a Lambda error after its class; notify and the page match on the code
    assert InvalidUpload.__name__ == ErrorCode.INVALID_UPLOAD.value


# ---------------------------------------------------------------- how a conversion ends


def test_ready_is_idempotent_and_never_overrides_failed():
    store = InMemoryJobStore()
    job_in_status(store, JobStatus.PROCESSING)
    assert mark_ready(store, KNOWN_JOB)["status"] == "READY"
    assert mark_ready(store, KNOWN_JOB)["status"] == "READY"
    failed = InMemoryJobStore()
    job_in_status(failed, JobStatus.FAILED)
    with pytest.raises(TransitionRejected):
        mark_ready(failed, KNOWN_JOB)


def test_failed_keeps_the_first_reason():
    store = InMemoryJobStore()
    job_in_status(store, JobStatus.PROCESSING)
    task_reason = JobError(ErrorCode.DECODE_FAILED, "The file is cut short.")
    assert mark_failed(store, KNOWN_JOB, task_reason, EXECUTION)[1]
    later, failed_now = mark_failed(
        store, KNOWN_JOB, failure_reason("States.TaskFailed", '{"taskArn": "arn"}'), EXECUTION
    )
    assert later["error"] == task_reason.to_item() and not failed_now


def test_a_duplicate_events_execution_never_fails_the_job_another_queued():
    store = InMemoryJobStore()
    job_in_status(store)
    store.transition(KNOWN_JOB, JobStatus.QUEUED, execution_arn=EXECUTION)
    store.claim(KNOWN_JOB)
    kept, failed_now = mark_failed(store, KNOWN_JOB, failure_reason("Lambda.ServiceException", None), OTHER_EXECUTION)
    assert (kept["status"], failed_now) == ("PROCESSING", False)


def test_every_failure_reason_uses_the_one_code_vocabulary():
    cases = [
        ("InvalidUpload", '{"errorMessage": "Not audio."}'),
        ("States.Timeout", None),
        ("ECS.AmazonECSException", "no capacity"),
        ("States.TaskFailed", '{"Containers": []}'),
        ("Lambda.ServiceException", None),
        ("", None),
    ]
    reasons = [failure_reason(error, cause) for error, cause in cases]
    assert [reason.code for reason in reasons] == [
        ErrorCode.INVALID_UPLOAD,
        ErrorCode.TIMEOUT,
        ErrorCode.CONVERTER_UNAVAILABLE,
        ErrorCode.CONVERTER_STOPPED,
        ErrorCode.CONVERSION_FAILED,
        ErrorCode.CONVERSION_FAILED,
    ]
    assert reasons[0].message == "Not audio." and reasons[-1].message == GENERIC_MESSAGE
