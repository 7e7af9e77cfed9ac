//! The in-memory limiter: governor's GCRA per class, over a bounded key store.
//!
//! # Memory bound
//!
//! Each class tracks at most its cap of keys ([`ClassMemoryOptions::max_keys`], default
//! [`MemoryOptions::max_keys_per_class`]). A key is stored as the 64-bit SipHash-1-3 of its text
//! under a per-process random key (the hash std's `HashMap` and bare governor use), so a state
//! costs the same few bytes whatever the key's length. Two keys sharing a hash would share a
//! bucket: that can only make limiting stricter, never looser; by chance it happens with
//! probability about n²/2^65 (3·10^-10 for 100,000 keys), and on purpose it needs about 2^64
//! requests, since the SipHash key is secret and random per process.
//!
//! # Behaviour at the cap
//!
//! Chosen per class ([`AtCapacity`]). By default ([`AtCapacity::ReplaceNearFresh`]) a new key
//! takes the place of the oldest tracked key that has spent at most one request's worth: an
//! exhausted key is never even a candidate, so no flood can reset one, and a flood of made-up
//! keys (usernames, webhook source names) cannot lock new legitimate clients out of the class.
//! A replaced key that comes back has gained at most that one request, about once per cap new
//! keys. When no such key is found, or with [`AtCapacity::SharedOverflow`], the new key is
//! decided by **one overflow bucket shared by all such keys** and the decision is marked
//! [`DecisionSource::Overflow`].
//!
//! Idle keys leave the store on a schedule ([`MemoryRateLimiter::spawn_evictor`]) and, when a
//! class overflows, at most once per [`MemoryOptions::sweep_interval`] on the request path.
//! Only states indistinguishable from a fresh bucket are removed, so eviction never changes a
//! decision.
//!
//! # Decisions
//!
//! Read through governor's public [`StateInformationMiddleware`]: an allowed decision's
//! `remaining` is governor's `remaining_burst_capacity`, and `reset_after` is the capacity spent,
//! in whole emission intervals; a refused decision's `retry_after` is governor's
//! `NotUntil::wait_time_from` the clock reading taken after the refusal.

mod options;
mod store;

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use governor::Quota;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};

pub use self::options::{AtCapacity, ClassMemoryOptions, MemoryOptions};
use self::store::{BoundedStore, KeyHasher, Route, StoreKey, StoreStats};
use crate::class::{RateClass, RateClasses};
use crate::decision::{Decision, DecisionSource};
use crate::error::{ConfigError, RateLimitError};
use crate::key::RateLimitKey;
use crate::limiter::{Mode, RateLimiter};

type Governor<C> = governor::RateLimiter<StoreKey, BoundedStore<C>, C, StateInformationMiddleware>;

struct ClassLimiter<C: Clock> {
    class: RateClass,
    governor: Governor<C>,
    /// The class's effective cap.
    max_keys: usize,
    /// Nanoseconds (on the limiter's clock) of the last sweep; u64::MAX before the first.
    last_sweep: AtomicU64,
    /// Shared with the store (governor keeps the store private).
    stats: Arc<StoreStats>,
}

struct Inner<C: Clock> {
    classes: RateClasses,
    limiters: Vec<ClassLimiter<C>>,
    options: MemoryOptions,
    hasher: KeyHasher,
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
        options.validate(&classes)?;
        Ok(Self::build(classes, options, clock))
    }

    fn build(classes: RateClasses, options: MemoryOptions, clock: C) -> Self {
        let limiters = classes
            .iter()
            .map(|class| {
                let own = options.for_class(class.name());
                let max_keys = own.max_keys.unwrap_or(options.max_keys_per_class).max(1);
                let burst = NonZeroU32::new(class.burst()).unwrap_or(NonZeroU32::MIN);
                // `emission_interval` is at least 1 µs by construction of `RateClass`.
                let quota = Quota::with_period(class.emission_interval())
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(burst);
                let near_fresh_ns =
                    u64::try_from(class.emission_interval().as_nanos()).unwrap_or(u64::MAX);
                // The store reads its clock origin before governor reads its own (see the store).
                let store =
                    BoundedStore::new(max_keys, own.at_capacity, near_fresh_ns, clock.clone());
                let stats = store.stats();
                let governor: Governor<C> =
                    governor::RateLimiter::<_, _, _, NoOpMiddleware<_>>::new(
                        quota,
                        store,
                        clock.clone(),
                    )
                    .with_middleware::<StateInformationMiddleware>();
                ClassLimiter {
                    class: class.clone(),
                    governor,
                    max_keys,
                    last_sweep: AtomicU64::new(u64::MAX),
                    stats,
                }
            })
            .collect();
        let start = clock.now();
        Self {
            inner: Arc::new(Inner {
                classes,
                limiters,
                options,
                hasher: KeyHasher::new(),
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
        self.decide(class, key, cost, Mode::Spend)
    }

    /// Decides `cost` cells of `key` under `class` exactly as [`check_sync`](Self::check_sync)
    /// would now, and spends nothing: not the key's capacity, not a slot for a new key. For
    /// "count only the failures": peek before the attempt, check after a failure.
    ///
    /// A key the class does not track is peeked as it would start if tracked now.
    ///
    /// # Errors
    ///
    /// As [`check_sync`](Self::check_sync).
    ///
    /// ```
    /// use agency_ratelimit::{MemoryRateLimiter, RateLimitKey, RateClasses};
    /// let limiter = MemoryRateLimiter::new(RateClasses::default());
    /// let key = RateLimitKey::account("alice");
    /// for _ in 0..3 {
    ///     assert_eq!(limiter.peek_sync("auth", &key, 1).unwrap().remaining(), 9);
    /// }
    /// assert_eq!(limiter.tracked_keys("auth"), Some(0));
    /// limiter.check_sync("auth", &key, 1).unwrap();
    /// assert_eq!(limiter.peek_sync("auth", &key, 1).unwrap().remaining(), 8);
    /// ```
    pub fn peek_sync(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        self.decide(class, key, cost, Mode::Peek)
    }

    /// [`check_sync`](Self::check_sync) or [`peek_sync`](Self::peek_sync), as `mode` says.
    pub(crate) fn decide(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
        mode: Mode,
    ) -> Result<Decision, RateLimitError> {
        let limiter = self.class_limiter(class)?;
        limiter.class.check_cost(cost)?;
        let n = NonZeroU32::new(cost).ok_or(RateLimitError::ZeroCost)?;
        let store_key = StoreKey::new(&self.inner.hasher, key, mode);
        let outcome = limiter
            .governor
            .check_key_n(&store_key, n)
            // Unreachable: the cost was checked against the burst above.
            .map_err(|_| RateLimitError::CostExceedsBurst {
                class: class.to_owned(),
                cost,
                burst: limiter.class.burst(),
            })?;
        let class = &limiter.class;
        let decision = match outcome {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let spent = class.burst().saturating_sub(remaining);
                Decision::allowed(
                    class,
                    remaining,
                    class.emission_interval().saturating_mul(spent),
                )
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.governor.clock().now());
                Self::refused(class, cost, wait)
            }
        };
        if store_key.route() == Route::Overflow {
            self.sweep_if_due(limiter);
            return Ok(decision.with_source(DecisionSource::Overflow));
        }
        Ok(decision)
    }

    /// A refusal of `cost` cells that conform again after `wait`. governor refused because the
    /// key's TAT is more than `tau - (cost - 1) T` ahead, so its bucket is full again after
    /// `wait + (burst - cost) T`, and `cost T - wait` of capacity is there now.
    fn refused(class: &RateClass, cost: u32, wait: Duration) -> Decision {
        let t = class.emission_interval();
        let available = t.saturating_mul(cost).saturating_sub(wait);
        let remaining = available.as_nanos() / t.as_nanos().max(1);
        let reset_after = wait.saturating_add(t.saturating_mul(class.burst() - cost));
        Decision::refused(
            class,
            u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_after,
            wait,
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
            if tracked >= limiter.max_keys {
                tracing::warn!(
                    class = limiter.class.name(),
                    tracked,
                    evicted,
                    "rate-limit class is at its key cap with no key to replace; new keys share \
                     the overflow bucket"
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
            .map(|l| l.stats.overflow_decisions.load(Ordering::Relaxed))
    }

    /// How many tracked keys of a class were replaced by new keys at its cap since start
    /// (see [`AtCapacity::ReplaceNearFresh`]).
    pub fn replaced_keys(&self, class: &str) -> Option<u64> {
        self.class_limiter(class)
            .ok()
            .map(|l| l.stats.replaced_keys.load(Ordering::Relaxed))
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

    async fn peek_n(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        self.peek_sync(class, key, cost)
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
    use governor::state::keyed::DefaultKeyedStateStore;

    /// The decisions through the bounded store equal what bare governor reports through its own
    /// middleware over its own store, on a clock whose origin is not the limiter's start (so a
    /// frame mix-up would show), with costs above 1; a peek before each check agrees with it.
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
            let peeked = ours.peek_sync("c", &key, cost).unwrap();
            let d = ours.check_sync("c", &key, cost).unwrap();
            assert_eq!(peeked, d, "step {i}");
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
