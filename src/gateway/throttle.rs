//! Slows down repeated wrong keys from one address (the LAN guard's brake on
//! key guessing).
//!
//! The first few wrong keys from an address cost nothing (a client with a
//! stale key should learn it at once). After that, each wrong key from the
//! address is answered in a time slot of its own: slots are handed out one
//! after the other, each longer than the last, so that guesses sent in
//! parallel wait in line instead of being answered together. When the line
//! is longer than [`ThrottleSettings::max_queue`], the address is refused
//! with a 429 *before* its key is even looked at, so guessing gets no
//! faster with more connections.
//!
//! A request with the right key is never delayed and clears its address's
//! record, so a correct client is only ever slowed when it shares its
//! address with one sending wrong keys, and then for one slot at most.
//! Requests without any key are not guesses and are not counted.
//!
//! Memory is bounded: at most [`ThrottleSettings::capacity`] addresses are
//! remembered (least recently seen forgotten first), and a record is
//! dropped after [`ThrottleSettings::forget_after`] without a wrong key.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use lru::LruCache;
use tokio::time::Instant;

/// The brake's tunables.
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    /// Wrong keys from one address answered without delay.
    pub free_failures: u32,
    /// The delay of the first slowed answer; it doubles with each wrong key.
    pub base_penalty: Duration,
    /// The longest delay of one answer.
    pub max_penalty: Duration,
    /// How far ahead the line of one address may reach before its requests
    /// are refused outright.
    pub max_queue: Duration,
    /// Quiet time after which an address's wrong keys are forgotten.
    pub forget_after: Duration,
    /// Most addresses remembered at once.
    pub capacity: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            free_failures: 5,
            base_penalty: Duration::from_millis(250),
            max_penalty: Duration::from_secs(5),
            max_queue: Duration::from_secs(30),
            forget_after: Duration::from_secs(15 * 60),
            capacity: 4096,
        }
    }
}

/// What one address has done wrong lately.
#[derive(Debug, Clone, Copy)]
struct Record {
    /// Wrong keys since the record started.
    failures: u32,
    /// The last wrong key.
    last_failure: Instant,
    /// When the last handed-out slot ends: the next wrong key is answered
    /// no earlier than this plus its own penalty.
    next_slot: Instant,
}

/// Whether a request may have its key checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead.
    Now,
    /// Too many wrong keys from this address: refuse without checking,
    /// and tell the client when to come back.
    Refuse {
        /// How long until the address's line has room again.
        retry_after: Duration,
    },
}

/// Per-address records of wrong keys, shared by every handler.
#[derive(Debug)]
pub struct AuthThrottle {
    settings: ThrottleSettings,
    records: Mutex<LruCache<IpAddr, Record>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        AuthThrottle::new(ThrottleSettings::default())
    }
}

impl AuthThrottle {
    /// A brake with these settings.
    pub fn new(settings: ThrottleSettings) -> AuthThrottle {
        let capacity = NonZeroUsize::new(settings.capacity).unwrap_or(NonZeroUsize::MIN);
        AuthThrottle {
            settings,
            records: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn records(&self) -> std::sync::MutexGuard<'_, LruCache<IpAddr, Record>> {
        // A panic while holding the lock cannot leave a record half-written
        // (every update is one assignment): keep using it.
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides before the key is looked at.
    pub fn admit(&self, ip: IpAddr) -> Admission {
        let now = Instant::now();
        let mut records = self.records();
        let Some(record) = records.peek(&ip).copied() else {
            return Admission::Now;
        };
        if now.duration_since(record.last_failure) >= self.settings.forget_after {
            records.pop(&ip);
            return Admission::Now;
        }
        let queued = record.next_slot.saturating_duration_since(now);
        if record.failures >= self.settings.free_failures && queued > self.settings.max_queue {
            return Admission::Refuse {
                retry_after: queued - self.settings.max_queue,
            };
        }
        Admission::Now
    }

    /// Records a wrong key from `ip`; returns when its answer may be sent
    /// (`None`: at once).
    pub fn failed(&self, ip: IpAddr) -> Option<Instant> {
        let now = Instant::now();
        let mut records = self.records();
        let fresh = Record {
            failures: 0,
            last_failure: now,
            next_slot: now,
        };
        let mut record = records
            .get(&ip)
            .copied()
            .filter(|r| now.duration_since(r.last_failure) < self.settings.forget_after)
            .unwrap_or(fresh);
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        let hold = (record.failures > self.settings.free_failures).then(|| {
            let slot = record.next_slot.max(now) + self.penalty(record.failures);
            record.next_slot = slot;
            slot
        });
        records.put(ip, record);
        hold
    }

    /// Records `n` wrong keys from `ip` presented by one request (at most
    /// one per accepted form); returns when its answer may be sent.
    pub fn failed_times(&self, ip: IpAddr, n: usize) -> Option<Instant> {
        (0..n.max(1)).map(|_| self.failed(ip)).last().flatten()
    }

    /// Team mode: `ip` has sent `failures` wrong keys to the whole team;
    /// this replica counts at least as many from now on (its own line of
    /// slots is kept).
    pub fn at_least(&self, ip: IpAddr, failures: u32) {
        let now = Instant::now();
        let mut records = self.records();
        let record = records.get(&ip).copied().unwrap_or(Record {
            failures: 0,
            last_failure: now,
            next_slot: now,
        });
        if record.failures < failures {
            records.put(
                ip,
                Record {
                    failures,
                    last_failure: now,
                    ..record
                },
            );
        }
    }

    /// Records the right key from `ip`: its record is forgotten.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut records = self.records();
        if !records.is_empty() {
            records.pop(&ip);
        }
    }

    /// The delay of the `failures`th wrong key (past the free ones).
    fn penalty(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(self.settings.free_failures + 1).min(20);
        self.settings
            .base_penalty
            .saturating_mul(1u32 << doublings)
            .min(self.settings.max_penalty)
    }

    /// How many addresses are remembered (for tests and status).
    pub fn remembered(&self) -> usize {
        self.records().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_wrong_keys_are_free_then_each_waits_longer() {
        let throttle = AuthThrottle::default();
        for _ in 0..5 {
            assert_eq!(throttle.failed(ip(1)), None);
        }
        let start = Instant::now();
        let waits: Vec<Duration> = (0..6).map(|_| throttle.failed(ip(1)).unwrap() - start).collect();
        // Slots follow one another: 0.25, +0.5, +1, +2, +4, +5 (capped).
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![250, 750, 1750, 3750, 7750, 12750]);
        // Another address is not affected.
        assert_eq!(throttle.failed(ip(2)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_line_is_refused_before_the_key_is_checked() {
        let throttle = AuthThrottle::default();
        assert_eq!(throttle.admit(ip(1)), Admission::Now);
        // Parallel guesses: each takes a later slot, until the line passes 30 s.
        let mut last = Instant::now();
        while throttle.admit(ip(1)) == Admission::Now {
            if let Some(slot) = throttle.failed(ip(1)) {
                last = slot;
            }
        }
        let Admission::Refuse { retry_after } = throttle.admit(ip(1)) else {
            unreachable!()
        };
        assert!(retry_after <= Duration::from_secs(5), "{retry_after:?}");
        // Time passes; the line drains and the address may try again.
        tokio::time::sleep_until(last).await;
        assert_eq!(throttle.admit(ip(1)), Admission::Now);
    }

    #[tokio::test(start_paused = true)]
    async fn the_right_key_clears_the_record_and_quiet_forgets_it() {
        let throttle = AuthThrottle::default();
        for _ in 0..8 {
            throttle.failed(ip(1));
        }
        throttle.succeeded(ip(1));
        assert_eq!(throttle.remembered(), 0);
        assert_eq!(throttle.failed(ip(1)), None, "counting starts again");

        for _ in 0..8 {
            throttle.failed(ip(3));
        }
        tokio::time::advance(Duration::from_secs(15 * 60)).await;
        assert_eq!(throttle.failed(ip(3)), None, "forgotten after a quiet quarter hour");
    }

    #[tokio::test(start_paused = true)]
    async fn memory_is_bounded_by_the_capacity() {
        let throttle = AuthThrottle::new(ThrottleSettings {
            capacity: 100,
            ..ThrottleSettings::default()
        });
        for n in 0..10_000 {
            throttle.failed(ip(n));
        }
        assert_eq!(throttle.remembered(), 100);
    }
}
