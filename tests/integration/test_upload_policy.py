"""surroundyou_local.upload_policy: the local S3 refuses presigned POST uploads as S3 does.

The forms are made by boto3's generate_presigned_post, exactly as the API function makes them.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from surroundyou_local.upload_policy import UploadRefused, check_post_upload

BUCKET = "media"
KEY = "uploads/0123456789abcdef0123456789abcdef/source.mp3"
MAX_BYTES = 1_000_000
ACCESS_KEY_ID, SECRET_ACCESS_KEY = "AKIALOCAL", "local-secret"


def presigned_form(signature_version: str = "s3v4", expires_s: int = 900) -> dict[str, str]:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        endpoint_url="http://127.0.0.1:9/s3",
        config=Config(signature_version=signature_version),
    )
    return s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=KEY,
        Fields={"Content-Type": "audio/mpeg"},
        Conditions=[{"Content-Type": "audio/mpeg"}, ["content-length-range", 1, MAX_BYTES]],
        ExpiresIn=expires_s,
    )["fields"]


def check(form: dict[str, str], size: int = 1000, **overrides) -> None:
    arguments = {
        "bucket": BUCKET,
        "file_size": size,
        "filename": "song.mp3",
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        **overrides,
    }
    check_post_upload(form, **arguments)


def refusal(form: dict[str, str], size: int = 1000, **overrides) -> UploadRefused:
    with pytest.raises(UploadRefused) as refused:
        check(form, size, **overrides)
    return refused.value


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_the_form_the_api_makes_is_accepted_up_to_the_limit(signature_version):
    form = presigned_form(signature_version)
    check(form, size=1)
    check(form, size=MAX_BYTES)


def test_a_file_over_the_limit_is_too_large():
    refused = refusal(presigned_form(), size=MAX_BYTES + 1)
    assert (refused.status, refused.code) == (400, "EntityTooLarge")
    assert b"<Code>EntityTooLarge</Code>" in refused.to_xml()


def test_an_empty_file_is_too_small():
    assert refusal(presigned_form(), size=0).code == "EntityTooSmall"


@pytest.mark.parametrize("field, value", [("key", "uploads/someone-else/source.mp3"), ("Content-Type", "text/html")])
def test_a_field_the_policy_pins_cannot_change(field, value):
    refused = refusal({**presigned_form(), field: value})
    assert (refused.status, refused.code) == (403, "AccessDenied")
    assert "Policy Condition failed" in refused.message


def test_another_bucket_is_refused():
    assert "Policy Condition failed" in refusal(presigned_form(), bucket="other").message


def test_a_field_the_policy_does_not_cover_is_refused():
    refused = refusal({**presigned_form(), "acl": "public-read"})
    assert refused.message == "Invalid according to Policy: Extra input fields: acl"


def test_fields_named_x_ignore_are_allowed():
    check({**presigned_form(), "x-ignore-note": "anything"})


def test_an_expired_form_is_refused():
    later = datetime.now(UTC) + timedelta(seconds=901)
    assert refusal(presigned_form(), now=later).message == "Invalid according to Policy: Policy expired."


def test_a_policy_changed_after_signing_is_refused():
    form = presigned_form()
    policy = json.loads(base64.b64decode(form["policy"]))
    policy["conditions"] = [
        c for c in policy["conditions"] if not (isinstance(c, list) and c[0] == "content-length-range")
    ]
    refused = refusal({**form, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}, size=MAX_BYTES * 5)
    assert (refused.status, refused.code) == (403, "SignatureDoesNotMatch")


def test_a_form_signed_with_another_key_is_refused():
    assert refusal(presigned_form(), secret_access_key="not-the-secret").code == "SignatureDoesNotMatch"
    assert refusal(presigned_form(), access_key_id="AKIAOTHER").code == "InvalidAccessKeyId"


def test_a_form_without_policy_is_refused():
    form = presigned_form()
    del form["policy"]
    assert refusal(form).code == "AccessDenied"


def test_the_key_may_take_the_file_name():
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        endpoint_url="http://127.0.0.1:9/s3",
        config=Config(signature_version="s3v4"),
    )
    form = s3.generate_presigned_post(
        Bucket=BUCKET, Key="uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"]]
    )["fields"]
    check(form, filename="song.mp3")
