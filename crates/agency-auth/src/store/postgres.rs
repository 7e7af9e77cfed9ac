//! PostgreSQL backend (feature `postgres`). Timestamps are `TIMESTAMPTZ` (microseconds).
//! Transactions run at READ COMMITTED: the rotation's conditional `UPDATE` waits for a
//! concurrent one on the same row and then re-checks its condition, so only one wins.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Decode, Postgres, Row, Type};
use time::OffsetDateTime;

use super::sql::{
    KIND_SESSION, KIND_TOKEN, KIND_USER, MIGRATIONS_TABLE, backend, generation_from_db,
    generation_to_db, hash_from_db, key_version_from_db, map_error, migrate_error, reason_from_db,
    returning_session, returning_user, scopes_from_db, scopes_to_db, select_api_keys,
    select_sessions, select_users,
};
use super::{
    ApiKeyStore, RevocationStore, SessionStore, StoreError, UserRecord, UserStore,
    normalize_timestamp,
};
use crate::api_keys::ApiKeyRecord;
use crate::revocation::{RevocationEntry, RevocationTarget};
use crate::sessions::{
    RefreshRotation, RefreshTokenHash, RefreshTokenLookup, RefreshTokenRecord, RotationOutcome,
    SessionRecord, SessionRevokeReason,
};

/// PostgreSQL-backed store implementing every storage trait.
///
/// ```no_run
/// use agency_auth::store::{PostgresStore, UserRecord, UserStore};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = PostgresStore::connect_with_schema("postgres://postgres@127.0.0.1:5432/test", "auth")
///     .await
///     .unwrap(); // creates the schema if missing, runs the migrations in it
/// store.create_user(&UserRecord::new("t1", "alice", "$argon2id$…", "viewer")).await.unwrap();
/// assert!(store.get_user_by_username("alice").await.is_ok());
/// # })
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// Binds timestamps already truncated to microseconds, so PostgreSQL stores exactly the value
/// the other backends keep.
fn pg_time(t: OffsetDateTime) -> OffsetDateTime {
    normalize_timestamp(t)
}

fn col<'r, T>(row: &'r PgRow, name: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(name).map_err(backend)
}

fn ts(row: &PgRow, name: &str) -> Result<OffsetDateTime, StoreError> {
    col(row, name)
}

fn ts_opt(row: &PgRow, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    col(row, name)
}

fn user_from_row(row: &PgRow) -> Result<UserRecord, StoreError> {
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

fn session_from_row(row: &PgRow) -> Result<SessionRecord, StoreError> {
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

fn api_key_from_row(row: &PgRow) -> Result<ApiKeyRecord, StoreError> {
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

fn revocation_from_row(row: &PgRow) -> Result<RevocationEntry, StoreError> {
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

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and runs the migrations in the connection's default
    /// `search_path`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Config("invalid PostgreSQL URL".into()))?;
        let pool = PgPoolOptions::new()
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::from_pool(pool).await
    }

    /// Connects to `url` with every connection's `search_path` set to `schema` alone, creates
    /// the schema if missing and runs the migrations in it. Lets several deployments, or
    /// parallel test runs, share one database. `schema` must match `[a-z_][a-z0-9_]{0,62}`.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        validate_schema_name(schema)?;
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Config("invalid PostgreSQL URL".into()))?
            .options([("search_path", schema)]);
        let pool = PgPoolOptions::new()
            .connect_with(options)
            .await
            .map_err(backend)?;
        // The name is validated above: it cannot close the quotes.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&pool)
        .await
        .map_err(|e| map_error(e, "schema already exists"))?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and runs the migrations (in the pool's `search_path`). The
    /// migrations are tracked in their own table, `_agency_auth_migrations`, so other crates
    /// can share the database.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await.map_err(migrate_error)?;
        Ok(PostgresStore { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn validate_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut bytes = schema.bytes();
    let valid_first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    let valid_rest = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid_first && valid_rest && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Config(
            "schema name must match [a-z_][a-z0-9_]{0,62}".into(),
        ))
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_users (id, tenant_id, username, password_hash, role, disabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&user.id)
        .bind(&user.tenant_id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.role)
        .bind(user.disabled)
        .bind(pg_time(user.created_at))
        .bind(pg_time(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "user id or username already exists"))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(select_users!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn get_user_by_username(&self, username: &str) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(select_users!("WHERE username = $1"))
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
            "WHERE tenant_id = $1 ORDER BY created_at, id"
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
            "UPDATE auth_users SET role = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind(role)
        .bind(pg_time(now))
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
            "UPDATE auth_users SET password_hash = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind(password_hash)
        .bind(pg_time(now))
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
            "UPDATE auth_users SET disabled = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind(disabled)
        .bind(pg_time(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn delete_user(&self, id: &str) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM auth_users WHERE id = $1")
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
impl SessionStore for PostgresStore {
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO auth_sessions (id, user_id, tenant_id, created_at, last_refreshed_at, \
             idle_expires_at, expires_at, generation, revoked_at, revoke_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(&session.tenant_id)
        .bind(pg_time(session.created_at))
        .bind(pg_time(session.last_refreshed_at))
        .bind(pg_time(session.idle_expires_at))
        .bind(pg_time(session.expires_at))
        .bind(generation_to_db(session.generation)?)
        .bind(session.revoked_at.map(pg_time))
        .bind(session.revoke_reason.map(SessionRevokeReason::as_str))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_error(e, conflict))?;
        sqlx::query(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id, generation, issued_at, \
             rotated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(first_token.token_hash.as_bytes().as_slice())
        .bind(&first_token.session_id)
        .bind(generation_to_db(first_token.generation)?)
        .bind(pg_time(first_token.issued_at))
        .bind(first_token.rotated_at.map(pg_time))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_error(e, conflict))?;
        tx.commit().await.map_err(backend)
    }

    async fn get_session(&self, session_id: &str) -> Result<SessionRecord, StoreError> {
        let row = sqlx::query(select_sessions!("WHERE id = $1"))
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
             WHERE t.token_hash = $1",
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
        let now = pg_time(rotation.now);
        let expected = generation_to_db(rotation.expected_generation)?;
        let next = generation_to_db(
            rotation
                .expected_generation
                .checked_add(1)
                .ok_or_else(|| StoreError::Backend("refresh generation overflow".into()))?,
        )?;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The compare-and-set: only the caller that still sees `expected` moves the session on.
        let Some(row) = sqlx::query(returning_session!(
            "UPDATE auth_sessions SET generation = $1, last_refreshed_at = $2, \
             idle_expires_at = $3 WHERE id = $4 AND generation = $5 AND revoked_at IS NULL \
             AND expires_at > $2 AND idle_expires_at > $2"
        ))
        .bind(next)
        .bind(now)
        .bind(pg_time(rotation.idle_expires_at))
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
            "UPDATE auth_refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 \
             AND session_id = $3 AND generation = $4 AND rotated_at IS NULL",
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
             rotated_at) VALUES ($1, $2, $3, $4, NULL)",
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
            "UPDATE auth_sessions SET revoked_at = COALESCE(revoked_at, $1), \
             revoke_reason = CASE WHEN revoked_at IS NULL THEN $2 ELSE revoke_reason END \
             WHERE id = $3"
        ))
        .bind(pg_time(now))
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
            "UPDATE auth_sessions SET revoked_at = $1, revoke_reason = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL"
        ))
        .bind(pg_time(now))
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
            "WHERE user_id = $1 ORDER BY created_at, id"
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
        let now = pg_time(now);
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "DELETE FROM auth_refresh_tokens WHERE session_id IN \
             (SELECT id FROM auth_sessions WHERE expires_at <= $1)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let deleted = sqlx::query("DELETE FROM auth_sessions WHERE expires_at <= $1")
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
impl ApiKeyStore for PostgresStore {
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_api_keys (id, owner_id, tenant_id, name, scopes, secret_hash, \
             hash_key_version, created_at, expires_at, revoked_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&key.id)
        .bind(&key.owner_id)
        .bind(&key.tenant_id)
        .bind(&key.name)
        .bind(scopes_to_db(&key.scopes)?)
        .bind(key.secret_hash.as_slice())
        .bind(i64::from(key.hash_key_version))
        .bind(pg_time(key.created_at))
        .bind(key.expires_at.map(pg_time))
        .bind(key.revoked_at.map(pg_time))
        .bind(key.last_used_at.map(pg_time))
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "api key id already exists"))?;
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<ApiKeyRecord, StoreError> {
        let row = sqlx::query(select_api_keys!("WHERE id = $1"))
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
            "WHERE owner_id = $1 ORDER BY created_at, id"
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
            "UPDATE auth_api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 ",
            "RETURNING id, owner_id, tenant_id, name, scopes, secret_hash, hash_key_version, ",
            "created_at, expires_at, revoked_at, last_used_at"
        ))
        .bind(pg_time(now))
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
            "UPDATE auth_api_keys SET revoked_at = $1 WHERE owner_id = $2 AND revoked_at IS NULL",
        )
        .bind(pg_time(now))
        .bind(owner_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(result.rows_affected())
    }

    async fn record_api_key_used(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE auth_api_keys SET last_used_at = GREATEST(last_used_at, $1) \
             WHERE id = $2",
        )
        .bind(pg_time(at))
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
impl RevocationStore for PostgresStore {
    async fn add_revocation(&self, entry: &RevocationEntry) -> Result<(), StoreError> {
        let (kind, subject, before) = match &entry.target {
            RevocationTarget::Session(id) => (KIND_SESSION, id, None),
            RevocationTarget::Token(id) => (KIND_TOKEN, id, None),
            RevocationTarget::UserTokensIssuedBefore { user_id, before } => {
                (KIND_USER, user_id, Some(pg_time(*before)))
            }
        };
        sqlx::query(
            "INSERT INTO auth_revocations (kind, subject, revoked_before, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, subject) DO UPDATE SET \
             revoked_before = GREATEST(auth_revocations.revoked_before, excluded.revoked_before), \
             created_at = GREATEST(auth_revocations.created_at, excluded.created_at), \
             expires_at = GREATEST(auth_revocations.expires_at, excluded.expires_at)",
        )
        .bind(kind)
        .bind(subject)
        .bind(before)
        .bind(pg_time(entry.created_at))
        .bind(pg_time(entry.expires_at))
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
             WHERE expires_at > $1",
        )
        .bind(pg_time(now))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(revocation_from_row)
        .collect()
    }

    async fn purge_expired_revocations(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM auth_revocations WHERE expires_at <= $1")
                .bind(pg_time(now))
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
    fn schema_names_are_validated() {
        for good in ["a", "_x", "agency_auth_test_1a2b", &"a".repeat(63)] {
            assert!(validate_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "A",
            "a-b",
            "a\"; DROP SCHEMA public; --",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(validate_schema_name(bad).is_err(), "{bad}");
        }
    }
}
