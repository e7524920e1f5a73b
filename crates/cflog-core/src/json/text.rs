//! Text as JSON strings: values copied a chunk of sixteen bytes at a time,
//! checked for what JSON escapes as they go, and decoded one level when
//! they hold CloudFront's `%XX` escapes.
//!
//! A value is nearly always a slice of its line, and the bytes after it
//! (the next fields, or the slack a record keeps after its line) may be
//! read along with it and cut off: a short value's copy is then one
//! fixed-size move, not a `memcpy` call.

use serde::ser::Serializer;

use crate::out::Out;
use crate::{escape, mask};

/// Escaped text as a JSON string, decoded one level: the general path, for
/// text that [`decode_if_plain`] leaves (bytes to escape in JSON, or not
/// UTF-8).
pub(super) fn write_text(raw: &[u8], out: &mut Out<'_>, scratch: &mut Vec<u8>) {
    scratch.clear();
    escape::decode_into(raw, scratch);
    write_string(scratch, out);
}

/// Bytes as a JSON string. Log values are nearly always printable ASCII
/// with nothing to escape, which is checked in one pass and copied as is;
/// anything else goes through serde_json's escaping (invalid UTF-8 becomes
/// U+FFFD first).
pub(super) fn write_string(bytes: &[u8], out: &mut Out<'_>) {
    if is_plain_text(bytes) {
        copy_string(bytes, out);
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    // Writing to `Out` never fails: what does not fit is flagged.
    let _ = serde_json::Serializer::new(out).serialize_str(&text);
}

/// Printable ASCII with nothing to escape in JSON (`%` allowed).
#[inline]
fn is_plain_text(bytes: &[u8]) -> bool {
    // A fold, not `all`: no early exit, so the compiler vectorizes it.
    bytes
        .iter()
        .fold(true, |plain, &b| plain & is_plain_byte(b))
}

/// Printable ASCII other than `"` and `\\`: its own JSON string content.
#[inline(always)]
fn is_plain_byte(b: u8) -> bool {
    (b' '..=b'~').contains(&b) & (b != b'"') & (b != b'\\')
}

/// Values are copied in chunks of this size, which compile to a few moves
/// rather than a `memcpy` call per value.
pub(super) const CHUNK: usize = 16;

/// The `CHUNK` bytes of `line` that start where `bytes` starts, when
/// `bytes` is a slice of `line` that far from its end.
///
/// A field is nearly always a slice of its line, and the bytes after it
/// (the next fields) may be read along with it, then cut off: that turns a
/// short value's copy into one fixed-size move. Fields that are not in the
/// line (the unescaped values of a JSON line) get `None`.
#[inline(always)]
fn chunk_at<'a>(bytes: &[u8], line: &'a [u8]) -> Option<&'a [u8; CHUNK]> {
    // Where `bytes` starts in `line`; anywhere else, this is out of range.
    let offset = (bytes.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    line.get(offset..)?.first_chunk::<CHUNK>()
}

/// The first `CHUNK` bytes of `bytes`, read from `line` past the end of
/// `bytes` where it can be, otherwise padded with zeros.
#[inline(always)]
pub(super) fn chunk_of(bytes: &[u8], line: &[u8]) -> [u8; CHUNK] {
    if let Some(chunk) = chunk_at(bytes, line) {
        return *chunk;
    }
    let mut chunk = [0; CHUNK];
    let n = bytes.len().min(CHUNK);
    chunk[..n].copy_from_slice(&bytes[..n]);
    chunk
}

/// Whether any of the first `n` bytes of `chunk` (all of them from `CHUNK`
/// on) is special: not printable ASCII, or `"` or `\\`, or `%` unless
/// `PERCENT`. Those bytes are not their own JSON string content.
#[inline(always)]
fn any_special<const PERCENT: bool>(chunk: &[u8; CHUNK], n: usize) -> bool {
    mask::any_special(chunk, n, !PERCENT)
}

/// Appends `bytes`, a slice of `line` (or not), in chunks.
#[inline(always)]
pub(super) fn copy_raw(bytes: &[u8], line: &[u8], out: &mut Out<'_>) {
    match chunk_at(bytes, line) {
        Some(chunk) if bytes.len() <= CHUNK => {
            out.put_chunk(chunk, bytes.len());
        }
        _ => out.extend_from_slice(bytes),
    }
}

/// Appends `bytes` as a JSON string if it is plain: printable ASCII with
/// nothing to escape, and without `%` unless `PERCENT`. The check and the
/// copy go together, a chunk at a time. Appends nothing and returns false
/// for anything else.
#[inline(always)]
pub(super) fn copy_if_plain<const PERCENT: bool>(
    bytes: &[u8],
    line: &[u8],
    out: &mut Out<'_>,
) -> bool {
    let start = out.len();
    out.push(b'"');
    let mut rest = bytes;
    loop {
        let chunk = chunk_of(rest, line);
        if any_special::<PERCENT>(&chunk, rest.len()) {
            out.truncate(start);
            return false;
        }
        out.put_chunk(&chunk, rest.len());
        match rest.get(CHUNK..) {
            Some(tail) if !tail.is_empty() => rest = tail,
            _ => break,
        }
    }
    out.push(b'"');
    true
}

/// [`copy_if_plain`] without the quotes: `bytes` as a cell
/// ([`super::entry_text`]). `Some` with whether it holds `separator`, or `None`
/// having written nothing.
#[inline(always)]
pub(super) fn copy_cell_if_plain<const PERCENT: bool>(
    bytes: &[u8],
    line: &[u8],
    separator: u8,
    out: &mut Out<'_>,
) -> Option<bool> {
    let start = out.len();
    let mut separators = 0;
    let mut rest = bytes;
    loop {
        let chunk = chunk_of(rest, line);
        if any_special::<PERCENT>(&chunk, rest.len()) {
            out.truncate(start);
            return None;
        }
        let n = rest.len().min(CHUNK);
        separators |= mask::equal(&chunk, separator) & ((1 << n) - 1);
        out.put_chunk(&chunk, rest.len());
        match rest.get(CHUNK..) {
            Some(tail) if !tail.is_empty() => rest = tail,
            _ => break,
        }
    }
    Some(separators != 0)
}

/// Appends escaped text as a JSON string, decoded one level, when it is
/// plain: printable ASCII other than `"` and `\\`, with escapes that decode
/// to such bytes. Appends nothing and returns false for anything else.
///
/// Escapes are dense in a User-Agent (a `%20` every few bytes), so this
/// finds the `%`s of sixteen bytes at once, as a mask, and copies the runs
/// between them in chunks. It reads the text with the `CHUNK` bytes that
/// follow it in `line`, so that every read is a whole chunk; text without
/// them (the end of a line that keeps no slack) is copied with that
/// padding into `scratch` first.
#[inline(always)]
pub(super) fn decode_if_plain(
    bytes: &[u8],
    line: &[u8],
    out: &mut Out<'_>,
    scratch: &mut Vec<u8>,
) -> bool {
    match padded(bytes, line) {
        Some(text) => decode_padded::<true>(text, bytes.len(), out),
        None => out.detached(|out| {
            scratch.clear();
            scratch.extend_from_slice(bytes);
            scratch.extend_from_slice(&[0; CHUNK]);
            decode_padded::<true>(scratch, bytes.len(), out)
        }),
    }
}

/// [`decode_if_plain`] without the quotes: the decoded text as a cell
/// ([`super::entry_text`]). `Some` with whether it holds `separator`, or `None`
/// having written nothing.
#[inline(always)]
pub(super) fn decode_cell_if_plain(
    bytes: &[u8],
    line: &[u8],
    separator: u8,
    out: &mut Out<'_>,
    scratch: &mut Vec<u8>,
) -> Option<bool> {
    let start = out.len();
    let plain = match padded(bytes, line) {
        Some(text) => decode_padded::<false>(text, bytes.len(), out),
        None => out.detached(|out| {
            scratch.clear();
            scratch.extend_from_slice(bytes);
            scratch.extend_from_slice(&[0; CHUNK]);
            decode_padded::<false>(scratch, bytes.len(), out)
        }),
    };
    plain.then(|| memchr::memchr(separator, &out[start..]).is_some())
}

/// `bytes` and the `CHUNK` bytes after it, when it is a slice of `line`
/// that far from its end.
#[inline(always)]
fn padded<'a>(bytes: &[u8], line: &'a [u8]) -> Option<&'a [u8]> {
    // Where `bytes` starts in `line`; anywhere else, this is out of range.
    let offset = (bytes.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    line.get(offset..offset.checked_add(bytes.len() + CHUNK)?)
}

/// [`decode_if_plain`] of `text[..len]`, where `text` has at least `CHUNK`
/// more bytes; in quotes if `QUOTES`.
#[inline(always)]
fn decode_padded<const QUOTES: bool>(text: &[u8], len: usize, out: &mut Out<'_>) -> bool {
    let start = out.len();
    if QUOTES {
        out.push(b'"');
    }
    let chunk_at = |at: usize| text.get(at..).and_then(|rest| rest.first_chunk::<CHUNK>());
    // `text[..copied]` is written; `text[base..len]` is not yet looked at.
    let (mut copied, mut base) = (0, 0);
    while base < len {
        let Some(chunk) = chunk_at(base) else {
            break;
        };
        let n = (len - base).min(CHUNK);
        if any_special::<true>(chunk, n) {
            out.truncate(start);
            return false;
        }
        let mut percents = mask::equal(chunk, b'%') & ((1 << n) - 1);
        while percents != 0 {
            // Never inside an escape already decoded: hex digits are not `%`.
            let at = base + percents.trailing_zeros() as usize;
            percents &= percents - 1;
            copy_padded(text, copied, at, out);
            let escape = match text.get(at + 1..at + 3) {
                Some(&[high, low]) if at + 2 < len => escape::hex_digits(high, low),
                _ => None,
            };
            match escape {
                Some(byte) if is_plain_byte(byte) => {
                    out.push(byte);
                    copied = at + 3;
                }
                Some(_) => {
                    out.truncate(start);
                    return false;
                }
                // Not an escape: the `%` stays.
                None => {
                    out.push(b'%');
                    copied = at + 1;
                }
            }
        }
        base += CHUNK;
    }
    copy_padded(text, copied, len, out);
    if QUOTES {
        out.push(b'"');
    }
    true
}

/// Appends `text[from..to]`, where `text` has at least `CHUNK` bytes past
/// `to`, a whole chunk at a time.
#[inline(always)]
fn copy_padded(text: &[u8], mut from: usize, to: usize, out: &mut Out<'_>) {
    while from < to {
        let Some(chunk) = text
            .get(from..)
            .and_then(|rest| rest.first_chunk::<CHUNK>())
        else {
            return;
        };
        out.put_chunk(chunk, to - from);
        from += CHUNK;
    }
}

/// Appends `bytes`, a slice of `line` (or not), a chunk at a time.
#[inline(always)]
pub(super) fn copy_run(bytes: &[u8], line: &[u8], out: &mut Out<'_>) {
    let mut rest = bytes;
    while let Some((chunk, tail)) = rest.split_first_chunk::<CHUNK>()
        && !tail.is_empty()
    {
        out.extend_from_slice(chunk);
        rest = tail;
    }
    copy_raw(rest, line, out);
}

fn copy_string(bytes: &[u8], out: &mut Out<'_>) {
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// For the tests of the value writers: what `write` writes for `raw`,
/// alone and as the start of a line that goes on with `after` (bytes the
/// writer may read along, then cut off); `None` where `write` returns
/// false, which it must do having written nothing.
#[cfg(test)]
pub(super) fn written_alone_and_in_line(
    raw: &[u8],
    after: &[u8],
    mut write: impl FnMut(&[u8], &[u8], &mut Out<'_>) -> bool,
) -> [Option<String>; 2] {
    let line = [raw, after].concat();
    [&[][..], &line[..]].map(|line| {
        let mut buf = vec![0; 256 + 16 * raw.len()];
        let mut out = Out::new(&mut buf);
        let raw = line.get(..raw.len()).unwrap_or(raw);
        if !write(raw, line, &mut out) {
            assert!(out.is_empty());
            return None;
        }
        assert!(!out.overflowed());
        Some(String::from_utf8(out.to_vec()).unwrap())
    })
}
