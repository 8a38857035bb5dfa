"""What the HTTP API does, without HTTP or AWS: checks a job request, creates the job with its
upload form, and shows a job with its download link. app.py adapts it to API Gateway."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field, StrictInt, StrictStr

from surroundyou_jobs.errors import FILE_FAULTS, ErrorCode
from surroundyou_jobs.keys import (
    INPUT_CONTENT_TYPES,
    OUTPUT_FORMATS,
    download_name,
    extension_of,
    input_key,
    is_job_id,
    new_job_id,
)
from surroundyou_jobs.limits import ClientLimits, LimitExceeded
from surroundyou_jobs.model import JobNotFound, JobStatus, JobStore, new_job, public_view
from surroundyou_jobs.options import (
    DEFAULT_OPTIONS,
    MODES,
    OPTION_NAMES,
    PREVIEW_S,
    SYNCS,
    InvalidOptions,
    choice_catalog,
    option_ranges,
    parse_job_options,
    preset_catalog,
)
from surroundyou_jobs.settings import Settings
from surroundyou_jobs.wording import file_size

MAX_FILENAME_CHARS = 255
# Invisible characters that change how a name reads (Trojan Source, CVE-2021-42574) or end a header line.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class CreateJobRequest(BaseModel):
    """Body of POST /jobs. Only the shapes are checked here; the rules a person can break (file
    type, size limit, options) are checked by JobsApi.create_job with messages that say why."""

    filename: StrictStr
    size: StrictInt = Field(ge=0)  # a negative size is a mistyped field, 0 an empty file
    contentType: StrictStr
    options: dict[str, Any] | None = None


# field -> what it should hold, for messages about a missing or mistyped field
FIELD_HINTS = {
    "filename": "the name of your audio file",
    "size": "the file's size in bytes, a whole number",
    "contentType": "the file's type, e.g. audio/mpeg",
    "options": 'an object such as {"preset": "classic"}',
}


class ApiError(Exception):
    """An answer other than success: HTTP status plus {"error": {"code", "message"}}, and for a 429
    the seconds after which to try again (the Retry-After header)."""

    def __init__(self, status: int, code: ErrorCode, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code.value, "message": self.message}}


def bad_request_from(errors: Sequence[Any]) -> ApiError:
    """The first schema error of a POST /jobs body (pydantic error dicts), said plainly."""
    error = errors[0]
    field = error["loc"][1] if len(error["loc"]) > 1 else None
    if field in FIELD_HINTS:
        if error["type"] == "missing":
            return ApiError(400, ErrorCode.MISSING_FIELD, f'The request needs "{field}": {FIELD_HINTS[field]}.')
        return ApiError(400, ErrorCode.INVALID_FIELD, f'"{field}" must be {FIELD_HINTS[field]}.')
    return ApiError(
        400,
        ErrorCode.INVALID_REQUEST,
        'The request body must be a JSON object with "filename", "size", "contentType" and optionally "options".',
    )


def _checked_upload(request: CreateJobRequest, max_upload_bytes: int) -> tuple[str, str]:
    """(extension, content type) of an upload a person asked for; ApiError 400 says what is wrong."""
    supported = ", ".join(f".{ext}" for ext in INPUT_CONTENT_TYPES)
    filename = request.filename.strip()
    if not filename or len(filename) > MAX_FILENAME_CHARS:
        raise ApiError(
            400, ErrorCode.INVALID_FILENAME, f"The file name must have 1 to {MAX_FILENAME_CHARS} characters."
        )
    half = next((char for char in filename if unicodedata.category(char) == "Cs"), None)
    if half is not None:  # half of a UTF-16 pair, which JSON can carry and no name can be stored with
        raise ApiError(
            400,
            ErrorCode.INVALID_FILENAME,
            f"The file name is not valid text (U+{ord(half):04X} is half of a character); "
            "please rename the file and try again.",
        )
    hidden = next((char for char in filename if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS), None)
    if hidden is not None:
        name = unicodedata.name(hidden, "CONTROL CHARACTER")
        raise ApiError(
            400,
            ErrorCode.INVALID_FILENAME,
            f"The file name contains an invisible control character (U+{ord(hidden):04X} {name}); "
            "please rename the file and try again.",
        )
    ext = extension_of(filename)
    if not ext:
        raise ApiError(
            400,
            ErrorCode.UNSUPPORTED_FILE_TYPE,
            f"The file name has no extension; SurroundYou reads {supported} files.",
        )
    if ext not in INPUT_CONTENT_TYPES:
        raise ApiError(
            400,
            ErrorCode.UNSUPPORTED_FILE_TYPE,
            f"SurroundYou can't read .{ext} files; please choose one of {supported}.",
        )
    # "audio/mpeg; charset=binary" and "Audio/MPEG" are the same type
    content_type = request.contentType.split(";")[0].strip().lower()
    if content_type not in INPUT_CONTENT_TYPES[ext]:
        raise ApiError(
            400,
            ErrorCode.CONTENT_TYPE_MISMATCH,
            f"A .{ext} file should be sent as {' or '.join(INPUT_CONTENT_TYPES[ext])}, "
            f"not {content_type or 'an empty type'}.",
        )
    if request.size < 1:
        raise ApiError(400, ErrorCode.EMPTY_FILE, "The file is empty.")
    if request.size > max_upload_bytes:
        raise ApiError(
            400,
            ErrorCode.FILE_TOO_LARGE,
            f"The file is {file_size(request.size)}; the limit is {file_size(max_upload_bytes)}.",
        )
    return ext, content_type


def _options_sentence(message: str) -> str:
    """An InvalidOptions message as a sentence: 'periodS must be ...' -> 'Option periodS must be ....'
    (an option's name keeps its spelling), 'unknown preset ...' -> 'Unknown preset ....'."""
    first_word = message.split(" ", 1)[0]
    sentence = f"Option {message}" if first_word in OPTION_NAMES else message[:1].upper() + message[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


class Links(Protocol):
    """Where the browser sends and fetches bytes (presigned S3 requests in s3_links.py)."""

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]: ...

    def download_url(self, key: str, filename: str, expires_s: int) -> str: ...


class JobsApi:
    def __init__(
        self,
        store: JobStore,
        links: Links,
        settings: Settings,
        limits: ClientLimits,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.links = links
        self.settings = settings
        self.limits = limits
        self.clock = clock

    def config(self) -> dict[str, Any]:
        """What the web app needs to know before it uploads (GET /config): the rules, never a copy."""
        return {
            "maxUploadBytes": self.settings.max_upload_bytes,
            "maxDurationS": self.settings.max_duration_s,
            "inputFormats": [
                {"extension": ext, "contentTypes": list(types)} for ext, types in INPUT_CONTENT_TYPES.items()
            ],
            "outputFormats": list(OUTPUT_FORMATS),
            "modes": list(MODES),
            "presets": preset_catalog(),
            "defaults": dict(DEFAULT_OPTIONS),
            # the heads (by mode), paths and rooms by name, with words for a person
            **choice_catalog(),
            "syncs": list(SYNCS),
            # bounds of the numeric options (periodS, beatsPerTurn, ...), for the page's controls
            "optionRanges": option_ranges(),
            "previewS": PREVIEW_S,
            "fileErrorCodes": [code.value for code in FILE_FAULTS],
        }

    def create_job(self, request: CreateJobRequest, client: str) -> dict[str, Any]:
        """A new AWAITING_UPLOAD job of ``client`` (limits.client_id) and the form that uploads its
        song (POST /jobs -> 201); 429 when the client is at one of its limits."""
        ext, content_type = _checked_upload(request, self.settings.max_upload_bytes)
        try:
            options = parse_job_options(request.options)
        except InvalidOptions as exc:
            raise ApiError(400, ErrorCode.INVALID_OPTIONS, _options_sentence(str(exc))) from None
        job_id = new_job_id()
        try:
            self.limits.admit(client, job_id)
        except LimitExceeded as exc:
            raise ApiError(429, exc.code, exc.message, exc.retry_after_s) from None
        key = input_key(job_id, ext)
        job = new_job(
            job_id,
            filename=request.filename.strip(),
            size=request.size,
            content_type=content_type,
            options=options,
            input_key=key,
            now_s=int(self.clock()),
            ttl_days=self.settings.job_ttl_days,
        )
        job["clientId"] = client
        self.store.create(job)
        expires_s = self.settings.upload_url_expires_s
        form = self.links.upload_form(key, content_type, self.settings.max_upload_bytes, expires_s)
        return {"jobId": job_id, "upload": form, "expiresIn": expires_s}

    def get_job(self, job_id: str) -> dict[str, Any]:
        """The job as the web app polls it, with a download link once READY (GET /jobs/{jobId})."""
        not_found = ApiError(404, ErrorCode.JOB_NOT_FOUND, "There is no job with this id; it may have expired.")
        if not is_job_id(job_id):
            raise not_found
        try:
            item = self.store.get(job_id)
        except JobNotFound:
            raise not_found from None
        view = public_view(item)
        if view["status"] == JobStatus.READY.value and "result" in view:
            key = view["result"]["outputKey"]
            expires_s = self.settings.download_url_expires_s
            name = download_name(item["filename"], view["result"]["format"], bool(item["options"].get("preview")))
            url = self.links.download_url(key, name, expires_s)
            view["download"] = {"url": url, "expiresIn": expires_s}
        return view
