//! What a backfill will cost and how long it will take, on paper.
//!
//! Prices are us-east-1 list prices at the time of writing; the README's
//! "Process the logs you already have" works the same sums through for a
//! million objects. The processing rate is the handler bench's
//! (BENCHMARKS.md, `s3_object_to_ndjson`): a 100,000-line object of 11.7 MB
//! of gzip in 101.9 ms on one x86_64 vCPU. The time Lambda spends waiting
//! for an object's first byte is not measured here and is assumed.

use std::fmt;
use std::time::Duration;

/// S3 Batch Operations: per job.
const BATCH_PER_JOB: f64 = 0.25;
/// S3 Batch Operations: per million objects.
const BATCH_PER_MILLION_OBJECTS: f64 = 1.00;
/// Lambda: per million requests (one per object).
const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda on arm64: per GB-second.
const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// S3 GET requests: per thousand (one per object).
const S3_GET_PER_THOUSAND: f64 = 0.0004;
/// CloudWatch Logs ingestion: per GB, for the default stdout sink.
const LOGS_INGESTION_PER_GB: f64 = 0.50;

/// Seconds of one vCPU per byte of gzip: 101.9 ms for 11.7 MB (measured).
const SECONDS_PER_GZIP_BYTE: f64 = 0.1019 / 11.7e6;
/// Bytes of gzip per log line in that object: 11.7 MB for 100,000 lines.
const GZIP_BYTES_PER_LINE: f64 = 117.0;
/// A JSON event with every field, as the README's cost section assumes.
const EVENT_BYTES: f64 = 1_000.0;
/// Per object, the invocation and S3's first byte: assumed, not measured.
const TASK_OVERHEAD_SECONDS: f64 = 0.1;
/// Lambda gives one full vCPU at this much memory; a task handles one
/// object on one thread, so more memory does not make it faster.
const MB_PER_VCPU: f64 = 1769.0;

/// What the estimate is for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Workload {
    /// Objects in the manifest.
    pub objects: u64,
    /// Their total size, as stored (gzip).
    pub bytes: u64,
    /// The function's memory, in MB.
    pub memory_mb: u32,
    /// How many invocations run at once.
    pub concurrency: u32,
}

/// The estimate, in US dollars and wall time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Batch Operations' job and object fees.
    pub batch_operations: f64,
    /// Lambda's request fees.
    pub lambda_requests: f64,
    /// Lambda's compute (GB-seconds).
    pub lambda_compute: f64,
    /// S3 GET requests of the function.
    pub s3_requests: f64,
    /// The sum of the above.
    pub total: f64,
    /// Time of one object on average.
    pub per_object: Duration,
    /// Wall time at the workload's concurrency.
    pub wall: Duration,
    /// Not in the total: CloudWatch Logs ingestion of every line as a JSON
    /// event of all fields (the default sink), from the lines the bytes
    /// suggest.
    pub logs_ingestion: f64,
}

impl Workload {
    /// The estimate.
    pub fn estimate(&self) -> Estimate {
        let objects = self.objects as f64;
        let bytes = self.bytes as f64;
        let vcpu = (f64::from(self.memory_mb.max(128)) / MB_PER_VCPU).min(1.0);
        let busy_seconds = objects * TASK_OVERHEAD_SECONDS + bytes * SECONDS_PER_GZIP_BYTE / vcpu;
        let batch_operations = match self.objects {
            0 => 0.0,
            _ => BATCH_PER_JOB + objects / 1e6 * BATCH_PER_MILLION_OBJECTS,
        };
        let lambda_requests = objects / 1e6 * LAMBDA_PER_MILLION_REQUESTS;
        let lambda_compute =
            busy_seconds * f64::from(self.memory_mb) / 1024.0 * LAMBDA_PER_GB_SECOND;
        let s3_requests = objects / 1e3 * S3_GET_PER_THOUSAND;
        let per_object = match self.objects {
            0 => 0.0,
            n => busy_seconds / n as f64,
        };
        Estimate {
            batch_operations,
            lambda_requests,
            lambda_compute,
            s3_requests,
            total: batch_operations + lambda_requests + lambda_compute + s3_requests,
            per_object: Duration::from_secs_f64(per_object),
            wall: Duration::from_secs_f64(busy_seconds / f64::from(self.concurrency.max(1))),
            logs_ingestion: bytes / GZIP_BYTES_PER_LINE * EVENT_BYTES / 1e9 * LOGS_INGESTION_PER_GB,
        }
    }
}

/// Dollars with the digits that matter: `$12.35`, `$0.25`, `$0.0042`.
pub struct Dollars(pub f64);

impl fmt::Display for Dollars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            d if d >= 0.1 || d <= 0.0 => write!(f, "${d:.2}"),
            // Two significant digits of a small amount.
            d => {
                let decimals = ((-d.log10()).ceil() as usize + 1).min(8);
                write!(f, "${d:.decimals$}")
            }
        }
    }
}

/// A duration as people say it: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`.
pub struct Span(pub Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs_f64().round() as u64;
        match seconds {
            0..60 => write!(f, "{seconds} s"),
            60..3600 => write!(f, "{} min", seconds.div_ceil(60)),
            3600..86_400 => write!(f, "{} h {} min", seconds / 3600, seconds % 3600 / 60),
            _ => write!(f, "{} d {} h", seconds / 86_400, seconds % 86_400 / 3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9_f64.max(b.abs() * 1e-6)
    }

    #[test]
    fn a_million_objects_of_a_thousand_lines() {
        let estimate = Workload {
            objects: 1_000_000,
            bytes: 117_000_000_000,
            memory_mb: 512,
            concurrency: 100,
        }
        .estimate();
        assert!(close(estimate.batch_operations, 1.25));
        assert!(close(estimate.lambda_requests, 0.20));
        assert!(close(estimate.s3_requests, 0.40));
        // Each object: 0.1 s waiting plus 117 kB at 114.8 MB/s of one vCPU,
        // of which 512 MB has 0.289.
        let per_object = 0.1 + 117e3 * SECONDS_PER_GZIP_BYTE * 1769.0 / 512.0;
        assert!(close(estimate.per_object.as_secs_f64(), per_object));
        assert!(close(
            estimate.lambda_compute,
            1e6 * per_object * 0.5 * LAMBDA_PER_GB_SECOND
        ));
        assert!(close(estimate.wall.as_secs_f64(), 1e6 * per_object / 100.0));
        assert!(close(
            estimate.total,
            estimate.batch_operations
                + estimate.lambda_requests
                + estimate.lambda_compute
                + estimate.s3_requests
        ));
        // A billion lines of 1 kB events: 1,000 GB at $0.50.
        assert!(close(estimate.logs_ingestion, 500.0));
    }

    #[test]
    fn more_memory_than_a_vcpu_is_not_faster() {
        let at = |memory_mb| {
            Workload {
                objects: 10,
                bytes: 10 << 20,
                memory_mb,
                concurrency: 1,
            }
            .estimate()
            .wall
        };
        assert!(at(1024) < at(512));
        assert_eq!(at(1769), at(3538));
    }

    #[test]
    fn nothing_costs_nothing() {
        let estimate = Workload {
            objects: 0,
            bytes: 0,
            memory_mb: 512,
            concurrency: 0,
        }
        .estimate();
        assert_eq!(estimate.total, 0.0);
        assert_eq!(estimate.wall, Duration::ZERO);
    }

    #[test]
    fn amounts_and_spans_read_well() {
        assert_eq!(Dollars(12.345).to_string(), "$12.35");
        assert_eq!(Dollars(0.042).to_string(), "$0.042");
        assert_eq!(Dollars(0.000_42).to_string(), "$0.00042");
        assert_eq!(Dollars(0.0).to_string(), "$0.00");
        assert_eq!(Dollars(0.25).to_string(), "$0.25");
        assert_eq!(Dollars(0.000_15).to_string(), "$0.00015");
        assert_eq!(Span(Duration::from_secs(45)).to_string(), "45 s");
        assert_eq!(Span(Duration::from_secs(61)).to_string(), "2 min");
        assert_eq!(
            Span(Duration::from_secs(3 * 3600 + 20 * 60)).to_string(),
            "3 h 20 min"
        );
        assert_eq!(
            Span(Duration::from_secs(2 * 86_400 + 4 * 3600)).to_string(),
            "2 d 4 h"
        );
    }
}
