//! The answer of a check: allowed or not, the quota it was measured against, the capacity left,
//! when the bucket is full again and, when refused, how long to wait.

use std::time::Duration;

use crate::class::RateClass;

/// Where a [`Decision`] came from. Anything but [`Limiter`](DecisionSource::Limiter) means the
/// limiter was degraded; export it as a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecisionSource {
    /// The configured backend decided, with the key's own state.
    Limiter,
    /// The memory limiter was at its key cap and this key was not tracked yet: the decision used
    /// the class's shared overflow bucket (see [`MemoryRateLimiter`](crate::MemoryRateLimiter)).
    Overflow,
    /// The shared store was unreachable and the policy is fail-open: allowed without counting.
    FailOpen,
    /// The shared store was unreachable and the policy is fail-closed: refused.
    FailClosed,
    /// The shared store was unreachable and the local fallback limiter decided.
    LocalFallback,
}

/// The answer of a rate-limit check.
///
/// ```
/// use agency_ratelimit::{ClassConfig, Decision, RateClass};
/// use std::time::Duration;
/// let class = RateClass::new("api", ClassConfig::per_minute(100)).unwrap();
/// let ok = Decision::allowed(&class, 99, Duration::from_millis(600));
/// assert!(ok.is_allowed());
/// assert_eq!(ok.retry_after(), None);
/// let no = Decision::refused(&class, 0, Duration::from_secs(60), Duration::from_millis(400));
/// assert_eq!(no.retry_after(), Some(Duration::from_millis(400)));
/// assert_eq!(no.retry_after_secs(), Some(1)); // rounded up, never 0
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    allowed: bool,
    limit: u32,
    window: Duration,
    burst: u32,
    remaining: u32,
    reset_after: Duration,
    retry_after: Option<Duration>,
    source: DecisionSource,
}

impl Decision {
    /// An allowed request under `class`, with `remaining` requests left at once and the bucket
    /// full again after `reset_after`.
    pub fn allowed(class: &RateClass, remaining: u32, reset_after: Duration) -> Self {
        Self {
            allowed: true,
            limit: class.limit(),
            window: class.window(),
            burst: class.burst(),
            remaining: remaining.min(class.burst()),
            reset_after,
            retry_after: None,
            source: DecisionSource::Limiter,
        }
    }

    /// A refused request under `class`: the same request may be allowed after `retry_after`.
    pub fn refused(
        class: &RateClass,
        remaining: u32,
        reset_after: Duration,
        retry_after: Duration,
    ) -> Self {
        Self {
            allowed: false,
            limit: class.limit(),
            window: class.window(),
            burst: class.burst(),
            remaining: remaining.min(class.burst()),
            reset_after,
            retry_after: Some(retry_after),
            source: DecisionSource::Limiter,
        }
    }

    /// The same decision, marked as coming from `source`.
    ///
    /// ```
    /// # use agency_ratelimit::{ClassConfig, Decision, DecisionSource, RateClass};
    /// # let class = RateClass::new("api", ClassConfig::per_minute(1)).unwrap();
    /// let d = Decision::allowed(&class, 0, Default::default()).with_source(DecisionSource::FailOpen);
    /// assert_eq!(d.source(), DecisionSource::FailOpen);
    /// ```
    #[must_use]
    pub fn with_source(mut self, source: DecisionSource) -> Self {
        self.source = source;
        self
    }

    /// Whether the request may go ahead.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// The class's quota: requests per [`window`](Self::window) in steady state.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The class's quota window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The class's burst: the most requests allowed at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Requests that would be allowed right now, after this decision (0..=burst).
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// How long until the key's bucket is full again (its state is then indistinguishable from a
    /// fresh key). An upper bound: the memory backend rounds it up to a whole emission interval.
    pub fn reset_after(&self) -> Duration {
        self.reset_after
    }

    /// When refused: the time after which the same request is allowed if nothing else is spent
    /// under the key in between. `None` when allowed.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// [`retry_after`](Self::retry_after) in whole seconds for the `Retry-After` header: rounded
    /// up and at least 1, so a client that obeys it is never early.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| ceil_secs(d).max(1))
    }

    /// Where the decision came from.
    pub fn source(&self) -> DecisionSource {
        self.source
    }
}

/// Whole seconds, rounded up.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClassConfig;

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let class = RateClass::new("a", ClassConfig::per_minute(1)).unwrap();
        let secs = |d| Decision::refused(&class, 0, d, d).retry_after_secs();
        assert_eq!(secs(Duration::ZERO), Some(1));
        assert_eq!(secs(Duration::from_nanos(1)), Some(1));
        assert_eq!(secs(Duration::from_secs(1)), Some(1));
        assert_eq!(secs(Duration::from_millis(1001)), Some(2));
        assert_eq!(
            Decision::allowed(&class, 0, Duration::ZERO).retry_after_secs(),
            None
        );
    }

    #[test]
    fn remaining_never_exceeds_burst() {
        let class = RateClass::new("a", ClassConfig::per_minute(3)).unwrap();
        assert_eq!(Decision::allowed(&class, 10, Duration::ZERO).remaining(), 3);
    }
}
