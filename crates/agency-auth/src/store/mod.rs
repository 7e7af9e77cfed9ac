//! Storage traits for users, sessions and refresh-token families, API keys and revocations, and
//! their backends.
//!
//! - [`MemoryStore`]: always available; for tests, examples and single-process services.
//! - [`SqliteStore`] (feature `sqlite`) and [`PostgresStore`] (feature `postgres`): sqlx with
//!   embedded migrations, bound parameters only, an index for every lookup.
//!
//! Every backend implements every trait ([`UserStore`], [`SessionStore`], [`ApiKeyStore`],
//! [`RevocationStore`]) and passes the same conformance suite (`tests/store_conformance.rs`).
//! The traits are object safe, so an application can pick a backend at run time and hold it as
//! `Arc<dyn SessionStore>`.
//!
//! Guarantees every backend gives:
//!
//! - Every change that touches more than one row is atomic (one transaction, or one conditional
//!   statement): a failure leaves nothing half-written.
//! - Refresh-token rotation is a compare-and-set on the session's generation: of two concurrent
//!   rotations of the same token, exactly one wins ([`RotationOutcome::Stale`](crate::sessions::RotationOutcome::Stale) for the other).
//! - Timestamps are kept in UTC with microsecond precision (PostgreSQL's precision); backends
//!   truncate on write, so a value read back equals the value written, truncated.
//! - Errors never carry SQL text, bound values or connection strings.

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod traits;
mod users;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
pub use traits::{ApiKeyStore, RevocationStore, SessionStore, UserStore};
pub use users::UserRecord;

use crate::ErrorKind;
use time::{OffsetDateTime, UtcOffset};

/// Errors of every store operation.
///
/// ```
/// use agency_auth::store::StoreError;
///
/// let error = StoreError::NotFound;
/// assert_eq!(error.to_string(), "record not found");
/// assert!(!StoreError::Conflict("username already taken").is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record asked for does not exist.
    #[error("record not found")]
    NotFound,
    /// A unique key already exists (for example a duplicate username or id).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The backend failed (connection, I/O, timeout, unreadable stored data). The message names
    /// the kind of failure, never SQL text, bound values or connection strings.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The store was configured wrongly (for example an invalid PostgreSQL schema name).
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::store::StoreError;
    /// assert_eq!(StoreError::Conflict("username").kind(), ErrorKind::Conflict);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Backend(_) => ErrorKind::Unavailable,
            Self::Config(_) => ErrorKind::Internal,
        }
    }
}

impl StoreError {
    /// Whether retrying the same call later may succeed (backend failures may be transient;
    /// not-found, conflicts and configuration errors are not).
    ///
    /// ```
    /// use agency_auth::store::StoreError;
    /// assert!(StoreError::Backend("connection pool timed out".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Backend(_))
    }
}

/// The form every backend stores a timestamp in: UTC, truncated to whole microseconds.
///
/// Backends apply it on write so that all of them round-trip the same values; callers can
/// apply it to compare a value they wrote with the value read back.
///
/// ```
/// use agency_auth::store::normalize_timestamp;
/// use time::macros::datetime;
///
/// let t = datetime!(2026-01-02 03:04:05.123456789 +02:00);
/// assert_eq!(normalize_timestamp(t), datetime!(2026-01-02 01:04:05.123456 UTC));
/// ```
pub fn normalize_timestamp(t: OffsetDateTime) -> OffsetDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    // Cannot fail: the new nanosecond value is below the old one and below 10^9.
    utc.replace_nanosecond(utc.nanosecond() / 1_000 * 1_000)
        .unwrap_or(utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn normalize_truncates_and_converts_to_utc() {
        let t = datetime!(1969-12-31 23:59:59.999999999 UTC);
        assert_eq!(
            normalize_timestamp(t),
            datetime!(1969-12-31 23:59:59.999999 UTC)
        );
        let t = datetime!(2030-06-01 12:00:00.000000500 -05:00);
        let n = normalize_timestamp(t);
        assert_eq!(n.offset(), UtcOffset::UTC);
        assert_eq!(n, datetime!(2030-06-01 17:00:00 UTC));
    }

    #[test]
    fn only_backend_errors_are_retryable() {
        assert!(StoreError::Backend("x".into()).is_retryable());
        assert!(!StoreError::NotFound.is_retryable());
        assert!(!StoreError::Config("x".into()).is_retryable());
    }
}
