//! The writer: a bounded queue in front of one task that chains and commits events in batches.
//!
//! Guarantees:
//! - every event acknowledged by [`AuditWriter::record_durable`] is durable in the sink (the
//!   sink's `write_batch` returned, which means fsync or a committed transaction) and survives a
//!   crash of the process;
//! - the single writer task assigns `seq` and `hash`, so a stream's chain has no gaps or forks;
//! - [`AuditWriter::shutdown`] (and dropping every handle) flushes everything queued.
//!
//! Group commit: while one batch is being committed, new events wait in the queue; the next batch
//! takes all of them (up to `max_batch`), so the number of commits per second stays bounded by
//! the sink's commit latency while throughput grows with load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::AuditError;
use crate::chain::{ChainHash, Checkpoint, CheckpointKind, CheckpointSigner, chain_hash};
use crate::context::AuditContext;
use crate::event::{AuditEvent, RecordedEvent, StreamId};
use crate::redact::Redactor;
use crate::sink::{AuditSink, CheckpointStore};

/// What to do with an event when the queue is full or the sink is failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// Wait for room in the queue (back-pressure on the caller).
    Block,
    /// Refuse at once with [`AuditError::QueueFull`] or [`AuditError::Unavailable`]: the caller
    /// must refuse the action the event describes (as Vault does).
    FailClosed,
    /// Drop the event and count it (see [`WriterStats::dropped`]).
    DropAndCount,
}

/// Where a durable event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The writer's stream.
    pub stream: StreamId,
    /// The event's sequence number.
    pub seq: u64,
    /// The event's chain hash.
    pub hash: ChainHash,
}

/// The outcome of a non-durable [`AuditWriter::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// In the queue; it will be committed by the writer.
    Queued,
    /// Dropped (and counted) under [`OverflowPolicy::DropAndCount`].
    Dropped,
}

/// Writer settings. Event classes are action prefixes: the longest matching prefix rule gives the
/// policy, otherwise `default_policy`.
///
/// ```
/// use agency_audit::{OverflowPolicy, WriterConfig};
/// let config = WriterConfig::default()
///     .policy("auth.", OverflowPolicy::FailClosed)
///     .policy("ratelimit.", OverflowPolicy::DropAndCount);
/// assert_eq!(config.policy_for("auth.login"), OverflowPolicy::FailClosed);
/// assert_eq!(config.policy_for("agent.create"), OverflowPolicy::Block);
/// ```
pub struct WriterConfig {
    /// Queue capacity in events (default 65 536).
    pub queue_capacity: usize,
    /// Largest batch per commit (default 4096).
    pub max_batch: usize,
    /// Policy for actions that match no rule (default [`OverflowPolicy::Block`]).
    pub default_policy: OverflowPolicy,
    /// `(action prefix, policy)` rules.
    pub rules: Vec<(String, OverflowPolicy)>,
    /// Redaction applied to every event before it is hashed.
    pub redactor: Redactor,
    /// The stream id (default: a fresh one; one per writer instance).
    pub stream: StreamId,
    /// Checkpoint store and signer; without them no checkpoints are written.
    pub checkpoints: Option<(Arc<dyn CheckpointStore>, CheckpointSigner)>,
    /// Interval between checkpoints (default 10 s). A tick on which the durable head has not
    /// moved since the last checkpoint writes a heartbeat in place of the previous one instead.
    pub checkpoint_interval: Duration,
    /// How many times a failing batch is retried during shutdown before it is given up.
    pub shutdown_retries: u32,
}

impl std::fmt::Debug for WriterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterConfig")
            .field("queue_capacity", &self.queue_capacity)
            .field("max_batch", &self.max_batch)
            .field("default_policy", &self.default_policy)
            .field("rules", &self.rules)
            .field("redactor", &self.redactor)
            .field("stream", &self.stream)
            .field("checkpoints", &self.checkpoints.as_ref().map(|(_, s)| s))
            .field("checkpoint_interval", &self.checkpoint_interval)
            .finish_non_exhaustive()
    }
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 65_536,
            max_batch: 4096,
            default_policy: OverflowPolicy::Block,
            rules: Vec::new(),
            redactor: Redactor::new(),
            stream: StreamId::new(),
            checkpoints: None,
            checkpoint_interval: Duration::from_secs(10),
            shutdown_retries: 5,
        }
    }
}

impl WriterConfig {
    /// Adds a policy rule for actions starting with `action_prefix`.
    pub fn policy(mut self, action_prefix: impl Into<String>, policy: OverflowPolicy) -> Self {
        self.rules.push((action_prefix.into(), policy));
        self
    }

    /// Sets the policy for unmatched actions.
    pub fn default_policy(mut self, policy: OverflowPolicy) -> Self {
        self.default_policy = policy;
        self
    }

    /// Sets the redactor.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// Enables signed checkpoints every `interval`.
    pub fn checkpoints(
        mut self,
        store: Arc<dyn CheckpointStore>,
        signer: CheckpointSigner,
        interval: Duration,
    ) -> Self {
        self.checkpoints = Some((store, signer));
        self.checkpoint_interval = interval;
        self
    }

    /// Sets queue capacity and largest batch.
    pub fn queue(mut self, capacity: usize, max_batch: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self.max_batch = max_batch.max(1);
        self
    }

    /// The policy for an action.
    pub fn policy_for(&self, action: &str) -> OverflowPolicy {
        rule_for(&self.rules, action).map_or(self.default_policy, |i| self.rules[i].1)
    }
}

fn rule_for(rules: &[(String, OverflowPolicy)], action: &str) -> Option<usize> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| action.starts_with(p.as_str()))
        .max_by_key(|(_, (p, _))| p.len())
        .map(|(i, _)| i)
}

/// Counters, readable for metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Events durably written.
    pub written: u64,
    /// Batches committed.
    pub batches: u64,
    /// Events dropped under `DropAndCount`, in total.
    pub dropped: u64,
    /// Dropped events per rule prefix (`""` for the default policy).
    pub dropped_by_class: Vec<(String, u64)>,
    /// Failed batch writes (each retry counts).
    pub sink_failures: u64,
    /// Checkpoints written (heads and the close; heartbeats are counted apart).
    pub checkpoints: u64,
    /// Heartbeats written, each in place of the previous one.
    pub heartbeats: u64,
    /// Events given up at shutdown because the sink kept failing.
    pub lost_at_shutdown: u64,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    batches: AtomicU64,
    dropped: AtomicU64,
    sink_failures: AtomicU64,
    checkpoints: AtomicU64,
    heartbeats: AtomicU64,
    lost: AtomicU64,
}

type Ack = oneshot::Sender<Result<Receipt, AuditError>>;

// Events travel unboxed: a box would cost an allocation per event on the `record` path, and
// tokio's channel allocates its slots in blocks as the queue grows, not up front.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Event {
        event: AuditEvent,
        policy: OverflowPolicy,
        ack: Option<Ack>,
    },
    Shutdown,
}

struct Inner {
    tx: mpsc::Sender<Msg>,
    rules: Vec<(String, OverflowPolicy)>,
    default_policy: OverflowPolicy,
    redactor: Redactor,
    stream: StreamId,
    healthy: Arc<AtomicBool>,
    counters: Arc<Counters>,
    shutting_down: Arc<AtomicBool>,
    dropped_by_class: Vec<AtomicU64>,
    task: Mutex<Option<JoinHandle<Result<(), AuditError>>>>,
}

/// A handle to the audit writer; cheap to clone, share it across the application.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{ActorKind, AuditEvent, AuditWriter, OverflowPolicy, WriterConfig, sink::MemoryStore};
/// let writer = AuditWriter::spawn(MemoryStore::new(),
///     WriterConfig::default().policy("auth.", OverflowPolicy::FailClosed)).unwrap();
/// let receipt = writer
///     .record_durable(AuditEvent::builder("auth.login").actor(ActorKind::User, "u1", "alice").build())
///     .await
///     .unwrap();
/// assert_eq!(receipt.seq, 1);
/// writer.record(AuditEvent::builder("agent.create").build()).await.unwrap();
/// writer.shutdown().await.unwrap();
/// assert_eq!(writer.stats().written, 2);
/// # });
/// ```
#[derive(Clone)]
pub struct AuditWriter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("stream", &self.inner.stream)
            .finish_non_exhaustive()
    }
}

impl AuditWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(sink: impl AuditSink, config: WriterConfig) -> Result<Self, AuditError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| AuditError::NoRuntime)?;
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let healthy = Arc::new(AtomicBool::new(true));
        let counters = Arc::new(Counters::default());
        let shutting_down = Arc::new(AtomicBool::new(false));
        let task = WriterTask {
            sink: Arc::new(sink),
            rx,
            stream: config.stream,
            seq: 0,
            head: ChainHash::GENESIS,
            committed: (0, ChainHash::GENESIS),
            checkpointed: None,
            max_batch: config.max_batch.max(1),
            checkpoints: config.checkpoints,
            interval: config.checkpoint_interval.max(Duration::from_millis(10)),
            shutdown_retries: config.shutdown_retries,
            healthy: healthy.clone(),
            counters: counters.clone(),
            shutting_down: shutting_down.clone(),
        };
        let join = handle.spawn(task.run());
        Ok(AuditWriter {
            inner: Arc::new(Inner {
                tx,
                dropped_by_class: (0..=config.rules.len())
                    .map(|_| AtomicU64::new(0))
                    .collect(),
                rules: config.rules,
                default_policy: config.default_policy,
                redactor: config.redactor,
                stream: config.stream,
                healthy,
                counters,
                shutting_down,
                task: Mutex::new(Some(join)),
            }),
        })
    }

    /// This writer's stream.
    pub fn stream(&self) -> StreamId {
        self.inner.stream
    }

    fn classify(&self, action: &str) -> (usize, OverflowPolicy) {
        match rule_for(&self.inner.rules, action) {
            Some(i) => (i, self.inner.rules[i].1),
            None => (self.inner.rules.len(), self.inner.default_policy),
        }
    }

    fn count_drop(&self, class: usize) {
        self.inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.inner.dropped_by_class.get(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn enqueue(
        &self,
        mut event: AuditEvent,
        ack: Option<Ack>,
    ) -> Result<RecordOutcome, AuditError> {
        let (class, policy) = self.classify(&event.action);
        if !self.inner.healthy.load(Ordering::Acquire) {
            match policy {
                OverflowPolicy::FailClosed => return Err(AuditError::Unavailable),
                OverflowPolicy::DropAndCount => {
                    self.count_drop(class);
                    return Ok(RecordOutcome::Dropped);
                }
                OverflowPolicy::Block => {}
            }
        }
        self.inner.redactor.apply(&mut event);
        let msg = Msg::Event { event, policy, ack };
        match policy {
            OverflowPolicy::Block => self
                .inner
                .tx
                .send(msg)
                .await
                .map_err(|_| AuditError::Closed)?,
            OverflowPolicy::FailClosed => self.inner.tx.try_send(msg).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AuditError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => AuditError::Closed,
            })?,
            OverflowPolicy::DropAndCount => match self.inner.tx.try_send(msg) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.count_drop(class);
                    return Ok(RecordOutcome::Dropped);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(AuditError::Closed),
            },
        }
        Ok(RecordOutcome::Queued)
    }

    /// Redacts the event and enqueues it; returns at once (under `Block`, once there is room).
    pub async fn record(&self, event: AuditEvent) -> Result<RecordOutcome, AuditError> {
        self.enqueue(event, None).await
    }

    /// [`record`](Self::record) with the request's context filled into what the event leaves
    /// unset (see [`AuditContext`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use agency_audit::{AuditContext, AuditEvent, AuditWriter, WriterConfig, sink::MemoryStore};
    /// let store = Arc::new(MemoryStore::new());
    /// let writer = AuditWriter::spawn(store.clone(), WriterConfig::default()).unwrap();
    /// let ctx = AuditContext::new().request_id("req-1");
    /// let task = {
    ///     let (writer, ctx) = (writer.clone(), ctx.clone());
    ///     tokio::spawn(async move {
    ///         writer.record_durable_in(&ctx, AuditEvent::builder("task.dispatch").build()).await
    ///     })
    /// };
    /// task.await.unwrap().unwrap();
    /// writer.record_in(&ctx, AuditEvent::builder("agent.update").build()).await.unwrap();
    /// writer.shutdown().await.unwrap();
    /// assert!(store.events().iter().all(|r| r.event.request_id.as_deref() == Some("req-1")));
    /// # });
    /// ```
    pub async fn record_in(
        &self,
        context: &AuditContext,
        mut event: AuditEvent,
    ) -> Result<RecordOutcome, AuditError> {
        context.apply(&mut event);
        self.record(event).await
    }

    /// [`record_durable`](Self::record_durable) with the request's context filled into what the
    /// event leaves unset (see [`AuditContext`]).
    pub async fn record_durable_in(
        &self,
        context: &AuditContext,
        mut event: AuditEvent,
    ) -> Result<Receipt, AuditError> {
        context.apply(&mut event);
        self.record_durable(event).await
    }

    /// Redacts the event, enqueues it and returns once the batch holding it is durable.
    ///
    /// Under `DropAndCount`, a dropped event is [`AuditError::Dropped`]. Under `FailClosed`, a
    /// failed commit answers [`AuditError::Sink`] at once (the writer keeps retrying the batch, so
    /// the event may still be stored; the caller must refuse its action).
    pub async fn record_durable(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        let (tx, rx) = oneshot::channel();
        match self.enqueue(event, Some(tx)).await? {
            RecordOutcome::Dropped => Err(AuditError::Dropped),
            RecordOutcome::Queued => rx.await.map_err(|_| AuditError::Closed)?,
        }
    }

    /// Stops accepting events, commits everything queued, writes the stream's signed
    /// [`Close`](CheckpointKind::Close) checkpoint (when checkpoints are configured) and waits
    /// for the writer task. Calling it again is harmless.
    pub async fn shutdown(&self) -> Result<(), AuditError> {
        // Set first, so a commit stuck retrying against a dead sink gives up after
        // `shutdown_retries` even before the writer reads the shutdown message.
        self.inner.shutting_down.store(true, Ordering::Release);
        let _ = self.inner.tx.send(Msg::Shutdown).await;
        let join = self.inner.task.lock().ok().and_then(|mut t| t.take());
        match join {
            Some(join) => join
                .await
                .map_err(|e| AuditError::Sink(format!("writer task failed: {e}")))?,
            None => Ok(()),
        }
    }

    /// Whether the last commit succeeded.
    pub fn is_healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Acquire)
    }

    /// Events currently waiting in the queue.
    pub fn queued(&self) -> usize {
        self.inner.tx.max_capacity() - self.inner.tx.capacity()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> WriterStats {
        let c = &self.inner.counters;
        let mut dropped_by_class: Vec<(String, u64)> = self
            .inner
            .rules
            .iter()
            .map(|(p, _)| p.clone())
            .chain(std::iter::once(String::new()))
            .zip(
                self.inner
                    .dropped_by_class
                    .iter()
                    .map(|a| a.load(Ordering::Relaxed)),
            )
            .collect();
        dropped_by_class.retain(|(_, n)| *n > 0);
        WriterStats {
            written: c.written.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            dropped_by_class,
            sink_failures: c.sink_failures.load(Ordering::Relaxed),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            heartbeats: c.heartbeats.load(Ordering::Relaxed),
            lost_at_shutdown: c.lost.load(Ordering::Relaxed),
        }
    }
}

struct WriterTask {
    sink: Arc<dyn AuditSink>,
    rx: mpsc::Receiver<Msg>,
    stream: StreamId,
    /// Last assigned sequence number and hash (may not be durable yet).
    seq: u64,
    head: ChainHash,
    /// Last durable sequence number and hash: what checkpoints may vouch for.
    committed: (u64, ChainHash),
    /// The head the last checkpoint written by this task vouched for. While the head has not
    /// moved, another checkpoint adds nothing a verifier can use, so none is written: an idle
    /// instance would otherwise add one per interval (three million a year at 10 s), and every
    /// verify reads them all.
    checkpointed: Option<(u64, ChainHash)>,
    max_batch: usize,
    checkpoints: Option<(Arc<dyn CheckpointStore>, CheckpointSigner)>,
    interval: Duration,
    shutdown_retries: u32,
    healthy: Arc<AtomicBool>,
    counters: Arc<Counters>,
    shutting_down: Arc<AtomicBool>,
}

/// A batch being built or committed: chained records and their callers' acknowledgements.
#[derive(Default)]
struct Batch {
    records: Vec<RecordedEvent>,
    acks: Vec<(Option<Ack>, OverflowPolicy, Receipt)>,
}

type Commit = JoinHandle<(Result<(), AuditError>, u64, ChainHash)>;

impl WriterTask {
    /// Pipelined group commit: while one batch is being committed (on another task), the next
    /// one is received and chained, so hashing overlaps with I/O. Only one commit is in flight at
    /// a time, so batches land in order.
    async fn run(mut self) -> Result<(), AuditError> {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut msgs = Vec::with_capacity(self.max_batch);
        let mut next = Batch::default();
        let mut inflight: Option<Commit> = None;
        let mut closed = false;
        let mut result = Ok(());
        loop {
            if closed && inflight.is_none() && next.records.is_empty() {
                break;
            }
            let room = self.max_batch.saturating_sub(next.records.len());
            tokio::select! {
                biased;
                done = async {
                    match inflight.as_mut() {
                        Some(h) => h.await,
                        None => std::future::pending().await,
                    }
                }, if inflight.is_some() => {
                    inflight = None;
                    match done {
                        Ok((Ok(()), seq, hash)) => self.committed = (seq, hash),
                        Ok((Err(e), _, _)) => result = Err(e),
                        Err(e) => result = Err(AuditError::Sink(format!("commit task failed: {e}"))),
                    }
                }
                _ = ticker.tick() => {
                    self.checkpoint().await;
                    continue;
                }
                n = self.rx.recv_many(&mut msgs, room.max(1)), if !closed && room > 0 => {
                    if n == 0 {
                        closed = true;
                    } else {
                        self.chain(&mut msgs, &mut next);
                    }
                }
            }
            if inflight.is_none() && !next.records.is_empty() {
                let batch = std::mem::take(&mut next);
                inflight = Some(tokio::spawn(commit(
                    self.sink.clone(),
                    batch,
                    self.healthy.clone(),
                    self.counters.clone(),
                    self.shutting_down.clone(),
                    self.shutdown_retries,
                )));
            }
        }
        // A clean end: the signed close says nothing may follow this head, so an event
        // appended to the stream later (with a correct chain hash) is reported.
        self.write_checkpoint(CheckpointKind::Close).await;
        result
    }

    fn chain(&mut self, msgs: &mut Vec<Msg>, batch: &mut Batch) {
        for msg in msgs.drain(..) {
            match msg {
                Msg::Shutdown => {
                    self.shutting_down.store(true, Ordering::Release);
                    // Refuse new events; what is already queued is still drained.
                    self.rx.close();
                }
                Msg::Event { event, policy, ack } => {
                    self.seq += 1;
                    let hash = chain_hash(&self.head, &self.stream, self.seq, &event);
                    self.head = hash;
                    let receipt = Receipt {
                        stream: self.stream,
                        seq: self.seq,
                        hash,
                    };
                    batch.records.push(RecordedEvent {
                        stream: self.stream,
                        seq: self.seq,
                        hash,
                        event,
                    });
                    batch.acks.push((ack, policy, receipt));
                }
            }
        }
    }

    /// On the writer's schedule: a [`Head`](CheckpointKind::Head) checkpoint when the durable
    /// head moved since the last one, otherwise a [`Heartbeat`](CheckpointKind::Heartbeat) in
    /// place of the previous heartbeat. Either way the newest checkpoint of an open stream is
    /// never older than one interval (plus a failing store's retries), which is what lets a
    /// strict verifier tell an idle stream from one whose tail was cut.
    async fn checkpoint(&mut self) {
        let kind = if self.checkpointed == Some(self.committed) {
            CheckpointKind::Heartbeat
        } else {
            CheckpointKind::Head
        };
        self.write_checkpoint(kind).await;
    }

    async fn write_checkpoint(&mut self, kind: CheckpointKind) {
        let Some((store, signer)) = &self.checkpoints else {
            return;
        };
        let cp = Checkpoint {
            kind,
            stream: self.stream,
            seq: self.committed.0,
            hash: self.committed.1,
            time: crate::event::normalize_timestamp(OffsetDateTime::now_utc()),
        };
        let signed = signer.sign(cp);
        let stored = match kind {
            CheckpointKind::Heartbeat => store.put_heartbeat(&signed).await,
            CheckpointKind::Head | CheckpointKind::Anchor | CheckpointKind::Close => {
                store.append_checkpoint(&signed).await
            }
        };
        match stored {
            Ok(()) if kind == CheckpointKind::Heartbeat => {
                self.counters.heartbeats.fetch_add(1, Ordering::Relaxed);
            }
            Ok(()) => {
                self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
                self.checkpointed = Some(self.committed);
            }
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    kind = kind.as_str(),
                    "audit checkpoint write failed; will retry at the next tick"
                )
            }
        }
    }
}

/// Commits one batch, retrying with back-off until it is durable (or, during shutdown, until
/// `shutdown_retries` is exhausted). Returns the batch's last `(seq, hash)`.
async fn commit(
    sink: Arc<dyn AuditSink>,
    batch: Batch,
    healthy: Arc<AtomicBool>,
    counters: Arc<Counters>,
    shutting_down: Arc<AtomicBool>,
    shutdown_retries: u32,
) -> (Result<(), AuditError>, u64, ChainHash) {
    let Batch { records, mut acks } = batch;
    let (last_seq, last_hash) = records
        .last()
        .map_or((0, ChainHash::GENESIS), |r| (r.seq, r.hash));
    let mut backoff = Duration::from_millis(10);
    let mut failures = 0u32;
    loop {
        match sink.write_batch(&records).await {
            Ok(()) => {
                healthy.store(true, Ordering::Release);
                counters
                    .written
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                for (ack, _, receipt) in acks {
                    if let Some(ack) = ack {
                        let _ = ack.send(Ok(receipt));
                    }
                }
                return (Ok(()), last_seq, last_hash);
            }
            Err(AuditError::Conflict { seq }) => {
                // Not a failure a retry can cure: another event holds one of our sequence
                // numbers. Acknowledge nothing, and say so loudly.
                healthy.store(false, Ordering::Release);
                counters.sink_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    seq,
                    events = records.len(),
                    "audit stream tampered with: the store holds another event at a sequence \
                     number this writer assigned; the batch is refused, not stored"
                );
                for (ack, _, _) in acks {
                    if let Some(ack) = ack {
                        let _ = ack.send(Err(AuditError::Conflict { seq }));
                    }
                }
                return (Err(AuditError::Conflict { seq }), last_seq, last_hash);
            }
            Err(e) => {
                failures += 1;
                healthy.store(false, Ordering::Release);
                counters.sink_failures.fetch_add(1, Ordering::Relaxed);
                // The operator's log gets the whole cause chain; callers get the fixed `Display` text.
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    events = records.len(),
                    "audit batch commit failed; retrying"
                );
                let message = e.to_string();
                for (ack, policy, _) in acks.iter_mut() {
                    if *policy != OverflowPolicy::Block
                        && let Some(ack) = ack.take()
                    {
                        let _ = ack.send(Err(AuditError::Sink(message.clone())));
                    }
                }
                if shutting_down.load(Ordering::Acquire) && failures > shutdown_retries {
                    counters
                        .lost
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                    for (ack, _, _) in acks {
                        if let Some(ack) = ack {
                            let _ = ack.send(Err(AuditError::Sink(message.clone())));
                        }
                    }
                    return (Err(e), last_seq, last_hash);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
