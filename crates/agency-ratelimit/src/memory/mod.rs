//! The in-memory limiter: governor's GCRA per class, over a bounded key store.
//!
//! # Memory bound
//!
//! Each class tracks at most [`MemoryOptions::max_keys_per_class`] keys. A key is stored as the
//! 64-bit SipHash-1-3 of its text under a per-process random key (the hash std's `HashMap` and
//! bare governor use), so a state costs the same few bytes whatever the key's length. Two keys
//! sharing a hash would share a bucket: that can only make limiting stricter, never looser; by
//! chance it happens with probability about n²/2^65 (3·10^-10 for 100,000 keys), and on purpose
//! it needs about 2^64 requests, since the SipHash key is secret and random per process.
//!
//! # Behaviour at the cap
//!
//! When a class is full, a key it does not track yet is decided against **one overflow bucket
//! shared by all such keys** (with the class's quota), and the decision is marked
//! [`DecisionSource::Overflow`]. Nothing is evicted to make room. This is the safe choice:
//!
//! * evicting a tracked key to admit a new one would let a flood of fresh keys reset an attacker's
//!   (or anyone's) exhausted bucket, which is exactly what a limiter must never allow;
//! * refusing every new key outright would let the flood deny service to every new client;
//!   the overflow bucket still lets the class's quota through, while bounding what the flood
//!   itself gets to one quota in total.
//!
//! Idle keys leave the store on a schedule ([`MemoryRateLimiter::spawn_evictor`]) and, when a
//! class hits its cap, at most once per [`MemoryOptions::sweep_interval`] on the request path.
//! Only states indistinguishable from a fresh bucket are removed, so eviction never changes a
//! decision.
//!
//! # Remaining capacity
//!
//! governor's own clock reading and the key's theoretical arrival time (TAT) are recorded on the
//! way through governor's check (a clock wrapper and the store record them on the thread), so a
//! decision reads the clock once, like bare governor. Allowed decisions compute governor's
//! `remaining_burst_capacity` formula from them; `reset_after` is derived from it and rounded up
//! to a whole emission interval. Refused decisions derive remaining, reset and retry exactly from
//! the TAT governor refused against, counted from the reading governor decided at.

mod store;

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use governor::Quota;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use serde::{Deserialize, Serialize};

use self::store::{BoundedStore, KeyHasher, TapClock};
use crate::class::{RateClass, RateClasses};
use crate::decision::{Decision, DecisionSource};
use crate::error::{ConfigError, RateLimitError};
use crate::key::RateLimitKey;
use crate::limiter::RateLimiter;

/// Options of the memory limiter.
///
/// ```
/// let o: agency_ratelimit::MemoryOptions = toml::from_str("max_keys_per_class = 5000").unwrap();
/// assert_eq!(o.max_keys_per_class, 5000);
/// assert_eq!(o.sweep_interval_secs, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryOptions {
    /// The most keys tracked per class (default 100 000). Memory is about 40 bytes per key
    /// (see docs/benchmarks.md).
    pub max_keys_per_class: usize,
    /// How often idle keys are evicted, in seconds (default 10): the evictor task's period and
    /// the least time between two sweeps triggered by a full class.
    pub sweep_interval_secs: u64,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            max_keys_per_class: 100_000,
            sweep_interval_secs: 10,
        }
    }
}

impl MemoryOptions {
    /// The sweep interval as a duration.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs)
    }
}

type Governor<C> = governor::RateLimiter<
    RateLimitKey,
    BoundedStore,
    TapClock<C>,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

struct ClassLimiter<C: Clock> {
    class: RateClass,
    governor: Governor<C>,
    /// Nanoseconds (on the limiter's clock) of the last sweep; u64::MAX before the first.
    last_sweep: AtomicU64,
    /// The allowed decision of this class, to fill in (kept ready: the hot path only copies it).
    allowed: Decision,
    /// Shared with the store (governor keeps the store private).
    overflow_decisions: Arc<AtomicU64>,
    /// The emission interval and tolerance in nanoseconds, as governor uses them.
    t_ns: u64,
    tau_ns: u64,
    /// Divides by `t_ns` with a multiplication.
    per_t: Reciprocal,
    /// governor's start, on the tap clock (readings minus this are governor's `t0`).
    start_ns: u64,
}

/// Exact division of `u64`s by a fixed divisor, with a multiplication and at most a few
/// corrections instead of a hardware division (the hot path divides by `T` once per check).
#[derive(Debug, Clone, Copy)]
struct Reciprocal {
    d: u64,
    /// `floor((2^64 - 1) / d)`: `n * m / 2^64` never overestimates `n / d`, and underestimates
    /// it by at most 2.
    m: u64,
}

impl Reciprocal {
    fn new(d: u64) -> Self {
        let d = d.max(1);
        Self { d, m: u64::MAX / d }
    }

    /// `n / d`, rounded down, exactly.
    #[inline]
    fn div(self, n: u64) -> u64 {
        let mut q = u64::try_from((u128::from(n) * u128::from(self.m)) >> 64).unwrap_or(0);
        // `q * d <= n`: q never overestimates.
        let mut r = n - q * self.d;
        while r >= self.d {
            q += 1;
            r -= self.d;
        }
        q
    }
}

struct Inner<C: Clock> {
    classes: RateClasses,
    limiters: Vec<ClassLimiter<C>>,
    options: MemoryOptions,
    clock: C,
    start: C::Instant,
}

/// A rate limiter in this process's memory: GCRA from governor, bounded per class.
///
/// Cheap to clone (an `Arc`). Generic over governor's [`Clock`] so tests can drive time with
/// [`governor::clock::FakeRelativeClock`].
///
/// ```
/// use agency_ratelimit::{MemoryRateLimiter, RateLimitKey, RateLimiter, RateClasses};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let limiter = MemoryRateLimiter::new(RateClasses::default());
/// let key = RateLimitKey::principal("user-1");
/// for _ in 0..5 {
///     assert!(limiter.check("export", &key).await.unwrap().is_allowed());
/// }
/// let refused = limiter.check("export", &key).await.unwrap();
/// assert!(!refused.is_allowed());
/// assert_eq!(refused.retry_after_secs(), Some(12)); // one export every 12 s
/// assert!(limiter.check("nope", &key).await.is_err()); // unknown class: an error, never "allowed"
/// # });
/// ```
pub struct MemoryRateLimiter<C: Clock = DefaultClock> {
    inner: Arc<Inner<C>>,
}

impl<C: Clock> Clone for MemoryRateLimiter<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Clock> fmt::Debug for MemoryRateLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tracked: Vec<_> = self
            .inner
            .limiters
            .iter()
            .map(|l| (l.class.name(), l.governor.len()))
            .collect();
        f.debug_struct("MemoryRateLimiter")
            .field("classes", &self.inner.classes)
            .field("options", &self.inner.options)
            .field("tracked_keys", &tracked)
            .finish_non_exhaustive()
    }
}

impl MemoryRateLimiter<DefaultClock> {
    /// A limiter for `classes` with the default [`MemoryOptions`].
    pub fn new(classes: RateClasses) -> Self {
        // The default options are valid: nothing to check (and `build` clamps the cap to >= 1).
        Self::build(classes, MemoryOptions::default(), DefaultClock::default())
    }

    /// A limiter for `classes` with `options`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroKeyCap`] or [`ConfigError::ZeroDuration`].
    ///
    /// ```
    /// use agency_ratelimit::{MemoryOptions, MemoryRateLimiter, RateClasses};
    /// let options = MemoryOptions { max_keys_per_class: 10_000, ..Default::default() };
    /// let limiter = MemoryRateLimiter::with_options(RateClasses::default(), options).unwrap();
    /// assert_eq!(limiter.tracked_keys("api"), Some(0));
    /// ```
    pub fn with_options(classes: RateClasses, options: MemoryOptions) -> Result<Self, ConfigError> {
        Self::with_clock(classes, options, DefaultClock::default())
    }
}

impl<C: Clock + Clone> MemoryRateLimiter<C> {
    /// A limiter with an explicit clock (for tests, [`governor::clock::FakeRelativeClock`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroKeyCap`] or [`ConfigError::ZeroDuration`].
    ///
    /// ```
    /// use agency_ratelimit::{MemoryOptions, MemoryRateLimiter, RateClasses};
    /// use governor::clock::FakeRelativeClock;
    /// let clock = FakeRelativeClock::default();
    /// let limiter = MemoryRateLimiter::with_clock(RateClasses::default(), MemoryOptions::default(), clock.clone()).unwrap();
    /// clock.advance(std::time::Duration::from_secs(1));
    /// # let _ = limiter;
    /// ```
    pub fn with_clock(
        classes: RateClasses,
        options: MemoryOptions,
        clock: C,
    ) -> Result<Self, ConfigError> {
        if options.max_keys_per_class == 0 {
            return Err(ConfigError::ZeroKeyCap);
        }
        if options.sweep_interval_secs == 0 {
            return Err(ConfigError::ZeroDuration("sweep_interval_secs"));
        }
        Ok(Self::build(classes, options, clock))
    }

    fn build(classes: RateClasses, options: MemoryOptions, clock: C) -> Self {
        let max_keys = options.max_keys_per_class.max(1);
        let hasher = KeyHasher::new();
        let limiters = classes
            .iter()
            .map(|class| {
                let t = class.emission_interval();
                let burst = NonZeroU32::new(class.burst()).unwrap_or(NonZeroU32::MIN);
                // `emission_interval` is at least 1 µs by construction of `RateClass`.
                let quota = Quota::with_period(t)
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(burst);
                let store = BoundedStore::new(max_keys, hasher.clone());
                let overflow_decisions = store.overflow_counter();
                // governor reads its start from the clock while it is built: the tap records it.
                store::record_now(u64::MAX);
                let governor: Governor<C> =
                    governor::RateLimiter::new(quota, store, TapClock::new(clock.clone()));
                let mut start_ns = store::last_now();
                if start_ns == u64::MAX {
                    // Not reached with governor 0.10; read it now rather than trust a stale value.
                    let _ = governor.clock().now();
                    start_ns = store::last_now();
                }
                let t_ns = class.emission_interval_us() * 1_000;
                ClassLimiter {
                    class: class.clone(),
                    governor,
                    last_sweep: AtomicU64::new(u64::MAX),
                    allowed: Decision::allowed(class, class.burst(), Duration::ZERO),
                    overflow_decisions,
                    t_ns,
                    tau_ns: t_ns * u64::from(burst.get() - 1),
                    per_t: Reciprocal::new(t_ns),
                    start_ns,
                }
            })
            .collect();
        let start = clock.now();
        Self {
            inner: Arc::new(Inner {
                classes,
                limiters,
                options,
                clock,
                start,
            }),
        }
    }
}

impl<C: Clock> MemoryRateLimiter<C> {
    fn class_limiter(&self, class: &str) -> Result<&ClassLimiter<C>, RateLimitError> {
        self.inner
            .limiters
            .iter()
            .find(|l| l.class.name() == class)
            .ok_or_else(|| RateLimitError::UnknownClass(class.to_owned()))
    }

    /// Checks `cost` cells of `key` under `class`, synchronously. The async
    /// [`RateLimiter`] methods call this; use it directly where no runtime is at hand.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::UnknownClass`], [`RateLimitError::ZeroCost`] or
    /// [`RateLimitError::CostExceedsBurst`].
    ///
    /// ```
    /// use agency_ratelimit::{MemoryRateLimiter, RateLimitKey, RateClasses};
    /// let limiter = MemoryRateLimiter::new(RateClasses::default());
    /// let d = limiter.check_sync("auth", &RateLimitKey::principal("u"), 4).unwrap();
    /// assert_eq!(d.remaining(), 6);
    /// ```
    pub fn check_sync(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        let limiter = self.class_limiter(class)?;
        let outcome = if cost == 1 {
            limiter.governor.check_key(key)
        } else {
            limiter.class.check_cost(cost)?;
            let n = NonZeroU32::new(cost).ok_or(RateLimitError::ZeroCost)?;
            // `InsufficientCapacity` is impossible: the cost was checked against the burst.
            limiter
                .governor
                .check_key_n(key, n)
                .map_err(|_| RateLimitError::CostExceedsBurst {
                    class: class.to_owned(),
                    cost,
                    burst: limiter.class.burst(),
                })?
        };
        // The clock reading governor decided at and the key's theoretical arrival time (TAT),
        // both recorded on this thread during the check above.
        let (now, tat, overflowed) = store::take_tap();
        let t0 = now.saturating_sub(limiter.start_ns);
        let decision = match outcome {
            Ok(()) => {
                // governor's `remaining_burst_capacity`: `min(t0 + tau + T - tat, tau + T) / T`,
                // with `tat >= t0 + T` after an allowed cell.
                let capacity = limiter.tau_ns + limiter.t_ns;
                let gap = tat.saturating_sub(t0);
                let remaining = limiter.per_t.div(capacity.saturating_sub(gap));
                let remaining = u32::try_from(remaining).unwrap_or(u32::MAX);
                let used = u64::from(limiter.class.burst().saturating_sub(remaining));
                limiter
                    .allowed
                    .with_capacity(remaining, Duration::from_nanos(used * limiter.t_ns))
            }
            Err(_) => Self::refused(limiter, t0, tat, cost),
        };
        if overflowed {
            self.sweep_if_due(limiter);
            return Ok(decision.with_source(DecisionSource::Overflow));
        }
        Ok(decision)
    }

    // Kept out of line: the allowed path stays small.
    #[inline(never)]
    fn refused(limiter: &ClassLimiter<C>, t0: u64, tat: u64, cost: u32) -> Decision {
        // governor refused because `t0 < tat + (cost - 1) T - tau`: the same request conforms
        // from that instant on. Counted from the reading governor decided at, which is no later
        // than the moment the caller receives the decision: a client that waits it out is never
        // early.
        let extra = limiter.t_ns.saturating_mul(u64::from(cost - 1));
        let earliest = tat.saturating_add(extra).saturating_sub(limiter.tau_ns);
        let wait_ns = earliest.saturating_sub(t0);
        let tat_gap = tat.saturating_sub(t0);
        let remaining = limiter
            .per_t
            .div((limiter.tau_ns + limiter.t_ns).saturating_sub(tat_gap));
        Decision::refused(
            &limiter.class,
            u32::try_from(remaining).unwrap_or(u32::MAX),
            Duration::from_nanos(tat_gap),
            Duration::from_nanos(wait_ns),
        )
    }

    fn now_ns(&self) -> u64 {
        u64::from(self.inner.clock.now().duration_since(self.inner.start))
    }

    /// A full class sweeps itself, at most once per sweep interval.
    #[cold]
    #[inline(never)]
    fn sweep_if_due(&self, limiter: &ClassLimiter<C>) {
        let now = self.now_ns();
        let last = limiter.last_sweep.load(Ordering::Acquire);
        let interval = self.inner.options.sweep_interval().as_nanos();
        let due = last == u64::MAX || u128::from(now.saturating_sub(last)) >= interval;
        if due
            && limiter
                .last_sweep
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let evicted = Self::sweep(limiter);
            let tracked = limiter.governor.len();
            if tracked >= self.inner.options.max_keys_per_class {
                tracing::warn!(
                    class = limiter.class.name(),
                    tracked,
                    evicted,
                    "rate-limit class is at its key cap; new keys share the overflow bucket"
                );
            }
        }
    }

    fn sweep(limiter: &ClassLimiter<C>) -> usize {
        let before = limiter.governor.len();
        limiter.governor.retain_recent();
        let after = limiter.governor.len();
        let evicted = before.saturating_sub(after);
        // Give memory back after a flood has drained, not on every sweep.
        if evicted > 0 && after < before / 2 {
            limiter.governor.shrink_to_fit();
        }
        evicted
    }

    /// Evicts every idle key of every class now (keys whose bucket is full again) and returns how
    /// many were evicted. Eviction never changes a decision.
    ///
    /// ```
    /// use agency_ratelimit::{MemoryOptions, MemoryRateLimiter, RateLimitKey, RateClasses};
    /// use governor::clock::FakeRelativeClock;
    /// let clock = FakeRelativeClock::default();
    /// let limiter = MemoryRateLimiter::with_clock(RateClasses::default(), MemoryOptions::default(), clock.clone()).unwrap();
    /// limiter.check_sync("api", &RateLimitKey::principal("u"), 1).unwrap();
    /// assert_eq!(limiter.evict_idle(), 0); // still limited: kept
    /// clock.advance(std::time::Duration::from_secs(61));
    /// assert_eq!(limiter.evict_idle(), 1);
    /// assert_eq!(limiter.tracked_keys("api"), Some(0));
    /// ```
    pub fn evict_idle(&self) -> usize {
        let now = self.now_ns();
        self.inner
            .limiters
            .iter()
            .map(|l| {
                l.last_sweep.store(now, Ordering::Release);
                Self::sweep(l)
            })
            .sum()
    }

    /// The number of keys a class tracks now (`None` for an unknown class).
    pub fn tracked_keys(&self, class: &str) -> Option<usize> {
        self.class_limiter(class).ok().map(|l| l.governor.len())
    }

    /// How many decisions of a class used its shared overflow bucket since start.
    pub fn overflow_decisions(&self, class: &str) -> Option<u64> {
        self.class_limiter(class)
            .ok()
            .map(|l| l.overflow_decisions.load(Ordering::Relaxed))
    }

    /// The limiter's classes.
    pub fn classes(&self) -> &RateClasses {
        &self.inner.classes
    }

    /// The limiter's options.
    pub fn options(&self) -> &MemoryOptions {
        &self.inner.options
    }
}

impl<C> MemoryRateLimiter<C>
where
    C: Clock + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    /// Starts a Tokio task that evicts idle keys every [`MemoryOptions::sweep_interval`]. The task
    /// stops by itself once every clone of the limiter is dropped.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoRuntime`] outside a Tokio runtime.
    ///
    /// ```
    /// use agency_ratelimit::{MemoryRateLimiter, RateClasses};
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let limiter = MemoryRateLimiter::new(RateClasses::default());
    /// let task = limiter.spawn_evictor().unwrap();
    /// drop(limiter); // the task ends at its next tick
    /// # task.abort();
    /// # });
    /// ```
    pub fn spawn_evictor(&self) -> Result<tokio::task::JoinHandle<()>, ConfigError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let weak: Weak<Inner<C>> = Arc::downgrade(&self.inner);
        let period = self.inner.options.sweep_interval();
        Ok(runtime.spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let evicted = MemoryRateLimiter { inner }.evict_idle();
                tracing::debug!(evicted, "rate-limit idle keys evicted");
            }
        }))
    }
}

#[async_trait]
impl<C> RateLimiter for MemoryRateLimiter<C>
where
    C: Clock + Send + Sync,
    C::Instant: Send + Sync,
{
    async fn check_n(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        self.check_sync(class, key, cost)
    }

    fn classes(&self) -> &RateClasses {
        &self.inner.classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClassConfig, RateLimitConfig};
    use governor::clock::FakeRelativeClock;
    use governor::middleware::StateInformationMiddleware;
    use governor::state::keyed::DefaultKeyedStateStore;

    #[test]
    fn reciprocal_division_is_exact() {
        for d in [1u64, 2, 3, 7, 1_000, 8_571_429_000, u64::MAX / 3, u64::MAX] {
            let r = Reciprocal::new(d);
            for n in [
                0u64,
                1,
                d - 1,
                d,
                d.saturating_add(1),
                (d / 2).saturating_mul(3),
                u64::MAX / 2,
                u64::MAX - 1,
                u64::MAX,
            ] {
                assert_eq!(r.div(n), n / d, "{n} / {d}");
            }
        }
        let r = Reciprocal::new(1_000_000);
        let mut n = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            n = n.rotate_left(7).wrapping_mul(0x0100_0000_01b3);
            assert_eq!(r.div(n), n / 1_000_000);
        }
    }

    /// The decisions derived from the recorded clock reading and TAT equal what bare governor
    /// reports through its own middleware, on a clock whose origin is neither ours nor governor's
    /// start (so a frame mix-up would show), with costs above 1.
    #[test]
    fn decisions_match_bare_governors_own_figures() {
        let clock = FakeRelativeClock::default();
        clock.advance(Duration::from_secs(12_345));
        let classes = RateLimitConfig {
            classes: Default::default(),
        }
        .with_class("c", ClassConfig::per_window(5, 10).with_burst(3))
        .build()
        .unwrap();
        let class = classes.get("c").unwrap().clone();
        let ours = MemoryRateLimiter::with_clock(classes, MemoryOptions::default(), clock.clone())
            .unwrap();
        clock.advance(Duration::from_millis(777));
        let quota = Quota::with_period(class.emission_interval())
            .unwrap()
            .allow_burst(NonZeroU32::new(class.burst()).unwrap());
        let bare = governor::RateLimiter::<
            &str,
            DefaultKeyedStateStore<&str>,
            FakeRelativeClock,
            NoOpMiddleware<governor::nanos::Nanos>,
        >::new(
            quota,
            DefaultKeyedStateStore::<&str>::default(),
            clock.clone(),
        )
        .with_middleware::<StateInformationMiddleware>();
        let key = RateLimitKey::principal("k");
        let (mut allowed, mut refused) = (0, 0);
        for i in 0..2_000u64 {
            let cost = 1 + u32::try_from(i * 7 % 3).unwrap();
            let d = ours.check_sync("c", &key, cost).unwrap();
            match bare
                .check_key_n(&"k", NonZeroU32::new(cost).unwrap())
                .unwrap()
            {
                Ok(snapshot) => {
                    allowed += 1;
                    assert!(d.is_allowed(), "step {i}");
                    assert_eq!(d.remaining(), snapshot.remaining_burst_capacity());
                }
                Err(not_until) => {
                    refused += 1;
                    assert!(!d.is_allowed(), "step {i}");
                    assert_eq!(d.retry_after(), Some(not_until.wait_time_from(clock.now())));
                }
            }
            clock.advance(Duration::from_millis(i * 389 % 2_300));
        }
        assert!(allowed > 100 && refused > 100, "{allowed} / {refused}");
    }
}
