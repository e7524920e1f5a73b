//! Corpora for the benchmarks, generated once with the project's seeded
//! generator (`scripts/gen_cflog.py`) and cached under `target/`, a CPU-time
//! measurement, and the stream services modeled without a network
//! ([`streams`]).

pub mod streams;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A generated 33-field log of `lines` requests with seed 42, spread over 24
/// hours, plain or gzip (by the extension), created on first use.
///
/// # Panics
///
/// When the generator cannot run: the benchmarks need `python3`.
pub fn corpus(lines: u64, extension: &str) -> PathBuf {
    corpus_spanning(lines, 24, extension)
}

/// As [`corpus`], with the requests spread over `hours` hours. A real
/// CloudFront file holds the requests of one hour (its name's); the 24-hour
/// corpus is the harder case for a destination that splits by hour.
///
/// # Panics
///
/// When the generator cannot run: the benchmarks need `python3`.
pub fn corpus_spanning(lines: u64, hours: u32, extension: &str) -> PathBuf {
    let dir = workspace().join("target/cflog-bench");
    let name = match hours {
        24 => format!("corpus-{lines}-seed42.{extension}"),
        hours => format!("corpus-{lines}-seed42-{hours}h.{extension}"),
    };
    let path = dir.join(name);
    if !path.exists() {
        std::fs::create_dir_all(&dir).expect("create target/cflog-bench");
        // Same extension (the generator gzips by name), so that a run cut
        // short never leaves a corpus that looks complete.
        let partial = dir.join(format!("partial-{lines}-{hours}h.{extension}"));
        let status = Command::new("python3")
            .arg(workspace().join("scripts/gen_cflog.py"))
            .args(["--seed", "42", "--lines", &lines.to_string()])
            .args(["--span-hours", &hours.to_string(), "--out"])
            .arg(&partial)
            .status()
            .expect("run python3 scripts/gen_cflog.py");
        assert!(status.success(), "gen_cflog.py failed");
        std::fs::rename(&partial, &path).expect("move the corpus in place");
    }
    path
}

/// Criterion measurement of the benchmark thread's CPU time. On a shared
/// 2-core machine, wall time also counts the time other processes held the
/// core; CPU time does not.
pub struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}
