"""surroundyou_local.iam without a running stack: the policy evaluator, the template's roles as
samtranslator expands them, and requests described as IAM sees them."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from surroundyou_local.iam import Call, UnsupportedCondition, describe_request, evaluate, template_roles
from surroundyou_local.stack import local_parameters
from surroundyou_local.template import ACCOUNT_ID, LocalTemplate

REPO = Path(__file__).resolve().parents[2]
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/jobs"
CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:cluster/render"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **more) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


# ---------------------------------------------------------------- the evaluator
def test_an_allow_is_needed_and_an_explicit_deny_wins():
    call = Call("role", "dynamodb:UpdateItem", TABLE)
    assert not evaluate([], call)
    assert evaluate([policy(allow("dynamodb:UpdateItem", TABLE))], call)
    assert not evaluate(
        [policy(allow("dynamodb:*", "*"), {**allow("dynamodb:UpdateItem", TABLE), "Effect": "Deny"})], call
    )
    assert not evaluate([policy(allow("dynamodb:GetItem", TABLE))], call)


def test_actions_match_case_insensitively_with_wildcards_and_resources_exactly():
    assert evaluate(
        [policy(allow("DynamoDB:Update*", "arn:aws:dynamodb:*:*:table/jobs"))], Call("r", "dynamodb:UpdateItem", TABLE)
    )
    assert not evaluate([policy(allow("dynamodb:*", TABLE + "-limits"))], Call("r", "dynamodb:UpdateItem", TABLE))
    uploads = allow("s3:GetObject", "arn:aws:s3:::media/uploads/*")
    assert evaluate([policy(uploads)], Call("r", "s3:GetObject", "arn:aws:s3:::media/uploads/1/source.wav"))
    assert not evaluate([policy(uploads)], Call("r", "s3:GetObject", "arn:aws:s3:::media/processed/1/a.mp3"))


def test_not_action_and_not_resource_cover_everything_else():
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}
    assert evaluate([policy(everything_but_iam)], Call("r", "s3:GetObject", "arn:aws:s3:::media/a"))
    assert not evaluate([policy(everything_but_iam)], Call("r", "iam:PassRole", "arn:aws:iam::1:role/x"))
    assert not evaluate([policy(everything_but_iam)], Call("r", "s3:GetObject", "arn:aws:s3:::secret/a"))


def test_conditions_need_their_key_unless_if_exists():
    run_task = allow("ecs:RunTask", "*", Condition={"ArnEquals": {"ecs:cluster": CLUSTER}})
    assert evaluate([policy(run_task)], Call("r", "ecs:RunTask", "td", (("ecs:cluster", CLUSTER),)))
    assert not evaluate([policy(run_task)], Call("r", "ecs:RunTask", "td", (("ecs:cluster", CLUSTER + "-2"),)))
    assert not evaluate([policy(run_task)], Call("r", "ecs:RunTask", "td"))  # no cluster named: no match
    if_exists = allow("ecs:RunTask", "*", Condition={"ArnEqualsIfExists": {"ecs:cluster": CLUSTER}})
    assert evaluate([policy(if_exists)], Call("r", "ecs:RunTask", "td"))
    passed = allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
    assert evaluate(
        [policy(passed)], Call("r", "iam:PassRole", "x", (("iam:PassedToService", "ecs-tasks.amazonaws.com"),))
    )
    assert not evaluate(
        [policy(passed)], Call("r", "iam:PassRole", "x", (("iam:PassedToService", "lambda.amazonaws.com"),))
    )


def test_an_unknown_condition_operator_is_refused_not_guessed():
    numeric = allow("s3:GetObject", "*", Condition={"NumericLessThan": {"s3:max-keys": "10"}})
    with pytest.raises(UnsupportedCondition, match="NumericLessThan"):
        evaluate([policy(numeric)], Call("r", "s3:GetObject", "arn:aws:s3:::a/b"))


# ---------------------------------------------------------------- requests as IAM sees them
def test_a_table_call_names_the_table_and_a_run_task_its_definition_cluster_and_passed_roles():
    (update,) = describe_request("dynamodb", "UpdateItem", {"TableName": "jobs"})
    assert (update.action, update.resource) == ("dynamodb:UpdateItem", TABLE)
    definition = f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:task-definition/render:1"
    run, pass_role = describe_request(
        "ecs", "RunTask", {"cluster": CLUSTER, "taskDefinition": definition}, task_definition_roles={definition: ["r1"]}
    )
    assert (run.action, run.resource, dict(run.context)) == ("ecs:RunTask", definition, {"ecs:cluster": CLUSTER})
    assert (pass_role.action, pass_role.resource) == ("iam:PassRole", "r1")
    assert dict(pass_role.context) == {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    (describe,) = describe_request("ecs", "DescribeTasks", {"cluster": CLUSTER, "tasks": ["abc"]})
    assert describe.resource == f"arn:aws:ecs:us-east-1:{ACCOUNT_ID}:task/render/abc"


def test_an_invoke_names_the_function_however_the_caller_wrote_it():
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:notify"
    for path in (
        "/2015-03-31/functions/notify/invocations",
        f"/2015-03-31/functions/{arn.replace(':', '%3A')}/invocations",
    ):
        (call,) = describe_request("lambda", "", {}, path)
        assert (call.action, call.resource) == ("lambda:InvokeFunction", arn)


# ---------------------------------------------------------------- template.yaml's roles
@pytest.fixture(scope="module")
def roles():
    network = {"vpc": "vpc-1", "subnet": "subnet-1", "security_group": "sg-1"}
    template = LocalTemplate(
        REPO / "template.yaml", local_parameters(["http://127.0.0.1:8000"], network, {"MaxUploadMB": 5})
    )
    return template_roles(template)


def test_every_component_has_the_role_the_template_gives_it(roles):
    by_component = {component: roles.roles[arn].logical_id for component, arn in roles.components.items()}
    assert by_component["ApiFunction"] == "ApiFunctionRole"
    assert by_component["ValidateFunction"] == "ValidateFunctionRole"
    assert by_component["NotifyFunction"] == "NotifyFunctionRole"
    assert by_component["ConvertStateMachine"] == "ConvertStateMachineRole"
    assert by_component["TaskDefinition.task"] == "TaskRole"
    assert by_component["TaskDefinition.execution"] == "TaskExecutionRole"
    (rule_role,) = [
        role for component, role in by_component.items() if component.startswith("ConvertStateMachineUploadCreated")
    ]
    assert rule_role == "ConvertStateMachineUploadCreatedRole"


def test_sam_policies_expand_as_samtranslator_expands_them(roles):
    api = roles.by_logical_id("ApiFunctionRole")
    names = [name for name, _ in api.policies]
    # SAM adds the Lambda basic execution role, and X-Ray's for Tracing: Active
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in names
    assert "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess" in names
    table = roles.by_logical_id("TaskRole")
    bucket_arn = "arn:aws:s3:::surroundyou-local-mediabucket"
    assert evaluate([d for _, d in table.policies], Call("", "s3:GetObject", f"{bucket_arn}/uploads/1/source.wav"))
    assert not evaluate([d for _, d in table.policies], Call("", "s3:GetObject", f"{bucket_arn}/processed/1/a.mp3"))


# ---------------------------------------------------------------- a presigned URL's signature
def test_a_presigned_url_is_accepted_only_as_signed_and_until_it_expires():
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlsplit

    from botocore.config import Config

    from surroundyou_local.upload_policy import UploadRefused, check_presigned_url

    secrets = {"ASIAROLE": "role-secret"}
    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:8000/s3",
        region_name="us-east-1",
        aws_access_key_id="ASIAROLE",
        aws_secret_access_key="role-secret",
        aws_session_token="token",
        config=Config(signature_version="s3v4"),
    )
    params = {"Bucket": "media", "Key": "processed/1/My Song.8d.mp3", "ResponseContentDisposition": "attachment"}
    url = urlsplit(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60))
    target = f"{url.path}?{url.query}"
    check_presigned_url("GET", target, url.netloc, secrets.get)
    for method, changed, code in [
        ("GET", target.replace("processed/1", "processed/2"), "SignatureDoesNotMatch"),
        ("PUT", target, "SignatureDoesNotMatch"),
        ("GET", target.replace("ASIAROLE", "ASIAOTHER"), "InvalidAccessKeyId"),
    ]:
        with pytest.raises(UploadRefused) as refused:
            check_presigned_url(method, changed, url.netloc, secrets.get)
        assert refused.value.code == code
    with pytest.raises(UploadRefused, match="expired"):
        check_presigned_url("GET", target, url.netloc, secrets.get, now=datetime.now(UTC) + timedelta(seconds=61))
