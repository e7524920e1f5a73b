//! CloudFront real-time logs: a Kinesis batch, one request per record.
//!
//! Each record's data (base64 in the event, decoded by `aws_lambda_events`)
//! holds one or more TAB-separated lines with no header, whose columns are
//! the configured fields in CloudFront's canonical order. They go through the
//! same pipeline, JSON contract and sink as standard log files, each record
//! as an input of its own so that its lines are numbered within it.

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::streams::KinesisEventResponse;
use cflog_pipeline::sink::{Sink, Verdict};
use cflog_pipeline::{Pipeline, PipelineError, Summary};

use crate::config::{Realtime, RejectPolicy};
use crate::report::BatchReport;
use crate::status::Status;

/// Parses every record of a batch into `sink`, in order.
///
/// Returns the report, and the batch response, which names the first record
/// to retry under [`RejectPolicy::Retry`] (Lambda checkpoints before it and
/// redelivers it and everything after it, so processing stops there). When
/// the sink's output fails, the result is that error instead: entries of
/// earlier records may still sit in the sink's buffer, so the whole batch
/// must be retried.
pub async fn process_batch<S: Sink>(
    records: &[KinesisEventRecord],
    realtime: &Realtime,
    sink: S,
) -> (
    Result<KinesisEventResponse, PipelineError<S::Error>>,
    BatchReport,
) {
    let mut report = BatchReport {
        kind: "cflog.summary",
        source: "kinesis",
        status: Status::Ok,
        stream: records.first().and_then(|r| r.event_source_arn.clone()),
        records: records.len() as u64,
        records_with_rejects: 0,
        retried: Vec::new(),
        error: None,
        summary: Summary::default(),
    };
    let mut response = KinesisEventResponse::default();
    let mut pipeline = Pipeline::new(&realtime.options, sink);
    let process = async {
        for record in records {
            let sequence = &record.kinesis.sequence_number;
            let verdict = pipeline.push(&record.kinesis.data)?;
            // A record's data is plain text, read as it is.
            pipeline.set_input(false, record.kinesis.data.len() as u64);
            let summary = pipeline.next_input()?;
            add(&mut report.summary, &summary, sequence);
            if summary.rejected > 0 {
                report.records_with_rejects += 1;
                if realtime.rejects == RejectPolicy::Retry {
                    response.add_failure(sequence.clone());
                    report.retried.push(sequence.clone());
                    report.status = Status::Retry;
                    break;
                }
            }
            if verdict == Verdict::Stop {
                break;
            }
            pipeline.ready().await?;
        }
        let finished = pipeline.finish().await?;
        report.summary.delivered = finished.delivered;
        Ok::<(), PipelineError<S::Error>>(())
    };
    match process.await {
        Ok(()) => (Ok(response), report),
        Err(err) => {
            report.status = Status::Failed;
            report.error = Some(err.to_string());
            // What got through before the failure, as an object's report
            // says; Lambda retries the batch, and sends it again.
            report.summary.delivered = pipeline.summary().delivered;
            (Err(err), report)
        }
    }
}

/// Adds one record's counts to the batch totals, naming the record in its
/// listed errors.
fn add(totals: &mut Summary, record: &Summary, sequence: &str) {
    let mut record = record.clone();
    for error in &mut record.errors {
        error.message = format!("record {sequence}: {}", error.message);
    }
    totals.add(&record);
    // Records are many and small: keep the batch's wall time, not a sum.
    totals.duration_ms = 0;
}
