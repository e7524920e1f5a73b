//! The rollup through the handler, against s3s-fs: with `CFLOG_ROLLUP=on`
//! an S3 event's log files are staged under `<prefix>staging/`, and the
//! schedule's event `{"cflog": "rollup"}` rolls the window's hours into one
//! part each; a second delivery of it writes nothing. Without the setting,
//! the schedule's event is refused as `NotConfigured`.

// The S3 fixtures; the sinks the other tests build are not used here.
#[allow(dead_code)]
mod common;

use cflog_lambda::{Config, FailureKind, Handler};
use cflog_testkit::{S3Server, gzip, testdata};
use serde_json::json;

const ATHENA: &str = "athena";

fn rollup_config(on: bool) -> Config {
    Config::from_lookup(move |name| match name {
        "CFLOG_SINK" => Some("s3".into()),
        "CFLOG_OUTPUT_BUCKET" => Some(ATHENA.into()),
        "CFLOG_OUTPUT_PREFIX" => Some("requests/".into()),
        "CFLOG_ROLLUP" => Some(if on { "on" } else { "off" }.into()),
        _ => None,
    })
    .unwrap()
}

/// Every key under `prefix` in the output bucket.
async fn keys(server: &S3Server, prefix: &str) -> Vec<String> {
    let listed = server
        .client()
        .list_objects_v2()
        .bucket(ATHENA)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_by_the_s3_event_and_rolled_up_by_the_schedule_once() {
    let log = testdata("aws-docs-33-fields.log");
    let files = [
        "cloudfront/E2EXAMPLE.2019-12-04-21.a1b2c3d4.gz",
        "cloudfront/E2EXAMPLE.2019-12-04-21.b2c3d4e5.gz",
    ];
    let server = S3Server::start().await;
    server.create_bucket(common::BUCKET).await;
    server.create_bucket(ATHENA).await;
    for key in files {
        server.put(common::BUCKET, key, gzip(&log)).await;
    }
    let handler = Handler::new(server.client(), rollup_config(true)).unwrap();
    handler
        .handle(common::s3_notification(&files))
        .await
        .unwrap();
    let staged = keys(&server, "requests/staging/").await;
    assert!(staged.len() >= 2, "{staged:?}");
    assert!(keys(&server, "requests/distribution=").await.is_empty());

    // The schedule the next day: the log's hour of December 4 is in the
    // 48-hour window, its hour of December 13 is not (yet).
    let now = time::macros::datetime!(2019-12-05 12:10 UTC);
    let first = handler.handle_rollup_at(now, None).await.unwrap();
    let hours: std::collections::BTreeSet<&str> = staged
        .iter()
        .map(|k| &k["requests/staging/".len()..k.rfind('/').unwrap()])
        .collect();
    assert_eq!(hours.len(), 2, "{hours:?}");
    let in_window = "distribution=E2EXAMPLE/year=2019/month=12/day=04/hour=21";
    assert!(hours.contains(in_window));
    assert_eq!((first.hours, first.written), (1, 1), "{first:?}");
    // Both files' entries of that hour, in one part.
    assert_eq!(first.rows, 2 * 3);
    assert_eq!(
        keys(&server, "requests/distribution=").await,
        vec![format!("requests/{in_window}/part-00000.parquet")]
    );

    // The schedule's event delivered again: nothing to write.
    let again = handler.handle(json!({"cflog": "rollup"})).await;
    // (Now is years after the logs: their hours are out of the window.)
    let again = again.unwrap();
    let again = serde_json::to_value(&again).unwrap();
    assert_eq!(again["written"], 0, "{again}");
    let second = handler.handle_rollup_at(now, None).await.unwrap();
    assert_eq!((second.written, second.unchanged), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_s_event_without_the_rollup_is_not_configured() {
    let server = S3Server::start().await;
    let handler = Handler::new(server.client(), rollup_config(false)).unwrap();
    let error = handler
        .handle(json!({"cflog": "rollup"}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::NotConfigured, "{error:?}");
}
