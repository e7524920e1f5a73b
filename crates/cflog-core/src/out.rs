//! Where many small writes go: a byte slice and a position.
//!
//! A JSON object, or a batch of lines written value by value, is made of
//! many small appends (a key, a quote, a value, a tab), so their cost is
//! the writer's. Appending to a `Vec<u8>` reloads and stores its length
//! around every write to its bytes, because the compiler cannot tell that
//! those bytes are not the `Vec` itself; writing at a position in a slice
//! keeps the position in a register. [`Out`] is that slice and position.
//! It never panics: a write that does not fit is dropped and flagged, and
//! the writer then writes again into a larger buffer.
//!
//! ```
//! use cflog_core::out::Out;
//!
//! let mut buf = [0u8; 8];
//! let mut out = Out::new(&mut buf);
//! out.extend_from_slice(b"200");
//! out.push(b'\t');
//! assert_eq!(&*out, b"200\t");
//! out.extend_from_slice(b"/index.html");
//! assert!(out.overflowed()); // dropped: write again into more room
//! assert_eq!(&*out, b"200\t");
//! ```

use std::io;
use std::ops::Deref;

/// The bytes written so far, and room for more.
pub struct Out<'b> {
    buf: &'b mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'b> Out<'b> {
    /// Writes from the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Out<'b> {
        Out {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    /// The number of bytes written.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing was written.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Whether a write did not fit, so that what was written is incomplete.
    #[inline(always)]
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Appends `byte`.
    #[inline(always)]
    pub fn push(&mut self, byte: u8) {
        match self.buf.get_mut(self.pos) {
            Some(slot) => {
                *slot = byte;
                self.pos += 1;
            }
            None => self.overflow = true,
        }
    }

    /// Appends `bytes`.
    #[inline(always)]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            Some(window) => {
                window.copy_from_slice(bytes);
                self.pos += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    /// Writes all of `chunk` but keeps only its first `len` bytes: a
    /// fixed-size copy instead of a `memcpy` call of a variable length.
    #[inline(always)]
    pub fn put_chunk<const N: usize>(&mut self, chunk: &[u8; N], len: usize) {
        match self.buf.get_mut(self.pos..self.pos + N) {
            Some(window) => {
                window.copy_from_slice(chunk);
                self.pos += len.min(N);
            }
            None => self.overflow = true,
        }
    }

    /// Runs `write`, a writer that is not inlined, on a copy of this
    /// output, then takes its position back.
    ///
    /// A callee that gets this output's address makes the compiler keep
    /// the position in memory, loaded and stored around every byte written
    /// in the whole caller, even if the call is rare; a copy keeps that
    /// cost on the rare path.
    #[inline(always)]
    pub fn detached<R>(&mut self, write: impl FnOnce(&mut Out<'_>) -> R) -> R {
        let mut copy = Out {
            buf: &mut *self.buf,
            pos: self.pos,
            overflow: self.overflow,
        };
        let result = write(&mut copy);
        let (pos, overflow) = (copy.pos, copy.overflow);
        self.pos = pos;
        self.overflow = overflow;
        result
    }

    /// Takes off the quotes of the JSON string written from `start` on.
    pub(crate) fn unquote(&mut self, start: usize) {
        let end = self.pos;
        if self.overflow || end < start + 2 {
            return;
        }
        self.buf.copy_within(start + 1..end - 1, start);
        self.pos = end - 2;
    }

    /// Drops what was written from `len` on.
    #[inline(always)]
    pub fn truncate(&mut self, len: usize) {
        self.pos = self.pos.min(len);
    }
}

impl std::fmt::Debug for Out<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out")
            .field("written", &self.pos)
            .field("room", &self.buf.len())
            .field("overflow", &self.overflow)
            .finish()
    }
}

impl Deref for Out<'_> {
    type Target = [u8];

    /// What was written.
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[..self.pos]
    }
}

/// For the rare values written by serde_json, `time` or `Display`.
impl io::Write for Out<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_that_do_not_fit_are_flagged_not_panics() {
        let mut buf = [0u8; 8];
        let mut out = Out::new(&mut buf);
        out.extend_from_slice(b"abc");
        out.put_chunk(b"defg", 2);
        assert_eq!(&*out, b"abcde");
        out.put_chunk(&[b'x'; 4], 1);
        assert!(out.overflowed());
        out.truncate(2);
        out.push(b'!');
        assert_eq!(&*out, b"ab!");
        out.extend_from_slice(b"123456789");
        assert_eq!(&*out, b"ab!");
    }
}
