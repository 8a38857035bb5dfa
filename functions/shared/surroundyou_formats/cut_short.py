"""Is an audio file cut short? Its header says how many bytes of audio follow; the file's size
says how many do.

- WAV / AIFF: the size of the ``data`` / ``SSND`` chunk, against the bytes after its header.
- MP3 with a Xing/Info header: its byte count, against the bytes from the first frame on.
- Ogg (Vorbis, Opus, FLAC) declares no length, but its last page ends its stream (the
  end-of-stream flag): a file whose last page lacks the flag or stops inside itself was cut.
  Other files (CBR without a header, FLAC, M4A...) do not say; FLAC's MD5 signature is
  checked by the engine as it decodes.

pedalboard pads a damaged file with silence instead of failing, and mutagen derives a WAV's or
an MP3's duration from its header, so neither notices a cut-off download on its own. Reads a few
kilobytes of any seekable binary file (a path's file, io.BytesIO, an S3 object read by ranges).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import mutagen
import mutagen.mp3

# an MP3's Xing byte count may differ a little from the bytes on disk (encoders count the Xing
# frame or not; tags at the end add bytes): only a larger shortfall is a cut
MP3_SLACK_BYTES = 4096
UNKNOWN_CHUNK_SIZES = (0, 0xFFFFFFFF)  # a WAV written while streaming: the size was never filled in
# an Ogg page (RFC 3533, section 6): "OggS", version 0, header type (bit 2: end of stream), granule
# position, serial number, sequence number, CRC, segment count, then that many lacing values
OGG_CAPTURE = b"OggS"
OGG_HEADER_BYTES = 27
OGG_END_OF_STREAM = 0x04
OGG_LARGEST_PAGE_BYTES = OGG_HEADER_BYTES + 255 + 255 * 255


@dataclass(frozen=True)
class XingHeader:
    """The first MP3 frame's Xing/Info header (LAME tag layout: Gabriel Bouvigne, "Mp3 info tag
    rev 1 specifications"): frame and byte counts, and the LAME tag's encoder delay and padding in
    frames (None where the header leaves them out)."""

    frames: int | None
    audio_bytes: int | None
    encoder_delay_and_padding: tuple[int, int] | None


@dataclass(frozen=True)
class Shortfall:
    """A file holding fewer bytes of audio than its header declares."""

    declared_bytes: int
    present_bytes: int

    @property
    def fraction_present(self) -> float:
        return self.present_bytes / self.declared_bytes


def read_xing(file: BinaryIO, info: mutagen.mp3.MPEGInfo) -> XingHeader | None:
    """The Xing/Info header of the MP3 whose first frame ``info`` describes, or None.

    After the Xing fields, 9 bytes of encoder name, then at byte 21 of the tag two 12-bit numbers:
    encoder delay and padding. (mutagen parses the same header but keeps its parser private.)
    """
    frame = _first_frame(info)
    mono = frame["mode"] == mutagen.mp3.MONO
    side_info = (17 if mono else 32) if frame["version"] == 1 else (9 if mono else 17)
    file.seek(frame["frame_offset"] + 4 + side_info)
    data = file.read(8 + 4 + 4 + 100 + 4 + 24)
    if data[:4] not in (b"Xing", b"Info") or len(data) < 8:
        return None
    flags = struct.unpack(">I", data[4:8])[0]
    position, frames, size = 8, None, None
    if flags & 1:
        frames = struct.unpack(">I", data[position : position + 4])[0]
        position += 4
    if flags & 2:
        size = struct.unpack(">I", data[position : position + 4])[0]
        position += 4
    position += 100 if flags & 4 else 0
    position += 4 if flags & 8 else 0
    tag = data[position : position + 24]
    if len(tag) < 24 or not tag.startswith((b"LAME", b"Lavc", b"Lavf", b"L3.99")):
        return XingHeader(frames, size, None)
    packed = int.from_bytes(tag[21:24], "big")
    return XingHeader(frames, size, (packed >> 12, packed & 0xFFF))


def _first_frame(info: mutagen.mp3.MPEGInfo) -> dict[str, Any]:
    """The first frame's fields mutagen copies onto the info (``mode``, ``frame_offset``...), which it
    does not declare for type checkers."""
    return vars(info)


def shortfall(file: BinaryIO, fmt: str, info: mutagen.StreamInfo | None = None) -> Shortfall | None:
    """How much audio ``file`` (format ``fmt``: "mp3", "wav", "aiff"; others are not judged) lacks,
    or None when it holds all its header declares, or the header does not say.

    ``info``: mutagen's stream info of the file, when the caller has read it already.
    """
    if fmt == "mp3":
        return _mp3_shortfall(file, info)
    if fmt in ("wav", "aiff"):
        return _chunk_shortfall(file, file.seek(0, 2))
    return None


def ogg_stream_unfinished(file: BinaryIO) -> bool:
    """Whether an Ogg file was cut: its last whole page (the last whose checksum holds: bytes a
    tagger appended, or a page cut inside, are not pages) does not end its stream."""
    size_bytes = file.seek(0, 2)
    start = max(0, size_bytes - OGG_LARGEST_PAGE_BYTES - 4096)  # and room for a few appended bytes
    file.seek(start)
    tail = file.read(size_bytes - start)
    at = tail.rfind(OGG_CAPTURE)
    while at >= 0:
        header = tail[at : at + OGG_HEADER_BYTES]
        if len(header) == OGG_HEADER_BYTES and header[4] == 0:
            lacing = tail[at + OGG_HEADER_BYTES : at + OGG_HEADER_BYTES + header[26]]
            page = tail[at : at + OGG_HEADER_BYTES + len(lacing) + sum(lacing)]
            if len(lacing) == header[26] and _ogg_crc(page[:22] + bytes(4) + page[26:]) == header[22:26]:
                return not header[5] & OGG_END_OF_STREAM
        at = tail.rfind(OGG_CAPTURE, 0, at)
    return True


def _ogg_crc(data: bytes) -> bytes:
    """An Ogg page's checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0
    (RFC 3533; zlib's CRC-32 reflects its bits), little-endian as the page stores it."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC_TABLE[(crc >> 24) ^ byte]
    return crc.to_bytes(4, "little")


def _ogg_crc_entry(index: int) -> int:
    crc = index << 24
    for _ in range(8):
        crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


_OGG_CRC_TABLE = tuple(_ogg_crc_entry(index) for index in range(256))


def mp3_audio_bytes(file: BinaryIO, info: mutagen.StreamInfo | None = None) -> tuple[int, int] | None:
    """``(declared, present)``: the bytes of audio an MP3's Xing header counts, and those from its
    first frame to the file's end; None without such a header. ``info``: as for ``shortfall``."""
    size_bytes = file.seek(0, 2)
    if not isinstance(info, mutagen.mp3.MPEGInfo):
        file.seek(0)
        try:
            info = mutagen.mp3.MP3(file).info
        except mutagen.MutagenError:
            return None
        if not isinstance(info, mutagen.mp3.MPEGInfo):
            return None
    header = read_xing(file, info)
    if header is None or not header.audio_bytes:
        return None
    return header.audio_bytes, size_bytes - _first_frame(info)["frame_offset"]


def _mp3_shortfall(file: BinaryIO, info: mutagen.StreamInfo | None) -> Shortfall | None:
    counts = mp3_audio_bytes(file, info)
    if counts is None:
        return None
    declared, present = counts
    return Shortfall(declared, present) if declared - present > MP3_SLACK_BYTES else None


def streamed_wav_frames(file: BinaryIO) -> int | None:
    """The frames a WAV written while streaming holds (``ffmpeg ... -f wav -`` never fills in its data
    chunk's size: ``UNKNOWN_CHUNK_SIZES``), counted from the file's size; None for any other file.
    Read by its header, such a file holds 6.8 hours: pedalboard reads silence past its end."""
    size_bytes = file.seek(0, 2)
    file.seek(0)
    head = file.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    block_align = 0
    while True:
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"data":
            if size not in UNKNOWN_CHUNK_SIZES or block_align == 0:
                return None
            return (size_bytes - file.tell()) // block_align
        if chunk_id == b"fmt ":
            fields = file.read(size)
            block_align = struct.unpack("<H", fields[12:14])[0] if len(fields) >= 14 else 0
            file.seek(size & 1, 1)
        else:
            file.seek(size + (size & 1), 1)


def _chunk_shortfall(file: BinaryIO, size_bytes: int) -> Shortfall | None:
    """The audio data chunk of a RIFF/WAVE (little-endian) or FORM/AIFF(-C) (big-endian) file."""
    file.seek(0)
    head = file.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        endian, data_id = "<", b"data"
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        endian, data_id = ">", b"SSND"
    else:
        return None
    while True:
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        chunk_id, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
        if chunk_id == data_id:
            present = size_bytes - file.tell()
            return Shortfall(size, present) if size not in UNKNOWN_CHUNK_SIZES and present < size else None
        file.seek(size + (size & 1), 1)
