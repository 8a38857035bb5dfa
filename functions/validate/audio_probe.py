"""Is a file really audio we can convert, and how long is it? Decided from its first bytes (magic
numbers) and its header (mutagen), never from its name and without decoding the audio: the reads
are a few kilobytes however long the song.

Works on any seekable binary file object (io.BytesIO in tests, s3_range_file.S3RangeFile in AWS).
Whether a file is cut short is decided by surroundyou_formats.cut_short, as the engine decides it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

import mutagen
from mutagen.aac import AAC
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from webm_duration import WebMHeaderError, webm_duration_s

from surroundyou_formats.cut_short import ogg_stream_unfinished, shortfall, streamed_wav_frames
from surroundyou_formats.id3 import holds_only_a_tag, id3v2_size
from surroundyou_jobs.wording import clock

SNIFF_BYTES = 64

# container/codec -> (name a person knows, mutagen class reading its header; None = WebM reader)
FORMATS: dict[str, tuple[str, type[mutagen.FileType] | None]] = {
    "mp3": ("MP3", MP3),
    "aac": ("AAC", AAC),
    "wav": ("WAV", WAVE),
    "flac": ("FLAC", FLAC),
    "ogg-vorbis": ("Ogg Vorbis", OggVorbis),
    "ogg-opus": ("Opus", OggOpus),
    "ogg-flac": ("Ogg FLAC", OggFLAC),
    "aiff": ("AIFF", AIFF),
    "mp4": ("M4A", MP4),
    "webm": ("WebM", None),
}
# file extension (keys.INPUT_CONTENT_TYPES) -> the formats a file with that name may hold
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
# what a non-audio file looks like, by its first bytes
OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or an office document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
)
# mutagen raises its own errors for most malformed headers, and these for the rest
HEADER_ERRORS = (mutagen.MutagenError, WebMHeaderError, EOFError, ValueError, struct.error, IndexError, OverflowError)


class NotReadableAudio(ValueError):
    """The file is not audio we can convert; the message says why in words a person understands."""


@dataclass(frozen=True)
class AudioProbe:
    format: str  # a key of FORMATS
    duration_s: float


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
    """The audio format the magic numbers say (a key of FORMATS), or None."""
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


def _as_text(head: bytes) -> str | None:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut off by the end of the sample is still text
        return head[: exc.start].decode("utf-8") if exc.reason == "unexpected end of data" else None


def describe_non_audio(head: bytes) -> str:
    """What a file that is not audio looks like, for the message that refuses it."""
    for magic, what in OTHER_SIGNATURES:
        if head.startswith(magic):
            return f"it looks like {what}"
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "it looks like a web page"
    text = _as_text(head)
    if text is not None and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "it looks like text"
    return f"it matches none of the audio formats we read ({', '.join(name for name, _ in FORMATS.values())})"


def probe_audio(file: BinaryIO, extension: str) -> AudioProbe:
    """Format and duration of an upload named ``source.<extension>``; NotReadableAudio if the bytes
    are not audio, are another format than the name says, or are damaged or cut short."""
    size_bytes = file.seek(0, 2)
    if size_bytes == 0:
        raise NotReadableAudio("The file is empty.")
    fmt = sniff_format(file)
    if fmt is None:
        file.seek(0)
        raise NotReadableAudio(f"This file is not audio we can read: {describe_non_audio(file.read(SNIFF_BYTES))}.")
    if fmt == "mp3" and holds_only_a_tag(file, size_bytes):
        raise NotReadableAudio("This file holds only a tag (a title, a cover...) and no audio.")
    label, reader = FORMATS[fmt]
    if fmt not in EXTENSION_FORMATS[extension]:
        rename_to = next(ext for ext, formats in EXTENSION_FORMATS.items() if fmt in formats)
        raise NotReadableAudio(
            f"The file is named .{extension} but holds {label} audio; rename it to .{rename_to} and upload it again."
        )
    file.seek(0)
    try:
        info = None if reader is None else reader(file).info
        duration_s = webm_duration_s(file) if info is None else float(info.length)
        streamed_frames = streamed_wav_frames(file) if fmt == "wav" else None
        if streamed_frames is not None and info is not None:  # its header does not say how long it is
            duration_s = streamed_frames / info.sample_rate
        missing = shortfall(file, fmt, info)
    except HEADER_ERRORS:
        raise NotReadableAudio(
            f"This {label} file can't be read; it may be damaged or cut short. Please upload it again."
        ) from None
    if missing is not None:
        held_s = duration_s * missing.fraction_present
        raise NotReadableAudio(
            f"This {label} file is incomplete: it holds about {clock(held_s)} "
            f"of a {clock(duration_s)} song. Please upload the whole file."
        )
    if fmt.startswith("ogg-") and ogg_stream_unfinished(file):
        raise NotReadableAudio(
            f"This {label} file is incomplete: it stops before the end of its stream. Please upload the whole file."
        )
    return AudioProbe(fmt, duration_s)
