//! NDJSON: the cflog-core JSON contract, one entry per line.

use std::io::{self, Write};
use std::task::{Context, Poll};

use cflog_core::LogLine;
use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;

use super::{Delivery, EntryError, Sink, Verdict};

/// Output is written in blocks of about this size, each ending at a line
/// break, rather than with a system call per line.
pub const BLOCK_SIZE: usize = 64 * 1024;

/// Writes each entry as one line of JSON (the cflog-core JSON contract).
///
/// Entries are gathered into blocks of [`BLOCK_SIZE`] that end at a line
/// break, and each block is written with one `write_all`. With
/// [`NdjsonSink::stdout`], several sinks on several threads can share
/// stdout: a block is written under the stdout lock, so lines never
/// interleave.
#[derive(Debug)]
pub struct NdjsonSink<W: Write> {
    out: W,
    json: JsonWriter,
    /// Lines are written straight into this block, which is never shrunk,
    /// so that no line is copied on its way out: `block[..filled]` are
    /// whole lines, the rest is room for the next ones.
    block: Vec<u8>,
    filled: usize,
    /// A line too long for the room in a block.
    long_line: Vec<u8>,
    delivery: Delivery,
}

/// Room left after a full block, so that a line that starts a little
/// before the end of a block still fits.
const LINE_ROOM: usize = 64 * 1024;

impl<W: Write> NdjsonSink<W> {
    /// A sink writing every field to `out`.
    pub fn new(out: W) -> NdjsonSink<W> {
        NdjsonSink::with_selection(out, Selection::all())
    }

    /// A sink writing the selected JSON keys to `out`.
    pub fn with_selection(out: W, selection: Selection) -> NdjsonSink<W> {
        NdjsonSink {
            out,
            json: JsonWriter::new(selection),
            block: vec![0; BLOCK_SIZE + LINE_ROOM],
            filled: 0,
            long_line: Vec::new(),
            delivery: Delivery::default(),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_block(&mut self) -> io::Result<()> {
        if self.filled > 0 {
            self.out.write_all(&self.block[..self.filled])?;
            self.delivery.bytes += self.filled as u64;
            self.filled = 0;
        }
        Ok(())
    }
}

impl NdjsonSink<Stdout> {
    /// A sink writing to stdout, which on Lambda is CloudWatch Logs.
    pub fn stdout(selection: Selection) -> NdjsonSink<Stdout> {
        NdjsonSink::with_selection(Stdout, selection)
    }
}

impl<W: Write> Sink for NdjsonSink<W> {
    type Error = io::Error;

    #[inline]
    fn entry(&mut self, line: &LogLine<'_>) -> Result<Verdict, EntryError<io::Error>> {
        // One byte is kept for the line break.
        let room = &mut self.block[self.filled..BLOCK_SIZE + LINE_ROOM - 1];
        match self.json.write_to_slice(line, room)? {
            Some(len) => {
                self.block[self.filled + len] = b'\n';
                self.filled += len + 1;
            }
            None => {
                // Longer than the room left (more than LINE_ROOM bytes of
                // JSON): after the lines before it, through a buffer that
                // grows.
                self.write_block()?;
                self.long_line.clear();
                self.json.write(line, &mut self.long_line)?;
                self.long_line.push(b'\n');
                self.out.write_all(&self.long_line)?;
                self.delivery.bytes += self.long_line.len() as u64;
            }
        }
        // Counted as taken; delivered once its block is written, which
        // `poll_finish` waits for.
        self.delivery.entries += 1;
        if self.filled >= BLOCK_SIZE {
            self.write_block()?;
        }
        Ok(Verdict::Continue)
    }

    fn poll_finish(&mut self, _: &mut Context<'_>) -> Poll<io::Result<Delivery>> {
        let result = self.write_block().and_then(|()| self.out.flush());
        Poll::Ready(result.map(|()| self.delivery.clone()))
    }
}

/// Standard output, written one whole buffer at a time under its lock.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cflog_core::Schema;

    /// Records each write, to check where blocks end.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for &mut Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Sends `lines` through an `NdjsonSink`; the writes it made, and what
    /// `JsonWriter::write` makes of each line, with line breaks.
    fn sink_and_writer(lines: &[String]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let schema = Schema::from_fields_header(b"#Fields: sc-status cs-uri-stem").unwrap();
        let mut writes = Writes::default();
        let mut sink = NdjsonSink::new(&mut writes);
        let mut json = JsonWriter::new(Selection::all());
        let mut expected = Vec::new();
        let mut ends = Vec::new();
        for text in lines {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut ends).unwrap();
            assert_eq!(sink.entry(&line).unwrap(), Verdict::Continue);
            json.write(&line, &mut expected).unwrap();
            expected.push(b'\n');
        }
        let delivery =
            futures_executor::block_on(std::future::poll_fn(|cx| sink.poll_finish(cx))).unwrap();
        assert_eq!(delivery.entries, lines.len() as u64);
        assert_eq!(delivery.bytes, expected.len() as u64);
        drop(sink);
        (writes.0, expected)
    }

    #[test]
    fn blocks_are_whole_lines_in_order() {
        let lines: Vec<String> = (0..5000).map(|i| format!("200\t/path/{i}")).collect();
        let (writes, expected) = sink_and_writer(&lines);
        assert!(writes.len() > 1, "{} bytes in one write", expected.len());
        for write in &writes {
            assert_eq!(write.last(), Some(&b'\n'));
            assert!(write.len() < BLOCK_SIZE + 100);
        }
        assert_eq!(writes.concat(), expected);
    }

    #[test]
    fn a_line_longer_than_the_room_in_a_block_keeps_its_place() {
        // Each `%01` becomes `\u0001`: twice as long in JSON, and more than
        // the room after a full block.
        let long = format!("200\t/{}", "%01".repeat(LINE_ROOM / 2));
        let lines = ["200\t/before".to_string(), long, "200\t/after".to_string()];
        let (writes, expected) = sink_and_writer(&lines);
        assert!(expected.len() > LINE_ROOM);
        assert_eq!(
            writes.len(),
            3,
            "the line before, the long line, the line after"
        );
        assert_eq!(writes.concat(), expected);
    }
}
