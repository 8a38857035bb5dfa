"""AWS fixtures shared by the handler, state machine and local tests: the Lambda environment, an
in-process moto with the media bucket and the jobs table (created from template.yaml's own
JobsTable definition), a JobStore on it, the Lambda handlers and the sample events.

    def test_x(s3, bucket, job_store, handlers, sample_event, lambda_context): ...
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from surroundyou_jobs.model import DynamoJobStore
from surroundyou_jobs.settings import Settings

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
EVENTS = REPO / "events"
FUNCTIONS = REPO / "functions"
HANDLER_FUNCTIONS = ("api", "validate", "notify", "batch")

# the values template.yaml gives the Lambdas, as the sample events expect them
LAMBDA_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JOBS_TABLE": "surroundyou-jobs",
    "BUCKET": "surroundyou-media-123456789012",
    "MAX_UPLOAD_BYTES": "200000000",  # MaxUploadMB 200
    "MAX_DURATION_S": "3600",
    "UPLOAD_URL_EXPIRES_S": "900",
    "DOWNLOAD_URL_EXPIRES_S": "3600",
    "JOB_TTL_DAYS": "7",
    "ALLOWED_ORIGINS": "https://surroundyou.example,http://localhost:5173",
    "LIMITS_TABLE": "surroundyou-limits",
    "JOBS_PER_HOUR_PER_CLIENT": "30",
    "OPEN_JOBS_PER_CLIENT": "3",
    "POWERTOOLS_SERVICE_NAME": "surroundyou",
    "POWERTOOLS_METRICS_NAMESPACE": "SurroundYou",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# settings from the developer's shell that would send the SDK elsewhere
FOREIGN_ENVIRONMENT = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_PROFILE",
    "AWS_REGION",
)

# Each function is deployed from its own directory, so its modules import each other by plain name
# (jobs_api, upload_check, job_outcome, ...). Their names differ between functions; only app.py
# repeats, and `handlers` loads each under its own name.
for _function in HANDLER_FUNCTIONS:
    sys.path.insert(0, str(FUNCTIONS / _function))


@pytest.fixture(scope="session")
def jobs_table_properties() -> dict:
    """The CloudFormation properties of template.yaml's JobsTable."""
    from surroundyou_local.template import load_template

    return load_template(TEMPLATE)["Resources"]["JobsTable"]["Properties"]


@pytest.fixture(scope="session")
def signals() -> SimpleNamespace:
    """The signal makers of tests/signals.py."""
    import signals as makers

    return SimpleNamespace(
        sample_rate=makers.SAMPLE_RATE,
        pink_noise=makers.pink_noise,
        band_noise=makers.band_noise,
        sine=makers.sine,
        music_like=makers.music_like,
        loud_master=makers.loud_master,
        band_shared_pink=makers.band_shared_pink,
        bass_line_mix=makers.bass_line_mix,
        held_note_mix=makers.held_note_mix,
    )


@pytest.fixture
def aws_env(monkeypatch) -> dict[str, str]:
    """The Lambdas' environment with fake credentials; nothing can reach a real AWS account."""
    for name in FOREIGN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in LAMBDA_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return dict(LAMBDA_ENVIRONMENT)


@pytest.fixture
def settings(aws_env) -> Settings:
    return Settings()


@pytest.fixture
def moto_aws(aws_env):
    """Every boto3 call inside the test goes to an in-process moto, fresh for each test."""
    from moto import mock_aws  # imported on use: the unit tier never loads moto

    with mock_aws():
        yield


@pytest.fixture(scope="session")
def boto_session():
    """One session for the tests' own clients: it loads each service model once, where
    boto3.client() inside mock_aws would load it again for every client (moto resets the default
    session). moto intercepts requests of clients made before or after it starts alike."""
    import boto3
    import moto  # noqa: F401 - moto hooks botocore's handlers on import: before the session exists

    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


@pytest.fixture
def s3(moto_aws, boto_session):
    """An S3 client on the moto of this test."""
    return boto_session.client("s3")


@pytest.fixture
def bucket(s3, settings) -> str:
    """The media bucket (name from the settings); returns its name."""
    s3.create_bucket(Bucket=settings.bucket)
    return settings.bucket


@pytest.fixture
def jobs_table(moto_aws, boto_session, settings, jobs_table_properties):
    """The jobs table as template.yaml defines it; a boto3 Table resource."""
    from surroundyou_local.provision import create_table

    create_table(boto_session.client("dynamodb"), settings.jobs_table, jobs_table_properties)
    return boto_session.resource("dynamodb").Table(settings.jobs_table)


@pytest.fixture
def limits_table(moto_aws, boto_session, settings):
    """The limits table as template.yaml defines it; a boto3 Table resource."""
    from surroundyou_local.provision import create_table
    from surroundyou_local.template import load_template

    properties = load_template(TEMPLATE)["Resources"]["LimitsTable"]["Properties"]
    create_table(boto_session.client("dynamodb"), settings.limits_table, properties)
    return boto_session.resource("dynamodb").Table(settings.limits_table)


@pytest.fixture
def job_store(jobs_table) -> DynamoJobStore:
    return DynamoJobStore(jobs_table)


def _load_handler(function: str) -> ModuleType:
    name = f"{function}_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FUNCTIONS / function / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def handlers(aws_env) -> SimpleNamespace:
    """The Lambda modules (api, validate, notify, batch), imported with the Lambda environment set."""
    return SimpleNamespace(**{function: _load_handler(function) for function in HANDLER_FUNCTIONS})


@pytest.fixture
def lambda_context() -> SimpleNamespace:
    """The attributes of a Lambda context that Powertools reads."""
    return SimpleNamespace(
        function_name="surroundyou-test",
        function_version="$LATEST",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:surroundyou-test",
        aws_request_id="8f3f1f1c-0000-4000-8000-000000000000",
        get_remaining_time_in_millis=lambda: 30_000,
    )


@pytest.fixture
def sample_event():
    """sample_event("upload_created") -> the parsed events/upload_created.json (a fresh copy)."""

    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())

    return load


@pytest.fixture
def emitted_metrics(capsys):
    """emitted_metrics() -> {metric name: total} of the CloudWatch EMF lines printed so far."""

    def read() -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in capsys.readouterr().out.splitlines():
            if '"_aws"' not in line:
                continue
            record = json.loads(line)
            for directive in record["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(record[metric["Name"]])
        return totals

    return read


@pytest.fixture
def structured_logs(caplog, handlers):
    """structured_logs("validate") -> that handler's log lines so far, as CloudWatch receives them
    (dicts with the keys the handler appended, e.g. job_id)."""

    def read(function: str) -> list[dict]:
        logger = getattr(handlers, function).logger
        return [
            json.loads(logger.registered_formatter.format(record))
            for record in caplog.records
            if record.name == logger.name
        ]

    return read
