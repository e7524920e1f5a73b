//! `query_params`: the parameters of `cs-uri-query`, fully decoded, as one
//! object (a repeated name holds an array).
//!
//! Most queries need no decoding at all (`v=2bd8f1dc`,
//! `w=640&h=900&fit=crop`): with no `%` and no `+`, neither the log's
//! escaping nor form encoding changes a byte, so their names and values are
//! slices of the raw query, copied as they are. Anything else is decoded
//! into reused buffers first.

use std::ops::Range;

use super::text::{CHUNK, chunk_of, copy_run, write_string};
use crate::escape::{self, NameGroups, QueryParams};
use crate::mask;
use crate::out::Out;

/// Writes the `query_params` object of `raw`, the escaped query as logged:
/// what serializing [`QueryParams`] with serde_json writes, without
/// collecting its pairs as strings.
///
/// `raw` is usually a slice of `line`, whose bytes after it may then be
/// read along (see [`chunk_of`]); any `line` is correct.
pub(super) fn write_query_params(
    raw: &[u8],
    line: &[u8],
    out: &mut Out<'_>,
    scratch: &mut QueryScratch,
) {
    if scratch.split_plain(raw, line) {
        write_pairs(
            raw,
            &scratch.pairs,
            &mut scratch.groups,
            out,
            |text, out| {
                out.push(b'"');
                copy_run(text, line, out);
                out.push(b'"');
            },
        );
        return;
    }
    if !scratch.split(raw) {
        // A name or value that is not UTF-8 gets replacement characters,
        // which can make names equal: leave that to the general path.
        let _ = serde_json::to_writer(out, &QueryParams::new(raw));
        return;
    }
    let QueryScratch {
        text,
        pairs,
        groups,
        ..
    } = scratch;
    write_pairs(text, pairs, groups, out, write_string);
}

/// Writes the object of `pairs`, ranges of `text`, each name once with all
/// of its values; `write_str` writes a name or value as a JSON string.
#[inline(always)]
fn write_pairs(
    text: &[u8],
    pairs: &[Pair],
    groups: &mut NameGroups,
    out: &mut Out<'_>,
    write_str: impl Fn(&[u8], &mut Out<'_>),
) {
    let name = |i: usize| &text[pairs[i].0.clone()];
    let value = |i: usize| &text[pairs[i].1.clone()];
    out.push(b'{');
    for (k, members) in groups.group(pairs.len(), name).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        write_str(name(members[0]), out);
        out.push(b':');
        if let [one] = members {
            write_str(value(*one), out);
            continue;
        }
        out.push(b'[');
        for (j, &i) in members.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            write_str(value(i), out);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// A parameter's name and value, as ranges of the text they were split from.
type Pair = (Range<usize>, Range<usize>);

/// A query string taken apart into its names and values, in buffers reused
/// between lines.
#[derive(Debug, Default)]
pub(super) struct QueryScratch {
    /// The query with one level of escaping undone.
    query: Vec<u8>,
    /// The names and values, fully decoded, back to back.
    text: Vec<u8>,
    /// Each pair's name and value, in `text` or in the raw query.
    pairs: Vec<Pair>,
    /// The pairs grouped by name.
    groups: NameGroups,
}

impl QueryScratch {
    /// Splits `raw` into `pairs` of ranges of `raw` itself, when it is
    /// plain: printable ASCII without `%` or `+` (which decoding would
    /// change) and without `"` or `\\` (which JSON escapes). Returns false,
    /// having split nothing, for any other query.
    fn split_plain(&mut self, raw: &[u8], line: &[u8]) -> bool {
        let mut rest = raw;
        while !rest.is_empty() {
            let chunk = chunk_of(rest, line);
            let n = rest.len().min(CHUNK);
            let plus = mask::equal(&chunk, b'+') & ((1 << n) - 1);
            if mask::any_special(&chunk, n, true) || plus != 0 {
                return false;
            }
            rest = &rest[n..];
        }
        self.pairs.clear();
        let mut start = 0;
        for pair in raw.split(|&b| b == b'&') {
            let end = start + pair.len();
            if !pair.is_empty() {
                self.pairs.push(match pair.iter().position(|&b| b == b'=') {
                    Some(eq) => (start..start + eq, start + eq + 1..end),
                    None => (start..end, end..end),
                });
            }
            start = end + 1;
        }
        true
    }

    /// Splits `raw` as [`QueryParams::iter`] does, into `pairs` of ranges
    /// of `text`; false when a name or value is not UTF-8.
    fn split(&mut self, raw: &[u8]) -> bool {
        let QueryScratch {
            query, text, pairs, ..
        } = self;
        query.clear();
        escape::decode_into(raw, query);
        text.clear();
        pairs.clear();
        for pair in query.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let (Some(name), Some(value)) = (form_decode(name, text), form_decode(value, text))
            else {
                return false;
            };
            pairs.push((name, value));
        }
        true
    }
}

/// Appends `raw` form-decoded (`+` is a space, then `%XX` escapes, as
/// form_urlencoded does it) to `text`; `None` when that is not UTF-8.
fn form_decode(raw: &[u8], text: &mut Vec<u8>) -> Option<Range<usize>> {
    let start = text.len();
    text.extend(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }));
    let len = escape::decode_in_place(&mut text[start..]);
    text.truncate(start + len);
    let decoded = &text[start..];
    (decoded.is_ascii() || std::str::from_utf8(decoded).is_ok()).then_some(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::text::written_alone_and_in_line;

    /// What `write_query_params` writes for `raw`, alone and in a line.
    fn written(raw: &[u8]) -> [String; 2] {
        let mut scratch = QueryScratch::default();
        written_alone_and_in_line(raw, b"\t\"%+&=after", |raw, line, out| {
            write_query_params(raw, line, out, &mut scratch);
            true
        })
        .map(Option::unwrap_or_default)
    }

    #[test]
    fn plain_queries_are_split_in_place() {
        for (raw, expected) in [
            ("v=2bd8f1dc", r#"{"v":"2bd8f1dc"}"#),
            (
                "a=1&b=&c&&a=2&=x&a",
                r#"{"a":["1","2",""],"b":"","c":"","":"x"}"#,
            ),
            (
                "fields=id,name,price&include=reviews&include=images",
                r#"{"fields":"id,name,price","include":["reviews","images"]}"#,
            ),
            ("&", "{}"),
        ] {
            assert_eq!(written(raw.as_bytes()), [expected, expected]);
        }
    }

    #[test]
    fn many_parameters_are_grouped_by_name_in_order() {
        // More parameters than are compared pair by pair, plain and decoded.
        for value in ["v", "v%2520"] {
            let mut raw: Vec<String> = (0..40).map(|i| format!("p{i}={value}{i}")).collect();
            raw.push(format!("p3={value}"));
            let decoded = value.replace("%2520", " ");
            let mut expected: Vec<String> = (0..40)
                .map(|i| format!(r#""p{i}":"{decoded}{i}""#))
                .collect();
            expected[3] = format!(r#""p3":["{decoded}3","{decoded}"]"#);
            let expected = format!("{{{}}}", expected.join(","));
            assert_eq!(
                written(raw.join("&").as_bytes()),
                [expected.as_str(), &expected]
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn query_params_are_written_as_serde_writes_them(raw in proptest::collection::vec(
            proptest::sample::select(b"ab=&+%2520FF\xff\"\\~".to_vec()), 0..40)) {
            let expected = serde_json::to_vec(&QueryParams::new(&raw)).unwrap();
            let expected = String::from_utf8_lossy(&expected);
            for out in written(&raw) {
                proptest::prop_assert_eq!(&out, &expected);
            }
        }
    }
}
