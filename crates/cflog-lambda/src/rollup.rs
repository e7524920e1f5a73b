//! The rollup schedule's invocation, `{"cflog": "rollup"}`: every
//! distribution-hour of the last `CFLOG_ROLLUP_WINDOW_HOURS` whose staging
//! objects changed, rolled up into the table's parts
//! ([`cflog_destinations::s3::rollup`]).
//!
//! The hours up to the current one are rolled, oldest first; the current
//! hour is still arriving and waits for the next run. An hour is started
//! only with a minute left before the invocation's deadline, so a rollup
//! that would pass the timeout stops in time, and the next run (an hour
//! later) goes on where it stopped: hours rolled already are unchanged and
//! cost a listing and a HEAD each. A second delivery of the schedule's
//! event writes nothing new.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{FailureKind, HandlerError};
use crate::handler::Handler;

/// The time kept free before the deadline to roll one more hour.
const HOUR_MARGIN: Duration = Duration::from_secs(60);

/// What the schedule's invocation rolled up.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RollupResponse {
    /// The distribution-hours looked at.
    pub hours: usize,
    /// The parts written.
    pub written: usize,
    /// The parts left as they were.
    pub unchanged: usize,
    /// The rows written.
    pub rows: u64,
    /// The hours left for the next run, the deadline being near.
    pub deferred: usize,
}

impl Handler {
    /// Rolls up the window's changed hours, until `deadline` less a minute.
    ///
    /// # Errors
    ///
    /// `NotConfigured` without `CFLOG_ROLLUP=on`; when a listing or an hour
    /// failed, the first failure (the other hours went on), with the kind of
    /// its S3 request; the scheduler then retries the invocation.
    pub async fn handle_rollup(
        &self,
        deadline: Option<Instant>,
    ) -> Result<RollupResponse, HandlerError> {
        self.handle_rollup_at(time::OffsetDateTime::now_utc(), deadline)
            .await
    }

    /// As [`handle_rollup`](Handler::handle_rollup), as if it were `now`.
    ///
    /// # Errors
    ///
    /// As [`handle_rollup`](Handler::handle_rollup).
    pub async fn handle_rollup_at(
        &self,
        now: time::OffsetDateTime,
        deadline: Option<Instant>,
    ) -> Result<RollupResponse, HandlerError> {
        use cflog_destinations::s3::HourKey;
        use cflog_destinations::s3::rollup::{HourlyRollup, RollupError, RollupWindow};

        let Some((output, hours)) = self
            .config()
            .s3
            .as_ref()
            .and_then(|s3| Some((s3, s3.rollup_window_hours?)))
        else {
            return Err(HandlerError {
                kind: FailureKind::NotConfigured,
                message: "the rollup schedule invoked a function without CFLOG_ROLLUP=on".into(),
            });
        };
        let window = RollupWindow {
            since: HourKey::of(now - time::Duration::hours(i64::from(hours))),
            until: HourKey::of(now),
            distribution: None,
            deadline,
            margin: HOUR_MARGIN,
        };
        let rollup = HourlyRollup::new(self.s3_client().clone(), &output.bucket, &output.prefix);
        let failed = |error: RollupError| {
            let kind = match &error {
                RollupError::List(e) => FailureKind::of_request(e.failure()),
                RollupError::Head(e) => FailureKind::of_request(e.failure()),
                RollupError::Get(e) => FailureKind::of_request(e.failure()),
                RollupError::Delete(e) => FailureKind::of_request(e.failure()),
                RollupError::Upload(e) => FailureKind::of_request(e.failure()),
                RollupError::Body { .. } => FailureKind::S3Transient,
                _ => FailureKind::OutputFailed,
            };
            HandlerError {
                kind,
                message: error.to_string(),
            }
        };
        let summary = rollup.roll(&window).await.map_err(failed)?;
        let response = RollupResponse {
            hours: summary.hours.len(),
            written: summary.written(),
            unchanged: summary.unchanged(),
            rows: summary.rows(),
            deferred: summary.deferred.len(),
        };
        tracing::info!(?response, failed = summary.failures.len(), "rollup");
        summary.into_result().map_err(failed)?;
        Ok(response)
    }
}
