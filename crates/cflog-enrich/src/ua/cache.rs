//! Parsed agents kept by the value as logged, bounded in bytes.

use std::sync::{Mutex, PoisonError};

use quick_cache::Weighter;
use quick_cache::unsync::Cache;
use thread_local::ThreadLocal;

use super::agent::Agent;
use super::parser::AgentParser;
use crate::CacheStats;

/// What one cached agent costs besides its key's and its text's bytes:
/// the `Agent` (72 bytes on 64-bit), the key's `Vec` header and the
/// cache's own slot, rounded up.
const ENTRY_OVERHEAD: u64 = 160;

/// The default bound: 8 MiB a thread holds about 25,000 agents of a
/// typical 170 bytes, more distinct agents than a day of a busy site shows
/// in one file.
pub const DEFAULT_CAPACITY_BYTES: u64 = 8 << 20;

/// A user agent parser behind a cache keyed by the raw logged value.
///
/// The bound is on bytes, counted as each entry's key, its parsed text and
/// a fixed overhead (160 bytes) per entry; the cache evicts (CLOCK-Pro,
/// by `quick_cache`) to stay under it, so an agent seen once does not push
/// out one seen every second.
///
/// It takes `&self`, as a derived key of the contract is shared by every
/// writer on every thread, and each thread has a cache of its own, made on
/// its first agent: a lookup takes a lock no other thread takes, already in
/// this core's cache, and lends the agent out rather than counting a
/// reference to it. A cache shared by the threads cost a lock of its shard
/// and two atomic counts of the agent's `Arc` per line, on lines of memory
/// not in any cache. So the bound is per thread that parses.
///
/// ```
/// use cflog_enrich::ua::AgentCache;
///
/// let cache = AgentCache::new(1 << 20);
/// let first = cache.with_agent(b"curl/8.5.0", |agent| agent.name.clone());
/// assert_eq!(first.as_deref(), Some("curl"));
/// assert!(cache.with_agent(b"curl/8.5.0", |agent| agent.is_bot));
/// assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
/// ```
pub struct AgentCache {
    parser: AgentParser,
    caches: ThreadLocal<Mutex<Local>>,
    capacity_bytes: u64,
    legacy_double: bool,
}

/// One thread's agents, and its counts.
struct Local {
    entries: Cache<Vec<u8>, Agent, EntryBytes>,
    hits: u64,
    misses: u64,
}

impl AgentCache {
    /// A cache of at most `capacity_bytes` a thread (see the type's docs
    /// for what counts), with a new parser, for values percent-encoded
    /// once.
    pub fn new(capacity_bytes: u64) -> Self {
        AgentCache {
            parser: AgentParser::new(),
            caches: ThreadLocal::new(),
            capacity_bytes,
            legacy_double: false,
        }
    }

    /// Decode values twice, for files of about 2013 to 2019.
    pub fn legacy_double(mut self, yes: bool) -> Self {
        self.legacy_double = yes;
        self
    }

    /// `read(agent)`, where `agent` is the agent of a logged
    /// (percent-encoded) `cs(User-Agent)`.
    pub fn with_agent<R>(&self, logged: &[u8], read: impl FnOnce(&Agent) -> R) -> R {
        let mut local = self
            .caches
            .get_or(|| {
                Mutex::new(Local {
                    // The estimate only sizes the first table.
                    entries: Cache::with_weighter(
                        (self.capacity_bytes / 512).max(16) as usize,
                        self.capacity_bytes,
                        EntryBytes,
                    ),
                    hits: 0,
                    misses: 0,
                })
            })
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let local = &mut *local;
        if let Some(agent) = local.entries.get(logged) {
            local.hits += 1;
            return read(agent);
        }
        local.misses += 1;
        let agent = if self.legacy_double {
            self.parser.parse_legacy_logged(logged)
        } else {
            self.parser.parse_logged(logged)
        };
        let answer = read(&agent);
        local.entries.insert(logged.to_vec(), agent);
        answer
    }

    /// The agent of a logged (percent-encoded) `cs(User-Agent)`, copied out
    /// of the cache ([`with_agent`](Self::with_agent) lends it instead).
    pub fn parse_logged(&self, logged: &[u8]) -> Agent {
        self.with_agent(logged, Agent::clone)
    }

    /// The counts so far, and the cache's size now, over every thread's
    /// cache.
    pub fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        for local in self.caches.iter() {
            let local = local.lock().unwrap_or_else(PoisonError::into_inner);
            stats.hits += local.hits;
            stats.misses += local.misses;
            stats.bytes += local.entries.weight();
            stats.entries += local.entries.len();
        }
        stats
    }
}

impl std::fmt::Debug for AgentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCache")
            .field("stats", &self.stats())
            .field("capacity_bytes", &self.capacity_bytes)
            .finish_non_exhaustive()
    }
}

/// Weighs an entry by the bytes it holds.
#[derive(Clone, Copy)]
struct EntryBytes;

impl Weighter<Vec<u8>, Agent> for EntryBytes {
    fn weight(&self, key: &Vec<u8>, agent: &Agent) -> u64 {
        key.len() as u64 + agent.heap_bytes() as u64 + ENTRY_OVERHEAD
    }
}
