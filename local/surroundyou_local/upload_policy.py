"""S3's checks on a browser upload made with a presigned POST, and on a presigned URL's
signature, which moto does not make.

The API pins the key, the Content-Type and a content-length-range in the POST policy; on AWS, S3
refuses an upload that breaks any of them. The local stack's S3 front door runs these checks
before moto stores anything, so "an upload over the size limit is refused" holds locally too.

Rules as AWS documents them:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

# Form fields that sign the policy rather than being covered by it.
_UNCOVERED_FIELDS = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}


@dataclass
class UploadRefused(Exception):
    """What S3 answers instead of storing the upload."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def to_xml(self) -> bytes:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
            f"<Message>{escape(self.message)}</Message><RequestId>{uuid.uuid4().hex[:16].upper()}"
            "</RequestId></Error>"
        ).encode()


def _denied(message: str) -> UploadRefused:
    return UploadRefused(403, "AccessDenied", message)


def _hmac(key: bytes, message: str, digest=hashlib.sha256) -> bytes:
    return hmac.new(key, message.encode(), digest).digest()


def _sigv4_signature(secret: str, date: str, region: str, service: str, terminator: str, string_to_sign: str) -> str:
    """SigV4's signature of ``string_to_sign`` with the key derived for date/region/service."""
    signing_key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, terminator):
        signing_key = _hmac(signing_key, part)
    return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _unknown_access_key() -> UploadRefused:
    return UploadRefused(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")


def _signature_mismatch() -> UploadRefused:
    return UploadRefused(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method.",
    )


def _check_signature(fields: Mapping[str, str], access_key_id: str, secret_access_key: str) -> None:
    policy = fields["policy"]
    if "x-amz-signature" in fields:  # Signature Version 4
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            raise UploadRefused(400, "InvalidRequest", "x-amz-algorithm must be AWS4-HMAC-SHA256")
        try:
            key_id, date, region, service, terminator = fields["x-amz-credential"].split("/")
        except (KeyError, ValueError):
            raise UploadRefused(400, "InvalidArgument", "x-amz-credential is malformed") from None
        expected = _sigv4_signature(secret_access_key, date, region, service, terminator, policy)
        given = fields["x-amz-signature"]
    elif "signature" in fields:  # Signature Version 2
        key_id = fields.get("awsaccesskeyid", "")
        expected = base64.b64encode(_hmac(secret_access_key.encode(), policy, hashlib.sha1)).decode()
        given = fields["signature"]
    else:
        raise _denied("Bucket POST must contain a signature")
    if key_id != access_key_id:
        raise _unknown_access_key()
    if not hmac.compare_digest(expected, given):
        raise _signature_mismatch()


def _decode_policy(policy: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
        expiration = datetime.strptime(document["expiration"].replace(".000Z", "Z"), "%Y-%m-%dT%H:%M:%SZ")
        conditions = document["conditions"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise UploadRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    return {"expiration": expiration.replace(tzinfo=UTC), "conditions": conditions}


def _condition_parts(condition: Any) -> tuple[str, str, Any]:
    """(operator, lower-case field name, value) of one policy condition."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        return "eq", name.lower(), value
    if isinstance(condition, list) and len(condition) == 3:
        operator, name, value = condition
        if operator == "content-length-range":
            return operator, "", (int(name), int(value))
        if operator in ("eq", "starts-with") and isinstance(name, str) and name.startswith("$"):
            return operator, name[1:].lower(), value
    raise UploadRefused(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")


def check_post_upload(
    form: Mapping[str, str],
    *,
    bucket: str,
    file_size: int,
    filename: str,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | None = None,
) -> None:
    """Raise UploadRefused unless S3 would accept this POST upload.

    ``form`` holds the non-file fields as sent, ``file_size`` and ``filename`` describe the file.
    """
    fields = {name.lower(): value for name, value in form.items()}
    if "policy" not in fields:
        raise _denied("Bucket POST must contain a field named 'policy'.")
    _check_signature(fields, access_key_id, secret_access_key)
    policy = _decode_policy(fields["policy"])
    if (now or datetime.now(UTC)) > policy["expiration"]:
        raise _denied("Invalid according to Policy: Policy expired.")

    values = {**fields, "bucket": bucket}
    if "key" in values:
        values["key"] = values["key"].replace("${filename}", filename)
    covered = {"bucket"}
    for condition in policy["conditions"]:
        operator, name, expected = _condition_parts(condition)
        if operator == "content-length-range":
            low, high = expected
            if file_size > high:
                raise UploadRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if file_size < low:
                raise UploadRefused(
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
                )
            continue
        covered.add(name)
        actual = values.get(name, "")
        holds = actual == expected if operator == "eq" else actual.startswith(str(expected))
        if not holds:
            raise _denied(
                f"Invalid according to Policy: Policy Condition failed: {json.dumps([operator, '$' + name, expected])}"
            )
    extra = sorted(
        name
        for name in fields
        if name not in covered and name not in _UNCOVERED_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def check_presigned_url(
    method: str,
    raw_target: str,
    host: str,
    secret_of: Callable[[str], str | None],
    now: datetime | None = None,
) -> None:
    """Raise UploadRefused unless S3 would accept this presigned (SigV4 query) request.

    ``raw_target`` is the path and query as the client sent them (the signature covers the path
    under the front door's prefix), ``secret_of`` gives the signer's secret for an access key.
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    """
    path, _, query = raw_target.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    try:
        key_id, date, region, service, terminator = params["X-Amz-Credential"].split("/")
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires_s = int(params["X-Amz-Expires"])
        signed_headers = params["X-Amz-SignedHeaders"]
    except (KeyError, ValueError):
        raise UploadRefused(
            400, "AuthorizationQueryParametersError", "Query-string authentication is malformed."
        ) from None
    secret = secret_of(key_id)
    if secret is None:
        raise _unknown_access_key()
    if (now or datetime.now(UTC)).timestamp() > signed_at.timestamp() + expires_s:
        raise _denied("Request has expired")
    canonical_query = "&".join(sorted(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in pairs if k != "X-Amz-Signature"))
    headers = {"host": host}
    canonical_headers = "".join(f"{name}:{headers.get(name, '')}\n" for name in signed_headers.split(";"))
    canonical_request = "\n".join(
        [method, path, canonical_query, canonical_headers, signed_headers, "UNSIGNED-PAYLOAD"]
    )
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    expected = _sigv4_signature(secret, date, region, service, terminator, string_to_sign)
    if not hmac.compare_digest(expected, params.get("X-Amz-Signature", "")):
        raise _signature_mismatch()
