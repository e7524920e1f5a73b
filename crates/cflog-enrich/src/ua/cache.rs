//! Parsed agents kept by the value as logged, bounded in bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::agent::Agent;
use super::parser::AgentParser;
use crate::CacheStats;

/// What one cached agent costs besides its key's and its text's bytes:
/// the `Arc`'s block (two counts and the `Agent`, 72 bytes on 64-bit), the
/// key's `Vec` header and the cache's own slot, rounded up.
const ENTRY_OVERHEAD: u64 = 160;

/// The default bound: 8 MiB holds about 25,000 agents of a typical 170
/// bytes, more distinct agents than a day of a busy site shows in one file.
pub const DEFAULT_CAPACITY_BYTES: u64 = 8 << 20;

/// A user agent parser behind a cache keyed by the raw logged value.
///
/// The bound is on bytes, counted as each entry's key, its parsed text and
/// a fixed overhead (160 bytes) per entry; the cache evicts (CLOCK-Pro,
/// by `quick_cache`) to stay under it, so an agent seen once does not push
/// out one seen every second.
///
/// It takes `&self`: one cache serves every thread (the cache is sharded,
/// each shard behind its own lock), as a derived key of the contract is
/// shared by every writer.
///
/// ```
/// use cflog_enrich::ua::AgentCache;
///
/// let cache = AgentCache::new(1 << 20);
/// let first = cache.parse_logged(b"curl/8.5.0");
/// let again = cache.parse_logged(b"curl/8.5.0");
/// assert!(std::sync::Arc::ptr_eq(&first, &again));
/// assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
/// ```
pub struct AgentCache {
    parser: AgentParser,
    entries: Cache<Vec<u8>, Arc<Agent>, EntryBytes>,
    legacy_double: bool,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl AgentCache {
    /// A cache of at most `capacity_bytes` (see the type's docs for what
    /// counts), with a new parser, for values percent-encoded once.
    pub fn new(capacity_bytes: u64) -> Self {
        AgentCache {
            parser: AgentParser::new(),
            // The estimate only sizes the first table.
            entries: Cache::with_weighter(
                (capacity_bytes / 512).max(16) as usize,
                capacity_bytes,
                EntryBytes,
            ),
            legacy_double: false,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Decode values twice, for files of about 2013 to 2019.
    pub fn legacy_double(mut self, yes: bool) -> Self {
        self.legacy_double = yes;
        self
    }

    /// The agent of a logged (percent-encoded) `cs(User-Agent)`.
    pub fn parse_logged(&self, logged: &[u8]) -> Arc<Agent> {
        if let Some(agent) = self.entries.get(logged) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return agent;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let agent = Arc::new(if self.legacy_double {
            self.parser.parse_legacy_logged(logged)
        } else {
            self.parser.parse_logged(logged)
        });
        self.entries.insert(logged.to_vec(), Arc::clone(&agent));
        agent
    }

    /// The counts so far, and the cache's size now.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.entries.weight(),
            entries: self.entries.len(),
        }
    }
}

impl std::fmt::Debug for AgentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCache")
            .field("stats", &self.stats())
            .field("capacity_bytes", &self.entries.capacity())
            .finish_non_exhaustive()
    }
}

/// Weighs an entry by the bytes it holds.
#[derive(Clone, Copy)]
struct EntryBytes;

impl Weighter<Vec<u8>, Arc<Agent>> for EntryBytes {
    fn weight(&self, key: &Vec<u8>, agent: &Arc<Agent>) -> u64 {
        key.len() as u64 + agent.heap_bytes() as u64 + ENTRY_OVERHEAD
    }
}
