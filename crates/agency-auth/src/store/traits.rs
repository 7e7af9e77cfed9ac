//! The storage traits. Each method is one atomic operation on the backend.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{StoreError, UserRecord};
use crate::api_keys::ApiKeyRecord;
use crate::revocation::RevocationEntry;
use crate::sessions::{
    RefreshRotation, RefreshTokenHash, RefreshTokenLookup, RefreshTokenRecord, RotationOutcome,
    SessionRecord, SessionRevokeReason,
};

/// User accounts.
///
/// ```
/// use agency_auth::store::{MemoryStore, UserRecord, UserStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let user = UserRecord::new("default", "alice", "$argon2id$…", "viewer");
/// store.create_user(&user).await.unwrap();
/// let found = store.get_user_by_username("alice").await.unwrap();
/// assert_eq!(found.id, user.id);
/// # })
/// ```
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user. [`StoreError::Conflict`] when the id or the username exists already.
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// The user with this id, or [`StoreError::NotFound`].
    async fn get_user(&self, id: &str) -> Result<UserRecord, StoreError>;
    /// The user with this exact username, or [`StoreError::NotFound`].
    async fn get_user_by_username(&self, username: &str) -> Result<UserRecord, StoreError>;
    /// How many users exist in all tenants (for example to bootstrap a first admin).
    async fn count_users(&self) -> Result<u64, StoreError>;
    /// Users of a tenant, oldest first (ties by id).
    async fn list_users_by_tenant(&self, tenant_id: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// Sets the role and `updated_at`; returns the updated user.
    async fn update_user_role(
        &self,
        id: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError>;
    /// Sets the password hash (PHC string) and `updated_at`; returns the updated user.
    async fn update_user_password_hash(
        &self,
        id: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError>;
    /// Enables or disables the user and sets `updated_at`; returns the updated user.
    async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError>;
    /// Deletes the user, or [`StoreError::NotFound`]. Sessions and API keys are separate records:
    /// revoke them through the session manager and the API key store.
    async fn delete_user(&self, id: &str) -> Result<(), StoreError>;
}

/// Sessions and their refresh-token families.
///
/// ```
/// use agency_auth::sessions::{RefreshToken, RefreshTokenRecord, SessionRecord};
/// use agency_auth::store::{MemoryStore, SessionStore};
/// use time::{Duration, OffsetDateTime};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let now = agency_auth::store::normalize_timestamp(OffsetDateTime::now_utc());
/// let token = RefreshToken::generate().unwrap();
/// let session = SessionRecord {
///     id: "s1".into(), user_id: "u1".into(), tenant_id: "t1".into(),
///     created_at: now, last_refreshed_at: now,
///     idle_expires_at: now + Duration::hours(1), expires_at: now + Duration::days(1),
///     generation: 0, revoked_at: None, revoke_reason: None,
/// };
/// let first = RefreshTokenRecord {
///     token_hash: token.hash(), session_id: "s1".into(), generation: 0,
///     issued_at: now, rotated_at: None,
/// };
/// store.create_session(&session, &first).await.unwrap();
/// let found = store.find_refresh_token(&token.hash()).await.unwrap();
/// assert_eq!(found.session, session);
/// # })
/// ```
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a session and its first refresh token, both or neither.
    /// [`StoreError::Conflict`] when the session id or token hash exists already;
    /// [`StoreError::Config`] when the token's `session_id` is not the session's id.
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &RefreshTokenRecord,
    ) -> Result<(), StoreError>;
    /// The session with this id, or [`StoreError::NotFound`].
    async fn get_session(&self, session_id: &str) -> Result<SessionRecord, StoreError>;
    /// The refresh token with this hash and its session, or [`StoreError::NotFound`].
    async fn find_refresh_token(
        &self,
        token_hash: &RefreshTokenHash,
    ) -> Result<RefreshTokenLookup, StoreError>;
    /// Rotates atomically as described on [`RefreshRotation`]; [`RotationOutcome::Stale`] when
    /// the compare-and-set fails.
    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
    ) -> Result<RotationOutcome, StoreError>;
    /// Revokes one session. An already revoked session keeps its first revocation time and
    /// reason. Returns the session as stored afterwards, or [`StoreError::NotFound`].
    async fn revoke_session(
        &self,
        session_id: &str,
        reason: SessionRevokeReason,
        now: OffsetDateTime,
    ) -> Result<SessionRecord, StoreError>;
    /// Revokes every not yet revoked session of the user in one step; returns the sessions this
    /// call revoked.
    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        reason: SessionRevokeReason,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// Every stored session of the user (active, revoked or expired but not yet purged), oldest
    /// first.
    async fn list_user_sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError>;
    /// Deletes sessions whose absolute lifetime ended at or before `now`, with their refresh
    /// tokens; returns how many sessions were deleted.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// API keys (only their stored form: see [`ApiKeyRecord`]).
///
/// ```
/// use agency_auth::api_keys::ApiKeyRecord;
/// use agency_auth::store::{ApiKeyStore, MemoryStore};
/// use time::OffsetDateTime;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let key = ApiKeyRecord {
///     id: "k1".into(), owner_id: "u1".into(), tenant_id: "t1".into(), name: "ci".into(),
///     scopes: vec!["agents:read".into()], secret_hash: vec![0; 32], hash_key_version: 1,
///     created_at: OffsetDateTime::UNIX_EPOCH, expires_at: None, revoked_at: None,
///     last_used_at: None,
/// };
/// store.insert_api_key(&key).await.unwrap();
/// assert_eq!(store.list_api_keys_by_owner("u1").await.unwrap().len(), 1);
/// # })
/// ```
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts a key. [`StoreError::Conflict`] when the id exists already.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// The key with this id, or [`StoreError::NotFound`].
    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError>;
    /// Keys of an owner (revoked and expired ones included), oldest first.
    async fn list_api_keys_by_owner(&self, owner_id: &str)
    -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes a key; an already revoked key keeps its first revocation time. Returns the key
    /// as stored afterwards, or [`StoreError::NotFound`].
    async fn revoke_api_key(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<ApiKeyRecord, StoreError>;
    /// Revokes every key of an owner that is not revoked yet (keys already revoked keep their
    /// first revocation time), in one statement: for deleting or disabling a user. Returns how
    /// many keys this call revoked; an owner without keys is not an error.
    async fn revoke_api_keys_by_owner(
        &self,
        owner_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Records a use: `last_used_at` only ever moves forward (a late, older write is ignored).
    /// [`StoreError::NotFound`] when the key does not exist.
    async fn record_api_key_used(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError>;
}

/// The shared list of revocations that access-token verification consults (through
/// [`CachedRevocationChecker`](crate::revocation::CachedRevocationChecker)).
///
/// ```
/// use agency_auth::revocation::{RevocationEntry, RevocationTarget};
/// use agency_auth::store::{MemoryStore, RevocationStore};
/// use time::{Duration, OffsetDateTime};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let now = OffsetDateTime::now_utc();
/// let entry = RevocationEntry::new(RevocationTarget::Session("s1".into()), now, now + Duration::hours(1));
/// store.add_revocation(&entry).await.unwrap();
/// assert_eq!(store.list_revocations(now).await.unwrap().len(), 1);
/// assert!(store.list_revocations(now + Duration::hours(2)).await.unwrap().is_empty());
/// # })
/// ```
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Adds a revocation. An entry for the same target is merged: the later `expires_at`, and for
    /// a user the later `before` instant, win.
    async fn add_revocation(&self, entry: &RevocationEntry) -> Result<(), StoreError>;
    /// Entries still in force at `now` (`expires_at > now`).
    async fn list_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<RevocationEntry>, StoreError>;
    /// Deletes entries with `expires_at <= now`; returns how many.
    async fn purge_expired_revocations(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
