"""The validate Lambda on EventBridge "Object Created" events, against moto S3 and DynamoDB, with
real audio made in the test (pedalboard, and the ffmpeg of imageio-ffmpeg for M4A/AAC/Opus/WebM)."""

from __future__ import annotations

import io
import subprocess

import imageio_ffmpeg
import pytest
from audio_probe import FORMATS, describe_non_audio, probe_audio
from botocore.exceptions import ClientError
from job_fakes import EXECUTION, OTHER_EXECUTION, InMemoryClientLimits
from pedalboard.io import AudioFile
from pydantic import ValidationError
from s3_range_file import READ_AHEAD_BYTES, S3RangeFile
from upload_check import InvalidUpload, validate_upload

from surroundyou_formats.sniff import EXTENSION_FORMATS
from surroundyou_jobs.keys import INPUT_CONTENT_TYPES, input_key
from surroundyou_jobs.model import JobStatus, new_job
from surroundyou_jobs.wording import clock, file_size, spoken_duration

# an event that fails to parse publishes no metric, and Powertools warns about an empty flush
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

JOB = "3f9c2a7be41d4c0e9a6b5d8e7f102b34"  # the job of events/upload_created.json and upload_duplicate.json
NOT_AUDIO_JOB = "9d5e0c4a1b2f4e6a8c7d3b1a0f9e8d7c"  # the job of events/upload_not_audio.json
SONG_S = 2.0
SAMPLE_RATE = 44100
# extension -> ffmpeg arguments, for the formats pedalboard does not write
FFMPEG_FORMATS = {
    "m4a": ["-c:a", "aac", "-b:a", "128k", "-f", "ipod"],
    "aac": ["-c:a", "aac", "-b:a", "128k", "-f", "adts"],
    "opus": ["-c:a", "libopus", "-b:a", "96k", "-f", "opus"],
    "webm": ["-c:a", "libopus", "-b:a", "96k", "-f", "webm"],
}


def encode(audio, extension: str, tmp_dir) -> bytes:
    """The (2, n) float32 ``audio`` as a file of the given type."""
    if extension in FFMPEG_FORMATS:
        wav = tmp_dir / "source.wav"
        with AudioFile(str(wav), "w", SAMPLE_RATE, 2) as file:
            file.write(audio)
        out = tmp_dir / f"song.{extension}"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-i",
                str(wav),
                *FFMPEG_FORMATS[extension],
                str(out),
            ],
            check=True,
        )
        return out.read_bytes()
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", SAMPLE_RATE, 2, format=extension) as file:
        file.write(audio)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def songs(signals, tmp_path_factory) -> dict[str, bytes]:
    """A 2 s stereo song as every uploadable file type: {extension: file bytes}."""
    audio = signals.music_like(SONG_S, SAMPLE_RATE)
    tmp_dir = tmp_path_factory.mktemp("songs")
    made = {ext: encode(audio, ext, tmp_dir) for ext in ("mp3", "flac", "wav", "ogg", "aiff", *FFMPEG_FORMATS)}
    made["aif"] = made["aiff"]
    return made


@pytest.fixture
def validate(handlers, bucket, jobs_table, lambda_context):
    return lambda event: handlers.validate.lambda_handler(event, lambda_context)


def create_job(job_store, job_id=JOB, extension="mp3", filename="My Song.mp3"):
    return job_store.create(
        new_job(
            job_id,
            filename=filename,
            size=1000,
            content_type=INPUT_CONTENT_TYPES[extension][0],
            options={"preset": "classic", "format": "mp3", "mode": "spherical"},
            input_key=input_key(job_id, extension),
            now_s=1_700_000_000,
            ttl_days=7,
        )
    )


@pytest.fixture
def upload(s3, bucket):
    """upload(key, data): the object as the browser's POST leaves it in the bucket."""
    return lambda key, data: s3.put_object(Bucket=bucket, Key=key, Body=data)


def event_for(sample_event, key, name="upload_created"):
    event = sample_event(name)
    event["upload"]["detail"]["object"]["key"] = key
    return event


def refusal(validate, event) -> str:
    with pytest.raises(InvalidUpload) as raised:
        validate(event)
    # Step Functions names the error after the class: the state machine catches "InvalidUpload"
    assert type(raised.value).__name__ == "InvalidUpload"
    return str(raised.value)


# ---------------------------------------------------------------- accepted uploads


def test_upload_created_event_queues_the_job(validate, sample_event, job_store, bucket, songs, emitted_metrics, upload):
    create_job(job_store)
    event = sample_event("upload_created")
    put = upload(event["upload"]["detail"]["object"]["key"], songs["mp3"])

    job = validate(event)

    assert job == {"jobId": JOB, "duplicate": False}  # the job item holds the rest
    queued = job_store.get(JOB)
    assert (queued["status"], queued["executionArn"]) == (JobStatus.QUEUED.value, event["executionArn"])
    assert queued["inputEtag"] == put["ETag"]  # the task reads this object only
    assert emitted_metrics() == {"UploadsAccepted": 1}


@pytest.mark.parametrize("extension", sorted(INPUT_CONTENT_TYPES))
def test_every_supported_format_is_recognised_with_its_duration(
    validate, sample_event, job_store, songs, extension, upload
):
    create_job(job_store, extension=extension)
    key = f"uploads/{JOB}/source.{extension}"
    upload(key, songs[extension])
    job = validate(event_for(sample_event, key))
    assert job["duplicate"] is False
    # encoders add up to one frame of priming/padding (AAC 1024, Opus 312 samples at 48 kHz)
    assert probe_audio(io.BytesIO(songs[extension]), extension).duration_s == pytest.approx(SONG_S, abs=0.06)
    assert job_store.get(JOB)["status"] == JobStatus.QUEUED.value


def test_all_supported_extensions_have_format_rules():
    assert set(EXTENSION_FORMATS) == set(INPUT_CONTENT_TYPES)
    assert {fmt for formats in EXTENSION_FORMATS.values() for fmt in formats} == set(FORMATS)


# ---------------------------------------------------------------- duplicates


def test_the_same_event_twice_queues_once(validate, sample_event, job_store, songs, emitted_metrics, upload):
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", songs["mp3"])
    first = validate(sample_event("upload_created"))
    queued = job_store.get(JOB)

    second = validate(sample_event("upload_duplicate"))

    assert first["duplicate"] is False
    assert second == {"jobId": JOB, "duplicate": True}
    assert job_store.get(JOB) == queued
    assert emitted_metrics() == {"UploadsAccepted": 1, "DuplicateUploadEvents": 1}


def test_the_executions_own_retry_goes_on_with_the_job_it_queued(validate, sample_event, job_store, songs, upload):
    """The step's answer lost after the job was queued (a retried Lambda.SdkClientException): the
    retry must not take its own execution for a duplicate, which would leave the job QUEUED for good."""
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", songs["mp3"])
    assert validate(sample_event("upload_created")) == {"jobId": JOB, "duplicate": False}
    queued = job_store.get(JOB)
    assert validate(sample_event("upload_created")) == {"jobId": JOB, "duplicate": False}
    assert job_store.get(JOB) == queued


@pytest.mark.parametrize("later_status", [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.READY, JobStatus.FAILED])
def test_a_late_duplicate_never_moves_the_job_back(validate, sample_event, job_store, songs, later_status, upload):
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", songs["mp3"])
    for status in {
        JobStatus.QUEUED: [JobStatus.QUEUED],
        JobStatus.PROCESSING: [JobStatus.QUEUED, JobStatus.PROCESSING],
        JobStatus.READY: [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.READY],
        JobStatus.FAILED: [JobStatus.FAILED],
    }[later_status]:
        job_store.transition(JOB, status)
    before = job_store.get(JOB)

    assert validate(sample_event("upload_duplicate")) == {"jobId": JOB, "duplicate": True}
    assert job_store.get(JOB) == before


def limits_of_no_one() -> InMemoryClientLimits:
    """Limits for jobs made without a client (create_job here): validate renews nothing."""
    return InMemoryClientLimits(jobs_per_hour=1, open_jobs=1)


@pytest.mark.parametrize("winner, duplicate", [(OTHER_EXECUTION, True), (EXECUTION, False)])
def test_a_delivery_that_loses_the_race_is_a_duplicate(
    job_store, settings, bucket, songs, upload, s3, winner, duplicate
):
    """Two deliveries check the same upload at once; the conditional write lets one queue it. The
    winner may be an earlier attempt of this execution's, still running when its retry started."""
    create_job(job_store)
    key = f"uploads/{JOB}/source.mp3"
    upload(key, songs["mp3"])

    def open_upload_while_the_winner_queues_the_job(bucket_name, object_key):
        job_store.transition(JOB, JobStatus.QUEUED, execution_arn=winner)
        upload = S3RangeFile.open(s3, bucket_name, object_key)
        return upload, upload.raw.etag

    result = validate_upload(
        job_store, settings, bucket, key, open_upload_while_the_winner_queues_the_job, limits_of_no_one(), EXECUTION
    )
    assert result == {"jobId": JOB, "duplicate": duplicate}
    assert (job_store.get(JOB)["status"], job_store.get(JOB)["executionArn"]) == (JobStatus.QUEUED.value, winner)


# ---------------------------------------------------------------- refused uploads


def test_a_text_file_named_mp3_is_refused(validate, sample_event, job_store, emitted_metrics, upload, structured_logs):
    event = sample_event("upload_not_audio")
    create_job(job_store, job_id=NOT_AUDIO_JOB, filename="lyrics.mp3")
    upload(event["upload"]["detail"]["object"]["key"], b"Verse 1\nThe music goes round and round\n" * 50)

    assert refusal(validate, event) == "This file is not audio we can read: it looks like text."
    assert job_store.get(NOT_AUDIO_JOB)["status"] == JobStatus.AWAITING_UPLOAD.value
    assert emitted_metrics() == {"UploadsRejected": 1}
    last = structured_logs("validate")[-1]
    assert (last["message"], last["job_id"], last["reason"]) == (
        "upload refused",
        NOT_AUDIO_JOB,
        "This file is not audio we can read: it looks like text.",
    )


@pytest.mark.parametrize("id3v1", [b"", b"TAG" + bytes(125)], ids=["ID3v2", "ID3v2 and ID3v1"])
def test_an_mp3_that_is_only_a_tag_says_so(validate, sample_event, job_store, upload, id3v1):
    """It read "damaged or cut short": a tagger's output, or a download that stopped after the cover."""
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x40" + bytes(64) + id3v1)
    assert refusal(validate, sample_event("upload_created")) == (
        "This file holds only a tag (a title, a cover...) and no audio."
    )


def test_an_mp3_cut_inside_its_first_frame_is_refused(validate, sample_event, job_store, songs, upload):
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", songs["mp3"][:100])
    assert refusal(validate, sample_event("upload_created")) == (
        "This MP3 file can't be read; it may be damaged or cut short. Please upload it again."
    )


@pytest.mark.parametrize(
    "extension, says",
    [
        ("mp3", "This MP3 file is incomplete: it holds about 0:01 of a 0:02 song."),
        ("wav", "This WAV file is incomplete: it holds about 0:01 of a 0:02 song."),
        ("aiff", "This AIFF file is incomplete: it holds about 0:01 of a 0:02 song."),
        ("ogg", "This Ogg Vorbis file is incomplete: it stops before the end of its stream."),
        ("opus", "This Opus file is incomplete: it stops before the end of its stream."),
    ],
)
def test_a_file_cut_in_the_middle_is_refused_as_incomplete(
    validate, sample_event, job_store, songs, extension, says, upload
):
    """The header promises 2 s of audio and the file holds half of it; Ogg declares no length, but its
    last page ends the stream, and half a file has no such page."""
    create_job(job_store, extension=extension)
    key = f"uploads/{JOB}/source.{extension}"
    upload(key, songs[extension][: len(songs[extension]) // 2])
    assert refusal(validate, event_for(sample_event, key)) == f"{says} Please upload the whole file."


def test_a_song_over_the_duration_limit_is_refused(validate, sample_event, job_store, songs, monkeypatch, upload):
    monkeypatch.setenv("MAX_DURATION_S", "1.5")
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", songs["mp3"])
    assert refusal(validate, sample_event("upload_created")) == "The song is 2 s long; the limit is 1.5 s."
    assert job_store.get(JOB)["status"] == JobStatus.AWAITING_UPLOAD.value


def test_a_file_over_the_size_limit_is_refused_before_reading_it(
    validate, sample_event, job_store, monkeypatch, upload
):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "50000")
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", b"\0" * 80_000)
    assert refusal(validate, sample_event("upload_created")) == "The file is 80 KB; the limit is 50 KB."


def test_an_empty_file_is_refused(validate, sample_event, job_store, upload):
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", b"")
    assert refusal(validate, sample_event("upload_created")) == "The file is empty."


def test_audio_of_another_format_than_its_name_is_refused(validate, sample_event, job_store, songs, upload):
    create_job(job_store)
    upload(f"uploads/{JOB}/source.mp3", songs["flac"])
    assert refusal(validate, sample_event("upload_created")) == (
        "The file is named .mp3 but holds FLAC audio; rename it to .flac and upload it again."
    )


def test_an_upload_without_a_job_is_refused(validate, sample_event, job_store, songs, upload):
    upload(f"uploads/{JOB}/source.mp3", songs["mp3"])
    assert refusal(validate, sample_event("upload_created")) == (
        "No conversion is waiting for this file; it may have expired. Please start again."
    )


def test_an_object_that_is_no_upload_key_is_refused(validate, sample_event, job_store, songs, upload):
    key = "uploads/my-own-folder/song.mp3"
    upload(key, songs["mp3"])
    assert refusal(validate, event_for(sample_event, key)) == "This file was not uploaded through SurroundYou."


def test_an_upload_with_another_extension_than_the_form_is_refused(validate, sample_event, job_store, songs, upload):
    create_job(job_store, extension="mp3")
    key = f"uploads/{JOB}/source.wav"
    upload(key, songs["wav"])
    assert refusal(validate, event_for(sample_event, key)) == (
        "This file was not uploaded with the form SurroundYou issued."
    )
    assert job_store.get(JOB)["status"] == JobStatus.AWAITING_UPLOAD.value


def test_an_event_of_another_shape_is_a_parse_error(validate):
    with pytest.raises(ValidationError):
        validate({"detail": {"bucket": {"name": "b"}}})


@pytest.mark.parametrize(
    "head, looks_like",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(56), "it looks like a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "it looks like a PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "it looks like a ZIP archive or an office document"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "it looks like a JPEG image"),
        (b"  <!DOCTYPE html><html><body>", "it looks like a web page"),
        ("Paroles: « Ça tourne » — refrain ♪".encode()[:40], "it looks like text"),
        (
            bytes(range(0, 256, 4)),
            "it matches none of the audio formats we read (MP3, AAC, WAV, FLAC, Ogg Vorbis, "
            "Opus, Ogg FLAC, AIFF, M4A, WebM)",
        ),
    ],
)
def test_what_a_refused_file_looks_like(head, looks_like):
    assert describe_non_audio(head) == looks_like


def test_an_id3_tag_with_cover_art_before_the_audio_is_looked_past(songs):
    """Tagged MP3s start with ID3 (and often a large picture) rather than a frame sync."""
    tag_size = 300_000
    tag = b"ID3\x04\x00\x00" + bytes((tag_size >> s) & 0x7F for s in (21, 14, 7, 0)) + bytes(tag_size)
    probe = probe_audio(io.BytesIO(tag + songs["mp3"]), "mp3")
    assert probe.format == "mp3"
    assert probe.duration_s == pytest.approx(SONG_S, abs=0.06)


def test_a_wav_written_while_streaming_is_as_long_as_its_audio(songs):
    """Its data chunk's size left at 0xFFFFFFFF (``ffmpeg ... -f wav -``): not 6.8 hours, and not refused."""
    data = bytearray(songs["wav"])
    data_chunk = data.find(b"data")
    data[data_chunk + 4 : data_chunk + 8] = b"\xff\xff\xff\xff"
    assert probe_audio(io.BytesIO(bytes(data)), "wav").duration_s == pytest.approx(SONG_S, abs=0.01)


def test_a_webm_that_does_not_say_its_duration_is_refused(songs):
    """A live recording's WebM has no Duration in its header: no duration, no conversion."""
    data = songs["webm"]
    duration_element = data.find(b"\x44\x89")
    without_duration = data[:duration_element] + b"\xec" + data[duration_element + 1 :]  # renamed to a Void element
    with pytest.raises(ValueError, match="This WebM file can't be read"):
        probe_audio(io.BytesIO(without_duration), "webm")


# ---------------------------------------------------------------- reading little of the object


@pytest.mark.parametrize("extension", ["wav", "mp3", "flac", "m4a"])
def test_the_checks_read_a_few_kilobytes_not_the_song(bucket, signals, tmp_path, extension, upload, s3):
    """A 60 s song is probed through ranged GETs: measured, the reads stay within a couple of
    read-ahead blocks whatever the song's length."""
    data = encode(signals.sine(60.0, 440.0, sample_rate=SAMPLE_RATE), extension, tmp_path)
    upload(f"uploads/{JOB}/source.{extension}", data)
    file = S3RangeFile.open(s3, bucket, f"uploads/{JOB}/source.{extension}")

    probe = probe_audio(file, extension)

    raw = file.raw
    print(f"{extension}: {len(data)} bytes, {raw.requests} ranged GETs, {raw.fetched_bytes} bytes fetched")
    assert probe.duration_s == pytest.approx(60.0, abs=0.06)
    assert raw.requests <= 6  # start, header, perhaps a seek to the index (M4A) and the tags at the end
    assert raw.fetched_bytes <= 4 * READ_AHEAD_BYTES < len(data) / 2


def test_the_range_file_reads_like_a_file_and_only_from_the_object_it_opened(bucket, upload, s3):
    key = f"uploads/{JOB}/source.wav"
    data = bytes(range(256)) * 1000
    upload(key, data)
    file = S3RangeFile.open(s3, bucket, key)
    assert file.read(10) == data[:10]
    assert file.seek(-5, io.SEEK_END) == len(data) - 5
    assert file.read() == data[-5:]
    file.seek(200_000)
    assert file.read(3) == data[200_000:200_003]
    file.seek(0)
    assert file.read() == data

    upload(key, b"replaced meanwhile")
    file.seek(100_000)
    with pytest.raises(ClientError, match="PreconditionFailed"):
        file.read(10)


# ---------------------------------------------------------------- words


@pytest.mark.parametrize(
    "seconds, words",
    [
        (1.5, "1.5 s"),
        (2.0, "2 s"),
        (45.2, "45 s"),
        (250, "4 min 10 s"),
        (3600, "60 min"),
        (7500, "2 h 5 min"),
        (3661, "1 h 1 min 1 s"),
    ],
)
def test_spoken_duration(seconds, words):
    assert spoken_duration(seconds) == words


@pytest.mark.parametrize(
    "size_bytes, words",
    [
        (500, "1 KB"),
        (80_000, "80 KB"),
        (7_000_000, "7.0 MB"),
        (209_715_200, "210 MB"),
        (4_200_000_000, "4.2 GB"),
        (10**30, "over 1,000 TB"),  # a mistyped size was "999999999999999983222784 MB"
    ],
)
def test_file_size(size_bytes, words):
    assert file_size(size_bytes) == words


def test_clock():
    assert (clock(1.4), clock(187), clock(3725)) == ("0:01", "3:07", "1:02:05")
