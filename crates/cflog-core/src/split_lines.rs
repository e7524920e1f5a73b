//! Lines that their writer split: a batch of text lines, each with the
//! spans of its values, so that a reader need not find the delimiters
//! again.

use crate::out::Out;

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
/// let rows = [("200", "/a"), ("304", "/b")];
/// let mut lines = SplitLines::new();
/// lines.write_lines(rows.len(), |i, line| {
///     let (status, path) = rows[i];
///     line.value(|out| out.extend_from_slice(status.as_bytes()));
///     line.value(|out| out.extend_from_slice(path.as_bytes()));
/// });
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
    /// The lines, then room for more.
    text: Vec<u8>,
    text_len: usize,
    /// Two per value, from the start of its line, then room for more.
    spans: Vec<u32>,
    spans_len: usize,
    /// For each line: where its text ends (before its `\n`) and where its
    /// spans end.
    ends: Vec<(usize, usize)>,
}

impl SplitLines {
    /// No lines.
    pub fn new() -> SplitLines {
        SplitLines::default()
    }

    /// Drops every line, keeping the buffers.
    pub fn clear(&mut self) {
        self.text_len = 0;
        self.spans_len = 0;
        self.ends.clear();
    }

    /// Appends `count` lines, line `i` written by `write_line(i, writer)`
    /// value by value.
    ///
    /// The lines are written into the room these buffers already have.
    /// When they do not fit, what was written is dropped, the room is
    /// doubled, and they are written again from the first: `write_line`
    /// must write the same line each time it is given the same `i`.
    pub fn write_lines(
        &mut self,
        count: usize,
        mut write_line: impl FnMut(usize, &mut LineWriter<'_>),
    ) {
        let lines_before = self.ends.len();
        loop {
            let mut writer = LineWriter {
                text: Out::new(&mut self.text[self.text_len..]),
                text_start: self.text_len,
                spans: &mut self.spans[self.spans_len..],
                span: 0,
                spans_start: self.spans_len,
                spans_overflow: false,
                ends: &mut self.ends,
                line_start: 0,
                line_spans: 0,
            };
            for i in 0..count {
                write_line(i, &mut writer);
                writer.end_line();
                if writer.text.overflowed() || writer.spans_overflow {
                    break;
                }
            }
            let (text_len, span) = (writer.text.len(), writer.span);
            let (text_overflow, spans_overflow) = (writer.text.overflowed(), writer.spans_overflow);
            if !text_overflow && !spans_overflow {
                self.text_len += text_len;
                self.spans_len += span;
                return;
            }
            self.ends.truncate(lines_before);
            if text_overflow {
                self.text.resize((2 * self.text.len()).max(MIN_ROOM), 0);
            }
            if spans_overflow {
                self.spans
                    .resize((2 * self.spans.len()).max(MIN_ROOM / 8), 0);
            }
        }
    }

    /// The lines, each ending in `\n`.
    pub fn text(&self) -> &[u8] {
        &self.text[..self.text_len]
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
            &self.text[start..self.text_len],
            end - start,
            &self.spans[spans_start..spans_end],
        )
    }
}

/// The least room lines are given when they do not fit. It is small: the
/// room doubles until a batch fits and is then kept, so it is at most
/// twice what the largest batch needs.
const MIN_ROOM: usize = 64 * 1024;

/// Writes a line of a [`SplitLines`] value by value: see
/// [`SplitLines::write_lines`].
///
/// Its position in the text and in the spans stay in registers while a
/// batch is written, where a `Vec`'s length would be stored and loaded
/// again around every value.
#[derive(Debug)]
pub struct LineWriter<'a> {
    text: Out<'a>,
    /// Where `text` starts in the lines' text.
    text_start: usize,
    spans: &'a mut [u32],
    /// The next span's place in `spans`.
    span: usize,
    /// Where `spans` starts in the lines' spans.
    spans_start: usize,
    spans_overflow: bool,
    ends: &'a mut Vec<(usize, usize)>,
    /// Where the line being written starts in `text`, and its spans in
    /// `spans`.
    line_start: usize,
    line_spans: usize,
}

impl LineWriter<'_> {
    /// Writes the next value of the current line with `write`, after a tab
    /// unless it is the line's first.
    #[inline(always)]
    pub fn value(&mut self, write: impl FnOnce(&mut Out<'_>)) {
        if self.span > self.line_spans {
            self.text.push(b'\t');
        }
        let start = self.text.len() - self.line_start;
        write(&mut self.text);
        let end = self.text.len() - self.line_start;
        // The decoder refuses a line longer than its limit, which is at
        // most `u32::MAX`, before it reads a span: a span it reads fits.
        match self.spans.get_mut(self.span..self.span + 2) {
            Some(span) => {
                span.copy_from_slice(&[start as u32, end as u32]);
                self.span += 2;
            }
            None => self.spans_overflow = true,
        }
    }

    /// Ends the current line.
    #[inline]
    fn end_line(&mut self) {
        let end = self.text_start + self.text.len();
        self.ends.push((end, self.spans_start + self.span));
        self.text.push(b'\n');
        self.line_start = self.text.len();
        self.line_spans = self.span;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Decoded, Decoder, ErrorKind, Record, Schema};

    fn lines(rows: &[&[&str]]) -> SplitLines {
        let mut lines = SplitLines::new();
        lines.write_lines(rows.len(), |i, line| {
            for value in rows[i] {
                line.value(|out| out.extend_from_slice(value.as_bytes()));
            }
        });
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
    fn lines_that_outgrow_the_room_are_written_again_after_the_earlier_ones() {
        let schema = Schema::from_names(["sc-status", "cs-uri-stem", "cs-host"]).unwrap();
        let mut lines = lines(&[&["200", "/first", "a.example"]]);
        let row = |i: usize| {
            [
                format!("{}", 200 + i % 300),
                format!("/{i}"),
                "b.example".repeat(i % 7),
            ]
        };
        let mut first_lines_written = 0;
        lines.write_lines(20_000, |i, line| {
            first_lines_written += usize::from(i == 0);
            for value in row(i) {
                line.value(|out| out.extend_from_slice(value.as_bytes()));
            }
        });
        // The text (over 700 KB) and the spans each outgrew their room.
        assert!(
            first_lines_written > 2,
            "written {first_lines_written} times"
        );
        assert_eq!(lines.len(), 20_001);
        let mut expected = b"200\t/first\ta.example\n".to_vec();
        for i in 0..20_000 {
            expected.extend_from_slice(row(i).join("\t").as_bytes());
            expected.push(b'\n');
        }
        assert_eq!(lines.text(), expected);
        let mut decoder = Decoder::new();
        decoder.set_schema(Arc::new(schema.clone()));
        for (read, i) in [0, 1, 9_999, 20_000].into_iter().enumerate() {
            let (line, pos) = decoder.split_line(&lines, i, &schema).unwrap();
            let values: Vec<&[u8]> = (0..3).map(|c| line.column(c).unwrap()).collect();
            let want = match i {
                0 => [
                    "200".to_owned(),
                    "/first".to_owned(),
                    "a.example".to_owned(),
                ],
                _ => row(i - 1),
            };
            assert_eq!(values, want.map(String::into_bytes), "line {i}");
            assert_eq!(
                Some(line.as_bytes()),
                expected.split(|&b| b == b'\n').nth(i)
            );
            // Numbered in the order the decoder read them.
            assert_eq!(pos.line(), read as u64 + 1);
        }
    }

    #[test]
    fn an_empty_first_value_is_still_followed_by_a_tab() {
        let lines = lines(&[&["", "/a"], &["200", ""]]);
        assert_eq!(lines.text(), b"\t/a\n200\t\n");
        assert_eq!(lines.line(1), (&b"200\t\n"[..], 4, &[0, 3, 4, 4][..]));
    }
}
