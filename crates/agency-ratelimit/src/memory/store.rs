//! The bounded keyed state store under governor's GCRA.
//!
//! governor's own keyed stores grow with every distinct key until someone calls `retain_recent`
//! (governor issue #171). This store keeps at most `max_keys` states. At the cap, a key it does
//! not track yet either takes the place of a *near-fresh* tracked key ([`AtCapacity::ReplaceNearFresh`])
//! or is decided by one shared overflow state ([`AtCapacity::SharedOverflow`], and the fallback
//! when no near-fresh key is found).
//!
//! # What replacement can give back
//!
//! A tracked key is near-fresh when its theoretical arrival time (TAT) is at most one emission
//! interval `T` ahead of now: it has spent at most what one request spends from a brand-new
//! bucket. Replacing it forgets that one request, so a key that is replaced and comes back has
//! gained at most one request; an exhausted key, or any key that has spent more, is never
//! replaced. Candidates are taken oldest first (a CLOCK-like queue of hashes in the order keys
//! were first tracked; a candidate that is not near-fresh goes back to the end), so a key that
//! comes back is replaced again only after the keys tracked before it: about once per `max_keys`
//! new keys during a flood, and at worst once per `max_keys / 8` (each new key looks at up to 8
//! candidates). That is the whole gain a flood buys on one key: for a per-account limit under a
//! flood of made-up usernames at rate `R`, one more attempt on the targeted account about every
//! `max_keys / R` seconds. Size the cap of such classes with this in mind (memory is about 50
//! bytes a key).
//!
//! Keeping the replaced state in a smaller table (hash-indexed cells merged with `max`) was tried
//! and rejected: the seeded keys' own requests push the merged values one `T` further each
//! generation, so under a sustained flood the cells run ahead of the clock and lock new clients
//! out again, which is the failure this policy exists to prevent.
//!
//! # Candidates
//!
//! The queue holds hints only; entries whose key is gone are skipped, and it is rebuilt from the
//! map after every sweep, so it stays within about twice the cap.

use std::cell::Cell;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed, StateStore};

use super::options::AtCapacity;
use crate::key::RateLimitKey;
use crate::limiter::Mode;

/// How many tracked keys a new key at the cap looks at for one to replace.
const REPLACEMENT_CANDIDATES: usize = 8;

/// The state a decision was taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The key's own state.
    Own,
    /// The class's shared overflow state.
    Overflow,
}

/// The key governor hands to the store for one check: the key's hash, what to do, and a cell the
/// store writes the route into (governor passes the caller's key to `measure_and_replace`, which
/// is its `StateStore` contract, so this is how the store answers the caller).
#[derive(Debug, Clone)]
pub(crate) struct StoreKey {
    hash: u64,
    mode: Mode,
    route: Cell<Route>,
}

impl StoreKey {
    pub(crate) fn new(hasher: &KeyHasher, key: &RateLimitKey, mode: Mode) -> Self {
        Self {
            hash: hasher.hash(key.as_str()),
            mode,
            route: Cell::new(Route::Own),
        }
    }

    /// Where the check that used this key was decided.
    pub(crate) fn route(&self) -> Route {
        self.route.get()
    }
}

impl PartialEq for StoreKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl Eq for StoreKey {}

impl Hash for StoreKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
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

/// Counters the limiter reads (governor owns the store, so they are shared).
#[derive(Debug, Default)]
pub(crate) struct StoreStats {
    /// Decisions taken on the overflow state.
    pub(crate) overflow_decisions: AtomicU64,
    /// Tracked keys replaced by new ones at the cap.
    pub(crate) replaced_keys: AtomicU64,
}

/// A keyed GCRA state store holding at most `max_keys` states.
pub(crate) struct BoundedStore<C: Clock> {
    map: Map,
    /// Tracked states (and reservations being inserted): never above `max_keys`.
    len: AtomicUsize,
    max_keys: usize,
    at_capacity: AtCapacity,
    /// The state shared by keys decided while the store is full.
    overflow: InMemoryState,
    /// Replacement candidates, oldest first (hints: see the module docs).
    candidates: Mutex<VecDeque<u64>>,
    /// A TAT at most this far ahead of now is near-fresh (the class's `T`, in nanoseconds).
    near_fresh_ns: u64,
    /// Now, in governor's frame: `clock.now() - start`, where `start` was read just before
    /// governor read its own (so this runs at most a few nanoseconds ahead of governor's frame,
    /// which only decides who counts as near-fresh, never a decision).
    clock: C,
    start: C::Instant,
    stats: Arc<StoreStats>,
}

impl<C: Clock> BoundedStore<C> {
    pub(crate) fn new(
        max_keys: usize,
        at_capacity: AtCapacity,
        near_fresh_ns: u64,
        clock: C,
    ) -> Self {
        let max_keys = max_keys.max(1);
        let start = clock.now();
        Self {
            map: Map::default(),
            len: AtomicUsize::new(0),
            max_keys,
            at_capacity,
            overflow: InMemoryState::default(),
            candidates: Mutex::new(VecDeque::new()),
            near_fresh_ns,
            clock,
            start,
            stats: Arc::new(StoreStats::default()),
        }
    }

    /// The counters, shared.
    pub(crate) fn stats(&self) -> Arc<StoreStats> {
        Arc::clone(&self.stats)
    }

    pub(crate) fn tracked(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    fn now_ns(&self) -> u64 {
        u64::from(self.clock.now().duration_since(self.start))
    }

    fn candidates(&self) -> std::sync::MutexGuard<'_, VecDeque<u64>> {
        // The queue holds hints only: a panic while it was held cannot leave it unsafe to use.
        self.candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn enqueue(&self, hash: u64) {
        let mut queue = self.candidates();
        queue.push_back(hash);
        if queue.len() > self.max_keys.saturating_mul(2) {
            // Only duplicates and stale hints can make it this long; the next sweep rebuilds it.
            // Dropping the oldest hints loses nothing a rebuild would keep.
            let excess = queue.len() - self.max_keys;
            queue.drain(..excess);
        }
    }

    /// Removes one near-fresh tracked key. Returns whether a key was removed (its slot then
    /// belongs to the caller).
    fn replace_one(&self) -> bool {
        let now = self.now_ns();
        let limit = now.saturating_add(self.near_fresh_ns);
        for _ in 0..REPLACEMENT_CANDIDATES {
            let Some(candidate) = self.candidates().pop_front() else {
                return false;
            };
            // The predicate runs under the shard's write lock: no check of this key can spend
            // between the read and the removal.
            let removed = self
                .map
                .remove_if(&candidate, |_, state| read_tat(state) <= limit);
            if removed.is_some() {
                self.stats.replaced_keys.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            if self.map.contains_key(&candidate) {
                // Still spending: a second chance at the end of the queue.
                self.candidates().push_back(candidate);
            }
        }
        false
    }

    fn decide_on_overflow<T, F, E>(&self, key: &StoreKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        key.route.set(Route::Overflow);
        if key.mode == Mode::Spend {
            self.stats
                .overflow_decisions
                .fetch_add(1, Ordering::Relaxed);
        }
        measure(&self.overflow, key.mode, f)
    }
}

/// The state's TAT in nanoseconds (0 when it holds none).
fn read_tat(state: &InMemoryState) -> u64 {
    // A measurement that always "fails" reads the state without writing it.
    state
        .measure_and_replace(&NotKeyed::NonKey, |prev| {
            Err::<((), Nanos), u64>(prev.map_or(0, u64::from))
        })
        .err()
        .unwrap_or(0)
}

/// Runs governor's decision on `state`; writes its outcome only when spending.
fn measure<T, F, E>(state: &InMemoryState, mode: Mode, f: F) -> Result<T, E>
where
    F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
{
    match mode {
        Mode::Spend => state.measure_and_replace(&NotKeyed::NonKey, f),
        Mode::Peek => {
            let tat = read_tat(state);
            f((tat != 0).then(|| Nanos::from(tat))).map(|(outcome, _)| outcome)
        }
    }
}

impl<C: Clock> StateStore for BoundedStore<C> {
    type Key = StoreKey;

    fn measure_and_replace<T, F, E>(&self, key: &StoreKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if let Some(state) = self.map.get(&key.hash) {
            return measure(&state, key.mode, f);
        }
        if key.mode == Mode::Peek {
            // As if the key were tracked now: a fresh bucket.
            return f(None).map(|(outcome, _)| outcome);
        }
        // Reserve a slot before inserting, so concurrent inserts cannot pass the cap.
        let reserved = self
            .len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_keys).then_some(n + 1)
            })
            .is_ok();
        let has_slot =
            reserved || (self.at_capacity == AtCapacity::ReplaceNearFresh && self.replace_one());
        if !has_slot {
            return self.decide_on_overflow(key, f);
        }
        let outcome = match self.map.entry(key.hash) {
            Entry::Occupied(existing) => {
                // Another thread started tracking it meanwhile: give the slot back.
                self.len.fetch_sub(1, Ordering::AcqRel);
                return measure(existing.get(), key.mode, f);
            }
            Entry::Vacant(vacant) => {
                let state = vacant.insert(InMemoryState::default());
                state.measure_and_replace(&NotKeyed::NonKey, f)
            }
        };
        self.enqueue(key.hash);
        outcome
    }
}

impl<C: Clock> ShrinkableKeyedStateStore<StoreKey> for BoundedStore<C> {
    fn retain_recent(&self, drop_below: Nanos) {
        let drop_below = u64::from(drop_below);
        let mut removed = 0usize;
        // `retain` holds each shard's write lock while it decides, so no check can update a state
        // between the read below and its removal. Only states indistinguishable from a fresh
        // bucket go.
        self.map.retain(|_, state| {
            let keep = read_tat(state) > drop_below;
            if !keep {
                removed += 1;
            }
            keep
        });
        self.len.fetch_sub(removed, Ordering::AcqRel);
        self.rebuild_candidates();
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

impl<C: Clock> BoundedStore<C> {
    /// The queue becomes the tracked keys, each once: old hints first (their order), then the
    /// keys the queue had lost. The map is read before the queue is locked (checks lock a shard
    /// and then the queue; never the other way round).
    fn rebuild_candidates(&self) {
        let tracked: HashSet<u64> = self.map.iter().map(|entry| *entry.key()).collect();
        let mut queue = self.candidates();
        let mut seen = HashSet::with_capacity(tracked.len());
        queue.retain(|hash| tracked.contains(hash) && seen.insert(*hash));
        queue.extend(tracked.difference(&seen).copied().collect::<Vec<_>>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    /// A store whose `T` is 1000 ns, on a clock standing at 0.
    struct Fixture {
        store: BoundedStore<FakeRelativeClock>,
        hasher: KeyHasher,
    }

    impl Fixture {
        fn new(max_keys: usize, at_capacity: AtCapacity) -> Self {
            let clock = FakeRelativeClock::default();
            Self {
                store: BoundedStore::new(max_keys, at_capacity, 1_000, clock),
                hasher: KeyHasher::new(),
            }
        }

        fn key(&self, name: &str, mode: Mode) -> StoreKey {
            StoreKey::new(&self.hasher, &RateLimitKey::principal(name), mode)
        }

        fn hash(&self, name: &str) -> u64 {
            self.hasher.hash(RateLimitKey::principal(name).as_str())
        }

        /// Spends on `name`, leaving its TAT at `tat`; returns the route.
        fn spend(&self, name: &str, tat: u64) -> Route {
            let k = self.key(name, Mode::Spend);
            let r: Result<(), ()> = self
                .store
                .measure_and_replace(&k, |_| Ok(((), Nanos::from(tat))));
            assert!(r.is_ok());
            k.route()
        }

        /// The TAT a check of `name` would be decided against, writing nothing.
        fn peek(&self, name: &str) -> Option<u64> {
            let k = self.key(name, Mode::Peek);
            let seen: Result<(), Option<u64>> = self
                .store
                .measure_and_replace(&k, |prev| Err(prev.map(u64::from)));
            seen.unwrap_err()
        }
    }

    #[test]
    fn shared_overflow_never_tracks_more_than_its_cap() {
        let f = Fixture::new(3, AtCapacity::SharedOverflow);
        let routes: Vec<_> = (0..10).map(|i| f.spend(&format!("u{i}"), 500)).collect();
        assert_eq!(f.store.tracked(), 3);
        assert_eq!(f.store.map.len(), 3);
        assert_eq!(routes.iter().filter(|r| **r == Route::Overflow).count(), 7);
        assert_eq!(f.store.stats.overflow_decisions.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn replacement_takes_near_fresh_keys_only_oldest_first() {
        let f = Fixture::new(2, AtCapacity::ReplaceNearFresh);
        // "busy" is 5 T ahead: never replaced. "light" is one T ahead: near-fresh.
        assert_eq!(f.spend("busy", 5_000), Route::Own);
        assert_eq!(f.spend("light", 1_000), Route::Own);
        assert_eq!(f.spend("new", 1_000), Route::Own);
        assert_eq!(f.store.tracked(), 2);
        assert_eq!(f.store.stats.replaced_keys.load(Ordering::Relaxed), 1);
        assert!(f.store.map.contains_key(&f.hash("busy")));
        assert!(!f.store.map.contains_key(&f.hash("light")));
        // "light" would come back as a fresh bucket: one request given back, no more.
        assert_eq!(f.peek("light"), None);
        // The next new key replaces "new", never "busy".
        assert_eq!(f.spend("newer", 1_000), Route::Own);
        assert!(f.store.map.contains_key(&f.hash("busy")));
        assert!(!f.store.map.contains_key(&f.hash("new")));
    }

    #[test]
    fn without_a_near_fresh_key_new_keys_share_the_overflow_state() {
        let f = Fixture::new(2, AtCapacity::ReplaceNearFresh);
        f.spend("a", 5_000);
        f.spend("b", 5_000);
        assert_eq!(f.spend("c", 1_000), Route::Overflow);
        assert_eq!(f.store.tracked(), 2);
        assert!(f.store.map.contains_key(&f.hash("a")));
        assert!(f.store.map.contains_key(&f.hash("b")));
    }

    #[test]
    fn peek_writes_nothing() {
        let f = Fixture::new(1, AtCapacity::ReplaceNearFresh);
        assert_eq!(f.peek("a"), None);
        assert_eq!(f.store.tracked(), 0);
        f.spend("a", 2_000);
        assert_eq!(f.peek("a"), Some(2_000));
        // A peek that would be allowed does not write its outcome either.
        let k = f.key("a", Mode::Peek);
        let r: Result<(), ()> = f
            .store
            .measure_and_replace(&k, |_| Ok(((), Nanos::from(9_000u64))));
        assert!(r.is_ok());
        assert_eq!(f.peek("a"), Some(2_000));
    }

    #[test]
    fn retain_recent_drops_only_stale_states_and_rebuilds_the_queue() {
        let f = Fixture::new(10, AtCapacity::ReplaceNearFresh);
        for (name, tat) in [("a", 100u64), ("b", 200), ("c", 300)] {
            f.spend(name, tat);
        }
        f.spend("a", 100); // tracked already: no second hint
        f.store.retain_recent(Nanos::from(200u64));
        assert_eq!(f.store.tracked(), 1);
        assert!(f.store.map.contains_key(&f.hash("c")));
        let queue: Vec<u64> = f.store.candidates().iter().copied().collect();
        assert_eq!(queue, [f.hash("c")]);
    }
}
