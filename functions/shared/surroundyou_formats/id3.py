"""ID3 tags around MP3 audio: how long a leading ID3v2 tag is, and a file that is tags alone."""

from __future__ import annotations

from typing import BinaryIO

ID3V1_BYTES = 128  # an ID3v1 tag, "TAG" and 125 bytes, at the very end


def id3v2_size(head: bytes) -> int:
    """Bytes taken by the ID3v2 tag ``head`` (a file's first 10 bytes or more) starts with: header,
    synchsafe size and optional footer."""
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    return 10 + size + (10 if head[5] & 0x10 else 0)


def holds_only_a_tag(file: BinaryIO, size_bytes: int) -> bool:
    """Whether ``file`` (``size_bytes`` long: no seek to its end, which would drop a buffered range
    file's read-ahead) is an ID3v2 tag with nothing after it but perhaps an ID3v1 tag: no audio at
    all (a tagger's output, or a download that stopped after the cover)."""
    file.seek(0)
    head = file.read(10)
    if not head.startswith(b"ID3") or len(head) < 10:
        return False
    after = size_bytes - id3v2_size(head)
    if after == ID3V1_BYTES:
        file.seek(size_bytes - ID3V1_BYTES)
        return file.read(3) == b"TAG"
    return after <= 0
