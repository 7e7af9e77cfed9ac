//! Helpers shared by the sqlx backends: error mapping and value conversions.

use crate::sessions::{RefreshTokenHash, SessionRevokeReason};

use super::StoreError;

/// Each crate of the workspace keeps its own migrations table, so several crates can share one
/// database without their migration versions colliding.
pub(super) const MIGRATIONS_TABLE: &str = "_agency_auth_migrations";

/// Revocation kinds as stored in the `kind` column.
pub(super) const KIND_SESSION: &str = "session";
pub(super) const KIND_TOKEN: &str = "token";
pub(super) const KIND_USER: &str = "user";

#[cfg(test)]
const USER_COLUMNS: &str =
    "id, tenant_id, username, password_hash, role, disabled, created_at, updated_at";
#[cfg(test)]
const SESSION_COLUMNS: &str = "id, user_id, tenant_id, created_at, last_refreshed_at, \
     idle_expires_at, expires_at, generation, revoked_at, revoke_reason";
#[cfg(test)]
const API_KEY_COLUMNS: &str = "id, owner_id, tenant_id, name, scopes, secret_hash, \
     hash_key_version, created_at, expires_at, revoked_at, last_used_at";

// `sqlx::query` takes `&'static str`; these build the statements from the constant column
// lists at compile time.
macro_rules! select_users {
    ($tail:literal) => {
        concat!(
            "SELECT id, tenant_id, username, password_hash, role, disabled, created_at, updated_at FROM auth_users ",
            $tail
        )
    };
}
macro_rules! returning_user {
    ($head:literal) => {
        concat!(
            $head,
            " RETURNING id, tenant_id, username, password_hash, role, disabled, created_at, updated_at"
        )
    };
}
macro_rules! select_sessions {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, tenant_id, created_at, last_refreshed_at, idle_expires_at, expires_at, generation, revoked_at, revoke_reason FROM auth_sessions ",
            $tail
        )
    };
}
macro_rules! returning_session {
    ($head:literal) => {
        concat!(
            $head,
            " RETURNING id, user_id, tenant_id, created_at, last_refreshed_at, idle_expires_at, expires_at, generation, revoked_at, revoke_reason"
        )
    };
}
macro_rules! select_api_keys {
    ($tail:literal) => {
        concat!(
            "SELECT id, owner_id, tenant_id, name, scopes, secret_hash, hash_key_version, created_at, expires_at, revoked_at, last_used_at FROM auth_api_keys ",
            $tail
        )
    };
}

pub(super) use {
    returning_session, returning_user, select_api_keys, select_sessions, select_users,
};

/// Maps a sqlx error to a [`StoreError`] whose message names only the kind of failure: never
/// SQL text, bound values, server messages (which can quote values) or connection strings.
pub(super) fn map_error(error: sqlx::Error, conflict: &'static str) -> StoreError {
    match error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(conflict),
        sqlx::Error::Database(db) => StoreError::Backend(format!(
            "database error (code {})",
            db.code().as_deref().unwrap_or("unknown")
        )),
        sqlx::Error::PoolTimedOut => StoreError::Backend("connection pool timed out".into()),
        sqlx::Error::PoolClosed => StoreError::Backend("connection pool closed".into()),
        sqlx::Error::Io(io) => StoreError::Backend(format!("I/O error ({})", io.kind())),
        sqlx::Error::Tls(_) => StoreError::Backend("TLS error".into()),
        sqlx::Error::Protocol(_) => StoreError::Backend("database protocol error".into()),
        sqlx::Error::Configuration(_) => {
            StoreError::Config("invalid database configuration".into())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => {
            StoreError::Backend("stored data could not be decoded".into())
        }
        sqlx::Error::Migrate(_) => StoreError::Backend("database migration failed".into()),
        _ => StoreError::Backend("database error".into()),
    }
}

/// [`map_error`] for statements that cannot hit a unique key.
pub(super) fn backend(error: sqlx::Error) -> StoreError {
    map_error(error, "unique key already exists")
}

pub(super) fn migrate_error(error: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match error {
        MigrateError::VersionMissing(version) => StoreError::Backend(format!(
            "database has migration {version} applied that this version does not know"
        )),
        MigrateError::VersionMismatch(version) => StoreError::Backend(format!(
            "applied migration {version} differs from this version's"
        )),
        MigrateError::Dirty(version) => {
            StoreError::Backend(format!("migration {version} was left partially applied"))
        }
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => {
            match map_error(inner, "migration conflict") {
                StoreError::Backend(message) => {
                    StoreError::Backend(format!("database migration failed: {message}"))
                }
                other => other,
            }
        }
        _ => StoreError::Backend("database migration failed".into()),
    }
}

pub(super) fn generation_to_db(generation: u64) -> Result<i64, StoreError> {
    i64::try_from(generation).map_err(|_| StoreError::Backend("refresh generation overflow".into()))
}

pub(super) fn generation_from_db(generation: i64) -> Result<u64, StoreError> {
    u64::try_from(generation)
        .map_err(|_| StoreError::Backend("stored refresh generation is negative".into()))
}

pub(super) fn reason_from_db(
    reason: Option<String>,
) -> Result<Option<SessionRevokeReason>, StoreError> {
    reason
        .map(|reason| {
            reason
                .parse()
                .map_err(|_| StoreError::Backend("stored revoke reason is unknown".into()))
        })
        .transpose()
}

pub(super) fn hash_from_db(bytes: &[u8]) -> Result<RefreshTokenHash, StoreError> {
    RefreshTokenHash::from_slice(bytes)
        .ok_or_else(|| StoreError::Backend("stored refresh token hash has a wrong length".into()))
}

pub(super) fn scopes_to_db(scopes: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(scopes)
        .map_err(|_| StoreError::Backend("scopes could not be encoded".into()))
}

pub(super) fn scopes_from_db(scopes: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(scopes)
        .map_err(|_| StoreError::Backend("stored scopes could not be decoded".into()))
}

pub(super) fn key_version_from_db(version: i64) -> Result<u32, StoreError> {
    u32::try_from(version)
        .map_err(|_| StoreError::Backend("stored hash key version is out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_match_the_statement_macros() {
        assert!(select_users!("").contains(USER_COLUMNS));
        assert!(select_sessions!("").contains(SESSION_COLUMNS));
        assert!(select_api_keys!("").contains(API_KEY_COLUMNS));
    }
}
