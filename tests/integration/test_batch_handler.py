"""The batch Lambda on the state machine's start/song/finish payloads (events/batch_*.json), against
moto S3 and DynamoDB with the template's tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from surroundyou_jobs.batches import BatchSettings, InvalidBatch
from surroundyou_jobs.keys import parse_input_key
from surroundyou_jobs.model import JobResult, JobStatus
from surroundyou_local.provision import create_table
from surroundyou_local.template import load_template

# a refused start publishes no metric, and Powertools warns about an empty flush
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
BATCH = "1f3c0d1e5b7a4c2e9d8f6a5b4c3d2e1f"  # the batch of the sample events
SONG = b"ID3 not really an mp3, but bytes to copy"


@pytest.fixture
def batch(handlers, jobs_table, bucket, s3, boto_session, lambda_context, monkeypatch):

    monkeypatch.setenv("LIBRARY_BUCKET", bucket)
    monkeypatch.setenv("BATCHES_TABLE", "surroundyou-batches")
    properties = load_template(TEMPLATE)["Resources"]["BatchesTable"]["Properties"]
    create_table(boto_session.client("dynamodb"), BatchSettings().batches_table, properties)
    handlers.batch.library_batch.cache_clear()
    yield lambda event: handlers.batch.lambda_handler(event, lambda_context)
    handlers.batch.library_batch.cache_clear()


@pytest.fixture
def batches(batch, boto_session):
    return boto_session.resource("dynamodb").Table("surroundyou-batches")


def put_library(s3, bucket: str) -> None:
    for name in ("Evening Walk.mp3", "Harbour Lights.MP3", "cover.jpg", "._Evening Walk.mp3", ""):  # "": a folder
        s3.put_object(Bucket=bucket, Key=f"library/albums/2024/{name}", Body=SONG if name else b"")
    s3.put_object(Bucket=bucket, Key="library/other/Elsewhere.mp3", Body=SONG)


def test_start_counts_the_songs_of_the_prefix_and_creates_the_batch(batch, batches, s3, bucket, sample_event):
    put_library(s3, bucket)
    started = batch(sample_event("batch_start"))
    assert started == {
        "batchId": BATCH,
        "listPrefix": "library/albums/2024/",
        "outputPrefix": "library-8d/label-2024/",  # the library's output folder (LibraryOutputPrefix) + outputPrefix
        "options": {"preset": "slow", "format": "mp3", "mode": "spherical"},
        "reportPrefix": f"batches/{BATCH}/",
        "skipExisting": False,
        "total": 2,  # the songs; not the image, the Mac's metadata, the folder marker, the other folder
    }
    item = batches.get_item(Key={"batchId": BATCH})["Item"]
    assert (item["status"], item["total"], item["ready"], item["failed"], item["running"]) == ("RUNNING", 2, 0, 0, 0)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ({"prefix": "../uploads/"}, "not a folder of the library"),
        ({"prefix": "albums/", "options": {"preset": "loud"}}, "options: "),
        ({"prefix": "album/2024/"}, 'there are no songs under "album/2024/" in the library \\(library/album/2024/\\)'),
    ],
)
def test_a_bad_request_is_refused_with_the_reason(batch, batches, request_, reason):
    with pytest.raises(InvalidBatch, match=reason):
        batch({"action": "start", "batchId": "b2", "request": request_})
    assert "Item" not in batches.get_item(Key={"batchId": "b2"})


def test_a_song_becomes_a_job_copied_to_its_upload_key(batch, batches, s3, bucket, job_store, sample_event):
    put_library(s3, bucket)
    batch(sample_event("batch_start"))
    event = sample_event("batch_song")
    song = batch(event)
    job = job_store.get(song["jobId"])
    assert job["status"] == "AWAITING_UPLOAD" and parse_input_key(job["inputKey"]) == (song["jobId"], "mp3")
    assert job["filename"] == "Evening Walk.mp3" and job["options"] == event["options"]
    assert s3.get_object(Bucket=bucket, Key=job["inputKey"])["Body"].read() == SONG
    assert batches.get_item(Key={"batchId": BATCH})["Item"]["running"] == 1
    assert batch(event) == song  # a retried step: the same job, no second count
    assert batches.get_item(Key={"batchId": BATCH})["Item"]["running"] == 1


def test_a_batch_run_again_with_skip_existing_converts_only_what_is_new(
    batch, batches, s3, bucket, job_store, sample_event
):
    put_library(s3, bucket)
    s3.put_object(Bucket=bucket, Key="library-8d/label-2024/Evening Walk.8d.mp3", Body=b"8D!")  # the last run's
    start = sample_event("batch_start")
    started = batch({**start, "request": {**start["request"], "skipExisting": True}})
    assert (started["skipExisting"], started["total"]) == (True, 1)
    item = batches.get_item(Key={"batchId": BATCH})["Item"]
    assert (item["total"], item["skipped"]) == (1, 1)
    song = {**sample_event("batch_song"), "skipExisting": True}
    assert batch(song) == {"jobId": None}  # converted before: no job
    new = batch({**song, "key": "library/albums/2024/Harbour Lights.MP3"})
    assert job_store.get(new["jobId"])["status"] == "AWAITING_UPLOAD"
    assert batches.get_item(Key={"batchId": BATCH})["Item"]["running"] == 1


def test_a_song_in_two_formats_is_converted_once(batch, batches, s3, bucket, job_store, sample_event):
    """Evening Walk.flac beside Evening Walk.mp3 would both make Evening Walk.8d.mp3: the first by key
    is converted, the other is skipped (it made two jobs, and the output held whichever ended last)."""
    put_library(s3, bucket)
    s3.put_object(Bucket=bucket, Key="library/albums/2024/Evening Walk.flac", Body=SONG)
    started = batch(sample_event("batch_start"))
    item = batches.get_item(Key={"batchId": BATCH})["Item"]
    assert (started["total"], item["total"], item["skipped"]) == (2, 2, 1)
    song = sample_event("batch_song")  # Evening Walk.mp3
    assert batch(song) == {"jobId": None}
    flac = batch({**song, "key": "library/albums/2024/Evening Walk.flac"})
    assert job_store.get(flac["jobId"])["filename"] == "Evening Walk.flac"
    assert batches.get_item(Key={"batchId": BATCH})["Item"]["running"] == 1


def test_a_ready_songs_file_is_copied_to_the_output_folder(batch, s3, bucket, job_store, sample_event):
    put_library(s3, bucket)
    batch(sample_event("batch_start"))
    song = batch(sample_event("batch_song"))
    job_store.transition(song["jobId"], JobStatus.QUEUED)
    job_store.transition(song["jobId"], JobStatus.PROCESSING)
    result_key = f"processed/{song['jobId']}/Evening Walk.8d.mp3"
    s3.put_object(Bucket=bucket, Key=result_key, Body=b"8D!")
    job_store.record_result(song["jobId"], JobResult(outputKey=result_key, format="mp3", durationS=1.0, sizeBytes=3))
    job_store.transition(song["jobId"], JobStatus.READY)
    delivered = batch({**sample_event("batch_deliver"), "jobId": song["jobId"]})
    assert delivered == {"key": "library-8d/label-2024/Evening Walk.8d.mp3"}
    assert s3.get_object(Bucket=bucket, Key=delivered["key"])["Body"].read() == b"8D!"


def test_finish_ends_the_batch_with_the_reason_the_owner_reads(batch, batches, s3, bucket, sample_event):
    put_library(s3, bucket)
    batch(sample_event("batch_start"))
    summary = batch(sample_event("batch_finish_too_many_failed"))
    item = batches.get_item(Key={"batchId": BATCH})["Item"]
    assert summary["status"] == item["status"] == "FAILED" and item["running"] == 0 and item["finishedAt"]
    assert item["error"]["code"] == "States.ExceedToleratedFailureThreshold"
    assert "More songs failed than the batch tolerates" in item["error"]["message"]
    json.dumps(summary)  # the execution's output: plain JSON


def test_an_output_folder_inside_the_library_is_refused(batch, handlers, monkeypatch):
    monkeypatch.setenv("LIBRARY_OUTPUT_PREFIX", "library/8d/")  # a later batch would convert the copies again
    handlers.batch.library_batch.cache_clear()
    with pytest.raises(InvalidBatch, match="overlap"):
        batch({"action": "start", "batchId": "b3", "request": {"prefix": "albums/"}})
