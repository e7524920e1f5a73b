//! The one tally of `cflog stats` and `cflog report`, in memory bounded
//! whatever the input: an [`Aggregator`] reads each entry through the
//! typed layer and counts it into an [`Aggregate`], writing nothing. Both
//! commands read their figures from it, so they never disagree.
//!
//! Totals (requests, bytes, status classes, hits and misses, the time
//! range) are exact. Everything with an unbounded number of values is kept
//! in a fixed amount of memory and says whether it is exact:
//!
//! - the most frequent values (paths, referrers and their domains, user
//!   agents…) in [`TopK`] summaries (space-saving), exact while the
//!   distinct values fit, estimates with a stated error past that;
//! - distinct client addresses and times taken to the millisecond
//!   ([`exact`]): exact up to a bound, estimates past it;
//! - distinct visitors (client address and user agent, per day, as
//!   GoAccess counts them) in HyperLogLog sketches: estimates, exact up
//!   to 128;
//! - latencies in DDSketch sketches, percentiles within 1%;
//! - counts over time in at most [`series::MAX_BUCKETS`] buckets, an hour
//!   wide, or wider for long spans.
//!
//! An entry is counted whole or not at all, and a line is rejected exactly
//! where the JSON output rejects it.
//!
//! ```
//! use cflog_core::{LogLine, Schema};
//! use cflog_encoders::aggregate::{Aggregate, Aggregator};
//!
//! let schema = Schema::from_fields_header(
//!     b"#Fields: date time c-ip sc-status sc-bytes cs-uri-stem x-edge-result-type",
//! )?;
//! let mut spans = Vec::new();
//! let mut aggregate = Aggregate::default();
//! let mut aggregator = Aggregator::new();
//! for text in [
//!     "2024-03-14\t10:59:59\t192.0.2.1\t200\t100\t/a%20b\tHit",
//!     "2024-03-14\t11:00:00\t192.0.2.2\t404\t7\t/gone\tMiss",
//! ] {
//!     let line = LogLine::parse(text.as_bytes(), &schema, &mut spans)?;
//!     aggregator.add(&line, &mut aggregate)?;
//! }
//! assert_eq!((aggregate.requests, aggregate.bytes_sent), (2, 107));
//! assert_eq!(aggregate.hits, 1);
//! let objects = cflog_encoders::aggregate::decoded(&aggregate.objects, 5);
//! assert_eq!(objects[0].value, "/a b");
//! assert_eq!(cflog_encoders::aggregate::decoded(&aggregate.not_found, 5)[0].value, "/gone");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod entry;
pub mod exact;
pub mod series;
pub mod top;

use std::borrow::Cow;
use std::net::IpAddr;

use cflog_core::contract::Selection;
use cflog_core::typed::Layout;
use cflog_core::{FieldError, LogLine, ResultType, Value};
use time::OffsetDateTime;

use entry::{Gathered, Outcome, Text};
use exact::{ClientAddresses, Milliseconds, sketch_hash};
pub use series::{Bucket, Distinct, Latency, Series};
pub use top::{Payload, TopK};

/// How many values each summary keeps. The paths' summary is the largest:
/// its payloads make the popular objects' table.
pub mod capacity {
    /// Paths (popular objects).
    pub const OBJECTS: usize = 4096;
    /// Lists of many values: missed paths, 404s, referrer domains, user
    /// agents, client addresses, query parameters.
    pub const LARGE: usize = 2048;
    /// Lists of few values (edge locations, content types, countries…).
    pub const SMALL: usize = 512;
    /// Lists of a handful (result types, protocols, TLS versions…).
    pub const TINY: usize = 64;
}

/// Longer values are cut to this many bytes before they are counted, so
/// a summary's memory is bounded by its capacity alone.
pub const MAX_VALUE_BYTES: usize = 512;

/// Requests by status class. `000` (the viewer hung up before the response)
/// is a class of its own; `other` holds missing and out-of-range statuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusClasses {
    /// `000`.
    pub hung_up: u64,
    /// 1xx to 5xx, by class.
    pub classes: [u64; 5],
    /// Missing, or not 100–599.
    pub other: u64,
}

/// Requests by status code: a count for each of `000` to `999` (a
/// status is three digits), so counting one is an index, where a map's
/// was a search.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusCodes(Box<[u64; 1000]>);

impl Default for StatusCodes {
    fn default() -> StatusCodes {
        StatusCodes(Box::new([0; 1000]))
    }
}

impl std::fmt::Debug for StatusCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl StatusCodes {
    /// Counts one request of `status`; none past `999`, which the status
    /// parser never gives.
    #[inline]
    pub fn add(&mut self, status: u64) {
        if let Some(n) = usize::try_from(status).ok().and_then(|i| self.0.get_mut(i)) {
            *n += 1;
        }
    }

    /// The codes counted, lowest first, with their requests.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (0u16..)
            .zip(self.0.iter())
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (code, n))
    }

    /// Adds another count's requests.
    pub fn merge(&mut self, other: &StatusCodes) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine += theirs;
        }
    }
}

/// What is counted for each popular object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    /// The sum of `sc-bytes`.
    pub bytes_sent: u64,
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
    /// Requests by status class, as [`StatusClasses`] has them: 000,
    /// 1xx…5xx, other.
    pub statuses: [u64; 7],
    /// Downloads cut short: the viewer hung up (000), or fewer bytes were
    /// sent than the object's `sc-content-len`.
    pub incomplete: u64,
}

impl Payload for ObjectCounts {
    fn merge(&mut self, other: &ObjectCounts) {
        self.bytes_sent += other.bytes_sent;
        self.hits += other.hits;
        self.misses += other.misses;
        for (mine, theirs) in self.statuses.iter_mut().zip(other.statuses) {
            *mine += theirs;
        }
        self.incomplete += other.incomplete;
    }
}

/// What is counted for each edge location.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeCounts {
    /// The sum of `sc-bytes`.
    pub bytes_sent: u64,
    /// Status 4xx.
    pub client_errors: u64,
    /// Status 5xx.
    pub server_errors: u64,
    /// Result types that are errors (`Error`, `LimitExceeded`…).
    pub error_results: u64,
}

impl Payload for EdgeCounts {
    fn merge(&mut self, other: &EdgeCounts) {
        self.bytes_sent += other.bytes_sent;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.error_results += other.error_results;
    }
}

/// Everything `cflog report` counts (see the [module docs](self)).
#[derive(Debug)]
pub struct Aggregate {
    /// Entries.
    pub requests: u64,
    /// Entries left out: outside the aggregator's [`Window`].
    pub outside_window: u64,
    /// The sum of `sc-bytes`.
    pub bytes_sent: u64,
    /// Requests by status class.
    pub status: StatusClasses,
    /// Requests by status code.
    pub status_codes: StatusCodes,
    /// Cache hits (see `ResultType::is_hit`).
    pub hits: u64,
    /// Cache misses (see `ResultType::is_miss`).
    pub misses: u64,
    /// Entries whose result type is an error.
    pub error_results: u64,
    /// Downloads cut short (see [`ObjectCounts::incomplete`]).
    pub incomplete: u64,
    /// The earliest request time.
    pub first: Option<OffsetDateTime>,
    /// The latest request time.
    pub last: Option<OffsetDateTime>,
    /// Counts over time.
    pub series: Series,
    /// Requests by weekday (Monday first) and hour of day, UTC.
    pub week_hours: [[u64; 24]; 7],
    /// `c-ip`: the distinct addresses and the most frequent.
    pub client_ips: ClientAddresses,
    /// `time-taken` in whole milliseconds (CloudFront logs it to the
    /// millisecond), for exact percentiles.
    pub time_taken_ms: Milliseconds,
    /// `x-edge-result-type`.
    pub result_types: TopK<()>,
    /// `x-edge-detailed-result-type`.
    pub detailed_result_types: TopK<()>,
    /// `x-edge-location`, with errors and bytes.
    pub edge_locations: TopK<EdgeCounts>,
    /// `cs-uri-stem`, with bytes, cache results and statuses.
    pub objects: TopK<ObjectCounts>,
    /// `cs-uri-stem` of cache misses.
    pub missed_objects: TopK<()>,
    /// `cs-uri-stem` of 404 responses.
    pub not_found: TopK<()>,
    /// `cs(Referer)`.
    pub referers: TopK<()>,
    /// The host of `cs(Referer)`.
    pub referrer_domains: TopK<()>,
    /// Entries without a referrer.
    pub no_referrer: u64,
    /// `cs(User-Agent)`.
    pub user_agents: TopK<()>,
    /// Query parameter names.
    pub query_names: TopK<()>,
    /// Query parameters, `name=value` as logged.
    pub query_pairs: TopK<()>,
    /// `cs-method`.
    pub methods: TopK<()>,
    /// `cs-protocol`.
    pub protocols: TopK<()>,
    /// `cs-protocol-version`.
    pub http_versions: TopK<()>,
    /// `ssl-protocol`.
    pub tls_versions: TopK<()>,
    /// `sc-content-type`, without parameters.
    pub content_types: TopK<()>,
    /// `c-country`, or a geo database's country.
    pub countries: TopK<()>,
    /// Entries whose country came from a geo database.
    pub geo_countries: u64,
    /// `asn`, or a geo database's AS number, as decimal text.
    pub asns: TopK<()>,
    /// Entries whose AS number came from a geo database.
    pub geo_asns: u64,
    /// The enrichment's browser names.
    pub browsers: TopK<()>,
    /// The enrichment's operating systems.
    pub operating_systems: TopK<()>,
    /// The enrichment's device classes.
    pub devices: TopK<()>,
    /// The browser names of bots.
    pub bots: TopK<()>,
    /// Entries the enrichment said were bots or not.
    pub bot_known: u64,
    /// Entries the enrichment said were bots.
    pub bot_requests: u64,
}

impl Default for Aggregate {
    fn default() -> Aggregate {
        use capacity::{LARGE, OBJECTS, SMALL, TINY};
        // The lists of paths share a hasher: a path is hashed once.
        let objects = TopK::new(OBJECTS);
        Aggregate {
            requests: 0,
            outside_window: 0,
            bytes_sent: 0,
            status: StatusClasses::default(),
            status_codes: StatusCodes::default(),
            hits: 0,
            misses: 0,
            error_results: 0,
            incomplete: 0,
            first: None,
            last: None,
            series: Series::default(),
            week_hours: [[0; 24]; 7],
            client_ips: ClientAddresses::default(),
            time_taken_ms: Milliseconds::default(),
            result_types: TopK::new(TINY),
            detailed_result_types: TopK::new(TINY),
            edge_locations: TopK::new(SMALL),
            missed_objects: objects.sharing_hasher(LARGE),
            not_found: objects.sharing_hasher(LARGE),
            objects,
            referers: TopK::new(LARGE),
            referrer_domains: TopK::new(LARGE),
            no_referrer: 0,
            user_agents: TopK::new(LARGE),
            query_names: TopK::new(LARGE),
            query_pairs: TopK::new(LARGE),
            methods: TopK::new(TINY),
            protocols: TopK::new(TINY),
            http_versions: TopK::new(TINY),
            tls_versions: TopK::new(TINY),
            content_types: TopK::new(SMALL),
            countries: TopK::new(SMALL),
            geo_countries: 0,
            asns: TopK::new(LARGE),
            geo_asns: 0,
            browsers: TopK::new(SMALL),
            operating_systems: TopK::new(SMALL),
            devices: TopK::new(TINY),
            bots: TopK::new(SMALL),
            bot_known: 0,
            bot_requests: 0,
        }
    }
}

impl Aggregate {
    /// Adds another aggregate's counts to this one.
    pub fn merge(&mut self, other: Aggregate) {
        self.requests += other.requests;
        self.outside_window += other.outside_window;
        self.bytes_sent += other.bytes_sent;
        self.status.hung_up += other.status.hung_up;
        for (mine, theirs) in self.status.classes.iter_mut().zip(other.status.classes) {
            *mine += theirs;
        }
        self.status.other += other.status.other;
        self.status_codes.merge(&other.status_codes);
        self.hits += other.hits;
        self.misses += other.misses;
        self.error_results += other.error_results;
        self.incomplete += other.incomplete;
        self.first = self.first.into_iter().chain(other.first).min();
        self.last = self.last.into_iter().chain(other.last).max();
        self.series.merge(&other.series);
        for (mine, theirs) in self.week_hours.iter_mut().zip(other.week_hours) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        self.client_ips.merge(other.client_ips);
        self.time_taken_ms.merge(&other.time_taken_ms);
        self.result_types.merge(other.result_types);
        self.detailed_result_types
            .merge(other.detailed_result_types);
        self.edge_locations.merge(other.edge_locations);
        self.objects.merge(other.objects);
        self.missed_objects.merge(other.missed_objects);
        self.not_found.merge(other.not_found);
        self.referers.merge(other.referers);
        self.referrer_domains.merge(other.referrer_domains);
        self.no_referrer += other.no_referrer;
        self.user_agents.merge(other.user_agents);
        self.query_names.merge(other.query_names);
        self.query_pairs.merge(other.query_pairs);
        self.methods.merge(other.methods);
        self.protocols.merge(other.protocols);
        self.http_versions.merge(other.http_versions);
        self.tls_versions.merge(other.tls_versions);
        self.content_types.merge(other.content_types);
        self.countries.merge(other.countries);
        self.geo_countries += other.geo_countries;
        self.asns.merge(other.asns);
        self.geo_asns += other.geo_asns;
        self.browsers.merge(other.browsers);
        self.operating_systems.merge(other.operating_systems);
        self.devices.merge(other.devices);
        self.bots.merge(other.bots);
        self.bot_known += other.bot_known;
        self.bot_requests += other.bot_requests;
    }

    /// Distinct visitors (client address and user agent) per UTC day, as
    /// (day start, estimate); for spans so long that the series' buckets
    /// are wider than a day, per bucket.
    pub fn visitors_per_day(&self) -> Vec<(i64, u64)> {
        self.series
            .regrouped(86_400)
            .into_iter()
            .map(|(start, bucket)| (start, bucket.visitors.estimate() as u64))
            .collect()
    }

    /// Visitors as GoAccess counts them: the sum of each day's distinct
    /// visitors (an estimate).
    pub fn visitors(&self) -> u64 {
        self.visitors_per_day().iter().map(|(_, n)| n).sum()
    }

    /// Every latency of kind `which` (an index of [`series::LATENCIES`]),
    /// over the whole range.
    pub fn latency(&self, which: usize) -> Latency {
        let mut total = Latency::default();
        for (_, bucket) in self.series.buckets() {
            if let Some(latency) = &bucket.latencies[which] {
                total.merge(latency);
            }
        }
        total
    }
}

/// The address a key of 16 bytes stands for (IPv4 mapped into IPv6, as
/// [`ClientAddresses`] keeps them), IPv4 mapped back; `None` for a key of
/// another length.
pub fn client_ip(key: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 16] = key.try_into().ok()?;
    let v6 = std::net::Ipv6Addr::from(octets);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// One value of a summary, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded<P> {
    /// The value, decoded one level as the JSON output decodes it.
    pub value: String,
    /// Its count (never below the true count).
    pub count: u64,
    /// How much `count` may overstate it.
    pub overstated_by: u64,
    /// Its payload.
    pub payload: P,
}

/// The `n` most frequent values of `top`, decoded as the JSON output
/// decodes text; values logged differently that decode alike are one.
pub fn decoded<P: Payload + Clone>(top: &TopK<P>, n: usize) -> Vec<Decoded<P>> {
    let mut merged: Vec<Decoded<P>> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // Every kept value (a few thousand at most, once per report): the
    // order of the decoded values, ties included, is then that of the
    // values themselves, not of their escaped text.
    for ranked in top.top(usize::MAX) {
        let value = match Value::new(ranked.key) {
            Some(value) => value.decoded_str().into_owned(),
            None => String::from_utf8_lossy(ranked.key).into_owned(),
        };
        match seen.get(&value) {
            Some(&i) => {
                let entry = &mut merged[i];
                entry.count += ranked.count;
                entry.overstated_by += ranked.overstated_by;
                entry.payload.merge(ranked.payload);
            }
            None => {
                seen.insert(value.clone(), merged.len());
                merged.push(Decoded {
                    value,
                    count: ranked.count,
                    overstated_by: ranked.overstated_by,
                    payload: ranked.payload.clone(),
                });
            }
        }
    }
    merged.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    merged.truncate(n);
    merged
}

/// The time range an [`Aggregator`] counts, `[since, until)`; a bound
/// that is `None` is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// The first instant counted.
    pub since: Option<OffsetDateTime>,
    /// The instant after the last counted.
    pub until: Option<OffsetDateTime>,
}

impl Window {
    /// Whether an entry of `time` is counted: inside the window, or any
    /// entry when the window is open at both ends (an entry without a
    /// time is inside no bounded window).
    pub fn contains(&self, time: Option<OffsetDateTime>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        time.is_some_and(|time| {
            self.since.is_none_or(|since| time >= since)
                && self.until.is_none_or(|until| time < until)
        })
    }
}

/// How much an [`Aggregator`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// What `cflog stats` shows: the totals (but the downloads cut
    /// short); the lists of paths,
    /// referrers, user agents, edge locations, result types, client
    /// addresses, browsers, devices, countries and bots (values and
    /// counts: the payloads of paths and edge locations stay empty); the
    /// time taken; requests over time. The rest of the aggregate stays
    /// empty, and the values only it needs (query parameters, content
    /// types…) are checked by their kind but not gathered.
    Summary,
    /// Everything: what `cflog report`'s page shows.
    #[default]
    Page,
}

/// Counts entries into an [`Aggregate`], through the typed layer.
#[derive(Debug)]
pub struct Aggregator {
    layout: Layout,
    entry: Gathered,
    window: Window,
    scope: Scope,
}

impl Default for Aggregator {
    fn default() -> Aggregator {
        Aggregator::new()
    }
}

impl Aggregator {
    /// An aggregator of every field of each layout: it rejects the lines
    /// the JSON output of every field rejects.
    pub fn new() -> Aggregator {
        Aggregator::for_selection(Selection::all())
    }

    /// An aggregator of the entries of `selection`: it counts the
    /// enrichment's keys (browsers, devices, bots, countries) when the
    /// selection's contract derives them, and sees the addresses its
    /// transforms rewrite as rewritten.
    pub fn for_selection(selection: Selection) -> Aggregator {
        Aggregator {
            // The other values are still read by their kind, so a line is
            // rejected where the JSON output rejects it.
            layout: Layout::only(selection, Gathered::wanted),
            entry: Gathered::default(),
            window: Window::default(),
            scope: Scope::Page,
        }
    }

    /// This aggregator, counting what `scope` says; the counts both
    /// scopes have are counted by the same code, so they are equal.
    pub fn with_scope(self, scope: Scope) -> Aggregator {
        let wanted = match scope {
            Scope::Summary => Gathered::wanted_for_summary,
            Scope::Page => Gathered::wanted,
        };
        Aggregator {
            layout: Layout::only(self.layout.selection().clone(), wanted),
            scope,
            ..self
        }
    }

    /// This aggregator, counting the entries of `window` only, and the
    /// others in [`Aggregate::outside_window`].
    pub fn with_window(self, window: Window) -> Aggregator {
        Aggregator { window, ..self }
    }

    /// Counts `line` into `aggregate`.
    ///
    /// # Errors
    ///
    /// When a value of the line is not of its kind; nothing is counted then.
    pub fn add(&mut self, line: &LogLine<'_>, aggregate: &mut Aggregate) -> Result<(), FieldError> {
        self.entry.clear(line.as_bytes());
        self.layout.encode(line, &mut self.entry)?;
        if self.window.contains(self.entry.time) {
            self.count(line.as_bytes(), aggregate);
        } else {
            aggregate.outside_window += 1;
        }
        Ok(())
    }

    /// Counts the entry gathered from `line`.
    fn count(&self, line: &[u8], agg: &mut Aggregate) {
        let page = self.scope == Scope::Page;
        let e = &self.entry;
        let sc_bytes = e.sc_bytes.unwrap_or(0);
        agg.requests += 1;
        agg.bytes_sent += sc_bytes;
        // 000, 1xx…5xx, other.
        let class = match e.status {
            Some(0) => 0,
            Some(status @ 100..=599) => (status / 100) as usize,
            _ => 6,
        };
        match class {
            0 => agg.status.hung_up += 1,
            6 => agg.status.other += 1,
            n => agg.status.classes[n - 1] += 1,
        }
        // Read when it came as a word; as text (a transform's), here.
        let outcome = e.result.unwrap_or_else(|| {
            e.text(line, Text::ResultType)
                .and_then(|r| std::str::from_utf8(r).ok())
                .map(|word| Outcome::of(ResultType::parse(word)))
                .unwrap_or_default()
        });
        let Outcome { hit, miss, error } = outcome;
        agg.hits += u64::from(hit);
        agg.misses += u64::from(miss);
        agg.error_results += u64::from(error);
        // The page's: a summary does not read `sc-content-len`.
        let incomplete =
            page && (e.status == Some(0) || e.content_len.is_some_and(|len| sc_bytes < len));
        agg.incomplete += u64::from(incomplete);

        // The payloads of paths and edge locations are the page's: a
        // summary counts the values alone, and never touches a payload.
        if let Some(path) = e.text(line, Text::Path) {
            let path = cut(path);
            if page {
                let path = agg.objects.hashed(path);
                let object = agg.objects.add_hashed_with_payload(path);
                object.bytes_sent += sc_bytes;
                object.hits += u64::from(hit);
                object.misses += u64::from(miss);
                object.statuses[class] += 1;
                object.incomplete += u64::from(incomplete);
                if miss {
                    agg.missed_objects.add_hashed(path);
                }
                if e.status == Some(404) {
                    agg.not_found.add_hashed(path);
                }
            } else {
                agg.objects.add(path);
            }
        }
        if let Some(edge) = e.text(line, Text::EdgeLocation) {
            let edge = cut(edge);
            if page {
                let counts = agg.edge_locations.add_with_payload(edge);
                counts.bytes_sent += sc_bytes;
                counts.client_errors += u64::from(class == 4);
                counts.server_errors += u64::from(class == 5);
                counts.error_results += u64::from(error);
            } else {
                agg.edge_locations.add(edge);
            }
        }
        match e.text(line, Text::Referer) {
            Some(referer) => {
                agg.referers.add(cut(referer));
                if page {
                    agg.referrer_domains.add(cut(&referrer_domain(referer)));
                }
            }
            None => agg.no_referrer += 1,
        }
        let user_agent = e.text(line, Text::UserAgent);
        if let Some(agent) = user_agent {
            agg.user_agents.add(cut(agent));
        }
        for (place, top) in [
            (Text::ResultType, &mut agg.result_types),
            (Text::Country, &mut agg.countries),
            (Text::Browser, &mut agg.browsers),
            (Text::Device, &mut agg.devices),
        ] {
            if let Some(text) = e.text(line, place) {
                top.add(cut(text));
            }
        }
        if let Some(bot) = e.is_bot {
            agg.bot_known += 1;
            if bot {
                agg.bot_requests += 1;
                let name = e.text(line, Text::Browser).or(user_agent).unwrap_or(b"-");
                agg.bots.add(cut(name));
            }
        }
        let octets = e.client_ip.map(|ip| match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        });
        if let Some(octets) = octets {
            agg.client_ips.insert(octets);
        }
        if let Some(taken) = e.latencies[0] {
            // `as_millis`, in 64 bits rather than 128.
            let ms = taken
                .as_secs()
                .checked_mul(1000)
                .and_then(|ms| ms.checked_add(u64::from(taken.subsec_millis())))
                .unwrap_or(u64::MAX);
            agg.time_taken_ms.add(ms);
        }
        if let Some(time) = e.time {
            match (agg.first, agg.last) {
                // A time at or past the last is not before the first: an
                // entry in time order (most) is compared once.
                (Some(first), Some(last)) => {
                    if time >= last {
                        agg.last = Some(time);
                    } else if time < first {
                        agg.first = Some(time);
                    }
                }
                (first, last) => {
                    agg.first = Some(first.map_or(time, |first| first.min(time)));
                    agg.last = Some(last.map_or(time, |last| last.max(time)));
                }
            }
            let unix = time.unix_timestamp();
            let bucket = agg.series.bucket(unix);
            bucket.requests += 1;
            if page {
                bucket.bytes_sent += sc_bytes;
                bucket.client_errors += u64::from(class == 4);
                bucket.server_errors += u64::from(class == 5);
                bucket.hits += u64::from(hit);
                bucket.misses += u64::from(miss);
                if let Some(octets) = octets {
                    let visitor = sketch_hash((octets, user_agent.unwrap_or_default()));
                    bucket.visitors.insert_hash(visitor);
                }
                for (which, latency) in e.latencies.iter().enumerate() {
                    if let Some(latency) = latency {
                        bucket.add_latency(which, latency.as_secs_f64() * 1000.0);
                    }
                }
                // 1970-01-01 was a Thursday (3 days after a Monday).
                let days = unix.div_euclid(86_400);
                let weekday = (days + 3).rem_euclid(7) as usize;
                let hour = (unix.rem_euclid(86_400) / 3600) as usize;
                agg.week_hours[weekday][hour] += 1;
            }
        }
        if page {
            self.count_page_details(line, agg);
        }
    }

    /// What the page shows and `cflog stats` does not.
    fn count_page_details(&self, line: &[u8], agg: &mut Aggregate) {
        let e = &self.entry;
        if let Some(status) = e.status {
            agg.status_codes.add(status);
        }
        if let Some(query) = e.text(line, Text::Query) {
            count_query(query, agg);
        }
        if let Some(content_type) = e.text(line, Text::ContentType) {
            agg.content_types.add(cut(media_type(content_type)));
        }
        for (place, top) in [
            (Text::DetailedResultType, &mut agg.detailed_result_types),
            (Text::Method, &mut agg.methods),
            (Text::Protocol, &mut agg.protocols),
            (Text::HttpVersion, &mut agg.http_versions),
            (Text::TlsVersion, &mut agg.tls_versions),
            (Text::OperatingSystem, &mut agg.operating_systems),
        ] {
            if let Some(text) = e.text(line, place) {
                top.add(cut(text));
            }
        }
        if e.text(line, Text::Country).is_some() && e.geo_country {
            agg.geo_countries += 1;
        }
        if let Some(asn) = e.asn {
            agg.asns.add(itoa::Buffer::new().format(asn).as_bytes());
            agg.geo_asns += u64::from(e.geo_asn);
        }
    }
}

/// `bytes` cut to [`MAX_VALUE_BYTES`].
#[inline]
fn cut(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(MAX_VALUE_BYTES)]
}

/// The host of a referrer (`https://Example.com:8443/a` gives
/// `example.com`), lowercased; a referrer that is not a URL as it is.
/// Borrowed, with no allocation, when it needs neither decoding nor
/// lowercasing (nearly always).
fn referrer_domain(referer: &[u8]) -> Cow<'_, [u8]> {
    // Referrers are logged percent-encoded at times (`https%3A//…`).
    if referer.contains(&b'%')
        && let Some(decoded) = Value::new(referer).map(|v| v.decoded_str().into_owned())
    {
        return Cow::Owned(host(decoded.as_bytes()).to_ascii_lowercase());
    }
    let host = host(referer);
    match host.iter().any(u8::is_ascii_uppercase) {
        true => Cow::Owned(host.to_ascii_lowercase()),
        false => Cow::Borrowed(host),
    }
}

/// The host part of a URL, or of a text that is not one.
fn host(text: &[u8]) -> &[u8] {
    // Plain loops: a referrer is short, and a `memchr` call each (five)
    // cost more than the bytes they went over.
    let rest = match text.windows(3).position(|w| w == b"://") {
        Some(at) => &text[at + 3..],
        None => text,
    };
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    // Credentials before `@`, a port after the last `:` (not inside an
    // IPv6 literal's brackets).
    let host = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let last = |byte: u8| host.iter().rposition(|&b| b == byte);
    match (last(b':'), last(b']')) {
        (Some(colon), Some(bracket)) if colon < bracket => host,
        (Some(colon), _) => &host[..colon],
        _ => host,
    }
}

/// A content type without its parameters (`text/html; charset=utf-8`
/// gives `text/html`).
fn media_type(content_type: &[u8]) -> &[u8] {
    let end = content_type
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(content_type.len());
    content_type[..end].trim_ascii()
}

/// Counts the names and the `name=value` pairs of a query, as logged.
fn count_query(query: &[u8], agg: &mut Aggregate) {
    for pair in query.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let name = match pair.iter().position(|&b| b == b'=') {
            Some(at) => &pair[..at],
            None => pair,
        };
        agg.query_names.add(cut(name));
        agg.query_pairs.add(cut(pair));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cflog_core::Schema;

    const HEADER: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
        cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) \
        x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken \
        x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type \
        cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte \
        x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

    fn line(
        time: &str,
        ip: &str,
        path: &str,
        status: &str,
        result: &str,
        referer: &str,
        query: &str,
    ) -> String {
        format!(
            "2024-03-14\t{time}\tFRA56-P5\t1000\t{ip}\tGET\td1.cloudfront.net\t{path}\t{status}\t{referer}\tMozilla/5.0\t{query}\t-\t{result}\tid\texample.com\thttps\t100\t0.010\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t{result}\tHTTP/2.0\t-\t-\t1234\t0.005\t{result}\ttext/html;%20charset=utf-8\t2000\t-\t-"
        )
    }

    /// The aggregate of `lines`, and how many were rejected.
    fn count(lines: &[String]) -> (Aggregate, usize) {
        let schema = Schema::from_fields_header(HEADER.as_bytes()).unwrap();
        let mut aggregate = Aggregate::default();
        let mut aggregator = Aggregator::new();
        let mut spans = Vec::new();
        let mut rejected = 0;
        for text in lines {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            rejected += usize::from(aggregator.add(&line, &mut aggregate).is_err());
        }
        (aggregate, rejected)
    }

    #[test]
    fn counts_totals_lists_and_sketches() {
        let lines = [
            line(
                "10:00:00",
                "192.0.2.1",
                "/a",
                "200",
                "Hit",
                "https://Www.Example.com:443/x?y",
                "page=2&q=a",
            ),
            line("10:30:00", "192.0.2.1", "/a", "404", "Miss", "-", "-"),
            line(
                "11:00:00",
                "2001:db8::1",
                "/b",
                "000",
                "Error",
                "https%3A//news.example.org/",
                "page=3",
            ),
            line(
                "12:00:00",
                "192.0.2.2",
                "/b",
                "503",
                "RefreshHit",
                "android-app://com.example",
                "-",
            ),
            // Not an integer: rejected by both.
            line("12:00:00", "192.0.2.2", "/b", "5x3", "Hit", "-", "-"),
        ];
        let (agg, rejected) = count(&lines);
        assert_eq!((agg.requests, rejected), (4, 1));
        assert_eq!(agg.bytes_sent, 4000);
        assert_eq!(
            agg.status,
            StatusClasses {
                hung_up: 1,
                classes: [0, 1, 0, 1, 1],
                other: 0
            }
        );
        // Hit and RefreshHit, against Miss.
        assert_eq!((agg.hits, agg.misses), (2, 1));
        let day = |hms: &str| {
            let text = format!("2024-03-14T{hms}Z");
            OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).ok()
        };
        assert_eq!((agg.first, agg.last), (day("10:00:00"), day("12:00:00")));
        assert_eq!(
            (agg.client_ips.count(), agg.client_ips.is_exact()),
            (3, true)
        );
        assert_eq!(agg.time_taken_ms.percentile(50.0), Some(10));
        let referers = decoded(&agg.referers, 5);
        let referers: Vec<&str> = referers.iter().map(|d| d.value.as_str()).collect();
        // Whole, decoded, ties in value order.
        assert_eq!(
            referers,
            [
                "android-app://com.example",
                "https://Www.Example.com:443/x?y",
                "https://news.example.org/"
            ]
        );
        assert_eq!(agg.error_results, 1);
        // Status 000, and 1000 bytes against a length of 2000 for each.
        assert_eq!(agg.incomplete, 4);
        let domains = decoded(&agg.referrer_domains, 5);
        let domains: Vec<(&str, u64)> = domains
            .iter()
            .map(|d| (d.value.as_str(), d.count))
            .collect();
        assert_eq!(
            domains,
            [
                ("com.example", 1),
                ("news.example.org", 1),
                ("www.example.com", 1)
            ]
        );
        assert_eq!(agg.no_referrer, 1);
        let names = decoded(&agg.query_names, 5);
        assert_eq!((names[0].value.as_str(), names[0].count), ("page", 2));
        assert_eq!(decoded(&agg.content_types, 5)[0].value, "text/html");
        let objects = decoded(&agg.objects, 5);
        assert_eq!(objects[0].value, "/a");
        assert_eq!(objects[0].payload.statuses, [0, 0, 1, 0, 1, 0, 0]);
        assert_eq!((objects[0].payload.hits, objects[0].payload.misses), (1, 1));
        assert_eq!(decoded(&agg.missed_objects, 5)[0].value, "/a");
        assert_eq!(decoded(&agg.not_found, 5)[0].value, "/a");
        let edge = &decoded(&agg.edge_locations, 1)[0];
        assert_eq!(
            (edge.payload.client_errors, edge.payload.server_errors),
            (1, 1)
        );
        // Three distinct addresses, one agent: three visitors on the day.
        assert_eq!(agg.visitors(), 3);
        // 2024-03-14 was a Thursday.
        assert_eq!(agg.week_hours[3][10], 2);
        assert_eq!(agg.week_hours.iter().flatten().sum::<u64>(), 4);
        assert_eq!(agg.latency(0).count(), 4);
        let p50 = agg.latency(1).quantile(0.5).unwrap();
        assert!((p50 - 5.0).abs() < 0.1, "{p50}");
        assert_eq!(agg.series.buckets().count(), 3);
    }

    #[test]
    fn merging_equals_counting_together() {
        let lines: Vec<String> = (0..200)
            .map(|i| {
                line(
                    &format!("{:02}:{:02}:00", i % 24, i % 60),
                    &format!("192.0.2.{}", i % 7),
                    &format!("/p{}", i % 13),
                    ["200", "404", "503"][i % 3],
                    ["Hit", "Miss"][i % 2],
                    "-",
                    "-",
                )
            })
            .collect();
        let (whole, _) = count(&lines);
        let (mut merged, _) = count(&lines[..77]);
        merged.merge(count(&lines[77..]).0);
        assert_eq!(merged.requests, whole.requests);
        assert_eq!(merged.status_codes, whole.status_codes);
        assert_eq!(merged.week_hours, whole.week_hours);
        assert_eq!(decoded(&merged.objects, 20), decoded(&whole.objects, 20));
        assert_eq!(merged.visitors(), whole.visitors());
        assert_eq!(merged.client_ips.count(), 7);
        assert_eq!(merged.time_taken_ms.count(), whole.time_taken_ms.count());
        assert_eq!((merged.first, merged.last), (whole.first, whole.last));
    }

    /// The first and last times of entries out of order, ties included.
    #[test]
    fn first_and_last_of_times_out_of_order() {
        let times = [
            "10:00:00", "09:00:00", "11:00:00", "11:00:00", "09:30:00", "08:59:59",
        ];
        let lines: Vec<String> = times
            .iter()
            .map(|t| line(t, "192.0.2.1", "/a", "200", "Hit", "-", "-"))
            .collect();
        let (agg, _) = count(&lines);
        let at = |hms: &str| {
            let text = format!("2024-03-14T{hms}Z");
            OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).ok()
        };
        assert_eq!((agg.first, agg.last), (at("08:59:59"), at("11:00:00")));
    }

    #[test]
    fn enrichment_columns_are_read_by_name() {
        let header =
            "#Fields: date time c-ip cs(User-Agent) ua_name ua_os ua_device is_bot geo_country";
        let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
        let mut aggregate = Aggregate::default();
        let mut aggregator = Aggregator::new();
        let mut spans = Vec::new();
        for text in [
            "2024-03-14\t10:00:00\t192.0.2.1\tMozilla\tFirefox\tLinux\tdesktop\tfalse\tDE",
            "2024-03-14\t10:00:00\t192.0.2.2\tbot\tGooglebot\tOther\tspider\ttrue\tUS",
        ] {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            aggregator.add(&line, &mut aggregate).unwrap();
        }
        assert_eq!((aggregate.bot_known, aggregate.bot_requests), (2, 1));
        assert_eq!(decoded(&aggregate.bots, 5)[0].value, "Googlebot");
        assert_eq!(decoded(&aggregate.operating_systems, 5).len(), 2);
        assert_eq!(aggregate.geo_countries, 2);
    }

    #[test]
    fn a_window_leaves_out_the_entries_outside() {
        let lines = [
            line("09:59:59", "192.0.2.1", "/a", "200", "Hit", "-", "-"),
            line("10:00:00", "192.0.2.1", "/a", "200", "Hit", "-", "-"),
            line("10:59:59", "192.0.2.1", "/a", "200", "Hit", "-", "-"),
            line("11:00:00", "192.0.2.1", "/a", "200", "Hit", "-", "-"),
        ];
        let at = |hms: &str| {
            let text = format!("2024-03-14T{hms}Z");
            OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap()
        };
        let schema = Schema::from_fields_header(HEADER.as_bytes()).unwrap();
        let mut aggregate = Aggregate::default();
        let mut aggregator = Aggregator::new().with_window(Window {
            since: Some(at("10:00:00")),
            until: Some(at("11:00:00")),
        });
        let mut spans = Vec::new();
        for text in &lines {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            aggregator.add(&line, &mut aggregate).unwrap();
        }
        assert_eq!((aggregate.requests, aggregate.outside_window), (2, 2));
        assert_eq!(aggregate.first, Some(at("10:00:00")));
        assert!(Window::default().contains(None));
        assert!(
            !Window {
                since: aggregate.first,
                until: None
            }
            .contains(None)
        );
    }

    /// A summary counts what it counts as the page does, and leaves the
    /// page's details out.
    #[test]
    fn a_summary_counts_what_the_page_counts() {
        let lines: Vec<String> = (0..300)
            .map(|i| {
                line(
                    &format!("{:02}:{:02}:00", i % 24, i % 60),
                    &format!("192.0.2.{}", i % 11),
                    &format!("/p{}", i % 17),
                    ["200", "404", "503", "000"][i % 4],
                    ["Hit", "Miss", "Error"][i % 3],
                    ["-", "https://a.example/x"][i % 2],
                    ["-", "page=2"][i % 2],
                )
            })
            .collect();
        let (page, _) = count(&lines);
        let schema = Schema::from_fields_header(HEADER.as_bytes()).unwrap();
        let mut summary = Aggregate::default();
        let mut aggregator = Aggregator::new().with_scope(Scope::Summary);
        let mut spans = Vec::new();
        for text in &lines {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            aggregator.add(&line, &mut summary).unwrap();
        }
        assert_eq!(summary.requests, page.requests);
        assert_eq!(summary.bytes_sent, page.bytes_sent);
        assert_eq!(summary.status, page.status);
        assert_eq!((summary.hits, summary.misses), (page.hits, page.misses));
        assert_eq!((summary.first, summary.last), (page.first, page.last));
        for (a, b) in [
            (&summary.referers, &page.referers),
            (&summary.user_agents, &page.user_agents),
            (&summary.result_types, &page.result_types),
        ] {
            assert_eq!(decoded(a, 20), decoded(b, 20));
        }
        // The same values and counts; the payloads are the page's alone.
        fn listed<P: Payload + Clone>(top: &TopK<P>) -> Vec<(String, u64, u64)> {
            decoded(top, 20)
                .into_iter()
                .map(|d| (d.value, d.count, d.overstated_by))
                .collect()
        }
        assert_eq!(listed(&summary.objects), listed(&page.objects));
        assert_eq!(
            listed(&summary.edge_locations),
            listed(&page.edge_locations)
        );
        assert!(page.objects.top(1)[0].payload.bytes_sent > 0);
        for object in summary.objects.top(usize::MAX) {
            assert_eq!(*object.payload, ObjectCounts::default());
        }
        for edge in summary.edge_locations.top(usize::MAX) {
            assert_eq!(*edge.payload, EdgeCounts::default());
        }
        assert_eq!(summary.client_ips.count(), page.client_ips.count());
        assert_eq!(summary.client_ips.top(20), page.client_ips.top(20));
        assert_eq!(
            summary.time_taken_ms.percentile(90.0),
            page.time_taken_ms.percentile(90.0)
        );
        let requests = |agg: &Aggregate| -> Vec<(i64, u64)> {
            agg.series.buckets().map(|(t, b)| (t, b.requests)).collect()
        };
        assert_eq!(requests(&summary), requests(&page));
        // The page's details are left out.
        assert!(summary.query_names.is_empty() && !page.query_names.is_empty());
        assert!(summary.referrer_domains.is_empty() && summary.methods.is_empty());
        assert!(summary.incomplete == 0 && page.incomplete > 0);
        assert_eq!(summary.week_hours, [[0; 24]; 7]);
    }

    #[test]
    fn addresses_are_counted_after_the_contracts_transforms() {
        // The test contract masks IPv4 addresses to 10.0.0.0 and IPv6 to fd00::.
        let contract = cflog_core::contract::testing::contract();
        let schema =
            Schema::from_fields_header(b"#Fields: c-ip cs-method cs-uri-query sc-status").unwrap();
        let mut aggregate = Aggregate::default();
        let mut aggregator = Aggregator::for_selection(contract.select_all());
        let mut spans = Vec::new();
        for text in [
            "192.0.2.100\tGET\ta=1\t200",
            "192.0.2.1\tget\t-\t200",
            "2001:db8::1\tPOST\t-\t404",
        ] {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            aggregator.add(&line, &mut aggregate).unwrap();
        }
        assert_eq!(aggregate.client_ips.count(), 2);
        let top = aggregate.client_ips.top(1);
        assert_eq!(
            (top[0].ip.to_string(), top[0].count),
            ("10.0.0.0".to_owned(), 2)
        );
    }

    #[test]
    fn texts_that_decode_alike_are_one_value() {
        let lines: Vec<String> = ["/%41", "/A", "/%FF", "/%fe", "/%41"]
            .iter()
            .map(|path| line("10:00:00", "192.0.2.1", path, "200", "Hit", "-", "-"))
            .collect();
        let (agg, _) = count(&lines);
        let objects: Vec<(String, u64)> = decoded(&agg.objects, 5)
            .into_iter()
            .map(|d| (d.value, d.count))
            .collect();
        // Bytes that are not UTF-8 are replaced, and then alike too.
        assert_eq!(objects, [("/A".to_owned(), 3), ("/\u{fffd}".to_owned(), 2)]);
        assert!(decoded(&agg.objects, 0).is_empty());
    }

    #[test]
    fn ties_are_broken_by_value() {
        let lines: Vec<String> = ["/b", "/a", "/c", "/b"]
            .iter()
            .map(|path| line("10:00:00", "192.0.2.1", path, "200", "Hit", "-", "-"))
            .collect();
        let (agg, _) = count(&lines);
        let top: Vec<(String, u64)> = decoded(&agg.objects, 3)
            .into_iter()
            .map(|d| (d.value, d.count))
            .collect();
        assert_eq!(top, [("/b".into(), 2), ("/a".into(), 1), ("/c".into(), 1)]);
    }

    #[test]
    fn referrer_domains() {
        for (referer, domain) in [
            ("https://user:pw@EXAMPLE.com:8080/a", "example.com"),
            ("http://[2001:db8::1]/x", "[2001:db8::1]"),
            ("example.com/x", "example.com"),
            ("https://a.example?x", "a.example"),
            ("a:b://Host/x", "host"),
            ("x:/y://z/", "z"),
            ("android-app:", "android-app"),
        ] {
            assert_eq!(
                referrer_domain(referer.as_bytes()),
                domain.as_bytes(),
                "{referer}"
            );
        }
    }
}
