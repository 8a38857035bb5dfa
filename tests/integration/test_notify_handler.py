"""The notify Lambda on the state machine's ready/failed payloads, against moto S3 and DynamoDB."""

from __future__ import annotations

import json

import pytest
from job_outcome import CONVERTER_STOPPED_MESSAGE, GENERIC_MESSAGE, NO_CONVERTER_MESSAGE, TIMEOUT_MESSAGE
from pydantic import ValidationError

from surroundyou_jobs.errors import INTERRUPTED_MESSAGE, ErrorCode, JobError
from surroundyou_jobs.keys import input_key
from surroundyou_jobs.limits import DynamoClientLimits
from surroundyou_jobs.model import JobResult, JobStatus, new_job

# ignored notifications publish no metric, and Powertools warns about an empty flush
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

JOB = "3f9c2a7be41d4c0e9a6b5d8e7f102b34"  # the job of notify_ready.json and notify_failed_task.json
NOT_AUDIO_JOB = "9d5e0c4a1b2f4e6a8c7d3b1a0f9e8d7c"  # the job of notify_failed_validation.json
RESULT = JobResult(outputKey=f"processed/{JOB}/My Song.8d.mp3", format="mp3", durationS=187.25, sizeBytes=4321)
# what the path to each status runs through
PATHS = {
    JobStatus.AWAITING_UPLOAD: [],
    JobStatus.QUEUED: [JobStatus.QUEUED],
    JobStatus.PROCESSING: [JobStatus.QUEUED, JobStatus.PROCESSING],
    JobStatus.READY: [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.READY],
    JobStatus.FAILED: [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.FAILED],
}
TASK_REASON = JobError(ErrorCode.DECODE_FAILED, "lyrics.mp3: the audio stops after 0:42; the file is damaged.")


@pytest.fixture
def notify(handlers, jobs_table, limits_table, lambda_context):
    return lambda event: handlers.notify.lambda_handler(event, lambda_context)


def make_job(job_store, status: JobStatus, job_id: str = JOB, queued_by: str | None = None) -> dict:
    """A job walked to ``status`` (queued by the execution ``queued_by``); one that got as far as
    PROCESSING has the result the task records."""
    job_store.create(
        new_job(
            job_id,
            filename="My Song.mp3",
            size=7340032,
            content_type="audio/mpeg",
            options={"preset": "classic", "format": "mp3", "mode": "spherical"},
            input_key=input_key(job_id, "mp3"),
            now_s=1_700_000_000,
            ttl_days=7,
        )
    )
    for step in PATHS[status]:
        error = TASK_REASON if step is JobStatus.FAILED else None
        job_store.transition(job_id, step, error=error, execution_arn=queued_by if step is JobStatus.QUEUED else None)
        if step is JobStatus.PROCESSING and status is not JobStatus.FAILED:
            job_store.record_result(job_id, RESULT)
    return job_store.get(job_id)


def failed_event(sample_event, error: str, cause: str | None) -> dict:
    event = sample_event("notify_failed_task")
    event["error"] = {"Error": error, "Cause": cause}
    return event


# ---------------------------------------------------------------- ready


def test_ready_marks_the_job_ready_and_keeps_the_tasks_result(notify, sample_event, job_store, emitted_metrics):
    make_job(job_store, JobStatus.PROCESSING)

    answer = notify(sample_event("notify_ready"))

    assert answer == {"jobId": JOB, "status": "READY"}
    job = job_store.get(JOB)
    assert job["status"] == "READY"
    assert job["progress"] == 100
    assert job["result"] == RESULT
    assert emitted_metrics() == {"JobsReady": 1}


def test_a_retried_ready_changes_nothing(notify, sample_event, job_store):
    make_job(job_store, JobStatus.PROCESSING)
    notify(sample_event("notify_ready"))
    first = job_store.get(JOB)

    assert notify(sample_event("notify_ready")) == {"jobId": JOB, "status": "READY"}
    assert job_store.get(JOB) == first


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.FAILED])
def test_ready_for_a_job_not_processing_is_an_error_and_changes_nothing(notify, sample_event, job_store, status):
    """The state machine's Catch then runs the failed path, which keeps or sets FAILED."""
    before = make_job(job_store, status)
    with pytest.raises(Exception, match="cannot become READY"):
        notify(sample_event("notify_ready"))
    assert job_store.get(JOB) == before


# ---------------------------------------------------------------- failed


def test_failed_validation_shows_the_validators_message(notify, sample_event, job_store, emitted_metrics):
    make_job(job_store, JobStatus.AWAITING_UPLOAD, job_id=NOT_AUDIO_JOB)

    answer = notify(sample_event("notify_failed_validation"))

    assert answer == {"jobId": NOT_AUDIO_JOB, "status": "FAILED"}
    job = job_store.get(NOT_AUDIO_JOB)
    assert job["status"] == "FAILED"
    assert job["error"] == {
        "code": "InvalidUpload",
        "message": "This file is not audio we can read: it looks like text.",
    }
    assert emitted_metrics() == {"JobsFailed": 1}


def test_a_task_that_died_is_explained(notify, sample_event, job_store):
    """The container was killed (exit 137, out of memory) before it could write a reason itself."""
    make_job(job_store, JobStatus.PROCESSING)
    event = sample_event("notify_failed_task")
    task = json.loads(event["error"]["Cause"])
    assert (task["StopCode"], task["Containers"][0]["ExitCode"]) == ("EssentialContainerExited", 137)

    assert notify(event) == {"jobId": JOB, "status": "FAILED"}
    assert job_store.get(JOB)["error"] == {"code": "ConverterStopped", "message": CONVERTER_STOPPED_MESSAGE}
    assert CONVERTER_STOPPED_MESSAGE.startswith("The converter stopped unexpectedly")


def test_the_tasks_own_reason_is_kept(notify, sample_event, job_store, emitted_metrics):
    """The task marks the job FAILED with a precise reason and exits 1; the Catch then reports the
    stopped task, which must not overwrite that reason."""
    before = make_job(job_store, JobStatus.FAILED)
    assert notify(sample_event("notify_failed_task")) == {"jobId": JOB, "status": "FAILED"}
    assert job_store.get(JOB) == before
    assert job_store.get(JOB)["error"] == TASK_REASON.to_item()
    assert emitted_metrics() == {"JobsFailed": 1}


@pytest.mark.parametrize("same_execution", [True, False])
def test_only_the_execution_that_queued_the_job_fails_it(notify, sample_event, job_store, same_execution):
    """A duplicate upload event starts a second execution; if its own steps fail, the job the first
    one renders is kept."""
    event = sample_event("notify_failed_task")
    queued_by = event["executionArn"] if same_execution else event["executionArn"].replace("0c1d8e5a", "00000000")
    before = make_job(job_store, JobStatus.PROCESSING, queued_by=queued_by)
    status = "FAILED" if same_execution else "PROCESSING"
    assert notify(event) == {"jobId": JOB, "status": status}
    assert job_store.get(JOB)["status"] == status
    if not same_execution:
        assert job_store.get(JOB) == before


def test_a_failure_after_ready_never_moves_the_job_back(notify, sample_event, job_store, emitted_metrics):
    """NotifyReady wrote READY but its answer was lost; the Catch's failed path leaves it READY."""
    before = make_job(job_store, JobStatus.READY)
    assert notify(failed_event(sample_event, "Lambda.ServiceException", "timeout")) == {"jobId": JOB, "status": "READY"}
    assert job_store.get(JOB) == before
    assert emitted_metrics() == {}


@pytest.mark.parametrize(
    "error, cause, code, message",
    [
        ("States.Timeout", None, "Timeout", TIMEOUT_MESSAGE),
        ("States.HeartbeatTimeout", "", "Timeout", TIMEOUT_MESSAGE),
        (
            "ECS.AmazonECSException",
            "Capacity is unavailable at this time. (Service: AmazonECS; Status Code: 400)",
            "ConverterUnavailable",
            NO_CONVERTER_MESSAGE,
        ),
        (
            "States.TaskFailed",
            json.dumps(
                {
                    "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/1",
                    "stopCode": "TaskFailedToStart",
                    "stoppedReason": "ResourceInitializationError: unable to pull secrets",
                    "containers": [{"name": "converter", "lastStatus": "STOPPED"}],
                }
            ),
            "ConverterStopped",
            CONVERTER_STOPPED_MESSAGE,
        ),
        (  # Fargate Spot took the render back once more than the state machine renders again
            "States.TaskFailed",
            json.dumps(
                {
                    "TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/2",
                    "StopCode": "SpotInterruption",
                    "StoppedReason": "Your Spot Task was interrupted.",
                    "Containers": [{"Name": "converter", "LastStatus": "STOPPED", "ExitCode": 143}],
                }
            ),
            "Interrupted",
            INTERRUPTED_MESSAGE,
        ),
        ("Lambda.ServiceException", "Lambda is unavailable", "ConversionFailed", GENERIC_MESSAGE),
        (
            "States.Runtime",
            "An error occurred while executing the state 'RenderAudio'",
            "ConversionFailed",
            GENERIC_MESSAGE,
        ),
        ("InvalidUpload", "not json", "InvalidUpload", "This file can't be converted."),
        ("", None, "ConversionFailed", GENERIC_MESSAGE),
    ],
)
def test_each_kind_of_failure_gets_a_readable_reason(notify, sample_event, job_store, error, cause, code, message):
    make_job(job_store, JobStatus.PROCESSING)
    notify(failed_event(sample_event, error, cause))
    assert job_store.get(JOB)["error"] == {"code": code, "message": message}


def test_failed_by_job_id(notify, sample_event, job_store):
    make_job(job_store, JobStatus.QUEUED)
    event = failed_event(sample_event, "States.Timeout", None)
    del event["key"]
    event["jobId"] = JOB
    assert notify(event) == {"jobId": JOB, "status": "FAILED"}
    assert job_store.get(JOB)["error"]["code"] == "Timeout"


def test_failed_for_an_unknown_job_is_logged_and_ignored(notify, sample_event, jobs_table, structured_logs):
    assert notify(sample_event("notify_failed_task")) == {"jobId": JOB, "status": None}
    assert jobs_table.scan()["Items"] == []
    last = structured_logs("notify")[-1]
    assert (last["level"], last["message"], last["job_id"]) == ("WARNING", "no job to mark failed: unknown job id", JOB)


def test_failed_for_a_key_that_is_no_upload_is_ignored(notify, sample_event, jobs_table):
    event = sample_event("notify_failed_validation")
    event["key"] = "uploads/my-own-folder/song.mp3"
    assert notify(event) == {"jobId": None, "status": None}
    assert jobs_table.scan()["Items"] == []


@pytest.mark.parametrize("event", [{"action": "celebrate", "jobId": JOB}, {"action": "ready"}, {"jobId": JOB}])
def test_payloads_of_another_shape_are_parse_errors(notify, event):
    with pytest.raises(ValidationError):
        notify(event)


@pytest.mark.parametrize("event_name", ["notify_ready", "notify_failed_task"])
def test_a_finished_job_frees_its_clients_place(notify, sample_event, job_store, limits_table, event_name):
    limits = DynamoClientLimits(limits_table, jobs_per_hour=30, open_jobs=3)
    limits.admit("client-1", JOB)
    make_job(job_store, JobStatus.PROCESSING)
    job_store.table.update_item(
        Key={"jobId": JOB}, UpdateExpression="SET clientId = :c", ExpressionAttributeValues={":c": "client-1"}
    )
    notify(sample_event(event_name))
    assert limits_table.get_item(Key={"key": "open#client-1"}, ConsistentRead=True)["Item"]["jobs"] == {}


# ---------------------------------------------------------------- an execution that ended without ending its job

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ConvertStateMachine-a1B2c3D4e5F6:5b3f0c9e-7a21-4d6b-9e84-2f1c6a0d7e35"


def hold_render_slot(limits_table, job_id: str, execution: str, running: int) -> None:
    """The limits table's semaphore as AcquireRenderSlot leaves it: ``running`` slots taken, one by ``execution``."""
    limits_table.put_item(Item={"key": "renders", "running": running, job_id: execution})


def ended_event(sample_event, status: str, error: str | None = None, cause: str | None = None) -> dict:
    event = sample_event("notify_execution_stopped")
    event["detail"].update(status=status, error=error, cause=cause)
    return event


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.PROCESSING])
def test_a_stopped_execution_fails_its_job_and_gives_its_render_slot_back(
    notify, sample_event, job_store, limits_table, status, emitted_metrics
):
    make_job(job_store, status)
    hold_render_slot(limits_table, JOB, EXECUTION, running=3)

    assert notify(sample_event("notify_execution_stopped")) == {"jobId": JOB, "status": "FAILED"}

    assert job_store.get(JOB)["error"] == {
        "code": "Interrupted",
        "message": "The conversion was stopped before it finished; please try again.",
    }
    slots = limits_table.get_item(Key={"key": "renders"}, ConsistentRead=True)["Item"]
    assert slots == {"key": "renders", "running": 2}
    assert emitted_metrics()["JobsFailed"] == 1


def test_a_slot_another_execution_of_the_job_holds_is_kept(notify, sample_event, job_store, limits_table):
    make_job(job_store, JobStatus.PROCESSING)
    hold_render_slot(limits_table, JOB, EXECUTION.replace("5b3f0c9e", "00000000"), running=1)
    notify(sample_event("notify_execution_stopped"))
    assert limits_table.get_item(Key={"key": "renders"}, ConsistentRead=True)["Item"]["running"] == 1


def test_a_duplicate_events_ended_execution_leaves_the_job_to_the_one_that_queued_it(
    notify, sample_event, job_store, limits_table, emitted_metrics
):
    limits = DynamoClientLimits(limits_table, jobs_per_hour=30, open_jobs=3)
    limits.admit("client-1", JOB)
    make_job(job_store, JobStatus.PROCESSING, queued_by=EXECUTION.replace("5b3f0c9e", "00000000"))
    job_store.table.update_item(
        Key={"jobId": JOB}, UpdateExpression="SET clientId = :c", ExpressionAttributeValues={":c": "client-1"}
    )
    before = job_store.get(JOB)
    assert notify(sample_event("notify_execution_stopped")) == {"jobId": JOB, "status": "PROCESSING"}
    assert job_store.get(JOB) == before
    assert "JobsFailed" not in emitted_metrics()
    # still rendering: it still counts among its client's unfinished jobs
    assert JOB in limits_table.get_item(Key={"key": "open#client-1"}, ConsistentRead=True)["Item"]["jobs"]


def test_an_ended_execution_that_held_no_slot_changes_no_count(notify, sample_event, job_store, limits_table):
    make_job(job_store, JobStatus.QUEUED)
    limits_table.put_item(Item={"key": "renders", "running": 1, "another-job": EXECUTION})
    notify(sample_event("notify_execution_stopped"))
    assert limits_table.get_item(Key={"key": "renders"}, ConsistentRead=True)["Item"]["running"] == 1
    assert job_store.get(JOB)["status"] == "FAILED"


@pytest.mark.parametrize(
    ("status", "error", "cause", "code"),
    [
        ("TIMED_OUT", None, None, "Timeout"),
        # MarkFailed itself failed: the execution's error is all there is
        ("FAILED", "Lambda.ServiceException", "Rate exceeded", "ConversionFailed"),
    ],
)
def test_each_way_an_execution_ends_gets_a_readable_reason(
    notify, sample_event, job_store, limits_table, status, error, cause, code
):
    make_job(job_store, JobStatus.PROCESSING)
    notify(ended_event(sample_event, status, error, cause))
    assert job_store.get(JOB)["error"]["code"] == code


@pytest.mark.parametrize("status", [JobStatus.READY, JobStatus.FAILED])
def test_an_execution_ending_after_its_job_ended_changes_nothing(
    notify, sample_event, job_store, limits_table, status, emitted_metrics
):
    before = make_job(job_store, status)
    notify(ended_event(sample_event, "FAILED", "ConversionFailed", None))
    assert job_store.get(JOB) == before  # READY stays READY; the task's own reason is kept
    assert "JobsFailed" not in emitted_metrics()  # MarkFailed counted it already


def test_an_ended_execution_frees_its_clients_place(notify, sample_event, job_store, limits_table):
    limits = DynamoClientLimits(limits_table, jobs_per_hour=30, open_jobs=3)
    limits.admit("client-1", JOB)
    make_job(job_store, JobStatus.QUEUED)
    job_store.table.update_item(
        Key={"jobId": JOB}, UpdateExpression="SET clientId = :c", ExpressionAttributeValues={":c": "client-1"}
    )
    notify(sample_event("notify_execution_stopped"))
    assert limits_table.get_item(Key={"key": "open#client-1"}, ConsistentRead=True)["Item"]["jobs"] == {}


def test_an_ended_execution_without_its_input_is_logged_and_ignored(
    notify, sample_event, jobs_table, limits_table, structured_logs
):
    event = sample_event("notify_execution_stopped")
    event["detail"].update(input=None, inputDetails={"included": False})
    assert notify(event) == {"jobId": None, "status": None}
    assert structured_logs("notify")[-1]["message"] == "an ended execution without its input: no job to end"


def test_an_ended_execution_of_an_unknown_job_is_ignored(notify, sample_event, jobs_table, limits_table):
    assert notify(sample_event("notify_execution_stopped")) == {"jobId": JOB, "status": None}
    assert jobs_table.scan()["Items"] == []


@pytest.mark.parametrize(
    "change",
    [{"status": "SUCCEEDED"}, {"status": "RUNNING"}, {"input": "not json"}],
)
def test_status_changes_the_rule_never_sends_are_parse_errors(notify, sample_event, change):
    event = sample_event("notify_execution_stopped")
    event["detail"].update(change)
    with pytest.raises(ValidationError):
        notify(event)
