//! The progress bar: on stderr, only when stderr is a terminal and the work
//! is large enough to wait for; never when piped or with `--quiet`.
//!
//! Local files are measured in bytes read (their sizes are known up front);
//! anything with S3 objects or stdin is measured in inputs done.

use std::io::{self, IsTerminal, Read};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::inputs::Input;

/// Files adding up to less than this finish before a bar is worth drawing.
const LARGE_BYTES: u64 = 64 << 20;
/// Fewer S3 objects than this finish before a bar is worth drawing.
const MANY_INPUTS: usize = 20;

/// What the bar counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Bytes,
    Inputs,
}

/// The progress of a run, maybe invisible.
#[derive(Clone, Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    unit: Unit,
}

impl Progress {
    /// A bar for reading `inputs`, if it should be shown.
    pub fn start(inputs: &[Input], quiet: bool) -> Progress {
        let sizes: Option<u64> = inputs
            .iter()
            .map(|input| match input {
                Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
                _ => None,
            })
            .sum();
        let (unit, len, large) = match sizes {
            Some(total) => (Unit::Bytes, total, total >= LARGE_BYTES),
            None => (
                Unit::Inputs,
                inputs.len() as u64,
                inputs.len() >= MANY_INPUTS,
            ),
        };
        let show = large && !quiet && io::stderr().is_terminal();
        let bar = show.then(|| {
            let template = match unit {
                Unit::Bytes => {
                    "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)"
                }
                Unit::Inputs => {
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} inputs ({per_sec}, {eta} left)"
                }
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
                .with_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { bar, unit }
    }

    /// The bar, for printing messages around it.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    /// `reader`, advancing the bar by the bytes read from it.
    pub fn reader<R: Read>(&self, reader: R) -> Counting<R> {
        Counting {
            inner: reader,
            bar: self.bar.clone().filter(|_| self.unit == Unit::Bytes),
        }
    }

    /// One input is done.
    pub fn input_done(&self) {
        if let Some(bar) = &self.bar
            && self.unit == Unit::Inputs
        {
            bar.inc(1);
        }
    }

    /// Removes the bar, before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A reader that advances a progress bar.
#[derive(Debug)]
pub struct Counting<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}
