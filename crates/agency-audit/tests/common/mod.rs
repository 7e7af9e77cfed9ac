//! Shared helpers for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use agency_audit::chain::{CheckpointSigner, CheckpointVerifier};
use agency_audit::sink::{AuditSink, AuditStore, CheckpointStore};
use agency_audit::{ActorKind, AuditEvent, AuditWriter, WriterConfig};
use serde_json::json;

pub(crate) const SECRET: [u8; 32] = [0x5a; 32];

pub(crate) fn signer() -> CheckpointSigner {
    CheckpointSigner::ed25519_from_bytes(&SECRET)
}

pub(crate) fn verifier() -> CheckpointVerifier {
    signer().verifier()
}

/// `DATABASE_URL`, or `None` with a reason printed; a failure when `CI=true`.
pub(crate) fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("DATABASE_URL must be set when CI=true");
            }
            eprintln!("skipping: DATABASE_URL is not set");
            None
        }
    }
}

/// A varied event: tenant `t{i % 3}`, actor `u{i % 5}`, alternating success, a float, unicode,
/// a secret and a control character.
pub(crate) fn sample_event(i: usize) -> AuditEvent {
    let mut b = AuditEvent::builder(if i.is_multiple_of(2) {
        "agent.create"
    } else {
        "auth.login_failed"
    })
    .actor(
        ActorKind::User,
        format!("u{}", i % 5),
        format!("user\u{1b}[31m{i}"),
    )
    .tenant(format!("t{}", i % 3))
    .resource("agent", format!("a{}", i % 7))
    .old_value(json!({"n": i, "ratio": 0.1 + i as f64 / 3.0, "name": "Zoë 漢字"}))
    .new_value(json!({"state": "busy", "password": "hunter2", "nested": {"X-Api-Key": "k-123"}}))
    .ip("2001:db8::1".parse().unwrap())
    .user_agent("curl/8\r\nX-Injected: 1")
    .request_id(format!("req-{i}"));
    if i % 4 == 1 {
        b = b.failure("=HYPERLINK(\"http://evil\")");
    }
    b.build()
}

/// Records `n` sample events durably through a writer with checkpoints, then shuts it down.
pub(crate) async fn fill(
    sink: impl AuditSink,
    checkpoints: Arc<dyn CheckpointStore>,
    n: usize,
) -> AuditWriter {
    let config = WriterConfig::default()
        .checkpoints(checkpoints, signer(), Duration::from_secs(3600))
        .queue(1024, 64);
    let writer = AuditWriter::spawn(sink, config).unwrap();
    let mut handles = Vec::new();
    for i in 0..n {
        let w = writer.clone();
        handles.push(tokio::spawn(async move {
            w.record_durable(sample_event(i)).await.unwrap()
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    writer.shutdown().await.unwrap();
    writer
}

/// The conformance suite every backend runs: storage round trip, redaction, query filters,
/// keyset pagination, export, verification and retention.
pub(crate) async fn conformance<S>(store: Arc<S>, checkpoints: Arc<dyn CheckpointStore>)
where
    S: AuditSink + AuditStore + 'static,
{
    use agency_audit::AuditQuery;
    use agency_audit::export::{ExportFormat, Exporter};

    let n = 150;
    let writer = fill(store.clone(), checkpoints.clone(), n).await;
    assert_eq!(writer.stats().written, n as u64);

    // Verification over storage read back.
    let report = agency_audit::verify(store.as_ref(), checkpoints.as_ref(), &verifier())
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, n as u64);

    // Nothing secret or dangerous was stored.
    let all = export_all(store.as_ref(), ExportFormat::JsonLines).await;
    assert!(!all.contains("hunter2") && !all.contains("k-123"));
    assert!(!all.contains('\u{1b}') && !all.contains("\r\nX-Injected"));

    // The page iterator of streamed export: every event once, newest first, in pages of 7.
    let mut pages = agency_audit::export::Pages::new(store.as_ref(), &AuditQuery::new().limit(7));
    let mut streamed = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.len() <= 7);
        streamed.extend(page.into_iter().map(|r| (r.event.timestamp, r.event.id)));
    }
    assert_eq!(streamed.len(), n);
    assert!(
        streamed.windows(2).all(|w| w[0] > w[1]),
        "not newest first, or a duplicate"
    );
    assert!(pages.next_page().await.unwrap().is_none());

    // Pagination: newest first, complete, no duplicates, across pages of 7.
    let mut seen = Vec::new();
    let mut q = AuditQuery::new().tenant("t1").limit(7);
    loop {
        let page = store.query(&q).await.unwrap();
        assert!(page.events.len() <= 7);
        seen.extend(page.events.iter().map(|e| (e.event.timestamp, e.event.id)));
        match page.next_cursor {
            Some(c) => q = q.after_cursor(&c).unwrap(),
            None => break,
        }
    }
    let expected = (0..n).filter(|i| i % 3 == 1).count();
    assert_eq!(seen.len(), expected);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(
        sorted, seen,
        "pages must be newest first without duplicates"
    );

    // Filters.
    let page = store
        .query(
            &AuditQuery::new()
                .tenant("t0")
                .actor("u0")
                .action("agent.create")
                .success(true)
                .limit(1000),
        )
        .await
        .unwrap();
    let want = (0..n)
        .filter(|i| i % 3 == 0 && i % 5 == 0 && i % 2 == 0 && i % 4 != 1)
        .count();
    assert_eq!(page.events.len(), want);
    assert!(
        page.events
            .iter()
            .all(|e| e.event.tenant_id.as_deref() == Some("t0") && e.event.success)
    );
    let page = store
        .query(
            &AuditQuery::new()
                .resource("agent", Some("a3".into()))
                .limit(1000),
        )
        .await
        .unwrap();
    assert_eq!(page.events.len(), (0..n).filter(|i| i % 7 == 3).count());
    let newest = store
        .query(&AuditQuery::new().limit(1))
        .await
        .unwrap()
        .events[0]
        .event
        .timestamp;
    let page = store
        .query(&AuditQuery::new().between(Some(newest), None).limit(1000))
        .await
        .unwrap();
    assert!(!page.events.is_empty() && page.events.iter().all(|e| e.event.timestamp >= newest));
    assert!(store.query(&AuditQuery::new().limit(1001)).await.is_err());

    // Export, CSV with formula neutralisation.
    let csv = export_all(store.as_ref(), ExportFormat::Csv).await;
    assert_eq!(csv.lines().count(), n + 1);
    assert!(csv.contains("'=HYPERLINK"));
    let mut out = Vec::new();
    let count = Exporter::new(ExportFormat::JsonLines)
        .export(store.as_ref(), &AuditQuery::new().tenant("t2"), &mut out)
        .await
        .unwrap();
    assert_eq!(
        usize::try_from(count).unwrap(),
        (0..n).filter(|i| i % 3 == 2).count()
    );
}

/// The attack: a row is planted at the sequence number a writer will assign next. The writer
/// must not acknowledge its own event as stored (the insert skips the conflicting row), and
/// nothing of the refused batch may be stored; a retry of the writer's own batch stays fine.
pub(crate) async fn forged_row_is_not_acknowledged<S>(store: Arc<S>)
where
    S: AuditSink + AuditStore + 'static,
{
    use agency_audit::chain::ChainHash;
    use agency_audit::{AuditError, AuditQuery, RecordedEvent, StreamId};

    let stream = StreamId::new();
    let forged = RecordedEvent {
        stream,
        seq: 1,
        hash: ChainHash([7; 32]),
        event: AuditEvent::builder("forged.entry").build(),
    };
    store
        .write_batch(std::slice::from_ref(&forged))
        .await
        .unwrap();
    // Positive control: the same batch again is an idempotent retry, not a conflict.
    store
        .write_batch(std::slice::from_ref(&forged))
        .await
        .unwrap();

    let config = WriterConfig {
        stream,
        ..WriterConfig::default()
    };
    let writer = AuditWriter::spawn(store.clone(), config).unwrap();
    let err = writer
        .record_durable(AuditEvent::builder("real.entry").build())
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::Conflict { seq: 1 }), "{err:?}");
    let _ = writer.shutdown().await;
    let real = store
        .query(&AuditQuery::new().action("real.entry").limit(10))
        .await
        .unwrap();
    assert!(real.events.is_empty(), "a refused event was stored");
}

pub(crate) async fn export_all<S: AuditStore + ?Sized>(
    store: &S,
    format: agency_audit::export::ExportFormat,
) -> String {
    let mut out = Vec::new();
    agency_audit::export::Exporter::new(format)
        .export(store, &agency_audit::AuditQuery::new(), &mut out)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// Retention: events older than a cutoff go, behind an anchor, and the rest verifies.
pub(crate) async fn retention<S>(store: Arc<S>, checkpoints: Arc<dyn CheckpointStore>)
where
    S: AuditSink + AuditStore + 'static,
{
    let config = WriterConfig::default().checkpoints(
        checkpoints.clone(),
        signer(),
        Duration::from_secs(3600),
    );
    let writer = AuditWriter::spawn(store.clone(), config).unwrap();
    let old = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    for i in 0..20 {
        writer
            .record_durable(
                AuditEvent::builder("auth.login")
                    .request_id(format!("old{i}"))
                    .timestamp(old)
                    .build(),
            )
            .await
            .unwrap();
    }
    for i in 0..5 {
        writer
            .record_durable(
                AuditEvent::builder("auth.login")
                    .request_id(format!("new{i}"))
                    .build(),
            )
            .await
            .unwrap();
    }
    writer.shutdown().await.unwrap();
    let report = agency_audit::retention::purge_older_than(
        store.as_ref(),
        checkpoints.as_ref(),
        &signer(),
        time::Duration::days(7),
    )
    .await
    .unwrap();
    assert!(report.events > 0, "{report:?}");
    let v = agency_audit::verify(store.as_ref(), checkpoints.as_ref(), &verifier())
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    let left = store
        .query(&agency_audit::AuditQuery::new().limit(1000))
        .await
        .unwrap();
    assert!(
        left.events
            .iter()
            .filter(|e| e
                .event
                .request_id
                .as_deref()
                .unwrap_or("")
                .starts_with("new"))
            .count()
            == 5
    );
}

/// `put_heartbeat` keeps one heartbeat per stream, the newest, beside the appended checkpoints.
pub(crate) async fn heartbeats_replace_each_other(store: Arc<dyn CheckpointStore>) {
    use agency_audit::StreamId;
    use agency_audit::chain::{ChainHash, Checkpoint, CheckpointKind};
    let (a, b) = (StreamId::new(), StreamId::new());
    let at = |kind, stream, seq, secs: i64| {
        signer().sign(Checkpoint {
            kind,
            stream,
            seq,
            hash: ChainHash([u8::try_from(seq).unwrap(); 32]),
            time: time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap(),
        })
    };
    store
        .append_checkpoint(&at(CheckpointKind::Head, a, 1, 0))
        .await
        .unwrap();
    for secs in 1..=3 {
        store
            .put_heartbeat(&at(CheckpointKind::Heartbeat, a, 1, secs))
            .await
            .unwrap();
    }
    store
        .put_heartbeat(&at(CheckpointKind::Heartbeat, b, 2, 9))
        .await
        .unwrap();
    let loaded = store.load_checkpoints().await.unwrap();
    let kinds: Vec<_> = loaded
        .iter()
        .map(|c| {
            (
                c.checkpoint.kind,
                c.checkpoint.stream,
                c.checkpoint.time.unix_timestamp(),
            )
        })
        .collect();
    assert_eq!(loaded.len(), 3, "{kinds:?}");
    assert!(kinds.contains(&(CheckpointKind::Head, a, 1_700_000_000)));
    assert!(
        kinds.contains(&(CheckpointKind::Heartbeat, a, 1_700_000_003)),
        "{kinds:?}"
    );
    assert!(kinds.contains(&(CheckpointKind::Heartbeat, b, 1_700_000_009)));
    assert!(loaded.iter().all(|c| verifier().verify(c)));
}
