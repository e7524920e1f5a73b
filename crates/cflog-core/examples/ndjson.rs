//! Prints every entry of the given log files (or of every file in the given
//! directories) as NDJSON on stdout, and a line count on stderr.
//!
//! ```text
//! cargo run -p cflog-core --example ndjson -- testdata/
//! ```
//!
//! Rejected lines are reported on stderr with their file and position. Files
//! are plain text; the `cflog` command line also reads gzip and S3.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Reader, Record};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths = Vec::new();
    for arg in std::env::args_os().skip(1) {
        collect(Path::new(&arg), &mut paths)?;
    }
    if paths.is_empty() {
        return Err("usage: ndjson FILE_OR_DIR...".into());
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut json = JsonWriter::new(Selection::all());
    let mut buf = Vec::with_capacity(4096);
    let (mut entries, mut rejected) = (0u64, 0u64);
    for path in &paths {
        let mut reader = Reader::from_read(File::open(path)?);
        let mut record = Record::new();
        loop {
            let reject = |e: &dyn std::fmt::Display| eprintln!("{}: {e}", path.display());
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    buf.clear();
                    match json.write(&record.line(), &mut buf) {
                        Ok(()) => {
                            buf.push(b'\n');
                            out.write_all(&buf)?;
                            entries += 1;
                        }
                        Err(e) => {
                            reject(&record.field_error(e));
                            rejected += 1;
                        }
                    }
                }
                Err(e) if e.is_io_error() => return Err(e.into()),
                Err(e) => {
                    reject(&e);
                    rejected += 1;
                }
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{} files: {entries} entries, {rejected} rejected lines",
        paths.len()
    );
    Ok(())
}

/// Files in a stable order: directories recursively, sorted by name.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    if path.is_dir() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        children.sort();
        for child in children {
            collect(&child, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}
