//! A rate limit on failed authentications per client address: a token bucket per IP that
//! holds `per_minute` attempts and refills at `per_minute` a minute. Each failure takes a
//! token; while a bucket is empty, attempts from that address are refused before any password
//! is checked. Successes cost nothing, so a client that stops failing is let in again within
//! seconds. Time is a parameter (tests do not sleep).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses tracked at most; beyond that, buckets that have refilled are dropped first.
const MAX_TRACKED: usize = 10_000;

pub struct FailureLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl FailureLimiter {
    /// `per_minute` = 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        FailureLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &Bucket, now: Instant) -> f64 {
        let cap = self.per_minute as f64;
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        (b.tokens + elapsed * cap / 60.0).min(cap)
    }

    /// Ok when `ip` may try to authenticate; else how long until it may.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = buckets.get(&ip) else {
            return Ok(());
        };
        let tokens = self.refill(b, now);
        if tokens >= 1.0 {
            return Ok(());
        }
        let wait = (1.0 - tokens) * 60.0 / self.per_minute as f64;
        Err(Duration::from_secs_f64(wait).max(Duration::from_secs(1)))
    }

    /// Records one failed authentication from `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        if self.per_minute == 0 {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let cap = self.per_minute as f64;
            buckets.retain(|_, b| self.refill(b, now) < cap);
            if buckets.len() >= MAX_TRACKED {
                // Still full of failing addresses: forget the one that failed longest ago.
                if let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(ip, _)| *ip) {
                    buckets.remove(&oldest);
                }
            }
        }
        let fresh = Bucket {
            tokens: self.per_minute as f64,
            at: now,
        };
        let b = buckets.entry(ip).or_insert(fresh);
        let tokens = self.refill(b, now);
        *b = Bucket {
            tokens: (tokens - 1.0).max(0.0),
            at: now,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_is_refused_after_its_burst_and_let_in_as_the_bucket_refills() {
        let l = FailureLimiter::new(6);
        let t0 = Instant::now();
        for _ in 0..6 {
            assert!(l.check(ip("10.0.0.1"), t0).is_ok());
            l.failed(ip("10.0.0.1"), t0);
        }
        let wait = l.check(ip("10.0.0.1"), t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(10), "one token every 10 s at 6/min");
        assert!(l.check(ip("10.0.0.2"), t0).is_ok(), "other addresses are not affected");
        assert!(l.check(ip("10.0.0.1"), t0 + Duration::from_secs(9)).is_err());
        assert!(l.check(ip("10.0.0.1"), t0 + Duration::from_secs(10)).is_ok());
        // A full minute later the whole burst is back.
        let t1 = t0 + Duration::from_secs(70);
        for _ in 0..6 {
            assert!(l.check(ip("10.0.0.1"), t1).is_ok());
            l.failed(ip("10.0.0.1"), t1);
        }
        assert!(l.check(ip("10.0.0.1"), t1).is_err());
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let l = FailureLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..100 {
            l.failed(ip("::1"), t0);
        }
        assert!(l.check(ip("::1"), t0).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let l = FailureLimiter::new(1);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 50) {
            l.failed(IpAddr::from(i.to_be_bytes()), t0 + Duration::from_millis(i as u64));
        }
        assert!(l.buckets.lock().unwrap().len() <= MAX_TRACKED);
        let last = IpAddr::from((MAX_TRACKED as u32 + 49).to_be_bytes());
        assert!(
            l.check(last, t0 + Duration::from_secs(20)).is_err(),
            "recent failures are kept"
        );
    }
}
