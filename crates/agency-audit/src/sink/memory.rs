//! In-memory store (no server needed): events and checkpoints in process memory. For tests,
//! examples and single-process tools; nothing survives a restart.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{AuditSink, AuditStore, CheckpointStore, PurgePoint};
use crate::AuditError;
use crate::chain::{ChainHash, ChainVerifier, CheckpointKind, SignedCheckpoint};
use crate::event::RecordedEvent;
use crate::query::{AuditPage, AuditQuery, TopK};

/// Events and checkpoints held in memory.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{AuditEvent, AuditQuery, AuditWriter, WriterConfig, sink::{AuditStore, MemoryStore}};
/// use std::sync::Arc;
/// let store = Arc::new(MemoryStore::new());
/// let writer = AuditWriter::spawn(store.clone(), WriterConfig::default()).unwrap();
/// writer.record_durable(AuditEvent::builder("auth.login").tenant("acme").build()).await.unwrap();
/// let page = store.query(&AuditQuery::new().tenant("acme")).await.unwrap();
/// assert_eq!(page.events.len(), 1);
/// writer.shutdown().await.unwrap();
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    events: Mutex<Vec<RecordedEvent>>,
    checkpoints: Mutex<Vec<SignedCheckpoint>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every stored event, in storage order.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Mutable access to the stored events, to simulate tampering in tests.
    pub fn with_events_mut<R>(&self, f: impl FnOnce(&mut Vec<RecordedEvent>) -> R) -> Option<R> {
        self.events.lock().ok().map(|mut e| f(&mut e))
    }
}

fn poisoned<T>(_: T) -> AuditError {
    AuditError::Sink("memory store lock poisoned".into())
}

#[async_trait]
impl AuditSink for MemoryStore {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let mut events = self.events.lock().map_err(poisoned)?;
        // Check the whole batch before storing any of it, so a conflict stores nothing.
        // Events are only appended, so a stream's events are in sequence order: scanning back
        // stops at the first one of the batch's stream below the batch.
        let (Some(first), Some(stream)) = (
            batch.iter().map(|r| r.seq).min(),
            batch.first().map(|r| r.stream),
        ) else {
            return Ok(());
        };
        let stored: Vec<(u64, ChainHash)> = events
            .iter()
            .rev()
            .filter(|e| e.stream == stream)
            .take_while(|e| e.seq >= first)
            .filter(|e| batch.iter().any(|r| r.stream == e.stream && r.seq == e.seq))
            .map(|e| (e.seq, e.hash))
            .collect();
        if let Some(seq) = super::conflicting_seq(batch, &stored) {
            return Err(AuditError::Conflict { seq });
        }
        for r in batch {
            // Idempotent retry: skip what is already stored (with the same hash, checked above).
            if !stored.iter().any(|(seq, _)| *seq == r.seq) {
                events.push(r.clone());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CheckpointStore for MemoryStore {
    async fn append_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<(), AuditError> {
        self.checkpoints
            .lock()
            .map_err(poisoned)?
            .push(checkpoint.clone());
        Ok(())
    }
    async fn put_heartbeat(&self, heartbeat: &SignedCheckpoint) -> Result<(), AuditError> {
        let mut checkpoints = self.checkpoints.lock().map_err(poisoned)?;
        let stream = heartbeat.checkpoint.stream;
        checkpoints.retain(|c| {
            !(c.checkpoint.kind == CheckpointKind::Heartbeat && c.checkpoint.stream == stream)
        });
        checkpoints.push(heartbeat.clone());
        Ok(())
    }
    async fn load_checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError> {
        Ok(self.checkpoints.lock().map_err(poisoned)?.clone())
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditError> {
        query.validate()?;
        let events = self.events.lock().map_err(poisoned)?;
        let mut top = TopK::new(query.effective_limit());
        for r in events.iter().filter(|r| query.matches(r)) {
            top.push(r.clone());
        }
        Ok(top.into_page(query.effective_limit()))
    }

    async fn feed_verifier(&self, verifier: &mut ChainVerifier) -> Result<(), AuditError> {
        let mut events = self.events.lock().map_err(poisoned)?.clone();
        // Group by stream, keeping storage order within a stream (a stable sort).
        events.sort_by_key(|r| r.stream);
        for r in &events {
            verifier.push(r);
        }
        Ok(())
    }

    async fn purge_points(
        &self,
        cutoff: time::OffsetDateTime,
    ) -> Result<Vec<PurgePoint>, AuditError> {
        let events = self.events.lock().map_err(poisoned)?;
        let mut points: std::collections::BTreeMap<_, Option<PurgePoint>> = Default::default();
        let mut stopped = std::collections::HashSet::new();
        for r in events.iter() {
            if stopped.contains(&r.stream) {
                continue;
            }
            if r.event.timestamp < cutoff {
                points.insert(
                    r.stream,
                    Some(PurgePoint {
                        stream: r.stream,
                        seq: r.seq,
                        hash: r.hash,
                    }),
                );
            } else {
                stopped.insert(r.stream);
            }
        }
        Ok(points.into_values().flatten().collect())
    }

    async fn purge_through(&self, point: &PurgePoint) -> Result<u64, AuditError> {
        let mut events = self.events.lock().map_err(poisoned)?;
        let before = events.len();
        events.retain(|r| !(r.stream == point.stream && r.seq <= point.seq));
        Ok((before - events.len()) as u64)
    }
}
