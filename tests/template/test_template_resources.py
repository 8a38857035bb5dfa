"""The SAM-translated template wires the pipeline as designed, with least-privilege IAM."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from template_under_test import ASL_PATH, REPO

from surroundyou_jobs.settings import Settings


def ref(name: str) -> dict:
    return {"Ref": name}


def arn_of(name: str) -> dict:
    return {"Fn::GetAtt": [name, "Arn"]}


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _key(value) -> str:
    return json.dumps(value, sort_keys=True)


def inline_statements(role: dict) -> list[dict]:
    return [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def grants(role: dict) -> set[tuple[str, str]]:
    """(action, resource) pairs the role's inline policies allow; resources as canonical JSON."""
    pairs = set()
    for statement in inline_statements(role):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                pairs.add((action, _key(resource)))
    return pairs


def pairs(*entries: tuple[list[str], object]) -> set[tuple[str, str]]:
    return {(action, _key(resource)) for actions, resource in entries for action in actions}


def statement_for(role: dict, action: str) -> dict:
    (statement,) = [s for s in inline_statements(role) if action in _as_list(s["Action"])]
    return statement


UPLOADS = sub("${MediaBucket.Arn}/uploads/*")
RESULTS = sub("${MediaBucket.Arn}/processed/*")
TABLE = arn_of("JobsTable")
LIMITS = arn_of("LimitsTable")


# ---------------------------------------------------------------- the upload event


def _upload_rule(cfn_resources) -> dict:
    return cfn_resources["ConvertStateMachineUploadCreated"]["Properties"]


def test_rule_matches_object_created_under_uploads_in_the_media_bucket(cfn_resources):
    assert _upload_rule(cfn_resources)["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [ref("MediaBucket")]}, "object": {"key": [{"prefix": "uploads/"}]}},
    }
    assert cfn_resources["MediaBucket"]["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_rule_starts_the_state_machine_with_retries_and_a_dead_letter_queue(cfn_resources):
    (target,) = _upload_rule(cfn_resources)["Targets"]
    assert target["Arn"] == ref("ConvertStateMachine")
    assert target["DeadLetterConfig"] == {"Arn": arn_of("UploadEventsDeadLetterQueue")}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 3
    assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400
    role = cfn_resources[target["RoleArn"]["Fn::GetAtt"][0]]
    assert grants(role) == pairs((["states:StartExecution"], ref("ConvertStateMachine")))


def test_an_ended_conversion_execution_reaches_notify(cfn_resources):
    """ABORTED, TIMED_OUT or FAILED executions of the conversion state machine, and no other
    machine's, reach the notify function, which EventBridge alone may invoke for them."""
    rule = cfn_resources["NotifyFunctionConvertExecutionEnded"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [ref("ConvertStateMachine")], "status": ["ABORTED", "TIMED_OUT", "FAILED"]},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == arn_of("NotifyFunction")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 3
    (permission,) = [
        resource["Properties"]
        for resource in cfn_resources.values()
        if resource["Type"] == "AWS::Lambda::Permission"
        and resource["Properties"].get("SourceArn") == arn_of("NotifyFunctionConvertExecutionEnded")
    ]
    assert (permission["Principal"], permission["FunctionName"]) == ("events.amazonaws.com", ref("NotifyFunction"))


def test_dead_letter_queue_is_encrypted_and_accepts_only_the_upload_rule(cfn_resources):
    queue = cfn_resources["UploadEventsDeadLetterQueue"]["Properties"]
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue
    policy = cfn_resources["UploadEventsDeadLetterQueuePolicy"]["Properties"]
    assert policy["Queues"] == [ref("UploadEventsDeadLetterQueue")]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == arn_of("UploadEventsDeadLetterQueue")
    rule_name = _upload_rule(cfn_resources)["Name"]["Fn::Sub"]
    source_arn = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert source_arn == "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/" + rule_name


# ---------------------------------------------------------------- the state machine


def test_state_machine_is_standard_logged_and_traced(cfn_resources):
    machine = cfn_resources["ConvertStateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    logging = machine["LoggingConfiguration"]
    assert logging["IncludeExecutionData"] is True
    assert logging["Destinations"] == [{"CloudWatchLogsLogGroup": {"LogGroupArn": arn_of("StateMachineLogs")}}]
    assert cfn_resources["StateMachineLogs"]["Properties"]["LogGroupName"]["Fn::Sub"].startswith(
        "/aws/vendedlogs/states/"
    )


def test_definition_substitutions_fill_exactly_the_asl_placeholders(cfn_resources):
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_PATH.read_text()))
    substitutions = cfn_resources["ConvertStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert set(substitutions) == placeholders
    contract_keys = {
        "ValidateFunctionArn",
        "NotifyFunctionArn",
        "ClusterArn",
        "TaskDefinitionArn",
        "ContainerName",
        "SubnetIds",
        "SecurityGroupIds",
        "AssignPublicIp",
    }
    assert contract_keys <= placeholders
    assert substitutions["TaskDefinitionArn"] == ref("TaskDefinition")
    # SubnetIds, SecurityGroupIds, AssignPublicIp: the stack's network or the parameters (test_template_network.py)
    assert (
        substitutions["ContainerName"]
        == (cfn_resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Name"])
    )


def test_state_machine_role_invokes_only_the_two_functions(cfn_resources):
    role = cfn_resources["ConvertStateMachineRole"]
    invokable = {r for a, r in grants(role) if a.startswith("lambda:")}
    assert invokable == {_key(arn_of("ValidateFunction")), _key(arn_of("NotifyFunction"))}
    assert {a for a, _ in grants(role) if a.startswith("lambda:")} == {"lambda:InvokeFunction"}


def test_state_machine_role_runs_only_the_render_task_definition_in_its_cluster(cfn_resources):
    role = cfn_resources["ConvertStateMachineRole"]
    run = statement_for(role, "ecs:RunTask")
    assert _as_list(run["Action"]) == ["ecs:RunTask"]
    assert _as_list(run["Resource"]) == [ref("TaskDefinition")]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": arn_of("Cluster")}}
    watch = statement_for(role, "ecs:DescribeTasks")
    assert set(_as_list(watch["Action"])) == {"ecs:DescribeTasks", "ecs:StopTask"}
    assert watch["Resource"] == sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${Cluster}/*")
    assert {a for a, _ in grants(role) if a.startswith("ecs:")} == {"ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks"}


def test_state_machine_role_passes_only_the_two_task_roles_to_ecs_tasks(cfn_resources):
    passrole = statement_for(cfn_resources["ConvertStateMachineRole"], "iam:PassRole")
    assert _as_list(passrole["Action"]) == ["iam:PassRole"]
    assert passrole["Resource"] == [arn_of("TaskRole"), arn_of("TaskExecutionRole")]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_state_machine_role_other_grants_are_the_sync_rule_logs_and_xray(cfn_resources):
    role = cfn_resources["ConvertStateMachineRole"]
    managed_rule = sub(
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForECSTaskRule"
    )
    assert {(a, r) for a, r in grants(role) if a.startswith("events:")} == pairs(
        (["events:PutTargets", "events:PutRule", "events:DescribeRule"], managed_rule)
    )
    unscoped = {a for a, r in grants(role) if r == _key("*")}
    assert unscoped == {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    assert role["Properties"]["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"]
    assert not [a for a, _ in grants(role) if a.endswith("*")]
    # the render semaphore, and no other table
    assert {(a, r) for a, r in grants(role) if a.startswith("dynamodb:")} == pairs((["dynamodb:UpdateItem"], LIMITS))


# ---------------------------------------------------------------- the render task


def test_task_role_reads_uploads_writes_results_and_updates_jobs_only(cfn_resources):
    role = cfn_resources["TaskRole"]
    assert grants(role) == pairs(
        (["s3:GetObject"], UPLOADS),
        (["s3:PutObject", "s3:AbortMultipartUpload"], RESULTS),
        (["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE),
    )
    assert "ManagedPolicyArns" not in role["Properties"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_execution_role_pulls_the_render_image_and_writes_its_logs_only(cfn_resources):
    assert grants(cfn_resources["TaskExecutionRole"]) == pairs(
        (["ecr:GetAuthorizationToken"], "*"),  # ECR offers no resource-level scope for the token
        (
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            arn_of("RenderImageRepository"),
        ),
        (["logs:CreateLogStream", "logs:PutLogEvents"], arn_of("RenderTaskLogs")),
    )


def test_task_definition_is_fargate_with_a_read_only_root_and_a_tmp_volume(cfn_resources):
    task = cfn_resources["TaskDefinition"]["Properties"]
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert (task["Cpu"], task["Memory"]) == (ref("TaskCpu"), ref("TaskMemory"))
    assert task["RuntimePlatform"] == {"CpuArchitecture": ref("TaskArchitecture"), "OperatingSystemFamily": "LINUX"}
    assert (task["TaskRoleArn"], task["ExecutionRoleArn"]) == (arn_of("TaskRole"), arn_of("TaskExecutionRole"))
    (container,) = task["ContainerDefinitions"]
    assert container["Memory"] == ref("TaskMemory")
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"SourceVolume": "scratch", "ContainerPath": "/tmp", "ReadOnly": False}]
    assert task["Volumes"] == [{"Name": "scratch"}]
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == ref("RenderTaskLogs")
    # the task reads its job (JOB_ID, from the state machine) from the table, in the bucket; on
    # Spot, where the state machine renders an interrupted job again, it leaves that job PROCESSING
    environment = {e["Name"]: e["Value"] for e in container["Environment"] if e["Name"] != "LOG_LEVEL"}
    assert environment == {
        "JOBS_TABLE": ref("JobsTable"),
        "BUCKET": ref("MediaBucket"),
        "RENDERS_RETRIED_WHEN_INTERRUPTED": {"Fn::If": ["RunOnSpot", "true", "false"]},
        "RENDER_DEADLINE_S": "3660",
    }
    # a task that hangs ends itself only after the render state's timeout has failed its job
    definition = json.loads(ASL_PATH.read_text())
    assert float(environment["RENDER_DEADLINE_S"]) > definition["States"]["RenderAudio"]["TimeoutSeconds"]
    assert Settings().render_deadline_s == float(environment["RENDER_DEADLINE_S"])  # the default is the template's


def test_cluster_has_container_insights_and_both_fargate_capacity_providers(cfn_resources, sam_template):
    cluster = cfn_resources["Cluster"]["Properties"]
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert sam_template["Conditions"]["RunOnSpot"] == {"Fn::Equals": [ref("UseFargateSpot"), "true"]}
    substitutions = cfn_resources["ConvertStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["CapacityProvider"] == {"Fn::If": ["RunOnSpot", "FARGATE_SPOT", "FARGATE"]}


# ---------------------------------------------------------------- the bucket


def test_bucket_blocks_public_access_encrypts_and_expires_objects(cfn_resources):
    bucket = cfn_resources["MediaBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    expiring = {r["Prefix"]: r["ExpirationInDays"] for r in rules.values() if "ExpirationInDays" in r}
    assert expiring == {
        "uploads/": ref("RetentionDays"),
        "processed/": ref("RetentionDays"),
        "batches/": ref("RetentionDays"),  # the batches' reports (test_template_batch.py)
    }
    assert rules["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert all(r["Status"] == "Enabled" for r in rules.values())


def test_bucket_policy_denies_every_request_without_tls(cfn_resources):
    (statement,) = cfn_resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Resource"] == [arn_of("MediaBucket"), sub("${MediaBucket.Arn}/*")]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cors_allows_only_the_configured_origins(cfn_template, sam_template):
    cfn_resources = cfn_template["Resources"]
    (cors,) = cfn_resources["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == ref("AllowedOrigins")
    assert set(cors["AllowedMethods"]) == {"POST", "GET"}
    api_cors = cfn_resources["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]
    assert api_cors["allowOrigins"] == ref("AllowedOrigins")
    assert set(api_cors["allowMethods"]) == {"GET", "POST", "OPTIONS"}
    origins = sam_template["Parameters"]["AllowedOrigins"]
    assert origins["Type"] == "CommaDelimitedList" and "Default" not in origins
    (assertion,) = cfn_template["Rules"]["ExplicitOrigins"]["Assertions"]  # CloudFormation refuses "*"
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Contains": [ref("AllowedOrigins"), "*"]}]}
    assert "*" not in json.dumps([cors["AllowedOrigins"], api_cors["allowOrigins"]])


# ---------------------------------------------------------------- API and functions


def test_http_api_routes_and_throttling(cfn_resources):
    paths = cfn_resources["HttpApi"]["Properties"]["Body"]["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert routes == {("POST", "/jobs"), ("GET", "/jobs/{jobId}"), ("GET", "/config"), ("GET", "/presets")}
    for methods in paths.values():
        for operation in methods.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["payloadFormatVersion"] == "2.0"
            assert "ApiFunction.Arn" in json.dumps(integration["uri"])
    throttling = cfn_resources["HttpApiApiGatewayDefaultStage"]["Properties"]["DefaultRouteSettings"]
    assert throttling["ThrottlingRateLimit"] > 0 and throttling["ThrottlingBurstLimit"] > 0


@pytest.mark.parametrize(
    "function, expected",
    [
        (
            "ApiFunction",
            [
                (["dynamodb:PutItem", "dynamodb:GetItem"], TABLE),
                (["s3:PutObject"], UPLOADS),
                (["s3:GetObject"], RESULTS),
                (["dynamodb:GetItem", "dynamodb:UpdateItem"], LIMITS),  # per-client counters
            ],
        ),
        # the limits table to count a job whose song arrived for its render
        (
            "ValidateFunction",
            [
                (["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE),
                (["s3:GetObject"], UPLOADS),
                (["dynamodb:UpdateItem"], LIMITS),
            ],
        ),
        # no S3 (the task wrote the result); the limits table to free the client's place
        ("NotifyFunction", [(["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE), (["dynamodb:UpdateItem"], LIMITS)]),
    ],
)
def test_function_roles_are_least_privilege(cfn_resources, function, expected):
    role = cfn_resources[f"{function}Role"]
    assert grants(role) == pairs(*expected)
    assert sorted(role["Properties"]["ManagedPolicyArns"]) == [
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]


@pytest.mark.parametrize(
    "function, code",
    [
        ("ApiFunction", "functions/api"),
        ("ValidateFunction", "functions/validate"),
        ("NotifyFunction", "functions/notify"),
    ],
)
def test_functions_share_runtime_tracing_layer_and_settings(cfn_resources, sam_template, function, code):
    assert sam_template["Resources"][function]["Properties"]["CodeUri"] == code
    properties = cfn_resources[function]["Properties"]
    assert (properties["Runtime"], properties["Handler"]) == ("python3.12", "app.lambda_handler")
    assert properties["TracingConfig"] == {"Mode": "Active"}
    (layer,) = properties["Layers"]
    assert cfn_resources[layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"
    environment = properties["Environment"]["Variables"]
    assert set(environment) >= {
        "JOBS_TABLE",
        "BUCKET",
        "MAX_UPLOAD_BYTES",
        "MAX_DURATION_S",
        "UPLOAD_URL_EXPIRES_S",
        "DOWNLOAD_URL_EXPIRES_S",
        "JOB_TTL_DAYS",
        "ALLOWED_ORIGINS",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    assert (environment["POWERTOOLS_SERVICE_NAME"], environment["POWERTOOLS_METRICS_NAMESPACE"]) == (
        "surroundyou",
        "SurroundYou",
    )
    assert (environment["JOBS_TABLE"], environment["BUCKET"]) == (ref("JobsTable"), ref("MediaBucket"))


def test_shared_job_code_is_one_layer_built_with_python312(sam_template):
    layer = sam_template["Resources"]["JobsLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "functions/shared"
    assert layer["Metadata"]["BuildMethod"] == "python3.12"


def test_duration_limit_maps_every_allowed_minute_value_to_seconds(sam_template):
    allowed = sam_template["Parameters"]["MaxDurationMinutes"]["AllowedValues"]
    mapping = sam_template["Mappings"]["DurationLimit"]
    assert {m: mapping[m]["Seconds"] for m in allowed} == {m: int(m) * 60 for m in allowed}


# ---------------------------------------------------------------- table, alarms, outputs


def test_jobs_table_is_on_demand_with_ttl_pitr_and_encryption(cfn_resources):
    table = cfn_resources["JobsTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "jobId", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_limits_table_is_on_demand_with_ttl_and_the_limits_are_parameters(cfn_resources, sam_template):
    table = cfn_resources["LimitsTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "key", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    parameters = sam_template["Parameters"]
    defaults = {
        name: parameters[name]["Default"]
        for name in ("JobsPerHourPerClient", "OpenJobsPerClient", "MaxConcurrentRenders")
    }
    assert defaults == {"JobsPerHourPerClient": 30, "OpenJobsPerClient": 3, "MaxConcurrentRenders": 50}
    environment = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    assert (environment["JOBS_PER_HOUR_PER_CLIENT"], environment["OPEN_JOBS_PER_CLIENT"]) == (
        ref("JobsPerHourPerClient"),
        ref("OpenJobsPerClient"),
    )
    substitutions = cfn_resources["ConvertStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["MaxConcurrentRenders"] == ref("MaxConcurrentRenders")


def test_an_alarm_watches_clients_hitting_their_limits(cfn_resources):
    alarm = cfn_resources["ClientLimitAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("SurroundYou", "ClientLimitHit")  # the API's metric
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "surroundyou"}]  # Powertools' service dimension


def test_alarms_watch_failed_executions_and_the_dead_letter_queue(cfn_resources):
    failed = cfn_resources["FailedExecutionsAlarm"]["Properties"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": ref("ConvertStateMachine")}]
    dead = cfn_resources["DeadLetterAlarm"]["Properties"]
    assert (dead["Namespace"], dead["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["UploadEventsDeadLetterQueue", "QueueName"]}}
    ]
    assert (dead["ComparisonOperator"], dead["Threshold"]) == ("GreaterThanThreshold", 0)
    for alarm in (failed, dead):
        assert alarm["AlarmActions"] == [ref("AlarmTopic")]
    assert cfn_resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == ref("AlarmTopicKey")
    assert cfn_resources["AlarmTopicKey"]["Properties"]["EnableKeyRotation"] is True
    assert cfn_resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_outputs(cfn_template):
    assert set(cfn_template["Outputs"]) >= {
        "ApiUrl",
        "BucketName",
        "StateMachineArn",
        "JobsTableName",
        "ClusterName",
        "TaskDefinitionArn",
    }


def test_every_checkov_suppression_says_why(sam_template):
    skips = [
        (name, skip)
        for name, resource in sam_template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
        assert len(skip.get("comment", "")) > 20, f"{name} {skip['id']} needs a reason"


# ---------------------------------------------------------------- samconfig.toml


def test_samconfig_has_dev_default_and_prod_environments(sam_template):
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    stacks = {env: config[env]["global"]["parameters"]["stack_name"] for env in ("default", "prod")}
    assert len(set(stacks.values())) == 2
    for env in ("default", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["resolve_s3"] is True
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        overrides = dict(re.findall(r'(\w+)="([^"]*)"', deploy["parameter_overrides"]))
        assert set(overrides) <= set(sam_template["Parameters"])
        assert "*" not in overrides["AllowedOrigins"].split(",")
        assert overrides["Environment"] == {"default": "dev", "prod": "prod"}[env]
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
