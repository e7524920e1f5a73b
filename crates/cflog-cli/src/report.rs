//! What cflog tells the user on stderr: messages as things happen, and the
//! summary at the end.
//!
//! Nothing here writes to stdout, which belongs to the entries. Messages go
//! around the progress bar (when there is one) so that it is redrawn below
//! them instead of being torn.

use std::fmt;
use std::io::Write;
use std::time::Duration;

use cflog_pipeline::{RejectedLine, Summary};
use indicatif::ProgressBar;

/// How many rejected lines the summary lists, over all inputs.
pub const LISTED_REJECTED: usize = 10;

/// Prints messages on stderr, around the progress bar.
#[derive(Clone, Debug, Default)]
pub struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter that prints around `bar`.
    pub fn with_progress(bar: Option<ProgressBar>) -> Reporter {
        Reporter { bar }
    }

    /// Prints `cflog: {message}`.
    pub fn warn(&self, message: impl fmt::Display) {
        let print = || {
            // A closed stderr must not turn into a panic, as eprintln! would.
            let _ = writeln!(std::io::stderr().lock(), "cflog: {message}");
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

/// The account of a whole run.
#[derive(Debug, Default)]
pub struct Totals {
    /// Inputs read to their end or until they failed.
    pub inputs: usize,
    /// Of which gzip.
    pub gzip: usize,
    /// Of which Parquet, counted in rows.
    pub parquet: usize,
    /// Inputs that could not be read (or expanded) to their end.
    pub failed: usize,
    /// Every input's counts added up.
    pub summary: Summary,
    /// The first rejected lines, with their input.
    pub rejected: Vec<(String, RejectedLine)>,
    /// Inputs with lines of which none is an entry, with their rejected
    /// lines: another kind of file, or a wrong `--delimiter`
    /// ([`Summary::is_not_a_log`], the Lambda's `NotACloudFrontLog`). They
    /// fail the run; their lines are not listed one by one.
    pub not_logs: Vec<(String, u64)>,
    /// Inputs read to their end without a line that is an entry or was
    /// rejected: empty, or headers and blank lines only.
    pub empty: Vec<(String, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Totals {
    /// Adds the account of an input read to its end.
    pub fn add(&mut self, input: &str, summary: &Summary) {
        self.account(input, summary, true);
    }

    /// Adds the account of an input whose reading failed, after the
    /// failure was reported: what was read counts, but the input is not
    /// named again as empty or as not a log, which its failure may make it
    /// look.
    pub fn add_failed(&mut self, input: &str, summary: &Summary) {
        self.failed += 1;
        self.account(input, summary, false);
    }

    fn account(&mut self, input: &str, summary: &Summary, read_to_end: bool) {
        self.inputs += 1;
        self.gzip += usize::from(summary.gzip);
        self.parquet += usize::from(summary.parquet);
        self.summary.add(summary);
        if read_to_end && summary.entries == 0 && summary.rejected == 0 {
            self.empty.push((input.to_owned(), summary.lines));
        }
        if read_to_end && summary.is_not_a_log() {
            self.not_logs.push((input.to_owned(), summary.rejected));
            return;
        }
        let room = LISTED_REJECTED.saturating_sub(self.rejected.len());
        self.rejected.extend(
            summary
                .errors
                .iter()
                .take(room)
                .map(|line| (input.to_owned(), line.clone())),
        );
    }

    /// Whether an input failed: it could not be read to its end, or it is
    /// not a CloudFront log.
    pub fn any_failed(&self) -> bool {
        self.failed > 0 || !self.not_logs.is_empty()
    }

    /// The summary's lines: counts, rejected lines by reason, the first
    /// rejected lines as `input:line: message`. With `counts` false, only
    /// what went wrong.
    pub fn render(&self, counts: bool) -> Vec<String> {
        let s = &self.summary;
        let mut lines = Vec::new();
        if counts {
            let kind = |n: usize, name: &str| match n {
                0 => String::new(),
                n if n == self.inputs => format!(" ({name})"),
                n => format!(" ({n} {name})"),
            };
            let gzip = kind(self.gzip, "gzip") + &kind(self.parquet, "Parquet");
            let seconds = self.elapsed.as_secs_f64();
            // A rate over a few milliseconds says nothing.
            let rate = if seconds >= 0.2 {
                format!(", {}/s", count(s.lines as f64 / seconds))
            } else {
                String::new()
            };
            lines.push(format!(
                "{} {}{gzip}, {} {}: {} {}, {} rejected, {} header, {} blank; {} of logs in {}{rate}",
                thousands(self.inputs as u64),
                plural(self.inputs as u64, "input", "inputs"),
                thousands(s.lines),
                self.counted_in().noun(s.lines),
                thousands(s.entries),
                plural(s.entries, "entry", "entries"),
                thousands(s.rejected),
                thousands(s.header_lines),
                thousands(s.blank_lines),
                bytes(s.bytes),
                duration(self.elapsed),
            ));
        }
        if s.rejected > 0 {
            let reasons: Vec<String> = s
                .rejected_by_reason
                .iter()
                .map(|(reason, n)| format!("{} {reason}", thousands(*n)))
                .collect();
            lines.push(format!(
                "{} rejected {}: {}",
                thousands(s.rejected),
                self.counted_in().noun(s.rejected),
                reasons.join(", ")
            ));
            if !self.not_logs.is_empty() {
                // A Parquet input's columns say where each value is: no
                // flag would help it.
                lines.push(match self.counted_in() {
                    CountedIn::Lines => "  no line is a CloudFront log entry in (another kind of file, or a --delimiter or --fields-header is needed):".into(),
                    CountedIn::Rows => "  no row is a CloudFront log entry in:".into(),
                    CountedIn::LinesAndRows => "  no line or row is a CloudFront log entry in (another kind of file, or for text, a --delimiter or --fields-header is needed):".into(),
                });
            }
            for (input, rejected) in self.not_logs.iter().take(LISTED_REJECTED) {
                lines.push(format!("    {input} ({} rejected)", thousands(*rejected)));
            }
            if self.not_logs.len() > LISTED_REJECTED {
                lines.push(format!(
                    "    … and {} more",
                    thousands((self.not_logs.len() - LISTED_REJECTED) as u64)
                ));
            }
            for (input, rejected) in &self.rejected {
                lines.push(format!("  {}", located(input, rejected)));
            }
            let not_logs: u64 = self.not_logs.iter().map(|(_, n)| n).sum();
            let unlisted = s
                .rejected
                .saturating_sub(not_logs + self.rejected.len() as u64);
            if unlisted > 0 {
                lines.push(format!("  … and {} more", thousands(unlisted)));
            }
        }
        for (input, lines_read) in self.empty.iter().take(LISTED_REJECTED) {
            lines.push(match lines_read {
                0 => format!("empty input: {input}"),
                _ => format!("no entry in {input}: only headers and blank lines"),
            });
        }
        if self.empty.len() > LISTED_REJECTED {
            lines.push(format!(
                "… and {} more empty inputs",
                thousands((self.empty.len() - LISTED_REJECTED) as u64)
            ));
        }
        if self.failed > 0 {
            lines.push(format!(
                "{} {} could not be read (see above)",
                thousands(self.failed as u64),
                plural(self.failed as u64, "input", "inputs")
            ));
        }
        lines
    }
}

impl Totals {
    /// A note that `flags`, which shape how text is read, did nothing to
    /// the Parquet inputs, which are read by their columns; `None` when
    /// there is neither.
    pub fn text_only_note(&self, flags: &[&str]) -> Option<String> {
        if self.parquet == 0 {
            return None;
        }
        let (last, rest) = flags.split_last()?;
        let flags = match rest {
            [] => (*last).to_owned(),
            rest => format!("{} and {last}", rest.join(", ")),
        };
        let inputs = match self.parquet {
            1 => "the Parquet input was read by its".to_owned(),
            n => format!(
                "the {} Parquet inputs were read by their",
                thousands(n as u64)
            ),
        };
        Some(format!(
            "{flags} {} to text logs only: {inputs} columns",
            plural(rest.len() as u64 + 1, "applies", "apply"),
        ))
    }

    /// What the inputs are counted in.
    pub fn counted_in(&self) -> CountedIn {
        match self.parquet {
            0 => CountedIn::Lines,
            n if n == self.inputs => CountedIn::Rows,
            _ => CountedIn::LinesAndRows,
        }
    }
}

/// What a run's inputs are counted in: a text input in lines, a Parquet
/// input in rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CountedIn {
    #[default]
    Lines,
    Rows,
    LinesAndRows,
}

impl CountedIn {
    /// The noun for one: `line`, `row`, or `line or row`.
    pub fn one(self) -> &'static str {
        match self {
            CountedIn::Lines => "line",
            CountedIn::Rows => "row",
            CountedIn::LinesAndRows => "line or row",
        }
    }

    /// The noun for several: `lines`, `rows`, or `lines and rows`.
    pub fn many(self) -> &'static str {
        match self {
            CountedIn::Lines => "lines",
            CountedIn::Rows => "rows",
            CountedIn::LinesAndRows => "lines and rows",
        }
    }

    /// The noun for `n` of them: `1 line`, `6 rows`.
    pub fn noun(self, n: u64) -> &'static str {
        match n {
            1 => self.one(),
            _ => self.many(),
        }
    }
}

/// `text` with a capital first letter, as a heading or a label.
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `input:line: message`, the shape editors and terminals link to; for a
/// Parquet row, `input: row N: message`.
pub fn located(input: &str, rejected: &RejectedLine) -> String {
    if rejected
        .message
        .starts_with(&format!("row {}: ", rejected.line))
    {
        return format!("{input}: {}", rejected.message);
    }
    format!(
        "{input}:{}",
        line_message(rejected.line, rejected.byte, &rejected.message)
    )
}

/// `line: message`, from an error message that starts with its position.
pub fn line_message(line: u64, byte: u64, message: &str) -> String {
    // The message starts with the position ("line 5 (byte 230): …"); the
    // line number in front already says it.
    let position = format!("line {line} (byte {byte}): ");
    let message = message.strip_prefix(&position).unwrap_or(message);
    format!("{line}: {message}")
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `3 ms`, `1.52 s`, `2 min 5 s`.
fn duration(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    match elapsed.as_secs() {
        0 => format!("{} ms", elapsed.as_millis()),
        1..60 => format!("{seconds:.2} s"),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

/// A rate or a count, short: `950`, `12.3k`, `1.25M`.
fn count(n: f64) -> String {
    match n {
        n if n >= 1e6 => format!("{:.2}M lines", n / 1e6),
        n if n >= 1e3 => format!("{:.1}k lines", n / 1e3),
        n => format!("{n:.0} lines"),
    }
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `12.3 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rejected line as the pipeline lists it, its message led by where
    /// it is.
    fn rejected_line(line: u64, byte: u64, reason: &'static str, what: &str) -> RejectedLine {
        RejectedLine {
            line,
            byte,
            reason,
            message: format!("line {line} (byte {byte}): {what}"),
        }
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
    }

    #[test]
    fn a_rejected_line_is_located_like_a_compiler_error() {
        let rejected = rejected_line(5, 230, "field_count", "expected 6 fields, found 5");
        assert_eq!(
            located("logs/a.gz", &rejected),
            "logs/a.gz:5: expected 6 fields, found 5"
        );
    }

    #[test]
    fn the_summary_lists_reasons_and_the_first_lines() {
        let mut summary = Summary {
            lines: 9,
            entries: 2,
            header_lines: 2,
            rejected: 5,
            ..Summary::default()
        };
        summary.rejected_by_reason.insert("field_count", 3);
        summary.rejected_by_reason.insert("header", 2);
        summary.errors.push(rejected_line(
            4,
            100,
            "field_count",
            "expected 6 fields, found 5",
        ));
        let mut totals = Totals::default();
        totals.add("bad.log", &summary);
        let lines = totals.render(true);
        assert!(lines[0].starts_with("1 input, 9 lines: 2 entries, 5 rejected, 2 header, 0 blank"));
        assert_eq!(lines[1], "5 rejected lines: 3 field_count, 2 header");
        assert_eq!(lines[2], "  bad.log:4: expected 6 fields, found 5");
        assert_eq!(lines[3], "  … and 4 more");
        assert_eq!(totals.render(false).len(), 3);
    }

    #[test]
    fn an_input_without_any_entry_is_named_once_not_line_by_line() {
        let mut summary = Summary {
            lines: 40,
            rejected: 40,
            ..Summary::default()
        };
        summary.rejected_by_reason.insert("field_count", 40);
        summary.errors.push(rejected_line(
            1,
            0,
            "field_count",
            "expected 33 fields, found 1",
        ));
        let mut totals = Totals::default();
        totals.add("README.md", &summary);
        let lines = totals.render(false);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].starts_with("  no line is a CloudFront log entry in"));
        assert_eq!(lines[2], "    README.md (40 rejected)");
        assert!(totals.any_failed(), "not a CloudFront log fails the run");
    }

    #[test]
    fn an_empty_input_says_so() {
        let mut totals = Totals::default();
        totals.add("empty.log", &Summary::default());
        let headers_only = Summary {
            lines: 2,
            header_lines: 2,
            ..Summary::default()
        };
        totals.add("headers.log", &headers_only);
        assert_eq!(
            totals.render(false),
            [
                "empty input: empty.log",
                "no entry in headers.log: only headers and blank lines"
            ]
        );
        assert!(!totals.any_failed());
    }

    #[test]
    fn flags_for_text_are_said_to_do_nothing_to_parquet_inputs() {
        let mut totals = Totals::default();
        let text = Summary {
            lines: 3,
            entries: 3,
            ..Summary::default()
        };
        let parquet = Summary {
            parquet: true,
            ..text.clone()
        };
        totals.add("a.log", &text);
        assert_eq!(totals.text_only_note(&["--delimiter"]), None);
        totals.add("a.parquet", &parquet);
        assert_eq!(totals.text_only_note(&[]), None);
        assert_eq!(
            totals.text_only_note(&["--delimiter"]).unwrap(),
            "--delimiter applies to text logs only: the Parquet input was read by its columns"
        );
        totals.add("b.parquet", &parquet);
        assert_eq!(
            totals
                .text_only_note(&["--delimiter", "--fields-header", "--input-format"])
                .unwrap(),
            "--delimiter, --fields-header and --input-format apply to text logs only: the 2 Parquet inputs were read by their columns"
        );
    }

    #[test]
    fn parquet_inputs_of_no_entry_get_no_hint_of_text_flags() {
        let mut totals = Totals::default();
        let bad = Summary {
            lines: 2,
            rejected: 2,
            parquet: true,
            ..Summary::default()
        };
        totals.add("a.parquet", &bad);
        let lines = totals.render(false);
        assert!(
            lines.contains(&"  no row is a CloudFront log entry in:".to_owned()),
            "{lines:?}"
        );
        totals.add(
            "b.log",
            &Summary {
                parquet: false,
                ..bad
            },
        );
        let lines = totals.render(false);
        assert!(
            lines.iter().any(|l| l.starts_with(
                "  no line or row is a CloudFront log entry in (another kind of file, or for text,"
            )),
            "{lines:?}"
        );
    }

    #[test]
    fn parquet_inputs_are_counted_in_rows_and_one_is_said_in_the_singular() {
        let mut row = Summary {
            lines: 1,
            rejected: 1,
            parquet: true,
            ..Summary::default()
        };
        row.rejected_by_reason.insert("field_value", 1);
        let mut totals = Totals::default();
        totals.add("one.parquet", &row);
        let lines = totals.render(true);
        assert!(lines[0].starts_with("1 input (Parquet), 1 row: 0 entries, 1 rejected"));
        assert_eq!(lines[1], "1 rejected row: 1 field_value");

        let text = Summary {
            lines: 3,
            entries: 1,
            header_lines: 2,
            ..Summary::default()
        };
        totals.add("two.log", &text);
        let lines = totals.render(true);
        assert!(
            lines[0].starts_with(
                "2 inputs (1 Parquet), 4 lines and rows: 1 entry, 1 rejected, 2 header"
            )
        );
        assert_eq!(lines[1], "1 rejected line or row: 1 field_value");
    }

    #[test]
    fn an_input_that_failed_is_not_named_again_as_empty_or_not_a_log() {
        let mut totals = Totals::default();
        totals.add_failed("cut.parquet", &Summary::default());
        let mut truncated = Summary {
            lines: 1,
            rejected: 1,
            ..Summary::default()
        };
        truncated.rejected_by_reason.insert("truncated", 1);
        truncated.errors.push(rejected_line(
            1,
            0,
            "truncated",
            "the input ends in the middle of this line",
        ));
        totals.add_failed("cut.log.gz", &truncated);
        let lines = totals.render(true);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("2 inputs, 1 line: 0 entries, 1 rejected"));
        assert_eq!(lines[1], "1 rejected line: 1 truncated");
        assert_eq!(
            lines[2],
            "  cut.log.gz:1: the input ends in the middle of this line"
        );
        assert_eq!(lines[3], "2 inputs could not be read (see above)");
        assert!(totals.any_failed());
    }
}
