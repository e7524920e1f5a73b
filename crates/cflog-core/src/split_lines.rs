//! Lines that their writer split: a batch of text lines, each with the
//! spans of its values, so that a reader need not find the delimiters
//! again.

/// A batch of lines written value by value, with where each value lies.
///
/// An input that makes its own lines, such as the rows of a Parquet file,
/// knows where every value starts and ends as it writes it. It hands the
/// lines over with those spans, and [`Decoder::split_line`] reads each one
/// as it would a framed line of text, with the same numbering, checks and
/// account, but without framing or splitting it again.
///
/// The text is still whole lines (values joined by tabs, each line ending
/// in `\n`), so that [`LogLine::as_bytes`](crate::LogLine::as_bytes) is the
/// line a text log would have.
///
/// ```
/// use cflog_core::{Decoder, Schema, SplitLines};
///
/// let schema = Schema::from_names(["sc-status", "cs-uri-stem"])?;
/// let mut lines = SplitLines::new();
/// for (status, path) in [("200", "/a"), ("304", "/b")] {
///     lines.value(|out| out.extend_from_slice(status.as_bytes()));
///     lines.value(|out| out.extend_from_slice(path.as_bytes()));
///     lines.end_line();
/// }
/// assert_eq!(lines.text(), b"200\t/a\n304\t/b\n");
///
/// let mut decoder = Decoder::new();
/// let (line, pos) = decoder.split_line(&lines, 1, &schema)?;
/// assert_eq!((line.status()?, line.column(1)), (Some(304), Some(&b"/b"[..])));
/// assert_eq!(pos.line(), 1); // the first line the decoder read
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`Decoder::split_line`]: crate::Decoder::split_line
#[derive(Clone, Debug, Default)]
pub struct SplitLines {
    text: Vec<u8>,
    /// Two per value, from the start of its line.
    spans: Vec<u32>,
    /// For each line: where its text ends (before its `\n`) and where its
    /// spans end.
    ends: Vec<(usize, usize)>,
    /// Where the line being written starts in `text`, and its spans in
    /// `spans`.
    line_start: usize,
    line_spans: usize,
}

impl SplitLines {
    /// No lines.
    pub fn new() -> SplitLines {
        SplitLines::default()
    }

    /// Drops every line, keeping the buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.ends.clear();
        self.line_start = 0;
        self.line_spans = 0;
    }

    /// Writes the next value of the current line with `write`, after a tab
    /// unless it is the line's first.
    #[inline(always)]
    pub fn value(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        if self.spans.len() > self.line_spans {
            self.text.push(b'\t');
        }
        let start = self.text.len() - self.line_start;
        write(&mut self.text);
        let end = self.text.len() - self.line_start;
        // The decoder refuses a line longer than its limit, which is at
        // most `u32::MAX`, before it reads a span: a span it reads fits.
        self.spans.extend_from_slice(&[start as u32, end as u32]);
    }

    /// Ends the current line.
    #[inline]
    pub fn end_line(&mut self) {
        self.ends.push((self.text.len(), self.spans.len()));
        self.text.push(b'\n');
        self.line_start = self.text.len();
        self.line_spans = self.spans.len();
    }

    /// The lines, each ending in `\n`.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The number of lines ended.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no line was ended.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Line `i`: the text from its start (the line, then the lines after
    /// it, which a copy may read past a value into), its length, and its
    /// spans.
    pub(crate) fn line(&self, i: usize) -> (&[u8], usize, &[u32]) {
        let (start, spans_start) = match i.checked_sub(1) {
            Some(previous) => {
                let (end, spans_end) = self.ends[previous];
                (end + 1, spans_end)
            }
            None => (0, 0),
        };
        let (end, spans_end) = self.ends[i];
        (
            &self.text[start..],
            end - start,
            &self.spans[spans_start..spans_end],
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Decoded, Decoder, ErrorKind, Record, Schema};

    fn lines(rows: &[&[&str]]) -> SplitLines {
        let mut lines = SplitLines::new();
        for row in rows {
            for value in *row {
                lines.value(|out| out.extend_from_slice(value.as_bytes()));
            }
            lines.end_line();
        }
        lines
    }

    #[test]
    fn split_lines_are_numbered_checked_and_counted_as_framed_ones() {
        let schema = Schema::from_names(["sc-status", "cs-uri-stem"]).unwrap();
        let mut decoder = Decoder::builder().max_line_len(8).build();
        let mut record = Record::new();
        // A text line first: the split lines go on from its number.
        decoder.set_schema(Arc::new(schema.clone()));
        let (result, _) = decoder.decode(b"200\t/a\n", &mut record);
        assert_eq!(result.unwrap(), Decoded::Record);
        let lines = lines(&[
            &["304", "/b"],
            &["-", "-"],
            &["200", "/too-long"],
            &["", "/c"],
        ]);
        let outcomes: Vec<_> = (0..lines.len())
            .map(|i| match decoder.split_line(&lines, i, &schema) {
                Ok((line, pos)) => Ok((pos.line(), line.column(1).unwrap().to_vec())),
                Err(e) => Err((e.position().unwrap().line(), e.reason())),
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                Ok((2, b"/b".to_vec())),
                Err((3, "no_values")),
                Err((4, "line_too_long")),
                Ok((5, b"/c".to_vec())),
            ]
        );
        let stats = decoder.stats();
        assert_eq!(
            (
                stats.lines,
                stats.records,
                stats.rejected,
                stats.header_lines
            ),
            (5, 3, 2, 0)
        );
        assert_eq!(stats.bytes, 7 + lines.text().len() as u64);
    }

    #[test]
    fn a_line_with_another_number_of_values_is_a_field_count_error() {
        let schema = Schema::from_names(["sc-status", "cs-uri-stem"]).unwrap();
        let lines = lines(&[&["200"]]);
        let error = Decoder::new().split_line(&lines, 0, &schema).unwrap_err();
        assert!(matches!(
            error.kind(),
            ErrorKind::FieldCount {
                expected: 2,
                found: 1,
                ..
            }
        ));
    }

    #[test]
    fn an_empty_first_value_is_still_followed_by_a_tab() {
        let lines = lines(&[&["", "/a"], &["200", ""]]);
        assert_eq!(lines.text(), b"\t/a\n200\t\n");
        assert_eq!(lines.line(1), (&b"200\t\n"[..], 4, &[0, 3, 4, 4][..]));
    }
}
