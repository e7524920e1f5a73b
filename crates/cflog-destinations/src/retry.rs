//! Sending again what a stream service refused: capped exponential backoff
//! with full jitter, within a budget of attempts.
//!
//! Firehose's `PutRecordBatch`, Kinesis's `PutRecords` and SQS's
//! `SendMessageBatch` succeed for some records of a call and fail others
//! (throttling above all). Only the failed ones go again, after a wait that
//! doubles per attempt up to a cap, drawn uniformly below it ("full
//! jitter"), so that many Lambda instances throttled at once do not retry in
//! step. After the budget, the sink fails with what is left: the object or
//! the batch is retried as a whole by Lambda, at least once.
//!
//! ```
//! use std::time::Duration;
//! use cflog_destinations::retry::{Backoff, RetryPolicy};
//!
//! let policy = RetryPolicy { attempts: 3, base: Duration::from_millis(50), cap: Duration::from_secs(1) };
//! let mut backoff = Backoff::seeded(policy, 7);
//! let first = backoff.next_delay().expect("a second attempt");
//! assert!(first <= Duration::from_millis(50));
//! let second = backoff.next_delay().expect("a third attempt");
//! assert!(second <= Duration::from_millis(100));
//! assert_eq!(backoff.next_delay(), None, "three attempts in all");
//! assert_eq!(backoff.attempts(), 3);
//! ```

use std::time::Duration;

/// How often and how patiently to send again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; at least 1.
    pub attempts: u32,
    /// The longest wait before the first retry.
    pub base: Duration,
    /// The longest wait before any retry.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, waits of up to 100 ms doubling to at most 5 s: about 13 s
    /// of waiting at worst, well inside a Lambda invocation's time, and
    /// enough for a throttled shard's next second.
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 8,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The most a wait before retry `retry` (1 for the first) may be:
    /// `base · 2^(retry-1)`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }
}

/// The attempts of one call: counts them, and draws each wait.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    attempts: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// The first attempt is under way; waits are drawn from a random seed.
    pub fn new(policy: RetryPolicy) -> Backoff {
        Backoff::with_rng(policy, fastrand::Rng::new())
    }

    /// As [`new`](Self::new), with the waits drawn from `seed`: the same
    /// waits every time, for tests.
    pub fn seeded(policy: RetryPolicy, seed: u64) -> Backoff {
        Backoff::with_rng(policy, fastrand::Rng::with_seed(seed))
    }

    fn with_rng(policy: RetryPolicy, rng: fastrand::Rng) -> Backoff {
        Backoff {
            policy,
            attempts: 1,
            rng,
        }
    }

    /// How long to wait before the next attempt, which it counts; `None`
    /// when the budget is spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.attempts >= self.policy.attempts {
            return None;
        }
        let ceiling = self.policy.ceiling(self.attempts);
        self.attempts += 1;
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(self.rng.u64(..=nanos)))
    }

    /// Attempts so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Retries so far: attempts after the first.
    pub fn retries(&self) -> u32 {
        self.attempts - 1
    }
}

/// The items of a call that failed, in their order, for the next attempt:
/// `failed(i)` tells whether the service refused item `i`.
///
/// ```
/// use cflog_destinations::retry::keep_failed;
///
/// let refused = [false, true, false, true];
/// assert_eq!(keep_failed(vec!["a", "b", "c", "d"], |i| refused[i]), ["b", "d"]);
/// ```
pub fn keep_failed<T>(items: Vec<T>, mut failed: impl FnMut(usize) -> bool) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| failed(i).then_some(item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| policy.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        // No overflow however many retries.
        assert_eq!(policy.ceiling(u32::MAX), policy.cap);
    }

    #[test]
    fn waits_stay_under_their_ceiling_and_vary() {
        let policy = RetryPolicy::default();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let mut backoff = Backoff::seeded(policy, seed);
            let mut retry = 1;
            while let Some(wait) = backoff.next_delay() {
                assert!(wait <= policy.ceiling(retry), "retry {retry}: {wait:?}");
                retry += 1;
                seen.insert(wait);
            }
            assert_eq!(backoff.attempts(), policy.attempts);
            assert_eq!(backoff.retries(), policy.attempts - 1);
        }
        // Jitter: 64 × 7 waits are not a handful of fixed values.
        assert!(seen.len() > 400, "{} distinct waits", seen.len());
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let mut backoff = Backoff::new(RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        });
        assert_eq!(backoff.next_delay(), None);
        assert_eq!(backoff.retries(), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_waits() {
        let waits = |seed| {
            let mut backoff = Backoff::seeded(RetryPolicy::default(), seed);
            std::iter::from_fn(move || backoff.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(waits(3), waits(3));
        assert_ne!(waits(3), waits(4));
    }
}
