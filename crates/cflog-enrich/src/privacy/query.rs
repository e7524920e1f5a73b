//! Named parameters dropped from a query string.

use std::collections::HashSet;

use cflog_core::escape::decode;

/// Appends `logged` (a `cs-uri-query` as CloudFront logs it) to `out`
/// without the parameters whose decoded names are in `names`, compared
/// exactly. The others keep their bytes and order; with none left, `out`
/// gets `-`, CloudFront's empty value. Returns how many were dropped.
///
/// A name is decoded as the `query_params` key shows it: CloudFront's
/// escaping undone, then form decoding (`%XX`, `+` for a space), so
/// `e%2540mail` and `e%40mail` both name `e@mail`.
///
/// ```
/// use std::collections::HashSet;
/// use cflog_enrich::privacy::drop_query_params;
///
/// let names: HashSet<String> = ["token".into(), "email".into()].into();
/// let mut out = Vec::new();
/// assert_eq!(drop_query_params(b"page=2&token=abc&email=a%2540b.example&token", &names, &mut out), 3);
/// assert_eq!(out, b"page=2");
/// out.clear();
/// assert_eq!(drop_query_params(b"token=abc", &names, &mut out), 1);
/// assert_eq!(out, b"-");
/// ```
pub fn drop_query_params(logged: &[u8], names: &HashSet<String>, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let mut dropped = 0;
    for pair in logged.split(|&b| b == b'&') {
        let name = pair.split(|&b| b == b'=').next().unwrap_or_default();
        if names.contains(decoded_name(name).as_str()) {
            dropped += 1;
            continue;
        }
        if out.len() > start {
            out.push(b'&');
        }
        out.extend_from_slice(pair);
    }
    if out.len() == start {
        out.push(b'-');
    }
    dropped
}

/// [`drop_query_params`] on the query of a URI (a real-time log's
/// `cs-uri-stem`, which keeps the query after `?`): the path is kept, and
/// the `?` too while any parameter is left.
///
/// ```
/// use std::collections::HashSet;
/// use cflog_enrich::privacy::drop_query_params_in_uri;
///
/// let names: HashSet<String> = ["token".into()].into();
/// let mut out = Vec::new();
/// drop_query_params_in_uri(b"/a/b?token=x&page=2", &names, &mut out);
/// assert_eq!(out, b"/a/b?page=2");
/// out.clear();
/// drop_query_params_in_uri(b"/a/b?token=x", &names, &mut out);
/// assert_eq!(out, b"/a/b");
/// ```
pub fn drop_query_params_in_uri(
    logged: &[u8],
    names: &HashSet<String>,
    out: &mut Vec<u8>,
) -> usize {
    let Some(at) = logged.iter().position(|&b| b == b'?') else {
        out.extend_from_slice(logged);
        return 0;
    };
    out.extend_from_slice(&logged[..at]);
    let mut query = Vec::with_capacity(logged.len() - at);
    let dropped = drop_query_params(&logged[at + 1..], names, &mut query);
    if query != b"-" {
        out.push(b'?');
        out.extend_from_slice(&query);
    }
    dropped
}

/// A parameter name as `query_params` keys it.
fn decoded_name(logged: &[u8]) -> String {
    let once = decode(logged);
    // `form_urlencoded` reads `name` as a whole pair with no `=`.
    form_urlencoded::parse(&once)
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}
