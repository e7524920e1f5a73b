"""Offline checks of template.yaml (the AWS SAM deployment of cflog).

Each test pins down a property that, if edited away, silently breaks CloudFront
log delivery or opens access that should stay closed. Linters accept all of
these mistakes; these tests do not.

Run with the tools venv: scripts/check-template, or
    .venv-tools/bin/pytest tests/template
CFLOG_TEMPLATE=path/to/copy.yaml points the tests at another template (used to
check that they fail on a broken one). scripts/check-template uses `resolved`
below to give checkov the template as deployed, so keep it importable.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import pytest
from cfn_tools import load_yaml  # cfn-flip: understands !Ref, !Sub, !GetAtt, !If ...

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = Path(os.environ.get("CFLOG_TEMPLATE", REPO / "template.yaml"))
SAMCONFIG = REPO / "samconfig.toml"
README = REPO / "README.md"

FUNCTION = "CflogFunction"
BUCKET = "LogBucket"
ROLE = "CflogFunctionRole"
QUEUE = "DeadLetterQueue"
LOG_GROUP = "FunctionLogGroup"
MAPPING = "RealtimeLogEventSourceMapping"
ESM = "AWS::Lambda::EventSourceMapping"
# Trigger=sqs, and S3 Batch Operations.
TRIGGER_QUEUE = "TriggerQueue"
TRIGGER_DLQ = "TriggerDeadLetterQueue"
TRIGGER_POLICY = "TriggerQueuePolicy"
TRIGGER_MAPPING = "TriggerEventSourceMapping"
PERMISSION = "S3InvokePermission"
READY = "NotificationDestinationReady"
BATCH_ROLE = "BatchOperationsRole"
WITH_SQS = {"Trigger": "sqs"}
# Destination=s3: the output bucket, its Glue table and the Athena workgroup.
OUTPUT_BUCKET = "OutputBucket"
OUTPUT_BUCKET_POLICY = "OutputBucketPolicy"
DATABASE = "OutputDatabase"
TABLE = "OutputTable"
WORKGROUP = "AthenaWorkGroup"
WITH_S3 = {"Destination": "s3"}
# The other way to deploy: the entries printed to CloudWatch Logs, and no
# output bucket, table or workgroup.
WITH_CLOUDWATCH = {"Destination": "cloudwatch"}
# What the function needs to upload objects (PutObject also authorizes
# CreateMultipartUpload, UploadPart and CompleteMultipartUpload) and to abort
# an upload that failed, and nothing more.
OUTPUT_WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"]
# What `ColumnSet::standard().render_glue_columns()` prints; a test of
# cflog-parquet (crates/cflog-parquet/tests/glue_template.rs) holds the two
# together, this file holds template.yaml to it.
GLUE_COLUMNS = Path(__file__).resolve().parent / "glue_columns.json"
# The same with CFLOG_ENRICH=ua (crates/cflog-lambda/tests/enrich_template.rs
# checks it against the function's contract).
GLUE_COLUMNS_UA = Path(__file__).resolve().parent / "glue_columns_ua.json"
# The metrics the function writes (crates/cflog-lambda/src/metrics.rs): a test
# of cflog-lambda (crates/cflog-lambda/tests/metrics_template.rs) holds this
# file to them, and the alarms' tests here hold template.yaml to it.
METRICS_FILE = Path(__file__).resolve().parent / "metrics.json"
ALARM = "AWS::CloudWatch::Alarm"
FAILED_ALARM = "FailedObjectsAlarm"
SHARE_ALARM = "RejectedShareAlarm"
BATCHES_ALARM = "FailedBatchesAlarm"
RETRIES_ALARM = "OutputRetriesAlarm"
# Every alarm, with the condition it exists under: each holds HasAlarmTopic.
ALARM_CONDITIONS = {
    FAILED_ALARM: "HasAlarmTopic",
    SHARE_ALARM: "HasAlarmTopic",
    BATCHES_ALARM: "HasRealtimeAlarms",
    RETRIES_ALARM: "HasStreamDestinationAlarms",
}
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:cflog-alarms"
WITH_ALARMS = {"AlarmTopicArn": TOPIC_ARN}
# What the SQS event source mapping polls the queue with, and nothing more.
SQS_READ_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]

# Parameter values for a stack that reads a real-time log stream.
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/cloudfront-realtime-logs"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WITH_STREAM = {
    "RealtimeLogStreamArn": STREAM_ARN,
    "RealtimeLogFields": "timestamp,c-ip,sc-status,cs-uri-stem,time-to-first-byte",
}
# The stream destinations (Destination=firehose, kinesis or sqs): streams
# of the user's, written to; another key than the real-time stream's.
FIREHOSE_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/cflog-entries"
KINESIS_OUTPUT_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/cflog-entries"
SQS_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:cflog-entries"
DESTINATION_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09ba-43dc-65fe-0987654321ba"
# Every value of Destination, and the condition that holds with it alone
# (and, for a stream destination, its ARN).
DESTINATION_CONDITIONS = {
    "cloudwatch": "UseCloudWatchDestination",
    "s3": "UseS3Destination",
    "firehose": "UseFirehoseDestination",
    "kinesis": "UseKinesisDestination",
    "sqs": "UseSqsDestination",
}
# CFLOG_SINK's values, as the function reads them.
SINKS = ["stdout", "none", "s3", "firehose", "kinesis", "sqs"]


class StreamDestination(NamedTuple):
    """A stream destination as the stack sets it up."""

    arn_parameter: str  # the parameter that names the stream or queue
    arn: str  # a value for it
    variables: list[str]  # the function's variables it sets, beside CFLOG_SINK
    policy: str  # the role's policy that exists with it alone
    action: str  # the one action of that policy on the stream or queue
    kms_actions: list[str]  # on DestinationKmsKeyArn, when it is given
    output: str  # the stack output that names it


STREAM_DESTINATIONS = {
    "firehose": StreamDestination(
        "FirehoseDeliveryStreamArn",
        FIREHOSE_ARN,
        ["CFLOG_FIREHOSE_STREAM"],
        "cflog-firehose-destination",
        "firehose:PutRecordBatch",
        # Firehose encrypts with a grant of its own (see the template).
        [],
        "FirehoseDeliveryStreamArn",
    ),
    "kinesis": StreamDestination(
        "KinesisOutputStreamArn",
        KINESIS_OUTPUT_ARN,
        ["CFLOG_KINESIS_STREAM", "CFLOG_KINESIS_PARTITION_KEY", "CFLOG_KINESIS_PACKING"],
        "cflog-kinesis-destination",
        "kinesis:PutRecords",
        ["kms:GenerateDataKey"],
        "KinesisOutputStreamArn",
    ),
    "sqs": StreamDestination(
        "SqsQueueArn",
        SQS_QUEUE_ARN,
        ["CFLOG_SQS_QUEUE_URL"],
        "cflog-sqs-destination",
        # Also authorizes SendMessageBatch.
        "sqs:SendMessage",
        ["kms:GenerateDataKey", "kms:Decrypt"],
        "DestinationQueueUrl",
    ),
}


def with_destination(name: str, **more: str) -> dict[str, str]:
    """Parameter values of a stack writing to stream destination `name`."""
    return {"Destination": name, STREAM_DESTINATIONS[name].arn_parameter: STREAM_DESTINATIONS[name].arn, **more}


# What the event source mapping needs on the stream (Lambda checks these when
# it creates the mapping), and nothing more.
KINESIS_READ_ACTIONS = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:ListStreams",
]


# ---------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    """cfn-flip's ODict/list subclasses -> plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def template() -> dict:
    return _plain(load_yaml(TEMPLATE.read_text()))


def resource(template: dict, name: str, type_: str) -> dict:
    res = template["Resources"].get(name)
    assert res is not None, f"resource {name} is missing"
    assert res["Type"] == type_, f"{name} should be {type_}, is {res['Type']}"
    return res


def props(template: dict, name: str, type_: str) -> dict:
    return resource(template, name, type_).get("Properties", {})


def param(template: dict, name: str) -> dict:
    p = template.get("Parameters", {}).get(name)
    assert p is not None, f"parameter {name} is missing"
    return p


def ref(name: str) -> dict:
    return {"Ref": name}


def getatt(name: str, attr: str) -> dict:
    return {"Fn::GetAtt": [name, attr]}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def if_branches(value: Any) -> list:
    """All values an Fn::If may take (AWS::NoValue dropped); else [value]."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, yes, no = value["Fn::If"]
        return [b for branch in (yes, no) for b in if_branches(branch)]
    if value == ref("AWS::NoValue"):
        return []
    return [value]


def statements(policy_document: dict) -> list[dict]:
    """Statements of a policy document, conditional ones included."""
    out = []
    for st in as_list(policy_document["Statement"]):
        out.extend(if_branches(st))
    return out


def mentions(value: Any, name: str) -> bool:
    """True if value refers to resource `name` by Ref, GetAtt, Sub or DependsOn."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and v == name:
                return True
            if k == "Fn::GetAtt" and (v[0] if isinstance(v, list) else v.split(".")[0]) == name:
                return True
            if k == "Fn::Sub":
                text = v if isinstance(v, str) else v[0]
                if re.search(r"\$\{" + re.escape(name) + r"(\.[^}]*)?\}", text):
                    return True
            if mentions(v, name):
                return True
        return False
    if isinstance(value, list):
        return any(mentions(v, name) for v in value)
    return False


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def bucket_name_expression(template: dict) -> Any:
    return props(template, BUCKET, "AWS::S3::Bucket")["BucketName"]


def evaluate(expr: Any, template: dict, values: dict[str, str]) -> Any:
    """A condition or rule expression (Fn::Equals/Not/And/Or, Condition, Ref
    to a parameter) for the given parameter values; literals as they are."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((fn, arg),) = expr.items()
        if fn == "Ref":
            return values[arg]
        if fn == "Condition":
            return evaluate(template["Conditions"][arg], template, values)
        if fn == "Fn::Equals":
            a, b = (str(evaluate(x, template, values)) for x in arg)
            return a == b
        if fn == "Fn::Not":
            (x,) = arg
            return not evaluate(x, template, values)
        if fn == "Fn::And":
            return all(evaluate(x, template, values) for x in arg)
        if fn == "Fn::Or":
            return any(evaluate(x, template, values) for x in arg)
        # As CloudFormation: an index out of range is an error.
        if fn == "Fn::Select":
            index, items = arg
            return evaluate(items, template, values)[int(index)]
        if fn == "Fn::Split":
            separator, text = arg
            return str(evaluate(text, template, values)).split(separator)
        if fn == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: str(values[m.group(1)]), arg)
        raise AssertionError(f"cannot evaluate {fn} here")
    return expr


def refusing_rules(template: dict, overrides: dict[str, str] | None = None) -> set[str]:
    """The rules that refuse a stack with these parameter values: their
    RuleCondition holds and one of their assertions does not."""
    values = parameter_values(template, overrides)
    return {
        name
        for name, rule in template.get("Rules", {}).items()
        if evaluate(rule.get("RuleCondition", True), template, values)
        and not all(evaluate(a["Assert"], template, values) for a in rule["Assertions"])
    }


def parameter_values(template: dict, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every parameter's value as CloudFormation sees it (a string): the
    default, or the override as `sam deploy --parameter-overrides` gives it."""
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    for name, value in (overrides or {}).items():
        assert name in values, f"no parameter {name}"
        values[name] = value
    return values


_NO_VALUE = object()


def resolved(template: dict, overrides: dict[str, str] | None = None) -> dict:
    """The template as deployed with these parameter values: resources and
    outputs whose Condition is false dropped, every Fn::If replaced by its
    branch, AWS::NoValue removed. Refs and other functions stay as they are."""
    values = parameter_values(template, overrides)
    conditions = {name: evaluate(c, template, values) for name, c in template.get("Conditions", {}).items()}

    def strip(value: Any) -> Any:
        if value == ref("AWS::NoValue"):
            return _NO_VALUE
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                cond, yes, no = value["Fn::If"]
                return strip(yes if conditions[cond] else no)
            out = {k: strip(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not _NO_VALUE}
        if isinstance(value, list):
            return [v for v in (strip(v) for v in value) if v is not _NO_VALUE]
        return value

    out = copy.deepcopy(template)
    for section in ("Resources", "Outputs"):
        out[section] = {
            name: strip(body)
            for name, body in template.get(section, {}).items()
            if "Condition" not in body or conditions[body["Condition"]]
        }
    return out


def value_of(expr: Any, values: dict[str, str], pseudo: dict[str, str] | None = None) -> Any:
    """A string expression (Ref, Fn::Sub with variables, Fn::Select,
    Fn::Split) as CloudFormation computes it from these parameter values and
    pseudo parameters. A Select out of range raises, as it fails a stack."""
    pseudo = pseudo or {}
    if isinstance(expr, str):
        return expr
    ((fn, arg),) = expr.items()
    if fn == "Ref":
        return pseudo[arg] if arg in pseudo else values[arg]
    if fn == "Fn::Split":
        sep, source = arg
        return value_of(source, values, pseudo).split(sep)
    if fn == "Fn::Select":
        index, items = arg
        return value_of(items, values, pseudo)[int(index)]
    if fn == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        scope = {name: value_of(v, values, pseudo) for name, v in variables.items()}

        def one(m: re.Match) -> str:
            name = m.group(1)
            return scope[name] if name in scope else value_of(ref(name), values, pseudo)

        return re.sub(r"\$\{([^!}][^}]*)\}", one, text)
    raise AssertionError(f"cannot compute {fn} here")


def translate(monkeypatch, overrides: dict[str, str] | None = None) -> dict:
    """The real SAM transform of the template, with `overrides` as the
    parameters' defaults (so cfn-lint, run on the result, sees them too)."""
    samtranslator = pytest.importorskip("samtranslator.translator.transform")
    from samtranslator.yaml_helper import yaml_parse

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sam = yaml_parse(TEMPLATE.read_text())
    # The transform wants code in S3; sam build/package does that for real.
    sam["Resources"][FUNCTION]["Properties"]["CodeUri"] = "s3://example-bucket/cflog.zip"
    for name, value in (overrides or {}).items():
        sam["Parameters"][name]["Default"] = value

    class NoManagedPolicies:
        def load(self):
            return {}

    return samtranslator.transform(sam, {}, NoManagedPolicies())


def lint_errors(cfn: dict) -> tuple[list[str], list[str]]:
    """cfn-lint's circular dependency findings (E3004) and all its errors."""
    from cfnlint.api import lint

    matches = lint(json.dumps(cfn))
    cycles = [str(m) for m in matches if m.rule.id == "E3004"]
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    return cycles, errors


# ---------------------------------------------------------------- the function


def test_is_a_sam_template(template):
    assert template["Transform"] == "AWS::Serverless-2016-10-31"


def test_function_builds_with_cargo_lambda(template):
    fn = resource(template, FUNCTION, "AWS::Serverless::Function")
    meta = fn.get("Metadata", {})
    assert meta.get("BuildMethod") == "rust-cargolambda"
    # The binary target of crates/cflog-lambda; sam build passes it as --bin.
    assert meta.get("BuildProperties", {}).get("Binary") == "cflog-lambda"
    p = fn["Properties"]
    assert p["Runtime"] == "provided.al2023"
    assert p["Handler"] == "bootstrap"
    # SAM's cargo-lambda builder runs in CodeUri and needs a Cargo.toml there:
    # the workspace root, whose members include the lambda crate.
    assert p["CodeUri"] == "."
    workspace = tomllib.loads((REPO / "Cargo.toml").read_text())
    assert "workspace" in workspace, "CodeUri must be the workspace root"
    assert any(m.startswith("crates/") for m in workspace["workspace"]["members"])


def test_architecture_parameter_defaults_to_arm64(template):
    arch = param(template, "Architecture")
    assert arch["Default"] == "arm64"
    assert sorted(arch["AllowedValues"]) == ["arm64", "x86_64"]
    p = props(template, FUNCTION, "AWS::Serverless::Function")
    assert p["Architectures"] == [ref("Architecture")]


def test_release_profile_keeps_unwinding():
    # lambda_runtime turns handler panics into invocation errors with
    # catch_unwind; panic = "abort" would kill the runtime instead. cargo-lambda
    # does not override panic, so the workspace setting is what ships.
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    release = cargo.get("profile", {}).get("release", {})
    assert release.get("panic", "unwind") == "unwind"


def test_sizing_parameters_have_sensible_defaults(template):
    p = props(template, FUNCTION, "AWS::Serverless::Function")
    assert p["MemorySize"] == ref("MemorySize")
    assert p["Timeout"] == ref("Timeout")
    memory = param(template, "MemorySize")
    assert memory["Type"] == "Number" and memory["Default"] == 512
    timeout = param(template, "Timeout")
    assert timeout["Type"] == "Number"
    # A large log file must finish well inside the timeout, and Lambda caps it at 900.
    assert 120 <= timeout["Default"] <= 900
    assert timeout["MaxValue"] <= 900


def test_reserved_concurrency_default_never_throttles(template):
    # ReservedConcurrentExecutions: 0 would throttle every event. The parameter's
    # default 0 must mean "no reservation" (AWS::NoValue).
    rc = param(template, "ReservedConcurrency")
    assert rc["Type"] == "Number" and rc["Default"] == 0
    cond = template["Conditions"]["HasReservedConcurrency"]
    assert cond == {"Fn::Not": [{"Fn::Equals": [ref("ReservedConcurrency"), "0"]}]}
    p = props(template, FUNCTION, "AWS::Serverless::Function")
    assert p["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", ref("ReservedConcurrency"), ref("AWS::NoValue")]
    }


def test_environment_carries_cflog_settings(template):
    env = props(template, FUNCTION, "AWS::Serverless::Function")["Environment"]["Variables"]
    expected = {
        "CFLOG_FIELDS": ("Fields", ""),
        "CFLOG_MAX_LINE_BYTES": ("MaxLineBytes", 65536),
        "CFLOG_CONCURRENCY": ("ObjectConcurrency", 4),
        "CFLOG_DELIMITER": ("Delimiter", ""),
        "CFLOG_FIELDS_HEADER": ("FieldsHeader", ""),
        "CFLOG_INPUT_FORMAT": ("InputFormat", "auto"),
        # Always set; unused (and empty) without a real-time log stream.
        "CFLOG_REALTIME_FIELDS": ("RealtimeLogFields", ""),
        "CFLOG_REALTIME_REJECTS": ("RealtimeRejects", "report"),
        # The function never reads manifests or completion reports.
        "CFLOG_IGNORE_PREFIX": ("BackfillPrefix", "cflog-backfill/"),
        # What the alarms watch (test_alarms_watch_what_the_function_writes).
        "CFLOG_METRICS": ("Metrics", "on"),
        "CFLOG_METRICS_NAMESPACE": ("MetricsNamespace", "cflog"),
        "RUST_LOG": ("LogLevel", "info"),
        # Used with Rollup=on only (test_rollup_parameters_and_condition).
        "CFLOG_ROLLUP_WINDOW_HOURS": ("RollupWindowHours", 48),
        # Who visits (test_enrichment_parameters_and_environment).
        "CFLOG_ENRICH": ("Enrich", ""),
        "CFLOG_GEOIP_DB": ("GeoIpDb", ""),
        "CFLOG_IP_HMAC_KEY_SECRET": ("IpHmacKeySecretArn", ""),
        "CFLOG_DROP_FIELDS": ("DropFields", ""),
        "CFLOG_DROP_QUERY_PARAMS": ("DropQueryParams", ""),
    }
    for var, (name, default) in expected.items():
        assert env.get(var) == ref(name), f"{var} should come from parameter {name}"
        assert param(template, name)["Default"] == default, f"default of {name}"
    # The sink and its settings follow Destination (test_environment_follows_the_destination,
    # test_stream_destination_environment).
    destination = {
        "CFLOG_SINK",
        "CFLOG_OUTPUT_FORMAT",
        "CFLOG_OUTPUT_BUCKET",
        "CFLOG_OUTPUT_PREFIX",
        "CFLOG_FIREHOSE_STREAM",
        "CFLOG_KINESIS_STREAM",
        "CFLOG_KINESIS_PARTITION_KEY",
        "CFLOG_KINESIS_PACKING",
        "CFLOG_SQS_QUEUE_URL",
    }
    for var in destination:
        assert env[var]["Fn::If"][0] in DESTINATION_CONDITIONS.values(), var
    # On with the rollup's condition only (Destination=s3, parquet, Rollup=on).
    assert env["CFLOG_ROLLUP"] == {"Fn::If": ["UseRollup", "on", "off"]}
    assert param(template, "Sink")["Default"] == "stdout"
    assert param(template, "OutputFormat")["Default"] == "ndjson"
    assert sorted(param(template, "Sink")["AllowedValues"]) == ["none", "stdout"]
    assert sorted(param(template, "OutputFormat")["AllowedValues"]) == ["csv", "ndjson", "tsv"]
    # The function reads exactly these two words.
    assert sorted(param(template, "RealtimeRejects")["AllowedValues"]) == ["report", "retry"]
    assert sorted(param(template, "InputFormat")["AllowedValues"]) == ["auto", "json", "w3c"]
    assert set(env) == set(expected) | destination | {"CFLOG_ROLLUP", "CFLOG_IP_PRIVACY"}, (
        "unexpected environment variables"
    )


# ---------------------------------------------------------------- the bucket


def test_bucket_ownership_allows_acls_for_cloudfront(template):
    # Legacy CloudFront logging writes through ACLs; BucketOwnerEnforced
    # disables them and delivery fails.
    p = props(template, BUCKET, "AWS::S3::Bucket")
    assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    assert "BucketOwnerEnforced" not in json.dumps(template["Resources"][BUCKET])
    # Only the output bucket, which CloudFront never writes to, disables ACLs.
    enforced = [name for name, r in template["Resources"].items() if "BucketOwnerEnforced" in json.dumps(r)]
    assert enforced == [OUTPUT_BUCKET]


def test_bucket_blocks_all_public_access(template):
    pab = props(template, BUCKET, "AWS::S3::Bucket")["PublicAccessBlockConfiguration"]
    for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert pab.get(key) is True, f"{key} must be true"
    assert "AccessControl" not in props(template, BUCKET, "AWS::S3::Bucket")


def test_bucket_default_encryption_is_sse_s3(template):
    rules = props(template, BUCKET, "AWS::S3::Bucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert len(rules) == 1
    default = rules[0]["ServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "AES256"}


def test_bucket_policy_denies_non_tls(template):
    policies = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == ref(BUCKET)
    ]
    assert len(policies) == 1, "exactly one bucket policy on the log bucket"
    deny = [s for s in as_list(policies[0]["PolicyDocument"]["Statement"]) if s.get("Effect") == "Deny"]
    assert deny, "no Deny statement"
    tls = [
        s
        for s in deny
        if str(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
    ]
    assert len(tls) == 1, "a Deny on aws:SecureTransport=false is required"
    st = tls[0]
    assert st["Principal"] in ("*", {"AWS": "*"})
    assert "s3:*" in as_list(st["Action"])
    resources = as_list(st["Resource"])
    assert getatt(BUCKET, "Arn") in resources
    assert {"Fn::Sub": "${LogBucket.Arn}/*"} in resources


def test_bucket_policy_allows_only_v2_log_delivery_and_only_if_asked(template):
    doc = props(template, "LogBucketPolicy", "AWS::S3::BucketPolicy")["PolicyDocument"]
    for st in as_list(doc["Statement"]):
        if isinstance(st, dict) and "Fn::If" in st:
            cond, yes, no = st["Fn::If"]
            assert cond == "AllowLogDeliveryV2Enabled" and no == ref("AWS::NoValue")
            assert yes["Effect"] == "Allow"
            assert yes["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
            assert yes["Condition"]["StringEquals"]["aws:SourceAccount"] == ref("AWS::AccountId")
        else:
            assert st["Effect"] == "Deny", "unconditional Allow in the bucket policy"
    assert param(template, "AllowLogDeliveryV2")["Default"] == "false"


def test_lifecycle_expires_raw_logs(template):
    rules = props(template, BUCKET, "AWS::S3::Bucket")["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if r.get("Status") == "Enabled" and "ExpirationInDays" in r]
    assert len(expiring) == 1
    assert expiring[0]["ExpirationInDays"] == ref("RawLogExpirationDays")
    assert "Prefix" not in expiring[0] and "Filter" not in expiring[0], "must cover every object"
    days = param(template, "RawLogExpirationDays")
    assert days["Type"] == "Number" and days["MinValue"] >= 1 and days["Default"] >= 1


def test_bucket_name_is_optional_and_generated(template):
    assert param(template, "LogBucketName")["Default"] == ""
    assert template["Conditions"]["GenerateLogBucketName"] == {"Fn::Equals": [ref("LogBucketName"), ""]}
    name = bucket_name_expression(template)
    cond, generated, given = name["Fn::If"]
    assert cond == "GenerateLogBucketName"
    assert given == ref("LogBucketName")
    # Generated names must not contain the stack name: it may have upper case,
    # which bucket names forbid.
    assert not mentions(generated, "AWS::StackName")
    assert "AWS::StackName" not in json.dumps(generated)


# ---------------------------------------------------------------- events


def notification(template: dict, overrides: dict[str, str] | None = None) -> dict:
    """The log bucket's NotificationConfiguration as deployed with these values."""
    return resolved(template, overrides)["Resources"][BUCKET]["Properties"]["NotificationConfiguration"]


@pytest.mark.parametrize(
    "overrides, kind, target",
    [
        ({}, "LambdaConfigurations", ("Function", getatt(FUNCTION, "Arn"))),
        (WITH_SQS, "QueueConfigurations", ("Queue", getatt(TRIGGER_QUEUE, "Arn"))),
    ],
    ids=["s3", "sqs"],
)
def test_new_gz_and_parquet_objects_notify_the_trigger_with_optional_prefix(template, overrides, kind, target):
    config = notification(template, overrides)
    # One destination, never both: the function would read every file twice.
    assert list(config) == [kind]
    # One rule per suffix (a filter has one): gzip text, and v2's Parquet.
    events = config[kind]
    assert len(events) == 2
    for ev in events:
        assert ev["Event"] == "s3:ObjectCreated:*"
        assert ev[target[0]] == target[1]
    # The unresolved filters, both branches of each.
    raw = props(template, BUCKET, "AWS::S3::Bucket")["NotificationConfiguration"]
    cond, sqs, s3 = raw["Fn::If"]
    assert cond == "UseSqsTrigger"
    suffixes = []
    for raw_ev in (sqs if overrides else s3)[kind]:
        rules = raw_ev["Filter"]["S3Key"]["Rules"]
        assert rules["Fn::If"][0] == "HasLogKeyPrefix"
        rule_sets = if_branches(rules)
        assert rule_sets, "no key filter"
        suffix = [r["Value"] for r in rule_sets[0] if r["Name"] == "suffix"]
        for rule_set in rule_sets:
            assert [r["Value"] for r in rule_set if r["Name"] == "suffix"] == suffix, "every branch must filter on the same suffix"
        suffixes.extend(suffix)
        prefixed = [r for rule_set in rule_sets for r in rule_set if r["Name"] == "prefix"]
        assert prefixed == [{"Name": "prefix", "Value": ref("LogKeyPrefix")}]
    assert sorted(suffixes) == [".gz", ".parquet"]
    assert param(template, "LogKeyPrefix")["Default"] == ""
    assert template["Conditions"]["HasLogKeyPrefix"] == {"Fn::Not": [{"Fn::Equals": [ref("LogKeyPrefix"), ""]}]}


def test_trigger_parameter_and_conditions(template):
    trigger = param(template, "Trigger")
    assert trigger["Default"] == "s3"
    assert sorted(trigger["AllowedValues"]) == ["s3", "sqs"]
    for value, s3, sqs in [("s3", True, False), ("sqs", False, True)]:
        values = parameter_values(template, {"Trigger": value})
        assert evaluate({"Condition": "UseS3Trigger"}, template, values) is s3
        assert evaluate({"Condition": "UseSqsTrigger"}, template, values) is sqs


# ---------------------------------------------------------------- permissions


def role_statements(template: dict) -> list[dict]:
    """The role's statements, those of conditional policies and statements included."""
    role = props(template, ROLE, "AWS::IAM::Role")
    out = []
    for pol in role.get("Policies", []):
        for branch in if_branches(pol):
            out.extend(statements(branch["PolicyDocument"]))
    return out


def role_actions(template: dict) -> list[str]:
    return [a for st in role_statements(template) for a in as_list(st["Action"])]


def test_function_uses_only_the_explicit_role(template):
    p = props(template, FUNCTION, "AWS::Serverless::Function")
    assert p["Role"] == getatt(ROLE, "Arn")
    # No SAM policy templates or managed policies (AWSLambdaBasicExecutionRole
    # would grant logs:* on every log group).
    assert "Policies" not in p
    role = props(template, ROLE, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role
    assert "PermissionsBoundary" not in role or role["PermissionsBoundary"]
    trust = statements(role["AssumeRolePolicyDocument"])
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    # The other roles are Batch Operations' and the rollup schedule's, which
    # the function never uses.
    others = [
        name
        for name, r in template["Resources"].items()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role") and name != ROLE
    ]
    assert others == [BATCH_ROLE, SCHEDULE_ROLE]
    assert not mentions(p, BATCH_ROLE) and not mentions(p, SCHEDULE_ROLE)


def test_role_has_no_wildcard_actions_and_only_getobject_on_s3(template):
    sts = role_statements(template)
    assert sts
    actions = []
    for st in sts:
        assert st["Effect"] == "Allow"
        assert "NotAction" not in st and "NotResource" not in st
        actions.extend(as_list(st["Action"]))
    for action in actions:
        assert "*" not in action and "?" not in action, f"wildcard action {action}"
    # With CloudWatch Logs and no real-time log stream: these four and
    # nothing else.
    unconditional = role_actions(resolved(template, WITH_CLOUDWATCH))
    assert sorted(unconditional) == sorted(
        ["s3:GetObject", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]
    )
    # With a stream (and its KMS key): reading that stream; with Trigger=sqs,
    # reading the queue; with Destination=s3, writing the output objects;
    # with a stream destination, writing to it (and its key); with Rollup=on,
    # the rollup's (test_the_rollup_reads_staging_and_deletes_only_parts).
    # Nothing more.
    stream_destinations = [a for d in STREAM_DESTINATIONS.values() for a in [d.action, *d.kms_actions]]
    assert sorted(actions) == sorted(
        unconditional
        + KINESIS_READ_ACTIONS
        + ["kms:Decrypt"]
        + SQS_READ_ACTIONS
        + OUTPUT_WRITE_ACTIONS
        + ROLLUP_ACTIONS
        + stream_destinations
        + ENRICH_ACTIONS
    )
    assert [a for a in actions if a.startswith("s3:")] == [
        "s3:GetObject",
        *OUTPUT_WRITE_ACTIONS,
        *[a for a in ENRICH_ACTIONS if a.startswith("s3:")],
        *[a for a in ROLLUP_ACTIONS if a.startswith("s3:")],
    ]


def test_role_resources_are_scoped(template):
    by_action = {}
    for st in role_statements(template):
        for action in as_list(st["Action"]):
            by_action.setdefault(action, []).extend(as_list(st["Resource"]))
    for action, resources in by_action.items():
        for r in resources:
            assert r != "*" and not (isinstance(r, str) and "*" in r), f"{action} on wildcard resource {r}"
    # s3:GetObject: objects of the log bucket under the prefix, by name (and,
    # with Rollup=on, the output bucket's staging objects and parts).
    s3_resource, geoip_read, *rollup_reads = by_action["s3:GetObject"]
    assert geoip_read == GEOIP_OBJECT_ARN
    assert all(mentions(r, OUTPUT_BUCKET) for r in rollup_reads)
    template_str, variables = s3_resource["Fn::Sub"]
    assert template_str == "arn:${AWS::Partition}:s3:::${BucketName}/${LogKeyPrefix}*"
    assert variables["BucketName"] == bucket_name_expression(template), (
        "the role must name the bucket with the same expression as the bucket itself"
    )
    assert by_action["logs:CreateLogStream"] == [getatt(LOG_GROUP, "Arn")]
    assert by_action["logs:PutLogEvents"] == [getatt(LOG_GROUP, "Arn")]
    # The dead letter queue, and the queue of Destination=sqs by parameter.
    assert by_action["sqs:SendMessage"] == [getatt(QUEUE, "Arn"), ref("SqsQueueArn")]
    # The streams and keys by parameter, whose patterns admit one ARN, no wildcard.
    for action in KINESIS_READ_ACTIONS:
        assert by_action[action] == [ref("RealtimeLogStreamArn")], action
    assert by_action["kms:Decrypt"] == [ref("RealtimeLogStreamKmsKeyArn"), ref("DestinationKmsKeyArn")]
    assert by_action["kms:GenerateDataKey"] == [ref("DestinationKmsKeyArn")] * 2
    assert by_action["firehose:PutRecordBatch"] == [ref("FirehoseDeliveryStreamArn")]
    assert by_action["kinesis:PutRecords"] == [ref("KinesisOutputStreamArn")]


def test_role_does_not_reference_the_bucket_resource(template):
    # bucket -> notification -> function -> role -> bucket would be a circular
    # dependency that only CloudFormation reports, at deploy time.
    role = resource(template, ROLE, "AWS::IAM::Role")
    assert not mentions(role, BUCKET)
    fn = resource(template, FUNCTION, "AWS::Serverless::Function")
    # No SAM events: the bucket's NotificationConfiguration names the function.
    assert "Events" not in fn["Properties"]
    assert not mentions(fn, BUCKET)
    # Nor may what the bucket waits for (NotificationDestinationReady) refer
    # back to it: the permission and the queue policy name it too.
    for name in (PERMISSION, TRIGGER_POLICY, TRIGGER_QUEUE, READY):
        assert not mentions(template["Resources"][name], BUCKET), name


def test_translated_template_has_no_circular_dependency(monkeypatch):
    # Run the real SAM transform, then cfn-lint's E3004 on its output: cfn-lint
    # run on the SAM template itself does not report this loop.
    cfn = translate(monkeypatch)
    types = {r["Type"] for r in cfn["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Lambda::EventInvokeConfig"} <= types
    cycles, errors = lint_errors(cfn)
    assert cycles == []
    assert errors == []


# ---------------------------------------------------------------- real-time logs (Kinesis)


def test_realtime_parameters_and_defaults(template):
    expected = {
        "RealtimeLogStreamArn": ("String", ""),  # empty: no Kinesis at all
        "RealtimeLogFields": ("String", ""),
        "RealtimeRejects": ("String", "report"),
        "RealtimeStartingPosition": ("String", "LATEST"),
        "RealtimeBatchSize": ("Number", 1000),
        "RealtimeBatchingWindowSeconds": ("Number", 5),
        "RealtimeParallelizationFactor": ("Number", 1),
        "RealtimeMaximumRetryAttempts": ("Number", 3),
        "RealtimeMaximumRecordAgeSeconds": ("Number", 21600),
        "RealtimeLogStreamKmsKeyArn": ("String", ""),
        "RealtimeMappingEnabled": ("String", "true"),
    }
    for name, (type_, default) in expected.items():
        p = param(template, name)
        assert (p["Type"], p["Default"]) == (type_, default), name
    assert sorted(param(template, "RealtimeRejects")["AllowedValues"]) == ["report", "retry"]
    assert sorted(param(template, "InputFormat")["AllowedValues"]) == ["auto", "json", "w3c"]
    assert sorted(param(template, "RealtimeStartingPosition")["AllowedValues"]) == ["LATEST", "TRIM_HORIZON"]
    assert sorted(param(template, "RealtimeMappingEnabled")["AllowedValues"]) == ["false", "true"]
    # Lambda's own limits for a Kinesis mapping. Retries and record age must
    # stay bounded: -1 (Lambda's default) blocks a shard until records expire.
    limits = {
        "RealtimeBatchSize": (1, 10000),
        "RealtimeBatchingWindowSeconds": (0, 300),
        "RealtimeParallelizationFactor": (1, 10),
        "RealtimeMaximumRetryAttempts": (0, 10000),
        "RealtimeMaximumRecordAgeSeconds": (60, 604800),
    }
    for name, (low, high) in limits.items():
        p = param(template, name)
        assert low <= p["MinValue"] <= p["Default"] <= p["MaxValue"] <= high, name
    # Short enough that the batches the dead letter queue describes are still in
    # the stream (default retention 24 h) when someone looks.
    assert param(template, "RealtimeMaximumRecordAgeSeconds")["Default"] < 86400


def check_pattern(template, name, good, bad):
    """Parameter `name`'s AllowedPattern accepts every value of `good` and
    refuses every value of `bad`."""
    pattern = re.compile(param(template, name)["AllowedPattern"])
    for value in good:
        assert pattern.fullmatch(value), f"{name} should accept {value!r}"
    for value in bad:
        assert not pattern.fullmatch(value), f"{name} should refuse {value!r}"


@pytest.mark.parametrize(
    "name, good, bad",
    [
        (
            "RealtimeLogStreamArn",
            ["", STREAM_ARN, "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b_c-d"],
            [
                "*",
                "arn:aws:kinesis:us-east-1:123456789012:stream/*",
                "arn:aws:kinesis:*:123456789012:stream/logs",
                "arn:aws:kinesis:us-east-1:123456789012:stream/logs/consumer/c:1",
                "arn:aws:firehose:us-east-1:123456789012:deliverystream/logs",
                "cloudfront-realtime-logs",
                f" {STREAM_ARN}",
            ],
        ),
        (
            "RealtimeLogStreamKmsKeyArn",
            ["", KEY_ARN],
            [
                "*",
                "arn:aws:kms:us-east-1:123456789012:key/*",
                "arn:aws:kms:us-east-1:123456789012:alias/aws/kinesis",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
            ],
        ),
        (
            "RealtimeLogFields",
            ["", WITH_STREAM["RealtimeLogFields"], "timestamp, c-ip, cs-host"],
            ['["timestamp","c-ip"]', "timestamp\tc-ip"],
        ),
    ],
)
def test_realtime_parameter_patterns(template, name, good, bad):
    # The role's Kinesis and KMS permissions are scoped by these parameters,
    # so their patterns are what keeps a wildcard out of the Resource.
    check_pattern(template, name, good, bad)


def test_realtime_conditions(template):
    conditions = template["Conditions"]
    assert conditions["HasRealtimeLogStream"] == {"Fn::Not": [{"Fn::Equals": [ref("RealtimeLogStreamArn"), ""]}]}
    key = conditions["HasRealtimeLogStreamKmsKey"]
    assert {"Condition": "HasRealtimeLogStream"} in key["Fn::And"], "a key alone must not grant anything"
    for overrides, stream, kms in [
        ({}, False, False),
        ({"RealtimeLogStreamKmsKeyArn": KEY_ARN}, False, False),
        (WITH_STREAM, True, False),
        ({**WITH_STREAM, "RealtimeLogStreamKmsKeyArn": KEY_ARN}, True, True),
    ]:
        values = parameter_values(template, overrides)
        assert evaluate({"Condition": "HasRealtimeLogStream"}, template, values) is stream
        assert evaluate({"Condition": "HasRealtimeLogStreamKmsKey"}, template, values) is kms


@pytest.mark.parametrize("overrides", [{}, {"RealtimeLogStreamKmsKeyArn": KEY_ARN}], ids=["defaults", "key-only"])
def test_nothing_kinesis_related_without_a_stream(template, overrides):
    # The default stack must be exactly the S3 one: no mapping, no Kinesis or
    # KMS permission, no output, nothing that uses the stream or key parameters.
    t = resolved(template, overrides)
    types = {r["Type"] for r in t["Resources"].values()}
    assert ESM not in types
    assert not any(ty.startswith("AWS::Kinesis::") for ty in types)
    assert MAPPING not in t["Resources"]
    actions = role_actions(t)
    assert not [a for a in actions if a.startswith(("kinesis:", "kms:"))], actions
    for name in ("RealtimeLogStreamArn", "RealtimeLogStreamKmsKeyArn"):
        assert not mentions(t["Resources"], name), f"a resource still uses {name}"
        assert not mentions(t["Outputs"], name), f"an output still uses {name}"
    assert not [name for name in t["Outputs"] if "Realtime" in name]
    # Nothing names Kinesis but the names of the function's variables
    # (CFLOG_KINESIS_STREAM and the like, empty without Destination=kinesis).
    env = t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    assert [env[v] for v in env if "KINESIS" in v] == ["", "", ""]
    resources = copy.deepcopy(t["Resources"])
    resources[FUNCTION]["Properties"]["Environment"]["Variables"] = list(env.values())
    assert "kinesis" not in json.dumps(resources).lower()


def test_every_realtime_resource_is_behind_the_condition(template):
    # Statically too: whatever refers to the mapping or the stream parameter is
    # conditional on the stream, as a resource or output Condition or an Fn::If.
    for section in ("Resources", "Outputs"):
        for name, body in template[section].items():
            if body.get("Condition") == "HasRealtimeLogStream":
                continue
            # The body with the true branch of every stream condition emptied.
            unconditional = copy.deepcopy(body)
            for node in walk(unconditional):
                if isinstance(node, dict) and set(node) == {"Fn::If"}:
                    cond = node["Fn::If"][0]
                    if cond in ("HasRealtimeLogStream", "HasRealtimeLogStreamKmsKey"):
                        node["Fn::If"][1] = {}
            for target in (MAPPING, "RealtimeLogStreamArn", "RealtimeLogStreamKmsKeyArn"):
                assert not mentions(unconditional, target), f"{section}.{name} uses {target} unconditionally"
            # The other mapping is the SQS trigger's, behind its own condition.
            if body.get("Type") == ESM:
                assert name == TRIGGER_MAPPING and body.get("Condition") == "UseSqsTrigger", name


def test_realtime_mapping_reads_the_stream_into_the_function(template):
    res = resource(template, MAPPING, ESM)
    assert res.get("Condition") == "HasRealtimeLogStream"
    p = res["Properties"]
    assert p["EventSourceArn"] == ref("RealtimeLogStreamArn")
    assert p["FunctionName"] in (getatt(FUNCTION, "Arn"), ref(FUNCTION))
    assert p["StartingPosition"] == ref("RealtimeStartingPosition")
    assert p["BatchSize"] == ref("RealtimeBatchSize")
    assert p["MaximumBatchingWindowInSeconds"] == ref("RealtimeBatchingWindowSeconds")
    assert p["ParallelizationFactor"] == ref("RealtimeParallelizationFactor")
    assert p["Enabled"] == ref("RealtimeMappingEnabled")
    # Exactly one mapping, and no SAM Kinesis event (which could not be conditional).
    with_stream = resolved(template, WITH_STREAM)
    assert [n for n, r in with_stream["Resources"].items() if r["Type"] == ESM] == [MAPPING]
    events = props(template, FUNCTION, "AWS::Serverless::Function").get("Events", {})
    assert not [e for e in events.values() if e["Type"] in ("Kinesis", "DynamoDB", "SQS")]


def test_realtime_mapping_handles_failures(template):
    p = props(template, MAPPING, ESM)
    # Without ReportBatchItemFailures Lambda ignores the function's
    # batchItemFailures and RealtimeRejects=retry would drop records silently.
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert p["BisectBatchOnFunctionError"] is True
    # Bounded (the parameters' ranges exclude -1, see above).
    assert p["MaximumRetryAttempts"] == ref("RealtimeMaximumRetryAttempts")
    assert p["MaximumRecordAgeInSeconds"] == ref("RealtimeMaximumRecordAgeSeconds")
    # Given-up batches are reported to the dead letter queue...
    assert p["DestinationConfig"] == {"OnFailure": {"Destination": getatt(QUEUE, "Arn")}}
    # ...which the role may send to whenever the mapping exists (Lambda sends
    # with the function's role and refuses the mapping otherwise).
    t = resolved(template, WITH_STREAM)
    sends = [st for st in role_statements(t) if "sqs:SendMessage" in as_list(st["Action"])]
    assert [st["Resource"] for st in sends] == [p["DestinationConfig"]["OnFailure"]["Destination"]]


def test_realtime_role_statements_are_scoped_and_conditional(template):
    policies = props(template, ROLE, "AWS::IAM::Role")["Policies"]
    conditional = [
        pol for pol in policies if set(pol) == {"Fn::If"} and pol["Fn::If"][0] == "HasRealtimeLogStream"
    ]
    assert len(conditional) == 1, "one conditional policy for the stream"
    cond, policy, otherwise = conditional[0]["Fn::If"]
    assert cond == "HasRealtimeLogStream" and otherwise == ref("AWS::NoValue")
    assert not mentions([pol for pol in policies if pol not in conditional], "RealtimeLogStreamArn")
    read = [st for st in statements(policy["PolicyDocument"]) if st["Action"] == KINESIS_READ_ACTIONS]
    assert len(read) == 1
    assert read[0]["Effect"] == "Allow" and read[0]["Resource"] == ref("RealtimeLogStreamArn")
    # The key statement is conditional on the key (which implies the stream).
    (kms,) = [st for st in as_list(policy["PolicyDocument"]["Statement"]) if "Fn::If" in st]
    kcond, kstatement, kotherwise = kms["Fn::If"]
    assert kcond == "HasRealtimeLogStreamKmsKey" and kotherwise == ref("AWS::NoValue")
    assert kstatement["Action"] == "kms:Decrypt"
    assert kstatement["Resource"] == ref("RealtimeLogStreamKmsKeyArn")
    # As deployed: stream without key, then with key.
    actions = role_actions(resolved(template, WITH_STREAM))
    assert sorted(a for a in actions if a.startswith("kinesis:")) == sorted(KINESIS_READ_ACTIONS)
    assert "kms:Decrypt" not in actions
    actions = role_actions(resolved(template, {**WITH_STREAM, "RealtimeLogStreamKmsKeyArn": KEY_ARN}))
    assert actions.count("kms:Decrypt") == 1


def test_rule_requires_the_field_list_with_a_stream(template):
    rules = template.get("Rules", {})
    assert sorted(rules) == [
        "AlarmsNeedMetrics",
        # test_hmac_needs_its_key_and_the_key_needs_hmac
        "FirehoseDestinationStreamRequired",
        "IpHmacKeyOnlyWithHmac",
        "IpHmacKeyRequired",
        "KinesisDestinationIsNotTheRealtimeInput",
        "KinesisDestinationStreamRequired",
        "RealtimeLogFieldsRequired",
        "S3DestinationTakesStandardLogsOnly",
        "S3ParquetColumnsAreFixed",
        "SqsDestinationQueueRequired",
        "TriggerMaximumConcurrencyRange",
    ]
    rule = rules["RealtimeLogFieldsRequired"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [ref("RealtimeLogStreamArn"), ""]}]}
    assert rule["Assertions"] and all(a.get("AssertDescription") for a in rule["Assertions"])

    def accepted(overrides: dict[str, str]) -> bool:
        return "RealtimeLogFieldsRequired" not in refusing_rules(template, overrides)

    assert accepted({})
    assert accepted(WITH_STREAM)
    assert not accepted({**WITH_STREAM, "RealtimeLogFields": ""})
    assert accepted({"RealtimeLogFields": "timestamp"})  # harmless without a stream


def test_translated_template_with_a_realtime_stream(monkeypatch, template):
    # The transform keeps the plain-CloudFormation mapping, its condition and
    # the rule, adds no mapping of its own, and the result lints clean
    # (including the dependency loop check) with the stream parameters set.
    overrides = {**WITH_STREAM, "RealtimeLogStreamKmsKeyArn": KEY_ARN, "RealtimeRejects": "retry"}
    cfn = translate(monkeypatch, overrides)
    mappings = {n: r for n, r in cfn["Resources"].items() if r["Type"] == ESM}
    assert sorted(mappings) == sorted([MAPPING, TRIGGER_MAPPING])
    assert mappings[MAPPING]["Condition"] == "HasRealtimeLogStream"
    assert mappings[TRIGGER_MAPPING]["Condition"] == "UseSqsTrigger"
    assert mappings[MAPPING]["Properties"]["FunctionName"] == getatt(FUNCTION, "Arn")
    assert cfn["Resources"][FUNCTION]["Type"] == "AWS::Lambda::Function"
    assert cfn.get("Rules") == template["Rules"]
    cycles, errors = lint_errors(cfn)
    assert cycles == []
    assert errors == []
    # As deployed with those values.
    t = resolved(cfn)
    env = t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    values = parameter_values(cfn)
    assert values["RealtimeLogFields"] == WITH_STREAM["RealtimeLogFields"]
    assert env["CFLOG_REALTIME_FIELDS"] == ref("RealtimeLogFields")
    assert env["CFLOG_REALTIME_REJECTS"] == ref("RealtimeRejects")
    assert MAPPING in t["Resources"] and "RealtimeEventSourceMappingId" in t["Outputs"]
    actions = role_actions(t)
    assert set(KINESIS_READ_ACTIONS) <= set(actions) and "kms:Decrypt" in actions


# ---------------------------------------------------------------- the SQS trigger (Trigger=sqs)


def test_sqs_trigger_parameters_and_defaults(template):
    expected = {
        "TriggerBatchSize": (10, 1, 10000),
        "TriggerBatchingWindowSeconds": (5, 0, 300),
        "TriggerMaxReceiveCount": (5, 1, 1000),
        "TriggerMaximumConcurrency": (0, 0, 1000),
    }
    for name, (default, low, high) in expected.items():
        p = param(template, name)
        assert p["Type"] == "Number", name
        assert (p["Default"], p["MinValue"], p["MaxValue"]) == (default, low, high), name
    # Lambda refuses more than 10 messages per batch without a batching window:
    # the defaults must deploy.
    assert param(template, "TriggerBatchSize")["Default"] <= 10 or param(template, "TriggerBatchingWindowSeconds")["Default"] >= 1
    # Lambda's maximum concurrency is 2 to 1000: the rule refuses 1, only with the trigger.
    rule = template["Rules"]["TriggerMaximumConcurrencyRange"]
    assert rule["RuleCondition"] == {"Fn::Equals": [ref("Trigger"), "sqs"]}
    (assertion,) = rule["Assertions"]
    assert assertion.get("AssertDescription")
    for value, accepted in [("0", True), ("1", False), ("2", True), ("1000", True)]:
        values = parameter_values(template, {**WITH_SQS, "TriggerMaximumConcurrency": value})
        assert evaluate(assertion["Assert"], template, values) is accepted, value
    assert not evaluate(rule["RuleCondition"], template, parameter_values(template, {"TriggerMaximumConcurrency": "1"}))


SQS_TRIGGER_RESOURCES = {TRIGGER_QUEUE, TRIGGER_DLQ, TRIGGER_POLICY, TRIGGER_MAPPING}


def test_the_default_stack_has_no_sqs_trigger(template):
    t = resolved(template)
    assert not SQS_TRIGGER_RESOURCES & set(t["Resources"])
    assert [n for n, r in t["Resources"].items() if r["Type"] == "AWS::SQS::Queue"] == [QUEUE]
    assert not [a for a in role_actions(t) if a in SQS_READ_ACTIONS]
    assert not [name for name in t["Outputs"] if name.startswith("Trigger")]
    # The bucket invokes the function, with a permission for that bucket only.
    assert PERMISSION in t["Resources"]


def test_the_sqs_stack_does_not_invoke_the_function_from_s3(template):
    t = resolved(template, WITH_SQS)
    assert SQS_TRIGGER_RESOURCES <= set(t["Resources"])
    # No permission for S3 to invoke: the queue is the only way in.
    assert PERMISSION not in t["Resources"]
    assert not [r for r in t["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert {"TriggerQueueUrl", "TriggerDeadLetterQueueUrl"} <= set(t["Outputs"])
    for name in ("TriggerQueueUrl", "TriggerDeadLetterQueueUrl"):
        assert template["Outputs"][name]["Condition"] == "UseSqsTrigger"
    assert template["Outputs"]["TriggerQueueUrl"]["Value"] == ref(TRIGGER_QUEUE)
    assert template["Outputs"]["TriggerDeadLetterQueueUrl"]["Value"] == ref(TRIGGER_DLQ)


def test_every_sqs_trigger_resource_is_behind_the_condition(template):
    for name in SQS_TRIGGER_RESOURCES:
        assert template["Resources"][name].get("Condition") == "UseSqsTrigger", name
    assert template["Resources"][PERMISSION].get("Condition") == "UseS3Trigger"


def test_s3_may_invoke_the_function_only_for_the_log_bucket(template):
    p = props(template, PERMISSION, "AWS::Lambda::Permission")
    assert p["Action"] == "lambda:InvokeFunction"
    assert p["FunctionName"] == getatt(FUNCTION, "Arn")
    assert p["Principal"] == "s3.amazonaws.com"
    assert p["SourceAccount"] == ref("AWS::AccountId")
    text, variables = p["SourceArn"]["Fn::Sub"]
    assert text == "arn:${AWS::Partition}:s3:::${BucketName}"
    assert variables["BucketName"] == bucket_name_expression(template)


def test_only_the_log_bucket_may_send_to_the_queue(template):
    p = props(template, TRIGGER_POLICY, "AWS::SQS::QueuePolicy")
    assert p["Queues"] == [ref(TRIGGER_QUEUE)]
    sts = statements(p["PolicyDocument"])
    allows = [st for st in sts if st["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert as_list(allow["Action"]) == ["sqs:SendMessage"]
    assert allow["Resource"] == getatt(TRIGGER_QUEUE, "Arn")
    condition = allow["Condition"]
    text, variables = condition["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert text == "arn:${AWS::Partition}:s3:::${BucketName}"
    assert variables["BucketName"] == bucket_name_expression(template)
    assert condition["StringEquals"]["aws:SourceAccount"] == ref("AWS::AccountId")
    (deny,) = [st for st in sts if st["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == getatt(TRIGGER_QUEUE, "Arn")


def test_trigger_queue_is_encrypted_and_outlives_a_batch(template):
    q = props(template, TRIGGER_QUEUE, "AWS::SQS::Queue")
    assert q.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in q
    # 6x the function's timeout (Lambda's advice), plus the batching window,
    # for every Timeout the parameter admits: a constant, since
    # CloudFormation cannot multiply; at most SQS's 12 hours.
    timeout = param(template, "Timeout")
    window = param(template, "TriggerBatchingWindowSeconds")
    assert q["VisibilityTimeout"] >= 6 * timeout["MaxValue"] + window["MaxValue"]
    assert q["VisibilityTimeout"] <= 43200
    # Returned messages end in the trigger's own dead letter queue.
    assert q["RedrivePolicy"] == {
        "deadLetterTargetArn": getatt(TRIGGER_DLQ, "Arn"),
        "maxReceiveCount": ref("TriggerMaxReceiveCount"),
    }
    dlq = props(template, TRIGGER_DLQ, "AWS::SQS::Queue")
    assert dlq.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in dlq
    # A moved message keeps its first enqueue time: the dead letter queue must
    # keep messages longer than the queue, or they expire on arrival.
    assert q["MessageRetentionPeriod"] < dlq["MessageRetentionPeriod"] <= 1209600
    assert "RedrivePolicy" not in dlq


def test_trigger_mapping_reports_batch_item_failures(template):
    res = resource(template, TRIGGER_MAPPING, ESM)
    p = res["Properties"]
    assert p["EventSourceArn"] == getatt(TRIGGER_QUEUE, "Arn")
    assert p["FunctionName"] == getatt(FUNCTION, "Arn")
    # Without this Lambda ignores batchItemFailures: one bad message would
    # return the whole batch.
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert p["BatchSize"] == ref("TriggerBatchSize")
    assert p["MaximumBatchingWindowInSeconds"] == ref("TriggerBatchingWindowSeconds")
    assert p["ScalingConfig"] == {
        "Fn::If": [
            "HasTriggerMaximumConcurrency",
            {"MaximumConcurrency": ref("TriggerMaximumConcurrency")},
            ref("AWS::NoValue"),
        ]
    }
    for value, limited in [("0", False), ("5", True)]:
        t = resolved(template, {**WITH_SQS, "TriggerMaximumConcurrency": value})
        assert ("ScalingConfig" in t["Resources"][TRIGGER_MAPPING]["Properties"]) is limited
    # Kinesis-only settings have no place on an SQS mapping.
    for key in ("StartingPosition", "BisectBatchOnFunctionError", "MaximumRetryAttempts", "DestinationConfig"):
        assert key not in p, key


def test_the_role_reads_only_the_trigger_queue_and_only_with_it(template):
    t = resolved(template, WITH_SQS)
    reads = [st for st in role_statements(t) if set(as_list(st["Action"])) & set(SQS_READ_ACTIONS)]
    assert len(reads) == 1
    assert sorted(as_list(reads[0]["Action"])) == sorted(SQS_READ_ACTIONS)
    assert reads[0]["Resource"] == getatt(TRIGGER_QUEUE, "Arn")
    policies = props(template, ROLE, "AWS::IAM::Role")["Policies"]
    (conditional,) = [pol for pol in policies if set(pol) == {"Fn::If"} and pol["Fn::If"][0] == "UseSqsTrigger"]
    assert conditional["Fn::If"][2] == ref("AWS::NoValue")
    assert not mentions([pol for pol in policies if pol is not conditional], TRIGGER_QUEUE)


def test_the_bucket_waits_for_the_destination_of_its_trigger(template):
    # S3 checks the destination when the notification is put: the permission
    # (s3) or the queue policy (sqs) must come first. DependsOn cannot name a
    # conditional resource, so the bucket waits for a handle whose metadata
    # refers to the one in use.
    bucket = resource(template, BUCKET, "AWS::S3::Bucket")
    assert as_list(bucket["DependsOn"]) == [READY]
    ready = resource(template, READY, "AWS::CloudFormation::WaitConditionHandle")
    assert "Condition" not in ready
    meta = ready["Metadata"]
    assert meta[PERMISSION] == {"Fn::If": ["UseS3Trigger", ref(PERMISSION), ""]}
    assert meta[TRIGGER_POLICY] == {"Fn::If": ["UseSqsTrigger", ref(TRIGGER_POLICY), ""]}


def test_translated_template_with_the_sqs_trigger(monkeypatch, template):
    # The real transform with Trigger=sqs lints clean, the dependency loop
    # check included, and keeps the conditions as they are.
    overrides = {**WITH_SQS, "TriggerMaximumConcurrency": "20"}
    cfn = translate(monkeypatch, overrides)
    cycles, errors = lint_errors(cfn)
    assert cycles == []
    assert errors == []
    t = resolved(cfn)
    assert SQS_TRIGGER_RESOURCES <= set(t["Resources"])
    assert not [r for r in t["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert list(t["Resources"][BUCKET]["Properties"]["NotificationConfiguration"]) == ["QueueConfigurations"]
    assert t["Resources"][TRIGGER_MAPPING]["Properties"]["ScalingConfig"] == {
        "MaximumConcurrency": ref("TriggerMaximumConcurrency")
    }


# ---------------------------------------------------------------- metrics and alarms


def metrics_catalog() -> dict:
    return json.loads(METRICS_FILE.read_text())


def watched(alarm: dict) -> list[dict]:
    """The metrics an alarm reads: its own, or those of its metric math."""
    p = alarm["Properties"]
    if "MetricName" in p:
        return [{k: p[k] for k in ("Namespace", "MetricName", "Dimensions")}]
    return [q["MetricStat"]["Metric"] for q in p["Metrics"] if "MetricStat" in q]


def test_metrics_parameters_and_condition(template):
    catalog = metrics_catalog()
    assert param(template, "Metrics")["Default"] == "on"
    assert sorted(param(template, "Metrics")["AllowedValues"]) == ["off", "on"]
    # The function's own default, so a stack and a local run agree.
    assert param(template, "MetricsNamespace")["Default"] == catalog["namespace"]
    assert param(template, "AlarmTopicArn")["Default"] == ""
    threshold = param(template, "RejectedShareThreshold")
    assert (threshold["Type"], threshold["Default"], threshold["MinValue"], threshold["MaxValue"]) == (
        "Number",
        0.01,
        0,
        1,
    )
    assert template["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [ref("AlarmTopicArn"), ""]}]}
    for overrides, alarms in [({}, False), (WITH_ALARMS, True)]:
        values = parameter_values(template, overrides)
        assert evaluate({"Condition": "HasAlarmTopic"}, template, values) is alarms


@pytest.mark.parametrize(
    "name,good,bad",
    [
        (
            "AlarmTopicArn",
            ["", TOPIC_ARN, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:ops_alerts-1"],
            [
                "arn:aws:sns:us-east-1:123456789012:*",
                "arn:aws:sns:us-east-1:123456789012:alarms.fifo",
                "arn:aws:sqs:us-east-1:123456789012:alarms",
                "cflog-alarms",
            ],
        ),
        (
            "MetricsNamespace",
            ["cflog", "Company/CDN logs #2", "n" * 255],
            ["", "AWS/Lambda", "n" * 256, "journaux/été", "tab\there"],
        ),
    ],
)
def test_metrics_parameter_patterns(template, name, good, bad):
    # The function refuses a namespace CloudWatch would drop; the stack
    # refuses it first.
    check_pattern(template, name, good, bad)


def alarms_with(template: dict, overrides: dict[str, str]) -> list[str]:
    t = resolved(template, overrides)
    return sorted(n for n, r in t["Resources"].items() if r["Type"] == ALARM)


def test_no_alarm_without_a_topic(template):
    t = resolved(template)
    assert not [n for n, r in t["Resources"].items() if r["Type"] == ALARM]
    assert not mentions(t["Resources"], "AlarmTopicArn")
    everything = {**WITH_STREAM, **with_destination("kinesis")}
    assert alarms_with(template, everything) == []
    assert alarms_with(template, WITH_ALARMS) == [FAILED_ALARM, SHARE_ALARM]


def test_the_alarms_of_an_input_or_a_destination_exist_with_it_only(template):
    assert alarms_with(template, {**WITH_ALARMS, **WITH_STREAM}) == sorted(
        [FAILED_ALARM, SHARE_ALARM, BATCHES_ALARM]
    )
    for destination in ["cloudwatch", "s3"]:
        assert alarms_with(template, {**WITH_ALARMS, "Destination": destination}) == [FAILED_ALARM, SHARE_ALARM]
    for name in STREAM_DESTINATIONS:
        assert alarms_with(template, {**WITH_ALARMS, **with_destination(name)}) == sorted(
            [FAILED_ALARM, SHARE_ALARM, RETRIES_ALARM]
        ), name


def test_every_alarm_is_behind_the_condition(template):
    for name, body in template["Resources"].items():
        if body["Type"] == ALARM or mentions(body, "AlarmTopicArn"):
            assert body.get("Condition") == ALARM_CONDITIONS[name], name
    # Each of the conditions is false without a topic, whatever else is set.
    for condition in set(ALARM_CONDITIONS.values()) - {"HasAlarmTopic"}:
        assert {"Condition": "HasAlarmTopic"} in template["Conditions"][condition]["Fn::And"], condition


def test_alarms_watch_what_the_function_writes(template):
    # The namespace the function is given, a metric it writes, under the
    # dimension set that every one of its lines carries: [FunctionName].
    catalog = metrics_catalog()
    names = {m["name"] for m in catalog["metrics"]}
    env = props(template, FUNCTION, "AWS::Serverless::Function")["Environment"]["Variables"]
    assert env["CFLOG_METRICS_NAMESPACE"] == ref("MetricsNamespace")
    assert env["CFLOG_METRICS"] == ref("Metrics")
    # The function's name is what AWS_LAMBDA_FUNCTION_NAME, the dimension's
    # value, will be.
    assert props(template, FUNCTION, "AWS::Serverless::Function")["FunctionName"] == ref("AWS::StackName")
    alarms = {n: r for n, r in template["Resources"].items() if r["Type"] == ALARM}
    assert sorted(alarms) == sorted(ALARM_CONDITIONS)
    for name, alarm in alarms.items():
        metrics = watched(alarm)
        assert metrics, name
        for metric in metrics:
            assert metric["Namespace"] == ref("MetricsNamespace"), name
            assert metric["MetricName"] in names, f"{name} watches {metric['MetricName']}, which the function never writes"
            assert metric["Dimensions"] == [
                {"Name": d, "Value": ref(FUNCTION)} for d in catalog["dimensions"]
            ], name
            assert catalog["errorTypeDimension"] not in json.dumps(metric["Dimensions"]), name
        p = alarm["Properties"]
        assert p["AlarmActions"] == [ref("AlarmTopicArn")], name
        assert p["OKActions"] == [ref("AlarmTopicArn")], name
        assert p["TreatMissingData"] == "notBreaching", name
        assert p["ComparisonOperator"] == "GreaterThanThreshold", name
        # Any failure at once; retries only when they last 15 minutes.
        periods = 3 if name == RETRIES_ALARM else 1
        assert (p["EvaluationPeriods"], p["DatapointsToAlarm"]) == (periods, periods), name


def test_failed_objects_alarm_fires_on_any_failed_object(template):
    p = props(template, FAILED_ALARM, ALARM)
    assert p["MetricName"] == "FailedObjects"
    assert (p["Statistic"], p["Period"], p["Threshold"]) == ("Sum", 300, 0)


def test_failed_batches_alarm_fires_on_any_failed_batch(template):
    p = props(template, BATCHES_ALARM, ALARM)
    assert p["MetricName"] == "FailedBatches"
    assert (p["Statistic"], p["Period"], p["Threshold"]) == ("Sum", 300, 0)


def test_output_retries_alarm_fires_on_retries_in_every_period_of_15_minutes(template):
    p = props(template, RETRIES_ALARM, ALARM)
    assert p["MetricName"] == "OutputRetriedRecords"
    assert (p["Statistic"], p["Period"], p["Threshold"]) == ("Sum", 300, 0)
    assert p["Period"] * p["EvaluationPeriods"] == 15 * 60


def test_rejected_share_alarm_divides_rejected_by_all_lines_read(template):
    p = props(template, SHARE_ALARM, ALARM)
    queries = {q["Id"]: q for q in p["Metrics"]}
    stats = {i: q["MetricStat"] for i, q in queries.items() if "MetricStat" in q}
    assert {i: s["Metric"]["MetricName"] for i, s in stats.items()} == {
        "rejected": "RejectedLines",
        "entries": "Entries",
    }
    assert all(s["Stat"] == "Sum" and s["Period"] == 300 for s in stats.values())
    returned = [i for i, q in queries.items() if q.get("ReturnData", True)]
    assert returned == ["share"]
    expression = queries["share"]["Expression"]
    assert expression == "IF(entries + rejected > 0, rejected / (entries + rejected), 0)"
    assert p["Threshold"] == ref("RejectedShareThreshold")

    # The expression as CloudWatch evaluates it, on a few periods' sums.
    def share(entries: int, rejected: int) -> float:
        return rejected / (entries + rejected) if entries + rejected > 0 else 0

    threshold = param(template, "RejectedShareThreshold")["Default"]
    assert share(990, 10) <= threshold < share(989, 11)
    assert share(0, 0) == 0


def test_rule_alarms_need_the_metrics(template):
    rule = template["Rules"]["AlarmsNeedMetrics"]
    assert rule["RuleCondition"] == template["Conditions"]["HasAlarmTopic"]

    def accepted(overrides: dict[str, str]) -> bool:
        return "AlarmsNeedMetrics" not in refusing_rules(template, overrides)

    assert accepted({})
    assert accepted({"Metrics": "off"})
    assert accepted(WITH_ALARMS)
    assert not accepted({**WITH_ALARMS, "Metrics": "off"})


def test_no_iam_for_the_metrics(template):
    # EMF goes through the log group the role already writes.
    actions = role_actions(resolved(template, WITH_ALARMS))
    assert not [a for a in actions if a.startswith("cloudwatch:")], actions


def test_translated_template_with_alarms(monkeypatch, template):
    cfn = translate(monkeypatch, {**WITH_ALARMS, "MetricsNamespace": "cflog/prod"})
    cycles, errors = lint_errors(cfn)
    assert cycles == []
    assert errors == []
    t = resolved(cfn)
    alarms = {n: r for n, r in t["Resources"].items() if r["Type"] == ALARM}
    assert sorted(alarms) == [FAILED_ALARM, SHARE_ALARM]
    # !Ref of the translated function is its name, the dimension's value.
    assert t["Resources"][FUNCTION]["Type"] == "AWS::Lambda::Function"
    for alarm in alarms.values():
        for metric in watched(alarm):
            assert metric["Dimensions"] == [{"Name": "FunctionName", "Value": ref(FUNCTION)}]


# ---------------------------------------------------------------- S3 Batch Operations (backfill)


def test_backfill_prefix_parameter(template):
    p = param(template, "BackfillPrefix")
    assert p["Default"] == "cflog-backfill/"
    pattern = re.compile(p["AllowedPattern"])
    for good in ["cflog-backfill/", "ops/cflog/backfill/", "a/"]:
        assert pattern.fullmatch(good), good
    # Empty would put manifests and reports at the bucket's root, where the
    # function's ignored prefix would cover every key; a wildcard would widen
    # the role's resources.
    for bad in ["", "cflog-backfill", "/cflog-backfill/", "cflog*/", "cflog?/", "a b/", "x" * 300 + "/"]:
        assert not pattern.fullmatch(bad), bad


def batch_role_statements(template: dict) -> list[dict]:
    role = props(template, BATCH_ROLE, "AWS::IAM::Role")
    return [st for pol in role["Policies"] for st in statements(pol["PolicyDocument"])]


def test_batch_operations_role_is_trusted_by_batch_operations_only(template):
    role = props(template, BATCH_ROLE, "AWS::IAM::Role")
    assert statements(role["AssumeRolePolicyDocument"]) == [
        {"Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in role
    # Unconditional: backfill works whatever the trigger.
    assert "Condition" not in resource(template, BATCH_ROLE, "AWS::IAM::Role")
    assert all(not (isinstance(pol, dict) and "Fn::If" in pol) for pol in role["Policies"])


def test_batch_operations_role_invokes_the_function_reads_manifests_writes_reports(template):
    by_action: dict[str, list] = {}
    for st in batch_role_statements(template):
        assert st["Effect"] == "Allow"
        assert "NotAction" not in st and "NotResource" not in st and "Condition" not in st
        for action in as_list(st["Action"]):
            assert "*" not in action, action
            by_action.setdefault(action, []).extend(as_list(st["Resource"]))
    assert sorted(by_action) == sorted(["lambda:InvokeFunction", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"])
    # This function only: its unqualified ARN, no wildcard, no other function.
    assert by_action["lambda:InvokeFunction"] == [getatt(FUNCTION, "Arn")]
    manifests = {"Fn::Sub": "${LogBucket.Arn}/${BackfillPrefix}manifests/*"}
    reports = {"Fn::Sub": "${LogBucket.Arn}/${BackfillPrefix}reports/*"}
    assert by_action["s3:GetObject"] == [manifests]
    assert by_action["s3:GetObjectVersion"] == [manifests]
    assert by_action["s3:PutObject"] == [reports]


def test_batch_operations_role_cannot_read_the_logs_or_close_a_loop(template):
    # Batch Operations only invokes the function, which reads with its own
    # role; and nothing the function's notification path depends on may depend
    # on this role (it refers to the bucket and the function).
    for st in batch_role_statements(template):
        for r in as_list(st["Resource"]):
            assert r != "*" and r != {"Fn::Sub": "${LogBucket.Arn}/*"}, r
    for name in (BUCKET, FUNCTION, ROLE, PERMISSION, TRIGGER_QUEUE, TRIGGER_POLICY, READY):
        assert not mentions(template["Resources"][name], BATCH_ROLE), name


def test_backfill_outputs(template):
    out = template["Outputs"]
    assert out["BatchOperationsRoleArn"]["Value"] == getatt(BATCH_ROLE, "Arn")
    assert out["BackfillPrefix"]["Value"] == {"Fn::Sub": "s3://${LogBucket}/${BackfillPrefix}"}
    assert out["FunctionArn"]["Value"] == getatt(FUNCTION, "Arn")
    for name in ("BatchOperationsRoleArn", "BackfillPrefix", "FunctionArn"):
        assert "Condition" not in out[name], name


def test_completion_reports_never_reach_the_function(template):
    # Reports (CSV) and manifests (CSV, JSON) land in the log bucket under
    # BackfillPrefix. No notification can carry them: both triggers filter on
    # the .gz or .parquet suffix (checked above); and the function is told to
    # skip the prefix should anything name an object there.
    env = props(template, FUNCTION, "AWS::Serverless::Function")["Environment"]["Variables"]
    assert env["CFLOG_IGNORE_PREFIX"] == ref("BackfillPrefix")
    for overrides in ({}, WITH_SQS):
        (kind,) = notification(template, overrides).values()
        for ev in kind:
            for rule_set in if_branches(ev["Filter"]["S3Key"]["Rules"]):
                (suffix,) = [r["Value"] for r in rule_set if r["Name"] == "suffix"]
                assert suffix in (".gz", ".parquet")


# ---------------------------------------------------------------- the S3 destination (Destination=s3)

# Every resource of the S3 destination, and the condition it exists under.
OUTPUT_RESOURCES = {
    OUTPUT_BUCKET: "UseS3Destination",
    OUTPUT_BUCKET_POLICY: "UseS3Destination",
    DATABASE: "UseS3Destination",
    TABLE: "UseParquetOutput",
    WORKGROUP: "UseS3Destination",
}
OUTPUT_CONDITIONS = {"UseS3Destination", "UseParquetOutput", "HasOutputExpiration", "UseRollup"}
# Where Athena puts query results, in the output bucket; never under OutputPrefix.
RESULTS_PREFIX = "athena-results/"
PARTITION_KEYS = ["distribution", "year", "month", "day", "hour"]
DISTRIBUTION_IDS = "E2ABCDEF123456,E3BCDEFG234567"


def output_bucket_name_expression(template: dict) -> Any:
    return props(template, OUTPUT_BUCKET, "AWS::S3::Bucket")["BucketName"]


def table_input(template: dict) -> dict:
    return props(template, TABLE, "AWS::Glue::Table")["TableInput"]


def test_destination_parameters_and_conditions(template):
    destination = param(template, "Destination")
    assert destination["Default"] == "s3"
    assert sorted(destination["AllowedValues"]) == sorted(DESTINATION_CONDITIONS)
    # Exactly one destination's condition holds for each value; a stream
    # destination's only with its ARN (without one the rules refuse the
    # stack), so that cfn-lint sees the ARN set wherever it is used.
    for value, condition in DESTINATION_CONDITIONS.items():
        overrides = with_destination(value) if value in STREAM_DESTINATIONS else {"Destination": value}
        values = parameter_values(template, overrides)
        holding = {c for c in DESTINATION_CONDITIONS.values() if evaluate({"Condition": c}, template, values)}
        assert holding == {condition}, value
        is_destination = {"Fn::Equals": [ref("Destination"), value]}
        if value in STREAM_DESTINATIONS:
            arn = STREAM_DESTINATIONS[value].arn_parameter
            has_arn = {"Fn::Not": [{"Fn::Equals": [ref(arn), ""]}]}
            assert template["Conditions"][condition] == {"Fn::And": [is_destination, has_arn]}, value
        else:
            assert template["Conditions"][condition] == is_destination, value
    fmt = param(template, "S3OutputFormat")
    assert fmt["Default"] == "parquet"
    assert sorted(fmt["AllowedValues"]) == ["ndjson.gz", "parquet"]
    assert param(template, "OutputExpirationDays")["Default"] == 0
    assert param(template, "DistributionIds")["Default"] == ""
    for overrides, s3, parquet in [
        ({}, True, True),
        ({"S3OutputFormat": "ndjson.gz"}, True, False),
        (WITH_CLOUDWATCH, False, False),
        ({**WITH_CLOUDWATCH, "S3OutputFormat": "ndjson.gz"}, False, False),
        (WITH_S3, True, True),
        ({**WITH_S3, "S3OutputFormat": "ndjson.gz"}, True, False),
    ]:
        values = parameter_values(template, overrides)
        assert evaluate({"Condition": "UseS3Destination"}, template, values) is s3, overrides
        assert evaluate({"Condition": "UseParquetOutput"}, template, values) is parquet, overrides
    for days, expires in [("0", False), ("365", True)]:
        values = parameter_values(template, {**WITH_S3, "OutputExpirationDays": days})
        assert evaluate({"Condition": "HasOutputExpiration"}, template, values) is expires


@pytest.mark.parametrize(
    "name, good, bad",
    [
        (
            "OutputPrefix",
            ["cloudfront/", "a/", "logs/cloudfront/", "my_logs.v2/"],
            # Empty, no trailing "/", wildcards (part of the role's resource),
            # "=" (a Hive reader takes it for a partition), the results prefix.
            ["", "cloudfront", "/cloudfront/", "cf*/", "cf?/", "dt=1/", "athena-results/", "athena-results/x/"],
        ),
        (
            "DistributionIds",
            ["", "E2ABCDEF123456", DISTRIBUTION_IDS],
            ["e2abcdef", "E2ABCDEF123456, E3BCDEFG234567", "E2ABCDEF123456,", ",E2", "E2*"],
        ),
        ("GlueDatabaseName", ["cflog", "cloudfront_logs_2"], ["", "Cflog", "cf-logs", "cf logs"]),
    ],
)
def test_output_parameter_patterns(template, name, good, bad):
    p = param(template, name)
    pattern = re.compile(p["AllowedPattern"])
    assert pattern.fullmatch(str(p["Default"])), f"{name}'s default fails its own pattern"
    for value in good:
        assert pattern.fullmatch(value), f"{name}={value!r} should be accepted"
    for value in bad:
        assert not pattern.fullmatch(value), f"{name}={value!r} should be refused"


def test_environment_follows_the_destination(template):
    def env(overrides: dict[str, str]) -> dict:
        t = resolved(template, overrides)
        return t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]

    # cloudwatch: Sink and OutputFormat; the bucket and prefix are set,
    # empty (which the function reads as unset).
    cloudwatch = env(WITH_CLOUDWATCH)
    assert cloudwatch["CFLOG_SINK"] == ref("Sink")
    assert cloudwatch["CFLOG_OUTPUT_FORMAT"] == ref("OutputFormat")
    assert cloudwatch["CFLOG_OUTPUT_BUCKET"] == ""
    assert cloudwatch["CFLOG_OUTPUT_PREFIX"] == ""
    # s3: the s3 sink, whatever Sink says, in S3OutputFormat, into the stack's
    # own output bucket under OutputPrefix.
    for overrides in ({}, WITH_S3, {**WITH_S3, "Sink": "none", "OutputFormat": "csv"}):
        s3 = env(overrides)
        assert value_of(s3["CFLOG_SINK"], parameter_values(template, overrides)) == "s3"
        assert s3["CFLOG_OUTPUT_FORMAT"] == ref("S3OutputFormat")
        assert s3["CFLOG_OUTPUT_BUCKET"] == ref(OUTPUT_BUCKET)
        assert s3["CFLOG_OUTPUT_PREFIX"] == ref("OutputPrefix")
    # The values the function takes (CFLOG_SINK, CFLOG_OUTPUT_FORMAT): every
    # destination but cloudwatch is the sink of its own name, none of Sink's.
    assert set(param(template, "Destination")["AllowedValues"]) - {"cloudwatch"} == set(SINKS) - {"stdout", "none"}
    assert set(param(template, "Sink")["AllowedValues"]) == {"stdout", "none"}
    assert set(param(template, "S3OutputFormat")["AllowedValues"]).isdisjoint(
        param(template, "OutputFormat")["AllowedValues"]
    )


def test_the_default_stack_stores_parquet_for_athena(template):
    # Queryable for cents with no parameter set: the output bucket, the
    # Glue table over the rolled-up objects and the one over staging, the
    # Athena workgroup, and the hourly rollup's schedule.
    t = resolved(template)
    assert set(OUTPUT_RESOURCES) <= set(t["Resources"])
    types = {r["Type"] for r in t["Resources"].values()}
    assert {"AWS::Glue::Database", "AWS::Glue::Table", "AWS::Athena::WorkGroup", "AWS::Scheduler::Schedule"} <= types
    tables = [r["Properties"]["TableInput"]["Name"] for r in t["Resources"].values() if r["Type"] == "AWS::Glue::Table"]
    assert len(tables) == 2
    assert set(OUTPUT_WRITE_ACTIONS) <= set(role_actions(t))
    assert {"OutputBucketName", "GlueDatabaseName", "GlueTableName", "AthenaWorkGroupName", "AthenaQuery"} <= set(
        t["Outputs"]
    )


def test_nothing_of_the_s3_destination_with_cloudwatch(template):
    t = resolved(template, WITH_CLOUDWATCH)
    assert not set(OUTPUT_RESOURCES) & set(t["Resources"])
    types = {r["Type"] for r in t["Resources"].values()}
    assert not any(ty.startswith(("AWS::Glue::", "AWS::Athena::")) for ty in types)
    assert [n for n, r in t["Resources"].items() if r["Type"] == "AWS::S3::Bucket"] == [BUCKET]
    assert not set(OUTPUT_WRITE_ACTIONS) & set(role_actions(t))
    for section in ("Resources", "Outputs"):
        for name in OUTPUT_RESOURCES:
            assert not mentions(t[section], name), f"{section} still use {name}"
    assert not {"OutputBucketName", "OutputLocation", "GlueDatabaseName", "GlueTableName"} & set(t["Outputs"])
    assert not {"AthenaWorkGroupName", "AthenaQuery"} & set(t["Outputs"])


def test_every_output_resource_is_behind_the_condition(template):
    for name, condition in OUTPUT_RESOURCES.items():
        assert template["Resources"][name].get("Condition") == condition, name
    # Statically: whatever else refers to them does so only in the branch of
    # an Fn::If on the destination's conditions, or under one of them.
    for section in ("Resources", "Outputs"):
        for name, body in template[section].items():
            if body.get("Condition") in OUTPUT_CONDITIONS:
                continue
            unconditional = copy.deepcopy(body)
            for node in walk(unconditional):
                if isinstance(node, dict) and set(node) == {"Fn::If"} and node["Fn::If"][0] in OUTPUT_CONDITIONS:
                    node["Fn::If"][1] = {}
            for target in OUTPUT_RESOURCES:
                assert not mentions(unconditional, target), f"{section}.{name} uses {target} unconditionally"
    # UseParquetOutput implies UseS3Destination, so the table's database and
    # bucket exist whenever it does.
    parquet = template["Conditions"]["UseParquetOutput"]["Fn::And"]
    assert {"Condition": "UseS3Destination"} in parquet


def test_the_role_writes_only_the_output_prefix_and_only_with_s3(template):
    policies = props(template, ROLE, "AWS::IAM::Role")["Policies"]
    (conditional,) = [pol for pol in policies if set(pol) == {"Fn::If"} and pol["Fn::If"][0] == "UseS3Destination"]
    cond, policy, otherwise = conditional["Fn::If"]
    assert otherwise == ref("AWS::NoValue")
    (st,) = statements(policy["PolicyDocument"])
    # Exactly these two actions, on objects under the prefix of the output bucket.
    assert st["Effect"] == "Allow"
    assert sorted(as_list(st["Action"])) == sorted(OUTPUT_WRITE_ACTIONS)
    assert "Condition" not in st and "NotAction" not in st and "NotResource" not in st
    assert as_list(st["Resource"]) == [{"Fn::Sub": "${OutputBucket.Arn}/${OutputPrefix}*"}]
    # Nothing else in the role names the output bucket, but the rollup's
    # policy (test_the_rollup_reads_staging_and_deletes_only_parts).
    others = [pol for pol in policies if pol is not conditional]
    assert not mentions([pol for pol in others if pol.get("Fn::If", [None])[0] != "UseRollup"], OUTPUT_BUCKET)
    # As deployed: with cloudwatch nothing, with s3 exactly that statement;
    # the function still reads only the log bucket.
    assert not set(OUTPUT_WRITE_ACTIONS) & set(role_actions(resolved(template, WITH_CLOUDWATCH)))
    # (The rollup's policy, on by default, in its own test.)
    t = resolved(template, {**WITH_S3, "Rollup": "off"})
    s3_statements = [s for s in role_statements(t) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    by_action = {a: s["Resource"] for s in s3_statements for a in as_list(s["Action"])}
    assert sorted(by_action) == sorted(["s3:GetObject", *OUTPUT_WRITE_ACTIONS])
    assert not mentions(by_action["s3:GetObject"], OUTPUT_BUCKET)
    text, variables = by_action["s3:GetObject"]["Fn::Sub"]
    assert variables["BucketName"] == t["Resources"][BUCKET]["Properties"]["BucketName"]


def test_the_output_bucket_is_not_the_log_bucket_and_notifies_nothing(template):
    out = props(template, OUTPUT_BUCKET, "AWS::S3::Bucket")
    # Another name (both are generated: cflog-output-… against cflog-logs-…).
    name = output_bucket_name_expression(template)
    assert name != bucket_name_expression(template)
    assert name["Fn::Join"][0] == "-" and name["Fn::Join"][1][0] == "cflog-output"
    assert bucket_name_expression(template)["Fn::If"][1]["Fn::Join"][1][0] == "cflog-logs"
    # No notification of any kind (S3 or EventBridge), so no object it holds
    # can invoke anything; and it refers to neither the log bucket nor the function.
    for key in ("NotificationConfiguration", "EventBridgeConfiguration"):
        assert key not in out, key
    assert not mentions(resource(template, OUTPUT_BUCKET, "AWS::S3::Bucket"), BUCKET)
    assert not mentions(out, FUNCTION)
    # The log bucket's notification does not name the output bucket, and
    # nothing may invoke the function on the output bucket's behalf.
    assert not mentions(props(template, BUCKET, "AWS::S3::Bucket"), OUTPUT_BUCKET)
    for name_, r in template["Resources"].items():
        if r["Type"] == "AWS::Lambda::Permission":
            assert not mentions(r, OUTPUT_BUCKET), name_
    # The function's output never goes to the log bucket.
    env = props(template, FUNCTION, "AWS::Serverless::Function")["Environment"]["Variables"]
    assert not mentions(env["CFLOG_OUTPUT_BUCKET"], BUCKET)
    assert "LogBucketName" not in json.dumps(env["CFLOG_OUTPUT_BUCKET"])


def test_the_output_bucket_is_hardened_as_the_log_bucket(template):
    log = props(template, BUCKET, "AWS::S3::Bucket")
    out = props(template, OUTPUT_BUCKET, "AWS::S3::Bucket")
    assert out["PublicAccessBlockConfiguration"] == log["PublicAccessBlockConfiguration"]
    assert out["BucketEncryption"] == log["BucketEncryption"]
    assert out["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in out
    # The same checkov skips as the log bucket's, with reasons of its own.
    def skips(name: str) -> list[str]:
        meta = template["Resources"][name].get("Metadata", {})
        return sorted(s["id"] for s in meta.get("checkov", {}).get("skip", []))

    assert skips(OUTPUT_BUCKET) == skips(BUCKET) == ["CKV_AWS_18", "CKV_AWS_21"]
    # TLS only, as the log bucket's policy.
    (policy,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == ref(OUTPUT_BUCKET)
    ]
    (st,) = statements(policy["PolicyDocument"])
    assert st["Effect"] == "Deny" and st["Principal"] == "*" and st["Action"] == "s3:*"
    assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert st["Resource"] == [getatt(OUTPUT_BUCKET, "Arn"), {"Fn::Sub": "${OutputBucket.Arn}/*"}]


def test_the_output_bucket_lifecycle(template):
    rules = props(template, OUTPUT_BUCKET, "AWS::S3::Bucket")["LifecycleConfiguration"]["Rules"]
    plain = [r for r in rules if "Fn::If" not in r]
    # Parts of a multipart upload that was neither completed nor aborted (a
    # timeout, a crash) go after a day, wherever they are.
    (abort,) = [r for r in plain if "AbortIncompleteMultipartUpload" in r]
    assert abort["Status"] == "Enabled"
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Prefix" not in abort and "Filter" not in abort
    # Athena results expire; the data only when asked, and only under the prefix.
    (results,) = [r for r in plain if r.get("Prefix") == RESULTS_PREFIX]
    assert results["Status"] == "Enabled" and 1 <= results["ExpirationInDays"] <= 30
    (optional,) = [r for r in rules if "Fn::If" in r and r["Fn::If"][0] != "UseRollup"]
    cond, rule, otherwise = optional["Fn::If"]
    assert cond == "HasOutputExpiration" and otherwise == ref("AWS::NoValue")
    assert rule["Prefix"] == ref("OutputPrefix")
    assert rule["ExpirationInDays"] == ref("OutputExpirationDays")
    # With the rollup (on by default), expire-staging too
    # (test_staging_objects_expire_after_the_window).
    for days, count in [("0", 3), ("365", 4)]:
        t = resolved(template, {**WITH_S3, "OutputExpirationDays": days})
        assert len(t["Resources"][OUTPUT_BUCKET]["Properties"]["LifecycleConfiguration"]["Rules"]) == count


def test_glue_table_columns_are_the_parquet_writer_s(template):
    # The golden file is what cflog-parquet renders (its own test checks
    # that, byte for byte); the table must have those columns, in order.
    golden = json.loads(GLUE_COLUMNS.read_text())
    assert golden and all(set(c) <= {"Name", "Type", "Comment"} and {"Name", "Type"} <= set(c) for c in golden)
    columns = table_input(resolved(template, WITH_S3))["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == [c["Name"] for c in golden], (
        "the Glue table's column names differ from tests/template/glue_columns.json; regenerate it with "
        "`cargo run -p cflog-parquet --example glue_columns > tests/template/glue_columns.json` "
        "and copy the columns into OutputTable in template.yaml"
    )
    assert columns == golden, "the Glue table's column types differ from tests/template/glue_columns.json"
    # What the writer's types promise Athena, in the table too.
    types = {c["Name"]: c["Type"] for c in columns}
    assert types["timestamp"] == "timestamp"
    assert types["query_params"] == "map<string,array<string>>"
    assert types["sc_status"] == "bigint" and types["time_taken"] == "double"


def test_glue_table_reads_parquet(template):
    res = resource(template, TABLE, "AWS::Glue::Table")
    p = res["Properties"]
    assert p["CatalogId"] == ref("AWS::AccountId")
    assert p["DatabaseName"] == ref(DATABASE)
    ti = p["TableInput"]
    assert ti["TableType"] == "EXTERNAL_TABLE"
    assert ti["Parameters"]["classification"] == "parquet"
    sd = ti["StorageDescriptor"]
    assert sd["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert sd["Location"] == {"Fn::Sub": "s3://${OutputBucket}/${OutputPrefix}"}
    db = props(template, DATABASE, "AWS::Glue::Database")
    assert db["CatalogId"] == ref("AWS::AccountId")
    assert db["DatabaseInput"]["Name"] == ref("GlueDatabaseName")
    # ndjson.gz objects are not Parquet: no table reads them.
    t = resolved(template, {**WITH_S3, "S3OutputFormat": "ndjson.gz"})
    assert TABLE not in t["Resources"] and DATABASE in t["Resources"]


def project(location_template: str, parameters: dict, values: dict[str, int | str]) -> str:
    """A partition's location as Athena projects it: each ${name} replaced
    by the value, padded to projection.<name>.digits."""

    def one(m: re.Match) -> str:
        name = m.group(1)
        digits = int(parameters.get(f"projection.{name}.digits", "0"))
        value = values[name]
        return f"{value:0{digits}d}" if isinstance(value, int) else str(value)

    return re.sub(r"\$\{!?(\w+)\}", one, location_template)


def test_partition_projection_matches_the_key_layout(template):
    ti = table_input(template)
    params = ti["Parameters"]
    assert params["projection.enabled"] == "true"
    keys = ti["PartitionKeys"]
    assert [k["Name"] for k in keys] == PARTITION_KEYS
    assert [k["Type"] for k in keys] == ["string", "int", "int", "int", "int"]
    # No partition key shadows a column.
    for overrides in [WITH_S3, {**WITH_S3, "Enrich": "ua", "Rollup": "off"}]:
        columns = table_input(resolved(template, overrides))["StorageDescriptor"]["Columns"]
        assert not {k["Name"] for k in keys} & {c["Name"] for c in columns}
    # The location template: the table's location, then one name=${name}
    # directory per partition key, in the keys' order, and nothing else.
    text = params["storage.location.template"]["Fn::Sub"]
    assert isinstance(text, str)
    location = ti["StorageDescriptor"]["Location"]["Fn::Sub"]
    assert text.startswith(location)
    dirs = text[len(location) :].rstrip("/").split("/")
    assert [d.split("=", 1)[0] for d in dirs] == PARTITION_KEYS
    assert dirs == [f"{k}=${{!{k}}}" for k in PARTITION_KEYS], "each directory must be name=${!name}"
    # Every key is projected; the time keys as integers, zero-padded as the
    # function writes them (month=05), over every value they can take.
    for key in PARTITION_KEYS:
        assert f"projection.{key}.type" in params, key
    expected_ranges = {"month": (1, 12), "day": (1, 31), "hour": (0, 23)}
    for key, (lo, hi) in expected_ranges.items():
        assert params[f"projection.{key}.type"] == "integer", key
        assert [int(x) for x in params[f"projection.{key}.range"].split(",")] == [lo, hi], key
        assert params[f"projection.{key}.digits"] == "2", key
    assert params["projection.year.type"] == "integer"
    first, last = (int(x) for x in params["projection.year.range"].split(","))
    assert first <= 2008 and last >= 2099
    assert params.get("projection.year.digits", "4") == "4"
    # The contract's example key, as the function writes it, is inside the
    # partition Athena projects for its values.
    bucket, prefix = "cflog-output-111122223333-us-east-1-0a1b2c3d4e5f", "cloudfront/"
    key = "cloudfront/distribution=E2ABCDEF/year=2024/month=05/day=01/hour=13/E2ABCDEF.2024-05-01-13.1a2b3c4d.parquet"
    values = {"distribution": "E2ABCDEF", "year": 2024, "month": 5, "day": 1, "hour": 13}
    projected = project(text.replace("${OutputBucket}", bucket).replace("${OutputPrefix}", prefix), params, values)
    assert projected == f"s3://{bucket}/{key.rsplit('/', 1)[0]}/"
    # The partitions start under the table's location, and the function's
    # objects under the role's resource, both from OutputPrefix.
    assert location == "s3://${OutputBucket}/${OutputPrefix}"


def test_distribution_projection_is_injected_unless_ids_are_given(template):
    def params(overrides: dict[str, str]) -> dict:
        return resolved(template, overrides)["Resources"][TABLE]["Properties"]["TableInput"]["Parameters"]

    injected = params(WITH_S3)
    assert injected["projection.distribution.type"] == "injected"
    assert "projection.distribution.values" not in injected
    listed = params({**WITH_S3, "DistributionIds": DISTRIBUTION_IDS})
    assert listed["projection.distribution.type"] == "enum"
    # The function's name for entries of no known distribution, too.
    assert listed["projection.distribution.values"] == {"Fn::Sub": "${DistributionIds},unknown"}
    assert template["Conditions"]["HasDistributionIds"] == {"Fn::Not": [{"Fn::Equals": [ref("DistributionIds"), ""]}]}


def test_athena_workgroup_keeps_results_apart_and_encrypted(template):
    p = props(template, WORKGROUP, "AWS::Athena::WorkGroup")
    assert p["Name"] == ref("AWS::StackName")
    assert p["State"] == "ENABLED"
    cfg = p["WorkGroupConfiguration"]
    # Enforced: a client cannot send results elsewhere or unencrypted.
    assert cfg["EnforceWorkGroupConfiguration"] is True
    assert cfg["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    results = cfg["ResultConfiguration"]
    assert results["OutputLocation"] == {"Fn::Sub": f"s3://${{OutputBucket}}/{RESULTS_PREFIX}"}
    assert results["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_S3", "SSE_KMS", "CSE_KMS")
    assert results["ExpectedBucketOwner"] == ref("AWS::AccountId")
    # The results are outside the data: OutputPrefix may not be under them,
    # and the function may not write there.
    pattern = re.compile(param(template, "OutputPrefix")["AllowedPattern"])
    assert not pattern.fullmatch(RESULTS_PREFIX) and not pattern.fullmatch(RESULTS_PREFIX + "data/")


def test_s3_destination_outputs(template):
    outputs = template["Outputs"]
    expected = {
        "OutputBucketName": ("UseS3Destination", ref(OUTPUT_BUCKET)),
        "OutputLocation": ("UseS3Destination", {"Fn::Sub": "s3://${OutputBucket}/${OutputPrefix}"}),
        "GlueDatabaseName": ("UseS3Destination", ref(DATABASE)),
        "GlueTableName": ("UseParquetOutput", ref(TABLE)),
        "AthenaWorkGroupName": ("UseS3Destination", ref(WORKGROUP)),
    }
    for name, (condition, value) in expected.items():
        assert outputs[name].get("Condition") == condition, name
        assert outputs[name]["Value"] == value, name
    # The query: on the table, filtered on the partitions (so Athena reads
    # two days of objects, not all of them), naming a distribution only
    # where the projection needs one.
    query = outputs["AthenaQuery"]
    assert query["Condition"] == "UseParquetOutput"
    text, variables = query["Value"]["Fn::Sub"]
    assert '"${OutputDatabase}"."${OutputTable}"' in text
    assert "year * 10000 + month * 100 + day >=" in text
    assert '"timestamp" >= current_timestamp - INTERVAL \'1\' DAY' in text
    assert re.search(r"GROUP BY 1 ORDER BY 1$", text)
    cond, with_ids, without = variables["DistributionFilter"]["Fn::If"]
    assert cond == "HasDistributionIds" and with_ids == ""
    assert re.fullmatch(r"distribution = '[A-Z_]+' AND ", without)
    assert "\n" not in text, "one line, to paste"


def test_rule_keeps_real_time_records_out_of_the_s3_layout(template):
    rule = template["Rules"]["S3DestinationTakesStandardLogsOnly"]
    assert rule["RuleCondition"] == {"Fn::Equals": [ref("Destination"), "s3"]}

    def accepted(overrides: dict[str, str]) -> bool:
        return "S3DestinationTakesStandardLogsOnly" not in refusing_rules(template, overrides)

    assert accepted({}) and accepted(WITH_S3) and accepted({**WITH_CLOUDWATCH, **WITH_STREAM})
    # The default destination is s3: a real-time stream needs another.
    assert not accepted(WITH_STREAM)
    assert not accepted({**WITH_S3, **WITH_STREAM})


def test_rule_refuses_fields_for_parquet_objects(template):
    # The function refuses CFLOG_FIELDS with Parquet objects (their columns
    # are the Glue table's); the stack refuses it before a deploy.
    def accepted(overrides: dict[str, str]) -> bool:
        return "S3ParquetColumnsAreFixed" not in refusing_rules(template, overrides)

    fields = {"Fields": "timestamp,sc_status"}
    assert accepted(WITH_S3) and accepted({**WITH_CLOUDWATCH, **fields})
    # Parquet in the default s3 destination: no field selection.
    assert not accepted(fields)
    assert not accepted({**WITH_S3, **fields})
    assert accepted({**WITH_S3, **fields, "S3OutputFormat": "ndjson.gz"})
    for name in STREAM_DESTINATIONS:
        assert accepted({**with_destination(name), **fields}), name


@pytest.mark.parametrize(
    "overrides",
    [
        WITH_S3,
        {**WITH_S3, "DistributionIds": DISTRIBUTION_IDS, "OutputExpirationDays": "400", **WITH_SQS},
        {**WITH_S3, "S3OutputFormat": "ndjson.gz"},
    ],
    ids=["parquet", "ids-expiry-sqs", "ndjson.gz"],
)
def test_translated_template_with_the_s3_destination(monkeypatch, template, overrides):
    # The real transform with Destination=s3 lints clean (cfn-lint checks the
    # Glue, Athena and bucket properties against their schemas), with no
    # dependency loop: the role refers to the output bucket, which depends
    # on nothing.
    cfn = translate(monkeypatch, overrides)
    cycles, errors = lint_errors(cfn)
    assert cycles == []
    assert errors == []
    t = resolved(cfn)
    parquet = overrides.get("S3OutputFormat", "parquet") == "parquet"
    present = {n for n, c in OUTPUT_RESOURCES.items() if parquet or c == "UseS3Destination"}
    assert present <= set(t["Resources"])
    assert (TABLE in t["Resources"]) is parquet
    assert ("AthenaQuery" in t["Outputs"]) is parquet
    env = t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    assert value_of(env["CFLOG_SINK"], parameter_values(cfn)) == "s3"
    assert env["CFLOG_OUTPUT_BUCKET"] == ref(OUTPUT_BUCKET)
    assert [n for n, r in t["Resources"].items() if r["Type"] == "AWS::S3::Bucket"] == [BUCKET, OUTPUT_BUCKET]
    assert set(OUTPUT_WRITE_ACTIONS) <= set(role_actions(t))



# ---------------------------------------------------------------- stream destinations (firehose, kinesis, sqs)


def environment(template: dict, overrides: dict[str, str] | None = None) -> dict:
    """The function's environment as deployed with these values."""
    return resolved(template, overrides)["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]


def policies_by_name(template: dict) -> dict[str, dict]:
    """The role's policies as deployed (a resolved template), by name."""
    policies = props(template, ROLE, "AWS::IAM::Role")["Policies"]
    names = [pol["PolicyName"] for pol in policies]
    assert len(names) == len(set(names)), names
    return {pol["PolicyName"]: pol["PolicyDocument"] for pol in policies}


def test_stream_destination_parameters_and_conditions(template):
    for d in STREAM_DESTINATIONS.values():
        p = param(template, d.arn_parameter)
        assert (p["Type"], p["Default"]) == ("String", ""), d.arn_parameter
    assert param(template, "DestinationKmsKeyArn")["Default"] == ""
    assert param(template, "KinesisPartitionKey")["Default"] == "x_edge_request_id"
    packing = param(template, "KinesisPacking")
    assert packing["Default"] == "entry"
    assert sorted(packing["AllowedValues"]) == ["entry", "packed"]
    # A key grants something only with the destination it encrypts.
    conditions = template["Conditions"]
    assert conditions["HasDestinationKmsKey"] == {"Fn::Not": [{"Fn::Equals": [ref("DestinationKmsKeyArn"), ""]}]}
    for name, destination in [("HasKinesisDestinationKmsKey", "kinesis"), ("HasSqsDestinationKmsKey", "sqs")]:
        assert sorted(conditions[name]["Fn::And"], key=str) == [
            {"Condition": "HasDestinationKmsKey"},
            {"Condition": DESTINATION_CONDITIONS[destination]},
        ], name
        for value in DESTINATION_CONDITIONS:
            for key, expected in [("", False), (DESTINATION_KEY_ARN, value == destination)]:
                given = {d.arn_parameter: d.arn for d in STREAM_DESTINATIONS.values()}
                values = parameter_values(template, {**given, "Destination": value, "DestinationKmsKeyArn": key})
                assert evaluate({"Condition": name}, template, values) is expected, (name, value, key)


@pytest.mark.parametrize(
    "name, good, bad",
    [
        (
            "FirehoseDeliveryStreamArn",
            ["", FIREHOSE_ARN, "arn:aws-cn:firehose:cn-north-1:123456789012:deliverystream/a.b_c-D"],
            [
                "*",
                "arn:aws:firehose:us-east-1:123456789012:deliverystream/*",
                "arn:aws:firehose:*:123456789012:deliverystream/cflog",
                "arn:aws:firehose:us-east-1:123456789012:deliverystream/" + "x" * 65,
                KINESIS_OUTPUT_ARN,
                "cflog-entries",
            ],
        ),
        (
            "KinesisOutputStreamArn",
            ["", KINESIS_OUTPUT_ARN, STREAM_ARN],
            [
                "*",
                "arn:aws:kinesis:us-east-1:123456789012:stream/*",
                "arn:aws:kinesis:us-east-1:123456789012:stream/logs/consumer/c:1",
                FIREHOSE_ARN,
                "cflog-entries",
            ],
        ),
        (
            "SqsQueueArn",
            [
                "",
                SQS_QUEUE_ARN,
                "arn:aws:sqs:us-east-1:123456789012:cflog-entries.fifo",
                "arn:aws:sqs:us-east-1:123456789012:" + "q" * 80,
                "arn:aws:sqs:us-east-1:123456789012:" + "q" * 75 + ".fifo",
            ],
            [
                "*",
                "arn:aws:sqs:us-east-1:123456789012:*",
                "arn:aws:sqs:us-east-1:123456789012:cflog?",
                "arn:aws:sqs:us-east-1:123456789012:" + "q" * 81,
                "arn:aws:sqs:us-east-1:123456789012:" + "q" * 76 + ".fifo",
                "arn:aws:sqs:us-east-1:123456789012:a.b",
                "https://sqs.us-east-1.amazonaws.com/123456789012/cflog-entries",
                TOPIC_ARN,
            ],
        ),
        (
            "DestinationKmsKeyArn",
            ["", DESTINATION_KEY_ARN],
            [
                "*",
                "arn:aws:kms:us-east-1:123456789012:key/*",
                "arn:aws:kms:us-east-1:123456789012:alias/aws/sqs",
                "0987dcba-09ba-43dc-65fe-0987654321ba",
            ],
        ),
        (
            "KinesisPartitionKey",
            ["x_edge_request_id", "c_ip", "distribution_id", "cs_host"],
            ["", "x-edge-request-id", "cs(Host)", "C_IP", "c_ip,cs_host", "$.c_ip"],
        ),
    ],
)
def test_stream_destination_parameter_patterns(template, name, good, bad):
    # The ARNs scope the role's write and key permissions: one stream,
    # queue or key, never a wildcard.
    check_pattern(template, name, good, bad)


@pytest.mark.parametrize("destination", sorted(STREAM_DESTINATIONS))
def test_stream_destination_environment(template, destination):
    d = STREAM_DESTINATIONS[destination]
    # The sink of the destination's name, in NDJSON whatever Sink and
    # OutputFormat say (csv and tsv are stdout's only).
    for extra in ({}, {"Sink": "none", "OutputFormat": "csv"}):
        overrides = with_destination(destination, **extra)
        env = environment(template, overrides)
        assert value_of(env["CFLOG_SINK"], parameter_values(template, overrides)) == destination
        assert env["CFLOG_OUTPUT_FORMAT"] == "ndjson"
        # Every other destination's settings set, and empty (unset).
        others = {v for o in STREAM_DESTINATIONS.values() if o is not d for v in o.variables}
        for var in others | {"CFLOG_OUTPUT_BUCKET", "CFLOG_OUTPUT_PREFIX"}:
            assert env[var] == "", var
    own = {v: env[v] for v in d.variables}
    if destination == "firehose":
        assert own == {"CFLOG_FIREHOSE_STREAM": ref("FirehoseDeliveryStreamArn")}
    elif destination == "kinesis":
        assert own == {
            "CFLOG_KINESIS_STREAM": ref("KinesisOutputStreamArn"),
            "CFLOG_KINESIS_PARTITION_KEY": ref("KinesisPartitionKey"),
            "CFLOG_KINESIS_PACKING": ref("KinesisPacking"),
        }
    else:
        # The queue's URL, computed from its ARN, in either partition.
        url = own["CFLOG_SQS_QUEUE_URL"]
        for arn, suffix, expected in [
            (SQS_QUEUE_ARN, "amazonaws.com", "https://sqs.us-east-1.amazonaws.com/123456789012/cflog-entries"),
            (
                "arn:aws:sqs:eu-west-3:210987654321:cflog.fifo",
                "amazonaws.com",
                "https://sqs.eu-west-3.amazonaws.com/210987654321/cflog.fifo",
            ),
            (
                "arn:aws-cn:sqs:cn-north-1:123456789012:cflog-entries",
                "amazonaws.com.cn",
                "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/cflog-entries",
            ),
        ]:
            values = parameter_values(template, with_destination("sqs", SqsQueueArn=arn))
            assert value_of(url, values, {"AWS::URLSuffix": suffix}) == expected


@pytest.mark.parametrize(
    "overrides",
    [WITH_CLOUDWATCH, WITH_S3, {**WITH_CLOUDWATCH, "Sink": "none"}],
    ids=["cloudwatch", "s3", "cloudwatch-none"],
)
def test_no_stream_destination_without_its_destination(template, overrides):
    # Every stream's ARN and a key given, yet another destination: no
    # permission, variable or output uses any of them.
    given = {d.arn_parameter: d.arn for d in STREAM_DESTINATIONS.values()}
    t = resolved(template, {**overrides, **given, "DestinationKmsKeyArn": DESTINATION_KEY_ARN})
    assert not {d.policy for d in STREAM_DESTINATIONS.values()} & set(policies_by_name(t))
    actions = role_actions(t)
    for d in STREAM_DESTINATIONS.values():
        assert d.action not in actions or d.action == "sqs:SendMessage", d.action
    assert "kms:GenerateDataKey" not in actions
    params = [*given, "DestinationKmsKeyArn", "KinesisPartitionKey", "KinesisPacking"]
    for section in ("Resources", "Outputs"):
        for name in params:
            assert not mentions(t[section], name), f"{section} still use {name}"
    env = t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    if overrides is WITH_S3:
        assert value_of(env["CFLOG_SINK"], parameter_values(template, overrides)) == "s3"
    else:
        assert env["CFLOG_SINK"] == ref("Sink")
    for d in STREAM_DESTINATIONS.values():
        for var in d.variables:
            assert env[var] == "", var
        assert d.output not in t["Outputs"]


@pytest.mark.parametrize("destination", sorted(STREAM_DESTINATIONS))
@pytest.mark.parametrize("key", ["", DESTINATION_KEY_ARN], ids=["no-key", "key"])
def test_the_role_writes_only_to_the_stream_destination(template, destination, key):
    d = STREAM_DESTINATIONS[destination]
    # The real-time stream too, with its own key, to tell the keys apart.
    t = resolved(
        template,
        with_destination(destination, DestinationKmsKeyArn=key, RealtimeLogStreamKmsKeyArn=KEY_ARN, **WITH_STREAM),
    )
    policies = policies_by_name(t)
    # This destination's policy, and no other destination's.
    assert d.policy in policies
    assert not {o.policy for o in STREAM_DESTINATIONS.values() if o is not d} & set(policies)
    assert "cflog-output" not in policies
    write, *encrypt = statements(policies[d.policy])
    # Exactly the one action on exactly that stream or queue.
    assert write["Effect"] == "Allow"
    assert write["Action"] == d.action
    assert write["Resource"] == ref(d.arn_parameter)
    assert not {"Condition", "NotAction", "NotResource", "Principal"} & set(write)
    if key and d.kms_actions:
        # What a producer needs on the key, that key alone, only through the
        # destination's service in the stack's region.
        (st,) = encrypt
        assert st["Effect"] == "Allow"
        assert sorted(as_list(st["Action"])) == sorted(d.kms_actions)
        assert st["Resource"] == ref("DestinationKmsKeyArn")
        service = d.action.split(":")[0]
        assert st["Condition"] == {
            "StringEquals": {"kms:ViaService": {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"}}
        }
    else:
        assert encrypt == []
    # Nothing else in the role names the destination or its key; the
    # real-time stream's key still only decrypts.
    others = {name: doc for name, doc in policies.items() if name != d.policy}
    for name in (d.arn_parameter, "DestinationKmsKeyArn"):
        assert not mentions(others, name), name
    kms = [(a, st["Resource"]) for st in role_statements(t) for a in as_list(st["Action"]) if a.startswith("kms:")]
    assert ("kms:Decrypt", ref("RealtimeLogStreamKmsKeyArn")) in kms
    assert sorted(a for a, r in kms if r == ref("DestinationKmsKeyArn")) == (sorted(d.kms_actions) if key else [])


def test_every_stream_destination_part_is_behind_its_condition(template):
    # Statically: whatever names a destination's parameters does so only in
    # the branch of an Fn::If on that destination's conditions (the key only
    # on the key's), or under one of them as a Condition.
    guarded_by = {
        "FirehoseDeliveryStreamArn": {"UseFirehoseDestination"},
        "KinesisOutputStreamArn": {"UseKinesisDestination"},
        "KinesisPartitionKey": {"UseKinesisDestination"},
        "KinesisPacking": {"UseKinesisDestination"},
        "SqsQueueArn": {"UseSqsDestination"},
        "DestinationKmsKeyArn": {"HasKinesisDestinationKmsKey", "HasSqsDestinationKmsKey"},
    }
    for target, conditions in guarded_by.items():
        for section in ("Resources", "Outputs"):
            for name, body in template[section].items():
                if body.get("Condition") in conditions:
                    continue
                unconditional = copy.deepcopy(body)
                for node in walk(unconditional):
                    if isinstance(node, dict) and set(node) == {"Fn::If"} and node["Fn::If"][0] in conditions:
                        node["Fn::If"][1] = {}
                assert not mentions(unconditional, target), f"{section}.{name} uses {target} unconditionally"
    # The role's three destination policies: each an Fn::If of its own
    # destination, as a whole.
    policies = props(template, ROLE, "AWS::IAM::Role")["Policies"]
    for destination, d in STREAM_DESTINATIONS.items():
        (pol,) = [p for p in policies if "Fn::If" in p and p["Fn::If"][1]["PolicyName"] == d.policy]
        cond, _, otherwise = pol["Fn::If"]
        assert cond == DESTINATION_CONDITIONS[destination] and otherwise == ref("AWS::NoValue")


def test_rules_for_the_stream_destinations(template):
    # Each stream destination needs its ARN; cloudwatch and s3 need none.
    assert refusing_rules(template) == set()
    assert refusing_rules(template, WITH_S3) == set()
    required = {
        "firehose": "FirehoseDestinationStreamRequired",
        "kinesis": "KinesisDestinationStreamRequired",
        "sqs": "SqsDestinationQueueRequired",
    }
    for destination, rule in required.items():
        assert refusing_rules(template, {"Destination": destination}) == {rule}
        assert refusing_rules(template, with_destination(destination)) == set()
        # Another destination's ARN does not stand in for its own.
        other = next(o for o in STREAM_DESTINATIONS if o != destination)
        assert refusing_rules(template, {**with_destination(other), "Destination": destination}) == {rule}
        # Unlike s3, every stream destination takes real-time logs too.
        assert refusing_rules(template, with_destination(destination, **WITH_STREAM)) == set()
    # Never the real-time stream itself: the function would read its own
    # output back. Without a real-time stream the loop rule has nothing to say.
    loop = "KinesisDestinationIsNotTheRealtimeInput"
    assert refusing_rules(template, with_destination("kinesis", KinesisOutputStreamArn=STREAM_ARN, **WITH_STREAM)) == {
        loop
    }
    assert refusing_rules(template, {"Destination": "kinesis", **WITH_STREAM}) == {required["kinesis"]}
    assert loop not in refusing_rules(template, {"Destination": "kinesis"})
    # Every rule says why.
    for name in [*required.values(), loop]:
        assert all(a.get("AssertDescription") for a in template["Rules"][name]["Assertions"]), name


def test_stream_destination_outputs(template):
    outputs = template["Outputs"]
    assert outputs["Destination"]["Value"] == ref("Destination")
    assert "Condition" not in outputs["Destination"]
    for destination, d in STREAM_DESTINATIONS.items():
        assert outputs[d.output]["Condition"] == DESTINATION_CONDITIONS[destination], d.output
    assert outputs["FirehoseDeliveryStreamArn"]["Value"] == ref("FirehoseDeliveryStreamArn")
    assert outputs["KinesisOutputStreamArn"]["Value"] == ref("KinesisOutputStreamArn")
    # The URL the function is given, by the same expression.
    sqs_url = props(template, FUNCTION, "AWS::Serverless::Function")["Environment"]["Variables"]["CFLOG_SQS_QUEUE_URL"]
    assert outputs["DestinationQueueUrl"]["Value"] == sqs_url["Fn::If"][1]
    # As deployed: each destination's output alone.
    for destination, d in STREAM_DESTINATIONS.items():
        t = resolved(template, with_destination(destination))
        present = {o.output for o in STREAM_DESTINATIONS.values()} & set(t["Outputs"])
        assert present == {d.output}, destination


@pytest.mark.parametrize("destination", sorted(STREAM_DESTINATIONS))
def test_translated_template_with_a_stream_destination(monkeypatch, template, destination):
    # The real transform with each stream destination, its key and a
    # real-time stream lints clean, with no dependency loop, and keeps the
    # conditions and rules as they are.
    d = STREAM_DESTINATIONS[destination]
    overrides = with_destination(destination, DestinationKmsKeyArn=DESTINATION_KEY_ARN, **WITH_STREAM)
    cfn = translate(monkeypatch, overrides)
    cycles, errors = lint_errors(cfn)
    assert cycles == []
    assert errors == []
    assert cfn.get("Rules") == template["Rules"]
    t = resolved(cfn)
    env = t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    assert value_of(env["CFLOG_SINK"], parameter_values(cfn)) == destination
    assert env["CFLOG_OUTPUT_FORMAT"] == "ndjson"
    assert d.policy in policies_by_name(t)
    assert d.output in t["Outputs"]
    assert refusing_rules(cfn) == set()


# ---------------------------------------------------------------- failures


def test_failed_events_go_to_an_encrypted_dead_letter_queue(template):
    cfg = props(template, FUNCTION, "AWS::Serverless::Function")["EventInvokeConfig"]
    assert cfg["MaximumRetryAttempts"] == ref("MaximumRetryAttempts")
    retries = param(template, "MaximumRetryAttempts")
    assert 0 <= retries["Default"] <= retries["MaxValue"] <= 2
    assert 60 <= cfg["MaximumEventAgeInSeconds"] <= 21600
    on_failure = cfg["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": getatt(QUEUE, "Arn")}
    q = props(template, QUEUE, "AWS::SQS::Queue")
    assert q.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in q, "queue must be encrypted"
    assert 4 * 86400 <= q["MessageRetentionPeriod"] <= 1209600


def test_function_log_group_has_retention(template):
    lg = props(template, LOG_GROUP, "AWS::Logs::LogGroup")
    assert lg["RetentionInDays"] == ref("FunctionLogRetentionDays")
    days = param(template, "FunctionLogRetentionDays")
    assert days["Default"] in days["AllowedValues"]
    assert 1 <= days["Default"] <= 90
    # Lambda's own name for it, so nothing creates a second, unlimited group.
    fn = props(template, FUNCTION, "AWS::Serverless::Function")
    assert fn["FunctionName"] == ref("AWS::StackName")
    assert lg["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}"}
    assert fn["LoggingConfig"]["LogGroup"] == ref(LOG_GROUP)


# ---------------------------------------------------------------- outputs and hygiene


def test_outputs(template):
    out = {k: v["Value"] for k, v in template["Outputs"].items()}
    assert out["LogBucketName"] == ref(BUCKET)
    # <bucket>.s3.amazonaws.com, the form CloudFront's logging setting takes
    # (not the regional <bucket>.s3.<region>.amazonaws.com).
    assert out["CloudFrontLoggingBucket"] == getatt(BUCKET, "DomainName")
    assert out["FunctionArn"] == getatt(FUNCTION, "Arn")
    assert out["DeadLetterQueueUrl"] == ref(QUEUE)
    # Only when the mapping exists: an output may not refer to a resource that
    # its condition left out.
    mapping_id = template["Outputs"]["RealtimeEventSourceMappingId"]
    assert mapping_id["Value"] == ref(MAPPING)
    assert mapping_id.get("Condition") == resource(template, MAPPING, ESM)["Condition"]


def test_checkov_skips_carry_a_reason(template):
    skips = []
    for name, res in template["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips.append((name, skip))
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), skip
            assert len(skip.get("comment", "").strip()) >= 20, f"{name} skips {skip['id']} without a reason"
    # Never skip the checks that guard the properties above.
    guarded = {"CKV_AWS_19", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_66"}
    assert not guarded & {s["id"] for _, s in skips}


def test_no_literal_wildcard_principal_outside_the_tls_deny(template):
    for name, res in template["Resources"].items():
        for node in walk(res):
            if isinstance(node, dict) and node.get("Effect") == "Allow":
                assert node.get("Principal") not in ("*", {"AWS": "*"}), f"{name} allows everyone"


# ---------------------------------------------------------------- samconfig.toml


def test_samconfig_deploys_without_guided():
    cfg = tomllib.loads(SAMCONFIG.read_text())
    assert cfg["version"] == 0.1
    default = cfg["default"]
    glob = default.get("global", {}).get("parameters", {})
    deploy = {**glob, **default["deploy"]["parameters"]}
    assert deploy["stack_name"]
    assert deploy["region"]
    assert deploy["resolve_s3"] is True
    assert "CAPABILITY_IAM" in deploy["capabilities"].split()
    # No prompt: `sam deploy` alone deploys (the README's first screen).
    assert deploy["confirm_changeset"] is False
    assert default["validate"]["parameters"]["lint"] is True


# ---------------------------------------------------------------- the console's form and the README


def parameter_groups(template: dict) -> list[dict]:
    return template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]


def test_every_parameter_is_in_exactly_one_group(template):
    grouped = [name for group in parameter_groups(template) for name in group["Parameters"]]
    duplicates = {name for name in grouped if grouped.count(name) > 1}
    assert not duplicates, f"in more than one parameter group: {sorted(duplicates)}"
    assert set(grouped) - set(template["Parameters"]) == set(), "a group names no parameter"
    missing = set(template["Parameters"]) - set(grouped)
    assert not missing, f"in no parameter group: {sorted(missing)}"
    for group in parameter_groups(template):
        assert group["Label"]["default"], "a group without a label"


def test_the_essential_parameters_come_first(template):
    first = parameter_groups(template)[0]
    assert first["Label"]["default"] == "Essentials"
    assert first["Parameters"][:2] == ["Destination", "LogKeyPrefix"]


def readme_parameter_table() -> set[str]:
    """The names in the first column of the README's table of parameters."""
    lines = README.read_text().splitlines()
    start = lines.index("| parameter | default | meaning |")
    names = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first_cell = line.split("|")[1]
        names.update(re.findall(r"`([A-Za-z0-9]+)`", first_cell))
    return names


def test_every_parameter_is_in_the_readme_table(template):
    table = readme_parameter_table()
    missing = set(template["Parameters"]) - table
    assert not missing, f"parameters missing from the README's table: {sorted(missing)}"
    unknown = table - set(template["Parameters"])
    assert not unknown, f"the README's table names parameters the template lacks: {sorted(unknown)}"


# The hourly rollup (Rollup=on, with Destination=s3 and parquet objects).
RECENT_TABLE = "RecentTable"
SCHEDULE = "RollupSchedule"
SCHEDULE_ROLE = "RollupScheduleRole"
ROLLUP_RESOURCES = {RECENT_TABLE: "UseRollup", SCHEDULE: "UseRollup", SCHEDULE_ROLE: "UseRollup"}
# What the rollup needs beyond writing objects: list and read staging and
# the parts, delete leftover parts.
# The rollup's (test_the_rollup_reads_staging_and_deletes_only_parts), and
# its hand-over to the function itself
# (test_the_rollup_hands_its_rest_on_to_this_function_alone).
ROLLUP_ACTIONS = ["s3:ListBucket", "s3:GetObject", "s3:DeleteObject", "lambda:InvokeFunction"]


def test_rollup_parameters_and_condition(template):
    assert param(template, "Rollup")["Default"] == "on"
    assert sorted(param(template, "Rollup")["AllowedValues"]) == ["off", "on"]
    window = param(template, "RollupWindowHours")
    # CloudFront delivers up to 24 hours late; the window covers that twice.
    assert window["Default"] == 48 and window["MinValue"] >= 1
    staging = param(template, "StagingExpirationDays")
    # Staging outlives the window, with a margin: the schedule never rolls
    # an hour whose staging objects have begun to expire.
    assert staging["Default"] == 7
    assert staging["MinValue"] * 24 > window["MaxValue"]
    for overrides, on in [
        ({**WITH_S3}, True),
        ({**WITH_S3, "Rollup": "off"}, False),
        ({**WITH_S3, "S3OutputFormat": "ndjson.gz"}, False),
        ({"Destination": "cloudwatch"}, False),
    ]:
        values = parameter_values(template, overrides)
        assert evaluate({"Condition": "UseRollup"}, template, values) is on, overrides
        t = resolved(template, overrides)
        assert bool(set(ROLLUP_RESOURCES) & set(t["Resources"])) is on, overrides
        env = t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
        assert env["CFLOG_ROLLUP"] == ("on" if on else "off")
        assert env["CFLOG_ROLLUP_WINDOW_HOURS"] == ref("RollupWindowHours")
    for name, condition in ROLLUP_RESOURCES.items():
        assert template["Resources"][name].get("Condition") == condition, name


def test_the_schedule_invokes_the_function_hourly_with_the_rollup_event(template):
    t = resolved(template, WITH_S3)
    schedule = props(t, SCHEDULE, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"].startswith("cron(") and schedule["ScheduleExpressionTimezone"] == "UTC"
    minute, hour = schedule["ScheduleExpression"][len("cron(") :].split()[:2]
    assert minute.isdigit() and hour == "*", "once an hour, after the hour has ended"
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == getatt(FUNCTION, "Arn")
    assert target["RoleArn"] == getatt(SCHEDULE_ROLE, "Arn")
    # The event the function tells from S3, SQS, Kinesis and Batch Operations.
    assert json.loads(target["Input"]) == {"cflog": "rollup"}
    # The scheduler's role: invoke this function, nothing else, for this account.
    role = props(t, SCHEDULE_ROLE, "AWS::IAM::Role")
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    (policy,) = role["Policies"]
    (st,) = statements(policy["PolicyDocument"])
    assert as_list(st["Action"]) == ["lambda:InvokeFunction"]
    assert st["Resource"] == getatt(FUNCTION, "Arn")


def test_the_rollup_reads_staging_and_deletes_only_parts(template):
    t = resolved(template, WITH_S3)
    policies = {p["PolicyName"]: p for p in t["Resources"][ROLE]["Properties"]["Policies"]}
    rollup = statements(policies["cflog-rollup"]["PolicyDocument"])
    by_action = {a: s for s in rollup for a in as_list(s["Action"])}
    assert sorted(by_action) == ["lambda:InvokeFunction", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket"]
    listing = by_action["s3:ListBucket"]
    assert listing["Resource"] == getatt(OUTPUT_BUCKET, "Arn")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        {"Fn::Sub": "${OutputPrefix}staging/*"},
        {"Fn::Sub": "${OutputPrefix}distribution=*"},
    ]
    assert as_list(by_action["s3:GetObject"]["Resource"]) == [
        {"Fn::Sub": "${OutputBucket.Arn}/${OutputPrefix}staging/*"},
        {"Fn::Sub": "${OutputBucket.Arn}/${OutputPrefix}distribution=*/part-*.parquet"},
    ]
    assert as_list(by_action["s3:DeleteObject"]["Resource"]) == [
        {"Fn::Sub": "${OutputBucket.Arn}/${OutputPrefix}distribution=*/part-*.parquet"}
    ]
    for st in rollup:
        assert st["Effect"] == "Allow" and not mentions(st, BUCKET)
    # Without the rollup, none of it.
    off = resolved(template, {**WITH_S3, "Rollup": "off"})
    names = [p["PolicyName"] for p in off["Resources"][ROLE]["Properties"]["Policies"]]
    assert "cflog-rollup" not in names
    assert "s3:DeleteObject" not in role_actions(off)


def test_the_rollup_hands_its_rest_on_to_this_function_alone(template):
    """A rollup near its timeout invokes the function itself: InvokeFunction
    on the function's own ARN, its name the stack's (FunctionName), and on
    nothing else; the role's only Lambda permission."""
    t = resolved(template, WITH_S3)
    assert props(t, FUNCTION, "AWS::Serverless::Function")["FunctionName"] == {"Ref": "AWS::StackName"}
    policies = {p["PolicyName"]: p for p in t["Resources"][ROLE]["Properties"]["Policies"]}
    invoking = [
        st
        for st in statements(policies["cflog-rollup"]["PolicyDocument"])
        if "lambda:InvokeFunction" in as_list(st["Action"])
    ]
    assert len(invoking) == 1
    assert as_list(invoking[0]["Action"]) == ["lambda:InvokeFunction"]
    assert invoking[0]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}"
    }
    assert "Condition" not in invoking[0]
    lambda_actions = [a for a in role_actions(t) if a.startswith("lambda:")]
    assert lambda_actions == ["lambda:InvokeFunction"]
    # Without the rollup, the function may not invoke itself.
    off = resolved(template, {**WITH_S3, "Rollup": "off"})
    assert not [a for a in role_actions(off) if a.startswith("lambda:")]


def test_staging_objects_expire_after_the_window(template):
    def rules(overrides):
        t = resolved(template, overrides)
        return t["Resources"][OUTPUT_BUCKET]["Properties"]["LifecycleConfiguration"]["Rules"]

    (staging,) = [r for r in rules(WITH_S3) if r.get("Id") == "expire-staging"]
    assert staging["Status"] == "Enabled"
    assert staging["Prefix"] == {"Fn::Sub": "${OutputPrefix}staging/"}
    assert staging["ExpirationInDays"] == ref("StagingExpirationDays")
    assert not [r for r in rules({**WITH_S3, "Rollup": "off"}) if r.get("Id") == "expire-staging"]


def test_the_recent_table_reads_staging_with_the_table_s_columns(template):
    t = resolved(template, WITH_S3)
    table = props(t, TABLE, "AWS::Glue::Table")["TableInput"]
    recent = props(t, RECENT_TABLE, "AWS::Glue::Table")["TableInput"]
    assert table["Name"] == "requests" and recent["Name"] == "requests_recent"
    # The rolled parts and the staging objects come from one writer: the
    # same columns, which are the writer's (glue_columns.json).
    golden = json.loads(GLUE_COLUMNS.read_text())
    assert recent["StorageDescriptor"]["Columns"] == table["StorageDescriptor"]["Columns"] == golden
    assert recent["PartitionKeys"] == table["PartitionKeys"]
    assert recent["StorageDescriptor"]["Location"] == {"Fn::Sub": "s3://${OutputBucket}/${OutputPrefix}staging/"}
    template_of = lambda ti: ti["Parameters"]["storage.location.template"]["Fn::Sub"]  # noqa: E731
    assert template_of(recent) == template_of(table).replace("${OutputPrefix}", "${OutputPrefix}staging/")
    # The requests table never reads staging: its locations are the
    # partitions' own, beside staging/, not above it.
    assert "staging" not in template_of(table)
    other = {k: v for k, v in recent["Parameters"].items() if k != "storage.location.template"}
    assert other == {k: v for k, v in table["Parameters"].items() if k != "storage.location.template"}


# ---------------------------------------------------------------- who visits, and what may be stored

ENRICH_ACTIONS = ["secretsmanager:GetSecretValue", "ssm:GetParameter", "s3:GetObject"]
GEOIP_OBJECT_ARN = {
    "Fn::Sub": [
        "arn:${AWS::Partition}:s3:::${Object}",
        {"Object": {"Fn::Select": [1, {"Fn::Split": ["s3://", ref("GeoIpDb")]}]}},
    ]
}
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cflog-ip-key-AbCdEf"
PARAMETER_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/cflog/ip-key"
ENRICH_PARAMETERS = ["Enrich", "GeoIpDb", "IpPrivacy", "IpHmacKeySecretArn", "DropFields", "DropQueryParams"]


def test_enrichment_parameters_and_environment(template):
    assert param(template, "Enrich")["AllowedValues"] == ["", "ua"]
    assert param(template, "IpPrivacy")["AllowedValues"] == ["none", "truncate", "hmac"]
    assert param(template, "IpPrivacy")["Default"] == "none"
    env = props(template, FUNCTION, "AWS::Serverless::Function")["Environment"]["Variables"]
    # The function reads an empty variable as unset, and "none" is no mode of its.
    assert env["CFLOG_IP_PRIVACY"] == {"Fn::If": ["HasIpPrivacy", ref("IpPrivacy"), ""]}
    # The key itself is never a variable, nor a parameter: only where it is kept.
    assert [name for name in template["Parameters"] if "Hmac" in name] == ["IpHmacKeySecretArn"]
    for name in ENRICH_PARAMETERS:
        assert any(name in group["Parameters"] for group in parameter_groups(template)), name


@pytest.mark.parametrize(
    "name,good,bad",
    [
        ("GeoIpDb", ["", "/opt/geo/dbip-country.mmdb", "s3://geo-bucket/dbs/country.mmdb"], ["geo.mmdb", "s3://geo-bucket", "s3://Geo/x", "https://x/y"]),
        ("IpHmacKeySecretArn", ["", SECRET_ARN, PARAMETER_ARN], ["/cflog/ip-key", "arn:aws:kms:us-east-1:123456789012:key/1", SECRET_ARN + "*"]),
    ],
)
def test_enrichment_parameter_patterns(template, name, good, bad):
    pattern = re.compile(param(template, name)["AllowedPattern"])
    for value in good:
        assert pattern.fullmatch(value), f"{name} should accept {value!r}"
    for value in bad:
        assert not pattern.fullmatch(value), f"{name} should refuse {value!r}"


def enrich_statements(t: dict) -> list[dict]:
    return [st for st in role_statements(t) if st.get("Sid") in ("ReadIpHmacKeySecret", "ReadIpHmacKeyParameter", "ReadGeoIpDatabase")]


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({}, []),
        ({"IpPrivacy": "truncate", "GeoIpDb": "/opt/geo.mmdb", "Enrich": "ua"}, []),
        ({"IpPrivacy": "hmac", "IpHmacKeySecretArn": SECRET_ARN}, [("ReadIpHmacKeySecret", "secretsmanager:GetSecretValue", ref("IpHmacKeySecretArn"))]),
        ({"IpPrivacy": "hmac", "IpHmacKeySecretArn": PARAMETER_ARN}, [("ReadIpHmacKeyParameter", "ssm:GetParameter", ref("IpHmacKeySecretArn"))]),
        ({"GeoIpDb": "s3://geo-bucket/dbs/country.mmdb"}, [("ReadGeoIpDatabase", "s3:GetObject", GEOIP_OBJECT_ARN)]),
    ],
)
def test_the_role_reads_the_key_and_the_database_only_when_named(template, overrides, expected):
    t = resolved(template, overrides)
    got = [(st["Sid"], st["Action"], st["Resource"]) for st in enrich_statements(t)]
    assert got == expected


def test_the_geoip_object_is_the_uri_s_bucket_and_key():
    # What GEOIP_OBJECT_ARN's Select/Split makes of an s3:// URI, as
    # CloudFormation evaluates it; and HasGeoIpDbInS3's test of the prefix.
    uri = "s3://geo-bucket/dbs/country.mmdb"
    assert uri.split("s3://")[1] == "geo-bucket/dbs/country.mmdb"
    assert (uri + "s3://").split("s3://")[0] == ""
    assert ("/opt/geo.mmdb" + "s3://").split("s3://")[0] != ""


def test_hmac_needs_its_key_and_the_key_needs_hmac(template):
    rules = template["Rules"]
    required = rules["IpHmacKeyRequired"]
    assert required["RuleCondition"] == {"Fn::Equals": [ref("IpPrivacy"), "hmac"]}
    assert required["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [ref("IpHmacKeySecretArn"), ""]}]}
    only = rules["IpHmacKeyOnlyWithHmac"]
    assert only["Assertions"][0]["Assert"] == {"Fn::Equals": [ref("IpPrivacy"), "hmac"]}


def test_glue_tables_have_the_user_agent_columns_with_enrich_ua(template):
    golden = json.loads(GLUE_COLUMNS_UA.read_text())
    # Rolled up (the default) or not, the table has them; so does the
    # staging objects' table, which exists with the rollup only.
    t = resolved(template, {**WITH_S3, "Enrich": "ua", "Rollup": "off"})
    assert table_input(t)["StorageDescriptor"]["Columns"] == golden
    assert RECENT_TABLE not in t["Resources"]
    t = resolved(template, {**WITH_S3, "Enrich": "ua"})
    assert table_input(t)["StorageDescriptor"]["Columns"] == golden
    recent = t["Resources"][RECENT_TABLE]["Properties"]["TableInput"]
    assert recent["StorageDescriptor"]["Columns"] == golden
    plain = json.loads(GLUE_COLUMNS.read_text())
    assert [c for c in golden if c not in plain] == [
        {"Name": n, "Type": "boolean" if n == "is_bot" else "string"}
        for n in ["ua_name", "ua_version", "ua_os", "ua_os_version", "ua_device", "is_bot"]
    ]
