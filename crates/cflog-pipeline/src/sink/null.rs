//! A sink that writes nothing.

use std::convert::Infallible;
use std::task::{Context, Poll};

use cflog_core::LogLine;

use super::{Delivery, EntryError, Sink, Verdict};

/// Parses and counts, writing nothing: a dry run, and the parse-only
/// figure of the benchmarks. Lines are split and counted; values are not
/// checked, which only an output that writes them does.
#[derive(Clone, Debug, Default)]
pub struct NullSink {
    delivery: Delivery,
}

impl NullSink {
    /// A sink that drops every entry.
    pub fn new() -> NullSink {
        NullSink::default()
    }
}

impl Sink for NullSink {
    type Error = Infallible;

    #[inline]
    fn entry(&mut self, _line: &LogLine<'_>) -> Result<Verdict, EntryError<Infallible>> {
        self.delivery.entries += 1;
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<Result<Delivery, Infallible>> {
        Poll::Ready(Ok(self.delivery.clone()))
    }
}
