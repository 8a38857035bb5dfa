"""One contract for both ClientLimits: DynamoClientLimits on moto (the table from template.yaml) and
the unit tier's in-memory fake: new jobs per clock hour, unfinished jobs at once, all atomic."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from job_fakes import InMemoryClientLimits

from surroundyou_jobs.errors import ErrorCode
from surroundyou_jobs.limits import (
    DEFAULT_UPLOAD_WINDOW_S,
    HOUR_S,
    OPEN_JOB_LIFETIME_S,
    DynamoClientLimits,
    LimitExceeded,
    client_id,
)

START_S = 1_700_000_000 - 1_700_000_000 % HOUR_S + 600  # ten minutes into a clock hour


@pytest.fixture(params=["dynamodb", "in-memory"])
def limits(request):
    clock = SimpleNamespace(now_s=float(START_S))
    if request.param == "in-memory":
        made = InMemoryClientLimits(jobs_per_hour=4, open_jobs=2, clock=lambda: clock.now_s)
    else:
        table = request.getfixturevalue("limits_table")
        made = DynamoClientLimits(table, jobs_per_hour=4, open_jobs=2, clock=lambda: clock.now_s)
    made.clock_state = clock
    return made


def refused(limits, client, job_id) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as caught:
        limits.admit(client, job_id)
    return caught.value


def test_unfinished_jobs_are_capped_and_free_a_place_when_closed(limits):
    limits.admit("a", "j1")
    limits.admit("a", "j2")
    full = refused(limits, "a", "j3")
    assert (full.code, full.retry_after_s) == (ErrorCode.TOO_MANY_OPEN_JOBS, 60)
    assert full.message == (
        "You already have 2 songs being uploaded or converted, the most at once. Please wait until one is "
        "done; an upload that did not finish stops counting 30 minutes after it started."
    )
    limits.admit("b", "k1")  # another client is not affected
    limits.close("a", "j1")
    limits.close("a", "j1")  # closing twice is harmless
    limits.admit("a", "j3")


def test_an_unfinished_job_stops_counting_at_its_deadline(limits):
    """An upload that never came must not lock its client out for good."""
    limits.admit("a", "j1")
    limits.admit("a", "j2")
    limits.clock_state.now_s += OPEN_JOB_LIFETIME_S + 1
    limits.admit("a", "j3")
    limits.admit("a", "j4")
    assert refused(limits, "a", "j5").code == ErrorCode.TOO_MANY_OPEN_JOBS


def test_a_song_that_never_arrived_stops_counting_after_the_upload_window(limits):
    """A dropped connection or a closed tab locked its client out for the two hours of a render,
    told to wait until a song that was never sent was done."""
    limits.admit("a", "j1")
    limits.admit("a", "j2")
    limits.renew("a", "j2")  # validate: its song arrived, it counts until it is rendered
    limits.renew("b", "k1")  # a client with nothing counted: nothing happens
    limits.clock_state.now_s += DEFAULT_UPLOAD_WINDOW_S + 1
    limits.admit("a", "j3")  # j1's place is free, j2 counts on
    assert refused(limits, "a", "j4").code == ErrorCode.TOO_MANY_OPEN_JOBS
    limits.clock_state.now_s += OPEN_JOB_LIFETIME_S
    limits.admit("a", "j4")
    limits.admit("a", "j5")


def test_new_jobs_per_clock_hour_are_capped_with_the_wait_until_the_next_hour(limits):
    for number in range(4):
        limits.admit("a", f"j{number}")
        limits.close("a", f"j{number}")
    over = refused(limits, "a", "j4")
    assert over.code == ErrorCode.TOO_MANY_JOBS
    assert over.retry_after_s == HOUR_S - 600
    assert over.message == (
        "You have started 4 conversions this hour, the most this site allows. Please try again in 50 minutes."
    )
    limits.clock_state.now_s += HOUR_S - 600  # the next hour
    limits.admit("a", "j5")


def test_a_refused_job_takes_no_place(limits):
    for number in range(4):
        limits.admit("a", f"j{number}")
        limits.close("a", f"j{number}")
    refused(limits, "a", "late")
    limits.clock_state.now_s += HOUR_S
    limits.admit("a", "x1")
    limits.admit("a", "x2")  # "late" did not stay open


def test_client_id_is_a_stable_hash_not_the_address():
    assert client_id("203.0.113.7") == client_id("203.0.113.7") != client_id("203.0.113.8")
    assert "203" not in client_id("203.0.113.7") and len(client_id("2001:db8::1")) == 24


def test_a_request_that_loses_a_race_reads_again_and_respects_the_cap(limits_table):
    """Two requests of one client read the same state; the second write must notice the first
    (the version condition) and count again. The race is played out deterministically: another
    admit runs between this one's read and its write. (moto does not make concurrent conditional
    writes atomic, so threads could not show what DynamoDB guarantees.)"""
    limits = DynamoClientLimits(limits_table, jobs_per_hour=30, open_jobs=2, clock=lambda: float(START_S))
    limits.admit("a", "j1")
    racing = {"armed": True}
    real_get_item = limits_table.get_item

    def get_item_then_let_another_request_in(**kwargs):
        item = real_get_item(**kwargs)
        if racing.pop("armed", False):
            limits.admit("a", "j2")  # fills the last place after our read
        return item

    limits.table = SimpleNamespace(
        get_item=get_item_then_let_another_request_in, update_item=limits_table.update_item, meta=limits_table.meta
    )
    assert refused(limits, "a", "j3").code == ErrorCode.TOO_MANY_OPEN_JOBS
    item = limits_table.get_item(Key={"key": "open#a"}, ConsistentRead=True)["Item"]
    assert set(item["jobs"]) == {"j1", "j2"}
