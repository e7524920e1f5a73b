//! The byte scanners under the kinds' parsers: digits, dates, times,
//! durations and addresses.
//!
//! Each takes the raw bytes of one field (never `-`; the caller maps
//! that to `None`) and is strict about its format, so that a corrupt line is
//! reported rather than read as something else. [`kind`](crate::kind) wraps
//! each in the one parser of its kind, with the error it gives.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Parses an unsigned decimal integer of ASCII digits.
///
/// `u64::from_str` needs a `&str`, and the byte-slice version in std is not
/// stable yet; this is the one loop it would be.
#[inline(always)]
pub(crate) fn parse_u64(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    if raw.len() < 20 {
        // Nineteen digits cannot overflow: no overflow checks.
        let mut n: u64 = 0;
        for &b in raw {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
        }
        return Some(n);
    }
    let mut n: u64 = 0;
    for &b in raw {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(n)
}

#[inline]
pub(crate) fn parse_i64(raw: &[u8]) -> Option<i64> {
    match raw.split_first() {
        Some((b'-', digits)) => {
            let n = parse_u64(digits)?;
            0i64.checked_sub_unsigned(n)
        }
        _ => i64::try_from(parse_u64(raw)?).ok(),
    }
}

/// Parses `S[.fff]` decimal seconds exactly, with up to nine fraction digits.
#[inline]
pub(crate) fn parse_seconds(raw: &[u8]) -> Option<Duration> {
    // Fields are a few bytes long: a plain scan beats a memchr call here.
    let (whole, frac) = match raw.iter().position(|&b| b == b'.') {
        Some(dot) => (&raw[..dot], &raw[dot + 1..]),
        None => (raw, &b""[..]),
    };
    if frac.len() > 9 || (raw.len() > whole.len() && frac.is_empty()) {
        return None;
    }
    let secs = parse_u64(whole)?;
    let nanos = if frac.is_empty() {
        0
    } else {
        parse_u64(frac)? * 10u64.pow(9 - frac.len() as u32)
    };
    Some(Duration::new(secs, nanos as u32))
}

#[inline]
fn two_digits(raw: &[u8]) -> Option<u8> {
    let hi = raw[0].wrapping_sub(b'0');
    let lo = raw[1].wrapping_sub(b'0');
    // Lazily: for other bytes the product overflows.
    (hi < 10 && lo < 10).then(|| hi * 10 + lo)
}

/// Parses `YYYY-MM-DD`.
#[inline]
pub(crate) fn parse_date(raw: &[u8]) -> Option<Date> {
    if raw.len() != 10 || raw[4] != b'-' || raw[7] != b'-' {
        return None;
    }
    let year = i32::from(two_digits(&raw[0..2])?) * 100 + i32::from(two_digits(&raw[2..4])?);
    let month = Month::try_from(two_digits(&raw[5..7])?).ok()?;
    Date::from_calendar_date(year, month, two_digits(&raw[8..10])?).ok()
}

/// Parses `HH:MM:SS`.
#[inline]
pub(crate) fn parse_time(raw: &[u8]) -> Option<Time> {
    if raw.len() != 8 || raw[2] != b':' || raw[5] != b':' {
        return None;
    }
    Time::from_hms(
        two_digits(&raw[0..2])?,
        two_digits(&raw[3..5])?,
        two_digits(&raw[6..8])?,
    )
    .ok()
}

pub(crate) fn date_time(date: Date, time: Time) -> OffsetDateTime {
    PrimitiveDateTime::new(date, time).assume_utc()
}

/// Parses epoch seconds with an optional fraction (`1607374321.541`).
pub(crate) fn parse_epoch_seconds(raw: &[u8]) -> Option<OffsetDateTime> {
    let d = parse_seconds(raw)?;
    let nanos = i128::from(d.as_secs()) * 1_000_000_000 + i128::from(d.subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

pub(crate) fn parse_ip(raw: &[u8]) -> Option<IpAddr> {
    if let Some(ip) = parse_ipv4(raw) {
        return Some(IpAddr::V4(ip));
    }
    if let Some(ip) = parse_ipv6_groups(raw) {
        return Some(IpAddr::V6(ip));
    }
    let text = std::str::from_utf8(raw).ok()?;
    // Only IPv6 has colons; std would try IPv4 first.
    // Not `contains`: a `memchr` call costs more than this loop on values
    // this short.
    if raw.iter().fold(false, |found, &b| found | (b == b':')) {
        return text.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    text.parse().ok()
}

/// Parses dotted-decimal IPv4 as std does: four decimal octets of at most
/// three digits, no leading zeros (`01` could be octal), none above 255.
/// A shortcut for the common case; it accepts nothing that std rejects.
#[inline]
fn parse_ipv4(raw: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    // The octet being read, its digit count, and how many came before it.
    let (mut value, mut digits, mut done) = (0u16, 0u8, 0usize);
    for &b in raw {
        match b {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None; // a leading zero
                }
                value = value * 10 + u16::from(b - b'0');
                digits += 1;
                if value > 255 {
                    return None; // which also stops a fourth digit
                }
            }
            b'.' if digits > 0 && done < 3 => {
                octets[done] = value as u8;
                (value, digits, done) = (0, 0, done + 1);
            }
            _ => return None,
        }
    }
    if digits == 0 || done != 3 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

/// Parses IPv6 made of hex groups only (no embedded IPv4), the form
/// CloudFront logs: up to eight groups of one to four hex digits, with at
/// most one `::` standing for one or more zero groups. A shortcut for the
/// common case: `None` means "ask std", never "invalid", and everything it
/// accepts std accepts as the same address.
#[inline]
pub(crate) fn parse_ipv6_groups(raw: &[u8]) -> Option<Ipv6Addr> {
    if raw.len() > 39 {
        return None;
    }
    let mut groups = [0u16; 8];
    let mut n = 0;
    // How many groups come before the `::`, if there is one.
    let mut gap = None;
    let mut i = 0;
    if raw.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if i == raw.len() {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        let mut group = 0u16;
        let mut digits = 0;
        while let Some(&b) = raw.get(i) {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => break,
            };
            if digits == 4 {
                return None;
            }
            group = group << 4 | u16::from(digit);
            digits += 1;
            i += 1;
        }
        if digits == 0 || n == 8 {
            return None;
        }
        groups[n] = group;
        n += 1;
        match raw.get(i..)? {
            [] => break,
            [b':', b':', rest @ ..] => {
                if gap.is_some() {
                    return None;
                }
                gap = Some(n);
                i += 2;
                if rest.is_empty() {
                    break;
                }
            }
            [b':', _, ..] => i += 1,
            _ => return None,
        }
    }
    let segments = match gap {
        None if n == 8 => groups,
        // `::` stands for at least one group.
        Some(head) if n <= 7 => {
            let mut segments = [0u16; 8];
            segments[..head].copy_from_slice(&groups[..head]);
            segments[8 - (n - head)..].copy_from_slice(&groups[head..n]);
            segments
        }
        _ => return None,
    };
    Some(Ipv6Addr::from(segments))
}
