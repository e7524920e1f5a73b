//! Counts over time in a bounded number of buckets.
//!
//! Buckets are an hour wide until there would be more than
//! [`MAX_BUCKETS`] of them; then they widen to a day, a week, four weeks,
//! 52 weeks, and ten times wider each time after that, so that logs of any
//! span, even with timestamps centuries apart, keep a bounded number.
//! Widening adds buckets together, which every count and sketch of a
//! [`Bucket`] allows (the distinct visitors of two hours are the union of
//! their sketches, not the sum).
//!
//! ```
//! use cflog_encoders::aggregate::series::Series;
//!
//! let mut series = Series::default();
//! series.bucket(1_700_000_000).requests += 1;
//! series.bucket(1_700_000_100).requests += 1;
//! assert_eq!(series.width(), 3600);
//! assert_eq!(series.buckets().map(|(_, b)| b.requests).collect::<Vec<_>>(), [2]);
//! ```

use std::collections::BTreeMap;

use cardinality_estimator::CardinalityEstimator;
use sketches_ddsketch::{Config, DDSketch};

/// The most buckets a series keeps before it widens them.
pub const MAX_BUCKETS: usize = 1000;

/// Bucket widths in seconds, narrowest first; past the last, ten times
/// wider at each step.
const WIDTHS: [i64; 5] = [3600, 86_400, 7 * 86_400, 28 * 86_400, 364 * 86_400];

/// The latencies a bucket keeps a sketch of, in this order.
pub const LATENCIES: [&str; 4] = [
    "time_taken",
    "time_to_first_byte",
    "origin_fbl",
    "origin_lbl",
];

/// The distinct-count sketch: HyperLogLog with 4,096 registers (about 1.6%
/// standard error); sets of up to 128 are kept exactly, in a few words.
pub type Distinct = CardinalityEstimator<u64>;

/// A latency sketch: DDSketch with 1% relative accuracy, in milliseconds.
#[derive(Clone)]
pub struct Latency(DDSketch);

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latency")
            .field("count", &self.count())
            .field("p50", &self.quantile(0.5))
            .finish()
    }
}

impl Default for Latency {
    fn default() -> Latency {
        Latency(DDSketch::new(Config::defaults()))
    }
}

impl Latency {
    /// Adds one latency, in milliseconds.
    #[inline]
    pub fn add(&mut self, ms: f64) {
        self.0.add(ms);
    }

    /// Adds one latency `n` times, in milliseconds.
    #[inline]
    pub fn add_n(&mut self, ms: f64, n: u64) {
        self.0.add_with_count(ms, n);
    }

    /// How many latencies were added.
    pub fn count(&self) -> u64 {
        self.0.count() as u64
    }

    /// The `q` quantile (0 to 1) in milliseconds, within 1%; `None` when
    /// empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.0.quantile(q).ok().flatten()
    }

    /// The mean, in milliseconds.
    pub fn mean(&self) -> Option<f64> {
        let count = self.0.count();
        self.0
            .sum()
            .filter(|_| count > 0)
            .map(|sum| sum / count as f64)
    }

    /// The largest latency added.
    pub fn max(&self) -> Option<f64> {
        self.0.max()
    }

    /// Adds another sketch's latencies.
    pub fn merge(&mut self, other: &Latency) {
        // Both have the default configuration, the one condition of a merge.
        let _ = self.0.merge(&other.0);
    }
}

/// What is counted in one bucket of time.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// Entries.
    pub requests: u64,
    /// The sum of `sc-bytes`.
    pub bytes_sent: u64,
    /// Status 4xx.
    pub client_errors: u64,
    /// Status 5xx.
    pub server_errors: u64,
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
    /// Distinct client address and user agent pairs (an estimate).
    pub visitors: Distinct,
    /// Latency sketches, in the order of [`LATENCIES`]; `None` until the
    /// first value (most logs lack the origin latencies).
    pub latencies: [Option<Box<Latency>>; 4],
}

impl Bucket {
    /// Adds another bucket's counts.
    pub fn merge(&mut self, other: &Bucket) {
        self.requests += other.requests;
        self.bytes_sent += other.bytes_sent;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.hits += other.hits;
        self.misses += other.misses;
        self.visitors.merge(&other.visitors);
        for (mine, theirs) in self.latencies.iter_mut().zip(&other.latencies) {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(Default::default).merge(theirs);
            }
        }
    }

    /// Adds latency `ms` of kind `which` (an index of [`LATENCIES`]).
    #[inline]
    pub fn add_latency(&mut self, which: usize, ms: f64) {
        self.latencies[which]
            .get_or_insert_with(Default::default)
            .add(ms);
    }
}

/// Buckets of time (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Series {
    /// The width of every bucket, in seconds.
    width: i64,
    /// Buckets by their start, in seconds since the Unix epoch, in order
    /// (at most [`MAX_BUCKETS`]: a search among them is short, and a new
    /// one is rare).
    buckets: Vec<(i64, Bucket)>,
    /// Where the last bucket asked for is in `buckets`: entries come in
    /// time order mostly, so most ask for the same bucket as the one
    /// before.
    last: usize,
}

impl Default for Series {
    fn default() -> Series {
        Series {
            width: WIDTHS[0],
            buckets: Vec::new(),
            last: 0,
        }
    }
}

impl Series {
    /// The bucket of the time `unix_seconds`, made when it is missing.
    #[inline]
    pub fn bucket(&mut self, unix_seconds: i64) -> &mut Bucket {
        // Inside the last bucket asked for: no division.
        let width = self.width;
        let inside = |at: i64| unix_seconds >= at && unix_seconds - at < width;
        if self
            .buckets
            .get(self.last)
            .is_some_and(|(at, _)| inside(*at))
        {
            return &mut self.buckets[self.last].1;
        }
        let start = unix_seconds.div_euclid(width) * width;
        self.last = match self.buckets.binary_search_by_key(&start, |(at, _)| *at) {
            Ok(found) => found,
            Err(_) if self.buckets.len() >= MAX_BUCKETS => {
                self.widen_to(wider(self.width));
                return self.bucket(unix_seconds);
            }
            Err(at) => {
                self.buckets.insert(at, (start, Bucket::default()));
                at
            }
        };
        &mut self.buckets[self.last].1
    }

    /// The bucket that starts at `start`, made when it is missing.
    fn entry(&mut self, start: i64) -> &mut Bucket {
        let at = match self.buckets.binary_search_by_key(&start, |(at, _)| *at) {
            Ok(found) => found,
            Err(at) => {
                self.buckets.insert(at, (start, Bucket::default()));
                at
            }
        };
        &mut self.buckets[at].1
    }

    /// The width of the buckets, in seconds.
    pub fn width(&self) -> i64 {
        self.width
    }

    /// The buckets by start (seconds since the Unix epoch), in order.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, &Bucket)> + '_ {
        self.buckets.iter().map(|(start, bucket)| (*start, bucket))
    }

    /// The buckets added up `width` seconds at a time (a day of hours,
    /// say); `width` is a multiple of the series' own, or it is that.
    pub fn regrouped(&self, width: i64) -> BTreeMap<i64, Bucket> {
        let width = width.max(self.width);
        let mut grouped: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (start, bucket) in &self.buckets {
            grouped
                .entry(start.div_euclid(width) * width)
                .or_default()
                .merge(bucket);
        }
        grouped
    }

    /// Adds another series' buckets, at the wider of the two widths.
    pub fn merge(&mut self, other: &Series) {
        let mut width = self.width.max(other.width);
        loop {
            self.widen_to(width);
            for (start, bucket) in other.regrouped(width) {
                self.entry(start).merge(&bucket);
            }
            if self.buckets.len() <= MAX_BUCKETS {
                return;
            }
            width = wider(width);
        }
    }

    fn widen_to(&mut self, mut width: i64) {
        while width > self.width {
            self.buckets = self.regrouped(width).into_iter().collect();
            self.width = width;
            self.last = 0;
            if self.buckets.len() > MAX_BUCKETS {
                width = wider(width);
            }
        }
    }
}

/// The next width after `width`.
fn wider(width: i64) -> i64 {
    WIDTHS
        .iter()
        .copied()
        .find(|w| *w > width)
        .unwrap_or_else(|| width.saturating_mul(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_to_days_then_weeks_and_keeps_every_request() {
        let mut series = Series::default();
        // An entry every hour for 60 days: 1,440 hours, 60 days.
        for hour in 0..1440 {
            series.bucket(hour * 3600).requests += 1;
        }
        assert_eq!(series.width(), 86_400);
        assert_eq!(series.buckets().count(), 60);
        // A time 5,000 years later is one bucket more: the number of
        // buckets is bounded, not the span.
        series.bucket(5000 * 365 * 86_400).requests += 1;
        assert_eq!(series.buckets().count(), 61);
        // A thousand and one distinct days widen the buckets to weeks.
        for day in 0..MAX_BUCKETS as i64 {
            series.bucket(day * 86_400 * 1000).requests += 1;
        }
        assert!(series.width() > 7 * 86_400, "{}", series.width());
        assert!(series.buckets().count() <= MAX_BUCKETS);
        let total: u64 = series.buckets().map(|(_, b)| b.requests).sum();
        assert_eq!(total, 1441 + MAX_BUCKETS as u64);
    }

    #[test]
    fn merging_series_of_two_widths_gives_the_wider() {
        let mut hours = Series::default();
        hours.bucket(0).requests += 1;
        hours.bucket(7200).requests += 2;
        let mut days = Series::default();
        for day in 0..MAX_BUCKETS as i64 + 1 {
            days.bucket(day * 3600).requests += 1;
        }
        assert_eq!(days.width(), 86_400);
        hours.merge(&days);
        assert_eq!(hours.width(), 86_400);
        let total: u64 = hours.buckets().map(|(_, b)| b.requests).sum();
        assert_eq!(total, 3 + MAX_BUCKETS as u64 + 1);
        assert_eq!(hours.regrouped(86_400).len(), hours.buckets().count());
    }

    #[test]
    fn visitors_of_two_buckets_are_their_union() {
        use std::hash::BuildHasher;
        let hasher = foldhash::quality::FixedState::with_seed(7);
        let mut a = Bucket::default();
        let mut b = Bucket::default();
        for n in 0..60u64 {
            a.visitors.insert_hash(hasher.hash_one(n));
            b.visitors.insert_hash(hasher.hash_one(n + 40));
        }
        a.merge(&b);
        // 100 distinct: sets of up to 128 are kept exactly.
        assert_eq!(a.visitors.estimate(), 100);
        // Past that, an estimate within a few percent.
        for n in 0..100_000u64 {
            a.visitors.insert_hash(hasher.hash_one(n));
        }
        let estimate = a.visitors.estimate() as f64;
        assert!((estimate / 100_000.0 - 1.0).abs() < 0.05, "{estimate}");
    }

    #[test]
    fn latency_quantiles_are_within_one_percent() {
        let mut latency = Latency::default();
        for ms in 1..=1000 {
            latency.add(f64::from(ms));
        }
        let p50 = latency.quantile(0.5).unwrap();
        assert!((p50 - 500.0).abs() <= 5.0 + 1.0, "{p50}");
        let p99 = latency.quantile(0.99).unwrap();
        assert!((p99 - 990.0).abs() <= 9.9 + 1.0, "{p99}");
        assert_eq!(latency.count(), 1000);
        assert_eq!(Latency::default().quantile(0.5), None);
    }
}
