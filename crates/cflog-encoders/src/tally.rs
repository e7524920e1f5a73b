//! The counts of `cflog stats`, fed by typed values: a [`Tallier`] reads
//! each entry through the typed layer and counts it into a [`Tally`],
//! writing nothing.
//!
//! An entry is counted whole or not at all: its values are gathered while
//! they arrive, and counted only once every value of the entry has been
//! read, so a line with a bad value (which the JSON output rejects too) is
//! not counted. `requests` therefore equals the number of entries the JSON
//! output writes.
//!
//! ```
//! use cflog_core::{LogLine, Schema};
//! use cflog_encoders::tally::{Tallier, Tally};
//!
//! let schema = Schema::from_fields_header(b"#Fields: date time sc-status sc-bytes cs-uri-stem")?;
//! let mut spans = Vec::new();
//! let mut tally = Tally::default();
//! let mut tallier = Tallier::new();
//! for text in ["2024-03-14\t10:59:59\t200\t100\t/a%20b", "2024-03-14\t11:00:00\t000\t-\t/a%20b"] {
//!     let line = LogLine::parse(text.as_bytes(), &schema, &mut spans)?;
//!     tallier.add(&line, &mut tally)?;
//! }
//! let bad = LogLine::parse(b"2024-03-14\t11:00:00\t2x0\t7\t/c", &schema, &mut spans)?;
//! assert!(tallier.add(&bad, &mut tally).is_err());
//! assert_eq!((tally.requests, tally.bytes_sent, tally.status.hung_up), (2, 100, 1));
//! assert_eq!(tally.paths.top(1), [("/a b", 2)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use cflog_core::contract::Selection;
use cflog_core::escape::QueryParams;
use cflog_core::typed::{Encoder, Key, Layout};
use cflog_core::{Field, FieldError, LogLine, ResultType, Value};
use time::OffsetDateTime;

/// Counts of one text value (a path, a user agent…).
///
/// The tallier counts text as logged, still escaped, and decodes each
/// distinct text once, when it is first seen: most entries repeat a value
/// seen before, and then cost one lookup, with no decoding and no UTF-8
/// check. Texts that decode alike are one value when the counts are read.
#[derive(Debug, Default)]
pub struct Counter {
    /// Counts by value, of [`add`](Counter::add).
    counts: Counts<Box<str>>,
    /// Counts by escaped text, of the tallier.
    escaped: EscapedCounts,
}

/// How often each value occurs. The hash is foldhash's (hashbrown's
/// default), much cheaper than std's SipHash on the short keys of a log,
/// and seeded at random per process, so keys that viewers control (paths,
/// user agents) cannot be chosen in advance to collide.
pub type Counts<K> = HashMap<K, u64, RandomState>;

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

    /// Counts one occurrence of `raw` decoded one level, as
    /// [`Value::decoded_str`] decodes it.
    #[inline]
    pub(crate) fn add_escaped(&mut self, raw: &[u8]) {
        self.escaped.add(raw, 1);
    }

    /// Every value counted, with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        if self.escaped.is_empty() {
            return self
                .counts
                .iter()
                .map(|(value, n)| (&**value, *n))
                .collect::<Vec<_>>()
                .into_iter();
        }
        let mut all: HashMap<&str, u64, RandomState> = self
            .counts
            .iter()
            .map(|(value, n)| (&**value, *n))
            .collect();
        for (value, n) in self.escaped.values() {
            *all.entry(value).or_default() += n;
        }
        all.into_iter().collect::<Vec<_>>().into_iter()
    }

    /// Adds another counter's counts to this one.
    pub fn merge(&mut self, other: Counter) {
        // The first input's counts are taken whole.
        if self.counts.is_empty() {
            self.counts = other.counts;
        } else {
            for (value, n) in other.counts {
                *self.counts.entry(value).or_default() += n;
            }
        }
        self.escaped.merge(other.escaped);
    }

    /// The `n` most frequent values, most frequent first, ties in value
    /// order so the list is the same on every run.
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        top(self.iter(), n)
    }
}

fn top<K: Ord>(counts: impl Iterator<Item = (K, u64)>, n: usize) -> Vec<(K, u64)> {
    let mut all: Vec<(K, u64)> = counts.collect();
    let order = |a: &(K, u64), b: &(K, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
    // Only the first `n` need sorting: a partition finds them first.
    if n < all.len() {
        if n == 0 {
            return Vec::new();
        }
        all.select_nth_unstable_by(n - 1, order);
        all.truncate(n);
    }
    all.sort_unstable_by(order);
    all
}

/// Counts by escaped text, with the value each decodes to.
///
/// The distinct texts of a large log (tens of thousands of paths) make
/// tables of megabytes, so a lookup is bound by cache misses rather than by
/// work. The texts, and the values they decode to where those differ, are
/// back to back in one arena, and the table holds only where they are and
/// the count: a lookup touches the table's control bytes, one slot of 32
/// bytes and the text, and a new text costs no allocation of its own.
#[derive(Default)]
struct EscapedCounts {
    table: HashTable<Slot>,
    arena: Vec<u8>,
    hasher: RandomState,
}

/// Where one escaped text is in the arena, and its count.
#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    /// The end of the text, and the start of the value it decodes to.
    raw_end: usize,
    /// The end of the value; `raw_end` when the text decodes to itself (a
    /// text that is not empty never decodes to an empty value).
    value_end: usize,
    count: u64,
}

impl Slot {
    fn raw<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.start..self.raw_end]
    }

    fn value<'a>(&self, arena: &'a [u8]) -> &'a str {
        let bytes = match self.value_end == self.raw_end {
            true => self.raw(arena),
            false => &arena[self.raw_end..self.value_end],
        };
        // Only UTF-8 is stored as a value (see `EscapedCounts::insert`).
        std::str::from_utf8(bytes).unwrap_or("\u{fffd}")
    }
}

impl EscapedCounts {
    fn add(&mut self, raw: &[u8], count: u64) {
        let hash = self.hasher.hash_one(raw);
        let arena = &self.arena;
        match self.table.find_mut(hash, |slot| slot.raw(arena) == raw) {
            Some(slot) => slot.count += count,
            None => {
                let value = match Value::new(raw) {
                    Some(value) => value.decoded_str(),
                    // `-` is counted where the typed layer says it is a
                    // value; it decodes to itself.
                    None => String::from_utf8_lossy(raw),
                };
                self.insert(hash, raw, &value, count);
            }
        }
    }

    /// Adds the new text `raw` with its `value`, where `hash` is its hash.
    fn insert(&mut self, hash: u64, raw: &[u8], value: &str, count: u64) {
        let start = self.arena.len();
        self.arena.extend_from_slice(raw);
        let raw_end = self.arena.len();
        if value.as_bytes() != raw {
            self.arena.extend_from_slice(value.as_bytes());
        }
        let slot = Slot {
            start,
            raw_end,
            value_end: self.arena.len(),
            count,
        };
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table
            .insert_unique(hash, slot, |slot| hasher.hash_one(slot.raw(arena)));
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The values and their counts, one per distinct text.
    fn values(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.table
            .iter()
            .map(|slot| (slot.value(&self.arena), slot.count))
    }

    fn merge(&mut self, other: EscapedCounts) {
        // The first input's counts are taken whole, with their hasher.
        if self.is_empty() {
            *self = other;
            return;
        }
        for slot in other.table.iter() {
            let raw = slot.raw(&other.arena);
            let hash = self.hasher.hash_one(raw);
            let arena = &self.arena;
            match self.table.find_mut(hash, |mine| mine.raw(arena) == raw) {
                Some(mine) => mine.count += slot.count,
                None => self.insert(hash, raw, slot.value(&other.arena), slot.count),
            }
        }
    }
}

impl std::fmt::Debug for EscapedCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.values()).finish()
    }
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
    pub time_taken_ms: Counts<u64>,
    /// Decoded `cs-uri-stem`.
    pub paths: Counter,
    /// Decoded `cs(Referer)`.
    pub referers: Counter,
    /// Decoded `cs(User-Agent)`.
    pub user_agents: Counter,
    /// `x-edge-location`.
    pub edge_locations: Counter,
    /// `c-ip`, by address (so `2001:0db8::1` and `2001:db8::1` are one).
    pub client_ips: Counts<IpAddr>,
    /// Requests by hour, as hours since the Unix epoch.
    pub per_hour: BTreeMap<i64, u64>,
    /// The earliest request time.
    pub first: Option<OffsetDateTime>,
    /// The latest request time.
    pub last: Option<OffsetDateTime>,
    /// The values of each registered derived key (see
    /// [`Tallier::for_selection`]), as text (`true`, `42`, an address),
    /// by key.
    pub derived: BTreeMap<String, Counter>,
}

impl Tally {
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
        merge_counts(&mut self.time_taken_ms, other.time_taken_ms);
        self.paths.merge(other.paths);
        self.referers.merge(other.referers);
        self.user_agents.merge(other.user_agents);
        self.edge_locations.merge(other.edge_locations);
        merge_counts(&mut self.client_ips, other.client_ips);
        for (hour, n) in other.per_hour {
            *self.per_hour.entry(hour).or_default() += n;
        }
        self.first = self.first.into_iter().chain(other.first).min();
        self.last = self.last.into_iter().chain(other.last).max();
        for (key, counter) in other.derived {
            self.derived.entry(key).or_default().merge(counter);
        }
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

/// Adds `theirs` to `mine`; the first input's are taken whole.
fn merge_counts<K: Hash + Eq>(mine: &mut Counts<K>, theirs: Counts<K>) {
    if mine.is_empty() {
        *mine = theirs;
        return;
    }
    for (key, n) in theirs {
        *mine.entry(key).or_default() += n;
    }
}

/// Counts entries into a [`Tally`], through the typed layer.
#[derive(Debug)]
pub struct Tallier {
    layout: Layout,
    entry: Entry,
}

impl Default for Tallier {
    fn default() -> Tallier {
        Tallier::new()
    }
}

impl Tallier {
    /// A tallier of every field of each layout (a tally reads the same
    /// values, and rejects the same lines, as the JSON output of every
    /// field).
    pub fn new() -> Tallier {
        Tallier::for_selection(Selection::all())
    }

    /// A tallier of the entries of `selection`, which counts the values of
    /// its contract's registered derived keys too ([`Tally::derived`]).
    pub fn for_selection(selection: Selection) -> Tallier {
        Tallier {
            // The other values are still read by their kind, so a line is
            // rejected where the JSON output rejects it.
            layout: Layout::only(selection, Entry::counts),
            entry: Entry::default(),
        }
    }

    /// Counts `line` into `tally`.
    ///
    /// # Errors
    ///
    /// When a value of the line is not of its kind; nothing is counted then.
    pub fn add(&mut self, line: &LogLine<'_>, tally: &mut Tally) -> Result<(), FieldError> {
        let bytes = line.as_bytes();
        self.entry.clear(bytes);
        self.layout.encode(line, &mut self.entry)?;
        self.entry.count(bytes, tally);
        Ok(())
    }
}

/// Where a text value of the entry is: a range of its line (values are
/// nearly always slices of it), or of [`Entry::copies`].
#[derive(Clone, Debug)]
enum Text {
    Line(Range<usize>),
    Copy(Range<usize>),
}

/// What a tally counts of one entry, gathered until the entry is whole.
///
/// Text is not copied, nor decoded, until it is counted: the entry keeps
/// where it is in the line.
#[derive(Debug, Default)]
struct Entry {
    sc_bytes: Option<u64>,
    status: Option<u64>,
    /// `x-edge-result-type`, as logged, when there is one, and whether it
    /// is a hit and a miss.
    result_type: Option<(Text, bool, bool)>,
    time_taken: Option<Duration>,
    time: Option<OffsetDateTime>,
    client_ip: Option<IpAddr>,
    /// Escaped texts: the path, the referer, the user agent and the edge
    /// location, when present.
    texts: [Option<Text>; 4],
    /// The address of the line's first byte and its length, to tell
    /// values that are slices of it.
    line: (usize, usize),
    /// Values that are not slices of the line (the unescaped values of a
    /// JSON line), back to back.
    copies: Vec<u8>,
    /// The values of derived keys: the key's and the value's places in
    /// `copies`.
    derived: Vec<(Range<usize>, Range<usize>)>,
}

/// The places in [`Entry::texts`].
const PATH: usize = 0;
const REFERER: usize = 1;
const USER_AGENT: usize = 2;
const EDGE_LOCATION: usize = 3;

impl Entry {
    /// Whether the tally counts the values of `key`: what the [`Encoder`]
    /// methods below keep.
    fn counts(key: Key<'_>) -> bool {
        key.derived
            || matches!(
                key.field,
                Some(
                    Field::UriStem
                        | Field::Referer
                        | Field::UserAgent
                        | Field::EdgeLocation
                        | Field::EdgeResultType
                        | Field::ScBytes
                        | Field::Status
                        | Field::TimeTaken
                        | Field::Timestamp
                        | Field::ClientIp
                )
            )
    }

    /// Forgets the last entry, for one of `line`.
    fn clear(&mut self, line: &[u8]) {
        self.sc_bytes = None;
        self.status = None;
        self.time_taken = None;
        self.time = None;
        self.client_ip = None;
        self.result_type = None;
        self.texts = Default::default();
        self.line = (line.as_ptr() as usize, line.len());
        self.copies.clear();
        self.derived.clear();
    }

    /// Keeps the value of derived key `key`, as the text `write` appends.
    fn derived(&mut self, key: Key<'_>, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.copies.len();
        self.copies.extend_from_slice(key.name.as_bytes());
        let name = start..self.copies.len();
        write(&mut self.copies);
        self.derived
            .push((name.clone(), name.end..self.copies.len()));
    }

    /// Where `value` is: in the line when it is a slice of it (told by its
    /// address), or else in a copy.
    fn locate(&mut self, value: &[u8]) -> Text {
        let (line, len) = self.line;
        let offset = (value.as_ptr() as usize).wrapping_sub(line);
        match offset.checked_add(value.len()) {
            Some(end) if end <= len => Text::Line(offset..end),
            _ => {
                let start = self.copies.len();
                self.copies.extend_from_slice(value);
                Text::Copy(start..self.copies.len())
            }
        }
    }

    /// The bytes of `text`, where `line` is the entry's line.
    fn bytes<'t>(&'t self, line: &'t [u8], text: &Text) -> &'t [u8] {
        match text {
            Text::Line(range) => line.get(range.clone()),
            Text::Copy(range) => self.copies.get(range.clone()),
        }
        .unwrap_or_default()
    }

    fn count(&mut self, line: &[u8], tally: &mut Tally) {
        tally.requests += 1;
        tally.bytes_sent += self.sc_bytes.unwrap_or(0);
        match self.status {
            Some(0) => tally.status.hung_up += 1,
            Some(status @ 100..=599) => tally.status.classes[(status / 100 - 1) as usize] += 1,
            _ => tally.status.other += 1,
        }
        if let Some((text, hit, miss)) = &self.result_type {
            tally.hits += u64::from(*hit);
            tally.misses += u64::from(*miss);
            // A word of the line, which the typed layer read as UTF-8.
            if let Ok(word) = std::str::from_utf8(self.bytes(line, text)) {
                tally.result_types.add(word);
            }
        }
        if let Some(taken) = self.time_taken {
            let ms = u64::try_from(taken.as_millis()).unwrap_or(u64::MAX);
            *tally.time_taken_ms.entry(ms).or_default() += 1;
        }
        for (text, counter) in self.texts.iter().zip([
            &mut tally.paths,
            &mut tally.referers,
            &mut tally.user_agents,
            &mut tally.edge_locations,
        ]) {
            if let Some(text) = text {
                counter.add_escaped(self.bytes(line, text));
            }
        }
        if let Some(ip) = self.client_ip {
            *tally.client_ips.entry(ip).or_default() += 1;
        }
        for (name, value) in &self.derived {
            let text = |range: &Range<usize>| {
                std::str::from_utf8(&self.copies[range.clone()]).unwrap_or_default()
            };
            let counter = match tally.derived.get_mut(text(name)) {
                Some(counter) => counter,
                None => tally.derived.entry(text(name).to_owned()).or_default(),
            };
            counter.add(text(value));
        }
        if let Some(time) = self.time {
            *tally
                .per_hour
                .entry(time.unix_timestamp().div_euclid(3600))
                .or_default() += 1;
            tally.first = Some(tally.first.map_or(time, |first| first.min(time)));
            tally.last = Some(tally.last.map_or(time, |last| last.max(time)));
        }
    }
}

impl Encoder for Entry {
    type Error = FieldError;

    fn null(&mut self, _key: Key<'_>) -> Result<(), FieldError> {
        Ok(())
    }

    fn text(&mut self, key: Key<'_>, value: Value<'_>) -> Result<(), FieldError> {
        let place = match key.field {
            Some(Field::UriStem) => PATH,
            Some(Field::Referer) => REFERER,
            Some(Field::UserAgent) => USER_AGENT,
            Some(Field::EdgeLocation) => EDGE_LOCATION,
            _ => return Ok(()),
        };
        self.texts[place] = Some(self.locate(value.raw()));
        Ok(())
    }

    fn word(&mut self, key: Key<'_>, word: &str) -> Result<(), FieldError> {
        if key.derived {
            self.derived(key, |out| out.extend_from_slice(word.as_bytes()));
        }
        if key.field == Some(Field::EdgeResultType) {
            let result = ResultType::parse(word);
            let text = self.locate(word.as_bytes());
            self.result_type = Some((text, result.is_hit(), result.is_miss()));
        }
        Ok(())
    }

    fn unsigned(&mut self, key: Key<'_>, n: u64) -> Result<(), FieldError> {
        if key.derived {
            self.derived(key, |out| {
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes())
            });
        }
        match key.field {
            Some(Field::ScBytes) => self.sc_bytes = Some(n),
            Some(Field::Status) => self.status = Some(n),
            _ => {}
        }
        Ok(())
    }

    fn signed(&mut self, _key: Key<'_>, _n: i64) -> Result<(), FieldError> {
        Ok(())
    }

    fn seconds(&mut self, key: Key<'_>, duration: Duration) -> Result<(), FieldError> {
        if key.field == Some(Field::TimeTaken) {
            self.time_taken = Some(duration);
        }
        Ok(())
    }

    fn timestamp(
        &mut self,
        _key: Key<'_>,
        time: OffsetDateTime,
        _millis: bool,
    ) -> Result<(), FieldError> {
        self.time = Some(time);
        Ok(())
    }

    fn ip(&mut self, key: Key<'_>, ip: IpAddr) -> Result<(), FieldError> {
        if key.derived {
            self.derived(key, |out| {
                use std::io::Write as _;
                // Writing an address into a `Vec` cannot fail.
                let _ = write!(out, "{ip}");
            });
        }
        if key.field == Some(Field::ClientIp) {
            self.client_ip = Some(ip);
        }
        Ok(())
    }

    fn boolean(&mut self, key: Key<'_>, value: bool) -> Result<(), FieldError> {
        if key.derived {
            let text: &[u8] = if value { b"true" } else { b"false" };
            self.derived(key, |out| out.extend_from_slice(text));
        }
        Ok(())
    }

    fn query_params(&mut self, _key: Key<'_>, _params: &QueryParams<'_>) -> Result<(), FieldError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cflog_core::Schema;

    fn tally(header: &str, lines: &[&str]) -> Tally {
        let schema = Schema::from_fields_header(header.as_bytes()).unwrap();
        let mut tally = Tally::default();
        let mut tallier = Tallier::new();
        let mut spans = Vec::new();
        for line in lines {
            let line = LogLine::parse(line.as_bytes(), &schema, &mut spans).unwrap();
            tallier.add(&line, &mut tally).unwrap();
        }
        tally
    }

    const HEADER: &str =
        "#Fields: date time c-ip sc-status sc-bytes x-edge-result-type time-taken cs-uri-stem";

    #[test]
    fn derived_keys_are_counted_by_key_and_addresses_after_their_transform() {
        let contract = cflog_core::contract::testing::contract();
        let schema =
            Schema::from_fields_header(b"#Fields: c-ip cs-method cs-uri-query sc-status").unwrap();
        let mut tally = Tally::default();
        let mut tallier = Tallier::for_selection(contract.select_all());
        let mut spans = Vec::new();
        for text in [
            "192.0.2.100\tGET\ta=1\t200",
            "192.0.2.1\tget\t-\t200",
            "2001:db8::1\tPOST\t-\t404",
        ] {
            let line = LogLine::parse(text.as_bytes(), &schema, &mut spans).unwrap();
            tallier.add(&line, &mut tally).unwrap();
        }
        let keys: Vec<&str> = tally.derived.keys().map(String::as_str).collect();
        assert_eq!(keys, ["test_has_query", "test_ip_bytes", "test_method"]);
        assert_eq!(
            tally.derived["test_method"].top(2),
            [("get", 2), ("post", 1)]
        );
        assert_eq!(
            tally.derived["test_has_query"].top(2),
            [("false", 2), ("true", 1)]
        );
        // The derive saw the logged addresses (11, 9 and 11 bytes) …
        assert_eq!(tally.derived["test_ip_bytes"].top(2), [("11", 2), ("9", 1)]);
        // … and the tally only the masked ones.
        let ips: Vec<String> = tally
            .top_client_ips(3)
            .iter()
            .map(|(ip, n)| format!("{ip} {n}"))
            .collect();
        assert_eq!(ips, ["10.0.0.0 2", "fd00:: 1"]);
        // Merged tallies add the counts of each key.
        let mut twice = Tally::default();
        twice.merge(std::mem::take(&mut tally));
        assert_eq!(twice.derived["test_method"].top(1), [("get", 2)]);
    }

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
    fn texts_that_decode_alike_are_one_value() {
        let lines = [
            "2024-03-14\t10:00:00\t192.0.2.1\t200\t1\tHit\t0.001\t/%41",
            "2024-03-14\t10:00:01\t192.0.2.1\t200\t1\tHit\t0.001\t/A",
            "2024-03-14\t10:00:02\t192.0.2.1\t200\t1\tHit\t0.001\t/%FF",
            "2024-03-14\t10:00:03\t192.0.2.1\t200\t1\tHit\t0.001\t/%fe",
            "2024-03-14\t10:00:04\t192.0.2.1\t200\t1\tHit\t0.001\t/%41",
        ];
        let whole = tally(HEADER, &lines);
        // Bytes that are not UTF-8 are replaced, and then alike too.
        assert_eq!(whole.paths.top(5), [("/A", 3), ("/\u{fffd}", 2)]);
        let mut merged = tally(HEADER, &lines[..2]);
        merged.paths.add("/A");
        merged.merge(tally(HEADER, &lines[2..]));
        assert_eq!(merged.paths.top(1), [("/A", 4)]);
        assert_eq!(merged.paths.iter().count(), 2);
        assert_eq!(merged.paths.top(0), []);
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

    proptest::proptest! {
        /// Counting escaped texts, in one counter or split between two that
        /// are merged, counts what a map of their decoded values counts.
        #[test]
        fn escaped_counts_are_those_of_the_decoded_values(
            texts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "/a", "/%41", "/A", "/%FF", "/%fe", "-", "", "/a%2520b", "%", "/\u{e9}",
                ]),
                0..60,
            ),
            split in 0usize..60,
        ) {
            let mut expected: HashMap<String, u64> = HashMap::new();
            for text in &texts {
                let value = match Value::new(text.as_bytes()) {
                    Some(value) => value.decoded_str().into_owned(),
                    None => (*text).to_owned(),
                };
                *expected.entry(value).or_default() += 1;
            }
            let (first, second) = texts.split_at(split.min(texts.len()));
            let (mut whole, mut merged, mut rest) =
                (Counter::default(), Counter::default(), Counter::default());
            for text in &texts {
                whole.add_escaped(text.as_bytes());
            }
            for text in first {
                merged.add_escaped(text.as_bytes());
            }
            for text in second {
                rest.add_escaped(text.as_bytes());
            }
            merged.merge(rest);
            for counter in [&whole, &merged] {
                let counted: HashMap<String, u64> =
                    counter.iter().map(|(v, n)| (v.to_owned(), n)).collect();
                proptest::prop_assert_eq!(&counted, &expected);
            }
        }
    }
}
