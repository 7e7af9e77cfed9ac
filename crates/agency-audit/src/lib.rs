//! Audit logging for services that must be able to prove what happened.
//!
//! - [`AuditEvent`]: the fields of the swarm API contract, built with a fluent builder.
//! - [`Redactor`]: secrets redacted (or HMAC-ed) at any depth and control characters
//!   neutralised, before anything is hashed or stored.
//! - [`AuditWriter`]: a bounded queue with group commit; `record` returns at once,
//!   `record_durable` once the event is durable; a policy per event class for overflow and sink
//!   failure; shutdown flushes.
//! - [`sink`]: JSON lines files (rotation), SQLite and PostgreSQL (features `sqlite`,
//!   `postgres`), fan-out, in memory.
//! - [`chain`]: `hash = SHA-256(previous hash || canonical encoding)` per stream, signed
//!   checkpoints and a verifier that reports the first break.
//! - [`query`], [`export`], [`retention`]: keyset pagination newest first, streamed JSON lines /
//!   CSV export, and purging behind a checkpoint so the rest still verifies.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use agency_audit::{ActorKind, AuditEvent, AuditWriter, WriterConfig, verify_strict};
//! use agency_audit::chain::CheckpointSigner;
//! use agency_audit::sink::MemoryStore;
//!
//! let store = Arc::new(MemoryStore::new());
//! // Checkpoints in a store apart from the events (in production: other storage).
//! let checkpoints = Arc::new(MemoryStore::new());
//! let signer = CheckpointSigner::ed25519_from_bytes(&[1u8; 32]);
//! let verifier = signer.verifier();
//! let config = WriterConfig::default()
//!     .checkpoints(checkpoints.clone(), signer, std::time::Duration::from_secs(10));
//! let writer = AuditWriter::spawn(store.clone(), config).unwrap();
//! writer.record_durable(
//!     AuditEvent::builder("user.create")
//!         .actor(ActorKind::User, "u-1", "alice")
//!         .tenant("acme")
//!         .resource("user", "u-2")
//!         .new_value(serde_json::json!({"username": "bob", "password": "hunter2"}))
//!         .build(),
//! ).await.unwrap();
//! writer.shutdown().await.unwrap();
//!
//! let stored = store.events();
//! assert!(!serde_json::to_string(&stored).unwrap().contains("hunter2"));
//! let max_age = std::time::Duration::from_secs(300);
//! let report = verify_strict(store.as_ref(), checkpoints.as_ref(), &verifier, max_age).await.unwrap();
//! assert!(report.ok);
//! # });
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod chain;
mod context;
mod error;
mod event;
pub mod export;
pub mod query;
pub mod redact;
pub mod retention;
pub mod sanitize;
pub mod sink;
mod writer;

pub use agency_error_kind::ErrorKind;
pub use chain::VerifyReport;
pub use context::AuditContext;
pub use error::AuditError;
pub use event::{ActorKind, AuditEvent, AuditEventBuilder, RecordedEvent, StreamId};
pub use query::{AuditPage, AuditQuery};
pub use redact::Redactor;
pub use writer::{AuditWriter, OverflowPolicy, Receipt, RecordOutcome, WriterConfig, WriterStats};

use chain::{ChainVerifier, CheckpointVerifier};
use sink::{AuditStore, CheckpointStore};

/// Verifies every stored event against the hash chain and the signed checkpoints.
///
/// Returns `Err` only when storage cannot be read; a broken chain is an `Ok` report with
/// `ok: false` and the first break.
pub async fn verify(
    store: &(impl AuditStore + ?Sized),
    checkpoints: &(impl CheckpointStore + ?Sized),
    key: &CheckpointVerifier,
) -> Result<VerifyReport, AuditError> {
    let cps = checkpoints.load_checkpoints().await?;
    let mut verifier = ChainVerifier::new(key, cps);
    store.feed_verifier(&mut verifier).await?;
    Ok(verifier.finish())
}

/// [`verify`] in strict mode ([`ChainVerifier::strict`]): also reports, as `stale`, every
/// stream that is neither closed by a clean shutdown nor checkpointed within `max_age` of now,
/// so a tail cut together with its checkpoints, or an event appended after a close whose
/// checkpoint was deleted too, does not verify. What the CLI and the server use.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{AuditEvent, AuditWriter, WriterConfig, sink::MemoryStore};
/// use agency_audit::chain::CheckpointSigner;
/// use std::{sync::Arc, time::Duration};
/// let store = Arc::new(MemoryStore::new());
/// let checkpoints = Arc::new(MemoryStore::new()); // apart from the events
/// let signer = CheckpointSigner::ed25519_from_bytes(&[1u8; 32]);
/// let key = signer.verifier();
/// let config = WriterConfig::default().checkpoints(checkpoints.clone(), signer, Duration::from_secs(10));
/// let writer = AuditWriter::spawn(store.clone(), config).unwrap();
/// writer.record_durable(AuditEvent::builder("auth.login").build()).await.unwrap();
/// writer.shutdown().await.unwrap(); // signs the stream's close
/// let report = agency_audit::verify_strict(store.as_ref(), checkpoints.as_ref(), &key, Duration::from_secs(60)).await.unwrap();
/// assert!(report.ok, "{report:?}");
/// # });
/// ```
pub async fn verify_strict(
    store: &(impl AuditStore + ?Sized),
    checkpoints: &(impl CheckpointStore + ?Sized),
    key: &CheckpointVerifier,
    max_age: std::time::Duration,
) -> Result<VerifyReport, AuditError> {
    let cps = checkpoints.load_checkpoints().await?;
    let now = time::OffsetDateTime::now_utc();
    let mut verifier = ChainVerifier::new(key, cps).strict(now, max_age);
    store.feed_verifier(&mut verifier).await?;
    Ok(verifier.finish())
}
