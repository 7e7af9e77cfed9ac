//! Retention: purge events older than a configured age, behind a checkpoint.
//!
//! For each stream, the longest prefix of events that are all older than the cutoff is removed,
//! but only after a signed [`CheckpointKind::Anchor`] checkpoint of its last event `(seq, hash)`
//! is durably stored. The verifier starts the remaining chain from that anchor, so what remains
//! still verifies, and deleting anything else is still caught. If the process dies between the
//! anchor and the delete, the log simply still holds the old events, which also verifies.

use time::{Duration, OffsetDateTime};

use crate::AuditError;
use crate::chain::{Checkpoint, CheckpointKind, CheckpointSigner};
use crate::sink::{AuditStore, CheckpointStore};

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Streams with events purged.
    pub streams: u64,
    /// Events removed.
    pub events: u64,
}

/// Removes events older than `max_age`, behind anchor checkpoints signed by `signer`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{AuditEvent, AuditWriter, WriterConfig, verify, retention::purge_older_than};
/// use agency_audit::chain::CheckpointSigner;
/// use agency_audit::sink::MemoryStore;
/// let store = std::sync::Arc::new(MemoryStore::new());
/// let writer = AuditWriter::spawn(store.clone(), WriterConfig::default()).unwrap();
/// let old = time::OffsetDateTime::now_utc() - time::Duration::days(400);
/// writer.record_durable(AuditEvent::builder("auth.login").timestamp(old).build()).await.unwrap();
/// writer.record_durable(AuditEvent::builder("auth.login").build()).await.unwrap();
/// let signer = CheckpointSigner::ed25519_from_bytes(&[3u8; 32]);
/// let report = purge_older_than(store.as_ref(), store.as_ref(), &signer, time::Duration::days(365)).await.unwrap();
/// assert_eq!(report.events, 1);
/// assert!(verify(store.as_ref(), store.as_ref(), &signer.verifier()).await.unwrap().ok);
/// # });
/// ```
pub async fn purge_older_than(
    store: &(impl AuditStore + ?Sized),
    checkpoints: &(impl CheckpointStore + ?Sized),
    signer: &CheckpointSigner,
    max_age: Duration,
) -> Result<PurgeReport, AuditError> {
    purge_before(
        store,
        checkpoints,
        signer,
        OffsetDateTime::now_utc() - max_age,
    )
    .await
}

/// Removes events older than `cutoff`, behind anchor checkpoints signed by `signer`.
pub async fn purge_before(
    store: &(impl AuditStore + ?Sized),
    checkpoints: &(impl CheckpointStore + ?Sized),
    signer: &CheckpointSigner,
    cutoff: OffsetDateTime,
) -> Result<PurgeReport, AuditError> {
    let mut report = PurgeReport::default();
    for point in store.purge_points(cutoff).await? {
        let anchor = Checkpoint {
            kind: CheckpointKind::Anchor,
            stream: point.stream,
            seq: point.seq,
            hash: point.hash,
            time: crate::event::normalize_timestamp(OffsetDateTime::now_utc()),
        };
        checkpoints.append_checkpoint(&signer.sign(anchor)).await?;
        let removed = store.purge_through(&point).await?;
        if removed > 0 {
            report.streams += 1;
            report.events += removed;
        }
    }
    Ok(report)
}
