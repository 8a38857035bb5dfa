"""Why a job failed or a request was refused: one code vocabulary for the API, validate, the task,
notify and the web app (which learns from GET /config which codes blame the file)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    # a request the API refuses (HTTP 4xx)
    MISSING_FIELD = "MissingField"
    INVALID_FIELD = "InvalidField"
    INVALID_REQUEST = "InvalidRequest"
    INVALID_FILENAME = "InvalidFilename"
    UNSUPPORTED_FILE_TYPE = "UnsupportedFileType"
    CONTENT_TYPE_MISMATCH = "ContentTypeMismatch"
    EMPTY_FILE = "EmptyFile"
    FILE_TOO_LARGE = "FileTooLarge"
    INVALID_OPTIONS = "InvalidOptions"
    JOB_NOT_FOUND = "JobNotFound"
    TOO_MANY_JOBS = "TooManyJobs"  # JobsPerHourPerClient reached (HTTP 429)
    TOO_MANY_OPEN_JOBS = "TooManyOpenJobs"  # OpenJobsPerClient reached (HTTP 429)
    NOT_FOUND = "NotFound"
    # a job that ends FAILED
    INVALID_UPLOAD = "InvalidUpload"  # validate refused the file (also the Lambda error's name)
    DECODE_FAILED = "DecodeFailed"  # the task could not read the audio
    RENDER_FAILED = "RenderFailed"
    NOT_PERMITTED = "NotPermitted"  # the task's role may not read the upload or write the result (setup)
    INTERRUPTED = "Interrupted"  # the task was stopped (SIGTERM) before it finished
    TIMEOUT = "Timeout"
    CONVERTER_STOPPED = "ConverterStopped"  # the task stopped without saying why
    CONVERTER_UNAVAILABLE = "ConverterUnavailable"  # ECS could not start a task
    CONVERSION_FAILED = "ConversionFailed"  # anything else


INTERRUPTED_MESSAGE = "The conversion was stopped before it finished; please try again."

# The failures a person fixes by choosing another file (the page says so).
FILE_FAULTS = (ErrorCode.INVALID_UPLOAD, ErrorCode.DECODE_FAILED)


@dataclass(frozen=True)
class JobError:
    code: ErrorCode
    message: str

    def to_item(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}
