"""The handlers' AWS clients: made on first use, not at import (tests import the handlers before
moto starts), then kept for the warm Lambda's next invocations."""
from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from .model import JobStore
from .settings import Settings


@cache
def job_store() -> JobStore:
    return JobStore.from_settings(Settings())


@cache
def s3_client() -> Any:
    # SigV4 everywhere: presigned requests for buckets in newer regions need it
    return boto3.client("s3", config=Config(signature_version="s3v4"))
