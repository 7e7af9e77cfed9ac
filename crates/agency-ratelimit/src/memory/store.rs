//! The bounded keyed state store under governor's GCRA.
//!
//! governor's own keyed stores grow with every distinct key until someone calls `retain_recent`
//! (governor issue #171). This store keeps at most `max_keys` states and, at the cap, sends keys it
//! does not track yet to one shared *overflow* state instead of evicting anyone. It never drops a
//! state that is still limiting its key: `retain_recent` only removes states indistinguishable from
//! a fresh bucket, so an eviction can never give a key back capacity it had not earned.

use std::cell::Cell;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed, StateStore};

use crate::key::RateLimitKey;

thread_local! {
    /// What the last check on this thread saw, recorded on the way (governor's API has no other
    /// channel from its clock and its store back to the caller): see [`Tap`].
    static TAP: Tap = const {
        Tap {
            now: Cell::new(0),
            tat: Cell::new(0),
            overflow: Cell::new(false),
        }
    };
}

/// The values one check records on its thread, read back by the limiter right after governor
/// returns (the check is synchronous, so nothing else runs on the thread in between).
struct Tap {
    /// The clock reading governor took for the decision, in nanoseconds since the tap's origin.
    now: Cell<u64>,
    /// The key's theoretical arrival time (governor's frame): after the decision when allowed,
    /// the one the decision was measured against when refused.
    tat: Cell<u64>,
    /// Set when the decision used the overflow state.
    overflow: Cell<bool>,
}

/// The values recorded by the last check on this thread; clears the overflow marker, so it is
/// never stale (every check takes it).
#[inline]
pub(crate) fn take_tap() -> (u64, u64, bool) {
    TAP.with(|t| (t.now.get(), t.tat.get(), t.overflow.replace(false)))
}

/// Records a clock reading (see [`TapClock`]).
#[inline]
pub(crate) fn record_now(nanos: u64) {
    TAP.with(|t| t.now.set(nanos));
}

/// The last clock reading recorded on this thread.
pub(crate) fn last_now() -> u64 {
    TAP.with(|t| t.now.get())
}

/// Runs governor's measurement and records the theoretical arrival time it produced (allowed) or
/// was refused against.
#[inline]
fn measure_recording<T, F, E>(state: &InMemoryState, f: F) -> Result<T, E>
where
    F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
{
    state.measure_and_replace(&NotKeyed::NonKey, |prev| {
        let outcome = f(prev);
        let tat = match &outcome {
            Ok((_, next)) => u64::from(*next),
            Err(_) => prev.map_or(0, u64::from),
        };
        TAP.with(|t| t.tat.set(tat));
        outcome
    })
}

/// governor's clock, recording each reading on the thread, so the limiter derives its decision
/// from the very reading governor decided at instead of reading the clock a second time.
#[derive(Clone)]
pub(crate) struct TapClock<C: Clock> {
    inner: C,
    /// Readings are recorded as nanoseconds since this instant.
    origin: C::Instant,
}

impl<C: Clock> TapClock<C> {
    pub(crate) fn new(inner: C) -> Self {
        let origin = inner.now();
        Self { inner, origin }
    }
}

impl<C: Clock> Clock for TapClock<C> {
    type Instant = C::Instant;

    #[inline]
    fn now(&self) -> C::Instant {
        let now = self.inner.now();
        record_now(u64::from(now.duration_since(self.origin)));
        now
    }
}

/// Hashes rate-limit keys with SipHash-1-3 under a per-process random key.
#[derive(Clone)]
pub(crate) struct KeyHasher(std::hash::RandomState);

impl KeyHasher {
    pub(crate) fn new() -> Self {
        Self(std::hash::RandomState::new())
    }

    /// One keyed SipHash over the key's bytes (a single message, so no terminator is needed).
    #[inline]
    fn hash(&self, key: &str) -> u64 {
        let mut hasher = self.0.build_hasher();
        hasher.write(key.as_bytes());
        hasher.finish()
    }
}

/// Keys are already outputs of a keyed SipHash (see `KeyHasher`): hashing them again would only
/// cost time, and an attacker cannot choose them, so they are used as they are.
#[derive(Default, Clone, Copy)]
pub(crate) struct PrehashedKeyHasher(u64);

impl Hasher for PrehashedKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for `u64` keys; a correct (if slow) fallback all the same.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type Map = DashMap<u64, InMemoryState, BuildHasherDefault<PrehashedKeyHasher>>;

/// A keyed GCRA state store holding at most `max_keys` states.
pub(crate) struct BoundedStore {
    map: Map,
    /// Tracked states (and reservations being inserted): never above `max_keys`.
    len: AtomicUsize,
    max_keys: usize,
    /// The state shared by every key that arrives while the store is full.
    overflow: InMemoryState,
    /// Shared with the limiter, which cannot reach the store once governor owns it.
    overflow_decisions: Arc<AtomicU64>,
    /// Turns a key into the map's key. Hashing here, inside governor's check, keeps it after
    /// governor's clock read, as in bare governor (a reading taken after the hash waits for it).
    hasher: KeyHasher,
}

impl BoundedStore {
    pub(crate) fn new(max_keys: usize, hasher: KeyHasher) -> Self {
        Self {
            map: Map::default(),
            len: AtomicUsize::new(0),
            max_keys,
            overflow: InMemoryState::default(),
            overflow_decisions: Arc::new(AtomicU64::new(0)),
            hasher,
        }
    }

    /// The counter of decisions taken on the overflow state.
    pub(crate) fn overflow_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.overflow_decisions)
    }

    pub(crate) fn tracked(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }
}

fn read_tat(state: &InMemoryState) -> u64 {
    // A measurement that always "fails" reads the state without writing it.
    state
        .measure_and_replace(&NotKeyed::NonKey, |prev| {
            Err::<((), Nanos), u64>(prev.map_or(0, u64::from))
        })
        .err()
        .unwrap_or(0)
}

impl StateStore for BoundedStore {
    type Key = RateLimitKey;

    fn measure_and_replace<T, F, E>(&self, key: &RateLimitKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let key = self.hasher.hash(key.as_str());
        if let Some(state) = self.map.get(&key) {
            return measure_recording(&state, f);
        }
        // Reserve a slot before inserting, so concurrent inserts cannot pass the cap.
        let reserved = self
            .len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_keys).then_some(n + 1)
            })
            .is_ok();
        if !reserved {
            TAP.with(|t| t.overflow.set(true));
            self.overflow_decisions.fetch_add(1, Ordering::Relaxed);
            return measure_recording(&self.overflow, f);
        }
        match self.map.entry(key) {
            Entry::Occupied(existing) => {
                // Another thread inserted it meanwhile: give the reservation back.
                self.len.fetch_sub(1, Ordering::AcqRel);
                measure_recording(existing.get(), f)
            }
            Entry::Vacant(vacant) => {
                let state = vacant.insert(InMemoryState::default());
                measure_recording(&state, f)
            }
        }
    }
}

impl ShrinkableKeyedStateStore<RateLimitKey> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        let drop_below = u64::from(drop_below);
        let mut removed = 0usize;
        // `retain` holds each shard's write lock while it decides, so no check can update a state
        // between the read below and its removal.
        self.map.retain(|_, state| {
            let keep = read_tat(state) > drop_below;
            if !keep {
                removed += 1;
            }
            keep
        });
        self.len.fetch_sub(removed, Ordering::AcqRel);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.tracked()
    }

    fn is_empty(&self) -> bool {
        self.tracked() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_never_tracks_more_than_its_cap() {
        let store = BoundedStore::new(3, KeyHasher::new());
        for i in 0..10u64 {
            let key = RateLimitKey::principal(&format!("u{i}"));
            let r: Result<(), ()> =
                store.measure_and_replace(&key, |_| Ok(((), Nanos::from(1_000u64))));
            assert!(r.is_ok());
        }
        assert_eq!(store.tracked(), 3);
        assert_eq!(store.map.len(), 3);
        assert_eq!(store.overflow_counter().load(Ordering::Relaxed), 7);
    }

    #[test]
    fn retain_recent_drops_only_stale_states() {
        let store = BoundedStore::new(10, KeyHasher::new());
        for (key, tat) in [("a", 100u64), ("b", 200), ("c", 300)] {
            let key = RateLimitKey::principal(key);
            let _: Result<(), ()> = store.measure_and_replace(&key, |_| Ok(((), Nanos::from(tat))));
        }
        store.retain_recent(Nanos::from(200u64));
        assert_eq!(store.tracked(), 1);
        let kept = store.hasher.hash(RateLimitKey::principal("c").as_str());
        assert!(store.map.contains_key(&kept));
    }
}
