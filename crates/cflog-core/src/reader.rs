//! Reading records from any `BufRead`.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

use crate::decoder::{Decoded, Decoder, DecoderBuilder, Stats};
use crate::error::Result;
use crate::line::LogLine;
use crate::record::Record;
use crate::schema::Schema;

/// Reads CloudFront log records from a `BufRead`, such as a file, stdin or
/// a gzip decoder.
///
/// [`read_record`](Reader::read_record) fills a [`Record`] you keep and
/// reuse, which is the fast path: it allocates nothing per line.
/// [`records`](Reader::records) is the convenient iterator, and allocates a
/// record per line. (There can be no iterator that lends out a reused
/// record: an iterator's items cannot borrow from the iterator.)
///
/// A bad line is an error for that line only: the next call returns the
/// next line. Only I/O errors end the input.
///
/// ```
/// use cflog_core::{Reader, Record};
///
/// let log = include_bytes!("../../../testdata/aws-docs-33-fields.log");
/// let mut reader = Reader::from_reader(&log[..]);
/// let mut record = Record::new();
/// let mut bytes = 0;
/// while reader.read_record(&mut record)? {
///     bytes += record.line().sc_bytes()?.unwrap_or(0);
/// }
/// assert_eq!(bytes, 392 * 3 + 900 * 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    decoder: Decoder,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader with the default configuration over a buffered input.
    pub fn from_reader(inner: R) -> Reader<R> {
        Reader::with_decoder(inner, Decoder::new())
    }

    /// A reader configured by `builder` (maximum line length, delimiter,
    /// initial schema).
    pub fn from_builder(builder: &DecoderBuilder, inner: R) -> Reader<R> {
        Reader::with_decoder(inner, builder.build())
    }

    fn with_decoder(inner: R, decoder: Decoder) -> Reader<R> {
        Reader {
            inner,
            decoder,
            done: false,
        }
    }

    /// Reads the next record into `record`. Returns `Ok(false)` at the end
    /// of the input.
    ///
    /// # Errors
    ///
    /// For a line that cannot be read (the next call goes on with the next
    /// line), or an I/O error (after which the input is done).
    pub fn read_record(&mut self, record: &mut Record) -> Result<bool> {
        while !self.done {
            let input = match self.inner.fill_buf() {
                Ok(input) => input,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Err(e.into());
                }
            };
            if input.is_empty() {
                return match self.decoder.finish(record)? {
                    Decoded::Record => Ok(true),
                    Decoded::NeedInput | Decoded::End => {
                        self.done = true;
                        Ok(false)
                    }
                };
            }
            let (result, used) = self.decoder.decode(input, record);
            self.inner.consume(used);
            match result? {
                Decoded::Record => return Ok(true),
                Decoded::NeedInput | Decoded::End => {}
            }
        }
        Ok(false)
    }

    /// Calls `f` with each line until the input ends or `f` returns
    /// `Ok(false)`. Errors from reading stop it; to skip bad lines instead,
    /// use [`read_record`](Reader::read_record).
    pub fn for_each_line<E>(
        &mut self,
        mut f: impl FnMut(LogLine<'_>) -> Result<bool, E>,
    ) -> Result<(), E>
    where
        E: From<crate::Error>,
    {
        let mut record = Record::new();
        while self.read_record(&mut record)? {
            if !f(record.line())? {
                break;
            }
        }
        Ok(())
    }

    /// An iterator over records, allocating one per line.
    pub fn records(&mut self) -> Records<'_, R> {
        Records { reader: self }
    }

    /// The schema in force.
    pub fn schema(&self) -> &Arc<Schema> {
        self.decoder.schema()
    }

    /// What the reader has seen so far.
    pub fn stats(&self) -> Stats {
        self.decoder.stats()
    }

    /// The underlying input.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Reader<BufReader<R>> {
    /// A reader over an unbuffered input, with a 64 KiB buffer.
    pub fn from_read(inner: R) -> Reader<BufReader<R>> {
        Reader::from_reader(BufReader::with_capacity(64 * 1024, inner))
    }
}

/// The iterator of [`Reader::records`].
#[derive(Debug)]
pub struct Records<'r, R> {
    reader: &'r mut Reader<R>,
}

impl<R: BufRead> Iterator for Records<'_, R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        let mut record = Record::new();
        match self.reader.read_record(&mut record) {
            Ok(true) => Some(Ok(record)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
