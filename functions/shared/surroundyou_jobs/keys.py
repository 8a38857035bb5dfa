"""S3 keys are made by the server, never by the user.

inputKey   uploads/{jobId}/source.{ext}        what the browser uploads (presigned POST pins this key)
outputKey  processed/{jobId}/{stem}.8d.{ext}   what the task writes ({stem}.preview.8d.{ext} for a preview)
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from pathlib import PurePosixPath

INPUT_PREFIX = "uploads/"
OUTPUT_PREFIX = "processed/"

# Extension -> content types a browser may send for it. The bytes are checked later (validate).
INPUT_CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "mp3": ("audio/mpeg", "audio/mp3"),
    "wav": ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"),
    "flac": ("audio/flac", "audio/x-flac"),
    "ogg": ("audio/ogg", "application/ogg", "audio/vorbis"),
    "opus": ("audio/opus", "audio/ogg"),
    "aiff": ("audio/aiff", "audio/x-aiff"),
    "aif": ("audio/aiff", "audio/x-aiff"),
    "m4a": ("audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac"),
    "aac": ("audio/aac", "audio/x-aac"),
    "webm": ("audio/webm", "video/webm"),
}
OUTPUT_CONTENT_TYPES = {"mp3": "audio/mpeg", "flac": "audio/flac", "wav": "audio/wav", "ogg": "audio/ogg"}
OUTPUT_FORMATS = tuple(OUTPUT_CONTENT_TYPES)

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_INPUT_KEY = re.compile(r"^uploads/(?P<job_id>[0-9a-f]{32})/source\.(?P<ext>[a-z0-9]{2,5})$")


def new_job_id() -> str:
    return uuid.uuid4().hex


def is_job_id(value: str) -> bool:
    return bool(_JOB_ID.match(value or ""))


def extension_of(filename: str) -> str:
    """Lower-case extension without the dot ('' when there is none)."""
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower().lstrip(".")


def is_song_name(filename: str) -> bool:
    """Whether a library's file is a song to convert, by its name: an extension SurroundYou reads, not
    hidden (``.DS_Store``, the ``._Song.mp3`` metadata a Mac copies beside each file) and not an 8D
    result already (``*.8d.*``). Covers, playlists and liner notes are left alone, not failed."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    stem = name.lower().rsplit(".", 1)[0]
    return not name.startswith(".") and extension_of(name) in INPUT_CONTENT_TYPES and not stem.endswith(".8d")


def input_key(job_id: str, ext: str) -> str:
    return f"{INPUT_PREFIX}{job_id}/source.{ext}"


def parse_input_key(key: str) -> tuple[str, str]:
    """(job_id, ext) of an input (upload) key; ValueError for any other key."""
    match = _INPUT_KEY.match(key)
    if not match:
        raise ValueError(f"not an upload key: {key!r}")
    return match["job_id"], match["ext"]


def output_stem(filename: str) -> str:
    """A safe file stem from the user's file name (kept for the download's name only)."""
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    # "Café" -> "Cafe": fold accents to ASCII before dropping what S3 keys and headers dislike
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "", stem).strip(" .")[:100]
    return stem or "song"


def result_suffix(fmt: str, preview: bool = False) -> str:
    """What follows a result's stem: ".8d.mp3", or ".preview.8d.mp3" for a preview (the CLI's names too)."""
    return f"{'.preview' if preview else ''}.8d.{fmt}"


def download_name(filename: str, fmt: str, preview: bool = False) -> str:
    """The name the download saves as, in the user's own script: "Café del Mar.8d.mp3" (path parts,
    quotes and control characters dropped; the key's ASCII stem is the fallback for old clients)."""
    stem = unicodedata.normalize("NFC", PurePosixPath(filename.replace("\\", "/")).stem)
    stem = "".join(c for c in stem if c not in '"/' and unicodedata.category(c)[0] != "C").strip(" .")[:100]
    return f"{stem or 'song'}{result_suffix(fmt, preview)}"


def output_key(job_id: str, filename: str, fmt: str, preview: bool = False) -> str:
    return f"{OUTPUT_PREFIX}{job_id}/{output_stem(filename)}{result_suffix(fmt, preview)}"
