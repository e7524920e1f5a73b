//! What happened to one input.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sink::Delivery;

/// How many rejected lines a summary lists in full.
pub const MAX_LISTED_ERRORS: usize = 5;

/// The account of one input: every line is an entry, a header or blank line,
/// or rejected with a reason, so
/// `entries + rejected + header_lines + blank_lines == lines`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Bytes read before decompression (equal to `bytes` for plain input).
    pub compressed_bytes: u64,
    /// Bytes of log text.
    pub bytes: u64,
    /// Whether the input was gzip.
    pub gzip: bool,
    /// Whether the input was Parquet. Its rows are counted as lines, one
    /// line per row, and `bytes` are those of the rows as text.
    pub parquet: bool,
    /// Lines of every kind; for Parquet, rows.
    pub lines: u64,
    /// Entries handed to the sink. When the input fails part-way, the sink
    /// is finished before the summary is taken, so these were all
    /// delivered; only when the output itself fails may the last of them be
    /// lost.
    pub entries: u64,
    /// `#Version`, `#Fields` and other header lines.
    pub header_lines: u64,
    /// Empty lines.
    pub blank_lines: u64,
    /// Lines rejected, of every reason.
    pub rejected: u64,
    /// Rejected lines by reason (`field_count`, `field_value`,
    /// `line_too_long`, `header`, `json`, `no_values`, `bare_cr`,
    /// `entry_too_large`, `truncated`; see [`cflog_core::Error::reason`]).
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
    /// The first few rejected lines, with their positions.
    pub errors: Vec<RejectedLine>,
    /// Wall time spent on the input, in milliseconds.
    pub duration_ms: u64,
    /// What the sink delivered, as it reported when it was finished; before
    /// that, and for a failed output, what the sink says got through so far
    /// ([`Sink::delivered`](crate::sink::Sink::delivered): nothing for a
    /// sink that delivers only when finished).
    pub delivered: Delivery,
}

/// One rejected line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedLine {
    /// The line number, from 1; for Parquet, the row number.
    pub line: u64,
    /// The byte offset of the line in the decompressed input; 0 for a
    /// Parquet row.
    pub byte: u64,
    /// The reason, as in [`Summary::rejected_by_reason`].
    pub reason: &'static str,
    /// The error message.
    pub message: String,
}

impl Summary {
    /// Whether the counts add up, as they always should.
    pub fn reconciles(&self) -> bool {
        self.entries + self.rejected + self.header_lines + self.blank_lines == self.lines
    }

    /// Whether the input is not a CloudFront log: it has lines, and none of
    /// them is an entry (another kind of file, or the wrong delimiter or
    /// field list). The Lambda fails such an object as `NotACloudFrontLog`,
    /// and the command line such an input with exit status 2.
    ///
    /// ```
    /// use cflog_pipeline::Summary;
    ///
    /// let json_logs = Summary { lines: 2, rejected: 2, ..Summary::default() };
    /// assert!(json_logs.is_not_a_log());
    /// let one_bad_line = Summary { lines: 2, entries: 1, rejected: 1, ..Summary::default() };
    /// assert!(!one_bad_line.is_not_a_log());
    /// let headers_only = Summary { lines: 2, header_lines: 2, ..Summary::default() };
    /// assert!(!headers_only.is_not_a_log(), "empty, not another kind of file");
    /// ```
    pub fn is_not_a_log(&self) -> bool {
        self.entries == 0 && self.rejected > 0
    }

    /// Adds another input's counts to these (for totals over many inputs).
    /// Listed errors are kept up to [`MAX_LISTED_ERRORS`].
    pub fn add(&mut self, other: &Summary) {
        self.compressed_bytes += other.compressed_bytes;
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.entries += other.entries;
        self.header_lines += other.header_lines;
        self.blank_lines += other.blank_lines;
        self.rejected += other.rejected;
        for (reason, n) in &other.rejected_by_reason {
            *self.rejected_by_reason.entry(reason).or_default() += n;
        }
        let room = MAX_LISTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.iter().take(room).cloned());
        self.duration_ms += other.duration_ms;
    }
}
