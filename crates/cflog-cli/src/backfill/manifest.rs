//! The manifest: the CSV list of objects that S3 Batch Operations reads,
//! one `bucket,key` line per object.
//!
//! Batch Operations requires the keys URL-encoded (its documentation's
//! example writes `object%20key%20with%20spaces`). Every byte but the
//! unreserved characters and `/` is escaped, so a key with a comma, a quote
//! or a line break cannot break the CSV, and `+` is written `%2B`: the
//! function then reads the same key whether it decodes `+` as a space (form
//! encoding, as S3 events need) or not.
//!
//! The manifest is written to a temporary file as the listing goes, never
//! held in memory, and hashed on the way: the hash names it, so the same
//! objects always give the same manifest key, and a retried command writes
//! the same object again instead of a second one.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// What stays as it is in a manifest key.
const KEY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// One manifest line, `bucket,key` with the key URL-encoded, and its end.
///
/// ```text
/// logs, cf/year=2025/E1 a+b.gz  →  logs,cf/year%3D2025/E1%20a%2Bb.gz
/// ```
pub fn line(bucket: &str, key: &str) -> String {
    format!("{bucket},{}\n", utf8_percent_encode(key, KEY_ESCAPES))
}

/// A manifest being written.
#[derive(Debug)]
pub struct ManifestWriter {
    out: BufWriter<File>,
    hasher: Sha256,
    objects: u64,
    bytes: u64,
}

/// A manifest written to its temporary file.
#[derive(Debug)]
pub struct Manifest {
    /// The file, at its start; deleted when dropped.
    pub file: File,
    /// Its size in bytes.
    pub len: u64,
    /// How many objects it lists.
    pub objects: u64,
    /// The SHA-256 of its content.
    pub digest: [u8; 32],
}

impl ManifestWriter {
    /// A manifest in a new temporary file, removed when it is dropped.
    ///
    /// # Errors
    ///
    /// When the temporary file cannot be created.
    pub fn new() -> io::Result<ManifestWriter> {
        Ok(ManifestWriter {
            out: BufWriter::with_capacity(64 << 10, tempfile::tempfile()?),
            hasher: Sha256::new(),
            objects: 0,
            bytes: 0,
        })
    }

    /// Adds an object.
    ///
    /// # Errors
    ///
    /// When writing the temporary file fails.
    pub fn push(&mut self, bucket: &str, key: &str) -> io::Result<()> {
        let line = line(bucket, key);
        self.out.write_all(line.as_bytes())?;
        self.hasher.update(line.as_bytes());
        self.objects += 1;
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Finishes the file and rewinds it for the upload.
    ///
    /// # Errors
    ///
    /// When writing the temporary file fails.
    pub fn finish(self) -> io::Result<Manifest> {
        let mut file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.flush()?;
        file.rewind()?;
        Ok(Manifest {
            file,
            len: self.bytes,
            objects: self.objects,
            digest: self.hasher.finalize().into(),
        })
    }
}

impl Manifest {
    /// The job's name, from the manifest's content: `backfill-` and 16 hex
    /// digits of its hash.
    pub fn job_name(&self) -> String {
        format!("backfill-{}", &hex(&self.digest)[..16])
    }
}

/// Lower-case hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn keys_are_url_encoded_and_slashes_kept() {
        assert_eq!(
            line("logs", "cf/E1.2025-01-01-00.ab.gz"),
            "logs,cf/E1.2025-01-01-00.ab.gz\n"
        );
        assert_eq!(
            line("logs", "cf logs/year=2025/a+b,\"c\"\n.gz"),
            "logs,cf%20logs/year%3D2025/a%2Bb%2C%22c%22%0A.gz\n"
        );
        assert_eq!(line("logs", "été~_-"), "logs,%C3%A9t%C3%A9~_-\n");
    }

    #[test]
    fn the_encoded_key_decodes_back_both_ways() {
        // The function decodes with form semantics (`+` is a space), as for
        // S3 events; plain percent-decoding must agree.
        let key = "cf logs/a+b=c%d/é.gz";
        let encoded = line("b", key);
        let encoded = encoded.trim_end().strip_prefix("b,").unwrap();
        let form = cflog_pipeline::s3::decode_event_key(encoded).unwrap();
        let plain = percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .unwrap();
        assert_eq!(form, key);
        assert_eq!(plain, key);
    }

    #[test]
    fn the_writer_counts_hashes_and_rewinds() {
        let mut writer = ManifestWriter::new().unwrap();
        writer.push("logs", "a b").unwrap();
        writer.push("logs", "c").unwrap();
        let mut manifest = writer.finish().unwrap();
        let mut text = String::new();
        manifest.file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "logs,a%20b\nlogs,c\n");
        assert_eq!((manifest.objects, manifest.len), (2, text.len() as u64));
        assert_eq!(
            manifest.digest,
            <[u8; 32]>::from(Sha256::digest(text.as_bytes()))
        );
        assert_eq!(
            manifest.job_name(),
            format!("backfill-{}", &hex(&manifest.digest)[..16])
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
