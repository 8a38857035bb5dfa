"""Validate Lambda: first state of the conversion state machine.

Input: {"upload": the EventBridge S3 "Object Created" event of an upload (the execution's input),
"executionArn": the execution's}. Output ($.validation): {"jobId", "duplicate"}. A bad upload
raises InvalidUpload (the state machine's Catch marks the job FAILED with its message). Thin
adapter around upload_check.validate_upload.
"""

from __future__ import annotations

from contextlib import suppress
from functools import cache
from typing import Any, BinaryIO, cast

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel
from s3_range_file import S3RangeFile
from upload_check import InvalidUpload, validate_upload

from surroundyou_jobs.keys import parse_input_key
from surroundyou_jobs.limits import DynamoClientLimits
from surroundyou_jobs.model import DynamoJobStore
from surroundyou_jobs.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class UploadToValidate(BaseModel):
    upload: S3EventNotificationEventBridgeModel
    executionArn: str  # the conversion execution the upload started: the job's owner once queued


@cache
def job_store() -> DynamoJobStore:
    """Made on first use (not at import) so tests can import this module before moto starts."""
    return DynamoJobStore.from_settings(Settings())


@cache
def s3_client() -> Any:
    return boto3.client("s3")


@cache
def client_limits() -> DynamoClientLimits:
    return DynamoClientLimits.from_settings(Settings())


def open_upload(bucket: str, key: str) -> tuple[BinaryIO, str]:
    upload = S3RangeFile.open(s3_client(), bucket, key)
    return cast(BinaryIO, upload), cast(S3RangeFile, upload.raw).etag


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=UploadToValidate)
def lambda_handler(event: UploadToValidate, context: LambdaContext) -> dict[str, Any]:
    bucket, key = event.upload.detail.bucket.name, event.upload.detail.object.key
    logger.append_keys(s3_key=key, execution=event.executionArn)
    with suppress(ValueError):  # a key that is no upload key is refused below, and logged there
        logger.append_keys(job_id=parse_input_key(key)[0])
    try:
        job = validate_upload(job_store(), Settings(), bucket, key, open_upload, client_limits(), event.executionArn)
    except InvalidUpload as exc:
        logger.warning("upload refused", extra={"reason": str(exc)})
        metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
        raise
    if job["duplicate"]:
        logger.info("duplicate event: another execution has the job")
        metrics.add_metric(name="DuplicateUploadEvents", unit=MetricUnit.Count, value=1)
    else:
        logger.info("upload accepted, job queued")
        metrics.add_metric(name="UploadsAccepted", unit=MetricUnit.Count, value=1)
    return job
