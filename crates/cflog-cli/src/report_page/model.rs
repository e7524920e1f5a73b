//! The figures of a report, made once from the [`Aggregate`] and the
//! run's [`Totals`]: `--format json` writes them as they are, and the HTML
//! page is drawn from them, so the two never differ.

use std::collections::BTreeMap;

use cflog_encoders::aggregate::exact::ClientAddresses;
use cflog_encoders::aggregate::{self, Aggregate, Bucket, Decoded, Payload, TopK, series};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::report::{CountedIn, Totals};

/// Up to this span, the page shows hours; beyond, days.
const HOURLY_SPAN_SECONDS: i64 = 72 * 3600;

/// Every figure of a report.
#[derive(Debug, Serialize)]
pub struct Page {
    /// The title.
    pub title: String,
    /// When the report was made, RFC 3339.
    pub generated: String,
    /// The cflog version that made it.
    pub version: &'static str,
    /// The filters given.
    pub filters: Filters,
    /// Requests, bytes, visitors, rates, the range, rejected lines.
    pub overview: Overview,
    /// Counts per hour or per day.
    pub over_time: OverTime,
    /// Requests by weekday (Monday first) and hour of day, UTC.
    pub week_hours: Vec<Vec<u64>>,
    /// Requests by status code.
    pub status_codes: Vec<Row>,
    /// `x-edge-result-type`.
    pub result_types: List,
    /// `x-edge-detailed-result-type`.
    pub detailed_result_types: List,
    /// Edge locations, with bytes and errors.
    pub edge_locations: Listed<EdgeRow>,
    /// The most requested paths.
    pub objects: Listed<ObjectRow>,
    /// The paths most often missed in the cache.
    pub missed_objects: List,
    /// The paths most often answered 404.
    pub not_found: List,
    /// Referrers by domain.
    pub referrer_domains: List,
    /// Requests without a referrer.
    pub no_referrer: u64,
    /// Query parameter names.
    pub query_names: List,
    /// Query parameters with their values.
    pub query_pairs: List,
    /// User agents as logged.
    pub user_agents: List,
    /// Client addresses.
    pub client_ips: List,
    /// Browsers, operating systems, devices and bots (from enrichment
    /// columns, when the logs have them).
    pub agents: Agents,
    /// Countries and AS numbers.
    pub geo: Geo,
    /// Latency percentiles, overall.
    pub latency: BTreeMap<&'static str, Option<Percentiles>>,
    /// HTTP methods.
    pub methods: List,
    /// `cs-protocol`.
    pub protocols: List,
    /// `cs-protocol-version`.
    pub http_versions: List,
    /// `ssl-protocol`.
    pub tls_versions: List,
    /// `sc-content-type`, without parameters.
    pub content_types: List,
}

/// The filters of the run.
#[derive(Debug, Serialize)]
pub struct Filters {
    /// `--since`, RFC 3339.
    pub since: Option<String>,
    /// `--until`, RFC 3339.
    pub until: Option<String>,
    /// `--distribution`.
    pub distributions: Vec<String>,
    /// Inputs skipped because their key or name is outside the filters.
    pub inputs_skipped: usize,
    /// Entries read but outside [since, until).
    pub entries_outside: u64,
}

/// The overview's figures.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// Inputs read.
    pub inputs: usize,
    /// Inputs that could not be read to their end.
    pub failed_inputs: usize,
    /// Lines of every kind.
    pub lines: u64,
    /// Whether they are lines or rows, which the page says and the JSON
    /// does not: it is the same for a log's text and its Parquet.
    #[serde(skip)]
    pub counted_in: CountedIn,
    /// Entries counted (exact; equal to `cflog stats`' `requests`).
    pub requests: u64,
    /// The sum of `sc-bytes` (exact).
    pub bytes_sent: u64,
    /// Distinct client address and user agent per day, summed over the
    /// days (estimate).
    pub visitors: u64,
    /// Distinct client addresses (exact up to 262,144, an estimate past).
    pub distinct_client_ips: u64,
    /// Whether `distinct_client_ips` is exact.
    pub distinct_client_ips_exact: bool,
    /// Requests by status class: `000`, `1xx`…`5xx`, `other` (exact).
    pub status: BTreeMap<&'static str, u64>,
    /// Cache hits (exact).
    pub hits: u64,
    /// Cache misses (exact).
    pub misses: u64,
    /// `hits / (hits + misses)`; null without either.
    pub hit_ratio: Option<f64>,
    /// The share of 4xx responses.
    pub client_error_rate: Option<f64>,
    /// The share of 5xx responses.
    pub server_error_rate: Option<f64>,
    /// Entries whose result type is an error.
    pub error_results: u64,
    /// Downloads cut short (status 000, or fewer bytes than the object's
    /// length).
    pub incomplete: u64,
    /// The earliest request, RFC 3339.
    pub first: Option<String>,
    /// The latest request, RFC 3339.
    pub last: Option<String>,
    /// Lines rejected.
    pub rejected: u64,
    /// Rejected lines by reason.
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
    /// The first rejected lines.
    pub rejected_lines: Vec<Rejected>,
}

/// One rejected line.
#[derive(Debug, Serialize)]
pub struct Rejected {
    /// The input.
    pub input: String,
    /// Its line number, from 1.
    pub line: u64,
    /// The reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

/// Counts over time.
#[derive(Debug, Serialize)]
pub struct OverTime {
    /// `hour`, `day`, or the width of the buckets in seconds for longer
    /// spans.
    pub resolution: String,
    /// The buckets, in order; buckets without requests are left out.
    pub buckets: Vec<TimeRow>,
}

/// One bucket of time.
#[derive(Debug, Serialize)]
pub struct TimeRow {
    /// Its start, RFC 3339.
    pub start: String,
    /// Its start, seconds since the Unix epoch (for charts).
    pub unix: i64,
    /// Requests.
    pub requests: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// 4xx responses.
    pub client_errors: u64,
    /// 5xx responses.
    pub server_errors: u64,
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
    /// The hit ratio.
    pub hit_ratio: Option<f64>,
    /// Distinct visitors in the bucket (estimate).
    pub visitors: u64,
    /// Latency percentiles, by latency.
    pub latency: BTreeMap<&'static str, Option<Percentiles>>,
}

/// Latency percentiles in milliseconds (DDSketch, within 1%).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Percentiles {
    /// Values counted.
    pub count: u64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest.
    pub max: f64,
}

impl Percentiles {
    fn of(latency: &aggregate::Latency) -> Option<Percentiles> {
        Some(Percentiles {
            count: latency.count(),
            p50: round(latency.quantile(0.5)?),
            p90: round(latency.quantile(0.9)?),
            p99: round(latency.quantile(0.99)?),
            max: round(latency.max()?),
        })
    }
}

/// To the microsecond: the sketches' 1% makes more digits noise.
fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// A list of values with their requests.
pub type List = Listed<Row>;

/// A list of values, and how far its counts can be trusted.
#[derive(Debug, Serialize)]
pub struct Listed<R> {
    /// Whether every count is exact (the summary never dropped a value).
    pub exact: bool,
    /// Requests with a value, listed or not.
    pub total: u64,
    /// The values, most requests first.
    pub rows: Vec<R>,
}

/// One value of a list.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The value.
    pub value: String,
    /// Its requests (never below the true count).
    pub requests: u64,
    /// How much `requests` may overstate it (0: exact).
    pub overstated_by: u64,
}

/// One popular object.
#[derive(Debug, Serialize)]
pub struct ObjectRow {
    /// The path.
    pub value: String,
    /// Its requests.
    pub requests: u64,
    /// How much `requests` may overstate it.
    pub overstated_by: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
    /// Requests by status class.
    pub status: BTreeMap<&'static str, u64>,
    /// Downloads cut short.
    pub incomplete: u64,
}

/// One edge location.
#[derive(Debug, Serialize)]
pub struct EdgeRow {
    /// The location.
    pub value: String,
    /// Its requests.
    pub requests: u64,
    /// How much `requests` may overstate it.
    pub overstated_by: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// 4xx responses.
    pub client_errors: u64,
    /// 5xx responses.
    pub server_errors: u64,
    /// Result types that are errors.
    pub error_results: u64,
}

/// Browsers, operating systems, devices and bots.
#[derive(Debug, Serialize)]
pub struct Agents {
    /// Whether the logs had the enrichment's columns.
    pub present: bool,
    /// Browsers.
    pub browsers: List,
    /// Operating systems.
    pub operating_systems: List,
    /// Devices.
    pub devices: List,
    /// Requests the enrichment classified as bot or not.
    pub classified: u64,
    /// Of which bots.
    pub bot_requests: u64,
    /// The bots' share of the classified requests.
    pub bot_share: Option<f64>,
    /// The most active bots.
    pub bots: List,
}

/// Countries and AS numbers.
#[derive(Debug, Serialize)]
pub struct Geo {
    /// Countries.
    pub countries: List,
    /// AS numbers.
    pub asns: List,
    /// Whether any value came from a geo database rather than CloudFront.
    pub from_database: bool,
}

/// The class names of [`cflog_encoders::aggregate::StatusClasses`], in the
/// order of [`aggregate::ObjectCounts::statuses`].
const CLASSES: [&str; 7] = ["000", "1xx", "2xx", "3xx", "4xx", "5xx", "other"];

impl Page {
    /// The page of `agg`, with the run's `totals`, listing `top` values.
    pub fn new(
        title: String,
        filters: Filters,
        agg: &Aggregate,
        totals: &Totals,
        top: usize,
    ) -> Page {
        let s = &agg.status;
        let mut status: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (class, n) in CLASSES.into_iter().zip(
            std::iter::once(s.hung_up)
                .chain(s.classes)
                .chain(std::iter::once(s.other)),
        ) {
            status.insert(class, n);
        }
        let share = |n: u64| (agg.requests > 0).then(|| n as f64 / agg.requests as f64);
        let overview = Overview {
            inputs: totals.inputs,
            failed_inputs: totals.failed,
            lines: totals.summary.lines,
            counted_in: totals.counted_in(),
            requests: agg.requests,
            bytes_sent: agg.bytes_sent,
            visitors: agg.visitors(),
            distinct_client_ips: agg.client_ips.count(),
            distinct_client_ips_exact: agg.client_ips.is_exact(),
            status,
            hits: agg.hits,
            misses: agg.misses,
            hit_ratio: ratio(agg.hits, agg.misses),
            client_error_rate: share(s.classes[3]),
            server_error_rate: share(s.classes[4]),
            error_results: agg.error_results,
            incomplete: agg.incomplete,
            first: agg.first.map(rfc3339),
            last: agg.last.map(rfc3339),
            rejected: totals.summary.rejected,
            rejected_by_reason: totals.summary.rejected_by_reason.clone(),
            rejected_lines: totals
                .rejected
                .iter()
                .map(|(input, line)| Rejected {
                    input: input.clone(),
                    line: line.line,
                    reason: line.reason,
                    message: line.message.clone(),
                })
                .collect(),
        };
        let objects = aggregate::decoded(&agg.objects, top);
        let edges = aggregate::decoded(&agg.edge_locations, top);
        let list = |summary: &TopK<()>| list(summary, top);
        let present = !(agg.browsers.is_empty()
            && agg.operating_systems.is_empty()
            && agg.devices.is_empty()
            && agg.bot_known == 0);
        Page {
            title,
            generated: rfc3339(OffsetDateTime::now_utc()),
            version: env!("CARGO_PKG_VERSION"),
            filters: Filters {
                entries_outside: agg.outside_window,
                ..filters
            },
            overview,
            over_time: over_time(agg),
            week_hours: agg.week_hours.iter().map(|day| day.to_vec()).collect(),
            status_codes: agg
                .status_codes
                .iter()
                .map(|(code, n)| Row {
                    value: format!("{code:03}"),
                    requests: n,
                    overstated_by: 0,
                })
                .collect(),
            result_types: list(&agg.result_types),
            detailed_result_types: list(&agg.detailed_result_types),
            edge_locations: Listed {
                exact: agg.edge_locations.is_exact(),
                total: agg.edge_locations.total(),
                rows: edges
                    .into_iter()
                    .map(|d| EdgeRow {
                        value: d.value,
                        requests: d.count,
                        overstated_by: d.overstated_by,
                        bytes_sent: d.payload.bytes_sent,
                        client_errors: d.payload.client_errors,
                        server_errors: d.payload.server_errors,
                        error_results: d.payload.error_results,
                    })
                    .collect(),
            },
            objects: Listed {
                exact: agg.objects.is_exact(),
                total: agg.objects.total(),
                rows: objects
                    .into_iter()
                    .map(|d| ObjectRow {
                        value: d.value,
                        requests: d.count,
                        overstated_by: d.overstated_by,
                        bytes_sent: d.payload.bytes_sent,
                        hits: d.payload.hits,
                        misses: d.payload.misses,
                        status: CLASSES
                            .into_iter()
                            .zip(d.payload.statuses)
                            .filter(|(_, n)| *n > 0)
                            .collect(),
                        incomplete: d.payload.incomplete,
                    })
                    .collect(),
            },
            missed_objects: list(&agg.missed_objects),
            not_found: list(&agg.not_found),
            referrer_domains: list(&agg.referrer_domains),
            no_referrer: agg.no_referrer,
            query_names: list(&agg.query_names),
            query_pairs: list(&agg.query_pairs),
            user_agents: list(&agg.user_agents),
            client_ips: client_ips(&agg.client_ips, top),
            agents: Agents {
                present,
                browsers: list(&agg.browsers),
                operating_systems: list(&agg.operating_systems),
                devices: list(&agg.devices),
                classified: agg.bot_known,
                bot_requests: agg.bot_requests,
                bot_share: (agg.bot_known > 0)
                    .then(|| agg.bot_requests as f64 / agg.bot_known as f64),
                bots: list(&agg.bots),
            },
            geo: Geo {
                countries: list(&agg.countries),
                asns: list(&agg.asns),
                from_database: agg.geo_countries + agg.geo_asns > 0,
            },
            latency: series::LATENCIES
                .iter()
                .enumerate()
                .map(|(which, name)| (*name, Percentiles::of(&agg.latency(which))))
                .collect(),
            methods: list(&agg.methods),
            protocols: list(&agg.protocols),
            http_versions: list(&agg.http_versions),
            tls_versions: list(&agg.tls_versions),
            content_types: list(&agg.content_types),
        }
    }
}

fn ratio(hits: u64, misses: u64) -> Option<f64> {
    (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64)
}

fn rows<P: Payload + Clone>(decoded: Vec<Decoded<P>>) -> Vec<Row> {
    decoded
        .into_iter()
        .map(|d| Row {
            value: d.value,
            requests: d.count,
            overstated_by: d.overstated_by,
        })
        .collect()
}

fn list(summary: &TopK<()>, top: usize) -> List {
    Listed {
        exact: summary.is_exact(),
        total: summary.total(),
        rows: rows(aggregate::decoded(summary, top)),
    }
}

/// The client addresses with the most requests.
fn client_ips(addresses: &ClientAddresses, top: usize) -> List {
    Listed {
        exact: addresses.is_exact(),
        total: addresses.total(),
        rows: addresses
            .top(top)
            .into_iter()
            .map(|address| Row {
                value: address.ip.to_string(),
                requests: address.count,
                overstated_by: address.overstated_by,
            })
            .collect(),
    }
}

fn over_time(agg: &Aggregate) -> OverTime {
    let width = agg.series.width();
    let span = match (agg.first, agg.last) {
        (Some(first), Some(last)) => (last - first).whole_seconds(),
        _ => 0,
    };
    // Hours for up to three days; days beyond, as a reader takes them in.
    let width = if width == 3600 && span > HOURLY_SPAN_SECONDS {
        86_400
    } else {
        width
    };
    let resolution = match width {
        3600 => "hour".to_owned(),
        86_400 => "day".to_owned(),
        other => format!("{} days", other / 86_400),
    };
    let buckets = agg
        .series
        .regrouped(width)
        .into_iter()
        .map(|(start, bucket)| time_row(start, &bucket))
        .collect();
    OverTime {
        resolution,
        buckets,
    }
}

fn time_row(start: i64, bucket: &Bucket) -> TimeRow {
    TimeRow {
        start: OffsetDateTime::from_unix_timestamp(start)
            .map(rfc3339)
            .unwrap_or_default(),
        unix: start,
        requests: bucket.requests,
        bytes_sent: bucket.bytes_sent,
        client_errors: bucket.client_errors,
        server_errors: bucket.server_errors,
        hits: bucket.hits,
        misses: bucket.misses,
        hit_ratio: ratio(bucket.hits, bucket.misses),
        visitors: bucket.visitors.estimate() as u64,
        latency: series::LATENCIES
            .iter()
            .zip(&bucket.latencies)
            .map(|(name, latency)| (*name, latency.as_deref().and_then(Percentiles::of)))
            .collect(),
    }
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}
