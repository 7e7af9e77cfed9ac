//! Injected time: every component of this crate that compares against "now" (token issuer and
//! verifier, sessions, revocation, API keys, tickets, webhook signatures) reads it from a
//! [`Clock`], so tests move time instead of sleeping and a whole process can share one source.
//!
//! Guarantees: [`SystemClock`] is the operating system's UTC wall clock; [`ManualClock`] only
//! moves when told to, and every clone of one `ManualClock` sees the same time (as governor's
//! fake clock). Both are cheap to share behind an `Arc<dyn Clock>`.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current UTC time.
///
/// Object safe: components hold an `Arc<dyn Clock>` so the clock is chosen at run time.
///
/// ```
/// use agency_auth::{Clock, SystemClock};
///
/// let before = time::OffsetDateTime::now_utc();
/// assert!(SystemClock.now() >= before);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's wall clock, the default of every component.
///
/// ```
/// use agency_auth::{Clock, SystemClock};
/// assert_eq!(SystemClock.now().offset(), time::UtcOffset::UTC);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until moved: for tests and simulations.
///
/// Clones share one time, so the copy handed to a component and the copy a test keeps move
/// together.
///
/// ```
/// use std::time::Duration;
/// use agency_auth::{Clock, ManualClock};
/// use time::macros::datetime;
///
/// let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
/// let shared = clock.clone();
/// clock.advance(Duration::from_millis(1_500));
/// assert_eq!(shared.now(), datetime!(2026-01-01 00:00:01.5 UTC));
/// clock.set(datetime!(2030-06-01 12:00 UTC));
/// assert_eq!(shared.now(), datetime!(2030-06-01 12:00 UTC));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock showing `start` (converted to UTC).
    #[must_use]
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start.to_offset(time::UtcOffset::UTC))),
        }
    }

    /// A clock showing the system time at the moment of the call.
    #[must_use]
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// Moves the clock forward by `by` (saturating at the largest representable time).
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now
            .checked_add(by.try_into().unwrap_or(time::Duration::MAX))
            .unwrap_or(*now);
    }

    /// Sets the clock to `to`, which may be earlier than now (to test clocks that step back).
    pub fn set(&self, to: OffsetDateTime) {
        *self.lock() = to.to_offset(time::UtcOffset::UTC);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A poisoned lock only means a test panicked while holding it; the time is still valid.
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

/// The clock every component uses unless given another: the system clock.
pub(crate) fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_saturates_instead_of_panicking() {
        let clock = ManualClock::new(datetime!(9999-12-31 23:59:59 UTC));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), datetime!(9999-12-31 23:59:59 UTC));
    }

    #[test]
    fn manual_clock_converts_to_utc() {
        let clock = ManualClock::new(datetime!(2026-01-01 02:00 +02:00));
        assert_eq!(clock.now().offset(), time::UtcOffset::UTC);
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
    }
}
