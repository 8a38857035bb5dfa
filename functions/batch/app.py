"""Batch Lambda: the steps of the BatchConvert state machine that need code.

{"action": "start", "batchId", "request": {"prefix", "options"?, "outputPrefix"?, "skipExisting"?}} -> the batch
    item and what the Distributed Map reads ({"batchId", "listPrefix", "outputPrefix", "options",
    "reportPrefix", "skipExisting", "total"}); a bad request raises InvalidBatch.
{"action": "song", "batchId", "key", "size", "options", "skipExisting"?, "listPrefix"?, "outputPrefix"?} ->
    {"jobId"}: one library song as a job (``jobId`` null for a file that is no song by its name, a
    cover, a playlist, a folder marker, or with skipExisting a song whose 8D version is there).
{"action": "deliver", "batchId", "jobId", "key", "listPrefix", "outputPrefix"} -> {"key"}: a READY
    song's 8D file copied to the library's output folder.
{"action": "finish", "batchId", "succeeded", "map"?, "error"?} -> the batch's summary.
Thin adapter around library_batch.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from library_batch import LibraryBatch
from pydantic import BaseModel, Field

from surroundyou_jobs.batches import BatchSettings, DynamoBatchStore
from surroundyou_jobs.model import DynamoJobStore
from surroundyou_jobs.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()

TOO_MANY_FAILED = "States.ExceedToleratedFailureThreshold"


class BatchRequest(BaseModel):
    """The execution's input, as the owner starts it."""

    prefix: str = ""
    options: dict[str, Any] | None = None
    outputPrefix: str | None = None
    skipExisting: bool = False


class StartEvent(BaseModel):
    action: Literal["start"]
    batchId: str
    request: BatchRequest = BatchRequest()


class SongEvent(BaseModel):
    action: Literal["song"]
    batchId: str
    key: str
    size: int
    options: dict[str, Any] = {}
    skipExisting: bool = False
    listPrefix: str = ""
    outputPrefix: str = ""


class DeliverEvent(BaseModel):
    action: Literal["deliver"]
    batchId: str
    jobId: str
    key: str
    listPrefix: str
    outputPrefix: str


class StepFunctionsError(BaseModel):
    Error: str = ""
    Cause: str | None = None


class ResultFiles(BaseModel):
    Bucket: str
    Key: str


class MapOutput(BaseModel):
    ResultWriterDetails: ResultFiles | None = None


class FinishEvent(BaseModel):
    action: Literal["finish"]
    batchId: str
    succeeded: bool
    map: MapOutput | None = None
    error: StepFunctionsError | None = None


BatchEvent = Annotated[StartEvent | SongEvent | DeliverEvent | FinishEvent, Field(discriminator="action")]


@cache
def library_batch() -> LibraryBatch:
    """Made on first use (not at import) so tests can import this module before moto starts."""
    settings, batch_settings = Settings(), BatchSettings()
    return LibraryBatch(
        DynamoJobStore.from_settings(settings),
        DynamoBatchStore(boto3.resource("dynamodb").Table(batch_settings.batches_table)),
        boto3.client("s3"),
        settings,
        batch_settings,
    )


def batch_error(error: StepFunctionsError) -> dict[str, str]:
    """The batch item's error for what the state machine caught, said to the owner."""
    if error.Error == TOO_MANY_FAILED:
        message = "More songs failed than the batch tolerates (the template's BatchToleratedFailurePercentage)."
    else:
        try:  # a Lambda error's Cause is {"errorMessage", "errorType", ...}
            message = json.loads(error.Cause or "")["errorMessage"]
        except (ValueError, KeyError, TypeError):
            message = error.Cause or "The batch stopped."
    return {"code": error.Error or "BatchFailed", "message": message}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BatchEvent)
def lambda_handler(
    event: StartEvent | SongEvent | DeliverEvent | FinishEvent, context: LambdaContext
) -> dict[str, Any]:
    logger.append_keys(batch_id=event.batchId)
    if isinstance(event, StartEvent):
        request = event.request
        started = library_batch().start(
            event.batchId, request.prefix, request.options, request.outputPrefix, request.skipExisting
        )
        logger.info("batch started", extra={"prefix": started["listPrefix"], "total": started["total"]})
        return started
    if isinstance(event, SongEvent):
        song = library_batch().add_song(
            event.batchId,
            event.key,
            event.size,
            event.options,
            event.skipExisting,
            event.listPrefix,
            event.outputPrefix,
        )
        if song["jobId"] is None:
            logger.info(
                "not a song, another file of the same song, or converted before: left alone", extra={"key": event.key}
            )
            return song
        logger.info("song queued as a job", extra={"key": event.key, "job_id": song["jobId"]})
        metrics.add_metric(name="BatchSongs", unit=MetricUnit.Count, value=1)
        return song
    if isinstance(event, DeliverEvent):
        delivered = library_batch().deliver(event.jobId, event.key, event.listPrefix, event.outputPrefix)
        logger.info("song delivered", extra={"job_id": event.jobId, "key": delivered["key"]})
        return delivered
    details = event.map.ResultWriterDetails if event.map else None
    summary = library_batch().finish(
        event.batchId,
        event.succeeded,
        details.Key if details else None,
        None if event.error is None else batch_error(event.error),
    )
    logger.info("batch finished", extra=summary)
    return summary
