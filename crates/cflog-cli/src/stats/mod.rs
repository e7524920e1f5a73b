//! `cflog stats`: the figures people otherwise open GoAccess for, counted
//! exactly in one pass.
//!
//! Every input gets its own [`StatsSink`]; its [`Tally`] is added to the
//! run's when the input is done, so workers never share a counter on the
//! hot path. Entries are checked by the same JSON writer as the conversion,
//! so `cflog stats` and `cflog` reject exactly the same lines and
//! `requests` equals the number of entries `cflog` would write.

mod render;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use cflog_core::json::{JsonWriter, Selection};
use cflog_core::{Field, LogLine};
use cflog_pipeline::sink::{Sink, SinkError};
use time::OffsetDateTime;

use crate::inputs::Input;
use crate::run::SinkFactory;

pub use render::{Report, table};

/// Counts of one text value (a path, a user agent…).
#[derive(Debug, Default)]
pub struct Counter {
    counts: HashMap<Box<str>, u64>,
}

impl Counter {
    /// Counts one occurrence of `value`.
    #[inline]
    pub fn add(&mut self, value: &str) {
        // Look up by `&str` first: a value seen before costs no allocation.
        match self.counts.get_mut(value) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(value.into(), 1);
            }
        }
    }

    fn merge(&mut self, other: Counter) {
        for (value, n) in other.counts {
            *self.counts.entry(value).or_default() += n;
        }
    }

    /// The `n` most frequent values, most frequent first, ties in value
    /// order so the list is the same on every run.
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        top(self.counts.iter().map(|(value, n)| (&**value, *n)), n)
    }
}

fn top<K: Ord>(counts: impl Iterator<Item = (K, u64)>, n: usize) -> Vec<(K, u64)> {
    let mut all: Vec<(K, u64)> = counts.collect();
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

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

/// Everything `cflog stats` counts.
#[derive(Debug, Default)]
pub struct Tally {
    /// Entries.
    pub requests: u64,
    /// The sum of `sc-bytes`.
    pub bytes_sent: u64,
    /// Requests by status class.
    pub status: StatusClasses,
    /// Served from the cache (see `ResultType::is_hit`).
    pub hits: u64,
    /// Not served from the cache (see `ResultType::is_miss`).
    pub misses: u64,
    /// `x-edge-result-type` values.
    pub result_types: Counter,
    /// `time-taken` in whole milliseconds (CloudFront logs it to the
    /// millisecond) and how often each occurs: exact percentiles in little
    /// memory.
    pub time_taken_ms: HashMap<u64, u64>,
    /// Decoded `cs-uri-stem`.
    pub paths: Counter,
    /// Decoded `cs(Referer)`.
    pub referers: Counter,
    /// Decoded `cs(User-Agent)`.
    pub user_agents: Counter,
    /// `x-edge-location`.
    pub edge_locations: Counter,
    /// `c-ip`, by address (so `2001:0db8::1` and `2001:db8::1` are one).
    pub client_ips: HashMap<IpAddr, u64>,
    /// Requests by hour, as hours since the Unix epoch.
    pub per_hour: BTreeMap<i64, u64>,
    /// The earliest request time.
    pub first: Option<OffsetDateTime>,
    /// The latest request time.
    pub last: Option<OffsetDateTime>,
}

impl Tally {
    /// Counts one entry.
    ///
    /// # Errors
    ///
    /// When a field is not of its kind (the JSON check before this catches
    /// those, so this is a second line of defence, never a panic).
    pub fn add(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        self.requests += 1;
        self.bytes_sent += line.sc_bytes()?.unwrap_or(0);
        match line.status()? {
            Some(0) => self.status.hung_up += 1,
            Some(status @ 100..=599) => self.status.classes[usize::from(status / 100 - 1)] += 1,
            _ => self.status.other += 1,
        }
        if let Some(result) = line.edge_result_type()? {
            self.hits += u64::from(result.is_hit());
            self.misses += u64::from(result.is_miss());
            self.result_types.add(result.as_str());
        }
        if let Some(taken) = line.time_taken()? {
            let ms = u64::try_from(taken.as_millis()).unwrap_or(u64::MAX);
            *self.time_taken_ms.entry(ms).or_default() += 1;
        }
        if let Some(path) = line.uri_stem() {
            self.paths.add(&path.decoded_str());
        }
        for (field, counter) in [
            (Field::Referer, &mut self.referers),
            (Field::UserAgent, &mut self.user_agents),
            (Field::EdgeLocation, &mut self.edge_locations),
        ] {
            if let Some(value) = line.get(field) {
                counter.add(&value.decoded_str());
            }
        }
        if let Some(ip) = line.client_ip()? {
            *self.client_ips.entry(ip).or_default() += 1;
        }
        if let Some(time) = line.timestamp()? {
            *self
                .per_hour
                .entry(time.unix_timestamp().div_euclid(3600))
                .or_default() += 1;
            self.first = Some(self.first.map_or(time, |first| first.min(time)));
            self.last = Some(self.last.map_or(time, |last| last.max(time)));
        }
        Ok(())
    }

    /// Adds another tally's counts to this one.
    pub fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.bytes_sent += other.bytes_sent;
        self.status.hung_up += other.status.hung_up;
        for (mine, theirs) in self.status.classes.iter_mut().zip(other.status.classes) {
            *mine += theirs;
        }
        self.status.other += other.status.other;
        self.hits += other.hits;
        self.misses += other.misses;
        self.result_types.merge(other.result_types);
        for (ms, n) in other.time_taken_ms {
            *self.time_taken_ms.entry(ms).or_default() += n;
        }
        self.paths.merge(other.paths);
        self.referers.merge(other.referers);
        self.user_agents.merge(other.user_agents);
        self.edge_locations.merge(other.edge_locations);
        for (ip, n) in other.client_ips {
            *self.client_ips.entry(ip).or_default() += n;
        }
        for (hour, n) in other.per_hour {
            *self.per_hour.entry(hour).or_default() += n;
        }
        self.first = self.first.into_iter().chain(other.first).min();
        self.last = self.last.into_iter().chain(other.last).max();
    }

    /// The `n` most frequent client addresses.
    pub fn top_client_ips(&self, n: usize) -> Vec<(IpAddr, u64)> {
        top(self.client_ips.iter().map(|(ip, n)| (*ip, *n)), n)
    }

    /// The time taken (in milliseconds) below which `percent` of the
    /// requests finished: the nearest-rank percentile.
    pub fn time_taken_percentile(&self, percent: f64) -> Option<u64> {
        let mut values: Vec<(u64, u64)> =
            self.time_taken_ms.iter().map(|(k, v)| (*k, *v)).collect();
        values.sort_unstable();
        let total: u64 = values.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return None;
        }
        let rank = ((percent / 100.0 * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        values.into_iter().find_map(|(ms, n)| {
            seen += n;
            (seen >= rank).then_some(ms)
        })
    }
}

/// Counts the entries of one input.
#[derive(Debug)]
pub struct StatsSink {
    json: JsonWriter,
    scratch: Vec<u8>,
    tally: Tally,
}

impl Sink for StatsSink {
    fn entry(&mut self, line: &LogLine<'_>) -> Result<(), SinkError> {
        // The same check as the NDJSON output, so both reject the same lines.
        self.scratch.clear();
        self.json.write(line, &mut self.scratch)?;
        self.tally.add(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Gives each input a [`StatsSink`] and adds up their tallies.
#[derive(Debug, Default)]
pub struct StatsFactory {
    total: Mutex<Tally>,
}

impl StatsFactory {
    /// The tally of every input done.
    pub fn into_tally(self) -> Tally {
        self.total
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl SinkFactory for StatsFactory {
    type Sink = StatsSink;

    fn open(&self, _input: &Input) -> StatsSink {
        StatsSink {
            json: JsonWriter::new(Selection::all()),
            scratch: Vec::with_capacity(4096),
            tally: Tally::default(),
        }
    }

    fn close(&self, sink: StatsSink) {
        self.total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(sink.tally);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cflog_core::Schema;

    fn tally(header: &str, lines: &[&str]) -> Tally {
        let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
        let mut tally = Tally::default();
        let mut spans = Vec::new();
        for line in lines {
            let line = LogLine::parse(line.as_bytes(), &schema, &mut spans).unwrap();
            tally.add(&line).unwrap();
        }
        tally
    }

    const HEADER: &str =
        "#Fields: date time c-ip sc-status sc-bytes x-edge-result-type time-taken cs-uri-stem";

    #[test]
    fn counts_classes_cache_and_hours() {
        let t = tally(
            HEADER,
            &[
                "2024-03-14\t10:59:59\t192.0.2.1\t200\t100\tHit\t0.001\t/a%20b",
                "2024-03-14\t11:00:00\t2001:0db8::1\t000\t-\tMiss\t0.010\t/a%20b",
                "2024-03-14\t11:30:00\t2001:db8::1\t503\t7\tError\t0.100\t/c",
                "2024-03-14\t11:30:01\t192.0.2.1\t-\t3\tRefreshHit\t-\t-",
            ],
        );
        assert_eq!(t.requests, 4);
        assert_eq!(t.bytes_sent, 110);
        assert_eq!(t.status.hung_up, 1);
        assert_eq!(t.status.classes, [0, 1, 0, 0, 1]);
        assert_eq!(t.status.other, 1);
        assert_eq!((t.hits, t.misses), (2, 1));
        assert_eq!(t.paths.top(1), [("/a b", 2)]);
        assert_eq!(t.client_ips.len(), 2);
        let hours: Vec<u64> = t.per_hour.values().copied().collect();
        assert_eq!(hours, [1, 3]);
        assert_eq!(t.time_taken_percentile(50.0), Some(10));
        assert_eq!(t.time_taken_percentile(100.0), Some(100));
        assert_eq!(t.time_taken_percentile(1.0), Some(1));
    }

    #[test]
    fn merging_equals_counting_together() {
        let lines = [
            "2024-03-14\t10:00:00\t192.0.2.1\t200\t1\tHit\t0.001\t/a",
            "2024-03-15\t12:00:00\t192.0.2.2\t404\t2\tMiss\t0.002\t/b",
            "2024-03-13\t09:00:00\t192.0.2.1\t200\t4\tHit\t0.003\t/a",
        ];
        let whole = tally(HEADER, &lines);
        let mut merged = tally(HEADER, &lines[..1]);
        merged.merge(tally(HEADER, &lines[1..]));
        assert_eq!(merged.requests, whole.requests);
        assert_eq!(merged.bytes_sent, whole.bytes_sent);
        assert_eq!(merged.status, whole.status);
        assert_eq!(merged.paths.top(5), whole.paths.top(5));
        assert_eq!(merged.top_client_ips(5), whole.top_client_ips(5));
        assert_eq!(merged.per_hour, whole.per_hour);
        assert_eq!((merged.first, merged.last), (whole.first, whole.last));
    }

    #[test]
    fn ties_are_broken_by_value() {
        let mut counter = Counter::default();
        for value in ["b", "a", "c", "b"] {
            counter.add(value);
        }
        assert_eq!(counter.top(3), [("b", 2), ("a", 1), ("c", 1)]);
        assert_eq!(counter.top(1), [("b", 2)]);
    }
}
