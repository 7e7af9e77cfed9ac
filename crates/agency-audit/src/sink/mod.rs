//! Where events go: the [`AuditSink`] trait (durable batch writes), the [`CheckpointStore`]
//! trait (signed checkpoints, kept apart from events) and the [`AuditStore`] trait (reading back:
//! query, verification, retention), with one module per backend.
//!
//! Contract for sinks: `write_batch` returns `Ok` only once the whole batch is durable (fsync,
//! committed transaction), and writing the same batch again after a failure is idempotent (the
//! writer retries a failed batch with the same sequence numbers).

use async_trait::async_trait;

use crate::AuditError;
use crate::chain::{ChainHash, ChainVerifier, SignedCheckpoint};
use crate::event::{RecordedEvent, StreamId};
use crate::query::{AuditPage, AuditQuery};

/// A chain sequence number as the signed 64-bit integer SQL stores.
///
/// Sequence numbers are assigned by the writer from 1 upward, so one above `i64::MAX` means a
/// corrupt chain head rather than a real event: it is refused instead of wrapping negative and
/// sorting before every stored event.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn sql_seq(seq: u64) -> Result<i64, AuditError> {
    i64::try_from(seq)
        .map_err(|_| AuditError::Corrupt("sequence number above the SQL integer range".into()))
}

/// The first record of `batch` whose sequence number is already stored with another hash, if
/// any. `stored` holds the `(seq, hash)` rows of the batch's stream and range that the store
/// had before (or kept instead of) the batch's insert. A row with the same hash is the writer's
/// own earlier attempt of this batch (a retry after a lost acknowledgement) and is fine.
pub(crate) fn conflicting_seq(batch: &[RecordedEvent], stored: &[(u64, ChainHash)]) -> Option<u64> {
    batch.iter().find_map(|r| {
        stored
            .iter()
            .any(|(seq, hash)| *seq == r.seq && *hash != r.hash)
            .then_some(r.seq)
    })
}

mod fanout;
mod jsonl;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use fanout::FanoutSink;
pub use jsonl::{JsonlCheckpointStore, JsonlSink, Rotation, feed_jsonl_files};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresAuditStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteAuditStore, SqliteDurability};

/// Durable, batched storage of chained events.
#[async_trait]
pub trait AuditSink: Send + Sync + 'static {
    /// Stores `batch` (consecutive events of one stream, in `seq` order) and returns once it is
    /// durable. Must be idempotent when retried with the same batch after an error.
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError>;
}

/// Storage for signed checkpoints, apart from the events.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// Durably appends a checkpoint.
    async fn append_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<(), AuditError>;
    /// Durably stores a [`Heartbeat`](crate::chain::CheckpointKind::Heartbeat) checkpoint in
    /// place of the stream's previous heartbeat, atomically (the old one stays until the new one
    /// is stored), so an idle writer keeps one heartbeat per stream instead of piling them up.
    async fn put_heartbeat(&self, heartbeat: &SignedCheckpoint) -> Result<(), AuditError>;
    /// All stored checkpoints, oldest first (heartbeats included).
    async fn load_checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError>;
}

/// A point up to which retention may purge one stream: events `..= seq` go, and the remaining
/// chain starts from `hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgePoint {
    /// The stream.
    pub stream: StreamId,
    /// The last sequence number to purge.
    pub seq: u64,
    /// The hash of event `seq`.
    pub hash: ChainHash,
}

/// Reading back stored events: query, verification and retention.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// One page of events matching `query`, newest first.
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditError>;
    /// Pushes every stored event, grouped by stream in `seq` order as stored, into `verifier`.
    async fn feed_verifier(&self, verifier: &mut ChainVerifier) -> Result<(), AuditError>;
    /// For each stream, the longest prefix whose events are all older than `cutoff`.
    async fn purge_points(
        &self,
        cutoff: time::OffsetDateTime,
    ) -> Result<Vec<PurgePoint>, AuditError>;
    /// Deletes events `..= point.seq` of `point.stream`; returns how many were removed.
    async fn purge_through(&self, point: &PurgePoint) -> Result<u64, AuditError>;
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for std::sync::Arc<T> {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        (**self).write_batch(batch).await
    }
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for Box<T> {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        (**self).write_batch(batch).await
    }
}

#[async_trait]
impl<T: CheckpointStore + ?Sized> CheckpointStore for std::sync::Arc<T> {
    async fn append_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<(), AuditError> {
        (**self).append_checkpoint(checkpoint).await
    }
    async fn put_heartbeat(&self, heartbeat: &SignedCheckpoint) -> Result<(), AuditError> {
        (**self).put_heartbeat(heartbeat).await
    }
    async fn load_checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError> {
        (**self).load_checkpoints().await
    }
}
