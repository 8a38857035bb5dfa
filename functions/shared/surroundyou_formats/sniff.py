"""What audio format a file holds, from its first bytes (magic numbers), never from its name.

The upload check (validate) and the engine's decoder decide a file's format this one way.
"""

from __future__ import annotations

from typing import BinaryIO

from .id3 import id3v2_size

SNIFF_BYTES = 64
# file extension (surroundyou_jobs.keys.INPUT_CONTENT_TYPES) -> the formats a file with that name may hold
EXTENSION_FORMATS: dict[str, tuple[str, ...]] = {
    "mp3": ("mp3",),
    "wav": ("wav",),
    "flac": ("flac",),
    "ogg": ("ogg-vorbis", "ogg-opus", "ogg-flac"),
    "opus": ("ogg-opus",),
    "aiff": ("aiff",),
    "aif": ("aiff",),
    "m4a": ("mp4",),
    "aac": ("aac", "mp4"),
    "webm": ("webm",),
}


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """MPEG-1/2/2.5 audio frame header: 11 sync bits, a valid version, layer, bitrate and rate."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate_index, rate_index = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate_index != 0xF and rate_index != 3


def _is_adts_frame(head: bytes) -> bool:
    """ADTS (raw AAC) frame header: 12 sync bits, then layer bits 00."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0


def _ogg_codec(head: bytes) -> str | None:
    """The codec of an Ogg stream, from the first packet of its first page."""
    first_packet = head[27 + head[26] :] if len(head) > 27 else b""
    for magic, codec in ((b"\x01vorbis", "ogg-vorbis"), (b"OpusHead", "ogg-opus"), (b"\x7fFLAC", "ogg-flac")):
        if first_packet.startswith(magic):
            return codec
    return None


def sniff_format(file: BinaryIO) -> str | None:
    """The audio format the magic numbers say: "mp3", "aac", "wav", "flac", "ogg-vorbis", "ogg-opus",
    "ogg-flac", "aiff", "mp4" or "webm"; None for none of them."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    if head.startswith(b"ID3") and len(head) >= 10:
        # an ID3v2 tag (often with cover art) comes first: look at what follows it
        file.seek(id3v2_size(head))
        after = file.read(4)
        if _is_adts_frame(after):
            return "aac"
        return "flac" if after.startswith(b"fLaC") else "mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return _ogg_codec(head)
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if _is_adts_frame(head):
        return "aac"
    if _is_mpeg_audio_frame(head):
        return "mp3"
    return None
