"""One contract for both job stores: DynamoJobStore on moto (the table from template.yaml) and the
unit tier's InMemoryJobStore, so a unit test on the fake means what it says about the real store."""

from __future__ import annotations

import pytest
from job_fakes import EXECUTION, FAILED_ERROR, KNOWN_JOB, OTHER_EXECUTION, InMemoryJobStore, job_in_status

from surroundyou_jobs.errors import ErrorCode, JobError
from surroundyou_jobs.model import DynamoJobStore, JobNotFound, JobResult, JobStatus, TransitionRejected

RESULT = JobResult(outputKey=f"processed/{KNOWN_JOB}/My Song.8d.mp3", format="mp3", durationS=187.25, sizeBytes=4321)


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request):
    if request.param == "in-memory":
        return InMemoryJobStore()
    return DynamoJobStore(request.getfixturevalue("jobs_table"))


def test_a_new_job_reads_back_as_created(store):
    job = job_in_status(store)
    assert store.get(KNOWN_JOB) == job
    assert (job["status"], job["progress"], job["inputKey"]) == (
        "AWAITING_UPLOAD",
        0,
        f"uploads/{KNOWN_JOB}/source.mp3",
    )
    with pytest.raises(Exception):  # noqa: B017 - each store refuses in its own way; neither overwrites
        store.create({**job, "filename": "other.mp3"})
    assert store.get(KNOWN_JOB)["filename"] == "My Song.mp3"


def test_the_happy_path_and_ready_sets_progress_100(store):
    job_in_status(store, JobStatus.PROCESSING)
    assert store.set_progress(KNOWN_JOB, 40)
    store.record_result(KNOWN_JOB, RESULT)
    ready = store.transition(KNOWN_JOB, JobStatus.READY)
    assert (ready["status"], ready["progress"], ready["result"]) == ("READY", 100, RESULT)
    assert store.get(KNOWN_JOB) == ready


@pytest.mark.parametrize(
    "status, to",
    [
        (JobStatus.QUEUED, JobStatus.QUEUED),
        (JobStatus.PROCESSING, JobStatus.QUEUED),
        (JobStatus.READY, JobStatus.PROCESSING),
        (JobStatus.READY, JobStatus.FAILED),
        (JobStatus.FAILED, JobStatus.READY),
        (JobStatus.AWAITING_UPLOAD, JobStatus.READY),
    ],
)
def test_a_transition_from_the_wrong_status_is_rejected_and_changes_nothing(store, status, to):
    before = job_in_status(store, status)
    with pytest.raises(TransitionRejected, match=f"is {status.value}, cannot become {to.value}"):
        store.transition(KNOWN_JOB, to, error=JobError(ErrorCode.TIMEOUT, "late"))
    assert store.get(KNOWN_JOB) == before


def test_failed_keeps_its_reason(store):
    failed = job_in_status(store, JobStatus.FAILED)
    assert failed["error"] == FAILED_ERROR.to_item() == {"code": "InvalidUpload", "message": FAILED_ERROR.message}


def test_unknown_jobs_are_not_found(store):
    with pytest.raises(JobNotFound):
        store.get(KNOWN_JOB)
    with pytest.raises(JobNotFound):
        store.transition(KNOWN_JOB, JobStatus.QUEUED)
    with pytest.raises(JobNotFound):
        store.record_result(KNOWN_JOB, RESULT)
    assert store.set_progress(KNOWN_JOB, 10) is False


def test_progress_only_rises_only_while_processing_and_stops_at_99(store):
    job_in_status(store, JobStatus.QUEUED)
    assert store.set_progress(KNOWN_JOB, 10) is False
    store.transition(KNOWN_JOB, JobStatus.PROCESSING)
    assert store.set_progress(KNOWN_JOB, 30) is True
    assert store.set_progress(KNOWN_JOB, 20) is False
    assert store.set_progress(KNOWN_JOB, 250) is True
    assert store.get(KNOWN_JOB)["progress"] == 99


def test_a_result_is_taken_only_while_processing(store):
    job_in_status(store, JobStatus.QUEUED)
    with pytest.raises(TransitionRejected, match="cannot take a result"):
        store.record_result(KNOWN_JOB, RESULT)
    assert "result" not in store.get(KNOWN_JOB)


def test_a_render_claims_a_queued_job(store):
    job_in_status(store, JobStatus.QUEUED)
    claimed = store.claim(KNOWN_JOB)
    assert (claimed["status"], "interruptedAt" in claimed) == ("PROCESSING", False)
    with pytest.raises(TransitionRejected, match="is PROCESSING, not for a render to claim"):
        store.claim(KNOWN_JOB)  # another render already has it


def test_an_interrupted_render_leaves_its_job_processing_for_the_next_to_claim(store):
    job_in_status(store, JobStatus.PROCESSING)
    assert store.set_progress(KNOWN_JOB, 60)
    assert store.mark_interrupted(KNOWN_JOB)
    interrupted = store.get(KNOWN_JOB)
    assert (interrupted["status"], interrupted["progress"]) == ("PROCESSING", 60) and "interruptedAt" in interrupted
    claimed = store.claim(KNOWN_JOB)
    assert (claimed["status"], claimed["progress"], "interruptedAt" in claimed) == ("PROCESSING", 60, False)
    with pytest.raises(TransitionRejected):
        store.claim(KNOWN_JOB)  # claimed once per interruption


@pytest.mark.parametrize("status", [JobStatus.AWAITING_UPLOAD, JobStatus.QUEUED, JobStatus.READY, JobStatus.FAILED])
def test_only_a_processing_job_is_marked_interrupted(store, status):
    before = job_in_status(store, status)
    assert not store.mark_interrupted(KNOWN_JOB)
    assert store.get(KNOWN_JOB) == before


@pytest.mark.parametrize("status", [JobStatus.AWAITING_UPLOAD, JobStatus.READY, JobStatus.FAILED])
def test_a_render_claims_no_job_that_is_not_queued_or_interrupted(store, status):
    before = job_in_status(store, status)
    with pytest.raises(TransitionRejected, match=f"is {status.value}"):
        store.claim(KNOWN_JOB)
    assert store.get(KNOWN_JOB) == before


def test_an_interrupted_job_can_still_end(store):
    job_in_status(store, JobStatus.PROCESSING)
    store.mark_interrupted(KNOWN_JOB)
    failed = store.transition(KNOWN_JOB, JobStatus.FAILED, error=JobError(ErrorCode.INTERRUPTED, "stopped"))
    assert failed["status"] == "FAILED"


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.PROCESSING])
def test_only_the_execution_that_queued_a_job_fails_it(store, status):
    job_in_status(store)
    assert store.transition(KNOWN_JOB, JobStatus.QUEUED, execution_arn=EXECUTION)["executionArn"] == EXECUTION
    if status is JobStatus.PROCESSING:
        store.claim(KNOWN_JOB)
    before = store.get(KNOWN_JOB)
    with pytest.raises(TransitionRejected, match="queued by another execution"):
        store.transition(KNOWN_JOB, JobStatus.FAILED, error=FAILED_ERROR, execution_arn=OTHER_EXECUTION)
    assert store.get(KNOWN_JOB) == before
    failed = store.transition(KNOWN_JOB, JobStatus.FAILED, error=FAILED_ERROR, execution_arn=EXECUTION)
    assert (failed["status"], failed["error"]) == ("FAILED", FAILED_ERROR.to_item())


def test_a_job_awaiting_its_upload_is_failed_by_any_execution(store):
    job_in_status(store)  # no execution has queued it: the one checking the upload may refuse it
    failed = store.transition(KNOWN_JOB, JobStatus.FAILED, error=FAILED_ERROR, execution_arn=EXECUTION)
    assert (failed["status"], "executionArn" in failed) == ("FAILED", False)


def test_the_render_fails_its_job_naming_no_execution(store):
    job_in_status(store)
    store.transition(KNOWN_JOB, JobStatus.QUEUED, execution_arn=EXECUTION)
    store.claim(KNOWN_JOB)
    assert store.transition(KNOWN_JOB, JobStatus.FAILED, error=FAILED_ERROR)["status"] == "FAILED"
