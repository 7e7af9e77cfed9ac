//! Writer behaviour: group commit, overflow and sink-failure policies, shutdown flush,
//! checkpoints while idle, and chain consistency under concurrency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agency_audit::sink::{AuditSink, CheckpointStore, MemoryStore};
use agency_audit::{
    AuditError, AuditEvent, AuditWriter, OverflowPolicy, RecordOutcome, RecordedEvent, WriterConfig,
};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// A sink that blocks until the test opens the gate, then writes to memory.
struct GatedSink {
    gate: Arc<Semaphore>,
    inner: Arc<MemoryStore>,
}

#[async_trait]
impl AuditSink for GatedSink {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let permit = self.gate.acquire().await.unwrap();
        permit.forget();
        self.inner.write_batch(batch).await
    }
}

/// A sink that fails its first `failures` writes (after writing part of the batch, as a torn
/// write would), then works.
struct FlakySink {
    failures: AtomicU32,
    inner: Arc<MemoryStore>,
}

#[async_trait]
impl AuditSink for FlakySink {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            self.inner.write_batch(&batch[..batch.len() / 2]).await?;
            return Err(AuditError::Sink("disk on fire".into()));
        }
        self.inner.write_batch(batch).await
    }
}

fn ev(action: &str) -> AuditEvent {
    AuditEvent::builder(action).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_refuses_fail_closed_and_counts_drops() {
    let gate = Arc::new(Semaphore::new(0));
    let store = Arc::new(MemoryStore::new());
    let config = WriterConfig::default()
        .queue(2, 1)
        .policy("auth.", OverflowPolicy::FailClosed)
        .policy("ratelimit.", OverflowPolicy::DropAndCount);
    let writer = AuditWriter::spawn(
        GatedSink {
            gate: gate.clone(),
            inner: store.clone(),
        },
        config,
    )
    .unwrap();
    // One event is in the (blocked) commit, one is chained as the next batch, two fill the queue.
    writer.record(ev("agent.create")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    writer.record(ev("agent.create")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    writer.record(ev("agent.create")).await.unwrap();
    writer.record(ev("agent.create")).await.unwrap();
    assert!(matches!(
        writer.record(ev("auth.login")).await,
        Err(AuditError::QueueFull)
    ));
    assert!(matches!(
        writer.record_durable(ev("auth.login")).await,
        Err(AuditError::QueueFull)
    ));
    assert_eq!(
        writer.record(ev("ratelimit.exceeded")).await.unwrap(),
        RecordOutcome::Dropped
    );
    assert!(matches!(
        writer.record_durable(ev("ratelimit.exceeded")).await,
        Err(AuditError::Dropped)
    ));
    let stats = writer.stats();
    assert_eq!(stats.dropped, 2);
    assert_eq!(stats.dropped_by_class, vec![("ratelimit.".to_owned(), 2)]);
    // A Block event waits for room instead.
    let w = writer.clone();
    let blocked = tokio::spawn(async move { w.record(ev("agent.delete")).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!blocked.is_finished());
    gate.add_permits(100);
    assert_eq!(blocked.await.unwrap().unwrap(), RecordOutcome::Queued);
    writer.shutdown().await.unwrap();
    assert_eq!(store.events().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_sink_refuses_fail_closed_and_retries_without_breaking_the_chain() {
    let store = Arc::new(MemoryStore::new());
    let sink = FlakySink {
        failures: AtomicU32::new(3),
        inner: store.clone(),
    };
    let config = WriterConfig::default()
        .policy("auth.", OverflowPolicy::FailClosed)
        .policy("ratelimit.", OverflowPolicy::DropAndCount)
        .checkpoints(store.clone(), common::signer(), Duration::from_secs(3600));
    let writer = AuditWriter::spawn(sink, config).unwrap();
    // The fail-closed caller learns at once that its event is not known to be durable.
    let err = writer.record_durable(ev("auth.login")).await.unwrap_err();
    assert!(matches!(err, AuditError::Sink(_)), "{err:?}");
    // While the sink is failing, fail-closed events are refused up front, drops are counted.
    assert!(!writer.is_healthy());
    assert!(matches!(
        writer.record(ev("auth.logout")).await,
        Err(AuditError::Unavailable)
    ));
    assert_eq!(
        writer.record(ev("ratelimit.exceeded")).await.unwrap(),
        RecordOutcome::Dropped
    );
    // A blocking durable event is stored once the sink recovers.
    let receipt = writer.record_durable(ev("agent.create")).await.unwrap();
    assert_eq!(receipt.seq, 2);
    assert!(writer.is_healthy());
    writer.shutdown().await.unwrap();
    assert!(writer.stats().sink_failures >= 3);
    let report = agency_audit::verify(store.as_ref(), store.as_ref(), &common::verifier())
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_everything_queued() {
    let store = Arc::new(MemoryStore::new());
    let writer =
        AuditWriter::spawn(store.clone(), WriterConfig::default().queue(100_000, 512)).unwrap();
    for i in 0..20_000 {
        writer
            .record(
                AuditEvent::builder("task.dispatch")
                    .request_id(i.to_string())
                    .build(),
            )
            .await
            .unwrap();
    }
    writer.shutdown().await.unwrap();
    assert_eq!(store.events().len(), 20_000);
    assert!(matches!(
        writer.record(ev("x")).await,
        Err(AuditError::Closed)
    ));
    assert!(
        writer.stats().batches < 20_000,
        "events should be committed in groups"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_follow_the_head_and_stop_while_idle() {
    // An idle writer must not add a checkpoint per tick: every verify reads them all, so
    // verification cost would grow with idle time instead of with events.
    let store = Arc::new(MemoryStore::new());
    let cps: Arc<dyn CheckpointStore> = store.clone();
    let config =
        WriterConfig::default().checkpoints(cps, common::signer(), Duration::from_millis(20));
    let writer = AuditWriter::spawn(store.clone(), config).unwrap();
    writer.record_durable(ev("auth.login")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // about 15 idle ticks
    let loaded = store.load_checkpoints().await.unwrap();
    let at_head: Vec<_> = loaded.iter().filter(|c| c.checkpoint.seq == 1).collect();
    assert_eq!(
        at_head.len(),
        1,
        "idle ticks wrote {} checkpoints",
        loaded.len()
    );
    assert!(loaded.len() <= 2, "{} checkpoints", loaded.len()); // at most one of the empty chain
    assert!(loaded.iter().all(|c| common::verifier().verify(c)));

    // Positive control: when the head moves, the next tick vouches for it.
    writer.record_durable(ev("auth.logout")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loaded = store.load_checkpoints().await.unwrap();
    assert_eq!(loaded.last().unwrap().checkpoint.seq, 2);
    assert_eq!(loaded.iter().filter(|c| c.checkpoint.seq == 2).count(), 1);
    writer.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_durable_callers_get_distinct_seqs_and_a_valid_chain() {
    let store = Arc::new(MemoryStore::new());
    let writer = AuditWriter::spawn(
        store.clone(),
        WriterConfig::default().checkpoints(
            store.clone(),
            common::signer(),
            Duration::from_secs(60),
        ),
    )
    .unwrap();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..100 {
                seqs.push(
                    w.record_durable(common::sample_event(t * 100 + i))
                        .await
                        .unwrap()
                        .seq,
                );
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=1600).collect::<Vec<u64>>());
    writer.shutdown().await.unwrap();
    let report = agency_audit::verify(store.as_ref(), store.as_ref(), &common::verifier())
        .await
        .unwrap();
    assert!(report.ok && report.checked == 1600, "{report:?}");
}

#[tokio::test]
async fn spawning_outside_a_runtime_is_an_error_not_a_panic() {
    let result = std::thread::spawn(|| {
        AuditWriter::spawn(MemoryStore::new(), WriterConfig::default()).map(|_| ())
    })
    .join()
    .unwrap();
    assert!(matches!(result, Err(AuditError::NoRuntime)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_writes_every_batch_to_every_sink() {
    let a = Arc::new(MemoryStore::new());
    let b = Arc::new(MemoryStore::new());
    let fanout =
        agency_audit::sink::FanoutSink::new(vec![Box::new(a.clone()), Box::new(b.clone())]);
    let config =
        WriterConfig::default().checkpoints(a.clone(), common::signer(), Duration::from_secs(60));
    let writer = AuditWriter::spawn(fanout, config).unwrap();
    for i in 0..50 {
        writer
            .record_durable(common::sample_event(i))
            .await
            .unwrap();
    }
    writer.shutdown().await.unwrap();
    assert_eq!(a.events(), b.events());
    assert_eq!(a.events().len(), 50);
    let report = agency_audit::verify(b.as_ref(), a.as_ref(), &common::verifier())
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
}

/// A sink that always fails.
struct DeadSink;

#[async_trait]
impl AuditSink for DeadSink {
    async fn write_batch(&self, _: &[RecordedEvent]) -> Result<(), AuditError> {
        Err(AuditError::Sink("gone".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_up_on_a_dead_sink_and_counts_the_loss() {
    let mut config = WriterConfig::default().queue(4, 2);
    config.shutdown_retries = 1;
    let writer = AuditWriter::spawn(DeadSink, config).unwrap();
    for _ in 0..4 {
        writer.record(ev("agent.create")).await.unwrap();
    }
    let result = tokio::time::timeout(Duration::from_secs(20), writer.shutdown())
        .await
        .expect("shutdown must finish");
    assert!(result.is_err());
    assert_eq!(writer.stats().lost_at_shutdown, 4);
}
