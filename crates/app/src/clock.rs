//! Where time comes from. The scheduler and the gate agents never read the system clock
//! directly: they are given a [`Clock`] — the real one ([`SystemClock`]) or a simulated one
//! ([`SimClock`]) that the simulator sets event by event.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// A future returned by [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of time that can also wait for an instant of its own time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once [`Clock::now`] has reached `t` (at once if it already has).
    fn sleep_until(&self, t: DateTime<Utc>) -> Sleep;
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> Sleep {
        let wait = (t - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A simulated clock: it stands still until [`SimClock::set`] or [`SimClock::advance`] moves
/// it forward; sleepers wake when it passes their instant. Cloning shares the same clock.
#[derive(Clone)]
pub struct SimClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl fmt::Debug for SimClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimClock")
            .field("now", &self.now())
            .finish()
    }
}

impl SimClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves the clock to `t`; a clock never goes back (an earlier `t` is ignored).
    pub fn set(&self, t: DateTime<Utc>) {
        self.now.send_if_modified(|now| {
            if t > *now {
                *now = t;
                true
            } else {
                false
            }
        });
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: chrono::TimeDelta) {
        self.set(self.now() + d);
    }

    /// The current simulated instant.
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        SimClock::now(self)
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> Sleep {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // An error means the clock was dropped: time stops, so the sleeper never wakes.
            if rx.wait_for(|now| *now >= t).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[tokio::test]
    async fn sim_clock_wakes_sleepers_when_advanced_past_their_instant() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let clock = SimClock::new(start);
        let sleep = clock.sleep_until(start + TimeDelta::seconds(10));
        let task = tokio::spawn(sleep);
        clock.advance(TimeDelta::seconds(5));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!task.is_finished(), "woke before its instant");
        clock.set(start + TimeDelta::seconds(2)); // never backwards
        assert_eq!(clock.now(), start + TimeDelta::seconds(5));
        clock.advance(TimeDelta::seconds(5));
        tokio::time::timeout(std::time::Duration::from_secs(1), task)
            .await
            .expect("woke once the clock passed its instant")
            .expect("joined");
        // An instant already passed resolves at once.
        tokio::time::timeout(
            std::time::Duration::from_millis(100),
            clock.sleep_until(start),
        )
        .await
        .expect("immediate");
    }

    #[tokio::test]
    async fn system_clock_sleeps_the_real_difference() {
        let t0 = std::time::Instant::now();
        SystemClock
            .sleep_until(Utc::now() + TimeDelta::milliseconds(30))
            .await;
        assert!(t0.elapsed() >= std::time::Duration::from_millis(25));
    }
}
