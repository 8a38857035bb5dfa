"""A whole library at once: the BatchConvert state machine on the local stack, started with the
owner's `surroundyou batch start --wait` as a person would run it after `make run`.

Songs are put under the library prefix (template parameter LibraryPrefix, default library/) with
the owner's credentials; each becomes an ordinary job (GET /jobs/{id}), run by the Convert state
machine; the Distributed Map's failure budget (BatchToleratedFailurePercentage, default 25 %)
decides the batch. What is checked comes from outside the batch's own code: the jobs through the
API, the batch item and the ResultWriter's files in S3, the command's output and exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from browser_client import get_job, tone_song

from surroundyou_local.local_aws import ACCESS_KEY_ID, SECRET_ACCESS_KEY

pytestmark = pytest.mark.slow

SONG_S = 2.0
LIBRARY = "library/"  # the template's default LibraryPrefix
OUTPUT = "library-8d/"  # and LibraryOutputPrefix
SURROUNDYOU = Path(sys.executable).parent / "surroundyou"
TEXT = b"Track list, side A:\n1. Evening Walk\n2. Harbour Lights\n" * 20
BAD_SONGS = {  # name -> (bytes, what the job's error says)
    "liner notes.wav": (TEXT, "not audio"),
    "scratched.mp3": (bytes(range(256)) * 8, "not audio"),
}
NOT_SONGS = {  # what else a music folder holds: left alone, neither ready nor failed
    "cover.jpg": b"\xff\xd8\xff\xe0" + bytes(500),
    "side A.m3u": b"track 00.wav\n",
    "._track 00.wav": b"\x00\x05\x16\x07" + bytes(60),  # the metadata a Mac copies beside a file
    "": b"",  # a console's folder marker
}


@pytest.fixture(scope="module")
def owner(local_stack_process):
    """The account's administrator on the local stack, as `make run`'s export line gives it."""
    environ = {
        **os.environ,
        "AWS_ENDPOINT_URL": local_stack_process.aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name="us-east-1"
    )
    endpoint = local_stack_process.aws_endpoint_url
    s3 = session.client("s3", endpoint_url=endpoint)
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    (table,) = [
        t for t in session.client("dynamodb", endpoint_url=endpoint).list_tables()["TableNames"] if "batches" in t
    ]
    return {
        "environ": environ,
        "s3": s3,
        "bucket": bucket,
        "batches": session.resource("dynamodb", endpoint_url=endpoint).Table(table),
    }


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> bytes:
    return tone_song(tmp_path_factory.mktemp("batch") / "tone.wav", SONG_S, 440.0).read_bytes()


def put_library(owner, folder: str, good: int, bad: int, song: bytes) -> None:
    for n in range(good):
        owner["s3"].put_object(Bucket=owner["bucket"], Key=f"{LIBRARY}{folder}track {n:02d}.wav", Body=song)
    names = list(BAD_SONGS) * (bad // len(BAD_SONGS) + 1)
    for n, name in enumerate(names[:bad]):
        owner["s3"].put_object(Bucket=owner["bucket"], Key=f"{LIBRARY}{folder}{n:02d} {name}", Body=BAD_SONGS[name][0])
    for name, body in NOT_SONGS.items():
        owner["s3"].put_object(Bucket=owner["bucket"], Key=f"{LIBRARY}{folder}{name}", Body=body)


def batch_start(owner, folder: str, *flags: str) -> tuple[str, subprocess.CompletedProcess]:
    batch_id = uuid.uuid4().hex
    done = subprocess.run(
        [
            str(SURROUNDYOU),
            "batch",
            "start",
            "--prefix",
            folder,
            "--preset",
            "fast",
            "--name",
            batch_id,
            "--wait",
            *flags,
        ],
        env=owner["environ"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return batch_id, done


def batch_status(owner, batch_id: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SURROUNDYOU), "batch", "status", batch_id],
        env=owner["environ"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_run_says_how_to_start_a_batch(owner, local_stack_process):
    (hint,) = [line for line in local_stack_process.lines if line.startswith("Convert a library: ")]
    assert f"s3://{owner['bucket']}/{LIBRARY}albums/" in hint and "surroundyou batch start --prefix albums/" in hint


def result_files(owner, manifest_key: str) -> dict[str, list[dict]]:
    s3, bucket = owner["s3"], owner["bucket"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    assert manifest["DestinationBucket"] == bucket
    return {
        outcome: [
            execution
            for entry in files
            for execution in json.loads(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
        ]
        for outcome, files in manifest["ResultFiles"].items()
    }


def test_a_library_with_two_bad_songs_and_a_cover_succeeds_with_17_songs_ready_and_2_failed_with_reasons(
    owner, song, local_stack
):
    put_library(owner, "good-album/", good=17, bad=2, song=song)
    batch_id, done = batch_start(owner, "good-album/")
    print(done.stdout[-2000:], done.stderr[-2000:])
    assert done.returncode == 0, done.stdout + done.stderr
    *told, last = done.stdout.strip().splitlines()
    assert last == f"batch {batch_id}: SUCCEEDED, 17 ready, 2 failed"
    # which songs failed, and why, from the batch's report: before the summary
    failed_lines = [line for line in told if line.startswith("failed: ")]
    failed_keys = [line.split(": ", 2)[1] for line in failed_lines]
    assert failed_keys == sorted(failed_keys), failed_lines
    said = {}
    for line in failed_lines:  # "failed: library/good-album/01 scratched.mp3: This file is not audio ..."
        key, message = line.removeprefix("failed: ").split(": ", 1)
        said[key.removeprefix(f"{LIBRARY}good-album/").split(" ", 1)[1]] = message
    assert set(said) == set(BAD_SONGS), failed_lines
    assert all(BAD_SONGS[name][1] in message for name, message in said.items()), failed_lines

    status = batch_status(owner, batch_id)  # later, from another shell: the same lines
    assert (status.returncode, status.stdout.strip().splitlines()) == (0, [*failed_lines, last])

    batch = owner["batches"].get_item(Key={"batchId": batch_id}, ConsistentRead=True)["Item"]
    assert batch["status"] == "SUCCEEDED" and batch["finishedAt"] >= batch["startedAt"]
    assert (batch["total"], batch["ready"], batch["failed"], batch["running"]) == (19, 17, 2, 0)

    results = result_files(owner, batch["manifestKey"])
    outputs = [json.loads(execution["Output"]) for execution in results["SUCCEEDED"]]
    ready_ids = [output["jobId"] for output in outputs if output.get("status") == "READY"]
    skipped = sorted(output["key"] for output in outputs if output.get("status") == "SKIPPED")
    assert skipped == sorted(f"{LIBRARY}good-album/{name}" for name in NOT_SONGS)
    assert len(outputs) == 17 + len(NOT_SONGS)
    assert len(ready_ids) == 17 and len(results["FAILED"]) == 2 and not results["PENDING"]
    delivered = {
        obj["Key"]: obj["Size"]
        for obj in owner["s3"].list_objects_v2(Bucket=owner["bucket"], Prefix=f"{OUTPUT}good-album/")["Contents"]
    }
    assert sorted(delivered) == [f"{OUTPUT}good-album/track {n:02d}.8d.mp3" for n in range(17)]
    for job_id in ready_ids:  # each song is an ordinary job, with its download, and a copy beside the library
        job = get_job(local_stack, job_id).json()
        assert job["status"] == "READY" and job["filename"].startswith("track ") and job["download"]["url"], job
        assert job["result"]["durationS"] == pytest.approx(SONG_S, abs=0.1)
        copy = f"{OUTPUT}good-album/{job['filename'].removesuffix('.wav')}.8d.mp3"
        assert delivered[copy] == job["result"]["sizeBytes"]
    failed = {}
    for execution in results["FAILED"]:
        job_id = execution["Cause"].split()[1].rstrip(":")
        job = get_job(local_stack, job_id).json()
        failed[job["filename"].split(" ", 1)[1]] = job
        assert job["error"]["message"] in execution["Cause"] and execution["Error"] == job["error"]["code"]
    assert set(failed) == set(BAD_SONGS)
    for name, job in failed.items():
        assert job["status"] == "FAILED" and BAD_SONGS[name][1] in job["error"]["message"], job


def test_a_library_with_15_bad_files_of_20_fails_the_batch(owner, song):
    put_library(owner, "bad-album/", good=5, bad=15, song=song)
    batch_id, done = batch_start(owner, "bad-album/")
    print(done.stdout[-2000:], done.stderr[-2000:])
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"batch {batch_id}: FAILED, ") and "More songs failed than the batch tolerates" in last
    batch = owner["batches"].get_item(Key={"batchId": batch_id}, ConsistentRead=True)["Item"]
    assert batch["status"] == "FAILED" and batch["error"]["code"] == "States.ExceedToleratedFailureThreshold"
    assert batch["failed"] > 20 * 25 // 100  # the budget was passed, and that ended the batch
    assert batch["running"] == 0
    # moto's interpreter writes no report for a map run that failed: no names to list here
    told = [line for line in done.stdout.strip().splitlines() if line.startswith("failed: ")]
    status = batch_status(owner, batch_id)
    assert status.returncode == 1 and status.stdout.strip().splitlines() == [*told, last]


def test_a_library_run_again_with_skip_existing_converts_only_what_is_new(owner, song):
    put_library(owner, "growing/", good=3, bad=0, song=song)
    first, done = batch_start(owner, "growing/")
    assert done.stdout.strip().splitlines()[-1] == f"batch {first}: SUCCEEDED, 3 ready, 0 failed", done.stdout
    s3, bucket = owner["s3"], owner["bucket"]
    s3.delete_object(Bucket=bucket, Key=f"{OUTPUT}growing/track 01.8d.mp3")  # lost
    s3.put_object(Bucket=bucket, Key=f"{LIBRARY}growing/track 03.wav", Body=song)  # new
    kept = s3.head_object(Bucket=bucket, Key=f"{OUTPUT}growing/track 00.8d.mp3")["LastModified"]
    again, done = batch_start(owner, "growing/", "--skip-existing")
    last = done.stdout.strip().splitlines()[-1]
    assert (
        last
        == f"batch {again}: SUCCEEDED, 2 ready, 0 failed, 2 skipped (converted before, or another file of the same song)"
    ), done.stdout
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{OUTPUT}growing/")["Contents"]
    assert sorted(item["Key"] for item in listed) == [f"{OUTPUT}growing/track {n:02d}.8d.mp3" for n in range(4)]
    assert s3.head_object(Bucket=bucket, Key=f"{OUTPUT}growing/track 00.8d.mp3")["LastModified"] == kept


def test_a_prefix_outside_the_library_is_refused(owner):
    done = subprocess.run(
        [str(SURROUNDYOU), "batch", "start", "--prefix", "../uploads/", "--wait"],
        env=owner["environ"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert ": FAILED, 0 ready, 0 failed" in last and "is not a folder of the library" in last, last
