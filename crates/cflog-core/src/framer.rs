//! Cutting a byte stream into lines, without I/O and with bounded memory.
//!
//! For maintainers: [`LineFramer`] is the only code that knows that input
//! arrives in chunks. The sync [`Reader`](crate::Reader) and async adapters
//! (such as cflog-lambda's S3 stream) both push chunks through it, so a fix
//! here fixes every input path. The "split at every byte offset" tests in
//! `tests/` guard it.

use memchr::memchr;

use crate::error::Position;

/// What [`LineFramer::next_frame`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its `\n` or `\r\n`.
    Line {
        /// The line's bytes.
        bytes: &'a [u8],
        /// Where it starts.
        pos: Position,
    },
    /// A line longer than the limit. It is reported once, here, and its
    /// bytes are skipped up to the next `\n` without being buffered.
    TooLong {
        /// Where it starts.
        pos: Position,
    },
    /// No complete line in the input: push more (or call
    /// [`finish`](LineFramer::finish) at the end of the input).
    NeedInput,
}

/// Cuts chunks of bytes into lines.
///
/// Lines end with `\n`; a `\r` before it is dropped too, and a last line
/// without a line break is returned by [`finish`](LineFramer::finish). A line
/// that fits in one chunk is returned without copying; only a line split
/// across chunks is gathered in an internal buffer, which never holds more
/// than the maximum line length.
///
/// ```
/// use cflog_core::{Frame, LineFramer};
///
/// let mut framer = LineFramer::new(1024);
/// let mut lines = Vec::new();
/// for chunk in [&b"first\r\nsec"[..], b"ond\nthi", b"rd"] {
///     let mut input = chunk;
///     loop {
///         let (frame, used) = framer.next_frame(input);
///         if let Frame::Line { bytes, .. } = frame {
///             lines.push(bytes.to_vec());
///         } else {
///             break;
///         }
///         input = &input[used..];
///     }
/// }
/// if let Frame::Line { bytes, .. } = framer.finish() {
///     lines.push(bytes.to_vec());
/// }
/// assert_eq!(lines, [&b"first"[..], b"second", b"third"]);
/// ```
#[derive(Debug)]
pub struct LineFramer {
    partial: Vec<u8>,
    /// The previous frame was returned from `partial`; clear it first.
    partial_taken: bool,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    max_line_len: usize,
    /// Lines started so far; the current line's number.
    line: u64,
    /// Bytes consumed so far.
    offset: u64,
    /// Where the current line starts.
    line_start: u64,
}

impl LineFramer {
    /// A framer that refuses lines longer than `max_line_len` bytes
    /// (counting everything before the `\n`).
    pub fn new(max_line_len: usize) -> LineFramer {
        LineFramer {
            partial: Vec::new(),
            partial_taken: false,
            discarding: false,
            max_line_len,
            line: 0,
            offset: 0,
            line_start: 0,
        }
    }

    /// The maximum line length.
    pub fn max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// The number of bytes consumed so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.offset
    }

    /// The number of lines returned or reported so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Finds the next frame in `input`, returning it with the number of bytes
    /// of `input` it used. Call again with the rest of the input until it
    /// says [`Frame::NeedInput`], which means all of `input` was used.
    pub fn next_frame<'a>(&'a mut self, mut input: &'a [u8]) -> (Frame<'a>, usize) {
        if self.partial_taken {
            self.partial.clear();
            self.partial_taken = false;
        }
        let mut used = 0;
        if self.discarding {
            match memchr(b'\n', input) {
                Some(nl) => {
                    self.discarding = false;
                    self.advance(nl + 1);
                    self.line_start = self.offset;
                    used = nl + 1;
                    input = &input[nl + 1..];
                }
                None => {
                    self.advance(input.len());
                    return (Frame::NeedInput, input.len());
                }
            }
        }
        match memchr(b'\n', input) {
            Some(nl) if self.partial.len() + nl > self.max_line_len => {
                let pos = self.start_line();
                self.partial.clear();
                self.advance(nl + 1);
                self.line_start = self.offset;
                (Frame::TooLong { pos }, used + nl + 1)
            }
            Some(nl) => {
                let pos = self.start_line();
                self.advance(nl + 1);
                self.line_start = self.offset;
                let bytes = if self.partial.is_empty() {
                    &input[..nl]
                } else {
                    self.partial.extend_from_slice(&input[..nl]);
                    self.partial_taken = true;
                    &self.partial[..]
                };
                (
                    Frame::Line {
                        bytes: strip_cr(bytes),
                        pos,
                    },
                    used + nl + 1,
                )
            }
            None if self.partial.len() + input.len() > self.max_line_len => {
                let pos = self.start_line();
                self.partial.clear();
                self.discarding = true;
                self.advance(input.len());
                (Frame::TooLong { pos }, used + input.len())
            }
            None => {
                self.partial.extend_from_slice(input);
                self.advance(input.len());
                (Frame::NeedInput, used + input.len())
            }
        }
    }

    /// Ends the input: returns its last line if it had no line break, and
    /// [`Frame::NeedInput`] otherwise. The framer is then ready for a new
    /// input, with positions continuing.
    pub fn finish(&mut self) -> Frame<'_> {
        if self.partial_taken {
            self.partial.clear();
            self.partial_taken = false;
        }
        self.discarding = false;
        if self.partial.is_empty() {
            self.line_start = self.offset;
            return Frame::NeedInput;
        }
        let pos = self.start_line();
        self.line_start = self.offset;
        self.partial_taken = true;
        Frame::Line {
            bytes: strip_cr(&self.partial),
            pos,
        }
    }

    /// Drops a line that the input ended inside of, for an input that failed
    /// part-way, and returns where it starts; `None` when no line was begun
    /// (or the one begun was already reported as too long). The framer is
    /// then ready for a new input, with positions continuing.
    pub fn abandon(&mut self) -> Option<Position> {
        if self.partial_taken {
            self.partial.clear();
            self.partial_taken = false;
        }
        self.discarding = false;
        let cut = !self.partial.is_empty();
        self.partial.clear();
        let pos = cut.then(|| self.start_line());
        self.line_start = self.offset;
        pos
    }

    /// Counts a whole line of `len` bytes (and its `\n`) that was read
    /// without framing, and returns where it starts. Call it between lines.
    pub(crate) fn count_line(&mut self, len: usize) -> Position {
        debug_assert!(self.partial.is_empty() && !self.discarding);
        let pos = self.start_line();
        self.advance(len + 1);
        self.line_start = self.offset;
        pos
    }

    fn start_line(&mut self) -> Position {
        self.line += 1;
        Position::new(self.line, self.line_start)
    }

    fn advance(&mut self, n: usize) {
        self.offset += n as u64;
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` fed in chunks of `size`, as (line, byte, text or None
    /// for too long).
    fn frames(input: &[u8], size: usize, max: usize) -> Vec<(u64, u64, Option<Vec<u8>>)> {
        let mut framer = LineFramer::new(max);
        let mut out = Vec::new();
        let mut push = |frame: Frame<'_>| match frame {
            Frame::Line { bytes, pos } => out.push((pos.line(), pos.byte(), Some(bytes.to_vec()))),
            Frame::TooLong { pos } => out.push((pos.line(), pos.byte(), None)),
            Frame::NeedInput => {}
        };
        for chunk in input.chunks(size.max(1)) {
            let mut chunk = chunk;
            loop {
                let (frame, used) = framer.next_frame(chunk);
                let done = frame == Frame::NeedInput;
                push(frame);
                chunk = &chunk[used..];
                if done {
                    assert!(chunk.is_empty());
                    break;
                }
            }
        }
        push(framer.finish());
        assert_eq!(framer.bytes_consumed(), input.len() as u64);
        out
    }

    fn line(n: u64, byte: u64, text: &str) -> (u64, u64, Option<Vec<u8>>) {
        (n, byte, Some(text.as_bytes().to_vec()))
    }

    #[test]
    fn lf_crlf_blank_and_unterminated_lines() {
        let input = b"a\r\n\nbc\nlast";
        let expected = vec![
            line(1, 0, "a"),
            line(2, 3, ""),
            line(3, 4, "bc"),
            line(4, 7, "last"),
        ];
        for size in 1..=input.len() {
            assert_eq!(frames(input, size, 100), expected, "chunk size {size}");
        }
        assert_eq!(frames(b"", 1, 100), vec![]);
        assert_eq!(frames(b"\n", 1, 100), vec![line(1, 0, "")]);
    }

    #[test]
    fn long_lines_are_reported_once_and_skipped() {
        let input = b"12345\n123456\n1234567890123\nok\n123456";
        let expected = vec![
            line(1, 0, "12345"),
            (2, 6, None),
            (3, 13, None),
            line(4, 27, "ok"),
            (5, 30, None),
        ];
        for size in 1..=input.len() {
            assert_eq!(frames(input, size, 5), expected, "chunk size {size}");
        }
    }

    #[test]
    fn a_line_that_exactly_fits_is_kept() {
        for size in 1..8 {
            assert_eq!(
                frames(b"12345\n12345", size, 5),
                vec![line(1, 0, "12345"), line(2, 6, "12345")]
            );
        }
    }

    #[test]
    fn the_buffer_never_exceeds_the_limit() {
        let mut framer = LineFramer::new(10);
        for _ in 0..1000 {
            let _ = framer.next_frame(b"xxxxxxx");
            assert!(framer.partial.capacity() <= 64);
        }
    }
}
