//! A [`RevocationCheck`] answered from memory, kept in step with a shared [`RevocationStore`].
//!
//! Propagation: a revocation made through this instance is in its memory before the call
//! returns; one made by another instance is seen here at the next refresh, so within
//! `refresh_interval` (plus the time one load takes). Fail closed: until the first load succeeds,
//! and whenever the last successful load is older than `max_staleness`, every check answers
//! an error, which the verifier treats as "revoked".

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    RevocationCheck, RevocationEntry, RevocationError, RevocationNotifier, RevocationQuery,
    RevocationTarget,
};
use crate::store::RevocationStore;
use crate::tokens::{MAX_ACCESS_TOKEN_TTL, MAX_LEEWAY};

/// Settings of a [`CachedRevocationChecker`].
///
/// ```
/// use agency_auth::revocation::RevocationCacheConfig;
/// use std::time::Duration;
///
/// let config = RevocationCacheConfig::default()
///     .with_refresh_interval(Duration::from_secs(2))
///     .with_max_staleness(Duration::from_secs(20))
///     .with_retention(Duration::from_secs(15 * 60 + 60));
/// assert_eq!(config.refresh_interval, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationCacheConfig {
    /// How often the shared store is read again: the window in which a revocation made by
    /// another instance is not yet seen here. Default 5 s.
    pub refresh_interval: Duration,
    /// After this long without a successful load, checks fail closed. Default 30 s. Must be
    /// longer than `refresh_interval`.
    pub max_staleness: Duration,
    /// How long an entry written through this checker is kept: at least the longest access-token
    /// lifetime the verifier accepts plus its leeway, so every covered token has expired before
    /// its entry is purged; the verifier refuses to be built with a checker that keeps entries
    /// less long. Default 24 h + 60 s (the longest lifetime an issuer or verifier accepts, and
    /// the maximum leeway); [`RevocationCacheConfig::retention_for`] derives it from yours.
    pub retention: Duration,
    /// How often the background refresher also purges expired entries from the store
    /// (`None`: never; purge elsewhere). Default 60 s.
    pub purge_interval: Option<Duration>,
}

impl Default for RevocationCacheConfig {
    fn default() -> Self {
        RevocationCacheConfig {
            refresh_interval: Duration::from_secs(5),
            max_staleness: Duration::from_secs(30),
            retention: MAX_ACCESS_TOKEN_TTL.saturating_add(MAX_LEEWAY),
            purge_interval: Some(Duration::from_secs(60)),
        }
    }
}

impl RevocationCacheConfig {
    /// Sets [`refresh_interval`](Self::refresh_interval).
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Sets [`max_staleness`](Self::max_staleness).
    pub fn with_max_staleness(mut self, max_staleness: Duration) -> Self {
        self.max_staleness = max_staleness;
        self
    }

    /// Sets [`retention`](Self::retention).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Sets [`retention`](Self::retention) to `max_lifetime + leeway`: what a verifier built
    /// with the same [`max_lifetime`](crate::tokens::TokenVerifierBuilder::max_lifetime) and
    /// [`leeway`](crate::tokens::TokenVerifierBuilder::leeway) requires.
    ///
    /// ```
    /// use agency_auth::revocation::RevocationCacheConfig;
    /// use std::time::Duration;
    ///
    /// let config = RevocationCacheConfig::default()
    ///     .retention_for(Duration::from_secs(4 * 3600), Duration::from_secs(30));
    /// assert_eq!(config.retention, Duration::from_secs(4 * 3600 + 30));
    /// ```
    #[must_use]
    pub fn retention_for(mut self, max_lifetime: Duration, leeway: Duration) -> Self {
        self.retention = max_lifetime.saturating_add(leeway);
        self
    }

    /// Sets [`purge_interval`](Self::purge_interval).
    pub fn with_purge_interval(mut self, purge_interval: Option<Duration>) -> Self {
        self.purge_interval = purge_interval;
        self
    }
}

/// A [`RevocationCacheConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid revocation cache configuration: {0}")]
pub struct InvalidRevocationConfig(&'static str);

#[derive(Default)]
struct Snapshot {
    sessions: HashSet<String>,
    tokens: HashSet<String>,
    /// For each user, the latest "revoke everything issued before" instant.
    users: HashMap<String, OffsetDateTime>,
    /// Revocations written through this instance, kept until they expire so that a refresh
    /// that read the store before they were written cannot drop them.
    local: Vec<RevocationEntry>,
    loaded_at: Option<Instant>,
}

impl Snapshot {
    fn insert(&mut self, target: &RevocationTarget) {
        match target {
            RevocationTarget::Session(id) => {
                self.sessions.insert(id.clone());
            }
            RevocationTarget::Token(id) => {
                self.tokens.insert(id.clone());
            }
            RevocationTarget::UserTokensIssuedBefore { user_id, before } => {
                let slot = self.users.entry(user_id.clone()).or_insert(*before);
                if *before > *slot {
                    *slot = *before;
                }
            }
        }
    }

    fn is_revoked(&self, query: &RevocationQuery<'_>) -> bool {
        if let Some(session_id) = query.session_id
            && self.sessions.contains(session_id)
        {
            return true;
        }
        if self.tokens.contains(query.token_id) {
            return true;
        }
        matches!(self.users.get(query.subject), Some(before) if query.issued_at < *before)
    }
}

/// The revocation check to give the access-token verifier: an in-memory lookup, kept in step
/// with a shared [`RevocationStore`]. See the [revocation module docs](super) for the
/// propagation window and the fail-closed rule.
///
/// ```
/// use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig, RevocationCheck, RevocationQuery};
/// use agency_auth::store::MemoryStore;
/// use std::sync::Arc;
/// use time::OffsetDateTime;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// let checker = Arc::new(CachedRevocationChecker::new(store, RevocationCacheConfig::default()).unwrap());
/// checker.refresh().await.unwrap(); // until the first load, every check fails closed
/// let _refresher = checker.spawn_refresher(); // keeps it in step; stops when dropped
///
/// let query = RevocationQuery {
///     subject: "u1", session_id: Some("s1"), token_id: "j1", issued_at: OffsetDateTime::now_utc(),
/// };
/// assert!(!checker.is_revoked(&query).await.unwrap());
/// checker.revoke_session("s1").await.unwrap();
/// assert!(checker.is_revoked(&query).await.unwrap());
/// # })
/// ```
pub struct CachedRevocationChecker {
    store: Arc<dyn RevocationStore>,
    config: RevocationCacheConfig,
    snapshot: RwLock<Snapshot>,
    notifier: Option<Arc<dyn RevocationNotifier>>,
}

impl fmt::Debug for CachedRevocationChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("CachedRevocationChecker");
        debug.field("config", &self.config);
        if let Ok(snapshot) = self.snapshot.read() {
            debug
                .field("sessions", &snapshot.sessions.len())
                .field("tokens", &snapshot.tokens.len())
                .field("users", &snapshot.users.len())
                .field("loaded", &snapshot.loaded_at.is_some());
        }
        debug.finish_non_exhaustive()
    }
}

impl CachedRevocationChecker {
    /// A checker over `store`. It answers errors (fail closed) until [`refresh`](Self::refresh)
    /// has succeeded once.
    pub fn new(
        store: Arc<dyn RevocationStore>,
        config: RevocationCacheConfig,
    ) -> Result<Self, InvalidRevocationConfig> {
        if config.refresh_interval.is_zero() {
            return Err(InvalidRevocationConfig("refresh_interval must not be zero"));
        }
        if config.max_staleness <= config.refresh_interval {
            return Err(InvalidRevocationConfig(
                "max_staleness must be longer than refresh_interval",
            ));
        }
        if config.retention.is_zero() {
            return Err(InvalidRevocationConfig("retention must not be zero"));
        }
        if matches!(config.purge_interval, Some(interval) if interval.is_zero()) {
            return Err(InvalidRevocationConfig("purge_interval must not be zero"));
        }
        Ok(CachedRevocationChecker {
            store,
            config,
            snapshot: RwLock::new(Snapshot::default()),
            notifier: None,
        })
    }

    /// Calls `notifier` after each revocation made through this checker is stored, so other
    /// instances learn of it at once (see [`RevocationNotifier`]).
    #[must_use]
    pub fn with_notifier(mut self, notifier: Arc<dyn RevocationNotifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Applies a revocation made on another instance (and already stored there) to this
    /// instance's memory only: no store write, no notification. Kept, like this instance's own
    /// revocations, until it expires, so a refresh that read the store just before it was
    /// written cannot drop it. An entry no longer in force is ignored.
    ///
    /// ```
    /// use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig, RevocationEntry, RevocationQuery, RevocationTarget};
    /// use agency_auth::store::MemoryStore;
    /// use std::sync::Arc;
    /// use time::{Duration, OffsetDateTime};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = Arc::new(MemoryStore::new());
    /// let checker = CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap();
    /// checker.refresh().await.unwrap();
    /// let now = OffsetDateTime::now_utc();
    /// checker.apply_remote(&RevocationEntry::new(RevocationTarget::Session("s1".into()), now, now + Duration::hours(1))).unwrap();
    /// let query = RevocationQuery { subject: "u", session_id: Some("s1"), token_id: "j", issued_at: now };
    /// assert!(checker.check_cached(&query).unwrap());
    /// use agency_auth::store::RevocationStore;
    /// assert!(store.list_revocations(now).await.unwrap().is_empty(), "memory only");
    /// # })
    /// ```
    pub fn apply_remote(&self, entry: &RevocationEntry) -> Result<(), RevocationError> {
        if !entry.is_in_force_at(OffsetDateTime::now_utc()) {
            return Ok(());
        }
        self.remember(entry)
    }

    /// Puts `entry` in memory and in the local list that every refresh merges back in, so a
    /// refresh that read the store before the entry was written cannot drop it.
    fn remember(&self, entry: &RevocationEntry) -> Result<(), RevocationError> {
        let mut snapshot = self
            .snapshot
            .write()
            .map_err(|_| RevocationError("revocation cache lock poisoned".into()))?;
        snapshot.insert(&entry.target);
        snapshot.local.push(entry.clone());
        Ok(())
    }

    /// How old the revocation state is: the time since the last successful load began, or
    /// `None` before the first one. For a readiness probe: an instance whose state is older than
    /// `max_staleness` refuses every token (it fails closed), so it should not take traffic.
    ///
    /// ```
    /// use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig};
    /// use agency_auth::store::MemoryStore;
    /// use std::sync::Arc;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let checker = CachedRevocationChecker::new(Arc::new(MemoryStore::new()), RevocationCacheConfig::default()).unwrap();
    /// assert_eq!(checker.state_age(), None);
    /// checker.refresh().await.unwrap();
    /// assert!(checker.state_age().unwrap() < checker.config().max_staleness);
    /// # })
    /// ```
    pub fn state_age(&self) -> Option<Duration> {
        self.snapshot
            .read()
            .ok()
            .and_then(|snapshot| snapshot.loaded_at)
            .map(|loaded_at| loaded_at.elapsed())
    }

    /// The configuration in use.
    pub fn config(&self) -> &RevocationCacheConfig {
        &self.config
    }

    /// Reloads every entry in force from the store, keeping the revocations made through this
    /// instance. On error the previous state stays (until it is older than `max_staleness`).
    /// Returns the number of entries loaded.
    pub async fn refresh(&self) -> Result<usize, RevocationError> {
        // Staleness counts from before the read: entries written after this instant may be
        // missing from what we load.
        let started = Instant::now();
        let now = OffsetDateTime::now_utc();
        let entries = self
            .store
            .list_revocations(now)
            .await
            .map_err(|e| RevocationError(format!("could not load revocations: {e}")))?;
        let count = entries.len();
        let mut next = Snapshot::default();
        for entry in &entries {
            next.insert(&entry.target);
        }
        let mut snapshot = self
            .snapshot
            .write()
            .map_err(|_| RevocationError("revocation cache lock poisoned".into()))?;
        if snapshot
            .loaded_at
            .is_some_and(|loaded_at| loaded_at > started)
        {
            // A refresh that started later has already installed newer state.
            return Ok(count);
        }
        let mut local = std::mem::take(&mut snapshot.local);
        local.retain(|entry| entry.is_in_force_at(now));
        for entry in &local {
            next.insert(&entry.target);
        }
        next.local = local;
        next.loaded_at = Some(started);
        *snapshot = next;
        Ok(count)
    }

    /// Answers from memory only; `Err` (fail closed) when the state was never loaded or is
    /// older than `max_staleness`. This is what [`RevocationCheck::is_revoked`] calls.
    ///
    /// ```
    /// use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig, RevocationQuery};
    /// use agency_auth::store::MemoryStore;
    /// use std::sync::Arc;
    /// use time::OffsetDateTime;
    ///
    /// let checker = CachedRevocationChecker::new(Arc::new(MemoryStore::new()), RevocationCacheConfig::default()).unwrap();
    /// let query = RevocationQuery { subject: "u", session_id: None, token_id: "j", issued_at: OffsetDateTime::now_utc() };
    /// assert!(checker.check_cached(&query).is_err(), "never loaded: fail closed");
    /// ```
    pub fn check_cached(&self, query: &RevocationQuery<'_>) -> Result<bool, RevocationError> {
        let snapshot = self
            .snapshot
            .read()
            .map_err(|_| RevocationError("revocation cache lock poisoned".into()))?;
        match snapshot.loaded_at {
            None => Err(RevocationError("revocation state not loaded yet".into())),
            Some(loaded_at) if loaded_at.elapsed() > self.config.max_staleness => Err(
                RevocationError("revocation state is stale (store unreachable)".into()),
            ),
            Some(_) => Ok(snapshot.is_revoked(query)),
        }
    }

    /// Revokes every access token of a session, now.
    pub async fn revoke_session(&self, session_id: &str) -> Result<(), RevocationError> {
        self.revoke_at(
            RevocationTarget::Session(session_id.to_owned()),
            OffsetDateTime::now_utc(),
        )
        .await
    }

    /// Revokes one access token by its `jti`, now.
    pub async fn revoke_token(&self, token_id: &str) -> Result<(), RevocationError> {
        self.revoke_at(
            RevocationTarget::Token(token_id.to_owned()),
            OffsetDateTime::now_utc(),
        )
        .await
    }

    /// Revokes every access token of a user issued strictly before `before`.
    ///
    /// Tokens of this crate's issuer are ordered against `before` by their `iat_ms`, so a token
    /// issued later within the same second is spared. A token with only a whole-second `iat`
    /// counts as issued at the start of its second, so one issued later in `before`'s second is
    /// covered too (the safe side). [`SessionManager::revoke_all_user_sessions`] calls this and
    /// also revokes the user's sessions by id.
    ///
    /// [`SessionManager::revoke_all_user_sessions`]: crate::sessions::SessionManager::revoke_all_user_sessions
    pub async fn revoke_user_tokens_before(
        &self,
        user_id: &str,
        before: OffsetDateTime,
    ) -> Result<(), RevocationError> {
        self.revoke_at(
            RevocationTarget::UserTokensIssuedBefore {
                user_id: user_id.to_owned(),
                before,
            },
            OffsetDateTime::now_utc(),
        )
        .await
    }

    /// Revokes `target` as of `now`: applied to this instance's memory first (so it holds from
    /// the next check even if the store write fails), then written to the store, kept until
    /// `now + retention`. An error means other instances may not see it: retry (it is
    /// idempotent).
    pub async fn revoke_at(
        &self,
        target: RevocationTarget,
        now: OffsetDateTime,
    ) -> Result<(), RevocationError> {
        let expires_at = time::Duration::try_from(self.config.retention)
            .ok()
            .and_then(|retention| now.checked_add(retention))
            .unwrap_or(OffsetDateTime::new_utc(
                time::Date::MAX,
                time::Time::MIDNIGHT,
            ));
        let entry = RevocationEntry::new(target, now, expires_at);
        self.remember(&entry)?;
        self.store
            .add_revocation(&entry)
            .await
            .map_err(|e| RevocationError(format!("could not store revocation: {e}")))?;
        if let Some(notifier) = &self.notifier
            && let Err(error) = notifier.notify(&entry).await
        {
            // Stored: the other instances still see it at their next refresh.
            tracing::warn!(%error, "revocation stored but not broadcast; others see it at their next refresh");
        }
        Ok(())
    }

    /// Deletes expired entries from the store; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, RevocationError> {
        self.store
            .purge_expired_revocations(OffsetDateTime::now_utc())
            .await
            .map_err(|e| RevocationError(format!("could not purge revocations: {e}")))
    }

    /// Starts a tokio task that refreshes every `refresh_interval` (the first time at once) and
    /// purges expired entries every `purge_interval`. The task stops when the returned guard is
    /// dropped or when the checker is dropped. Needs a tokio runtime with timers enabled.
    pub fn spawn_refresher(self: &Arc<Self>) -> RevocationRefresher {
        let checker: Weak<Self> = Arc::downgrade(self);
        let interval = self.config.refresh_interval;
        let purge_interval = self.config.purge_interval;
        let handle = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_purge: Option<Instant> = None;
            loop {
                ticker.tick().await;
                let Some(checker) = checker.upgrade() else {
                    break;
                };
                if let Err(error) = checker.refresh().await {
                    tracing::warn!(%error, "revocation refresh failed");
                }
                if let Some(every) = purge_interval
                    && last_purge.is_none_or(|at| at.elapsed() >= every)
                {
                    last_purge = Some(Instant::now());
                    if let Err(error) = checker.purge_expired().await {
                        tracing::warn!(%error, "revocation purge failed");
                    }
                }
            }
        });
        RevocationRefresher { handle }
    }
}

#[async_trait]
impl RevocationCheck for CachedRevocationChecker {
    async fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, RevocationError> {
        self.check_cached(query)
    }

    fn retention(&self) -> Option<Duration> {
        Some(self.config.retention)
    }
}

/// Guard of the background refresh task started by
/// [`CachedRevocationChecker::spawn_refresher`]; dropping it stops the task.
///
/// ```
/// use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig};
/// use agency_auth::store::MemoryStore;
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let checker = Arc::new(CachedRevocationChecker::new(Arc::new(MemoryStore::new()), RevocationCacheConfig::default()).unwrap());
/// let refresher = checker.spawn_refresher();
/// drop(refresher); // stops refreshing
/// # })
/// ```
#[derive(Debug)]
pub struct RevocationRefresher {
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for RevocationRefresher {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn query<'a>(sid: &'a str, iat: OffsetDateTime) -> RevocationQuery<'a> {
        RevocationQuery {
            subject: "u1",
            session_id: Some(sid),
            token_id: "jti",
            issued_at: iat,
        }
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        fn target() -> impl Strategy<Value = RevocationTarget> {
            // Small alphabets so that queries hit entries often.
            prop_oneof![
                "[ab]".prop_map(RevocationTarget::Session),
                "[ab]".prop_map(RevocationTarget::Token),
                ("[ab]", -5i64..5).prop_map(|(user_id, secs)| {
                    RevocationTarget::UserTokensIssuedBefore {
                        user_id,
                        before: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1000 + secs),
                    }
                }),
            ]
        }

        proptest! {
            /// The cache answers exactly what the plain rule over the entries answers, whether
            /// the entries were revoked through this instance or loaded from the store.
            #[test]
            fn cache_agrees_with_the_entries(
                targets in proptest::collection::vec(target(), 0..8),
                queries in proptest::collection::vec(
                    ("[ab]", proptest::option::of("[ab]"), "[ab]", -6i64..6), 1..16),
            ) {
                let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                runtime.block_on(async {
                    let store = Arc::new(MemoryStore::new());
                    let local = CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap();
                    local.refresh().await.unwrap();
                    for target in &targets {
                        local.revoke_at(target.clone(), OffsetDateTime::now_utc()).await.unwrap();
                    }
                    let remote = CachedRevocationChecker::new(store, RevocationCacheConfig::default()).unwrap();
                    remote.refresh().await.unwrap();
                    for (subject, sid, jti, secs) in &queries {
                        let query = RevocationQuery {
                            subject,
                            session_id: sid.as_deref(),
                            token_id: jti,
                            issued_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1000 + secs),
                        };
                        let expected = targets.iter().any(|target| target.matches(&query));
                        prop_assert_eq!(local.check_cached(&query).unwrap(), expected);
                        prop_assert_eq!(remote.check_cached(&query).unwrap(), expected);
                    }
                    Ok(())
                })?;
            }
        }
    }

    #[test]
    fn invalid_configs_are_refused() {
        let store: Arc<dyn RevocationStore> = Arc::new(MemoryStore::new());
        let base = RevocationCacheConfig::default();
        for config in [
            base.with_refresh_interval(Duration::ZERO),
            base.with_max_staleness(base.refresh_interval),
            base.with_retention(Duration::ZERO),
            base.with_purge_interval(Some(Duration::ZERO)),
        ] {
            assert!(CachedRevocationChecker::new(store.clone(), config).is_err());
        }
    }

    #[tokio::test]
    async fn fails_closed_before_first_load_and_when_stale() {
        let store = Arc::new(MemoryStore::new());
        let config = RevocationCacheConfig::default()
            .with_refresh_interval(Duration::from_millis(10))
            .with_max_staleness(Duration::from_millis(50));
        let checker = CachedRevocationChecker::new(store, config).unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(checker.check_cached(&query("s", now)).is_err());
        checker.refresh().await.unwrap();
        assert!(!checker.check_cached(&query("s", now)).unwrap());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(
            checker.check_cached(&query("s", now)).is_err(),
            "no refresh for longer than max_staleness must fail closed"
        );
    }

    #[tokio::test]
    async fn local_revocation_survives_a_refresh_that_read_the_store_earlier() {
        // Simulates the race by revoking locally while the store write is lost: the entry must
        // stay in force across refreshes until it expires.
        let store = Arc::new(MemoryStore::new());
        let checker =
            CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap();
        checker.refresh().await.unwrap();
        checker.revoke_session("s1").await.unwrap();
        store.clear_revocations_for_tests();
        checker.refresh().await.unwrap();
        assert!(
            checker
                .check_cached(&query("s1", OffsetDateTime::now_utc()))
                .unwrap()
        );
    }
}
