//! IP privacy in the function's own outputs: with `CFLOG_IP_PRIVACY`, no
//! address of the input is left in the S3 destination's `ndjson.gz`
//! objects, in what the SQS and Kinesis destinations hold, or in the
//! object's report, whose errors quote the lines they reject. Logs come
//! from the in-process S3 server; the queue and the stream are moto's.

// The S3 notification; the fixtures the other tests share are not used here.
#[allow(dead_code)]
mod common;

use cflog_lambda::{Config, Handler, Response, Status};
use cflog_testkit::{CapturedStderr, MotoServer, S3Server, gzip, kinesis_records, sqs_messages};
use common::{BUCKET, s3_notification};
use serde_json::{Value, json};

const KEY: &str = "E2EXAMPLE.2024-03-14-10.a1b2c3d4.gz";

/// Every address of the input, as it is written there.
const ADDRESSES: [&str; 6] = [
    "192.0.2.200",
    "203.0.113.9",
    "198.51.100.77",
    "198.51.100.7",
    "2001:db8:1::5",
    "192.0.2.33",
];

/// Three entries with addresses in `c-ip` and `x-forwarded-for` (IPv4,
/// IPv6, an IPv4-mapped one), and a rejected line whose status column holds
/// an address list, as a line with shifted columns would: the report
/// quotes it.
fn log() -> Vec<u8> {
    b"#Version: 1.0\n\
      #Fields: date time c-ip x-forwarded-for cs-uri-stem sc-status\n\
      2024-03-14\t10:00:00\t192.0.2.200\t203.0.113.9,%20198.51.100.77\t/a\t200\n\
      2024-03-14\t10:00:01\t198.51.100.7\t-\t/b\t200\n\
      2024-03-14\t10:00:02\t2001:db8:1::5\t::ffff:192.0.2.33\t/c\t404\n\
      2024-03-14\t10:00:03\t-\t-\t/d\t198.51.100.77,192.0.2.200\n"
        .to_vec()
}

fn assert_no_address(what: &str, text: &str) {
    for address in ADDRESSES {
        assert!(!text.contains(address), "{what}: {address} in {text}");
    }
}

async fn log_server() -> S3Server {
    let server = S3Server::start().await;
    server.create_bucket(BUCKET).await;
    server.put(BUCKET, KEY, gzip(&log())).await;
    server
}

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(cflog_testkit::env(vars)).unwrap()
}

/// Handles the notification and checks the one object's report: three
/// entries, one rejected line quoted, and no address in the report as
/// written.
async fn handle(handler: &Handler) {
    let Response::S3(response) = handler.handle(s3_notification(&[KEY])).await.unwrap() else {
        panic!("an S3 event got another response");
    };
    let [report] = &response.objects[..] else {
        panic!("{response:?}");
    };
    assert_eq!(report.status, Status::Ok, "{report:?}");
    assert_eq!(
        (report.summary.entries, report.summary.rejected),
        (3, 1),
        "{report:?}"
    );
    let text = serde_json::to_string(report).unwrap();
    assert!(
        text.contains("field sc-status: expected a three-digit status: "),
        "the report quotes the rejected value: {text}"
    );
    assert_no_address("the report", &text);
}

#[tokio::test]
async fn no_address_in_the_s3_destinations_ndjson_gz_truncated_or_pseudonymised() {
    let moto = MotoServer::start().await;
    let secret = aws_sdk_secretsmanager::Client::new(&moto.sdk_config())
        .create_secret()
        .name("cflog-ip-key")
        .secret_string("a key of more than sixteen bytes")
        .send()
        .await
        .unwrap();
    let secret_arn = secret.arn().unwrap().to_owned();
    for privacy in ["truncate", "hmac"] {
        let server = log_server().await;
        server.create_bucket("out").await;
        let vars = [
            ("CFLOG_SINK", "s3"),
            ("CFLOG_OUTPUT_BUCKET", "out"),
            ("CFLOG_OUTPUT_FORMAT", "ndjson.gz"),
            ("CFLOG_IP_PRIVACY", privacy),
            ("CFLOG_IP_HMAC_KEY_SECRET", &secret_arn),
        ];
        // The key as the cold start reads it, from Secrets Manager.
        let vars = &vars[..if privacy == "hmac" { 5 } else { 4 }];
        let lookup = cflog_testkit::env(vars);
        let fetched =
            cflog_lambda::cold_start::fetch(&moto.sdk_config(), &server.client(), &lookup)
                .await
                .unwrap();
        let config = Config::from_lookup_fetched(&lookup, fetched).unwrap();
        let handler = Handler::new(server.client(), config)
            .unwrap()
            .reports_to(CapturedStderr)
            .metrics_to(CapturedStderr);
        handle(&handler).await;

        let mut objects = Vec::new();
        for file in walk(&server.root().join("out")) {
            let bytes = std::fs::read(&file).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            )
            .unwrap();
            objects.push(text);
        }
        assert_eq!(objects.len(), 1, "{privacy}: one hour, one object");
        let entries: Vec<Value> = objects[0]
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(entries.len(), 3, "{privacy}");
        let client = entries[0]["c_ip"].as_str().unwrap();
        match privacy {
            "truncate" => assert_eq!(
                (client, &entries[2]["c_ip"]),
                ("192.0.2.0", &json!("2001:db8:1::"))
            ),
            _ => assert!(
                client.len() >= 32 && client.bytes().all(|b| b.is_ascii_hexdigit()),
                "{client}"
            ),
        }
        assert_no_address(privacy, &objects[0]);
    }
}

/// Files under `dir`, at any depth.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn truncated_addresses_only_in_the_queue_and_the_stream() {
    let moto = MotoServer::start().await;
    let server = log_server().await;
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let url = sqs
        .create_queue()
        .queue_name("cflog-entries")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let kinesis = aws_sdk_kinesis::Client::new(&moto.sdk_config());
    kinesis
        .create_stream()
        .stream_name("cflog-entries")
        .shard_count(1)
        .send()
        .await
        .unwrap();

    for vars in [
        [("CFLOG_SINK", "sqs"), ("CFLOG_SQS_QUEUE_URL", &url)],
        [
            ("CFLOG_SINK", "kinesis"),
            ("CFLOG_KINESIS_STREAM", "cflog-entries"),
        ],
    ] {
        let mut vars = vars.to_vec();
        vars.push(("CFLOG_IP_PRIVACY", "truncate"));
        // Keyed by the client address: the key is rewritten too.
        vars.push(("CFLOG_KINESIS_PARTITION_KEY", "c_ip"));
        let handler = Handler::from_aws(&moto.sdk_config(), server.client(), config(&vars))
            .unwrap()
            .reports_to(CapturedStderr)
            .metrics_to(CapturedStderr);
        handle(&handler).await;
    }

    let queued = sqs_messages(&sqs, &url).await.concat();
    assert_eq!(queued.lines().count(), 3, "{queued}");
    assert!(queued.contains("\"c_ip\":\"192.0.2.0\""), "{queued}");
    assert_no_address("the queue", &queued);

    let records = kinesis_records(&kinesis, "cflog-entries").await;
    assert_eq!(records.len(), 3, "one entry per record");
    for (partition_key, data) in &records {
        assert_no_address("the stream", std::str::from_utf8(data).unwrap());
        assert_no_address("a partition key", partition_key);
    }
}
