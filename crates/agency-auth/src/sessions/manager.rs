//! The session manager: login, refresh with rotation and reuse detection, logout, revoke-all.

use crate::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::{
    RandomUnavailable, RefreshRotation, RefreshToken, RefreshTokenRecord, RotationOutcome,
    SessionExpiry, SessionRecord, SessionRevokeReason,
};
use crate::revocation::{CachedRevocationChecker, RevocationError, RevocationTarget};
use crate::store::{SessionStore, StoreError, normalize_timestamp};

/// The longest grace [`SessionConfig::concurrent_refresh_grace`] accepts.
const MAX_GRACE: Duration = Duration::from_secs(60);
/// Lifetimes above this are refused (they would mean "never expires").
const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

/// Lifetimes and the concurrent-refresh grace of sessions.
///
/// ```
/// use agency_auth::sessions::SessionConfig;
/// use std::time::Duration;
///
/// let config = SessionConfig::default()
///     .with_absolute_lifetime(Duration::from_secs(7 * 24 * 3600))
///     .with_idle_lifetime(Duration::from_secs(24 * 3600))
///     .with_concurrent_refresh_grace(Duration::from_secs(5));
/// assert_eq!(config.concurrent_refresh_grace, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// A session ends this long after login, however active. Default 7 days (the swarm
    /// server's refresh-token lifetime). At most 366 days.
    pub absolute_lifetime: Duration,
    /// A session ends when not refreshed for this long (capped by the absolute lifetime).
    /// Default 24 hours. At most 366 days.
    pub idle_lifetime: Duration,
    /// Zero (the default) disables the grace. Otherwise: when the immediately previous refresh
    /// token of a session is presented less than this long after it was rotated, the refresh
    /// fails with the retryable [`SessionError::ConcurrentRefresh`] instead of revoking the
    /// session. Older tokens, and the previous token once the grace has passed, still revoke
    /// the session. At most 60 s.
    pub concurrent_refresh_grace: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            absolute_lifetime: Duration::from_secs(7 * 24 * 3600),
            idle_lifetime: Duration::from_secs(24 * 3600),
            concurrent_refresh_grace: Duration::ZERO,
        }
    }
}

impl SessionConfig {
    /// Sets [`absolute_lifetime`](Self::absolute_lifetime).
    pub fn with_absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute_lifetime = lifetime;
        self
    }

    /// Sets [`idle_lifetime`](Self::idle_lifetime).
    pub fn with_idle_lifetime(mut self, lifetime: Duration) -> Self {
        self.idle_lifetime = lifetime;
        self
    }

    /// Sets [`concurrent_refresh_grace`](Self::concurrent_refresh_grace).
    pub fn with_concurrent_refresh_grace(mut self, grace: Duration) -> Self {
        self.concurrent_refresh_grace = grace;
        self
    }
}

/// Errors of the session manager. Map every variant except the store and revocation ones to
/// the same `401` for the client; the ids in the variants are for the audit log, not the client.
///
/// ```
/// use agency_auth::sessions::SessionError;
///
/// let error = SessionError::ConcurrentRefresh { session_id: "s1".into() };
/// assert!(error.is_retryable());
/// assert!(!SessionError::InvalidRefreshToken.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Malformed, unknown, or purged refresh token (an access token presented as a refresh token
    /// lands here too).
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A rotated refresh token was presented again: the session has been revoked. Audit as
    /// `auth.refresh_reuse`.
    #[error("refresh token reuse detected; session {session_id} of user {user_id} revoked")]
    RefreshTokenReuse {
        /// The revoked session.
        session_id: String,
        /// Its user.
        user_id: String,
        /// Its tenant.
        tenant_id: String,
    },
    /// Within the configured grace, the token just rotated by a concurrent refresh was
    /// presented; nothing was revoked. The client should retry with the newest token.
    #[error("concurrent refresh of session {session_id}; retry with the newest refresh token")]
    ConcurrentRefresh {
        /// The session.
        session_id: String,
    },
    /// The session outlived its idle or absolute lifetime.
    #[error("session {session_id} expired ({expiry:?} lifetime)")]
    SessionExpired {
        /// The session.
        session_id: String,
        /// Which lifetime ended.
        expiry: SessionExpiry,
    },
    /// The session was revoked (logout, revoke-all or an earlier reuse).
    #[error("session {session_id} was revoked")]
    SessionRevoked {
        /// The session.
        session_id: String,
        /// Why.
        reason: Option<SessionRevokeReason>,
    },
    /// No session with this id.
    #[error("session not found")]
    SessionNotFound,
    /// The [`SessionConfig`] cannot work.
    #[error("invalid session configuration: {0}")]
    InvalidConfig(&'static str),
    /// No random bytes for a new token.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    /// The session store failed.
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    /// The session was revoked in the store, but the access-token revocation could not be
    /// written to the shared revocation store (this instance already enforces it). Retry.
    #[error("revocation could not be recorded: {0}")]
    Revocation(#[from] RevocationError),
}

impl SessionError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::sessions::SessionError;
    /// assert_eq!(SessionError::InvalidRefreshToken.kind(), ErrorKind::CredentialRefused);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidRefreshToken
            | Self::RefreshTokenReuse { .. }
            | Self::SessionExpired { .. }
            | Self::SessionRevoked { .. } => ErrorKind::CredentialRefused,
            Self::ConcurrentRefresh { .. } => ErrorKind::Conflict,
            Self::SessionNotFound => ErrorKind::NotFound,
            Self::Revocation(_) => ErrorKind::Unavailable,
            Self::InvalidConfig(_) | Self::Random(_) => ErrorKind::Internal,
            Self::Store(error) => error.kind(),
        }
    }
}

impl SessionError {
    /// Whether the same call may succeed when retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            SessionError::ConcurrentRefresh { .. } | SessionError::Revocation(_) => true,
            SessionError::Store(error) => error.is_retryable(),
            _ => false,
        }
    }
}

/// A session with a refresh token to hand to the client: the result of a login or a refresh.
#[derive(Debug)]
pub struct IssuedSession {
    /// The session as stored (its `id` is the `sid` for the access token).
    pub session: SessionRecord,
    /// The new refresh token: give it to the client once, never log it.
    pub refresh_token: RefreshToken,
}

impl IssuedSession {
    /// When the refresh token stops working if unused (the idle deadline, never after the
    /// absolute one): the `Max-Age` for a refresh cookie.
    pub fn refresh_token_expires_at(&self) -> OffsetDateTime {
        self.session.idle_expires_at
    }
}

/// Creates, refreshes and revokes sessions over a [`SessionStore`], and writes revocations for
/// access tokens through a [`CachedRevocationChecker`].
///
/// The manager does not look at users: on refresh, load the user (role, disabled) before issuing
/// the access token, and call [`revoke_all_user_sessions`](Self::revoke_all_user_sessions) when a
/// user is disabled, deleted, or changes role or password.
///
/// ```
/// use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig};
/// use agency_auth::sessions::{SessionConfig, SessionError, SessionManager};
/// use agency_auth::store::MemoryStore;
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// let revocations = Arc::new(CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap());
/// revocations.refresh().await.unwrap();
/// let sessions = SessionManager::new(store, revocations, SessionConfig::default()).unwrap();
///
/// let login = sessions.create_session("user-1", "default").await.unwrap();
/// let first = login.refresh_token.expose_secret().to_owned();
/// let refreshed = sessions.refresh(&first).await.unwrap();
/// assert_eq!(refreshed.session.id, login.session.id);
///
/// // The first token was rotated: presenting it again revokes the session.
/// match sessions.refresh(&first).await {
///     Err(SessionError::RefreshTokenReuse { session_id, .. }) => assert_eq!(session_id, login.session.id),
///     other => panic!("expected reuse detection, got {other:?}"),
/// }
/// assert!(sessions.refresh(refreshed.refresh_token.expose_secret()).await.is_err());
/// # })
/// ```
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    revocations: Arc<CachedRevocationChecker>,
    config: SessionConfig,
    absolute: time::Duration,
    idle: time::Duration,
    grace: time::Duration,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", &self.config)
            .field("revocations", &self.revocations)
            .finish_non_exhaustive()
    }
}

fn to_time_duration(
    duration: Duration,
    what: &'static str,
) -> Result<time::Duration, SessionError> {
    time::Duration::try_from(duration).map_err(|_| SessionError::InvalidConfig(what))
}

impl SessionManager {
    /// A manager over `store`, writing access-token revocations through `revocations`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        revocations: Arc<CachedRevocationChecker>,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        if config.absolute_lifetime.is_zero() || config.absolute_lifetime > MAX_LIFETIME {
            return Err(SessionError::InvalidConfig(
                "absolute_lifetime must be above zero and at most 366 days",
            ));
        }
        if config.idle_lifetime.is_zero() || config.idle_lifetime > MAX_LIFETIME {
            return Err(SessionError::InvalidConfig(
                "idle_lifetime must be above zero and at most 366 days",
            ));
        }
        if config.concurrent_refresh_grace > MAX_GRACE {
            return Err(SessionError::InvalidConfig(
                "concurrent_refresh_grace must be at most 60 seconds",
            ));
        }
        Ok(SessionManager {
            store,
            revocations,
            absolute: to_time_duration(config.absolute_lifetime, "absolute_lifetime")?,
            idle: to_time_duration(config.idle_lifetime, "idle_lifetime")?,
            grace: to_time_duration(config.concurrent_refresh_grace, "concurrent_refresh_grace")?,
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The revocation checker this manager writes to (give it to the access-token verifier).
    pub fn revocations(&self) -> &Arc<CachedRevocationChecker> {
        &self.revocations
    }

    /// Starts a session for a user who has just authenticated.
    pub async fn create_session(
        &self,
        user_id: &str,
        tenant_id: &str,
    ) -> Result<IssuedSession, SessionError> {
        self.create_session_at(user_id, tenant_id, OffsetDateTime::now_utc())
            .await
    }

    /// [`create_session`](Self::create_session) at a given time (for tests and replays).
    pub async fn create_session_at(
        &self,
        user_id: &str,
        tenant_id: &str,
        now: OffsetDateTime,
    ) -> Result<IssuedSession, SessionError> {
        let now = normalize_timestamp(now);
        let expires_at = now
            .checked_add(self.absolute)
            .ok_or(SessionError::InvalidConfig("absolute_lifetime overflows"))?;
        let idle_expires_at = self.idle_deadline(now, expires_at)?;
        let refresh_token = RefreshToken::generate()?;
        let session = SessionRecord {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            created_at: now,
            last_refreshed_at: now,
            idle_expires_at,
            expires_at,
            generation: 0,
            revoked_at: None,
            revoke_reason: None,
        };
        let first = RefreshTokenRecord {
            token_hash: refresh_token.hash(),
            session_id: session.id.clone(),
            generation: 0,
            issued_at: now,
            rotated_at: None,
        };
        self.store.create_session(&session, &first).await?;
        Ok(IssuedSession {
            session,
            refresh_token,
        })
    }

    fn idle_deadline(
        &self,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<OffsetDateTime, SessionError> {
        let idle = now
            .checked_add(self.idle)
            .ok_or(SessionError::InvalidConfig("idle_lifetime overflows"))?;
        Ok(idle.min(expires_at))
    }

    /// Exchanges a presented refresh token for a new one (rotation). See the [module
    /// docs](super) for reuse detection and the grace.
    pub async fn refresh(&self, presented: &str) -> Result<IssuedSession, SessionError> {
        self.refresh_at(presented, OffsetDateTime::now_utc()).await
    }

    /// [`refresh`](Self::refresh) at a given time (for tests and replays).
    pub async fn refresh_at(
        &self,
        presented: &str,
        now: OffsetDateTime,
    ) -> Result<IssuedSession, SessionError> {
        let now = normalize_timestamp(now);
        let presented =
            RefreshToken::parse(presented).map_err(|_| SessionError::InvalidRefreshToken)?;
        let presented_hash = presented.hash();
        // A lost compare-and-set means the state moved under us (a concurrent rotation, logout
        // or revoke-all): classify once more against the new state. The second pass cannot see
        // the same token as current again unless the store is inconsistent.
        for _ in 0..2 {
            let lookup = match self.store.find_refresh_token(&presented_hash).await {
                Ok(lookup) => lookup,
                Err(StoreError::NotFound) => return Err(SessionError::InvalidRefreshToken),
                Err(error) => return Err(error.into()),
            };
            let (token, session) = (lookup.token, lookup.session);
            if session.revoked_at.is_some() {
                return Err(SessionError::SessionRevoked {
                    session_id: session.id,
                    reason: session.revoke_reason,
                });
            }
            if let Some(expiry) = session.expiry_at(now) {
                return Err(SessionError::SessionExpired {
                    session_id: session.id,
                    expiry,
                });
            }
            if token.generation != session.generation || token.rotated_at.is_some() {
                return Err(self.presented_rotated_token(&token, session, now).await);
            }
            let new_token = RefreshToken::generate()?;
            let rotation = RefreshRotation {
                session_id: session.id.clone(),
                expected_generation: token.generation,
                presented_hash,
                new_hash: new_token.hash(),
                now,
                idle_expires_at: self.idle_deadline(now, session.expires_at)?,
            };
            match self.store.rotate_refresh_token(&rotation).await? {
                RotationOutcome::Rotated(session) => {
                    return Ok(IssuedSession {
                        session,
                        refresh_token: new_token,
                    });
                }
                RotationOutcome::Stale => continue,
            }
        }
        Err(SessionError::Store(StoreError::Backend(
            "refresh token rotation did not converge".into(),
        )))
    }

    /// A rotated token was presented: within the grace, the immediately previous token gets a
    /// retryable error; anything else revokes the family.
    async fn presented_rotated_token(
        &self,
        token: &RefreshTokenRecord,
        session: SessionRecord,
        now: OffsetDateTime,
    ) -> SessionError {
        let within_grace = !self.grace.is_zero()
            && token.generation.checked_add(1) == Some(session.generation)
            && token
                .rotated_at
                .and_then(|rotated_at| rotated_at.checked_add(self.grace))
                .is_some_and(|grace_ends| now < grace_ends);
        if within_grace {
            return SessionError::ConcurrentRefresh {
                session_id: session.id,
            };
        }
        if let Err(error) = self
            .store
            .revoke_session(&session.id, SessionRevokeReason::RefreshTokenReuse, now)
            .await
        {
            // The reuse is reported regardless; the caller audits it. Without the store
            // revocation the newest token still works, so say so loudly.
            tracing::error!(session_id = %session.id, %error, "could not revoke session after refresh token reuse");
        }
        if let Err(error) = self
            .revocations
            .revoke_at(RevocationTarget::Session(session.id.clone()), now)
            .await
        {
            tracing::error!(session_id = %session.id, %error, "could not record access-token revocation after refresh token reuse");
        }
        SessionError::RefreshTokenReuse {
            session_id: session.id,
            user_id: session.user_id,
            tenant_id: session.tenant_id,
        }
    }

    /// Ends one session (logout): its refresh tokens stop working at once, and its access tokens
    /// fail from the next request on this instance and within the revocation refresh interval on
    /// others. Idempotent: logging out of a revoked session succeeds and keeps the first
    /// revocation. Returns the session as stored afterwards.
    pub async fn logout(&self, session_id: &str) -> Result<SessionRecord, SessionError> {
        self.logout_at(session_id, OffsetDateTime::now_utc()).await
    }

    /// [`logout`](Self::logout) at a given time (for tests and replays).
    pub async fn logout_at(
        &self,
        session_id: &str,
        now: OffsetDateTime,
    ) -> Result<SessionRecord, SessionError> {
        let now = normalize_timestamp(now);
        let session = match self
            .store
            .revoke_session(session_id, SessionRevokeReason::Logout, now)
            .await
        {
            Ok(session) => session,
            Err(StoreError::NotFound) => return Err(SessionError::SessionNotFound),
            Err(error) => return Err(error.into()),
        };
        self.revocations
            .revoke_at(RevocationTarget::Session(session.id.clone()), now)
            .await?;
        Ok(session)
    }

    /// Revokes every session of a user and every access token issued to the user until now. Use
    /// it on logout-everywhere, role change, password change, disabling and deletion. Returns
    /// the sessions this call revoked.
    ///
    /// The user-wide revocation covers every access token issued before `now`, to the
    /// millisecond for tokens of this crate's issuer (their `iat_ms`; a token with only a
    /// whole-second `iat` counts as issued at the start of its second). A login right after this
    /// call, even in the same second, gets a new session whose tokens work; each revoked session
    /// is also revoked by id.
    pub async fn revoke_all_user_sessions(
        &self,
        user_id: &str,
    ) -> Result<Vec<SessionRecord>, SessionError> {
        self.revoke_all_user_sessions_at(user_id, OffsetDateTime::now_utc())
            .await
    }

    /// [`revoke_all_user_sessions`](Self::revoke_all_user_sessions) at a given time.
    pub async fn revoke_all_user_sessions_at(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, SessionError> {
        let now = normalize_timestamp(now);
        let revoked = self
            .store
            .revoke_user_sessions(user_id, SessionRevokeReason::AllSessionsRevoked, now)
            .await?;
        let mut first_error: Option<RevocationError> = None;
        let targets = std::iter::once(RevocationTarget::UserTokensIssuedBefore {
            user_id: user_id.to_owned(),
            before: now,
        })
        .chain(
            revoked
                .iter()
                .map(|session| RevocationTarget::Session(session.id.clone())),
        );
        for target in targets {
            if let Err(error) = self.revocations.revoke_at(target, now).await {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(revoked),
        }
    }

    /// The session with this id.
    pub async fn get_session(&self, session_id: &str) -> Result<SessionRecord, SessionError> {
        match self.store.get_session(session_id).await {
            Ok(session) => Ok(session),
            Err(StoreError::NotFound) => Err(SessionError::SessionNotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// The user's sessions that are neither revoked nor expired, oldest first.
    pub async fn list_active_sessions(
        &self,
        user_id: &str,
    ) -> Result<Vec<SessionRecord>, SessionError> {
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.store.list_user_sessions(user_id).await?;
        sessions.retain(|session| session.is_active_at(now));
        Ok(sessions)
    }

    /// Deletes sessions past their absolute lifetime (with their refresh tokens) and expired
    /// revocation entries. Run it periodically (for example hourly). Returns the number of
    /// sessions deleted.
    pub async fn purge_expired(&self) -> Result<u64, SessionError> {
        let purged = self
            .store
            .purge_expired_sessions(OffsetDateTime::now_utc())
            .await?;
        self.revocations.purge_expired().await?;
        Ok(purged)
    }
}
