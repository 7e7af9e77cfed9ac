//! Writer behaviour: group commit, overflow and sink-failure policies, shutdown flush,
//! checkpoints and heartbeats while idle, the signed close and what strict verification makes
//! of appended and cut tails, and chain consistency under concurrency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agency_audit::chain::{BreakKind, ChainVerifier, CheckpointKind, SignedCheckpoint, chain_hash};
use agency_audit::sink::{AuditSink, AuditStore, CheckpointStore, MemoryStore};
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
async fn checkpoints_follow_the_head_and_idle_heartbeats_replace_each_other() {
    // An idle writer must not pile up checkpoints: every verify reads them all, so
    // verification cost would grow with idle time instead of with events. It keeps one
    // heartbeat per stream instead, re-signed each tick, so strict verification can tell an
    // idle stream from a cut one.
    let store = Arc::new(MemoryStore::new());
    let cps: Arc<dyn CheckpointStore> = store.clone();
    let config =
        WriterConfig::default().checkpoints(cps, common::signer(), Duration::from_millis(20));
    let writer = AuditWriter::spawn(store.clone(), config).unwrap();
    writer.record_durable(ev("auth.login")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // about 15 idle ticks
    let loaded = store.load_checkpoints().await.unwrap();
    let heads = |cps: &[SignedCheckpoint], seq| {
        cps.iter()
            .filter(|c| c.checkpoint.kind == CheckpointKind::Head && c.checkpoint.seq == seq)
            .count()
    };
    let heartbeats = |cps: &[SignedCheckpoint]| {
        cps.iter()
            .filter(|c| c.checkpoint.kind == CheckpointKind::Heartbeat)
            .count()
    };
    assert_eq!(heads(&loaded, 1), 1, "idle ticks wrote {loaded:?}");
    assert_eq!(heartbeats(&loaded), 1, "heartbeats piled up: {loaded:?}");
    assert!(loaded.len() <= 3, "{} checkpoints", loaded.len()); // empty chain, head, heartbeat
    assert!(writer.stats().heartbeats >= 5, "{:?}", writer.stats());
    assert!(loaded.iter().all(|c| common::verifier().verify(c)));

    // Positive control: when the head moves, the next tick vouches for it.
    writer.record_durable(ev("auth.logout")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loaded = store.load_checkpoints().await.unwrap();
    assert_eq!(heads(&loaded, 2), 1);
    assert_eq!(heartbeats(&loaded), 1);
    let key = common::verifier();
    let strict =
        agency_audit::verify_strict(store.as_ref(), store.as_ref(), &key, Duration::from_secs(5))
            .await
            .unwrap();
    assert!(
        strict.ok,
        "an idle open stream with a fresh heartbeat: {strict:?}"
    );
    writer.shutdown().await.unwrap();
    let loaded = store.load_checkpoints().await.unwrap();
    let close = loaded.last().unwrap().checkpoint;
    assert_eq!((close.kind, close.seq), (CheckpointKind::Close, 2));
}

/// The attack: after a clean shutdown, append a forged event with a correct chain hash (the
/// chain hash is unkeyed, so anyone with write access can compute it). The signed close
/// reports it at once, in every mode; with the close deleted as well, strict mode reports the
/// stream as stale once the newest checkpoint is older than the maximum age. The positive
/// control: the untouched log verifies strictly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_appended_after_a_clean_shutdown_is_reported() {
    let store = Arc::new(MemoryStore::new());
    let config = WriterConfig::default().checkpoints(
        store.clone(),
        common::signer(),
        Duration::from_secs(60),
    );
    let writer = AuditWriter::spawn(store.clone(), config).unwrap();
    let mut last = None;
    for i in 0..5 {
        last = Some(
            writer
                .record_durable(common::sample_event(i))
                .await
                .unwrap(),
        );
    }
    writer.shutdown().await.unwrap();
    let key = common::verifier();
    let max_age = Duration::from_secs(300);
    let clean = agency_audit::verify_strict(store.as_ref(), store.as_ref(), &key, max_age)
        .await
        .unwrap();
    assert!(clean.ok, "{clean:?}");

    let last = last.unwrap();
    let forged_event = ev("user.role_change");
    let forged = RecordedEvent {
        stream: writer.stream(),
        seq: last.seq + 1,
        hash: chain_hash(&last.hash, &writer.stream(), last.seq + 1, &forged_event),
        event: forged_event,
    };
    store
        .write_batch(std::slice::from_ref(&forged))
        .await
        .unwrap();
    for report in [
        agency_audit::verify(store.as_ref(), store.as_ref(), &key)
            .await
            .unwrap(),
        agency_audit::verify_strict(store.as_ref(), store.as_ref(), &key, max_age)
            .await
            .unwrap(),
    ] {
        let b = report.first_break.expect("the forged append verified");
        assert_eq!((b.kind, b.seq), (BreakKind::AfterClose, Some(6)));
    }

    // The attacker deletes the close too: the stream now looks open, with its newest
    // checkpoint as old as the shutdown. Strict mode reports it once that is past the maximum
    // age (here: verified as if an hour later).
    let without_close: Vec<_> = store
        .load_checkpoints()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.checkpoint.kind != CheckpointKind::Close)
        .collect();
    let an_hour_later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut strict = ChainVerifier::new(&key, without_close.clone()).strict(an_hour_later, max_age);
    store.feed_verifier(&mut strict).await.unwrap();
    assert_eq!(strict.finish().first_break.unwrap().kind, BreakKind::Stale);
    // The lenient verifier cannot tell: the documented gap strict mode closes.
    let mut lenient = ChainVerifier::new(&key, without_close);
    store.feed_verifier(&mut lenient).await.unwrap();
    assert!(lenient.finish().ok);
}

/// The attack: cut the last events together with the checkpoints that cover them. The
/// remaining log is a consistent prefix, so only strict mode's freshness can report it; while
/// the writer runs, its next heartbeat names the real head and reports the cut as truncation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_cut_with_its_checkpoints_is_reported() {
    let store = Arc::new(MemoryStore::new());
    let config = WriterConfig::default().checkpoints(
        store.clone(),
        common::signer(),
        Duration::from_millis(20),
    );
    let writer = AuditWriter::spawn(store.clone(), config).unwrap();
    for i in 0..3 {
        writer
            .record_durable(common::sample_event(i))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let prefix = store.load_checkpoints().await.unwrap();
    for i in 3..6 {
        writer
            .record_durable(common::sample_event(i))
            .await
            .unwrap();
    }
    writer.shutdown().await.unwrap();
    let key = common::verifier();
    // The cut: events 4..=6 and every checkpoint written after the first three events.
    store.with_events_mut(|e| e.truncate(3)).unwrap();
    let prefix: Vec<_> = prefix
        .into_iter()
        .filter(|c| c.checkpoint.kind != CheckpointKind::Heartbeat)
        .collect();
    assert!(prefix.iter().any(|c| c.checkpoint.seq == 3));
    let mut lenient = ChainVerifier::new(&key, prefix.clone());
    store.feed_verifier(&mut lenient).await.unwrap();
    assert!(lenient.finish().ok, "the lenient verifier cannot tell");
    let an_hour_later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut strict =
        ChainVerifier::new(&key, prefix).strict(an_hour_later, Duration::from_secs(300));
    store.feed_verifier(&mut strict).await.unwrap();
    assert_eq!(strict.finish().first_break.unwrap().kind, BreakKind::Stale);
    // Without the cut checkpoints removed, the close names seq 6: truncation, at once.
    let report = agency_audit::verify(store.as_ref(), store.as_ref(), &key)
        .await
        .unwrap();
    assert_eq!(report.first_break.unwrap().kind, BreakKind::Truncated);
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

/// The context is filled in before redaction: a credential that reaches the log through it (a
/// client that put a token in its User-Agent) is scrubbed like any other field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_fields_are_redacted_like_the_event_s_own() {
    let store = Arc::new(MemoryStore::new());
    let writer = AuditWriter::spawn(store.clone(), WriterConfig::default()).unwrap();
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
    let ctx = agency_audit::AuditContext::new()
        .request_id("req-9")
        .user_agent(format!("evil Bearer {jwt}"));
    writer
        .record_durable_in(&ctx, ev("agent.create"))
        .await
        .unwrap();
    writer.shutdown().await.unwrap();
    let stored = store.events();
    let event = &stored[0].event;
    assert_eq!(event.request_id.as_deref(), Some("req-9"));
    let agent = event.user_agent.as_deref().unwrap();
    assert!(!agent.contains(jwt), "{agent}");
    assert!(agent.starts_with("evil"), "{agent}");
}
