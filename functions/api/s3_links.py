"""Presigned S3 requests: the browser sends and fetches the song straight from S3, so the API
Lambda never handles audio bytes."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote


class S3Links:
    """The Links of jobs_api.JobsApi on one bucket (``client`` is a boto3 S3 client)."""

    def __init__(self, client: Any, bucket: str):
        self.client = client
        self.bucket = bucket

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        """A presigned POST whose policy pins the key, the content type and the size range.

        boto3 adds the bucket and key conditions itself; S3 rejects any form that differs.
        """
        return self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_s,
        )

    def download_url(self, key: str, filename: str, expires_s: int) -> str:
        """A presigned GET that makes the browser save the file as ``filename``."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition(filename, PurePosixPath(key).name),
            },
            ExpiresIn=expires_s,
        )


def content_disposition(filename: str, ascii_fallback: str) -> str:
    """``attachment`` with the name as RFC 6266 has it: an ASCII ``filename`` for old clients and
    ``filename*`` (RFC 8187: UTF-8, percent-encoded) that every current browser prefers."""
    fallback = "".join(c for c in ascii_fallback if c.isascii() and c.isprintable() and c not in '"\\')
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
