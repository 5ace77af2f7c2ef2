//! Webhooks: a company's events (see [`crate::event`]) POSTed to its own URL, each at least
//! once and in the company's order, signed with its secret.
//!
//! A company's delivery follows a cursor (the number of the last event delivered or given
//! up). An event that fails is tried again after a growing wait ([`RetryPolicy`]) until it is
//! delivered or a day has passed since its first attempt, and the events after it wait: a
//! receiver sees them in order. Every attempt is kept ([`Delivery`]), so the company can see
//! what reached it and what did not.
//!
//! SMS notices to drivers follow the same log with a cursor of their own per company and the
//! same retries ([`Texted`] keeps each attempt with the number it went to).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::fleet::Phone;
use crate::ids::CompanyId;
use crate::{Error, Result};

/// Shortest secret a company may choose.
pub const MIN_SECRET: usize = 16;
/// Longest secret and URL accepted.
pub const MAX_SECRET: usize = 256;
pub const MAX_URL: usize = 2048;

/// Where a company's events go, and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub company: CompanyId,
    /// `http://` or `https://`, with a host.
    pub url: String,
    pub secret: String,
    pub set_at: DateTime<Utc>,
}

impl Webhook {
    /// A webhook whose URL and secret are checked: an `http` or `https` URL with a host and
    /// no user or password in it; a secret of [`MIN_SECRET`] to [`MAX_SECRET`] printable
    /// ASCII characters.
    pub fn new(company: CompanyId, url: &str, secret: &str, at: DateTime<Utc>) -> Result<Self> {
        check_url(url)?;
        let printable = secret.chars().all(|c| c.is_ascii_graphic());
        if !(MIN_SECRET..=MAX_SECRET).contains(&secret.len()) || !printable {
            return Err(Error::invalid(
                "secret",
                format!(
                    "must be {MIN_SECRET} to {MAX_SECRET} printable ASCII characters without spaces"
                ),
            ));
        }
        Ok(Webhook {
            company,
            url: url.to_owned(),
            secret: secret.to_owned(),
            set_at: at,
        })
    }
}

fn check_url(url: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid("url", format!("{why}: {url:?}")));
    let rest = match url.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return bad("must start with http:// or https://"),
    };
    if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must be at most 2048 characters without spaces");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return bad("must not carry a user name or password");
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    if host.is_empty() {
        return bad("names no host");
    }
    Ok(())
}

/// How far a company's delivery has come.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// The number of the last event delivered or given up (0: none yet).
    pub cursor: u64,
    /// The event after the cursor while it is failing.
    pub failing: Option<Failing>,
}

/// An event that could not be delivered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failing {
    pub seq: u64,
    pub first_at: DateTime<Utc>,
    pub attempts: u32,
    /// When it is tried again.
    pub next_at: DateTime<Utc>,
}

impl Progress {
    /// Whether the next event may be tried at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.failing.as_ref().is_none_or(|f| f.next_at <= now)
    }

    /// The progress after `d`, an attempt at the event after the cursor.
    pub fn after(&self, d: &Delivery, policy: &RetryPolicy) -> Progress {
        match &d.outcome {
            Outcome::Delivered { .. } | Outcome::GaveUp { .. } => Progress {
                cursor: self.cursor.max(d.seq),
                failing: None,
            },
            Outcome::Failed { .. } => {
                let first_at = match &self.failing {
                    Some(f) if f.seq == d.seq => f.first_at,
                    _ => d.at,
                };
                Progress {
                    cursor: self.cursor,
                    failing: Some(Failing {
                        seq: d.seq,
                        first_at,
                        attempts: d.attempt,
                        next_at: d.at + policy.wait(d.attempt),
                    }),
                }
            }
        }
    }

    /// The number the next attempt at event `seq` gets (1 for its first).
    pub fn attempt(&self, seq: u64) -> u32 {
        match &self.failing {
            Some(f) if f.seq == seq => f.attempts + 1,
            _ => 1,
        }
    }

    /// Whether event `seq`, failing once more at `now`, is given up rather than retried.
    pub fn gives_up(&self, seq: u64, now: DateTime<Utc>, policy: &RetryPolicy) -> bool {
        match &self.failing {
            Some(f) if f.seq == seq => now - f.first_at >= policy.give_up_after,
            _ => false,
        }
    }
}

/// One attempt at delivering an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub company: CompanyId,
    /// The event's number in the company's log.
    pub seq: u64,
    /// 1 for the event's first attempt, 2 for its second, ...
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Another status, or no answer; tried again later.
    Failed { status: Option<u16>, error: String },
    /// Failed again a day after its first attempt: not tried any more.
    GaveUp { status: Option<u16>, error: String },
}

/// One attempt at texting an event to the driver of the booking's truck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Texted {
    /// The number it was sent to.
    pub to: Phone,
    pub delivery: Delivery,
}

/// How long to wait between attempts, and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles with each one after.
    pub first: TimeDelta,
    /// The longest wait.
    pub max: TimeDelta,
    /// An event failing this long after its first attempt is given up.
    pub give_up_after: TimeDelta,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s, ... up to an hour between attempts, for a day.
    fn default() -> Self {
        RetryPolicy {
            first: TimeDelta::seconds(10),
            max: TimeDelta::hours(1),
            give_up_after: TimeDelta::hours(24),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failure.
    pub fn wait(&self, attempt: u32) -> TimeDelta {
        let doublings = attempt.saturating_sub(1).min(30);
        self.first
            .checked_mul(1 << doublings)
            .map_or(self.max, |w| w.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 8, 0, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn acme() -> CompanyId {
        CompanyId::parse("acme").unwrap()
    }

    fn attempt(p: &Progress, seq: u64, min: i64, outcome: Outcome) -> Delivery {
        Delivery {
            company: acme(),
            seq,
            attempt: p.attempt(seq),
            at: at(min),
            outcome,
        }
    }

    fn failed() -> Outcome {
        Outcome::Failed {
            status: Some(503),
            error: "unavailable".into(),
        }
    }

    #[test]
    fn urls_and_secrets_are_checked() {
        let new = |url: &str, secret: &str| Webhook::new(acme(), url, secret, at(0));
        let ok = "0123456789abcdef";
        assert!(new("https://hooks.acme.jo/bawaba?x=1", ok).is_ok());
        assert!(new("http://127.0.0.1:8080/", ok).is_ok());
        for url in [
            "ftp://x/",
            "https://",
            "https://:80/",
            "https://u:p@x/",
            "x",
            "https://a b/",
        ] {
            let e = new(url, ok).unwrap_err();
            assert!(e.to_string().contains("url"), "{url}: {e}");
        }
        for secret in ["short", &"x".repeat(257), "with a space 0123456"] {
            let e = new("https://x/", secret).unwrap_err();
            assert!(e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn waits_double_up_to_the_longest() {
        let p = RetryPolicy::default();
        let secs: Vec<i64> = (1..=11).map(|n| p.wait(n).num_seconds()).collect();
        assert_eq!(
            secs,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(p.wait(u32::MAX), p.max);
    }

    #[test]
    fn a_failure_waits_and_a_delivery_moves_the_cursor_on() {
        let policy = RetryPolicy::default();
        let p = Progress::default();
        assert!(p.due(at(0)));
        let p = p.after(&attempt(&p, 1, 0, failed()), &policy);
        assert_eq!(p.cursor, 0);
        assert!(!p.due(at(0)));
        assert!(p.due(at(0) + TimeDelta::seconds(10)));
        assert_eq!(p.attempt(1), 2);
        let p = p.after(&attempt(&p, 1, 1, failed()), &policy);
        let f = p.failing.clone().unwrap();
        assert_eq!((f.first_at, f.attempts), (at(0), 2));
        assert_eq!(f.next_at, at(1) + TimeDelta::seconds(20));
        let p = p.after(
            &attempt(&p, 1, 2, Outcome::Delivered { status: 204 }),
            &policy,
        );
        assert_eq!(
            p,
            Progress {
                cursor: 1,
                failing: None
            }
        );
        assert_eq!(p.attempt(2), 1);
    }

    #[test]
    fn an_event_failing_for_a_day_is_given_up() {
        let policy = RetryPolicy::default();
        let p = Progress::default();
        assert!(!p.gives_up(1, at(0), &policy), "a first failure is retried");
        let p = p.after(&attempt(&p, 1, 0, failed()), &policy);
        assert!(!p.gives_up(1, at(24 * 60 - 1), &policy));
        assert!(p.gives_up(1, at(24 * 60), &policy));
        assert!(
            !p.gives_up(2, at(24 * 60), &policy),
            "another event starts afresh"
        );
        let gave_up = Outcome::GaveUp {
            status: None,
            error: "refused".into(),
        };
        let p = p.after(&attempt(&p, 1, 24 * 60, gave_up), &policy);
        assert_eq!(
            p,
            Progress {
                cursor: 1,
                failing: None
            }
        );
    }
}
