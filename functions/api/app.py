"""API Lambda (HTTP API, payload v2): POST /jobs, GET /jobs/{jobId}, GET /config, GET /presets.

Thin adapter: the Powertools resolver routes and parses the request, jobs_api.JobsApi decides.
"""

from functools import cache
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from jobs_api import ApiError, CreateJobRequest, JobsApi, bad_request_from
from s3_links import S3Links

from surroundyou_jobs.errors import ErrorCode
from surroundyou_jobs.limits import DynamoClientLimits, client_id
from surroundyou_jobs.model import DynamoJobStore
from surroundyou_jobs.options import preset_catalog
from surroundyou_jobs.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def cors_config(allowed_origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for the listed origins only. A "*" in the list is dropped, and with no origin left the
    API serves same-origin requests only (CORSConfig's own default would be "*")."""
    origins = [origin for origin in allowed_origins if origin != "*"]
    if not origins:
        return None
    # Retry-After is exposed: the page tells a client at its limit when to try again
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], max_age=600, expose_headers=["Retry-After"])


app = APIGatewayHttpResolver(cors=cors_config(Settings().allowed_origins), enable_validation=True)


@cache
def job_store() -> DynamoJobStore:
    """Made on first use (not at import) so tests can import this module before moto starts."""
    return DynamoJobStore.from_settings(Settings())


@cache
def s3_client() -> Any:
    # SigV4 everywhere: presigned requests for buckets in newer regions need it
    return boto3.client("s3", config=Config(signature_version="s3v4"))


@cache
def client_limits() -> DynamoClientLimits:
    return DynamoClientLimits.from_settings(Settings())


def jobs_api() -> JobsApi:
    settings = Settings()
    return JobsApi(job_store(), S3Links(s3_client(), settings.bucket), settings, client_limits())


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict]:
    # answers carry presigned URLs and live job states: never cached
    return Response(
        status_code=status,
        content_type="application/json",
        body=body,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


@app.post("/jobs")
@tracer.capture_method
def create_job(request: CreateJobRequest) -> Response[dict]:
    # API Gateway's own view of the caller's address: a client cannot set it (X-Forwarded-For it can)
    created = jobs_api().create_job(request, client_id(app.current_event.request_context.http.source_ip))
    logger.append_keys(job_id=created["jobId"])
    logger.info("job created", extra={"user_filename": request.filename, "size_bytes": request.size})
    metrics.add_metric(name="JobsCreated", unit=MetricUnit.Count, value=1)
    return json_response(HTTPStatus.CREATED, created)


@app.get("/jobs/<job_id>")
@tracer.capture_method
def get_job(job_id: str) -> Response[dict]:
    logger.append_keys(job_id=job_id)
    return json_response(HTTPStatus.OK, jobs_api().get_job(job_id))


@app.get("/config")
def get_config() -> Response[dict]:
    return json_response(HTTPStatus.OK, jobs_api().config())


@app.get("/presets")
def list_presets() -> Response[dict]:
    return json_response(HTTPStatus.OK, {"presets": preset_catalog()})


@app.exception_handler(ApiError)
def api_error(exc: ApiError) -> Response[dict]:
    logger.info("request refused", extra={"code": exc.code, "reason": exc.message})
    if exc.status == HTTPStatus.BAD_REQUEST:
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
    if exc.status == HTTPStatus.TOO_MANY_REQUESTS:
        metrics.add_metric(name="ClientLimitHit", unit=MetricUnit.Count, value=1)
    retry = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
    return json_response(exc.status, exc.body(), retry)


@app.exception_handler(RequestValidationError)
def malformed_request(exc: RequestValidationError) -> Response[dict]:
    return api_error(bad_request_from(exc.errors()))


@app.exception_handler(RecursionError)
def too_deeply_nested(exc: RecursionError) -> Response[dict]:
    """The JSON parser gives up on a body nested thousands deep: the client's mistake, not ours."""
    return api_error(
        ApiError(HTTPStatus.BAD_REQUEST, ErrorCode.INVALID_REQUEST, "The request body is nested too deeply.")
    )


@app.not_found
def not_found(exc: NotFoundError) -> Response[dict]:
    return json_response(
        HTTPStatus.NOT_FOUND,
        {"error": {"code": ErrorCode.NOT_FOUND.value, "message": "There is nothing at this address."}},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
