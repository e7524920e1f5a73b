//! The [`Output`] every worker's sinks write to: stdout or a file, behind
//! one lock.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// The destination of the entries, cheap to clone and shared by workers.
#[derive(Clone)]
pub struct Output {
    inner: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Output {
        Output::new(Box::new(io::stdout()))
    }

    /// A new file at `path` (an existing one is truncated).
    ///
    /// # Errors
    ///
    /// When the file cannot be created.
    pub fn create(path: &Path) -> io::Result<Output> {
        Ok(Output::new(Box::new(File::create(path)?)))
    }

    fn new(out: Box<dyn Write + Send>) -> Output {
        Output {
            inner: Arc::new(Mutex::new(out)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        // A worker that panicked mid-write cannot leave a half block: the
        // block is written by one `write_all` call or not at all, so the
        // writer is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Write for Output {
    /// Writes all of `buf` under the lock: callers pass whole blocks.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.lock().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read;

    #[test]
    fn every_clone_writes_to_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let output = Output::create(&path).unwrap();
        let mut a = output.clone();
        let mut b = output.clone();
        a.write_all(b"{\"a\":1}\n").unwrap();
        b.write_all(b"{\"b\":2}\n").unwrap();
        let mut o = output;
        o.flush().unwrap();
        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n");
    }
}
