"""The API Lambda through its handler, on HTTP API v2 events, against moto S3 and DynamoDB."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from job_fakes import KNOWN_JOB, job_in_status
from werkzeug.http import parse_options_header

from surroundyou_jobs.keys import INPUT_CONTENT_TYPES
from surroundyou_jobs.model import JobStatus
from surroundyou_jobs.options import preset_catalog

# GET requests publish no metric, and Powertools warns about an empty flush
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ALLOWED_ORIGIN = "https://surroundyou.example"


@pytest.fixture
def call(handlers, bucket, jobs_table, limits_table, lambda_context):
    """call(event) -> (status, headers, parsed JSON body) from the API handler."""

    def invoke(event: dict):
        response = handlers.api.lambda_handler(event, lambda_context)
        body = json.loads(response["body"]) if response.get("body") else None
        return response["statusCode"], response.get("headers", {}), body

    return invoke


def with_body(event: dict, body) -> dict:
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


def decoded_policy(fields: dict) -> dict:
    return json.loads(base64.b64decode(fields["policy"]))


def scan_jobs(jobs_table) -> list[dict]:
    return jobs_table.scan(ConsistentRead=True)["Items"]


# ---------------------------------------------------------------- POST /jobs


def test_create_job_makes_an_awaiting_job_and_a_pinned_upload_form(
    call, sample_event, jobs_table, settings, emitted_metrics, structured_logs
):
    status, headers, body = call(sample_event("api_create_job"))

    assert status == 201
    job_id = body["jobId"]
    assert set(body) == {"jobId", "upload", "expiresIn"}
    assert body["expiresIn"] == settings.upload_url_expires_s == 900
    assert headers["Cache-Control"] == "no-store"

    [item] = scan_jobs(jobs_table)
    assert item["jobId"] == job_id
    assert item["status"] == JobStatus.AWAITING_UPLOAD.value
    assert item["filename"] == "My Song.mp3"
    assert item["size"] == 7340032
    assert item["contentType"] == "audio/mpeg"
    assert item["inputKey"] == f"uploads/{job_id}/source.mp3"
    assert "result" not in item  # the task writes it
    assert item["options"] == {"preset": "classic", "format": "mp3", "mode": "spherical"}
    # the TTL attribute the job store writes is the one the template's table expires items by
    ttl = jobs_table.meta.client.describe_time_to_live(TableName=settings.jobs_table)
    ttl_attribute = ttl["TimeToLiveDescription"]["AttributeName"]
    assert item[ttl_attribute] == item["createdAt"] + 7 * 86400

    upload = body["upload"]
    assert urlparse(upload["url"]).hostname.startswith(settings.bucket)
    assert upload["fields"]["key"] == f"uploads/{job_id}/source.mp3"
    assert upload["fields"]["Content-Type"] == "audio/mpeg"
    assert upload["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"

    assert emitted_metrics() == {"JobsCreated": 1}
    created_log = structured_logs("api")[-1]
    assert (created_log["message"], created_log["job_id"]) == ("job created", job_id)
    assert created_log["correlation_id"] == sample_event("api_create_job")["requestContext"]["requestId"]


def test_upload_policy_pins_bucket_key_content_type_and_size_range(call, sample_event, settings):
    """moto does not enforce POST policies, so the policy itself is checked: S3 refuses any
    upload whose form breaks one of these conditions."""
    _, _, body = call(sample_event("api_create_job"))
    fields = body["upload"]["fields"]
    policy = decoded_policy(fields)

    conditions = policy["conditions"]
    assert {"bucket": settings.bucket} in conditions
    assert {"key": f"uploads/{body['jobId']}/source.mp3"} in conditions
    assert {"Content-Type": "audio/mpeg"} in conditions
    assert ["content-length-range", 1, settings.max_upload_bytes] in conditions
    assert settings.max_upload_bytes == 200_000_000
    # nothing in the policy lets the browser choose another key or type (no starts-with wildcards)
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    signed = {k: v for c in conditions if isinstance(c, dict) for k, v in c.items()}
    assert signed["x-amz-credential"] == fields["x-amz-credential"]
    assert "expiration" in policy


def test_the_upload_form_posts_the_song_to_its_key(call, sample_event, s3, bucket):
    """The form works as a browser sends it (moto answers the POST; the policy is checked above)."""
    _, _, body = call(sample_event("api_create_job"))
    upload = body["upload"]
    response = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("My Song.mp3", b"ID3 song bytes", "audio/mpeg")},
        timeout=10,
    )
    assert response.status_code in (200, 204)
    stored = s3.get_object(Bucket=bucket, Key=upload["fields"]["key"])
    assert stored["Body"].read() == b"ID3 song bytes"
    assert stored["ContentType"] == "audio/mpeg"


def test_create_job_refuses_a_file_over_the_limit(call, sample_event, jobs_table, emitted_metrics):
    status, _, body = call(sample_event("api_create_job_bad_size"))
    assert status == 400
    assert emitted_metrics() == {"RequestsRejected": 1}
    assert body == {"error": {"code": "FileTooLarge", "message": "The file is 1.5 GB; the limit is 200 MB."}}
    assert scan_jobs(jobs_table) == []


GOOD_REQUEST = {"filename": "My Song.mp3", "size": 1000, "contentType": "audio/mpeg"}


@pytest.mark.parametrize(
    "body, code, message_part",
    [
        (
            {**GOOD_REQUEST, "filename": "notes.txt", "contentType": "text/plain"},
            "UnsupportedFileType",
            "SurroundYou can't read .txt files; please choose one of .mp3, .wav",
        ),
        ({**GOOD_REQUEST, "filename": "README"}, "UnsupportedFileType", "The file name has no extension"),
        ({**GOOD_REQUEST, "filename": "   "}, "InvalidFilename", "The file name must have 1 to 255 characters."),
        ({**GOOD_REQUEST, "filename": "a" * 300 + ".mp3"}, "InvalidFilename", "1 to 255 characters"),
        (
            {**GOOD_REQUEST, "contentType": "audio/flac"},
            "ContentTypeMismatch",
            "A .mp3 file should be sent as audio/mpeg or audio/mp3, not audio/flac.",
        ),
        ({**GOOD_REQUEST, "contentType": ""}, "ContentTypeMismatch", "not an empty type"),
        ({**GOOD_REQUEST, "size": 0}, "EmptyFile", "The file is empty."),
        ({**GOOD_REQUEST, "size": -5}, "InvalidField", '"size" must be the file\'s size in bytes, a whole number.'),
        ({**GOOD_REQUEST, "size": 200_000_001}, "FileTooLarge", "The file is 200 MB; the limit is 200 MB."),
        ({**GOOD_REQUEST, "size": "1000"}, "InvalidField", '"size" must be the file\'s size in bytes, a whole number.'),
        ({**GOOD_REQUEST, "size": 1000.5}, "InvalidField", '"size" must be'),
        ({**GOOD_REQUEST, "size": True}, "InvalidField", '"size" must be'),
        (
            {k: v for k, v in GOOD_REQUEST.items() if k != "filename"},
            "MissingField",
            'The request needs "filename": the name of your audio file.',
        ),
        ({**GOOD_REQUEST, "contentType": 5}, "InvalidField", '"contentType" must be the file\'s type'),
        ({**GOOD_REQUEST, "options": "classic"}, "InvalidField", '"options" must be an object'),
        (
            {**GOOD_REQUEST, "options": {"preset": "disco"}},
            "InvalidOptions",
            "Unknown preset 'disco'; choose one of classic, slow, fast, subtle, concert, dance.",
        ),
        (
            {**GOOD_REQUEST, "options": {"periodS": 0.1}},
            "InvalidOptions",
            'Option periodS must be a number from 1 to 120 or a curve such as "0:8,60:4".',
        ),
        (
            {**GOOD_REQUEST, "options": {"periodS": "0:8,20:4,10:6"}},
            "InvalidOptions",
            'Option periodS curve: point 3 ("10:6"): the times must go up, and 10 s does not come after 20 s.',
        ),
        (
            {**GOOD_REQUEST, "options": {"intensity": "0:0.2,30:2"}},
            "InvalidOptions",
            'Option intensity curve: point 2 ("30:2"): the value must be from 0 to 1.',
        ),
        ({**GOOD_REQUEST, "options": {"path": "spiral"}}, "InvalidOptions", "Option path must be one of circle, fig"),
        (
            {**GOOD_REQUEST, "options": {"beatsPerTurn": 100}},
            "InvalidOptions",
            "Option beatsPerTurn must be a whole number from 2 to 64.",
        ),
        ({**GOOD_REQUEST, "options": {"preview": "yes"}}, "InvalidOptions", "Option preview must be true or false."),
        ({**GOOD_REQUEST, "options": {"format": "aac"}}, "InvalidOptions", "Unknown format 'aac'"),
        ({**GOOD_REQUEST, "options": {"loudness": 3}}, "InvalidOptions", "Unknown option(s): loudness."),
        ("{not json", "InvalidRequest", "The request body must be a JSON object"),
        ("[1, 2]", "InvalidRequest", "The request body must be a JSON object"),
        # each of these was a 500
        ({**GOOD_REQUEST, "options": {"preset": ["classic"]}}, "InvalidOptions", "Unknown preset ['classic']"),
        ({**GOOD_REQUEST, "options": {"beatsPerTurn": float("nan")}}, "InvalidOptions", "Option beatsPerTurn must"),
        ({**GOOD_REQUEST, "filename": "a\ud800b.mp3"}, "InvalidFilename", "U+D800 is half of a character"),
        (
            '{"filename": "a.mp3", "size": 10, "contentType": "audio/mpeg", "options": {"x": '
            + "[" * 5000
            + "]" * 5000
            + "}}",
            "InvalidRequest",
            "The request body is nested too deeply.",
        ),
    ],
)
def test_create_job_refuses_bad_requests_with_a_readable_reason(
    call, sample_event, jobs_table, body, code, message_part
):
    status, _, answer = call(with_body(sample_event("api_create_job"), body))
    assert status == 400
    assert answer["error"]["code"] == code
    assert message_part in answer["error"]["message"]
    assert scan_jobs(jobs_table) == []


def test_create_job_without_a_body_is_a_bad_request(call, sample_event):
    event = sample_event("api_create_job")
    del event["body"]
    status, _, body = call(event)
    assert (status, body["error"]["code"]) == (400, "InvalidRequest")


@pytest.mark.parametrize("extension", sorted(INPUT_CONTENT_TYPES))
def test_create_job_accepts_every_supported_type(call, sample_event, extension, jobs_table):
    content_type = INPUT_CONTENT_TYPES[extension][-1]
    request = {
        "filename": f"Track 01.{extension.upper()}",
        "size": 5,
        "contentType": content_type.upper(),
        "options": {"preset": "slow", "format": "flac", "periodS": 20, "direction": "counterclockwise"},
    }
    status, _, body = call(with_body(sample_event("api_create_job"), request))
    assert status == 201
    item = jobs_table.get_item(Key={"jobId": body["jobId"]})["Item"]
    assert item["inputKey"].endswith(f"/source.{extension}")
    assert item["contentType"] == content_type  # normalised to lower case, as pinned in the form
    assert decoded_policy(body["upload"]["fields"])["conditions"].count({"Content-Type": content_type}) == 1
    assert item["options"]["periodS"] == 20


# ---------------------------------------------------------------- GET /jobs/{jobId}


def test_get_ready_job_gives_a_download_link_that_saves_as_the_8d_name(call, sample_event, job_store, s3, bucket):
    job_in_status(job_store, JobStatus.READY)
    s3.put_object(Bucket=bucket, Key=f"processed/{KNOWN_JOB}/My Song.8d.mp3", Body=b"8d audio!!!")

    status, headers, body = call(sample_event("api_get_job"))

    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert body["jobId"] == KNOWN_JOB
    assert body["status"] == "READY"
    assert body["progress"] == 100
    assert body["result"] == {
        "outputKey": f"processed/{KNOWN_JOB}/My Song.8d.mp3",
        "durationS": 2.0,
        "sizeBytes": 11,
        "format": "mp3",
    }
    assert body["download"]["expiresIn"] == 3600
    query = parse_qs(urlparse(body["download"]["url"]).query)
    disposition = "attachment; filename=\"My Song.8d.mp3\"; filename*=UTF-8''My%20Song.8d.mp3"
    assert query["response-content-disposition"] == [disposition]
    assert query["X-Amz-Expires"] == ["3600"]
    downloaded = requests.get(body["download"]["url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == b"8d audio!!!"
    assert downloaded.headers["Content-Disposition"] == disposition


@pytest.mark.parametrize(
    "filename, saved_as",
    [
        ("Café del Mar.mp3", "Café del Mar.8d.mp3"),
        ('東京 "live" (2024).mp3', "東京 live (2024).8d.mp3"),
        ("..\\..\\Ωmega.mp3", "Ωmega.8d.mp3"),
    ],
)
def test_a_unicode_name_is_saved_as_itself_with_an_ascii_fallback(
    call, sample_event, job_store, s3, bucket, filename, saved_as
):
    """RFC 6266: filename* (RFC 8187) carries the name, filename an ASCII fallback; werkzeug's
    parser (an implementation independent of ours, which prefers filename* as browsers do) reads it."""
    job = job_in_status(job_store, JobStatus.READY, filename=filename)
    s3.put_object(Bucket=bucket, Key=job["result"]["outputKey"], Body=b"8d")
    _, _, body = call(sample_event("api_get_job"))
    header = requests.get(body["download"]["url"], timeout=10).headers["Content-Disposition"]
    disposition, params = parse_options_header(header)
    assert (disposition, params["filename"]) == ("attachment", saved_as)
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith(".8d.mp3")


def test_a_preview_downloads_under_a_name_that_says_so(call, sample_event, job_store, s3, bucket):
    job = job_in_status(job_store, JobStatus.READY, preview=True)
    s3.put_object(Bucket=bucket, Key=job["result"]["outputKey"], Body=b"8d")
    _, _, body = call(sample_event("api_get_job"))
    header = requests.get(body["download"]["url"], timeout=10).headers["Content-Disposition"]
    assert parse_options_header(header)[1]["filename"] == "My Song.preview.8d.mp3"


@pytest.mark.parametrize("job_status", [JobStatus.AWAITING_UPLOAD, JobStatus.QUEUED, JobStatus.PROCESSING])
def test_get_unfinished_job_has_no_download(call, sample_event, job_store, job_status):
    job_in_status(job_store, job_status)
    job_store.table.update_item(
        Key={"jobId": KNOWN_JOB}, UpdateExpression="SET progress = :p", ExpressionAttributeValues={":p": 40}
    )
    status, _, body = call(sample_event("api_get_job"))
    assert status == 200
    assert body["status"] == job_status.value
    assert body["progress"] == 40
    assert "download" not in body and "result" not in body


def test_get_failed_job_shows_the_reason(call, sample_event, job_store):
    job_in_status(job_store, JobStatus.FAILED)
    status, _, body = call(sample_event("api_get_job"))
    assert status == 200
    assert body["status"] == "FAILED"
    assert body["error"] == {
        "code": "InvalidUpload",
        "message": "This file is not audio we can read: it looks like text.",
    }
    assert "download" not in body
    # internal keys stay inside
    assert not {"inputKey", "expiresAt", "contentType", "size"} & set(body)


def test_get_unknown_job_is_404(call, sample_event, job_store):
    job_in_status(job_store)  # another job exists
    status, _, body = call(sample_event("api_get_job_unknown"))
    assert status == 404
    assert body["error"]["code"] == "JobNotFound"
    assert body["error"]["message"] == "There is no job with this id; it may have expired."


@pytest.mark.parametrize("job_id", ["not-a-job", KNOWN_JOB.upper(), KNOWN_JOB + "0", "..%2F..%2Fetc"])
def test_get_malformed_job_id_is_404_without_a_lookup(call, sample_event, job_store, job_id):
    job_in_status(job_store)
    event = sample_event("api_get_job")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/jobs/{job_id}"
    status, _, body = call(event)
    assert (status, body["error"]["code"]) == (404, "JobNotFound")


# ---------------------------------------------------------------- config, presets, routing, CORS


def test_config_gives_the_page_the_rules_the_api_enforces(call, sample_event, settings):
    status, headers, body = call(sample_event("api_get_config"))
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert body["maxUploadBytes"] == settings.max_upload_bytes == 200_000_000
    assert body["maxDurationS"] == 3600
    assert {f["extension"]: tuple(f["contentTypes"]) for f in body["inputFormats"]} == INPUT_CONTENT_TYPES
    assert body["outputFormats"] == ["mp3", "flac", "wav", "ogg"]
    assert body["presets"] == preset_catalog()
    assert body["defaults"] == {"preset": "classic", "format": "mp3", "mode": "spherical"}
    assert body["fileErrorCodes"] == ["InvalidUpload", "DecodeFailed"]
    # the heads by mode, the paths and the rooms by name, each with words for a person
    assert [(head["mode"], bool(head["name"]), bool(head["description"])) for head in body["heads"]] == [
        ("spherical", True, True),
        ("hrtf", True, True),
    ]
    assert [path["name"] for path in body["paths"]] == ["circle", "figure8", "wander", "overhead", "arc"]
    assert all(path["description"] for path in body["paths"])
    assert [room["name"] for room in body["rooms"]] == ["none", "small", "medium", "hall"]
    assert body["syncs"] == ["off", "beats"]
    assert body["previewS"] == 30
    assert body["optionRanges"]["beatsPerTurn"] == {"min": 2, "max": 64, "integer": True, "curve": False}
    assert body["optionRanges"]["periodS"] == {"min": 1, "max": 120, "integer": False, "curve": True}
    # the limit the page shows is the one POST /jobs enforces, to the byte
    request = {"filename": "a.mp3", "size": body["maxUploadBytes"], "contentType": "audio/mpeg"}
    assert call(with_body(sample_event("api_create_job"), request))[0] == 201
    refused = call(with_body(sample_event("api_create_job"), {**request, "size": body["maxUploadBytes"] + 1}))
    assert (refused[0], refused[2]["error"]["code"]) == (400, "FileTooLarge")


def test_every_choice_and_bound_in_config_is_one_post_jobs_accepts(call, sample_event, jobs_table):
    _, _, config = call(sample_event("api_get_config"))
    accepted = [{"mode": head["mode"]} for head in config["heads"]]
    accepted += [{"path": path["name"]} for path in config["paths"]]
    accepted += [{"room": room["name"]} for room in config["rooms"]]
    accepted += [{"sync": sync} for sync in config["syncs"]]
    accepted += [{name: bounds[end]} for name, bounds in config["optionRanges"].items() for end in ("min", "max")]
    for number, options in enumerate(accepted):
        event = with_body(sample_event("api_create_job"), {**GOOD_REQUEST, "options": options})
        event["requestContext"]["http"]["sourceIp"] = f"198.51.100.{number}"  # one client each: no limit hit
        status, _, body = call(event)
        assert status == 201, (options, body)
    stored = [item["options"] for item in scan_jobs(jobs_table)]
    assert len(stored) == len(accepted)


def test_a_preview_job_is_a_job_like_any_other_with_its_motion_options(call, sample_event, jobs_table):
    options = {"preset": "fast", "path": "figure8", "sync": "beats", "beatsPerTurn": 8, "periodS": "0:6, 30:3"}
    status, _, body = call(
        with_body(sample_event("api_create_job"), {**GOOD_REQUEST, "options": {**options, "preview": True}})
    )
    assert status == 201 and set(body) == {"jobId", "upload", "expiresIn"}
    [item] = scan_jobs(jobs_table)
    assert item["status"] == JobStatus.AWAITING_UPLOAD.value and item["expiresAt"] > item["createdAt"]
    # stored as sent, the curve as its canonical text
    assert item["options"] == {
        **options,
        "periodS": "0:6,30:3",
        "preview": True,
        "format": "mp3",
        "mode": "spherical",
    }


def test_presets_lists_the_catalog(call, sample_event):
    status, _, body = call(sample_event("api_presets"))
    assert status == 200
    assert body == {"presets": preset_catalog()}
    assert [preset["name"] for preset in body["presets"]] == ["classic", "slow", "fast", "subtle", "concert", "dance"]


@pytest.mark.parametrize(
    "method, path", [("GET", "/nothing"), ("GET", "/jobs"), ("DELETE", f"/jobs/{KNOWN_JOB}"), ("PUT", "/presets")]
)
def test_unknown_routes_and_methods_are_404(call, sample_event, method, path):
    """The resolver answers a known path with an unknown method as not found (no 405)."""
    event = sample_event("api_presets")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    status, _, body = call(event)
    assert status == 404
    assert body["error"]["code"] == "NotFound"


def test_cors_echoes_only_the_allowed_origins(call, sample_event):
    for origin in ("https://surroundyou.example", "http://localhost:5173"):
        event = sample_event("api_presets")
        event["headers"]["origin"] = origin
        _, headers, _ = call(event)
        assert headers["Access-Control-Allow-Origin"] == origin
    event = sample_event("api_presets")
    event["headers"]["origin"] = "https://evil.example"
    status, headers, _ = call(event)
    assert status == 200
    assert not any(name.lower().startswith("access-control-allow-origin") for name in headers)


def test_cors_preflight_for_creating_a_job(call, sample_event):
    event = sample_event("api_create_job")
    del event["body"]
    event["requestContext"]["http"]["method"] = "OPTIONS"
    event["headers"]["access-control-request-method"] = "POST"
    status, headers, _ = call(event)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"].split(",")
    assert "Content-Type" in headers["Access-Control-Allow-Headers"].split(",")


def test_cors_is_never_a_wildcard(handlers):
    config = handlers.api.cors_config(("https://a.example", "https://b.example"))
    assert config.allowed_origin("https://b.example") == "https://b.example"
    assert config.allowed_origin("https://c.example") is None
    assert handlers.api.cors_config(()) is None  # no origins configured: no CORS at all, not "*"
    assert handlers.api.cors_config(("*",)) is None
    assert handlers.api.cors_config(("*", "https://a.example")).allowed_origin("https://evil.example") is None


# ---------------------------------------------------------------- the sample events themselves


def test_every_sample_event_has_its_handlers_shape_and_a_test_that_feeds_it(handlers):
    """events/ holds what `sam local invoke -e` sends: each file parses as its handler's event
    model, and a handler test uses it by name."""
    models = {
        "api": APIGatewayProxyEventV2Model,
        "upload": handlers.validate.UploadToValidate,
        "notify": handlers.notify.NotifyInput,
    }
    tests_dir = Path(__file__).parent
    test_sources = "".join(path.read_text() for path in tests_dir.glob("test_*_handler.py"))
    # the batch function's events (batch_*) are fed by its own tests (tests/unit/test_batch_parts.py)
    events = sorted(
        path for path in (tests_dir.parents[1] / "events").glob("*.json") if path.stem.split("_")[0] in models
    )
    assert len(events) == 13
    for path in events:
        parse(json.loads(path.read_text()), model=models[path.stem.split("_")[0]])
        assert f'sample_event("{path.stem}")' in test_sources, f"no test feeds events/{path.name}"


# ---------------------------------------------------------------- limits


def test_a_client_over_its_open_jobs_gets_429_with_retry_after(call, sample_event, jobs_table, emitted_metrics):
    """OPEN_JOBS_PER_CLIENT is 3 in the test environment; the client is API Gateway's source IP."""
    for _ in range(3):
        assert call(sample_event("api_create_job"))[0] == 201
    emitted_metrics()  # the creates' metrics
    status, headers, body = call(sample_event("api_create_job"))
    assert status == 429
    assert headers["Retry-After"] == "60"
    assert body["error"]["code"] == "TooManyOpenJobs"
    assert body["error"]["message"].startswith("You already have 3 songs being uploaded or converted")
    assert len(jobs_table.scan()["Items"]) == 3
    assert emitted_metrics() == {"ClientLimitHit": 1}
    other = sample_event("api_create_job")
    other["requestContext"]["http"]["sourceIp"] = "198.51.100.9"
    assert call(other)[0] == 201  # another client is not held back
