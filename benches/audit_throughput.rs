//! Benchmark audit_throughput: durable throughput of the agency-audit writer (group commit)
//! against the naive baseline of one INSERT (or one write+fsync) per event, on JSON lines,
//! SQLite and PostgreSQL, in one run; `record` enqueue latency while the writer is busy; memory
//! per queued event.
//!
//! A timed load run, not criterion: the questions are throughput and tail latency, which
//! criterion's mean-per-iteration model does not answer. PostgreSQL runs when `DATABASE_URL` is
//! set (in its own schema, dropped afterwards). Sizes scale with `AUDIT_BENCH_EVENTS`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]
// The bench reports what it measures on stdout.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use agency_audit::chain::{ChainHash, chain_hash};
use agency_audit::sink::{
    AuditSink, JsonlSink, PostgresAuditStore, Rotation, SqliteAuditStore, SqliteDurability,
};
use agency_audit::{
    ActorKind, AuditError, AuditEvent, AuditWriter, RecordedEvent, StreamId, WriterConfig,
};
use serde_json::json;

/// A typical event with a ~200-byte payload.
fn event(i: usize) -> AuditEvent {
    AuditEvent::builder("agent.state_change")
        .actor(ActorKind::User, format!("u-{}", i % 100), "alice")
        .tenant(format!("tenant-{}", i % 10))
        .resource("agent", format!("agent-{}", i % 1000))
        .old_value(json!({"state": "idle", "load": 0.25}))
        .new_value(json!({"state": "busy", "task": format!("task-{i}"), "note": "dispatched by scheduler"}))
        .ip("192.0.2.10".parse().unwrap())
        .user_agent("swarm-dashboard/1.0")
        .request_id(format!("req-{i}"))
        .build()
}

fn chained(stream: StreamId, seq: u64, prev: &mut ChainHash, i: usize) -> RecordedEvent {
    let e = event(i);
    let hash = chain_hash(prev, &stream, seq, &e);
    *prev = hash;
    RecordedEvent {
        stream,
        seq,
        hash,
        event: e,
    }
}

fn scale() -> usize {
    std::env::var("AUDIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

struct Row {
    backend: &'static str,
    naive: f64,
    pipelined: f64,
    concurrent: f64,
}

/// Naive baseline through a sink: one event per durable write, sequentially.
async fn naive_sink(sink: &dyn AuditSink, n: usize) -> f64 {
    let stream = StreamId::new();
    let mut prev = ChainHash::GENESIS;
    let start = Instant::now();
    for i in 0..n {
        let r = chained(stream, i as u64 + 1, &mut prev, i);
        sink.write_batch(std::slice::from_ref(&r)).await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The writer, fed by `record` (non-blocking enqueue) from 2 producer tasks; the clock stops when
/// shutdown has made everything durable.
async fn pipelined<S: AuditSink + Clone>(sink: S, n: usize) -> f64 {
    let writer = AuditWriter::spawn(sink, WriterConfig::default().queue(65_536, 8192)).unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..2 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in (p..n).step_by(2) {
                w.record(event(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    writer.shutdown().await.unwrap();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    assert_eq!(writer.stats().written, n as u64);
    rate
}

/// The writer, with `callers` concurrent tasks each calling `record_durable` in a loop.
async fn concurrent_durable<S: AuditSink + Clone>(sink: S, n: usize, callers: usize) -> f64 {
    let writer = AuditWriter::spawn(sink, WriterConfig::default().queue(65_536, 8192)).unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in (c..n).step_by(callers) {
                w.record_durable(event(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    writer.shutdown().await.unwrap();
    rate
}

async fn sqlite_naive_insert(store: &SqliteAuditStore, n: usize) -> f64 {
    // One autocommit INSERT per event into the same table, same WAL + synchronous settings.
    let stream = StreamId::new();
    let mut prev = ChainHash::GENESIS;
    let start = Instant::now();
    for i in 0..n {
        let r = chained(stream, i as u64 + 1, &mut prev, i);
        let e = &r.event;
        sqlx::query(
            "INSERT INTO audit_events (stream_id, seq, hash, id, ts, actor_id, actor, actor_kind, tenant_id, action, \
             resource_type, resource_id, old_value, new_value, ip_address, user_agent, success, error_message, request_id) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(r.stream.0.as_bytes().as_slice())
        .bind(i64::try_from(r.seq).unwrap())
        .bind(r.hash.0.as_slice())
        .bind(e.id.as_bytes().as_slice())
        .bind(i64::try_from(e.timestamp.unix_timestamp_nanos() / 1000).unwrap())
        .bind(e.actor_id.as_deref())
        .bind(e.actor.as_deref())
        .bind(e.actor_kind.as_str())
        .bind(e.tenant_id.as_deref())
        .bind(e.action.as_str())
        .bind(e.resource_type.as_deref())
        .bind(e.resource_id.as_deref())
        .bind(e.old_value.as_ref().map(agency_audit::chain::canonical_json))
        .bind(e.new_value.as_ref().map(agency_audit::chain::canonical_json))
        .bind(e.ip_address.map(|i| i.to_string()))
        .bind(e.user_agent.as_deref())
        .bind(e.success)
        .bind(e.error_message.as_deref())
        .bind(e.request_id.as_deref())
        .execute(store.pool())
        .await
        .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn pg_naive_insert(store: &PostgresAuditStore, n: usize) -> f64 {
    let stream = StreamId::new();
    let mut prev = ChainHash::GENESIS;
    let start = Instant::now();
    for i in 0..n {
        let r = chained(stream, i as u64 + 1, &mut prev, i);
        let e = &r.event;
        sqlx::query(
            "INSERT INTO audit_events (stream_id, seq, hash, id, ts, actor_id, actor, actor_kind, tenant_id, action, \
             resource_type, resource_id, old_value, new_value, ip_address, user_agent, success, error_message, request_id) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)",
        )
        .bind(r.stream.0)
        .bind(i64::try_from(r.seq).unwrap())
        .bind(r.hash.0.to_vec())
        .bind(e.id)
        .bind(e.timestamp)
        .bind(e.actor_id.as_deref())
        .bind(e.actor.as_deref())
        .bind(e.actor_kind.as_str())
        .bind(e.tenant_id.as_deref())
        .bind(e.action.as_str())
        .bind(e.resource_type.as_deref())
        .bind(e.resource_id.as_deref())
        .bind(e.old_value.as_ref().map(agency_audit::chain::canonical_json))
        .bind(e.new_value.as_ref().map(agency_audit::chain::canonical_json))
        .bind(e.ip_address.map(|i| i.to_string()))
        .bind(e.user_agent.as_deref())
        .bind(e.success)
        .bind(e.error_message.as_deref())
        .bind(e.request_id.as_deref())
        .execute(store.pool())
        .await
        .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `record` latency while the writer is busy committing to SQLite (synchronous=FULL).
async fn record_latency(sink: SqliteAuditStore, n: usize) -> (Duration, Duration, Duration) {
    let writer = AuditWriter::spawn(sink, WriterConfig::default().queue(n + 1, 8192)).unwrap();
    // Warm the writer up so it is busy committing while we measure.
    for i in 0..20_000 {
        writer.record(event(i)).await.unwrap();
    }
    let events: Vec<AuditEvent> = (0..n).map(event).collect();
    let mut lat = Vec::with_capacity(n);
    for e in events {
        let t = Instant::now();
        writer.record(e).await.unwrap();
        lat.push(t.elapsed());
    }
    assert!(writer.queued() > 0, "the writer should still be busy");
    writer.shutdown().await.unwrap();
    lat.sort_unstable();
    // Percentiles in tenths of a permille, in integers: the index is `len * p / 10_000`.
    let q = |p: usize| lat[(lat.len() * p / 10_000).min(lat.len() - 1)];
    (q(5_000), q(9_900), q(9_990))
}

/// A sink that never completes, so queued events stay queued.
#[derive(Clone)]
struct Stalled;

impl AuditSink for Stalled {
    // The shape `#[async_trait]` expands to (this package does not depend on async-trait).
    fn write_batch<'a, 'b, 'c>(
        &'a self,
        _batch: &'b [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), AuditError>> + Send + 'c>>
    where
        'a: 'c,
        'b: 'c,
        Self: 'c,
    {
        Box::pin(std::future::pending())
    }
}

/// Resident set size in bytes (Linux), from /proc/self/statm.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Growth of the resident set while `n` events sit in the queue of a stalled writer.
async fn memory_per_event(n: usize) -> Option<f64> {
    let writer = AuditWriter::spawn(Stalled, WriterConfig::default().queue(n + 10, 1)).unwrap();
    writer.record(event(0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = rss_bytes()?;
    for i in 0..n {
        writer.record(event(i)).await.unwrap();
    }
    assert!(writer.queued() + 2 >= n);
    let after = rss_bytes()?;
    Some((after.saturating_sub(before)) as f64 / n as f64)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let n = scale();
    let naive_n = (n / 50).max(500);
    let mut rows = Vec::new();
    println!("audit_throughput: {n} events per writer run, {naive_n} per naive baseline run");

    // JSON lines: naive = one write + fdatasync per event.
    {
        let dir = tempfile::tempdir().unwrap();
        let sink = JsonlSink::new(dir.path(), "naive", Rotation::default()).unwrap();
        let naive = naive_sink(&sink, naive_n).await;
        let p = pipelined(
            JsonlSink::new(dir.path(), "pipe", Rotation::default()).unwrap(),
            n,
        )
        .await;
        let c = concurrent_durable(
            JsonlSink::new(dir.path(), "conc", Rotation::default()).unwrap(),
            n / 2,
            512,
        )
        .await;
        rows.push(Row {
            backend: "JSON lines (fdatasync per batch)",
            naive,
            pipelined: p,
            concurrent: c,
        });
    }

    // SQLite, WAL + synchronous=FULL for both the baseline and the writer.
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        let store = SqliteAuditStore::connect(&url, SqliteDurability::Full)
            .await
            .unwrap();
        let naive = sqlite_naive_insert(&store, naive_n).await;
        let p = pipelined(store.clone(), n).await;
        let c = concurrent_durable(store.clone(), n / 2, 512).await;
        rows.push(Row {
            backend: "SQLite (WAL, synchronous=FULL)",
            naive,
            pipelined: p,
            concurrent: c,
        });
        let (p50, p99, p999) = record_latency(store.clone(), 100_000).await;
        println!(
            "record() latency while the writer commits to SQLite: p50 {p50:?}, p99 {p99:?}, p99.9 {p999:?}"
        );
    }

    // SQLite, WAL + synchronous=NORMAL, for comparison.
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        let store = SqliteAuditStore::connect(&url, SqliteDurability::Normal)
            .await
            .unwrap();
        let naive = sqlite_naive_insert(&store, naive_n).await;
        let p = pipelined(store.clone(), n).await;
        let c = concurrent_durable(store.clone(), n / 2, 512).await;
        rows.push(Row {
            backend: "SQLite (WAL, synchronous=NORMAL)",
            naive,
            pipelined: p,
            concurrent: c,
        });
    }

    // PostgreSQL, in its own schema.
    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let schema = format!("bench_audit_{}", std::process::id());
            let store = PostgresAuditStore::connect(&url, Some(&schema))
                .await
                .unwrap();
            let naive = pg_naive_insert(&store, naive_n).await;
            let p = pipelined(store.clone(), n).await;
            let c = concurrent_durable(store.clone(), n / 2, 512).await;
            rows.push(Row {
                backend: "PostgreSQL (synchronous_commit=on)",
                naive,
                pipelined: p,
                concurrent: c,
            });
            store.pool().close().await;
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await
                .unwrap();
        }
        Err(_) => println!("PostgreSQL skipped: DATABASE_URL is not set"),
    }

    println!();
    println!(
        "| backend | naive (events/s) | writer, record + shutdown (events/s) | x naive | writer, 512 record_durable callers (events/s) | x naive |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.0} | {:.1} |",
            r.backend,
            r.naive,
            r.pipelined,
            r.pipelined / r.naive,
            r.concurrent,
            r.concurrent / r.naive
        );
    }
    let per_event = memory_per_event(200_000).await.unwrap_or(f64::NAN);
    println!();
    println!(
        "memory per queued event: {per_event:.0} bytes (RSS growth with 200k events queued; size_of::<AuditEvent>() = {})",
        std::mem::size_of::<AuditEvent>()
    );
}
