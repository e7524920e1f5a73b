//! IP addresses as the JSON contract writes them: the text that `IpAddr`'s
//! `Display` writes (dotted IPv4; RFC 5952 IPv6, lowercase, the longest
//! run of zero groups as `::`).
//!
//! CloudFront logs addresses in that form already, so the common case is
//! to check, a chunk of sixteen bytes at a time and without a branch per
//! byte, that the text is canonical, and then to copy it. Anything else
//! (uppercase hex, leading zeros, embedded IPv4, a misplaced `::`, or not
//! an address at all) is parsed, and written from the parsed address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::text::{CHUNK, chunk_of, copy_run};
use crate::kind::FieldProblem;
use crate::mask;
use crate::out::Out;

/// Writes the address `raw` (usually a slice of `line`, see [`chunk_of`])
/// as a JSON string.
///
/// # Errors
///
/// When `raw` is not an IP address.
#[inline]
pub(super) fn write_ip(raw: &[u8], line: &[u8], out: &mut Out<'_>) -> Result<(), FieldProblem> {
    let first = chunk_of(raw, line);
    if is_canonical_ipv4(&first, raw.len()) || is_canonical_ipv6(&first, raw, line) {
        out.push(b'"');
        copy_run(raw, line, out);
        out.push(b'"');
        return Ok(());
    }
    out.detached(|out| write_parsed(raw, out))
}

/// [`write_ip`] without the quotes: the address as a cell
/// ([`super::entry_text`]).
///
/// # Errors
///
/// When `raw` is not an IP address.
#[inline]
pub(super) fn write_ip_cell(
    raw: &[u8],
    line: &[u8],
    out: &mut Out<'_>,
) -> Result<(), FieldProblem> {
    let first = chunk_of(raw, line);
    if is_canonical_ipv4(&first, raw.len()) || is_canonical_ipv6(&first, raw, line) {
        copy_run(raw, line, out);
        return Ok(());
    }
    out.detached(|out| {
        let start = out.len();
        write_parsed(raw, out)?;
        out.unquote(start);
        Ok(())
    })
}

/// Parses `raw` and writes the address; the path for text that is not
/// canonical.
#[cold]
fn write_parsed(raw: &[u8], out: &mut Out<'_>) -> Result<(), FieldProblem> {
    match crate::kind::ip(raw)? {
        IpAddr::V4(ip) => write_ipv4(ip, out),
        IpAddr::V6(ip) => write_ipv6(ip, out),
    }
    Ok(())
}

/// Whether the `n` bytes at the start of `chunk` are dotted IPv4 as std
/// parses and writes it: four decimal octets of one to three digits, none
/// above 255 and none with a leading zero.
#[inline(always)]
fn is_canonical_ipv4(chunk: &[u8; CHUNK], n: usize) -> bool {
    if !(7..=15).contains(&n) {
        return false;
    }
    let all = (1u32 << n) - 1;
    let digits = mask::range(chunk, b'0', b'9') & all;
    let dots = mask::equal(chunk, b'.') & all;
    // The first digit of each octet.
    let starts = digits & !(digits << 1);
    let only_digits_and_dots = digits | dots == all;
    let dots_between_digits = dots & !((digits << 1) & (digits >> 1)) == 0;
    let four_octets = has_bits::<4>(starts);
    let at_most_three_digits = digits & (digits >> 1) & (digits >> 2) & (digits >> 3) == 0;
    let leading_zero = starts & mask::equal(chunk, b'0') & (digits >> 1);
    // Three-digit octets, compared with 255 digit by digit.
    let three_digits = starts & (digits >> 2);
    let above_2 = mask::range(chunk, b'3', b'9');
    let above_5 = mask::range(chunk, b'6', b'9');
    let (twos, fives) = (mask::equal(chunk, b'2'), mask::equal(chunk, b'5'));
    let above_255 =
        three_digits & (above_2 | twos & ((above_5 >> 1) | (fives >> 1) & (above_5 >> 2)));
    only_digits_and_dots
        & dots_between_digits
        & four_octets
        & at_most_three_digits
        & (leading_zero == 0)
        & (above_255 == 0)
}

/// Whether `raw`, whose first chunk is `first`, is IPv6 as `Ipv6Addr`'s
/// `Display` writes it: groups of lowercase hex digits without leading
/// zeros, and either eight of them or a `::` that stands for the longest
/// run of zero groups, of two or more.
///
/// Some canonical addresses are left to the parser, which writes them the
/// same: those with another run of two zero groups beside the `::` (which
/// may tie with it) and IPv4-mapped addresses (written dotted).
#[inline(always)]
fn is_canonical_ipv6(first: &[u8; CHUNK], raw: &[u8], line: &[u8]) -> bool {
    let n = raw.len();
    if !(2..=39).contains(&n) {
        return false;
    }
    // The masks of all of `raw`: up to three chunks.
    let (mut hex, mut colons, mut zeros) = (0u64, 0u64, 0u64);
    for at in [0, CHUNK, 2 * CHUNK] {
        if at >= n {
            break;
        }
        let chunk = if at == 0 {
            *first
        } else {
            chunk_of(&raw[at..], line)
        };
        let digits = mask::range(&chunk, b'0', b'9') | mask::range(&chunk, b'a', b'f');
        hex |= u64::from(digits) << at;
        colons |= u64::from(mask::equal(&chunk, b':')) << at;
        zeros |= u64::from(mask::equal(&chunk, b'0')) << at;
    }
    let all = (1u64 << n) - 1;
    let (hex, colons, zeros) = (hex & all, colons & all, zeros & all);
    // Where a `::` starts; at most one, and no `:::`.
    let gap = colons & (colons >> 1);
    let single_colons = colons & !(gap | gap << 1);
    let starts = hex & !(hex << 1);
    let zero_groups = starts & zeros;
    let well_formed = (hex | colons == all)
        & (gap & gap.wrapping_sub(1) == 0)
        // A single colon stands between two groups.
        & (single_colons & !((hex << 1) & (hex >> 1)) == 0)
        // At most four digits a group, without leading zeros.
        & (hex & (hex >> 1) & (hex >> 2) & (hex >> 3) & (hex >> 4) == 0)
        & (zero_groups & (hex >> 1) == 0)
        // No two zero groups in a row.
        & (zero_groups & (zero_groups >> 2) == 0);
    if !well_formed {
        return false;
    }
    if gap == 0 {
        return has_bits::<8>(starts);
    }
    // A zero group beside the `::` belongs in it; `::` for a single zero
    // group is written `0`; a mapped address is written dotted.
    let beside_gap = zero_groups & ((gap >> 1) | (gap << 2));
    beside_gap == 0
        && starts.count_ones() <= 6
        && !(raw.starts_with(b"::ffff:") && has_bits::<3>(starts))
}

/// Whether exactly `N` bits of `bits` are set.
#[inline(always)]
fn has_bits<const N: u32>(bits: impl Into<u64>) -> bool {
    bits.into().count_ones() == N
}

/// IPv4 as its `Display` writes it.
fn write_ipv4(ip: Ipv4Addr, out: &mut Out<'_>) {
    out.push(b'"');
    write_dotted(ip, out);
    out.push(b'"');
}

fn write_dotted(ip: Ipv4Addr, out: &mut Out<'_>) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(itoa::Buffer::new().format(octet).as_bytes());
    }
}

/// An IPv6 address as its `Display` writes it (RFC 5952: lowercase, the
/// longest run of two or more zero groups as `::`, IPv4-mapped addresses
/// dotted), without the formatting machinery.
pub(super) fn write_ipv6(ip: Ipv6Addr, out: &mut Out<'_>) {
    if let Some(v4) = ip.to_ipv4_mapped() {
        out.extend_from_slice(b"\"::ffff:");
        write_dotted(v4, out);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let segments = ip.segments();
    // The longest run of zero groups; the first of equal runs.
    let (mut zeros_at, mut zeros_len) = (0, 0);
    let mut i = 0;
    while i < 8 {
        let run = segments[i..].iter().take_while(|&&s| s == 0).count();
        if run > zeros_len {
            (zeros_at, zeros_len) = (i, run);
        }
        i += run.max(1);
    }
    let groups = |groups: &[u16], out: &mut Out<'_>| {
        for (i, &group) in groups.iter().enumerate() {
            if i > 0 {
                out.push(b':');
            }
            write_hex(group, out);
        }
    };
    if zeros_len > 1 {
        groups(&segments[..zeros_at], out);
        out.extend_from_slice(b"::");
        groups(&segments[zeros_at + zeros_len..], out);
    } else {
        groups(&segments, out);
    }
    out.push(b'"');
}

/// Lowercase hex without leading zeros, as `{:x}` writes it.
fn write_hex(n: u16, out: &mut Out<'_>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = [n >> 12, n >> 8 & 0xF, n >> 4 & 0xF, n & 0xF].map(|d| DIGITS[usize::from(d)]);
    let skip = (n.leading_zeros() / 4).min(3) as usize;
    out.extend_from_slice(&digits[skip..]);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::json::text::written_alone_and_in_line;

    /// What `write_ip` writes for `raw`, alone and in a line; `None` for
    /// an error.
    fn written(raw: &[u8]) -> [Option<String>; 2] {
        let after = b"\t1:2.3:4:5:6:7:8:9:a:b:c:d:e:f:0:1:2:3:4:5:6";
        written_alone_and_in_line(raw, after, |raw, line, out| {
            write_ip(raw, line, out).is_ok()
        })
    }

    /// std's parser and `Display`: the oracle.
    fn std_text(raw: &[u8]) -> Option<String> {
        let ip: IpAddr = std::str::from_utf8(raw).ok()?.parse().ok()?;
        Some(format!("\"{ip}\""))
    }

    #[test]
    fn addresses_are_written_as_std_displays_them() {
        for raw in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.04",
            "249.250.251.252",
            "199.255.260.0",
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:DB8::1",
            "2001:0db8::1",
            "1:0:0:2:0:0:0:3",
            "1:0:0:2::3",
            "1::2:0:0:3",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6::8",
            "1:2:3:4:5::7:8",
            "0:0:1::",
            "::ffff:1.2.3.4",
            "::ffff:102:304",
            "::ffff:0:0",
            "::1.2.3.4",
            "1:::2",
            "1::2::3",
            ":1::2",
            "1::2:",
            "::0",
            "0::",
            "1:0::2",
            "1::0:2",
            "0:1::",
            "12345::1",
            "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
            "abcd:ef01:2345:6789:abcd:ef01:2345:6789:1",
            "fe80::1%eth0",
            "-",
            "",
            "x",
        ] {
            let expected = std_text(raw.as_bytes());
            assert_eq!(
                written(raw.as_bytes()),
                [expected.clone(), expected],
                "{raw}"
            );
        }
    }

    /// An address as it may be logged: canonical, in full, with leading
    /// zeros, in uppercase, or with a `::` anywhere.
    fn logged_ipv6() -> impl Strategy<Value = String> {
        let segment = prop::sample::select(vec![0u16, 0, 0, 1, 0xa, 0xff, 0x100, 0xabc, 0xffff]);
        (
            prop::array::uniform8(segment),
            0usize..4,
            0usize..9,
            0usize..9,
        )
            .prop_map(|(segments, style, from, to)| {
                let ip = Ipv6Addr::from(segments);
                let groups: Vec<String> = segments.iter().map(|s| format!("{s:x}")).collect();
                match style {
                    0 => ip.to_string(),
                    1 => segments.map(|s| format!("{s:04x}")).join(":"),
                    2 => ip.to_string().to_uppercase(),
                    _ => {
                        let (from, to) = (from.min(to), from.max(to));
                        format!("{}::{}", groups[..from].join(":"), groups[to..].join(":"))
                    }
                }
            })
    }

    proptest! {
        #[test]
        fn logged_ipv6_is_written_as_std_displays_it(raw in logged_ipv6()) {
            let expected = std_text(raw.as_bytes());
            prop_assert_eq!(written(raw.as_bytes()), [expected.clone(), expected]);
        }

        #[test]
        fn any_text_is_written_as_std_displays_it(raw in "[0-9a-fA-F:.]{0,41}") {
            let expected = std_text(raw.as_bytes());
            prop_assert_eq!(written(raw.as_bytes()), [expected.clone(), expected]);
        }

        #[test]
        fn ipv4_is_written_as_std_displays_it(octets in prop::array::uniform4("0|1|9|10|25|99|100|199|200|249|250|255|256|260|300|999|01|001")) {
            let raw = octets.join(".");
            let expected = std_text(raw.as_bytes());
            prop_assert_eq!(written(raw.as_bytes()), [expected.clone(), expected]);
        }

        #[test]
        fn ipv6_is_written_as_std_displays_it(
            segments in prop::array::uniform8(prop::sample::select(vec![0u16, 0, 0, 1, 0xf, 0x10, 0xabc, 0xffff, 0x1234])),
        ) {
            let ip = Ipv6Addr::from(segments);
            let mut buf = vec![0; 64];
            let mut out = Out::new(&mut buf);
            write_ipv6(ip, &mut out);
            prop_assert_eq!(String::from_utf8(out.to_vec()).unwrap(), format!("\"{ip}\""));
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_is_dotted() {
        let mut buf = vec![0; 64];
        let mut out = Out::new(&mut buf);
        write_ipv6("::ffff:1.2.3.4".parse().unwrap(), &mut out);
        assert_eq!(&*out, b"\"::ffff:1.2.3.4\"");
    }
}
