"""The batch resources of template.yaml (after the SAM transform): BatchConvert's state machine, its
function and table, and IAM scoped to exactly the library prefix, the batch reports and the two
tables."""

from __future__ import annotations

import re

from template_under_test import REPO
from test_template_resources import _as_list, _key, arn_of, grants, inline_statements, pairs, ref, statement_for, sub

BATCH_ASL = REPO / "statemachine" / "batch.asl.json"
LIBRARY_BUCKET_ARN = {
    "Fn::If": ["HasLibraryBucket", sub("arn:${AWS::Partition}:s3:::${LibraryBucket}"), arn_of("MediaBucket")]
}
LIBRARY_PREFIX_CONDITION = {"StringLike": {"s3:prefix": sub("${LibraryPrefix}*")}}
MACHINE_NAME = sub("${AWS::StackName}-batch")


def test_parameters_have_the_issue_defaults(sam_template):
    parameters = sam_template["Parameters"]
    assert parameters["LibraryBucket"]["Default"] == ""  # the media bucket
    assert parameters["LibraryPrefix"]["Default"] == "library/"
    assert parameters["LibraryOutputPrefix"]["Default"] == "library-8d/"
    assert parameters["BatchMaxConcurrency"]["Default"] == 100
    assert parameters["BatchToleratedFailurePercentage"]["Default"] == 25
    assert re.fullmatch(parameters["LibraryPrefix"]["AllowedPattern"], "music/masters/")
    assert not re.fullmatch(parameters["LibraryPrefix"]["AllowedPattern"], "library")  # a folder ends with "/"
    assert not re.fullmatch(parameters["LibraryPrefix"]["AllowedPattern"], "lib*/")


def test_batch_state_machine_is_standard_named_logged_and_traced(cfn_resources):
    machine = cfn_resources["BatchStateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD" and machine["StateMachineName"] == MACHINE_NAME
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"]["Destinations"] == [
        {"CloudWatchLogsLogGroup": {"LogGroupArn": arn_of("BatchStateMachineLogs")}}
    ]
    assert {"Key": "surroundyou:batches-table", "Value": ref("BatchesTable")} in machine["Tags"]
    assert {"Key": "surroundyou:reports-bucket", "Value": ref("MediaBucket")} in machine["Tags"]
    assert "Events" not in cfn_resources["BatchStateMachine"]  # only the owner starts a batch


def test_batch_substitutions_fill_exactly_the_asl_placeholders(cfn_resources):
    placeholders = set(re.findall(r"\$\{(\w+)\}", BATCH_ASL.read_text()))
    substitutions = cfn_resources["BatchStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert set(substitutions) == placeholders
    assert substitutions["BatchMaxConcurrency"] == ref("BatchMaxConcurrency")
    assert substitutions["BatchToleratedFailurePercentage"] == ref("BatchToleratedFailurePercentage")
    assert substitutions["LibraryBucketName"] == {
        "Fn::If": ["HasLibraryBucket", ref("LibraryBucket"), ref("MediaBucket")]
    }


def test_batch_machine_role_starts_and_watches_only_its_own_children(cfn_resources):
    role = cfn_resources["BatchStateMachineRole"]
    start = statement_for(role, "states:StartExecution")
    assert _as_list(start["Action"]) == ["states:StartExecution"]
    assert start["Resource"] == sub(
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-batch"
    )
    watch = statement_for(role, "states:DescribeExecution")
    assert set(_as_list(watch["Action"])) == {"states:DescribeExecution", "states:StopExecution"}
    assert watch["Resource"] == sub(
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-batch/*"
    )
    assert {a for a, _ in grants(role) if a.startswith("states:")} == {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
    }


def test_batch_machine_role_lists_only_the_library_prefix_and_writes_only_reports(cfn_resources):
    role = cfn_resources["BatchStateMachineRole"]
    listing = statement_for(role, "s3:ListBucket")
    assert _as_list(listing["Action"]) == ["s3:ListBucket"]
    assert listing["Resource"] == LIBRARY_BUCKET_ARN and listing["Condition"] == LIBRARY_PREFIX_CONDITION
    reports = sub("${MediaBucket.Arn}/batches/*")
    assert {(a, r) for a, r in grants(role) if a.startswith("s3:") and a != "s3:ListBucket"} == pairs(
        (["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], reports)
    )
    assert {(a, r) for a, r in grants(role) if a.startswith(("dynamodb:", "lambda:"))} == pairs(
        (["dynamodb:GetItem"], arn_of("JobsTable")),
        (["dynamodb:UpdateItem"], arn_of("BatchesTable")),
        (["lambda:InvokeFunction"], arn_of("BatchFunction")),
    )
    assert not [a for a, _ in grants(role) if a.endswith("*")]
    unscoped = {a for a, r in grants(role) if r == _key("*")}
    assert unscoped and all(a.startswith("logs:") for a in unscoped)  # vended log delivery only


def test_batch_function_copies_library_songs_to_uploads_and_records_jobs_and_batches(cfn_resources):
    role = cfn_resources["BatchFunctionRole"]
    library_objects = {
        "Fn::If": [
            "HasLibraryBucket",
            sub("arn:${AWS::Partition}:s3:::${LibraryBucket}/${LibraryPrefix}*"),
            sub("${MediaBucket.Arn}/${LibraryPrefix}*"),
        ]
    }
    listings = [s for s in inline_statements(role) if s["Action"] == "s3:ListBucket"]
    assert [listing["Resource"] for listing in listings] == [LIBRARY_BUCKET_ARN] * 2
    assert [listing["Condition"]["StringLike"]["s3:prefix"] for listing in listings] == [
        sub("${LibraryPrefix}*"),  # the songs
        sub("${LibraryOutputPrefix}*"),  # the names of their 8D versions (skipExisting), not the files
    ]
    delivered = {
        "Fn::If": [
            "HasLibraryBucket",
            sub("arn:${AWS::Partition}:s3:::${LibraryBucket}/${LibraryOutputPrefix}*"),
            sub("${MediaBucket.Arn}/${LibraryOutputPrefix}*"),
        ]
    }
    assert {(a, r) for a, r in grants(role) if a != "s3:ListBucket"} == pairs(
        (["s3:GetObject"], library_objects),
        (["s3:PutObject"], sub("${MediaBucket.Arn}/uploads/*")),
        (["s3:GetObject"], sub("${MediaBucket.Arn}/processed/*")),
        (["s3:PutObject"], delivered),
        (["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], arn_of("JobsTable")),
        (["dynamodb:PutItem", "dynamodb:UpdateItem"], arn_of("BatchesTable")),
    )
    variables = cfn_resources["BatchFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["LIBRARY_PREFIX"] == ref("LibraryPrefix") and variables["BATCHES_TABLE"] == ref("BatchesTable")


def test_batches_table_is_keyed_by_batch_id_encrypted_and_expires(cfn_resources):
    table = cfn_resources["BatchesTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "batchId", "KeyType": "HASH"}]
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_batch_reports_expire_with_the_other_media(cfn_resources):
    rules = cfn_resources["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (reports,) = [rule for rule in rules if rule.get("Prefix") == "batches/"]
    assert reports["ExpirationInDays"] == ref("RetentionDays")
    # the library and its 8D copies stay
    assert not [rule for rule in rules if str(rule.get("Prefix", "")).startswith("library")]


def test_outputs_name_the_batch_machine_and_table(cfn_template):
    outputs = cfn_template["Outputs"]
    assert outputs["BatchStateMachineArn"]["Value"] == ref("BatchStateMachine")
    assert outputs["BatchesTableName"]["Value"] == ref("BatchesTable")


def test_a_failed_batch_mails_the_alarm_topic(cfn_resources):
    alarm = cfn_resources["FailedBatchesAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": ref("BatchStateMachine")}]
    assert alarm["AlarmActions"] == [ref("AlarmTopic")] and alarm["Threshold"] == 1
