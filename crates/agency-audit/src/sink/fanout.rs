//! Fan-out: one batch to several sinks.

use async_trait::async_trait;

use super::AuditSink;
use crate::AuditError;
use crate::event::RecordedEvent;

/// Writes each batch to every inner sink in turn; the batch is durable only when all of them
/// succeeded. A failed batch is retried on all sinks, which is safe because sinks are idempotent.
///
/// ```
/// use agency_audit::sink::{FanoutSink, MemoryStore};
/// use std::sync::Arc;
/// let a = Arc::new(MemoryStore::new());
/// let b = Arc::new(MemoryStore::new());
/// let fanout = FanoutSink::new(vec![Box::new(a.clone()), Box::new(b.clone())]);
/// # let _ = fanout;
/// ```
pub struct FanoutSink {
    sinks: Vec<Box<dyn AuditSink>>,
}

impl std::fmt::Debug for FanoutSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanoutSink")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl FanoutSink {
    /// Fans out to `sinks`.
    pub fn new(sinks: Vec<Box<dyn AuditSink>>) -> Self {
        FanoutSink { sinks }
    }
}

#[async_trait]
impl AuditSink for FanoutSink {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let mut first_error = None;
        // Sequential keeps this dependency-free; each sink already batches, so the cost is one
        // commit per sink per batch.
        for sink in &self.sinks {
            if let Err(e) = sink.write_batch(batch).await {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}
