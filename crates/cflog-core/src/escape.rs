//! CloudFront's `%XX` escaping, undone exactly once, and query strings.
//!
//! CloudFront escapes spaces, controls, non-ASCII bytes and 16 punctuation
//! characters as `%XX`, and escapes `%` itself as `%25`. It does *not* decode
//! what the client sent first, so a client's `%20` is logged as `%2520`. One
//! decode therefore gives the value as it was on the wire; `+` stays `+`,
//! because the log escaping never produces it from a space.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use percent_encoding::percent_decode;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// Undoes one level of CloudFront's escaping. Borrows when there is nothing
/// to decode. The result is bytes: a decoded value need not be UTF-8.
///
/// ```
/// use cflog_core::escape::decode;
/// assert_eq!(decode(b"Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)").as_ref(),
///            b"Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
/// assert_eq!(decode(b"Mastodon/4.5.2+glitch").as_ref(), b"Mastodon/4.5.2+glitch");
/// assert_eq!(decode(b"q=a%2520b").as_ref(), b"q=a%20b");
/// assert!(matches!(decode(b"no-escapes"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn decode(raw: &[u8]) -> Cow<'_, [u8]> {
    percent_decode(raw).into()
}

/// Appends `raw` to `out` with one level of escaping undone: the same
/// result as [`decode`], into a buffer the caller reuses.
///
/// Escapes are dense (every few bytes in a User-Agent), so this neither
/// copies the runs between them with a `memcpy` call each nor branches on
/// every byte: it copies eight bytes at a time, and cuts the copy back at
/// the first `%` among them. The property tests check it against
/// `percent_decode`.
pub fn decode_into(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len() + 8);
    let mut rest = raw;
    while let Some(word) = rest.first_chunk::<8>() {
        out.extend_from_slice(word);
        let Some(at) = first_percent(u64::from_le_bytes(*word)) else {
            rest = &rest[8..];
            continue;
        };
        out.truncate(out.len() - 8 + at);
        let (byte, len) = match hex_pair(&rest[at + 1..]) {
            Some(byte) => (byte, 3),
            None => (b'%', 1),
        };
        out.push(byte);
        rest = &rest[at + len..];
    }
    // Fewer than eight bytes left.
    if rest.is_empty() {
        return;
    }
    let start = out.len();
    out.extend_from_slice(rest);
    if tail_may_have_percent(raw, rest.len()) {
        let len = decode_in_place(&mut out[start..]);
        out.truncate(start + len);
    }
}

/// Whether the last `n` bytes of `raw` (`0 < n < 8`) may hold a `%`: never
/// false when they do. Most values end in a few plain bytes, and this looks
/// at them all at once in the last word of `raw` where there is one.
#[inline]
fn tail_may_have_percent(raw: &[u8], n: usize) -> bool {
    let Some(last) = raw.last_chunk::<8>() else {
        return raw.contains(&b'%');
    };
    // Little endian: the last `n` bytes are the high ones.
    percents(u64::from_le_bytes(*last)) >> (8 * (8 - n)) != 0
}

/// The index of the first `%` among the eight bytes of `word` (read little
/// endian), found for all of them at once.
#[inline]
fn first_percent(word: u64) -> Option<usize> {
    let found = percents(word);
    (found != 0).then(|| found.trailing_zeros() as usize / 8)
}

/// The high bit of each byte of `word` that is a `%`, by the classic
/// zero-byte test: exact for the lowest such byte, and set for every other
/// one too. A byte above a `%` that is not one may be marked as well (a
/// borrow), which only sends the caller down its slow path.
#[inline]
fn percents(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let zeroed = word ^ u64::from_ne_bytes([b'%'; 8]);
    zeroed.wrapping_sub(ONES) & !zeroed & HIGHS
}

/// Undoes one level of escaping within `buf`, returning the decoded length
/// (the decoded bytes are `buf[..len]`; decoding never lengthens).
///
/// Copying once and then compacting in place beats copying the runs between
/// escapes: escapes are dense (every few bytes in a User-Agent), and each
/// run copied is a `memcpy` call.
pub(crate) fn decode_in_place(buf: &mut [u8]) -> usize {
    // Nothing moves before the first `%`.
    let Some(first) = buf.iter().position(|&b| b == b'%') else {
        return buf.len();
    };
    let (mut read, mut write) = (first, first);
    while read < buf.len() {
        let mut byte = buf[read];
        read += 1;
        if byte == b'%'
            && let Some(decoded) = hex_pair(&buf[read..])
        {
            byte = decoded;
            read += 2;
        }
        // `write < read`: the bytes still to read are never overwritten.
        buf[write] = byte;
        write += 1;
    }
    write
}

/// The byte of the two hex digits that start `rest`; otherwise the `%` is
/// not an escape and stays, as percent_decode keeps it.
#[inline]
pub(crate) fn hex_pair(rest: &[u8]) -> Option<u8> {
    let [high, low, ..] = *rest else {
        return None;
    };
    hex_digits(high, low)
}

/// The byte of two hex digits, if they are.
#[inline]
pub(crate) fn hex_digits(high: u8, low: u8) -> Option<u8> {
    let (high, low) = (HEX[usize::from(high)], HEX[usize::from(low)]);
    (high | low < 16).then_some(high << 4 | low)
}

/// The value of each hex digit (either case); 0xFF for any other byte.
const HEX: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes a User-Agent or Referer from the files of about September 2013 to
/// the end of 2019, which CloudFront escaped twice (`%2520` for a space).
///
/// This is the heuristic Snowplow uses: decode twice. It is ambiguous for a
/// value whose text really contained `%xx`, so use it only on fields and
/// files of that era.
///
/// ```
/// use cflog_core::escape::decode_legacy_double;
/// let ua = b"Mozilla/5.0%2520(compatible;%2520nsrbot/1.0;%2520&%2343;http://netsystemsresearch.com)";
/// assert_eq!(decode_legacy_double(ua).as_ref(),
///            b"Mozilla/5.0 (compatible; nsrbot/1.0; &#43;http://netsystemsresearch.com)");
/// ```
pub fn decode_legacy_double(raw: &[u8]) -> Cow<'_, [u8]> {
    match decode(raw) {
        Cow::Borrowed(raw) => Cow::Borrowed(raw),
        Cow::Owned(once) => Cow::Owned(decode(&once).into_owned()),
    }
}

/// A query string's parameters, fully decoded: first CloudFront's escaping,
/// then form encoding, where `+` is a space.
///
/// ```
/// use cflog_core::escape::QueryParams;
///
/// let params = QueryParams::new(b"q=a%2520b+c&lang=en&lang=de&flag");
/// let pairs: Vec<_> = params.iter().collect();
/// assert_eq!(pairs[0], ("q".into(), "a b c".into()));
/// assert_eq!(params.get("lang").as_deref(), Some("en"));
/// assert_eq!(params.get_all("lang"), ["en", "de"]);
/// assert_eq!(params.get("flag").as_deref(), Some(""));
/// ```
#[derive(Clone, Debug)]
pub struct QueryParams<'a> {
    raw: &'a [u8],
    /// CloudFront's escaping undone, when the parameters are first read:
    /// a reader of the raw query alone (the tally) never pays for it.
    unescaped: OnceCell<Cow<'a, [u8]>>,
}

impl<'a> QueryParams<'a> {
    /// The parameters of a raw, escaped query string as logged (without `?`).
    pub fn new(raw: &'a [u8]) -> QueryParams<'a> {
        QueryParams {
            raw,
            unescaped: OnceCell::new(),
        }
    }

    /// The query string as logged, still escaped.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The `(key, value)` pairs in order. Invalid UTF-8 is replaced by U+FFFD.
    pub fn iter(&self) -> form_urlencoded::Parse<'_> {
        form_urlencoded::parse(self.unescaped.get_or_init(|| decode(self.raw)))
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value of `key`, in order.
    pub fn get_all(&self, key: &str) -> Vec<Cow<'_, str>> {
        self.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// A JSON object; a repeated key becomes an array of its values in order.
impl Serialize for QueryParams<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = self.iter().collect();
        let mut groups = NameGroups::default();
        let groups = groups.group(pairs.len(), |i| pairs[i].0.as_bytes());
        let mut map = serializer.serialize_map(None)?;
        for members in groups {
            let (key, value) = &pairs[members[0]];
            if members.len() == 1 {
                map.serialize_entry(key, value)?;
            } else {
                let values = members.iter().map(|&i| &pairs[i].1);
                map.serialize_entry(key, &AllValues(values.collect()))?;
            }
        }
        map.end()
    }
}

/// Query parameters grouped by name, in buffers reused between queries:
/// how every output that writes `query_params` (a JSON object, a Parquet
/// map) gathers a repeated name's values under the name's first place.
///
/// ```
/// use cflog_core::escape::NameGroups;
///
/// let names: [&[u8]; 4] = [b"a", b"b", b"a", b"c"];
/// let mut groups = NameGroups::default();
/// let grouped: Vec<&[usize]> = groups.group(names.len(), |i| names[i]).collect();
/// assert_eq!(grouped, [&[0, 2][..], &[1], &[3]]);
/// ```
#[derive(Debug, Default)]
pub struct NameGroups {
    /// The parameters' indices, grouped by name.
    order: Vec<usize>,
    /// Each name's range of `order`.
    groups: Vec<Range<usize>>,
}

/// Up to this many parameters are grouped by comparing names pair by pair,
/// which is quadratic; more are sorted. A query of thousands of distinct
/// names (CloudFront logs up to 8 KB of it) took milliseconds a line when
/// all were compared.
const FEW_PARAMETERS: usize = 16;

impl NameGroups {
    /// Groups parameters `0..n`, whose names `name` gives: the indices of
    /// each name's parameters in their order, the names in the order in
    /// which they first appear.
    pub fn group<'a>(
        &mut self,
        n: usize,
        name: impl Fn(usize) -> &'a [u8],
    ) -> impl Iterator<Item = &[usize]> {
        let NameGroups { order, groups } = self;
        order.clear();
        groups.clear();
        if n <= FEW_PARAMETERS {
            for i in 0..n {
                // A repeated name is in the group of its first appearance.
                if (0..i).any(|j| name(j) == name(i)) {
                    continue;
                }
                let start = order.len();
                order.push(i);
                order.extend((i + 1..n).filter(|&j| name(j) == name(i)));
                groups.push(start..order.len());
            }
        } else {
            order.extend(0..n);
            // By index within a name: stable, without the buffer a stable
            // sort allocates.
            order.sort_unstable_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)));
            let mut start = 0;
            while let Some(&first) = order.get(start) {
                let len = order[start..]
                    .iter()
                    .position(|&i| name(i) != name(first))
                    .unwrap_or(n - start);
                groups.push(start..start + len);
                start += len;
            }
            // A group's first index is where its name first appears.
            groups.sort_unstable_by_key(|group| order[group.start]);
        }
        groups.iter().map(|group| &order[group.clone()])
    }
}

struct AllValues<'v, 'a>(Vec<&'v Cow<'a, str>>);

impl Serialize for AllValues<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for value in &self.0 {
            seq.serialize_element(value.as_ref())?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exactly_once() {
        // Spec test vector: a client-encoded query is logged escaped twice.
        let raw = b"betegnelse=Horsebakken%252053,%25202400";
        assert_eq!(decode(raw).as_ref(), b"betegnelse=Horsebakken%2053,%202400");
        assert_eq!(
            decode_legacy_double(raw).as_ref(),
            b"betegnelse=Horsebakken 53, 2400"
        );
        assert_eq!(
            decode(b"host:x%0Aaccept:*/*%0A").as_ref(),
            b"host:x\naccept:*/*\n"
        );
    }

    #[test]
    fn invalid_utf8_and_bad_escapes_do_not_panic() {
        assert_eq!(decode(b"%FF%fe").as_ref(), b"\xff\xfe");
        assert_eq!(decode(b"100%").as_ref(), b"100%");
        assert_eq!(decode(b"%zz%4").as_ref(), b"%zz%4");
        let params = QueryParams::new(b"a=%FF");
        assert_eq!(params.get("a").as_deref(), Some("\u{FFFD}"));
    }

    proptest::proptest! {
        #[test]
        fn decode_into_matches_percent_decode(raw in proptest::collection::vec(
            proptest::sample::select(b"%2aF0zZ%%+ \xff".to_vec()), 0..40)) {
            let mut out = b"kept".to_vec();
            decode_into(&raw, &mut out);
            proptest::prop_assert_eq!(&out[4..], &decode(&raw)[..]);
        }
    }

    #[test]
    fn query_params_serialize_repeated_keys_as_arrays() {
        let params = QueryParams::new(b"a=1&b=2&a=3&c=%2520x");
        let json = serde_json::to_string(&params).unwrap();
        assert_eq!(json, r#"{"a":["1","3"],"b":"2","c":" x"}"#);
    }

    /// The oracle: each name, where it first appears, with every index
    /// that has it, compared pair by pair.
    fn naive_groups(names: &[&[u8]]) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match groups.iter_mut().find(|g| names[g[0]] == *name) {
                Some(group) => group.push(i),
                None => groups.push(vec![i]),
            }
        }
        groups
    }

    fn groups(names: &[&[u8]]) -> Vec<Vec<usize>> {
        let mut groups = NameGroups::default();
        groups
            .group(names.len(), |i| names[i])
            .map(<[usize]>::to_vec)
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn names_are_grouped_in_order_of_first_appearance(names in proptest::collection::vec(
            proptest::sample::select(vec![&b""[..], b"a", b"b", b"ab", b"ba", b"\xff"]), 0..30)) {
            proptest::prop_assert_eq!(groups(&names), naive_groups(&names));
        }
    }

    #[test]
    fn thousands_of_distinct_names_are_grouped() {
        let text: Vec<String> = (0..3000)
            .map(|i| format!("p{}", (i * 7919) % 3000))
            .collect();
        let mut names: Vec<&[u8]> = text.iter().map(|t| t.as_bytes()).collect();
        names.extend_from_slice(&names.clone()[..10]);
        assert_eq!(groups(&names), naive_groups(&names));
    }
}
