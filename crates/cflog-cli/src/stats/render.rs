//! The figures as one JSON object (`--json`) or as a table for people.
//!
//! Both are made from one [`Report`], so the table never shows a figure the
//! JSON does not have.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::report::{CountedIn, Totals, bytes, capitalized, thousands};
use cflog_encoders::aggregate::{self, Aggregate, TopK};

/// Values longer than this are shortened in the table (never in the JSON):
/// cut in the middle, or wrapped where a cut would make two rows alike.
const VALUE_WIDTH: usize = 60;
/// What a value cut in the middle keeps of its end: enough for a user
/// agent's `Chrome/120.0.0.0 Safari/537.36`, or a path's file name.
const TAIL_WIDTH: usize = 30;
/// The longest bar of the per-hour chart.
const BAR_WIDTH: usize = 40;
/// Up to this many hours, the table charts hours; beyond, days.
const HOURLY_SPAN: i64 = 48;

/// The figures of `cflog stats`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Inputs read.
    pub inputs: usize,
    /// Inputs that could not be read to their end.
    pub failed_inputs: usize,
    /// Lines of every kind.
    pub lines: u64,
    /// Whether they are lines or rows, which the text says and the JSON
    /// does not: it is the same for a log's text and its Parquet.
    #[serde(skip)]
    pub counted_in: CountedIn,
    /// Entries counted.
    pub requests: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// The earliest request, RFC 3339.
    pub first: Option<String>,
    /// The latest request, RFC 3339.
    pub last: Option<String>,
    /// The sum of `sc-bytes`.
    pub bytes_sent: u64,
    /// How many client addresses were seen.
    pub distinct_client_ips: u64,
    /// Set when there were too many client addresses to count exactly,
    /// and `distinct_client_ips` is an estimate.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct_client_ips_estimated: bool,
    /// Requests by status class: `000`, `1xx`…`5xx`, `other`.
    pub status: BTreeMap<&'static str, u64>,
    /// The cache hit ratio.
    pub cache: Cache,
    /// Requests by `x-edge-result-type`.
    pub result_types: BTreeMap<String, u64>,
    /// The result types that are errors, with their requests.
    pub errors: BTreeMap<String, u64>,
    /// `time-taken` percentiles, in seconds.
    pub time_taken: Option<Latency>,
    /// The most frequent values.
    pub top: Top,
    /// Requests per UTC hour, hours without requests left out; over more
    /// than 1,000 hours, per day (or wider: see `bucket_hours`).
    pub requests_per_hour: Vec<Hour>,
    /// How many hours each of `requests_per_hour` covers, when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_hours: Option<i64>,
    /// The bots' share, when the entries say which are bots
    /// (`--enrich ua`, or an input with `is_bot`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bots: Option<Bots>,
}

/// How much of the traffic is bots.
#[derive(Debug, Serialize)]
pub struct Bots {
    /// Requests the enrichment said were bots or not.
    pub classified: u64,
    /// Of which bots.
    pub requests: u64,
    /// `requests / classified`.
    pub share: f64,
}

/// Hits against misses.
#[derive(Debug, Serialize)]
pub struct Cache {
    /// Hit, RefreshHit, OriginShieldHit.
    pub hits: u64,
    /// Miss, MissGeneratedResponse.
    pub misses: u64,
    /// `hits / (hits + misses)`; null without either.
    pub hit_ratio: Option<f64>,
}

/// `time-taken` percentiles, in seconds (nearest rank, to the millisecond).
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Set when there were too many distinct times to keep them all, and
    /// the percentiles are estimates within 1%.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    /// Requests with a time.
    pub count: u64,
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The longest.
    pub max: f64,
}

/// The top lists.
#[derive(Debug, Serialize)]
pub struct Top {
    /// Decoded `cs-uri-stem`.
    pub paths: Vec<Count>,
    /// Decoded `cs(Referer)`.
    pub referers: Vec<Count>,
    /// Decoded `cs(User-Agent)`.
    pub user_agents: Vec<Count>,
    /// `x-edge-location`.
    pub edge_locations: Vec<Count>,
    /// `c-ip`.
    pub client_ips: Vec<Count>,
    /// The enrichment's browser or client names (`ua_name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub browsers: Vec<Count>,
    /// The enrichment's device classes (`ua_device`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Count>,
    /// Countries: CloudFront's `c-country`, or a geo database's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<Count>,
}

/// One value of a top list.
#[derive(Debug, Serialize)]
pub struct Count {
    /// The value.
    pub value: String,
    /// Its requests.
    pub requests: u64,
    /// How much `requests` may overstate the value's, when the list had
    /// more values than it keeps (and is an estimate).
    #[serde(skip_serializing_if = "is_zero")]
    pub overstated_by: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One hour of the per-hour counts.
#[derive(Debug, Serialize)]
pub struct Hour {
    /// The start of the hour, RFC 3339.
    pub hour: String,
    /// Its requests.
    pub requests: u64,
}

impl Report {
    /// The report of `agg`, with the run's `totals`, listing `top` values.
    pub fn new(agg: &Aggregate, totals: &Totals, top: usize) -> Report {
        let s = &agg.status;
        let mut status = BTreeMap::from([("000", s.hung_up), ("other", s.other)]);
        for (class, n) in ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .into_iter()
            .zip(s.classes)
        {
            status.insert(class, n);
        }
        let counts = |summary: &TopK<()>| counts(summary, top);
        let result_types: BTreeMap<String, u64> = aggregate::decoded(&agg.result_types, usize::MAX)
            .into_iter()
            .map(|d| (d.value, d.count))
            .collect();
        let errors = result_types
            .iter()
            .filter(|(name, _)| cflog_core::ResultType::parse(name).is_error())
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let width = agg.series.width();
        Report {
            inputs: totals.inputs,
            failed_inputs: totals.failed,
            lines: totals.summary.lines,
            counted_in: totals.counted_in(),
            requests: agg.requests,
            rejected: totals.summary.rejected,
            first: agg.first.map(rfc3339),
            last: agg.last.map(rfc3339),
            bytes_sent: agg.bytes_sent,
            distinct_client_ips: agg.client_ips.count(),
            distinct_client_ips_estimated: !agg.client_ips.is_exact(),
            status,
            cache: Cache {
                hits: agg.hits,
                misses: agg.misses,
                hit_ratio: (agg.hits + agg.misses > 0)
                    .then(|| agg.hits as f64 / (agg.hits + agg.misses) as f64),
            },
            result_types,
            errors,
            time_taken: latency(agg),
            top: Top {
                paths: rows(aggregate::decoded(&agg.objects, top)),
                referers: counts(&agg.referers),
                user_agents: counts(&agg.user_agents),
                edge_locations: rows(aggregate::decoded(&agg.edge_locations, top)),
                client_ips: agg
                    .client_ips
                    .top(top)
                    .into_iter()
                    .map(|address| Count {
                        value: address.ip.to_string(),
                        requests: address.count,
                        overstated_by: address.overstated_by,
                    })
                    .collect(),
                browsers: counts(&agg.browsers),
                devices: counts(&agg.devices),
                countries: counts(&agg.countries),
            },
            requests_per_hour: agg
                .series
                .buckets()
                .map(|(start, bucket)| Hour {
                    hour: OffsetDateTime::from_unix_timestamp(start)
                        .map(rfc3339)
                        .unwrap_or_default(),
                    requests: bucket.requests,
                })
                .collect(),
            bucket_hours: (width != 3600).then_some(width / 3600),
            bots: (agg.bot_known > 0).then(|| Bots {
                classified: agg.bot_known,
                requests: agg.bot_requests,
                share: agg.bot_requests as f64 / agg.bot_known as f64,
            }),
        }
    }
}

/// The `top` most frequent values of `summary`, decoded.
fn counts(summary: &TopK<()>, top: usize) -> Vec<Count> {
    rows(aggregate::decoded(summary, top))
}

fn rows<P>(decoded: Vec<aggregate::Decoded<P>>) -> Vec<Count> {
    decoded
        .into_iter()
        .map(|d| Count {
            value: d.value,
            requests: d.count,
            overstated_by: d.overstated_by,
        })
        .collect()
}

fn latency(agg: &Aggregate) -> Option<Latency> {
    let times = &agg.time_taken_ms;
    let count = times.count();
    if count == 0 {
        return None;
    }
    // Past the bound of exact times, estimates within 1%.
    let seconds = |percent: f64| times.percentile(percent).unwrap_or(0) as f64 / 1000.0;
    Some(Latency {
        estimated: !times.is_exact(),
        count,
        mean: times.sum() as f64 / count as f64 / 1000.0,
        p50: seconds(50.0),
        p90: seconds(90.0),
        p99: seconds(99.0),
        max: seconds(100.0),
    })
}

fn hour_start(hour: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(hour.checked_mul(3600)?).ok()
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

/// The report as a table for people.
pub fn table(report: &Report, agg: &Aggregate) -> String {
    let mut out = String::new();
    let requests = report.requests;
    let share = |n: u64| {
        if requests == 0 {
            String::new()
        } else {
            format!("{:.1}%", n as f64 * 100.0 / requests as f64)
        }
    };
    let row = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "{label:<16}{value}");
    };

    let span = match (&report.first, &report.last) {
        (Some(first), Some(last)) => format!("   {} → {}", first, last),
        _ => String::new(),
    };
    row(
        &mut out,
        "Requests",
        format!("{}{span}", thousands(requests)),
    );
    row(
        &mut out,
        &capitalized(report.counted_in.noun(report.lines)),
        format!(
            "{} in {} {}, {} rejected",
            thousands(report.lines),
            thousands(report.inputs as u64),
            if report.inputs == 1 {
                "input"
            } else {
                "inputs"
            },
            thousands(report.rejected)
        ),
    );
    row(&mut out, "Bytes sent", bytes(report.bytes_sent));
    row(
        &mut out,
        "Client IPs",
        format!(
            "{}{} distinct",
            if report.distinct_client_ips_estimated {
                "about "
            } else {
                ""
            },
            thousands(report.distinct_client_ips)
        ),
    );
    let status: Vec<String> = report
        .status
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(class, n)| format!("{class} {} ({})", thousands(*n), share(*n)))
        .collect();
    row(&mut out, "Status", status.join(" · "));
    let cache = &report.cache;
    row(
        &mut out,
        "Cache hit ratio",
        match cache.hit_ratio {
            Some(ratio) => format!(
                "{:.1}%   ({} {}, {} {})",
                ratio * 100.0,
                thousands(cache.hits),
                if cache.hits == 1 { "hit" } else { "hits" },
                thousands(cache.misses),
                if cache.misses == 1 { "miss" } else { "misses" },
            ),
            None => "- (no Hit or Miss result types)".into(),
        },
    );
    let by_count = |map: &BTreeMap<String, u64>| {
        let mut list: Vec<(&String, &u64)> = map.iter().collect();
        list.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        list.iter()
            .map(|(name, n)| format!("{name} {}", thousands(**n)))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    row(&mut out, "Result types", by_count(&report.result_types));
    row(
        &mut out,
        "Errors",
        if report.errors.is_empty() {
            "none".into()
        } else {
            by_count(&report.errors)
        },
    );
    if let Some(l) = &report.time_taken {
        row(
            &mut out,
            "Time taken",
            format!(
                "mean {:.3} s · p50 {:.3} s · p90 {:.3} s · p99 {:.3} s · max {:.3} s{}",
                l.mean,
                l.p50,
                l.p90,
                l.p99,
                l.max,
                if l.estimated {
                    " (percentiles within 1%)"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(bots) = &report.bots {
        row(
            &mut out,
            "Bots",
            format!(
                "{:.1}%   ({} of {} requests told apart)",
                bots.share * 100.0,
                thousands(bots.requests),
                thousands(bots.classified)
            ),
        );
    }

    for (title, list) in [
        ("Top paths", &report.top.paths),
        ("Top referers", &report.top.referers),
        ("Top user agents", &report.top.user_agents),
        ("Top edge locations", &report.top.edge_locations),
        ("Top client IPs", &report.top.client_ips),
        ("Top browsers", &report.top.browsers),
        ("Top devices", &report.top.devices),
        ("Top countries", &report.top.countries),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{title:<w$}  {:>10}  {:>6}",
            "Requests",
            "Share",
            w = VALUE_WIDTH
        );
        let values: Vec<&str> = list.iter().map(|count| count.value.as_str()).collect();
        for (count, lines) in list.iter().zip(shown(&values, VALUE_WIDTH)) {
            let mut lines = lines.into_iter();
            // A count that may be over is marked, as the list is then an
            // estimate (more values than the tally keeps).
            let requests = match count.overstated_by {
                0 => thousands(count.requests),
                _ => format!("≤{}", thousands(count.requests)),
            };
            let _ = writeln!(
                out,
                "{:<w$}  {:>10}  {:>6}",
                lines.next().unwrap_or_default(),
                requests,
                share(count.requests),
                w = VALUE_WIDTH
            );
            for rest in lines {
                let _ = writeln!(out, "  {rest}");
            }
        }
    }

    chart(&mut out, agg);
    out
}

/// Requests per hour, or per day over a long span, as a bar chart with
/// empty hours (or days) shown.
fn chart(out: &mut String, agg: &Aggregate) {
    // Requests by hour since the epoch (by the first hour of the tally's
    // buckets, when those are wider).
    let per_hour: BTreeMap<i64, u64> = agg
        .series
        .buckets()
        .map(|(start, bucket)| (start.div_euclid(3600), bucket.requests))
        .collect();
    let (Some(&first), Some(&last)) = (per_hour.keys().next(), per_hour.keys().next_back()) else {
        return;
    };
    let hourly = last - first < HOURLY_SPAN;
    let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
    for (hour, n) in &per_hour {
        let key = if hourly {
            *hour
        } else {
            hour.div_euclid(24) * 24
        };
        *buckets.entry(key).or_default() += n;
    }
    let step = if hourly { 1 } else { 24 };
    let (start, end) = (
        *buckets.keys().next().unwrap_or(&0),
        *buckets.keys().next_back().unwrap_or(&0),
    );
    // Gaps are shown (an outage is a figure too) unless the span is absurd.
    if (end - start) / step < 2000 {
        let mut at = start;
        while at < end {
            buckets.entry(at).or_default();
            at += step;
        }
    }
    let max = buckets.values().copied().max().unwrap_or(0).max(1);
    let _ = writeln!(
        out,
        "\nRequests per {} (UTC)",
        if hourly { "hour" } else { "day" }
    );
    for (at, n) in &buckets {
        let Some(time) = hour_start(*at) else {
            continue;
        };
        let label = if hourly {
            format!(
                "{:04}-{:02}-{:02} {:02}:00",
                time.year(),
                time.month() as u8,
                time.day(),
                time.hour()
            )
        } else {
            format!(
                "{:04}-{:02}-{:02}",
                time.year(),
                time.month() as u8,
                time.day()
            )
        };
        let width = ((*n as f64 / max as f64) * BAR_WIDTH as f64).ceil() as usize;
        let _ = writeln!(
            out,
            "{label:<16}  {:<BAR_WIDTH$}  {}",
            "█".repeat(width),
            thousands(*n)
        );
    }
}

/// How each of `values` (distinct, as a top list's are) is shown in a
/// column `width` characters wide: whole when it fits, else cut in the
/// middle (`Mozilla/5.0 (Windows NT 10.0;…Chrome/120.0.0.0 Safari/537.36`), which
/// keeps the start and the end that tell most values apart. Where two cut
/// values would still look the same, or like another row, both are shown
/// whole instead, wrapped over lines `width - 2` characters wide after the
/// first, so that no two rows ever look alike.
fn shown(values: &[&str], width: usize) -> Vec<Vec<String>> {
    let cut: Vec<String> = values
        .iter()
        .map(|value| cut_in_the_middle(value, width))
        .collect();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for text in &cut {
        *seen.entry(text.as_str()).or_default() += 1;
    }
    values
        .iter()
        .zip(&cut)
        .map(|(value, text)| match seen[text.as_str()] {
            1 => vec![text.clone()],
            _ => wrapped(value, width),
        })
        .collect()
}

/// `text` whole when it fits in `width` characters, else its start, `…`
/// and its last [`TAIL_WIDTH`] characters.
fn cut_in_the_middle(text: &str, width: usize) -> String {
    let chars = text.chars().count();
    if chars <= width {
        return text.to_owned();
    }
    let tail = TAIL_WIDTH.min(width / 2);
    let head = width - tail - 1;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(chars - tail));
    out
}

/// `text` in lines: the first `width` characters, then `width - 2` each.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let first = chars.len().min(width);
    let mut lines = vec![chars[..first].iter().collect::<String>()];
    lines.extend(
        chars[first..]
            .chunks(width.saturating_sub(2).max(1))
            .map(|chunk| chunk.iter().collect::<String>()),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_in_the_middle_on_character_boundaries() {
        assert_eq!(cut_in_the_middle("abc", 3), "abc");
        assert_eq!(cut_in_the_middle("abcdefgh", 5), "ab…gh");
        assert_eq!(cut_in_the_middle("ééééééé", 4), "é…éé");
        let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        let cut = cut_in_the_middle(agent, VALUE_WIDTH);
        assert_eq!(cut.chars().count(), VALUE_WIDTH);
        assert_eq!(
            cut,
            "Mozilla/5.0 (Windows NT 10.0;…Chrome/120.0.0.0 Safari/537.36"
        );
    }

    #[test]
    fn values_alike_once_cut_are_shown_whole_and_wrapped() {
        let start = "x".repeat(50);
        let end = "y".repeat(40);
        let a = format!("{start}A{end}");
        let b = format!("{start}B{end}");
        let short = "/index.html";
        let rows = shown(&[&a, &b, short], 60);
        assert_eq!(rows[2], [short]);
        for (row, value) in rows[..2].iter().zip([&a, &b]) {
            assert_eq!(row[0].chars().count(), 60);
            assert!(row[1..].iter().all(|line| line.chars().count() <= 58));
            assert_eq!(row.concat(), *value, "shown whole");
        }
        assert_ne!(rows[0], rows[1]);
    }

    #[test]
    fn a_cut_value_never_looks_like_another_row() {
        let long = format!("{}…{}", "a".repeat(29), "b".repeat(30));
        let longer = format!("{}{}", "a".repeat(80), "b".repeat(30));
        let rows = shown(&[&long, &longer], 60);
        assert_eq!(rows[0], [long], "fits as it is");
        assert_eq!(rows[1].concat(), longer, "its cut would be the other row");
    }

    #[test]
    fn hours_are_rfc3339_utc() {
        assert_eq!(
            // 1710410400 is 2024-03-14T10:00:00Z (`date -ud @1710410400`).
            hour_start(1_710_410_400 / 3600).map(rfc3339).as_deref(),
            Some("2024-03-14T10:00:00Z")
        );
    }
}
