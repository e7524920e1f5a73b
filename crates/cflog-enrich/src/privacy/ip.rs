//! Client addresses truncated or replaced by keyed pseudonyms.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use cflog_core::Value;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The shortest key [`Pseudonymizer`] takes: 128 bits.
pub const MIN_KEY_BYTES: usize = 16;

/// The length of a pseudonym: the first 128 bits of the HMAC, in hex.
/// Collisions among a site's addresses are as likely as among random
/// 128-bit values: never, in practice.
pub const PSEUDONYM_HEX_LEN: usize = 32;

/// Keeps the network of `address` and zeroes the host: /24 for IPv4,
/// /48 for IPv6, and /24 of the IPv4 address inside an IPv4-mapped IPv6
/// address, which keeps its mapped form.
///
/// ```
/// use cflog_enrich::privacy::truncate;
/// let t = |a: &str| truncate(a.parse().unwrap()).to_string();
/// assert_eq!(t("192.0.2.123"), "192.0.2.0");
/// assert_eq!(t("2001:db8:85a3:8d3:1319:8a2e:370:7348"), "2001:db8:85a3::");
/// assert_eq!(t("::ffff:192.0.2.123"), "::ffff:192.0.2.0");
/// ```
pub fn truncate(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(truncate_v4(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V6(truncate_v4(v4).to_ipv6_mapped()),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !(u128::MAX >> 48))),
        },
    }
}

fn truncate_v4(v4: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from_bits(v4.to_bits() & 0xFFFF_FF00)
}

/// Keyed pseudonyms of addresses: HMAC-SHA256 of the address's bytes (4
/// for IPv4 and IPv4-mapped addresses, so both forms of one address agree;
/// 16 for IPv6), its first [`PSEUDONYM_HEX_LEN`] hex digits.
///
/// ```
/// use cflog_enrich::privacy::Pseudonymizer;
///
/// let key = Pseudonymizer::from_key(b"0123456789abcdef0123456789abcdef")?;
/// let a = key.pseudonym("192.0.2.1".parse()?);
/// assert_eq!(a, key.pseudonym("::ffff:192.0.2.1".parse()?));
/// assert_ne!(a, key.pseudonym("192.0.2.2".parse()?));
/// assert_eq!(a.len(), 32);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

/// A key that cannot be used; the message names its file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("IP HMAC key file {}: cannot be read: {error}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The key is shorter than [`MIN_KEY_BYTES`].
    #[error("IP HMAC key{}: {len} bytes, fewer than the {MIN_KEY_BYTES} a key needs (e.g. `openssl rand -hex 32`)", .path.as_ref().map(|p| format!(" file {}", p.display())).unwrap_or_default())]
    TooShort {
        /// The file, if the key came from one.
        path: Option<PathBuf>,
        /// The key's length.
        len: usize,
    },
}

impl Pseudonymizer {
    /// A pseudonymizer keyed by `key`, which must hold at least
    /// [`MIN_KEY_BYTES`] bytes.
    pub fn from_key(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                path: None,
                len: key.len(),
            });
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        Ok(Pseudonymizer { mac })
    }

    /// The key in a file: its bytes, less one trailing line break (so
    /// `openssl rand -hex 32 > key` makes a key of 64 bytes).
    pub fn from_key_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|error| KeyError::Read {
            path: path.to_owned(),
            error,
        })?;
        let key = bytes
            .strip_suffix(b"\r\n")
            .or_else(|| bytes.strip_suffix(b"\n"))
            .unwrap_or(&bytes);
        Self::from_key(key).map_err(|error| match error {
            KeyError::TooShort { len, .. } => KeyError::TooShort {
                path: Some(path.to_owned()),
                len,
            },
            other => other,
        })
    }

    /// The pseudonym of `address`, as [`PSEUDONYM_HEX_LEN`] lower-case hex digits.
    pub fn pseudonym(&self, address: IpAddr) -> String {
        let mut out = Vec::with_capacity(PSEUDONYM_HEX_LEN);
        self.write_pseudonym(address, &mut out);
        String::from_utf8(out).expect("hex digits are ASCII")
    }

    /// Appends the pseudonym of `address` to `out`.
    pub fn write_pseudonym(&self, address: IpAddr, out: &mut Vec<u8>) {
        let mut mac = self.mac.clone();
        match address {
            IpAddr::V4(v4) => mac.update(&v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => mac.update(&v4.octets()),
                None => mac.update(&v6.octets()),
            },
        }
        let digest = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for byte in &digest[..PSEUDONYM_HEX_LEN / 2] {
            out.extend_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
        }
    }
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.write_str("Pseudonymizer { .. }")
    }
}

/// How client addresses are rewritten before they are stored.
#[derive(Clone, Debug)]
pub enum IpPrivacy {
    /// [`truncate`]: /24 and /48.
    Truncate,
    /// [`Pseudonymizer`]: a keyed pseudonym.
    Hmac(Pseudonymizer),
}

impl IpPrivacy {
    /// Appends the rewrite of one logged address (`c-ip`) to `out`.
    ///
    /// A port (`192.0.2.1:443`, `[2001:db8::1]:443`) is dropped with the
    /// host. A value that is no address is written as `-`: it is not known
    /// to hold none.
    ///
    /// ```
    /// use cflog_enrich::privacy::IpPrivacy;
    /// let mut out = Vec::new();
    /// IpPrivacy::Truncate.rewrite_address(b"[2001:db8:1:2::7]:443", &mut out);
    /// assert_eq!(out, b"2001:db8:1::");
    /// ```
    pub fn rewrite_address(&self, logged: &[u8], out: &mut Vec<u8>) {
        match parse_address(logged) {
            Some(address) => self.write(address, out),
            None => out.push(b'-'),
        }
    }

    /// Appends the rewrite of an `x-forwarded-for` list to `out`: each
    /// address as [`rewrite_address`](Self::rewrite_address) does, the
    /// separators (`,`, `, `, `,%20`) as they were.
    ///
    /// ```
    /// use cflog_enrich::privacy::IpPrivacy;
    /// let mut out = Vec::new();
    /// IpPrivacy::Truncate.rewrite_list(b"203.0.113.9,%20198.51.100.77,unknown", &mut out);
    /// assert_eq!(out, b"203.0.113.0,%20198.51.100.0,-");
    /// ```
    pub fn rewrite_list(&self, logged: &[u8], out: &mut Vec<u8>) {
        for (i, item) in logged.split(|&b| b == b',').enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let (lead, address) = split_lead(item);
            out.extend_from_slice(lead);
            self.rewrite_address(address, out);
        }
    }

    fn write(&self, address: IpAddr, out: &mut Vec<u8>) {
        match self {
            IpPrivacy::Truncate => write_truncated(address, out),
            IpPrivacy::Hmac(key) => key.write_pseudonym(address, out),
        }
    }
}

/// Appends [`truncate`]`(address)` as `Display` writes it, without its
/// formatting machinery: this runs for every line.
fn write_truncated(address: IpAddr, out: &mut Vec<u8>) {
    match address {
        IpAddr::V4(v4) => write_v4(truncate_v4(v4), out),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                out.extend_from_slice(b"::ffff:");
                write_v4(truncate_v4(v4), out);
            }
            None => write_v6_48(v6, out),
        },
    }
}

/// Dotted decimal.
fn write_v4(v4: Ipv4Addr, out: &mut Vec<u8>) {
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        if octet >= 100 {
            out.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            out.push(b'0' + octet / 10 % 10);
        }
        out.push(b'0' + octet % 10);
    }
}

/// The /48 of a (not IPv4-mapped) IPv6 address as RFC 5952 writes it, as
/// `Ipv6Addr`'s `Display` does: its five last groups are zero, so the
/// longest run of zero groups is the one that ends the address, taking in
/// any zero groups just before them; any other run is at most two groups.
fn write_v6_48(v6: Ipv6Addr, out: &mut Vec<u8>) {
    let groups = v6.segments();
    let kept = groups[..3]
        .iter()
        .rposition(|&group| group != 0)
        .map_or(0, |last| last + 1);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, &group) in groups[..kept].iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        let digits = [
            group >> 12,
            (group >> 8) & 15,
            (group >> 4) & 15,
            group & 15,
        ];
        // No leading zeros, and one digit for zero.
        let first = digits.iter().position(|&d| d != 0).unwrap_or(3);
        out.extend(digits[first..].iter().map(|&d| HEX[usize::from(d)]));
    }
    out.extend_from_slice(b"::");
}

impl IpPrivacy {
    /// `text` (a message that quotes a log line, such as a rejected line's
    /// error) with every address in it rewritten as the outputs rewrite
    /// `c-ip`; `None` when it has none. An address is a run of hex digits,
    /// `.` and `:` that reads as one, with a port or not; a percent escape
    /// (`%20`, `%2C`) ends a run, so a logged list's addresses are found too.
    ///
    /// ```
    /// use cflog_enrich::privacy::IpPrivacy;
    /// let text = r#"field sc-status: expected a three-digit status: "203.0.113.9,%20[2001:db8:1:2::7]:443""#;
    /// assert_eq!(
    ///     IpPrivacy::Truncate.scrub(text).unwrap(),
    ///     r#"field sc-status: expected a three-digit status: "203.0.113.0,%20[2001:db8:1::]:443""#
    /// );
    /// assert_eq!(IpPrivacy::Truncate.scrub("line 3: expected 5 fields, found 4"), None);
    /// ```
    pub fn scrub(&self, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut copied = 0;
        let mut at = 0;
        while at < bytes.len() {
            if !is_address_byte(bytes[at]) {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && is_address_byte(bytes[at]) {
                at += 1;
            }
            // A run just after `%` starts with the escape's two digits.
            let start = match start.checked_sub(1).map(|i| bytes[i]) {
                Some(b'%') => (start + 2).min(at),
                _ => start,
            };
            let run = &bytes[start..at];
            if !run.iter().any(|&b| b == b'.' || b == b':') {
                continue;
            }
            if let Some(address) = parse_address(run) {
                let (open, close) = around_address(run);
                out.extend_from_slice(&bytes[copied..start]);
                out.extend_from_slice(open);
                self.write(address, &mut out);
                // The port, if any, stays: it says nothing of the client.
                out.extend_from_slice(close);
                copied = at;
            }
        }
        if copied == 0 {
            return None;
        }
        out.extend_from_slice(&bytes[copied..]);
        Some(String::from_utf8(out).expect("ASCII replaced at ASCII boundaries"))
    }
}

/// A byte an address as logged may hold: hex digits, `.`, `:` and the
/// brackets of `[v6]:port`.
fn is_address_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']')
}

/// What surrounds the address in a logged one: `[` and `]:port` of a
/// bracketed IPv6 address, `:port` after an IPv4 address, or nothing.
fn around_address(run: &[u8]) -> (&[u8], &[u8]) {
    if run.starts_with(b"[") {
        return match run.iter().position(|&b| b == b']') {
            Some(end) => (&run[..1], &run[end..]),
            None => (&run[..1], &[]),
        };
    }
    // An IPv6 address has more than one colon; IPv4 with a port, one.
    match run.iter().rposition(|&b| b == b':') {
        Some(i) if run.iter().filter(|&&b| b == b':').count() == 1 => (&[], &run[i..]),
        _ => (&[], &[]),
    }
}

/// The spaces before a list item (plain or logged as `%20`), and the rest.
fn split_lead(item: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    loop {
        match &item[at..] {
            [b' ' | b'\t', ..] => at += 1,
            [b'%', b'2', b'0', ..] => at += 3,
            _ => return item.split_at(at),
        }
    }
}

/// An address as logged, with a port or brackets, and trailing spaces.
fn parse_address(logged: &[u8]) -> Option<IpAddr> {
    // The address alone, as nearly every log has it: the parser every
    // output reads `c-ip` with, faster than std's.
    if let Some(address) = Value::new(logged).and_then(|value| value.ip()) {
        return Some(address);
    }
    let text = std::str::from_utf8(logged).ok()?.trim_end();
    let text = text.strip_suffix("%20").unwrap_or(text);
    if let Ok(address) = text.parse() {
        return Some(address);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (host, _port) = rest.split_once(']')?;
        return host.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_brackets_go_with_the_host() {
        assert_eq!(
            parse_address(b"192.0.2.1:8080"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_address(b"[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_address(b"2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_address(b"unknown"), None);
        assert_eq!(parse_address(b""), None);
    }

    #[test]
    fn truncated_addresses_are_written_as_display_writes_them() {
        for text in [
            "192.0.2.123",
            "0.0.0.0",
            "255.255.255.255",
            "10.1.100.9",
            "2001:db8:85a3:8d3:1319:8a2e:370:7348",
            "2001:db8:0:1::",
            "2001:0:0:1::",
            "2001::1",
            "0:0:1:2::",
            "0:1:0:2::",
            "0:1::",
            "::1",
            "::",
            "ff::",
            "1:2:3::",
            "::ffff:192.0.2.123",
            "::ffff:0.0.0.1",
            "64:ff9b::192.0.2.1",
        ] {
            let address: IpAddr = text.parse().unwrap();
            let mut out = Vec::new();
            write_truncated(address, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                truncate(address).to_string(),
                "{text}"
            );
        }
    }

    #[test]
    fn key_files_lose_one_line_break_and_short_keys_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let with_newline = dir.path().join("key");
        std::fs::write(&with_newline, b"0123456789abcdef\n").unwrap();
        let direct = Pseudonymizer::from_key(b"0123456789abcdef").unwrap();
        let from_file = Pseudonymizer::from_key_file(&with_newline).unwrap();
        let address = "198.51.100.7".parse().unwrap();
        assert_eq!(direct.pseudonym(address), from_file.pseudonym(address));

        let short = dir.path().join("short");
        std::fs::write(&short, b"abc\n").unwrap();
        let message = Pseudonymizer::from_key_file(&short)
            .unwrap_err()
            .to_string();
        assert!(message.contains(&short.display().to_string()), "{message}");
        assert!(message.contains("3 bytes"), "{message}");

        let missing = dir.path().join("missing");
        let message = Pseudonymizer::from_key_file(&missing)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
    }
}
