//! Failed logins counted per network address: past [`MAX_ADDRESS_FAILURES`] within
//! [`ADDRESS_WINDOW_MINUTES`], an address may not try again until its window ends — whatever
//! login names it tries, so one machine cannot guess across many accounts (each account has
//! its own lockout besides). Only failures count: an office whose drivers share one address
//! is not slowed by their logins. Memory stays bounded: at [`MAX_ADDRESSES`] addresses, the
//! ones whose window has ended are forgotten, and then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

/// Failed logins from one address that stop it trying for the rest of its window.
pub const MAX_ADDRESS_FAILURES: u32 = 20;
/// The window failures from one address are counted in.
pub const ADDRESS_WINDOW_MINUTES: i64 = 15;
/// Addresses remembered at most.
pub const MAX_ADDRESSES: usize = 10_000;

/// The failures of each address in its current window.
#[derive(Debug, Default)]
pub struct Throttle {
    seen: HashMap<IpAddr, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    since: DateTime<Utc>,
    failures: u32,
}

impl Window {
    fn ends(self) -> DateTime<Utc> {
        self.since + TimeDelta::minutes(ADDRESS_WINDOW_MINUTES)
    }
}

impl Throttle {
    /// `Err(until)` while `from` may not try: it failed too often in a window that ends then.
    pub fn check(&self, from: IpAddr, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        match self.seen.get(&from) {
            Some(w) if now < w.ends() && w.failures >= MAX_ADDRESS_FAILURES => Err(w.ends()),
            _ => Ok(()),
        }
    }

    /// Counts a failed login from `from`.
    pub fn failed(&mut self, from: IpAddr, now: DateTime<Utc>) {
        if self.seen.len() >= MAX_ADDRESSES && !self.seen.contains_key(&from) {
            self.forget(now);
        }
        let w = self.seen.entry(from).or_insert(Window {
            since: now,
            failures: 0,
        });
        if now >= w.ends() {
            *w = Window {
                since: now,
                failures: 0,
            };
        }
        w.failures += 1;
    }

    /// Addresses remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets the addresses whose window has ended; if none has, the oldest window's.
    fn forget(&mut self, now: DateTime<Utc>) {
        self.seen.retain(|_, w| now < w.ends());
        if self.seen.len() >= MAX_ADDRESSES
            && let Some(oldest) = self
                .seen
                .iter()
                .min_by_key(|(_, w)| w.since)
                .map(|(a, _)| *a)
        {
            self.seen.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(minute)
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn an_address_is_stopped_after_its_failures_until_its_window_ends() {
        let mut t = Throttle::default();
        for _ in 0..MAX_ADDRESS_FAILURES {
            assert_eq!(t.check(ip(1), at(1)), Ok(()));
            t.failed(ip(1), at(1));
        }
        let ends = at(1 + ADDRESS_WINDOW_MINUTES);
        assert_eq!(t.check(ip(1), at(2)), Err(ends));
        assert_eq!(t.check(ip(2), at(2)), Ok(()), "another address may");
        assert_eq!(t.check(ip(1), ends), Ok(()), "the window ended");
        t.failed(ip(1), ends);
        assert_eq!(t.check(ip(1), ends), Ok(()), "a new window, one failure");
    }

    proptest! {
        /// However many addresses fail, the throttle remembers at most MAX_ADDRESSES, and an
        /// address that failed less than the limit in its window may always try.
        #[test]
        fn memory_is_bounded_and_few_failures_never_stop(
            events in prop::collection::vec((0u32..40, 0i64..60), 1..400),
        ) {
            let mut t = Throttle::default();
            let mut minute = 0;
            for (addr, step) in events {
                minute += step / 20;
                t.failed(ip(addr), at(minute));
                prop_assert!(t.len() <= MAX_ADDRESSES);
                if t.seen[&ip(addr)].failures < MAX_ADDRESS_FAILURES {
                    prop_assert_eq!(t.check(ip(addr), at(minute)), Ok(()));
                }
            }
        }
    }

    #[test]
    fn past_the_bound_the_oldest_window_is_forgotten() {
        let mut t = Throttle::default();
        for n in 0..u32::try_from(MAX_ADDRESSES).unwrap() {
            t.failed(ip(n), at(i64::from(n % 5)));
        }
        t.failed(ip(u32::MAX), at(6));
        assert_eq!(t.len(), MAX_ADDRESSES);
        assert!(t.seen.contains_key(&ip(u32::MAX)));
    }
}
