"""The batch's pure parts: the library prefix a batch may list, a library song as a job, the song
step on an in-memory job store (retries make no second job), and the owner's summary line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from job_fakes import InMemoryJobStore
from library_batch import LibraryBatch, song_job_id
from rich.console import Console

from surroundyou import batch as batch_command
from surroundyou.batch import summary_line
from surroundyou_jobs.batches import (
    BatchSettings,
    InvalidBatch,
    delivered_key,
    first_songs_of_each_result,
    library_song_job,
    listing_prefix,
)
from surroundyou_jobs.keys import is_song_name, parse_input_key
from surroundyou_jobs.settings import Settings

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.mark.parametrize("prefix", ["albums/2024/", "", "a b/c.d/"])
def test_a_prefix_inside_the_library_is_listed_under_it(prefix):
    assert listing_prefix("library/", prefix) == "library/" + prefix


@pytest.mark.parametrize("prefix", ["../uploads/", "/albums/", "albums/../../processed/", "a//b/", "./x/"])
def test_a_prefix_that_would_leave_the_library_is_refused(prefix):
    with pytest.raises(InvalidBatch, match="not a folder of the library"):
        listing_prefix("library/", prefix)


def test_a_library_song_is_an_ordinary_job_that_remembers_its_batch():
    job = library_song_job(
        "ab" * 16, batch_id="b1", key="library/x/Café.flac", size=10, options={"preset": "slow"}, now_s=100, ttl_days=7
    )
    assert parse_input_key(job["inputKey"]) == ("ab" * 16, "flac")
    assert (job["status"], job["filename"], job["contentType"]) == ("AWAITING_UPLOAD", "Café.flac", "audio/flac")
    assert (job["batchId"], job["libraryKey"]) == ("b1", "library/x/Café.flac")  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("key", "song"),
    [
        ("library/x/a.mp3", True),
        ("library/x/LOUD.FLAC", True),
        ("library/x/Song.v1.m4a", True),
        ("library/x/", False),  # a folder marker
        ("library/x/cover.jpg", False),
        ("library/x/side A.m3u", False),
        ("library/x/README", False),
        ("library/x/._a.mp3", False),  # a Mac's metadata beside a.mp3
        ("library/x/.DS_Store", False),
        ("library/x/a.8d.mp3", False),  # an 8D version already
        ("library/x/a.preview.8d.ogg", False),
    ],
)
def test_a_song_is_known_by_its_name(key, song):
    assert is_song_name(key) is song


@pytest.mark.parametrize(
    ("key", "fmt", "delivered"),
    [
        ("library/albums/2024/Song.mp3", "mp3", "library-8d/albums/2024/Song.8d.mp3"),
        ("library/albums/2024/disc 2/Song.v1.flac", "flac", "library-8d/albums/2024/disc 2/Song.v1.8d.flac"),
    ],
)
def test_an_8d_song_goes_to_the_output_folder_under_its_own_path(key, fmt, delivered):
    assert delivered_key(key, "library/albums/2024/", "library-8d/albums/2024/", fmt) == delivered


class FakeBatches:
    def __init__(self):
        self.started = 0

    def song_started(self, batch_id: str) -> None:
        self.started += 1


class FakeClientError(Exception):
    def __init__(self, code: str):
        self.response = {"Error": {"Code": code}}


class FakeS3:
    exceptions = SimpleNamespace(ClientError=FakeClientError)

    def __init__(self):
        self.copies: list[tuple[str, str, dict]] = []
        self.refusal: str | None = None  # the error code every copy gets, if set
        self.library: list[str] = []  # the library bucket's keys, as ListObjectsV2 lists them

    def get_paginator(self, operation: str) -> SimpleNamespace:
        assert operation == "list_objects_v2"

        def paginate(Bucket: str, Prefix: str, PaginationConfig: dict) -> list[dict]:  # noqa: N803 - boto3's names
            keys = sorted(key for key in self.library if key.startswith(Prefix))[: PaginationConfig.get("MaxItems")]
            return [{"Contents": [{"Key": key} for key in keys]}]

        return SimpleNamespace(paginate=paginate)

    def copy_object(self, Bucket: str, Key: str, CopySource: dict) -> None:  # noqa: N803 - boto3's names
        if self.refusal:
            raise FakeClientError(self.refusal)
        self.copies.append((Bucket, Key, CopySource))


@pytest.fixture
def batch():
    jobs, batches, s3 = InMemoryJobStore(), FakeBatches(), FakeS3()
    settings = Settings(bucket="media", job_ttl_days=7)
    return SimpleNamespace(
        jobs=jobs,
        batches=batches,
        s3=s3,
        run=LibraryBatch(jobs, batches, s3, settings, BatchSettings(library_bucket="lib", library_prefix="library/")),
    )


def test_a_song_becomes_a_job_and_is_copied_to_its_upload_key_once(batch):
    first = batch.run.add_song("b1", "library/a/song.mp3", 1000, {"preset": "fast"})
    again = batch.run.add_song("b1", "library/a/song.mp3", 1000, {"preset": "fast"})  # a retried step
    assert first == again == {"jobId": song_job_id("b1", "library/a/song.mp3")}
    job = batch.jobs.get(first["jobId"])
    assert batch.s3.copies == [("media", job["inputKey"], {"Bucket": "lib", "Key": "library/a/song.mp3"})]
    assert batch.batches.started == 1 and job["status"] == "AWAITING_UPLOAD"
    assert song_job_id("b2", "library/a/song.mp3") != first["jobId"]  # another batch: another job


def test_a_song_that_cannot_be_copied_fails_its_job_at_once_with_the_reason(batch):
    batch.s3.refusal = "AccessDenied"
    job = batch.jobs.get(batch.run.add_song("b1", "library/a/song.mp3", 10, {})["jobId"])
    assert (job["status"], job["error"]["code"]) == ("FAILED", "ConversionFailed")
    assert job["error"]["message"] == "The song could not be read from the library (AccessDenied)."


@pytest.mark.parametrize("key", ["library/a/cover.jpg", "library/a/._song.mp3", "library/a/"])
def test_a_file_that_is_no_song_gets_no_job_and_is_not_copied(batch, key):
    assert batch.run.add_song("b1", key, 10, {}) == {"jobId": None}
    assert batch.jobs.items == {} and batch.s3.copies == [] and batch.batches.started == 0


def test_of_songs_with_one_8d_key_the_first_is_converted_the_others_get_no_job(batch):
    batch.s3.library = [
        "library/a/Song.flac",
        "library/a/Song.mp3",
        "library/a/Song.remix.mp3",  # another song
        "library/a/Song.jpg",  # no song
        "library/b/Song.mp3",  # another folder
    ]
    assert first_songs_of_each_result([key for key in batch.s3.library if is_song_name(key)]) == {
        "library/a/Song.flac",
        "library/a/Song.remix.mp3",
        "library/b/Song.mp3",
    }
    made = {key: batch.run.add_song("b1", key, 10, {}) for key in batch.s3.library}
    assert [key for key, song in made.items() if song["jobId"]] == [
        "library/a/Song.flac",
        "library/a/Song.remix.mp3",
        "library/b/Song.mp3",
    ]
    assert batch.batches.started == 3


def test_the_summary_line_is_one_line_with_the_counts():
    item = {"total": 20, "ready": 17, "failed": 3, "running": 0}
    assert summary_line("1f3c", "SUCCEEDED", item) == "batch 1f3c: SUCCEEDED, 17 ready, 3 failed"
    rerun = {**item, "skipped": 40}
    assert (
        summary_line("1f3c", "SUCCEEDED", rerun)
        == "batch 1f3c: SUCCEEDED, 17 ready, 3 failed, 40 skipped (converted before, or another file of the same song)"
    )
    failed = {**item, "error": {"code": "States.ExceedToleratedFailureThreshold", "message": "Too many."}}
    assert summary_line("1f3c", "FAILED", failed) == "batch 1f3c: FAILED, 17 ready, 3 failed (Too many.)"
    assert summary_line("1f3c", "RUNNING", {**item, "running": 2}).endswith(", 2 running, 20 in all")


def test_a_batch_followed_and_stopped_with_ctrl_c_is_said_to_go_on(monkeypatch, capsys):
    """Ctrl-C stops the following, not the batch in AWS: the command says so, and how to follow again."""
    answers = iter([("RUNNING", {"total": 20, "ready": 3, "failed": 0, "running": 2})])

    def status(batch_id: str):
        try:
            return next(answers)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(batch_command, "POLL_S", 0)
    with pytest.raises(KeyboardInterrupt):
        batch_command.follow(SimpleNamespace(status=status), "1f3c", True, Console(file=io.StringIO()))
    told = " ".join(capsys.readouterr().err.split())
    assert told == "batch 1f3c goes on in AWS: `surroundyou batch status 1f3c --wait` follows it again"


def test_the_failed_songs_are_read_from_the_batchs_report_and_an_unreadable_one_says_so():
    files = {
        "batches/b/run/manifest.json": {"ResultFiles": {"FAILED": [{"Key": "batches/b/run/FAILED_0.json"}]}},
        "batches/b/run/FAILED_0.json": [
            {"Input": json.dumps({"key": "library/b.mp3"}), "Error": "InvalidUpload", "Cause": "job 1f: Not audio."},
            {"Input": json.dumps({"Key": "library/a.mp3"}), "Error": "SongTimedOut", "Cause": "It did not end."},
        ],
    }

    def get_object(Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's names
        if Key not in files:
            raise OSError(f"NoSuchKey: {Key}")
        return {"Body": io.BytesIO(json.dumps(files[Key]).encode())}

    def paginate(Bucket: str, Prefix: str) -> list[dict]:  # noqa: N803 - boto3's names
        return [{"Contents": [{"Key": key} for key in files if key.startswith(Prefix)]}]

    s3 = SimpleNamespace(get_object=get_object, get_paginator=lambda _: SimpleNamespace(paginate=paginate))
    batches = batch_command.Batches(None, None, "arn", s3, "media")
    told = ["library/a.mp3: It did not end.", "library/b.mp3: Not audio."]
    assert batches.failures({"manifestKey": "batches/b/run/manifest.json"}) == told
    assert batches.failures({"reportPrefix": "batches/b/"}) == told  # a failed map hands over no key
    assert batches.failures({"reportPrefix": "batches/c/"}) == []
    assert batches.failures({"manifestKey": "batches/gone/manifest.json"}) == [
        "the report s3://media/batches/gone/manifest.json could not be read (NoSuchKey: batches/gone/manifest.json)"
    ]


def test_the_sample_events_are_the_shapes_the_state_machine_sends():
    asl = json.loads((EVENTS.parent / "statemachine" / "batch.asl.json").read_text())
    payloads = [asl["States"]["StartBatch"], asl["States"]["FinishFailedBatch"]]
    child = asl["States"]["ConvertLibrary"]["ItemProcessor"]["States"]
    for sample, state in zip(
        ("batch_start", "batch_finish_too_many_failed", "batch_song", "batch_deliver"),
        [*payloads, child["CreateJob"], child["Deliver"]],
        strict=True,
    ):
        event = json.loads((EVENTS / f"{sample}.json").read_text())
        sent = state["Parameters"]["Payload"]
        assert {name.removesuffix(".$") for name in sent} == set(event), sample
