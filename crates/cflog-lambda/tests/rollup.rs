//! The rollup through the handler, against s3s-fs: with `CFLOG_ROLLUP=on`
//! an S3 event's log files are staged under `<prefix>staging/`, and the
//! schedule's event `{"cflog": "rollup"}` rolls the window's hours into one
//! part each; a second delivery of it writes nothing. Without the setting,
//! the schedule's event is refused as `NotConfigured`. A rollup that
//! reaches its deadline hands the hours left on, and the invocation it
//! hands them to rolls exactly those.

// The S3 fixtures; the sinks the other tests build are not used here.
#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cflog_lambda::event::RollupEvent;
use cflog_lambda::rollup::{HOUR_MARGIN, Handover, HandoverFuture};
use cflog_lambda::{Config, FailureKind, Handler};
use cflog_testkit::{HoldingProxy, S3Server, SharedOutput, client, gzip, testdata};
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
    let first = handler
        .handle_rollup_at(now, &RollupEvent::default(), None)
        .await
        .unwrap();
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
    let second = handler
        .handle_rollup_at(now, &RollupEvent::default(), None)
        .await
        .unwrap();
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

/// The hand-overs of a handler, kept instead of invoking a function.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<RollupEvent>>>);

impl Handover for Kept {
    fn hand_over<'a>(&'a self, event: &'a RollupEvent) -> HandoverFuture<'a> {
        self.0.lock().unwrap().push(event.clone());
        Box::pin(async { Ok(()) })
    }
}

impl Kept {
    fn events(&self) -> Vec<RollupEvent> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollup_at_its_deadline_hands_on_the_hours_left_and_the_next_invocation_rolls_exactly_those()
 {
    // Two distributions' log files of two hours each: four distribution-hours.
    let log = String::from_utf8(testdata("aws-docs-33-fields.log"))
        .unwrap()
        .replace("2019-12-13\t22:", "2019-12-04\t22:");
    let files = [
        "cloudfront/E2EXAMPLE.2019-12-04-21.a1b2c3d4.gz",
        "cloudfront/E3EXAMPLE.2019-12-04-21.b2c3d4e5.gz",
    ];
    let server = S3Server::start().await;
    server.create_bucket(common::BUCKET).await;
    server.create_bucket(ATHENA).await;
    for key in files {
        server.put(common::BUCKET, key, gzip(log.as_bytes())).await;
    }
    Handler::new(server.client(), rollup_config(true))
        .unwrap()
        .handle(common::s3_notification(&files))
        .await
        .unwrap();
    let staged: BTreeSet<String> = keys(&server, "requests/staging/")
        .await
        .iter()
        .map(|k| k["requests/staging/".len()..k.rfind('/').unwrap()].to_owned())
        .collect();
    assert_eq!(staged.len(), 4, "{staged:?}");
    let now = time::macros::datetime!(2019-12-05 12:10 UTC);

    // No time for an hour: nothing rolled, so nothing handed on (each
    // invocation of a chain rolls one hour at least); the next hourly run
    // has them all.
    let kept = Kept::default();
    let metrics = SharedOutput::default();
    let handler = Handler::new(server.client(), rollup_config(true))
        .unwrap()
        .hands_over_to(kept.clone())
        .metrics_to(metrics.clone());
    let none = handler
        .handle_rollup_at(now, &RollupEvent::default(), Some(Instant::now()))
        .await
        .unwrap();
    assert_eq!((none.hours, none.deferred, none.handed_over), (0, 4, false));
    assert!(kept.events().is_empty());
    // The metrics say so: four hours left for the next hourly run.
    let lines = metrics.entries();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (&lines[0]["RollupHours"], &lines[0]["RollupHoursLeft"]),
        (&json!(0), &json!(4))
    );

    // Time for the first hour only: its PUT is held until the deadline is
    // past the margin, so that the next hour is not started.
    let proxy = HoldingProxy::start(&server.endpoint, "PUT ").await;
    let metrics = SharedOutput::default();
    let handler = Arc::new(
        Handler::new(client(&proxy.endpoint), rollup_config(true))
            .unwrap()
            .hands_over_to(kept.clone())
            .metrics_to(metrics.clone()),
    );
    let deadline = Instant::now() + HOUR_MARGIN + Duration::from_secs(2);
    let rolling = tokio::spawn({
        let handler = Arc::clone(&handler);
        async move {
            handler
                .handle_rollup_at(now, &RollupEvent::default(), Some(deadline))
                .await
        }
    });
    proxy.held().await;
    tokio::time::sleep_until((deadline - HOUR_MARGIN).into()).await;
    proxy.release();
    let first = rolling.await.unwrap().unwrap();
    assert_eq!(proxy.count(), 1);
    assert_eq!(
        (
            first.hours,
            first.written,
            first.deferred,
            first.handed_over
        ),
        (1, 1, 3, true),
        "{first:?}"
    );
    // None left for the next hourly run: they were handed on.
    let lines = metrics.entries();
    assert_eq!(
        (
            &lines[0]["RollupHours"],
            &lines[0]["RollupPartsWritten"],
            &lines[0]["RollupHoursLeft"],
            &lines[0]["FailedRollups"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(0))
    );
    let handed = kept.events();
    assert_eq!(handed.len(), 1);
    let payload = handed[0].payload();
    assert_eq!(
        payload,
        json!({
            "cflog": "rollup",
            "since": "year=2019/month=12/day=03/hour=12",
            "until": "year=2019/month=12/day=05/hour=12",
            "resume": "distribution=E2EXAMPLE/year=2019/month=12/day=04/hour=22",
            "handover": 1,
        })
    );

    // The handed-on invocation, a day later (its window is the payload's):
    // the three hours left, each written, none looked at twice.
    let next = Handler::new(server.client(), rollup_config(true))
        .unwrap()
        .hands_over_to(kept.clone())
        .handle(payload)
        .await
        .unwrap();
    let next = serde_json::to_value(&next).unwrap();
    assert_eq!(
        next,
        json!({"hours": 3, "written": 3, "unchanged": 0, "rows": 9, "deferred": 0, "handed_over": false})
    );
    assert_eq!(kept.events().len(), 1);
    // One part per staged hour.
    let parts: BTreeSet<String> = keys(&server, "requests/distribution=")
        .await
        .iter()
        .map(|k| {
            k.strip_prefix("requests/")
                .unwrap()
                .strip_suffix("/part-00000.parquet")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(parts, staged);
}
