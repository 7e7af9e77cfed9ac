//! SQLite backend (feature `sqlite`). Timestamps are stored as unix microseconds (UTC) so that
//! comparisons in SQL are integer comparisons; every write transaction starts with
//! `BEGIN IMMEDIATE`, so concurrent writers queue on SQLite's lock (busy timeout) instead of
//! failing on a read-to-write upgrade.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{Decode, Row, Sqlite, Type};
use time::OffsetDateTime;

use super::sql::{
    KIND_SESSION, KIND_TOKEN, KIND_USER, MIGRATIONS_TABLE, backend, generation_from_db,
    generation_to_db, hash_from_db, key_version_from_db, map_error, migrate_error, reason_from_db,
    returning_session, returning_user, scopes_from_db, scopes_to_db, select_api_keys,
    select_sessions, select_users,
};
use super::{ApiKeyStore, RevocationStore, SessionStore, StoreError, UserRecord, UserStore};
use crate::api_keys::ApiKeyRecord;
use crate::revocation::{RevocationEntry, RevocationTarget};
use crate::sessions::{
    RefreshRotation, RefreshTokenHash, RefreshTokenLookup, RefreshTokenRecord, RotationOutcome,
    SessionRecord, SessionRevokeReason,
};

/// SQLite-backed store implementing every storage trait.
///
/// ```
/// use agency_auth::store::{SqliteStore, UserRecord, UserStore};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("sqlite://{}", dir.path().join("auth.db").display());
/// let store = SqliteStore::connect(&url).await.unwrap(); // creates the file, runs migrations
/// store.create_user(&UserRecord::new("t1", "alice", "$argon2id$…", "viewer")).await.unwrap();
/// assert!(store.get_user_by_username("alice").await.is_ok());
/// # })
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn micros(t: OffsetDateTime) -> i64 {
    let value = t.unix_timestamp_nanos().div_euclid(1_000);
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

fn from_micros(value: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000)
        .map_err(|_| StoreError::Backend("stored timestamp out of range".into()))
}

fn col<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(name).map_err(backend)
}

fn ts(row: &SqliteRow, name: &str) -> Result<OffsetDateTime, StoreError> {
    from_micros(col(row, name)?)
}

fn ts_opt(row: &SqliteRow, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    col::<Option<i64>>(row, name)?.map(from_micros).transpose()
}

fn user_from_row(row: &SqliteRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        username: col(row, "username")?,
        password_hash: col(row, "password_hash")?,
        role: col(row, "role")?,
        disabled: col(row, "disabled")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn session_from_row(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        tenant_id: col(row, "tenant_id")?,
        created_at: ts(row, "created_at")?,
        last_refreshed_at: ts(row, "last_refreshed_at")?,
        idle_expires_at: ts(row, "idle_expires_at")?,
        expires_at: ts(row, "expires_at")?,
        generation: generation_from_db(col(row, "generation")?)?,
        revoked_at: ts_opt(row, "revoked_at")?,
        revoke_reason: reason_from_db(col(row, "revoke_reason")?)?,
    })
}

fn api_key_from_row(row: &SqliteRow) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: col(row, "id")?,
        owner_id: col(row, "owner_id")?,
        tenant_id: col(row, "tenant_id")?,
        name: col(row, "name")?,
        scopes: scopes_from_db(&col::<String>(row, "scopes")?)?,
        secret_hash: col(row, "secret_hash")?,
        hash_key_version: key_version_from_db(col(row, "hash_key_version")?)?,
        created_at: ts(row, "created_at")?,
        expires_at: ts_opt(row, "expires_at")?,
        revoked_at: ts_opt(row, "revoked_at")?,
        last_used_at: ts_opt(row, "last_used_at")?,
    })
}

fn revocation_from_row(row: &SqliteRow) -> Result<RevocationEntry, StoreError> {
    let kind: String = col(row, "kind")?;
    let subject: String = col(row, "subject")?;
    let target = match kind.as_str() {
        KIND_SESSION => RevocationTarget::Session(subject),
        KIND_TOKEN => RevocationTarget::Token(subject),
        KIND_USER => RevocationTarget::UserTokensIssuedBefore {
            user_id: subject,
            before: ts_opt(row, "revoked_before")?.ok_or_else(|| {
                StoreError::Backend("stored user revocation has no instant".into())
            })?,
        },
        _ => {
            return Err(StoreError::Backend(
                "stored revocation kind is unknown".into(),
            ));
        }
    };
    Ok(RevocationEntry {
        target,
        created_at: ts(row, "created_at")?,
        expires_at: ts(row, "expires_at")?,
    })
}

fn sort_sessions(sessions: &mut [SessionRecord]) {
    sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` (`sqlite://path/to/file.db`, or
    /// `sqlite::memory:` for a private in-memory database) and runs the migrations. File
    /// databases use WAL journaling and a 5 s busy timeout; an in-memory database uses a single
    /// connection that is never closed, since it vanishes with its last connection.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::Config("invalid SQLite URL".into()))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
        } else {
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await
        }
        .map_err(backend)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (enable foreign keys on it) and runs the migrations. The
    /// migrations are tracked in their own table, `_agency_auth_migrations`, so other crates
    /// can share the database.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await.map_err(migrate_error)?;
        Ok(SqliteStore { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_users (id, tenant_id, username, password_hash, role, disabled, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(&user.id)
        .bind(&user.tenant_id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.role)
        .bind(user.disabled)
        .bind(micros(user.created_at))
        .bind(micros(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "user id or username already exists"))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(select_users!("WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn get_user_by_username(&self, username: &str) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(select_users!("WHERE username = ?1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_users")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        u64::try_from(count).map_err(|_| StoreError::Backend("negative user count".into()))
    }

    async fn list_users_by_tenant(&self, tenant_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        sqlx::query(select_users!(
            "WHERE tenant_id = ?1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn update_user_role(
        &self,
        id: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(returning_user!(
            "UPDATE auth_users SET role = ?1, updated_at = ?2 WHERE id = ?3"
        ))
        .bind(role)
        .bind(micros(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn update_user_password_hash(
        &self,
        id: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(returning_user!(
            "UPDATE auth_users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3"
        ))
        .bind(password_hash)
        .bind(micros(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(returning_user!(
            "UPDATE auth_users SET disabled = ?1, updated_at = ?2 WHERE id = ?3"
        ))
        .bind(disabled)
        .bind(micros(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn delete_user(&self, id: &str) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM auth_users WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
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
        let conflict = "session id or refresh token already exists";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO auth_sessions (id, user_id, tenant_id, created_at, last_refreshed_at, \
             idle_expires_at, expires_at, generation, revoked_at, revoke_reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(&session.tenant_id)
        .bind(micros(session.created_at))
        .bind(micros(session.last_refreshed_at))
        .bind(micros(session.idle_expires_at))
        .bind(micros(session.expires_at))
        .bind(generation_to_db(session.generation)?)
        .bind(session.revoked_at.map(micros))
        .bind(session.revoke_reason.map(SessionRevokeReason::as_str))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_error(e, conflict))?;
        sqlx::query(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id, generation, issued_at, \
             rotated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(first_token.token_hash.as_bytes().as_slice())
        .bind(&first_token.session_id)
        .bind(generation_to_db(first_token.generation)?)
        .bind(micros(first_token.issued_at))
        .bind(first_token.rotated_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_error(e, conflict))?;
        tx.commit().await.map_err(backend)
    }

    async fn get_session(&self, session_id: &str) -> Result<SessionRecord, StoreError> {
        let row = sqlx::query(select_sessions!("WHERE id = ?1"))
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        session_from_row(&row)
    }

    async fn find_refresh_token(
        &self,
        token_hash: &RefreshTokenHash,
    ) -> Result<RefreshTokenLookup, StoreError> {
        let row = sqlx::query(
            "SELECT t.token_hash AS t_token_hash, t.generation AS t_generation, \
             t.issued_at AS t_issued_at, t.rotated_at AS t_rotated_at, \
             s.id, s.user_id, s.tenant_id, s.created_at, s.last_refreshed_at, \
             s.idle_expires_at, s.expires_at, s.generation, s.revoked_at, s.revoke_reason \
             FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id \
             WHERE t.token_hash = ?1",
        )
        .bind(token_hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let session = session_from_row(&row)?;
        let token = RefreshTokenRecord {
            token_hash: hash_from_db(&col::<Vec<u8>>(&row, "t_token_hash")?)?,
            session_id: session.id.clone(),
            generation: generation_from_db(col(&row, "t_generation")?)?,
            issued_at: ts(&row, "t_issued_at")?,
            rotated_at: ts_opt(&row, "t_rotated_at")?,
        };
        Ok(RefreshTokenLookup { token, session })
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
    ) -> Result<RotationOutcome, StoreError> {
        let now = micros(rotation.now);
        let expected = generation_to_db(rotation.expected_generation)?;
        let next = generation_to_db(
            rotation
                .expected_generation
                .checked_add(1)
                .ok_or_else(|| StoreError::Backend("refresh generation overflow".into()))?,
        )?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        // The compare-and-set: only the caller that still sees `expected` moves the session on.
        let Some(row) = sqlx::query(returning_session!(
            "UPDATE auth_sessions SET generation = ?1, last_refreshed_at = ?2, \
             idle_expires_at = ?3 WHERE id = ?4 AND generation = ?5 AND revoked_at IS NULL \
             AND expires_at > ?2 AND idle_expires_at > ?2"
        ))
        .bind(next)
        .bind(now)
        .bind(micros(rotation.idle_expires_at))
        .bind(&rotation.session_id)
        .bind(expected)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(RotationOutcome::Stale);
        };
        let session = session_from_row(&row)?;
        let marked = sqlx::query(
            "UPDATE auth_refresh_tokens SET rotated_at = ?1 WHERE token_hash = ?2 \
             AND session_id = ?3 AND generation = ?4 AND rotated_at IS NULL",
        )
        .bind(now)
        .bind(rotation.presented_hash.as_bytes().as_slice())
        .bind(&rotation.session_id)
        .bind(expected)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if marked.rows_affected() != 1 {
            // The presented token is not this session's current one: write nothing.
            return Ok(RotationOutcome::Stale);
        }
        sqlx::query(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id, generation, issued_at, \
             rotated_at) VALUES (?1, ?2, ?3, ?4, NULL)",
        )
        .bind(rotation.new_hash.as_bytes().as_slice())
        .bind(&rotation.session_id)
        .bind(next)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_error(e, "refresh token already exists"))?;
        tx.commit().await.map_err(backend)?;
        Ok(RotationOutcome::Rotated(session))
    }

    async fn revoke_session(
        &self,
        session_id: &str,
        reason: SessionRevokeReason,
        now: OffsetDateTime,
    ) -> Result<SessionRecord, StoreError> {
        let row = sqlx::query(returning_session!(
            "UPDATE auth_sessions SET revoked_at = COALESCE(revoked_at, ?1), \
             revoke_reason = CASE WHEN revoked_at IS NULL THEN ?2 ELSE revoke_reason END \
             WHERE id = ?3"
        ))
        .bind(micros(now))
        .bind(reason.as_str())
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        session_from_row(&row)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        reason: SessionRevokeReason,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions = sqlx::query(returning_session!(
            "UPDATE auth_sessions SET revoked_at = ?1, revoke_reason = ?2 \
             WHERE user_id = ?3 AND revoked_at IS NULL"
        ))
        .bind(micros(now))
        .bind(reason.as_str())
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(session_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        sort_sessions(&mut sessions);
        Ok(sessions)
    }

    async fn list_user_sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        sqlx::query(select_sessions!(
            "WHERE user_id = ?1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = micros(now);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        sqlx::query(
            "DELETE FROM auth_refresh_tokens WHERE session_id IN \
             (SELECT id FROM auth_sessions WHERE expires_at <= ?1)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let deleted = sqlx::query("DELETE FROM auth_sessions WHERE expires_at <= ?1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(deleted)
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_api_keys (id, owner_id, tenant_id, name, scopes, secret_hash, \
             hash_key_version, created_at, expires_at, revoked_at, last_used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .bind(&key.id)
        .bind(&key.owner_id)
        .bind(&key.tenant_id)
        .bind(&key.name)
        .bind(scopes_to_db(&key.scopes)?)
        .bind(key.secret_hash.as_slice())
        .bind(i64::from(key.hash_key_version))
        .bind(micros(key.created_at))
        .bind(key.expires_at.map(micros))
        .bind(key.revoked_at.map(micros))
        .bind(key.last_used_at.map(micros))
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "api key id already exists"))?;
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError> {
        let row = sqlx::query(select_api_keys!("WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        api_key_from_row(&row)
    }

    async fn list_api_keys_by_owner(
        &self,
        owner_id: &str,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        sqlx::query(select_api_keys!(
            "WHERE owner_id = ?1 ORDER BY created_at, id"
        ))
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(api_key_from_row)
        .collect()
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<ApiKeyRecord, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE auth_api_keys SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2 ",
            "RETURNING id, owner_id, tenant_id, name, scopes, secret_hash, hash_key_version, ",
            "created_at, expires_at, revoked_at, last_used_at"
        ))
        .bind(micros(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        api_key_from_row(&row)
    }

    async fn revoke_api_keys_by_owner(
        &self,
        owner_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE auth_api_keys SET revoked_at = ?1 WHERE owner_id = ?2 AND revoked_at IS NULL",
        )
        .bind(micros(now))
        .bind(owner_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(result.rows_affected())
    }

    async fn record_api_key_used(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE auth_api_keys SET last_used_at = MAX(COALESCE(last_used_at, ?1), ?1) \
             WHERE id = ?2",
        )
        .bind(micros(at))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for SqliteStore {
    async fn add_revocation(&self, entry: &RevocationEntry) -> Result<(), StoreError> {
        let (kind, subject, before) = match &entry.target {
            RevocationTarget::Session(id) => (KIND_SESSION, id, None),
            RevocationTarget::Token(id) => (KIND_TOKEN, id, None),
            RevocationTarget::UserTokensIssuedBefore { user_id, before } => {
                (KIND_USER, user_id, Some(micros(*before)))
            }
        };
        sqlx::query(
            "INSERT INTO auth_revocations (kind, subject, revoked_before, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, subject) DO UPDATE SET \
             revoked_before = MAX(auth_revocations.revoked_before, excluded.revoked_before), \
             created_at = MAX(auth_revocations.created_at, excluded.created_at), \
             expires_at = MAX(auth_revocations.expires_at, excluded.expires_at)",
        )
        .bind(kind)
        .bind(subject)
        .bind(before)
        .bind(micros(entry.created_at))
        .bind(micros(entry.expires_at))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn list_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        sqlx::query(
            "SELECT kind, subject, revoked_before, created_at, expires_at FROM auth_revocations \
             WHERE expires_at > ?1",
        )
        .bind(micros(now))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(revocation_from_row)
        .collect()
    }

    async fn purge_expired_revocations(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM auth_revocations WHERE expires_at <= ?1")
                .bind(micros(now))
                .execute(&self.pool)
                .await
                .map_err(backend)?
                .rows_affected(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_truncate() {
        let t = time::macros::datetime!(2026-11-22 19:50:01.123456789 UTC);
        assert_eq!(
            from_micros(micros(t)).unwrap(),
            super::super::normalize_timestamp(t)
        );
        let before_epoch = time::macros::datetime!(1969-12-31 23:59:59.9999999 UTC);
        assert_eq!(
            from_micros(micros(before_epoch)).unwrap(),
            super::super::normalize_timestamp(before_epoch)
        );
    }
}
