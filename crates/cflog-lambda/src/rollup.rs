//! The rollup schedule's invocation, `{"cflog": "rollup"}`: every
//! distribution-hour of the last `CFLOG_ROLLUP_WINDOW_HOURS` whose staging
//! objects changed, rolled up into the table's parts
//! ([`cflog_destinations::s3::rollup`]).
//!
//! The hours up to the current one are rolled, by distribution, oldest
//! first; the current hour is still arriving and waits for the next run.
//! An hour is started only with a minute left before the invocation's
//! deadline ([`HOUR_MARGIN`]), so a rollup that would pass the timeout
//! stops in time. It then hands the rest on: it invokes the function
//! itself, asynchronously ([`Handover`], Lambda's `Invoke` with
//! `InvocationType=Event`), with a [`RollupEvent`] of its window and the
//! first hour it left, and that invocation goes on from there, and so on.
//! A run hands on only when it rolled at least one hour and none failed
//! (a failed run is retried by the scheduler, or by Lambda for a handed-on
//! one), and at most [`MAX_HANDOVERS`] times in a row; otherwise, or when
//! the invocation cannot be made, the hours left are in the response
//! (`deferred`) and the next hourly run rolls them. Hours rolled already
//! cost a listing and a HEAD each, and a second delivery of an event
//! writes nothing new.

use std::time::{Duration, Instant};

use cflog_destinations::s3::HourKey;
use serde::Serialize;

use crate::error::{FailureKind, HandlerError};
use crate::event::RollupEvent;
use crate::handler::Handler;
pub use crate::handover::{Handover, HandoverFuture, LambdaHandover};
use crate::metrics::RollupCounts;

/// The time kept free before the deadline to roll one more hour.
pub const HOUR_MARGIN: Duration = Duration::from_secs(60);

/// The most hand-overs in a row: a bound on the chain of invocations,
/// whatever happens (each rolls at least one hour, so a window of
/// distribution-hours ends the chain anyway).
pub const MAX_HANDOVERS: u32 = 24;

/// What the rollup's invocation rolled up.
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
    /// The hours left, the deadline being near: handed on, or left for the
    /// next hourly run.
    pub deferred: usize,
    /// Whether the deferred hours were handed on to a new invocation.
    pub handed_over: bool,
}

impl Handler {
    /// Rolls up the window's changed hours, until `deadline` less a
    /// minute; hands the rest on when there is one
    /// ([`hands_over_to`](Handler::hands_over_to)).
    ///
    /// # Errors
    ///
    /// `NotConfigured` without `CFLOG_ROLLUP=on`; when a listing or an hour
    /// failed, the first failure (the other hours went on), with the kind of
    /// its S3 request; the scheduler then retries the invocation.
    pub async fn handle_rollup(
        &self,
        event: &RollupEvent,
        deadline: Option<Instant>,
    ) -> Result<RollupResponse, HandlerError> {
        self.handle_rollup_at(time::OffsetDateTime::now_utc(), event, deadline)
            .await
    }

    /// As [`handle_rollup`](Handler::handle_rollup), as if it were `now`
    /// (which sets the schedule's window; a handed-on event has its own).
    ///
    /// # Errors
    ///
    /// As [`handle_rollup`](Handler::handle_rollup).
    pub async fn handle_rollup_at(
        &self,
        now: time::OffsetDateTime,
        event: &RollupEvent,
        deadline: Option<Instant>,
    ) -> Result<RollupResponse, HandlerError> {
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
        let (since, until) = match event.window {
            Some((since, until)) => (Some(since), Some(until)),
            None => (
                HourKey::of(now - time::Duration::hours(i64::from(hours))),
                HourKey::of(now),
            ),
        };
        let window = RollupWindow {
            since,
            until,
            distribution: None,
            resume: event.resume.clone(),
            deadline,
            margin: HOUR_MARGIN,
        };
        let rollup = HourlyRollup::new(self.s3_client().clone(), &output.bucket, &output.prefix);
        let failed = |error: RollupError| HandlerError {
            kind: kind_of(&error),
            message: error.to_string(),
        };
        let summary = match rollup.roll(&window).await {
            Ok(summary) => summary,
            Err(error) => {
                self.rollup_metrics(&RollupCounts::default(), Some(kind_of(&error)));
                return Err(failed(error));
            }
        };
        let handed_over = match (since, until, summary.deferred.first()) {
            (Some(since), Some(until), Some(first))
                if summary.failures.is_empty() && !summary.hours.is_empty() =>
            {
                let next = RollupEvent {
                    window: Some((since, until)),
                    resume: Some(first.clone()),
                    handover: event.handover.saturating_add(1),
                };
                self.hand_over(&next).await
            }
            _ => false,
        };
        let response = RollupResponse {
            hours: summary.hours.len(),
            written: summary.written(),
            unchanged: summary.unchanged(),
            rows: summary.rows(),
            deferred: summary.deferred.len(),
            handed_over,
        };
        tracing::info!(
            ?response,
            failed = summary.failures.len(),
            handover = event.handover,
            "rollup"
        );
        let counts = RollupCounts {
            hours: summary.hours.len() as u64,
            parts_written: summary.written() as u64,
            hours_left: match handed_over {
                true => 0,
                false => summary.deferred.len() as u64,
            },
        };
        let failure = summary.failures.first().map(|f| kind_of(&f.error));
        self.rollup_metrics(&counts, failure);
        summary.into_result().map_err(failed)?;
        Ok(response)
    }

    /// Writes the rollup's metrics line, unless `CFLOG_METRICS=off`.
    fn rollup_metrics(&self, counts: &RollupCounts, failure: Option<FailureKind>) {
        if let Some(metrics) = self.metrics() {
            metrics.rollup(counts, failure);
        }
    }

    /// Invokes the function with `next`, when a hand-over is set and the
    /// chain is not at its end; whether it was queued. A failure is logged:
    /// the next hourly run rolls the hours left.
    async fn hand_over(&self, next: &RollupEvent) -> bool {
        let Some(handover) = self.handover() else {
            return false;
        };
        if next.handover > MAX_HANDOVERS {
            tracing::warn!(
                handovers = MAX_HANDOVERS,
                "the rollup was handed on as often as it may be; the next hourly run goes on"
            );
            return false;
        }
        match handover.hand_over(next).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "the rollup could not be handed on; the next hourly run goes on");
                false
            }
        }
    }
}

/// The kind of a rollup's failure: its S3 request's, or `OutputFailed` for
/// a staging object that is not the table's Parquet.
fn kind_of(error: &cflog_destinations::s3::rollup::RollupError) -> FailureKind {
    use cflog_destinations::s3::rollup::RollupError;
    match error {
        RollupError::List(e) => FailureKind::of_request(e.failure()),
        RollupError::Head(e) => FailureKind::of_request(e.failure()),
        RollupError::Get(e) => FailureKind::of_request(e.failure()),
        RollupError::Delete(e) => FailureKind::of_request(e.failure()),
        RollupError::Upload(e) => FailureKind::of_request(e.failure()),
        RollupError::Body { .. } => FailureKind::S3Transient,
        _ => FailureKind::OutputFailed,
    }
}
