//! The crate's error type: one enum at the crate boundary, with variants a caller can act on.

use agency_error_kind::ErrorKind;
use thiserror::Error;

/// Everything that can go wrong while recording, storing, querying or verifying audit events.
///
/// `Display` is a fixed text per variant: never event contents, keys, SQL text or a driver's
/// message (which can quote stored values), so it is safe to log and to answer with. The cause
/// of a database, migration, I/O or CSV error stays reachable through
/// [`source()`](std::error::Error::source) for operators.
///
/// ```
/// use agency_audit::AuditError;
/// use std::error::Error;
///
/// let err = AuditError::QueueFull;
/// assert_eq!(err.to_string(), "audit queue is full");
/// let io = AuditError::from(std::io::Error::other("disk full at /var/secret/path"));
/// assert_eq!(io.to_string(), "audit i/o error");
/// assert!(io.source().unwrap().to_string().contains("disk full"));
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The writer's queue is full and the event's policy is [`crate::OverflowPolicy::FailClosed`]:
    /// refuse the action the event describes.
    #[error("audit queue is full")]
    QueueFull,
    /// The sink is failing and the event's policy is [`crate::OverflowPolicy::FailClosed`]:
    /// refuse the action the event describes.
    #[error("audit sink is unavailable")]
    Unavailable,
    /// The event was dropped (and counted) under [`crate::OverflowPolicy::DropAndCount`].
    #[error("audit event dropped by policy")]
    Dropped,
    /// [`crate::AuditWriter::spawn`] was called outside a Tokio runtime.
    #[error("no Tokio runtime to run the audit writer on")]
    NoRuntime,
    /// The writer has been shut down; no more events are accepted.
    #[error("audit writer is shut down")]
    Closed,
    /// The sink failed to store a batch. For events recorded with `record_durable` under
    /// `FailClosed`, treat the action as refused: the event may still be stored by a retry.
    #[error("audit sink failed: {0}")]
    Sink(String),
    /// An I/O error from a file sink or export writer.
    #[error("audit i/o error")]
    Io(#[from] std::io::Error),
    /// A database error (SQLite or PostgreSQL).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("audit database error")]
    Database(#[from] sqlx::Error),
    /// A database migration failed.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("audit migration error")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store already holds a *different* event at a sequence number this writer assigned:
    /// something else wrote to this stream (tampering, or a second writer given the same
    /// stream id). Nothing of the batch is acknowledged and it is not retried; treat the
    /// actions it describes as refused and investigate the stream.
    #[error("audit stream conflict: another event is stored at sequence {seq}")]
    Conflict {
        /// The first sequence number found holding another event.
        seq: u64,
    },
    /// A pagination cursor was malformed or tampered with.
    #[error("invalid pagination cursor")]
    InvalidCursor,
    /// A store, sink or tool was configured with a value it cannot work with (a PostgreSQL
    /// schema name outside `[a-z_][a-z0-9_]{0,62}`, a file prefix with path characters, a
    /// database URL of an unknown or not-compiled-in kind). Raised when it is built.
    #[error("invalid audit configuration: {0}")]
    InvalidConfig(&'static str),
    /// A query parameter was out of range (for example `limit` above 1000).
    #[error("invalid query: {0}")]
    InvalidQuery(&'static str),
    /// A stored record could not be decoded (corrupt or tampered storage).
    #[error("corrupt audit record: {0}")]
    Corrupt(String),
    /// A key had the wrong length or encoding.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// An export failed while encoding CSV.
    #[error("csv export error")]
    Csv(#[from] csv::Error),
}

impl AuditError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_audit::{AuditError, ErrorKind};
    /// assert_eq!(AuditError::QueueFull.kind(), ErrorKind::Unavailable);
    /// assert_eq!(AuditError::InvalidCursor.kind(), ErrorKind::InvalidInput);
    /// // Another event at the writer's sequence number is tampering, not the caller's conflict.
    /// assert_eq!(AuditError::Conflict { seq: 7 }.kind(), ErrorKind::Internal);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::QueueFull
            | Self::Unavailable
            | Self::Dropped
            | Self::Closed
            | Self::Sink(_)
            | Self::Io(_)
            | Self::Database(_) => ErrorKind::Unavailable,
            Self::InvalidCursor | Self::InvalidQuery(_) => ErrorKind::InvalidInput,
            Self::NoRuntime
            | Self::Migrate(_)
            | Self::Conflict { .. }
            | Self::InvalidConfig(_)
            | Self::Corrupt(_)
            | Self::InvalidKey(_)
            | Self::Csv(_) => ErrorKind::Internal,
        }
    }
}
