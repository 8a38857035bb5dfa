"""Duration of a WebM (Matroska) file from its Segment Info, the one audio container mutagen
does not read.

EBML layout (RFC 8794, Matroska spec RFC 9559): every element is an ID (a variable-length integer
that keeps its length marker), a size (a variable-length integer without it; all value bits set =
unknown size) and the payload. Duration = Info.Duration (a float in ticks) x Info.TimestampScale
(nanoseconds per tick, 1 000 000 when absent).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

EBML_HEADER_ID = 0x1A45DFA3
DOC_TYPE_ID = 0x4282
SEGMENT_ID = 0x18538067
INFO_ID = 0x1549A966
CLUSTER_ID = 0x1F43B675
TIMESTAMP_SCALE_ID = 0x2AD7B1
DURATION_ID = 0x4489
DEFAULT_TIMESTAMP_SCALE_NS = 1_000_000
DOC_TYPES = (b"webm", b"matroska")
# Info precedes the first Cluster (the audio); a file that hides it deeper is not a normal WebM
MAX_SCAN_BYTES = 1 << 20


class WebMHeaderError(ValueError):
    pass


def _read_exactly(file: BinaryIO, n: int) -> bytes:
    data = file.read(n)
    if len(data) != n:
        raise WebMHeaderError("the file ends inside a header")
    return data


def _read_vint(file: BinaryIO, keep_marker: bool) -> tuple[int, bool]:
    """(value, all value bits set) of an EBML variable-length integer (1 to 8 bytes)."""
    first = _read_exactly(file, 1)[0]
    length = 9 - first.bit_length() if first else 9
    if length > 8:
        raise WebMHeaderError("invalid variable-length integer")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in _read_exactly(file, length - 1):
        value = (value << 8) | byte
    all_ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, all_ones


def _read_element_header(file: BinaryIO) -> tuple[int, int | None]:
    """(element ID, payload size or None when unknown)."""
    element_id, _ = _read_vint(file, keep_marker=True)
    size, unknown = _read_vint(file, keep_marker=False)
    return element_id, None if unknown else size


def _children(file: BinaryIO, end: int):
    """(ID, size, payload offset) of the elements from the current position up to ``end``."""
    while file.tell() < end:
        element_id, size = _read_element_header(file)
        offset = file.tell()
        yield element_id, size, offset
        if size is None:
            return
        file.seek(offset + size)


def webm_duration_s(file: BinaryIO) -> float:
    """Seconds the file says it lasts; WebMHeaderError if it is not WebM/Matroska or does not say."""
    file.seek(0)
    element_id, size = _read_element_header(file)
    if element_id != EBML_HEADER_ID or size is None:
        raise WebMHeaderError("not an EBML file")
    header_end = file.tell() + size
    doc_type = None
    for child_id, child_size, _ in _children(file, header_end):
        if child_id == DOC_TYPE_ID and child_size is not None:
            doc_type = _read_exactly(file, child_size).rstrip(b"\0")
    if doc_type not in DOC_TYPES:
        raise WebMHeaderError(f"EBML document type {doc_type!r} is not WebM")
    file.seek(header_end)
    segment_id, segment_size = _read_element_header(file)
    if segment_id != SEGMENT_ID:
        raise WebMHeaderError("no Segment after the EBML header")
    segment_start = file.tell()
    scan_end = segment_start + min(segment_size or MAX_SCAN_BYTES, MAX_SCAN_BYTES)
    for child_id, child_size, offset in _children(file, scan_end):
        if child_id == CLUSTER_ID or child_size is None:
            break
        if child_id == INFO_ID:
            return _info_duration_s(file, offset + child_size)
    raise WebMHeaderError("no Segment Info before the audio")


def _info_duration_s(file: BinaryIO, info_end: int) -> float:
    scale_ns, duration_ticks = DEFAULT_TIMESTAMP_SCALE_NS, None
    for child_id, child_size, _ in _children(file, info_end):
        if child_size is None:
            raise WebMHeaderError("malformed Segment Info")
        if child_id == TIMESTAMP_SCALE_ID:
            scale_ns = int.from_bytes(_read_exactly(file, child_size), "big")
        elif child_id == DURATION_ID and child_size in (4, 8):
            (duration_ticks,) = struct.unpack(">f" if child_size == 4 else ">d", _read_exactly(file, child_size))
    if duration_ticks is None:
        raise WebMHeaderError("the file does not say how long it is (a live recording?)")
    return duration_ticks * scale_ns / 1e9
