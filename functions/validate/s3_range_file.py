"""A read-only, seekable file over one S3 object that fetches only the byte ranges read.

The format checks read the first bytes, a header and perhaps the last frames or tags: a few
kilobytes of a 100 MB song. Every range is fetched with If-Match on the ETag seen when the file was
opened, so all reads come from the same object even if it is overwritten meanwhile.
"""

from __future__ import annotations

import io
from typing import Any

READ_AHEAD_BYTES = 64 * 1024


class S3RangeFile(io.RawIOBase):
    def __init__(self, client: Any, bucket: str, key: str):
        super().__init__()
        head = client.head_object(Bucket=bucket, Key=key)
        self.client, self.bucket, self.key = client, bucket, key
        self.size_bytes: int = head["ContentLength"]
        self.etag: str = head["ETag"]
        self.position = 0
        self.requests = 0  # ranged GETs made, and the bytes they brought: how little was read
        self.fetched_bytes = 0

    @classmethod
    def open(cls, client: Any, bucket: str, key: str) -> io.BufferedReader:
        """The object as a buffered file: small reads share one ranged GET of READ_AHEAD_BYTES."""
        return io.BufferedReader(cls(client, bucket, key), buffer_size=READ_AHEAD_BYTES)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size_bytes}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.position = base + offset
        return self.position

    def readinto(self, buffer) -> int:
        if self.position >= self.size_bytes or len(buffer) == 0:
            return 0
        last = min(self.position + len(buffer), self.size_bytes) - 1
        response = self.client.get_object(
            Bucket=self.bucket, Key=self.key, IfMatch=self.etag, Range=f"bytes={self.position}-{last}"
        )
        data = response["Body"].read()
        buffer[: len(data)] = data
        self.position += len(data)
        self.requests += 1
        self.fetched_bytes += len(data)
        return len(data)
