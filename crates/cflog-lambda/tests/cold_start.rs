//! The cold start's reads against real servers: the HMAC key of
//! `CFLOG_IP_PRIVACY=hmac` from a Secrets Manager secret and from SSM
//! parameters (moto), and `CFLOG_GEOIP_DB=s3://…` from the in-process S3
//! server. Each failure names the variable and the source.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use cflog_core::json::JsonWriter;
use cflog_core::{LogLine, Schema};
use cflog_enrich::privacy::Pseudonymizer;
use cflog_lambda::Config;
use cflog_lambda::cold_start::fetch;
use cflog_lambda::config::ConfigError;
use cflog_testkit::{MOTO_ACCESS_KEY, MOTO_REGION, MOTO_SECRET_KEY, MotoServer, S3Server};
use serde_json::Value;

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// The AWS configuration of a client of moto.
async fn moto_config(moto: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new(MOTO_REGION))
        .credentials_provider(Credentials::new(
            MOTO_ACCESS_KEY,
            MOTO_SECRET_KEY,
            None,
            None,
            "moto",
        ))
        .load()
        .await
}

/// The configuration of `vars`, with what they name read from `shared` and
/// `s3`, as the function's cold start reads it.
async fn cold_start(
    shared: &SdkConfig,
    s3: &aws_sdk_s3::Client,
    vars: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let lookup = cflog_testkit::env(vars);
    let fetched = fetch(shared, s3, &lookup).await?;
    Config::from_lookup_fetched(&lookup, fetched)
}

/// The entry the configuration's selection writes for a line.
fn entry(config: &Config, header: &str, text: &str) -> Value {
    let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
    let mut spans = Vec::new();
    let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
    let mut out = Vec::new();
    JsonWriter::new(config.selection.clone())
        .write(&line, &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn pseudonym(key: &str, address: &str) -> String {
    let address: IpAddr = address.parse().unwrap();
    Pseudonymizer::from_key(key.as_bytes())
        .unwrap()
        .pseudonym(address)
}

const HEADER: &str = "#Fields: date time c-ip x-forwarded-for sc-status";
const LINE: &str = "2024-03-14\t10:00:00\t192.0.2.200\t203.0.113.9\t200";

#[tokio::test]
async fn the_hmac_key_comes_from_a_secret_or_a_secure_string_and_nowhere_else() {
    let moto = MotoServer::start().await;
    let shared = moto_config(&moto).await;
    let s3 = moto.s3_client();
    let secrets = aws_sdk_secretsmanager::Client::new(&shared);
    let secret = secrets
        .create_secret()
        .name("cflog-ip-key")
        .secret_string(format!("{KEY}\n"))
        .send()
        .await
        .unwrap();
    let secret_arn = secret.arn().unwrap().to_owned();
    let ssm = aws_sdk_ssm::Client::new(&shared);
    let other_key = "another key, of more than sixteen bytes";
    for (name, value, kind) in [
        (
            "/cflog/ip-key",
            other_key,
            aws_sdk_ssm::types::ParameterType::SecureString,
        ),
        (
            "/cflog/plain",
            KEY,
            aws_sdk_ssm::types::ParameterType::String,
        ),
        (
            "/cflog/short",
            "too short",
            aws_sdk_ssm::types::ParameterType::SecureString,
        ),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .send()
            .await
            .unwrap();
    }

    // From the secret, less its line break: the key's pseudonyms, c_ip
    // as text, and none of the addresses.
    let hmac = |source: &str| {
        [
            ("CFLOG_IP_PRIVACY", "hmac"),
            ("CFLOG_IP_HMAC_KEY_SECRET", source),
        ]
        .map(|(k, v)| (k, v.to_owned()))
    };
    let vars = hmac(&secret_arn);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = cold_start(&shared, &s3, &vars).await.unwrap();
    let from_secret = entry(&config, HEADER, LINE);
    assert_eq!(from_secret["c_ip"], pseudonym(KEY, "192.0.2.200"));
    assert_eq!(
        from_secret["x_forwarded_for"],
        pseudonym(KEY, "203.0.113.9")
    );
    let text = from_secret.to_string();
    assert!(!text.contains("192.0.2.200") && !text.contains("203.0.113.9"));

    // From a SecureString, by name: another key, other pseudonyms.
    let config = cold_start(
        &shared,
        &s3,
        &[
            ("CFLOG_IP_PRIVACY", "hmac"),
            ("CFLOG_IP_HMAC_KEY_SECRET", "/cflog/ip-key"),
        ],
    )
    .await
    .unwrap();
    let from_parameter = entry(&config, HEADER, LINE);
    assert_eq!(from_parameter["c_ip"], pseudonym(other_key, "192.0.2.200"));
    assert_ne!(from_parameter["c_ip"], from_secret["c_ip"]);

    // A plain String parameter, a missing secret or parameter, a short key:
    // the cold start fails, naming the variable and the source.
    let missing_secret = secret_arn.replace("cflog-ip-key", "no-such-secret");
    for (source, says) in [
        ("/cflog/plain", "SecureString"),
        ("/cflog/none", "GetParameter failed"),
        (missing_secret.as_str(), "GetSecretValue failed"),
        ("/cflog/short", "fewer than the 16"),
    ] {
        let error = cold_start(
            &shared,
            &s3,
            &[
                ("CFLOG_IP_PRIVACY", "hmac"),
                ("CFLOG_IP_HMAC_KEY_SECRET", source),
            ],
        )
        .await
        .unwrap_err();
        assert_eq!(error.variable, "CFLOG_IP_HMAC_KEY_SECRET", "{error}");
        assert!(error.message.contains(source), "{error}");
        assert!(error.message.contains(says), "{error}");
        // Never the key.
        assert!(!error.message.contains(KEY), "{error}");
    }
}

/// The test GeoIP databases, written with the tools venv's mmdb-writer.
fn databases(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cflog-enrich/tests/support/make_geoip_dbs.py");
    let status = Command::new(cflog_testkit::tools_python())
        .arg(script)
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "make_geoip_dbs.py failed");
    dir.join("geoip2.mmdb")
}

#[tokio::test]
async fn an_s3_geoip_database_is_read_at_cold_start_and_a_missing_one_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::fs::read(databases(dir.path())).unwrap();
    let server = S3Server::start().await;
    server.create_bucket("geo").await;
    server.put("geo", "dbs/country.mmdb", db).await;
    server
        .put("geo", "dbs/corrupt.mmdb", b"not a database".to_vec())
        .await;
    let s3 = server.client();
    // No AWS call but S3's: the configuration of the other clients is unused.
    let shared = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .build();

    let config = cold_start(
        &shared,
        &s3,
        &[
            ("CFLOG_GEOIP_DB", "s3://geo/dbs/country.mmdb"),
            ("CFLOG_IP_PRIVACY", "truncate"),
        ],
    )
    .await
    .unwrap();
    let entry = entry(&config, HEADER, LINE);
    // From the whole address (192.0.2.128/25 is FR, its /24 half DE).
    assert_eq!(entry["c_country"], "FR");
    assert_eq!(entry["asn"], 64501);
    assert_eq!(entry["c_ip"], "192.0.2.0");

    for (uri, says) in [
        ("s3://geo/dbs/missing.mmdb", "GetObject failed"),
        ("s3://nobucket/country.mmdb", "GetObject failed"),
        ("s3://geo/dbs/corrupt.mmdb", "corrupt.mmdb"),
        ("s3://geo", "expected s3://bucket/key"),
    ] {
        let error = cold_start(&shared, &s3, &[("CFLOG_GEOIP_DB", uri)])
            .await
            .unwrap_err();
        assert_eq!(error.variable, "CFLOG_GEOIP_DB", "{error}");
        assert!(error.message.contains(uri), "{error}");
        assert!(error.message.contains(says), "{error}");
    }
}
