"""The one address a person opens: the web app, the API and S3's browser-facing side.

/api/...     the HTTP API (api_gateway) in front of the in-process API function
/s3/...      S3 as a browser sees it: presigned POST uploads (policy checked here, see
             upload_policy) and presigned GET downloads, passed on to the local AWS endpoint
/config.json the web app's runtime settings
/...         the built web app (web/dist), index.html for the app's own routes
"""

from __future__ import annotations

import http.client
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.formparser import parse_form_data
from werkzeug.security import safe_join
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from .api_gateway import INTERNAL_ERROR, NOT_FOUND, HttpResponse, Route, find_route, http_api_event, http_response
from .upload_policy import UploadRefused, check_post_upload, check_presigned_url

logger = logging.getLogger(__name__)

API_PREFIX = "/api"
S3_PREFIX = "/s3"
# S3 caps the form fields of a POST upload at 20 KB; a body longer than the size limit plus this
# cannot hold an acceptable file, so it is refused without being stored.
FORM_FIELDS_MAX_BYTES = 20_000
_CHUNK_BYTES = 1 << 16
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
    "content-length",
    "server",
    "date",
}

NOT_BUILT_PAGE = """SurroundYou's API is running at /api, but the web app has not been built yet.

Build it with `make web` (or: cd web && npm ci && npm run build), then restart `make run`.
"""


def _to_werkzeug(response: HttpResponse) -> Response:
    return Response(response.body, status=response.status, headers=response.headers)


class ApiFront:
    """Requests under /api, answered as API Gateway would answer them."""

    def __init__(self, invoke: Callable[[bytes], tuple[bytes, bool]], routes: list[Route]):
        self.invoke = invoke
        self.routes = routes

    def __call__(self, request: Request) -> Response:
        path = request.path[len(API_PREFIX) :] or "/"
        found = find_route(self.routes, request.method, path)
        if found is None:
            response = NOT_FOUND
        else:
            route, path_parameters = found
            event = http_api_event(
                route,
                path_parameters,
                method=request.method,
                path=path,
                query_string=request.query_string.decode(),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=request.get_data(),
                source_ip=request.remote_addr or "127.0.0.1",
                host=request.host,
            )
            payload, failed = self.invoke(json.dumps(event).encode())
            response = INTERNAL_ERROR if failed else http_response(json.loads(payload))
        return _to_werkzeug(response)


class S3Front:
    """Browser requests to S3 (presigned URLs made against .../s3), passed to the local endpoint."""

    def __init__(self, endpoint_url: str, secret_of: Callable[[str], str | None], max_upload_bytes: int):
        """``secret_of``: the secret key behind an access key (the signer's), None if unknown."""
        endpoint = urlsplit(endpoint_url)
        self.host, self.port = endpoint.hostname, endpoint.port
        self.secret_of = secret_of
        self.max_body_bytes = max_upload_bytes + FORM_FIELDS_MAX_BYTES

    def __call__(self, request: Request) -> Response:
        # The raw request target keeps the key's percent-encoding and the presigned query intact.
        raw_target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        path = raw_target[len(S3_PREFIX) :] or "/"
        bucket, _, key = request.path[len(S3_PREFIX) + 1 :].partition("/")
        is_upload = request.method == "POST" and bucket and not key and request.mimetype == "multipart/form-data"
        if is_upload:
            response = self._upload(request, bucket, path)
        elif "X-Amz-Signature" in request.args:  # a presigned URL (a download): its signature first
            try:
                check_presigned_url(request.method, raw_target, request.host, self.secret_of)
            except UploadRefused as refusal:
                logger.info("presigned %s of %s refused: %s", request.method, path, refusal)
                response = Response(refusal.to_xml(), status=refusal.status, mimetype="application/xml")
            else:
                response = self._forward(request, path, request.stream, request.content_length or 0)
        else:
            response = self._forward(request, path, request.stream, request.content_length or 0)
        return self._with_bucket_cors(request, bucket, response)

    def _upload(self, request: Request, bucket: str, path: str) -> Response:
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as body:
            size = self._read_body(request, body)
            try:
                if size > self.max_body_bytes:
                    raise UploadRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
                self._check_upload(request, bucket, body, size)
            except UploadRefused as refusal:
                logger.info("upload to %s refused: %s", bucket, refusal)
                return Response(refusal.to_xml(), status=refusal.status, mimetype="application/xml")
            body.seek(0)
            return self._forward(request, path, body, size)

    def _with_bucket_cors(self, request: Request, bucket: str, response: Response) -> Response:
        """CORS headers as S3 sets them, from the bucket's CORS rules. (moto's server answers every
        origin itself; only its answer to a preflight follows the bucket's rules.)"""
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if preflight and response.status_code == 200:
            return response
        for name in [name for name in response.headers.keys() if name.lower().startswith("access-control-")]:
            del response.headers[name]
        origin = request.headers.get("Origin")
        if origin and bucket and not preflight:
            response.headers.extend(self._bucket_cors_headers(bucket, origin, request.method))
        return response

    @staticmethod
    def _read_body(request: Request, sink: Any) -> int:
        """Copy the whole body (so the client always gets an answer) and return its size."""
        size = 0
        while chunk := request.stream.read(_CHUNK_BYTES):
            size += len(chunk)
            sink.write(chunk)
        return size

    def _check_upload(self, request: Request, bucket: str, body: Any, size: int) -> None:
        body.seek(0)
        environ = {
            "wsgi.input": body,
            "CONTENT_LENGTH": str(size),
            "CONTENT_TYPE": request.content_type,
            "REQUEST_METHOD": "POST",
        }
        _, form, files = parse_form_data(environ)
        upload = files.get("file")
        if upload is None:
            raise UploadRefused(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        upload.stream.seek(0, 2)
        fields = {name.lower(): value for name, value in form.to_dict().items()}
        # The signer's key: SigV4 names it in x-amz-credential, SigV2 in AWSAccessKeyId.
        access_key_id = fields.get("x-amz-credential", "").split("/")[0] or fields.get("awsaccesskeyid", "")
        secret_access_key = self.secret_of(access_key_id)
        if secret_access_key is None:
            raise UploadRefused(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        check_post_upload(
            form.to_dict(),
            bucket=bucket,
            file_size=upload.stream.tell(),
            filename=upload.filename or "",
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
        )

    def _bucket_cors_headers(self, bucket: str, origin: str, method: str) -> list[tuple[str, str]]:
        """The CORS headers the bucket's rules give ``origin`` for ``method``: asked of the endpoint
        with a preflight, whose answer follows those rules."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(
                "OPTIONS", f"/{bucket}", headers={"Origin": origin, "Access-Control-Request-Method": method}
            )
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        if answer.status != 200:
            return []
        return [
            (name, value)
            for name, value in answer.getheaders()
            if name.lower()
            in (
                "access-control-allow-origin",
                "access-control-expose-headers",
                "access-control-allow-credentials",
                "vary",
            )
        ]

    def _forward(self, request: Request, path: str, body: Any, size: int) -> Response:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        connection.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"{self.host}:{self.port}")
        for name, value in request.headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "host":
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        remaining = size
        while remaining > 0 and (chunk := body.read(min(_CHUNK_BYTES, remaining))):
            connection.send(chunk)
            remaining -= len(chunk)
        answer = connection.getresponse()

        def stream() -> Iterator[bytes]:
            try:
                while chunk := answer.read(_CHUNK_BYTES):
                    yield chunk
            finally:
                connection.close()

        headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
        length = answer.getheader("Content-Length")
        if length is not None:
            headers.append(("Content-Length", length))
        return Response(stream(), status=answer.status, headers=headers, direct_passthrough=True)


class StaticFront:
    """The built web app, with its runtime settings at /config.json."""

    def __init__(self, web_dist: Path, config: dict[str, Any]):
        self.web_dist = web_dist
        self.config = config

    def __call__(self, request: Request) -> Response:
        if request.path == "/config.json":
            return Response(json.dumps(self.config), mimetype="application/json", headers={"Cache-Control": "no-store"})
        if request.method not in ("GET", "HEAD"):
            return Response("Method Not Allowed", status=405)
        index = self.web_dist / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT_PAGE, mimetype="text/plain")
        path = safe_join(str(self.web_dist), request.path.lstrip("/"))
        if path is not None and Path(path).is_file():
            return send_file(path, request.environ)
        if Path(request.path).suffix:  # a missing asset, not one of the app's routes
            return Response("Not Found", status=404, mimetype="text/plain")
        return send_file(str(index), request.environ)


class Front:
    """The WSGI application: dispatch by path prefix."""

    def __init__(self, api: ApiFront, s3: S3Front, static: StaticFront):
        self.api, self.s3, self.static = api, s3, static

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        path = request.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            handler: Callable[[Request], Response] = self.api
        elif path == S3_PREFIX or path.startswith(S3_PREFIX + "/"):
            handler = self.s3
        else:
            handler = self.static
        try:
            response = handler(request)
        except Exception:  # noqa: BLE001 - one broken request must not take the server down
            logger.exception("%s %s failed", request.method, path)
            response = _to_werkzeug(INTERNAL_ERROR)
        return response(environ, start_response)
