"""Offline checks of template.yaml (the AWS SAM deployment of cflog).

Each test pins down a property that, if edited away, silently breaks CloudFront
log delivery or opens access that should stay closed. Linters accept all of
these mistakes; these tests do not.

Run with the tools venv: scripts/check-template, or
    .venv-tools/bin/pytest tests/template
CFLOG_TEMPLATE=path/to/copy.yaml points the tests at another template (used to
check that they fail on a broken one).
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfn_tools import load_yaml  # cfn-flip: understands !Ref, !Sub, !GetAtt, !If ...

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = Path(os.environ.get("CFLOG_TEMPLATE", REPO / "template.yaml"))
SAMCONFIG = REPO / "samconfig.toml"

FUNCTION = "CflogFunction"
BUCKET = "LogBucket"
ROLE = "CflogFunctionRole"
QUEUE = "DeadLetterQueue"
LOG_GROUP = "FunctionLogGroup"
MAPPING = "RealtimeLogEventSourceMapping"
ESM = "AWS::Lambda::EventSourceMapping"

# Parameter values for a stack that reads a real-time log stream.
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/cloudfront-realtime-logs"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WITH_STREAM = {
    "RealtimeLogStreamArn": STREAM_ARN,
    "RealtimeLogFields": "timestamp,c-ip,sc-status,cs-uri-stem,time-to-first-byte",
}
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
        raise AssertionError(f"cannot evaluate {fn} here")
    return expr


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
        "CFLOG_SINK": ("Sink", "stdout"),
        "CFLOG_OUTPUT_FORMAT": ("OutputFormat", "ndjson"),
        "CFLOG_MAX_LINE_BYTES": ("MaxLineBytes", 65536),
        "CFLOG_CONCURRENCY": ("ObjectConcurrency", 4),
        "CFLOG_DELIMITER": ("Delimiter", ""),
        "CFLOG_FIELDS_HEADER": ("FieldsHeader", ""),
        "CFLOG_INPUT_FORMAT": ("InputFormat", "auto"),
        # Always set; unused (and empty) without a real-time log stream.
        "CFLOG_REALTIME_FIELDS": ("RealtimeLogFields", ""),
        "CFLOG_REALTIME_REJECTS": ("RealtimeRejects", "report"),
        "RUST_LOG": ("LogLevel", "info"),
    }
    for var, (name, default) in expected.items():
        assert env.get(var) == ref(name), f"{var} should come from parameter {name}"
        assert param(template, name)["Default"] == default, f"default of {name}"
    assert sorted(param(template, "Sink")["AllowedValues"]) == ["none", "stdout"]
    assert sorted(param(template, "OutputFormat")["AllowedValues"]) == ["csv", "ndjson", "tsv"]
    # The function reads exactly these two words.
    assert sorted(param(template, "RealtimeRejects")["AllowedValues"]) == ["report", "retry"]
    assert sorted(param(template, "InputFormat")["AllowedValues"]) == ["auto", "json", "w3c"]
    assert set(env) == set(expected), "unexpected environment variables"


# ---------------------------------------------------------------- the bucket


def test_bucket_ownership_allows_acls_for_cloudfront(template):
    # Legacy CloudFront logging writes through ACLs; BucketOwnerEnforced
    # disables them and delivery fails.
    p = props(template, BUCKET, "AWS::S3::Bucket")
    assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    assert "BucketOwnerEnforced" not in json.dumps(template)


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


def test_s3_event_on_gz_objects_with_optional_prefix(template):
    events = props(template, FUNCTION, "AWS::Serverless::Function")["Events"]
    s3 = [e["Properties"] for e in events.values() if e["Type"] == "S3"]
    assert len(s3) == 1
    ev = s3[0]
    assert ev["Bucket"] == ref(BUCKET)
    assert as_list(ev["Events"]) == ["s3:ObjectCreated:*"]
    rule_sets = if_branches(ev["Filter"]["S3Key"]["Rules"])
    assert rule_sets, "no key filter"
    for rules in rule_sets:
        assert {"Name": "suffix", "Value": ".gz"} in rules, "every branch must filter on .gz"
    prefixed = [r for rules in rule_sets for r in rules if r["Name"] == "prefix"]
    assert prefixed == [{"Name": "prefix", "Value": ref("LogKeyPrefix")}]
    assert param(template, "LogKeyPrefix")["Default"] == ""
    assert template["Conditions"]["HasLogKeyPrefix"] == {"Fn::Not": [{"Fn::Equals": [ref("LogKeyPrefix"), ""]}]}
    assert ev["Filter"]["S3Key"]["Rules"]["Fn::If"][0] == "HasLogKeyPrefix"


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
    others = [
        name
        for name, r in template["Resources"].items()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role") and name != ROLE
    ]
    assert others == []


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
    # Unconditionally (no real-time log stream): these four and nothing else.
    unconditional = role_actions(resolved(template))
    assert sorted(unconditional) == sorted(
        ["s3:GetObject", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]
    )
    # With a stream (and its KMS key): reading that stream, nothing more.
    assert sorted(actions) == sorted(unconditional + KINESIS_READ_ACTIONS + ["kms:Decrypt"])
    assert [a for a in actions if a.startswith("s3:")] == ["s3:GetObject"]


def test_role_resources_are_scoped(template):
    by_action = {}
    for st in role_statements(template):
        for action in as_list(st["Action"]):
            by_action.setdefault(action, []).extend(as_list(st["Resource"]))
    for action, resources in by_action.items():
        for r in resources:
            assert r != "*" and not (isinstance(r, str) and "*" in r), f"{action} on wildcard resource {r}"
    # s3:GetObject: objects of the log bucket under the prefix, by name.
    (s3_resource,) = by_action["s3:GetObject"]
    template_str, variables = s3_resource["Fn::Sub"]
    assert template_str == "arn:${AWS::Partition}:s3:::${BucketName}/${LogKeyPrefix}*"
    assert variables["BucketName"] == bucket_name_expression(template), (
        "the role must name the bucket with the same expression as the bucket itself"
    )
    assert by_action["logs:CreateLogStream"] == [getatt(LOG_GROUP, "Arn")]
    assert by_action["logs:PutLogEvents"] == [getatt(LOG_GROUP, "Arn")]
    assert by_action["sqs:SendMessage"] == [getatt(QUEUE, "Arn")]
    # The stream and its key by parameter, whose patterns admit one ARN, no wildcard.
    for action in KINESIS_READ_ACTIONS:
        assert by_action[action] == [ref("RealtimeLogStreamArn")], action
    assert by_action["kms:Decrypt"] == [ref("RealtimeLogStreamKmsKeyArn")]


def test_role_does_not_reference_the_bucket_resource(template):
    # bucket -> notification -> function -> role -> bucket would be a circular
    # dependency that only CloudFormation reports, at deploy time.
    role = resource(template, ROLE, "AWS::IAM::Role")
    assert not mentions(role, BUCKET)
    fn = resource(template, FUNCTION, "AWS::Serverless::Function")
    fn_without_events = copy.deepcopy(fn)
    fn_without_events["Properties"].pop("Events")
    assert not mentions(fn_without_events, BUCKET)


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
    pattern = re.compile(param(template, name)["AllowedPattern"])
    for value in good:
        assert pattern.fullmatch(value), f"{name} should accept {value!r}"
    for value in bad:
        assert not pattern.fullmatch(value), f"{name} should refuse {value!r}"


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
    assert "kinesis" not in json.dumps(t["Resources"]).lower()


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
            assert body.get("Type") != ESM, f"{name} is an event source mapping without the condition"


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
    events = props(template, FUNCTION, "AWS::Serverless::Function")["Events"]
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
    conditional = [pol for pol in policies if set(pol) == {"Fn::If"}]
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
    assert len(rules) == 1
    (rule,) = rules.values()
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [ref("RealtimeLogStreamArn"), ""]}]}
    assert rule["Assertions"] and all(a.get("AssertDescription") for a in rule["Assertions"])

    def accepted(overrides: dict[str, str]) -> bool:
        values = parameter_values(template, overrides)
        if not evaluate(rule["RuleCondition"], template, values):
            return True
        return all(evaluate(a["Assert"], template, values) for a in rule["Assertions"])

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
    assert list(mappings) == [MAPPING]
    assert mappings[MAPPING]["Condition"] == "HasRealtimeLogStream"
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
    assert deploy["confirm_changeset"] is True
    assert default["validate"]["parameters"]["lint"] is True
