//! In-memory backend: every trait, one mutex, nothing persisted.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    ApiKeyStore, RevocationStore, SessionStore, StoreError, UserRecord, UserStore,
    normalize_timestamp as norm,
};
use crate::api_keys::ApiKeyRecord;
use crate::revocation::{RevocationEntry, RevocationTarget};
use crate::sessions::{
    RefreshRotation, RefreshTokenHash, RefreshTokenLookup, RefreshTokenRecord, RotationOutcome,
    SessionRecord, SessionRevokeReason,
};

/// Keeps everything in process memory. Each operation holds one mutex for its whole duration,
/// so every operation is atomic. For tests, examples and single-instance services that accept
/// losing sessions on restart.
///
/// ```
/// use agency_auth::store::{MemoryStore, UserRecord, UserStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.create_user(&UserRecord::new("t1", "alice", "$argon2id$…", "viewer")).await.unwrap();
/// assert_eq!(store.list_users_by_tenant("t1").await.unwrap().len(), 1);
/// # })
/// ```
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, UserRecord>,
    user_ids_by_name: HashMap<String, String>,
    sessions: HashMap<String, SessionRecord>,
    tokens: HashMap<RefreshTokenHash, RefreshTokenRecord>,
    api_keys: HashMap<String, ApiKeyRecord>,
    revocations: HashMap<(u8, String), RevocationEntry>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("MemoryStore");
        if let Ok(inner) = self.inner.lock() {
            debug
                .field("users", &inner.users.len())
                .field("sessions", &inner.sessions.len())
                .field("refresh_tokens", &inner.tokens.len())
                .field("api_keys", &inner.api_keys.len())
                .field("revocations", &inner.revocations.len());
        }
        debug.finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    #[cfg(test)]
    pub(crate) fn clear_revocations_for_tests(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.revocations.clear();
        }
    }
}

fn norm_user(user: &UserRecord) -> UserRecord {
    UserRecord {
        created_at: norm(user.created_at),
        updated_at: norm(user.updated_at),
        ..user.clone()
    }
}

fn norm_session(session: &SessionRecord) -> SessionRecord {
    SessionRecord {
        created_at: norm(session.created_at),
        last_refreshed_at: norm(session.last_refreshed_at),
        idle_expires_at: norm(session.idle_expires_at),
        expires_at: norm(session.expires_at),
        revoked_at: session.revoked_at.map(norm),
        ..session.clone()
    }
}

fn norm_token(token: &RefreshTokenRecord) -> RefreshTokenRecord {
    RefreshTokenRecord {
        issued_at: norm(token.issued_at),
        rotated_at: token.rotated_at.map(norm),
        ..token.clone()
    }
}

fn norm_api_key(key: &ApiKeyRecord) -> ApiKeyRecord {
    ApiKeyRecord {
        created_at: norm(key.created_at),
        expires_at: key.expires_at.map(norm),
        revoked_at: key.revoked_at.map(norm),
        last_used_at: key.last_used_at.map(norm),
        ..key.clone()
    }
}

fn revocation_key(target: &RevocationTarget) -> (u8, String) {
    match target {
        RevocationTarget::Session(id) => (0, id.clone()),
        RevocationTarget::Token(id) => (1, id.clone()),
        RevocationTarget::UserTokensIssuedBefore { user_id, .. } => (2, user_id.clone()),
    }
}

impl Inner {
    fn user_mut(&mut self, id: &str) -> Result<&mut UserRecord, StoreError> {
        self.users.get_mut(id).ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.users.contains_key(&user.id) || inner.user_ids_by_name.contains_key(&user.username)
        {
            return Err(StoreError::Conflict("user id or username already exists"));
        }
        inner
            .user_ids_by_name
            .insert(user.username.clone(), user.id.clone());
        inner.users.insert(user.id.clone(), norm_user(user));
        Ok(())
    }

    async fn get_user(&self, id: &str) -> Result<UserRecord, StoreError> {
        self.lock()?
            .users
            .get(id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn get_user_by_username(&self, username: &str) -> Result<UserRecord, StoreError> {
        let inner = self.lock()?;
        inner
            .user_ids_by_name
            .get(username)
            .and_then(|id| inner.users.get(id))
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.users.len() as u64)
    }

    async fn list_users_by_tenant(&self, tenant_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        let inner = self.lock()?;
        let mut users: Vec<UserRecord> = inner
            .users
            .values()
            .filter(|user| user.tenant_id == tenant_id)
            .cloned()
            .collect();
        users.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(users)
    }

    async fn update_user_role(
        &self,
        id: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError> {
        let mut inner = self.lock()?;
        let user = inner.user_mut(id)?;
        role.clone_into(&mut user.role);
        user.updated_at = norm(now);
        Ok(user.clone())
    }

    async fn update_user_password_hash(
        &self,
        id: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError> {
        let mut inner = self.lock()?;
        let user = inner.user_mut(id)?;
        password_hash.clone_into(&mut user.password_hash);
        user.updated_at = norm(now);
        Ok(user.clone())
    }

    async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError> {
        let mut inner = self.lock()?;
        let user = inner.user_mut(id)?;
        user.disabled = disabled;
        user.updated_at = norm(now);
        Ok(user.clone())
    }

    async fn delete_user(&self, id: &str) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let user = inner.users.remove(id).ok_or(StoreError::NotFound)?;
        inner.user_ids_by_name.remove(&user.username);
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        if first_token.session_id != session.id {
            return Err(StoreError::Config(
                "the first refresh token must belong to the new session".into(),
            ));
        }
        let mut inner = self.lock()?;
        if inner.sessions.contains_key(&session.id)
            || inner.tokens.contains_key(&first_token.token_hash)
        {
            return Err(StoreError::Conflict(
                "session id or refresh token already exists",
            ));
        }
        inner
            .sessions
            .insert(session.id.clone(), norm_session(session));
        inner
            .tokens
            .insert(first_token.token_hash, norm_token(first_token));
        Ok(())
    }

    async fn get_session(&self, session_id: &str) -> Result<SessionRecord, StoreError> {
        self.lock()?
            .sessions
            .get(session_id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn find_refresh_token(
        &self,
        token_hash: &RefreshTokenHash,
    ) -> Result<RefreshTokenLookup, StoreError> {
        let inner = self.lock()?;
        let token = inner.tokens.get(token_hash).ok_or(StoreError::NotFound)?;
        let session = inner
            .sessions
            .get(&token.session_id)
            .ok_or(StoreError::NotFound)?;
        Ok(RefreshTokenLookup {
            token: token.clone(),
            session: session.clone(),
        })
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
    ) -> Result<RotationOutcome, StoreError> {
        let now = norm(rotation.now);
        let mut inner = self.lock()?;
        let Some(session) = inner.sessions.get(&rotation.session_id) else {
            return Ok(RotationOutcome::Stale);
        };
        let session_ok = session.generation == rotation.expected_generation
            && session.revoked_at.is_none()
            && session.expires_at > now
            && session.idle_expires_at > now;
        let token_ok = inner
            .tokens
            .get(&rotation.presented_hash)
            .is_some_and(|token| {
                token.session_id == rotation.session_id
                    && token.generation == rotation.expected_generation
                    && token.rotated_at.is_none()
            });
        if !session_ok || !token_ok {
            return Ok(RotationOutcome::Stale);
        }
        // Checked after the compare-and-set conditions, in the order the SQL backends meet them.
        if inner.tokens.contains_key(&rotation.new_hash) {
            return Err(StoreError::Conflict("refresh token already exists"));
        }
        let Some(next_generation) = rotation.expected_generation.checked_add(1) else {
            return Err(StoreError::Backend("refresh generation overflow".into()));
        };
        if let Some(token) = inner.tokens.get_mut(&rotation.presented_hash) {
            token.rotated_at = Some(now);
        }
        inner.tokens.insert(
            rotation.new_hash,
            RefreshTokenRecord {
                token_hash: rotation.new_hash,
                session_id: rotation.session_id.clone(),
                generation: next_generation,
                issued_at: now,
                rotated_at: None,
            },
        );
        let session = inner
            .sessions
            .get_mut(&rotation.session_id)
            .ok_or(StoreError::NotFound)?;
        session.generation = next_generation;
        session.last_refreshed_at = now;
        session.idle_expires_at = norm(rotation.idle_expires_at);
        Ok(RotationOutcome::Rotated(session.clone()))
    }

    async fn revoke_session(
        &self,
        session_id: &str,
        reason: SessionRevokeReason,
        now: OffsetDateTime,
    ) -> Result<SessionRecord, StoreError> {
        let mut inner = self.lock()?;
        let session = inner
            .sessions
            .get_mut(session_id)
            .ok_or(StoreError::NotFound)?;
        if session.revoked_at.is_none() {
            session.revoked_at = Some(norm(now));
            session.revoke_reason = Some(reason);
        }
        Ok(session.clone())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        reason: SessionRevokeReason,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let now = norm(now);
        let mut inner = self.lock()?;
        let mut revoked: Vec<SessionRecord> = inner
            .sessions
            .values_mut()
            .filter(|session| session.user_id == user_id && session.revoked_at.is_none())
            .map(|session| {
                session.revoked_at = Some(now);
                session.revoke_reason = Some(reason);
                session.clone()
            })
            .collect();
        revoked.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(revoked)
    }

    async fn list_user_sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let inner = self.lock()?;
        let mut sessions: Vec<SessionRecord> = inner
            .sessions
            .values()
            .filter(|session| session.user_id == user_id)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(sessions)
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = norm(now);
        let mut inner = self.lock()?;
        let before = inner.sessions.len();
        inner.sessions.retain(|_, session| session.expires_at > now);
        let removed = before - inner.sessions.len();
        let Inner {
            sessions, tokens, ..
        } = &mut *inner;
        tokens.retain(|_, token| sessions.contains_key(&token.session_id));
        Ok(removed as u64)
    }
}

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.api_keys.contains_key(&key.id) {
            return Err(StoreError::Conflict("api key id already exists"));
        }
        inner.api_keys.insert(key.id.clone(), norm_api_key(key));
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError> {
        self.lock()?
            .api_keys
            .get(id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn list_api_keys_by_owner(
        &self,
        owner_id: &str,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let inner = self.lock()?;
        let mut keys: Vec<ApiKeyRecord> = inner
            .api_keys
            .values()
            .filter(|key| key.owner_id == owner_id)
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<ApiKeyRecord, StoreError> {
        let mut inner = self.lock()?;
        let key = inner.api_keys.get_mut(id).ok_or(StoreError::NotFound)?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(norm(now));
        }
        Ok(key.clone())
    }

    async fn revoke_api_keys_by_owner(
        &self,
        owner_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let mut revoked = 0;
        for key in inner.api_keys.values_mut() {
            if key.owner_id == owner_id && key.revoked_at.is_none() {
                key.revoked_at = Some(norm(now));
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn record_api_key_used(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let at = norm(at);
        let mut inner = self.lock()?;
        let key = inner.api_keys.get_mut(id).ok_or(StoreError::NotFound)?;
        if key.last_used_at.is_none_or(|last| last < at) {
            key.last_used_at = Some(at);
        }
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn add_revocation(&self, entry: &RevocationEntry) -> Result<(), StoreError> {
        let mut normalized = entry.clone();
        normalized.created_at = norm(entry.created_at);
        normalized.expires_at = norm(entry.expires_at);
        if let RevocationTarget::UserTokensIssuedBefore { before, .. } = &mut normalized.target {
            *before = norm(*before);
        }
        let mut inner = self.lock()?;
        match inner.revocations.get_mut(&revocation_key(&entry.target)) {
            None => {
                inner
                    .revocations
                    .insert(revocation_key(&entry.target), normalized);
            }
            Some(existing) => {
                existing.created_at = existing.created_at.max(normalized.created_at);
                existing.expires_at = existing.expires_at.max(normalized.expires_at);
                if let (
                    RevocationTarget::UserTokensIssuedBefore { before: old, .. },
                    RevocationTarget::UserTokensIssuedBefore { before: new, .. },
                ) = (&mut existing.target, &normalized.target)
                {
                    *old = (*old).max(*new);
                }
            }
        }
        Ok(())
    }

    async fn list_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .revocations
            .values()
            .filter(|entry| entry.expires_at > now)
            .cloned()
            .collect())
    }

    async fn purge_expired_revocations(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.revocations.len();
        inner.revocations.retain(|_, entry| entry.expires_at > now);
        Ok((before - inner.revocations.len()) as u64)
    }
}
