//! Numbers as the JSON contract writes them: integers as JSON numbers, and
//! decimal seconds as exact decimals (`0.082`), never through a float.
//!
//! CloudFront logs numbers as plain digits, so a value is nearly always its
//! own JSON text, less leading zeros (and, for seconds, trailing zeros in
//! the fraction). The common case is checked sixteen bytes at a time, as
//! masks, and copied; longer values are parsed first.

use std::time::Duration;

use super::text::{CHUNK, chunk_of, copy_raw};
use crate::out::Out;
use crate::{mask, scan};

/// Checks that `raw` is an unsigned integer up to `max` and writes it;
/// false, having written nothing, when it is not.
///
/// `short` is how many digits any number up to `max` may have (and at most
/// [`CHUNK`]): values that short are checked as a mask of digits alone,
/// and longer ones are compared with `max` too.
#[inline(always)]
pub(super) fn write_unsigned_checked(
    raw: &[u8],
    max: u64,
    short: usize,
    line: &[u8],
    out: &mut Out<'_>,
) -> bool {
    let n = raw.len();
    if (1..=CHUNK).contains(&n) {
        let chunk = chunk_of(raw, line);
        let all = (1u32 << n) - 1;
        if mask::range(&chunk, b'0', b'9') & all != all {
            return false;
        }
        // Sixteen digits cannot overflow.
        let value = || {
            raw.iter()
                .fold(0, |n: u64, &d| n * 10 + u64::from(d - b'0'))
        };
        if n > short && value() > max {
            return false;
        }
        write_digits(raw, &chunk, line, out);
        return true;
    }
    match scan::parse_u64(raw) {
        Some(value) if value <= max => {
            write_unsigned(raw, line, out);
            true
        }
        _ => false,
    }
}

/// The number of digits that every number of that many digits is at most
/// `max` (but at most [`CHUNK`]): the `short` of
/// [`write_unsigned_checked`].
pub(super) fn short_digits(max: u64) -> usize {
    (max.ilog10() as usize).min(CHUNK)
}

/// Checks that `raw` is a three-digit status (`000` too) and writes it as a
/// number; false, having written nothing, when it is not.
#[inline(always)]
pub(super) fn write_status_checked(raw: &[u8], line: &[u8], out: &mut Out<'_>) -> bool {
    if raw.len() != 3 {
        return false;
    }
    let chunk = chunk_of(raw, line);
    if mask::range(&chunk, b'0', b'9') & 0b111 != 0b111 {
        return false;
    }
    write_digits(raw, &chunk, line, out);
    true
}

/// Digits already checked, whose first chunk is `chunk`, written without
/// leading zeros.
#[inline(always)]
fn write_digits(digits: &[u8], chunk: &[u8; CHUNK], line: &[u8], out: &mut Out<'_>) {
    let n = digits.len();
    if chunk[0] != b'0' {
        out.put_chunk(chunk, n);
        return;
    }
    // All but the last digit may go.
    let zeros = mask::equal(chunk, b'0');
    let leading = (!zeros).trailing_zeros().min(n as u32 - 1) as usize;
    copy_raw(&digits[leading..], line, out);
}

/// An unsigned integer already checked to be digits that fit its type: its
/// text is the JSON number unless it has leading zeros.
#[inline(always)]
pub(super) fn write_unsigned(digits: &[u8], line: &[u8], out: &mut Out<'_>) {
    if digits.first() != Some(&b'0') {
        copy_raw(digits, line, out);
        return;
    }
    match digits.iter().position(|&b| b != b'0') {
        Some(first) => copy_raw(&digits[first..], line, out),
        None => out.push(b'0'),
    }
}

/// A signed integer already parsed as `n` from `raw`.
#[inline(always)]
pub(super) fn write_signed(n: i64, raw: &[u8], line: &[u8], out: &mut Out<'_>) {
    match raw.split_first() {
        // `-0` and `-05` are not JSON's form of the number.
        Some((b'-', digits)) if digits[0] == b'0' => {
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes())
        }
        Some((b'-', _)) => copy_raw(raw, line, out),
        _ => write_unsigned(raw, line, out),
    }
}

/// Checks that `raw` is decimal seconds (`S[.fff]`, with up to nine
/// fraction digits, as [`scan::parse_seconds`] reads them) and writes
/// them as [`write_seconds`] writes their duration: without leading zeros
/// in the whole part or trailing zeros in the fraction. False, having
/// written nothing, when they are not.
#[inline(always)]
pub(super) fn write_seconds_checked(raw: &[u8], line: &[u8], out: &mut Out<'_>) -> bool {
    let n = raw.len();
    if !(1..=CHUNK).contains(&n) {
        return write_long_seconds(raw, line, out);
    }
    let chunk = chunk_of(raw, line);
    let all = (1u32 << n) - 1;
    let digits = mask::range(&chunk, b'0', b'9') & all;
    // What is not a digit must be one `.`, after a digit and before one to
    // nine more.
    let dot = all & !digits;
    let whole = dot.trailing_zeros().min(n as u32) as usize;
    let fraction = n.saturating_sub(whole + 1);
    let valid = dot & dot.wrapping_sub(1) == 0
        && whole > 0
        && (dot == 0 || (chunk[whole] == b'.' && (1..=9).contains(&fraction)));
    if !valid {
        return false;
    }
    write_digits(&raw[..whole], &chunk, line, out);
    // The fraction up to its last digit other than zero.
    let significant = digits & !mask::equal(&chunk, b'0') & !((2 << whole) - 1);
    if significant != 0 {
        let last = (31 - significant.leading_zeros()) as usize;
        out.push(b'.');
        copy_raw(&raw[whole + 1..=last], line, out);
    }
    true
}

/// [`write_seconds_checked`] for values longer than a chunk.
#[cold]
fn write_long_seconds(raw: &[u8], line: &[u8], out: &mut Out<'_>) -> bool {
    if crate::kind::seconds(raw).is_err() {
        return false;
    }
    let (whole, fraction) = match raw.iter().position(|&b| b == b'.') {
        Some(dot) => (&raw[..dot], &raw[dot + 1..]),
        None => (raw, &b""[..]),
    };
    write_unsigned(whole, line, out);
    if let Some(last) = fraction.iter().rposition(|&b| b != b'0') {
        out.push(b'.');
        copy_raw(&fraction[..=last], line, out);
    }
    true
}

/// Decimal seconds written exactly from the integer duration: `0.082`,
/// `12`, `1.5`, never a floating-point approximation.
pub(super) fn write_seconds(d: Duration, out: &mut Out<'_>) {
    out.extend_from_slice(itoa::Buffer::new().format(d.as_secs()).as_bytes());
    let mut nanos = d.subsec_nanos();
    if nanos == 0 {
        return;
    }
    let mut digits = 9;
    while nanos.is_multiple_of(10) {
        nanos /= 10;
        digits -= 1;
    }
    out.push(b'.');
    let text = itoa::Buffer::new().format(nanos).len();
    out.extend_from_slice(&b"00000000"[..digits - text]);
    out.extend_from_slice(itoa::Buffer::new().format(nanos).as_bytes());
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::json::text::written_alone_and_in_line;

    /// What `write` writes for `raw`, alone and in a line; `None` where it
    /// returns false.
    fn written(
        raw: &[u8],
        write: impl Fn(&[u8], &[u8], &mut Out<'_>) -> bool,
    ) -> [Option<String>; 2] {
        written_alone_and_in_line(raw, b"\t0.5.9\t00123456789012345678", write)
    }

    /// The oracle: the parser, then the duration written exactly.
    fn seconds_oracle(raw: &[u8]) -> Option<String> {
        let duration = scan::parse_seconds(raw)?;
        let mut buf = vec![0; 64];
        let mut out = Out::new(&mut buf);
        write_seconds(duration, &mut out);
        Some(String::from_utf8(out.to_vec()).unwrap())
    }

    /// The oracle: the parser, then the number formatted.
    fn unsigned_oracle(raw: &[u8], max: u64) -> Option<String> {
        scan::parse_u64(raw)
            .filter(|&n| n <= max)
            .map(|n| n.to_string())
    }

    #[test]
    fn seconds_are_written_exactly() {
        for (duration, text) in [
            (Duration::from_millis(82), "0.082"),
            (Duration::from_secs(12), "12"),
            (Duration::from_millis(1500), "1.5"),
            (Duration::from_micros(1), "0.000001"),
            (Duration::ZERO, "0"),
            (Duration::new(3, 100_000_000), "3.1"),
        ] {
            let mut buf = vec![0; 64];
            let mut out = Out::new(&mut buf);
            write_seconds(duration, &mut out);
            assert_eq!(&*out, text.as_bytes());
        }
    }

    #[test]
    fn logged_seconds_are_checked_and_written_as_their_duration() {
        for raw in [
            "0.082",
            "0.020",
            "00.100",
            "1",
            "10",
            "0",
            "000",
            "0.000",
            "1.",
            ".5",
            "1..2",
            "1.2.3",
            "12.345678901",
            "12.345678900",
            "1.0000000001",
            "-1",
            "0.1e3",
            "",
            "123456789012345.5",
            "1234567890123456.5",
            "00000000000000000000.5",
        ] {
            let expected = seconds_oracle(raw.as_bytes());
            assert_eq!(
                written(raw.as_bytes(), write_seconds_checked),
                [expected.clone(), expected],
                "{raw}"
            );
        }
    }

    #[test]
    fn unsigned_integers_are_checked_against_their_type() {
        for max in [u64::MAX, u32::MAX.into(), u16::MAX.into()] {
            let short = short_digits(max);
            for raw in [
                "0",
                "00",
                "007",
                "80",
                "443",
                "9999",
                "65535",
                "65536",
                "065535",
                "4294967295",
                "4294967296",
                "18446744073709551615",
                "18446744073709551616",
                "12a",
                "",
                "-1",
                "1.5",
                "0000000000000000000000001",
            ] {
                let expected = unsigned_oracle(raw.as_bytes(), max);
                let write = |raw: &[u8], line: &[u8], out: &mut Out<'_>| {
                    write_unsigned_checked(raw, max, short, line, out)
                };
                assert_eq!(
                    written(raw.as_bytes(), write),
                    [expected.clone(), expected],
                    "{raw} {max}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn any_seconds_text_is_checked_and_written_as_its_duration(raw in "[0-9.]{0,20}|[0-9]{1,3}\\.[0-9]{0,12}") {
            let expected = seconds_oracle(raw.as_bytes());
            prop_assert_eq!(written(raw.as_bytes(), write_seconds_checked), [expected.clone(), expected]);
        }

        #[test]
        fn any_digits_are_checked_and_written_as_their_number(
            raw in "[0-9]{0,21}|0{0,3}[0-9]{1,6}|[0-9a]{1,5}",
            max in prop::sample::select(vec![u64::MAX, u32::MAX.into(), u16::MAX.into(), 999]),
        ) {
            let short = short_digits(max);
            let expected = unsigned_oracle(raw.as_bytes(), max);
            let write = |raw: &[u8], line: &[u8], out: &mut Out<'_>| {
                write_unsigned_checked(raw, max, short, line, out)
            };
            prop_assert_eq!(written(raw.as_bytes(), write), [expected.clone(), expected]);
        }

        #[test]
        fn any_status_is_checked_and_written_as_its_number(raw in "[0-9x]{0,4}") {
            let expected = crate::kind::status(raw.as_bytes()).ok().map(|n| n.to_string());
            prop_assert_eq!(written(raw.as_bytes(), write_status_checked), [expected.clone(), expected]);
        }
    }
}
