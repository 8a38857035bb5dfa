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
from surroundyou_formats.id3 import holds_only_a_tag
from surroundyou_formats.sniff import EXTENSION_FORMATS, SNIFF_BYTES, sniff_format
from surroundyou_jobs.wording import clock

# the format sniff_format names -> (name a person knows, mutagen class reading its header; None = WebM reader)
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
