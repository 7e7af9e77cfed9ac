//! [`LastUsedTracker`]: "last used" times without a database write on every request.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::ApiKeyRecord;

/// Default minimum time between two "last used" writes of one key.
pub const DEFAULT_LAST_USED_INTERVAL: Duration = Duration::seconds(60);

/// Default number of keys tracked in memory.
pub const DEFAULT_LAST_USED_CAPACITY: usize = 100_000;

/// What to do after a key was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum LastUsedUpdate {
    /// Write `last_used_at = now` for this key now.
    WriteNow,
    /// Nothing to write now; the time is kept and returned by
    /// [`LastUsedTracker::take_pending`].
    Deferred,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    written: Option<OffsetDateTime>,
    pending: Option<OffsetDateTime>,
}

/// Records API key use in memory and says when a write is due: at most once per key per
/// interval (default 60 s), with later uses kept as pending until [`take_pending`]
/// (call it periodically and at shutdown) hands them out for one batch of writes.
///
/// Memory is bounded: when `capacity` keys are tracked, entries with nothing pending and an
/// expired interval are dropped; if the tracker is still full, a new key is answered
/// [`LastUsedUpdate::WriteNow`] untracked (correct, just more writes).
///
/// [`take_pending`]: Self::take_pending
///
/// # Example
///
/// ```
/// use agency_auth::api_keys::{ApiKeyRecord, LastUsedTracker, LastUsedUpdate};
/// use time::{Duration, OffsetDateTime};
///
/// # let record = ApiKeyRecord {
/// #     id: "k1".into(), owner_id: "u".into(), tenant_id: "t".into(), name: "n".into(),
/// #     scopes: vec![], secret_hash: vec![], hash_key_version: 1,
/// #     created_at: OffsetDateTime::UNIX_EPOCH, expires_at: None, revoked_at: None, last_used_at: None,
/// # };
/// let tracker = LastUsedTracker::new(Duration::seconds(60), 10_000);
/// let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
///
/// assert_eq!(tracker.record_use(&record, t0), LastUsedUpdate::WriteNow);
/// assert_eq!(tracker.record_use(&record, t0 + Duration::seconds(5)), LastUsedUpdate::Deferred);
/// // A periodic flush writes the latest deferred time.
/// assert_eq!(tracker.take_pending(), vec![("k1".to_owned(), t0 + Duration::seconds(5))]);
/// assert!(tracker.take_pending().is_empty());
/// // The stored time is now t0 + 5 s, so the next write is due 60 s after that.
/// assert_eq!(tracker.record_use(&record, t0 + Duration::seconds(61)), LastUsedUpdate::Deferred);
/// assert_eq!(tracker.record_use(&record, t0 + Duration::seconds(65)), LastUsedUpdate::WriteNow);
/// # Ok::<(), time::error::ComponentRange>(())
/// ```
#[derive(Debug)]
pub struct LastUsedTracker {
    interval: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for LastUsedTracker {
    fn default() -> Self {
        Self::new(DEFAULT_LAST_USED_INTERVAL, DEFAULT_LAST_USED_CAPACITY)
    }
}

impl LastUsedTracker {
    /// A tracker writing each key at most once per `interval`, tracking up to `capacity` keys.
    pub fn new(interval: Duration, capacity: usize) -> Self {
        Self {
            interval,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Records that the key of `record` was used at `now`. The record's stored `last_used_at`
    /// counts as a write, so several instances sharing a database do not each write.
    pub fn record_use(&self, record: &ApiKeyRecord, now: OffsetDateTime) -> LastUsedUpdate {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !entries.contains_key(&record.id) && entries.len() >= self.capacity {
            let interval = self.interval;
            entries.retain(|_, e| {
                e.pending.is_some() || e.written.is_some_and(|w| now - w < interval)
            });
            if entries.len() >= self.capacity {
                return LastUsedUpdate::WriteNow;
            }
        }
        let entry = entries.entry(record.id.clone()).or_insert(Entry {
            written: None,
            pending: None,
        });
        let written = match (entry.written, record.last_used_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if written.is_none_or(|w| now - w >= self.interval) {
            entry.written = Some(now);
            entry.pending = None;
            LastUsedUpdate::WriteNow
        } else {
            entry.written = written;
            entry.pending = Some(entry.pending.map_or(now, |p| p.max(now)));
            LastUsedUpdate::Deferred
        }
    }

    /// Takes every deferred use as `(key id, latest use)`, marking them written: write them all
    /// (one batch) now. Call periodically (for example every interval) and at shutdown.
    pub fn take_pending(&self) -> Vec<(String, OffsetDateTime)> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut due = Vec::new();
        for (id, entry) in entries.iter_mut() {
            if let Some(at) = entry.pending.take() {
                entry.written = Some(at);
                due.push((id.clone(), at));
            }
        }
        due.sort();
        due
    }

    /// Number of keys currently tracked.
    pub fn tracked(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, last_used_at: Option<OffsetDateTime>) -> ApiKeyRecord {
        ApiKeyRecord {
            id: id.to_owned(),
            owner_id: "u".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            scopes: vec![],
            secret_hash: vec![],
            hash_key_version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
            revoked_at: None,
            last_used_at,
        }
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn a_flood_of_uses_writes_once_per_interval() {
        let tracker = LastUsedTracker::default();
        let key = record("k", None);
        let writes = (0..600)
            .filter(|s| tracker.record_use(&key, at(*s)) == LastUsedUpdate::WriteNow)
            .count();
        assert_eq!(writes, 10); // 600 s at one use per second, one write per 60 s
    }

    #[test]
    fn stored_last_used_counts_as_a_write() {
        let tracker = LastUsedTracker::default();
        let key = record("k", Some(at(0)));
        assert_eq!(tracker.record_use(&key, at(30)), LastUsedUpdate::Deferred);
        assert_eq!(tracker.take_pending(), vec![("k".to_owned(), at(30))]);
    }

    proptest::proptest! {
        /// Whatever the pattern of uses: writes are at least one interval apart, and the writes
        /// plus one flush always record the latest use.
        #[test]
        fn writes_are_spaced_and_the_latest_use_is_kept(
            mut offsets in proptest::collection::vec(0i64..1_000, 1..200),
        ) {
            offsets.sort_unstable();
            let tracker = LastUsedTracker::default();
            let mut key = record("k", None);
            let mut last_write: Option<OffsetDateTime> = None;
            for offset in &offsets {
                if tracker.record_use(&key, at(*offset)) == LastUsedUpdate::WriteNow {
                    if let Some(previous) = last_write {
                        proptest::prop_assert!(at(*offset) - previous >= DEFAULT_LAST_USED_INTERVAL);
                    }
                    last_write = Some(at(*offset));
                    key.last_used_at = last_write;
                }
            }
            let flushed = tracker.take_pending().into_iter().map(|(_, t)| t).max();
            let recorded = flushed.max(last_write);
            proptest::prop_assert_eq!(recorded, offsets.last().map(|o| at(*o)));
        }
    }

    #[test]
    fn capacity_is_bounded() {
        let tracker = LastUsedTracker::new(Duration::seconds(60), 2);
        let _ = tracker.record_use(&record("a", None), at(0));
        let _ = tracker.record_use(&record("a", None), at(1)); // pending: must stay
        let _ = tracker.record_use(&record("b", None), at(0));
        // Full, and nothing can be dropped yet: write-through, untracked.
        assert_eq!(
            tracker.record_use(&record("c", None), at(2)),
            LastUsedUpdate::WriteNow
        );
        assert_eq!(
            tracker.record_use(&record("c", None), at(3)),
            LastUsedUpdate::WriteNow
        );
        assert_eq!(tracker.tracked(), 2);
        // After the interval, b (nothing pending) can be dropped to make room.
        assert_eq!(
            tracker.record_use(&record("d", None), at(100)),
            LastUsedUpdate::WriteNow
        );
        assert_eq!(tracker.tracked(), 2);
        assert_eq!(tracker.take_pending(), vec![("a".to_owned(), at(1))]);
    }
}
