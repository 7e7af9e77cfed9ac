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
//! Allowed decisions use governor's `StateSnapshot::remaining_burst_capacity`; `reset_after` is
//! derived from it and rounded up to a whole emission interval (governor does not expose the
//! theoretical arrival time). Refused decisions derive remaining, reset and retry exactly from
//! governor's `NotUntil`.

mod store;

use std::fmt;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};
use governor::{NotUntil, Quota};
use serde::{Deserialize, Serialize};

use self::store::BoundedStore;
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

type Governor<C> = governor::RateLimiter<u64, BoundedStore, C, StateInformationMiddleware>;

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
}

/// Hashes rate-limit keys with SipHash-1-3 under a per-process random key.
struct KeyHasher(std::hash::RandomState);

impl KeyHasher {
    fn new() -> Self {
        Self(std::hash::RandomState::new())
    }

    fn hash(&self, key: &str) -> u64 {
        self.0.hash_one(key)
    }
}

struct Inner<C: Clock> {
    classes: RateClasses,
    limiters: Vec<ClassLimiter<C>>,
    hasher: KeyHasher,
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
        let limiters = classes
            .iter()
            .map(|class| {
                let t = class.emission_interval();
                let burst = NonZeroU32::new(class.burst()).unwrap_or(NonZeroU32::MIN);
                // `emission_interval` is at least 1 µs by construction of `RateClass`.
                let quota = Quota::with_period(t)
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(burst);
                let store = BoundedStore::new(max_keys);
                let overflow_decisions = store.overflow_counter();
                let governor = governor::RateLimiter::<
                    u64,
                    BoundedStore,
                    C,
                    NoOpMiddleware<C::Instant>,
                >::new(quota, store, clock.clone())
                .with_middleware::<StateInformationMiddleware>();
                let t_ns = class.emission_interval_us() * 1_000;
                ClassLimiter {
                    class: class.clone(),
                    governor,
                    last_sweep: AtomicU64::new(u64::MAX),
                    allowed: Decision::allowed(class, class.burst(), Duration::ZERO),
                    overflow_decisions,
                    t_ns,
                    tau_ns: t_ns * u64::from(burst.get() - 1),
                }
            })
            .collect();
        let start = clock.now();
        Self {
            inner: Arc::new(Inner {
                classes,
                limiters,
                hasher: KeyHasher::new(),
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
        let hashed = self.inner.hasher.hash(key.as_str());
        let outcome = if cost == 1 {
            limiter.governor.check_key(&hashed)
        } else {
            limiter.class.check_cost(cost)?;
            let n = NonZeroU32::new(cost).ok_or(RateLimitError::ZeroCost)?;
            // `InsufficientCapacity` is impossible: the cost was checked against the burst.
            limiter.governor.check_key_n(&hashed, n).map_err(|_| {
                RateLimitError::CostExceedsBurst {
                    class: class.to_owned(),
                    cost,
                    burst: limiter.class.burst(),
                }
            })?
        };
        let overflowed = store::take_overflow_marker();
        let decision = match outcome {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = u64::from(limiter.class.burst().saturating_sub(remaining));
                limiter
                    .allowed
                    .with_capacity(remaining, Duration::from_nanos(used * limiter.t_ns))
            }
            Err(not_until) => self.refused(limiter, &not_until, cost),
        };
        if overflowed {
            self.sweep_if_due(limiter);
            return Ok(decision.with_source(DecisionSource::Overflow));
        }
        Ok(decision)
    }

    // Kept out of line: the allowed path stays small.
    #[inline(never)]
    fn refused(
        &self,
        limiter: &ClassLimiter<C>,
        not_until: &NotUntil<C::Instant>,
        cost: u32,
    ) -> Decision {
        // Measured after the decision, so `retry_after` counts from no earlier than the moment the
        // caller receives it: a client that waits it out is never early.
        let now = limiter.governor.clock().now();
        let wait_ns = u64::try_from(not_until.wait_time_from(now).as_nanos()).unwrap_or(u64::MAX);
        // governor reports `earliest = tat + (cost - 1) T - tau`; recover `tat - now` from it.
        let extra = limiter.t_ns.saturating_mul(u64::from(cost - 1));
        let tat_gap = wait_ns.saturating_add(limiter.tau_ns).saturating_sub(extra);
        let remaining = (limiter.tau_ns + limiter.t_ns).saturating_sub(tat_gap) / limiter.t_ns;
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
