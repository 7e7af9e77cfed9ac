//! Every backend runs the same suite: round trip, redaction, query, pagination, export,
//! verification, retention, and a tampering check through the backend's own storage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use agency_audit::chain::BreakKind;
use agency_audit::sink::{CheckpointStore, JsonlCheckpointStore, JsonlSink, MemoryStore, Rotation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_refuses_a_forged_row_at_the_next_seq() {
    common::forged_row_is_not_acknowledged(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_heartbeats_replace_each_other() {
    common::heartbeats_replace_each_other(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_backend_heartbeats_replace_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoints.jsonl");
    common::heartbeats_replace_each_other(Arc::new(JsonlCheckpointStore::new(&path))).await;
    // The file a CLI is pointed at reads the heartbeats too.
    assert_eq!(JsonlCheckpointStore::read(&path).unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_conforms() {
    let store = Arc::new(MemoryStore::new());
    common::conformance(store.clone(), store.clone()).await;
    store.with_events_mut(|e| e.remove(10)).unwrap();
    let r = agency_audit::verify(store.as_ref(), store.as_ref(), &common::verifier())
        .await
        .unwrap();
    assert_eq!(r.first_break.unwrap().kind, BreakKind::Missing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_retention_keeps_the_chain_verifiable() {
    let store = Arc::new(MemoryStore::new());
    common::retention(store.clone(), store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_backend_conforms_and_catches_an_edited_line() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(
        JsonlSink::new(
            dir.path(),
            "audit",
            Rotation {
                max_bytes: Some(16 * 1024),
                daily: true,
            },
        )
        .unwrap(),
    );
    let cps: Arc<dyn CheckpointStore> = Arc::new(JsonlCheckpointStore::new(
        dir.path().join("checkpoints.jsonl"),
    ));
    common::conformance(sink.clone(), cps.clone()).await;
    let files = sink.files().unwrap();
    let paths = files.values().next().unwrap();
    assert!(
        paths.len() > 1,
        "size rotation should have produced several files"
    );
    // The attack: rewrite one line's actor in the middle file.
    let victim = &paths[paths.len() / 2];
    let text = std::fs::read_to_string(victim).unwrap();
    let forged = text.replacen("\"actor\":\"user", "\"actor\":\"mallory", 1);
    assert_ne!(text, forged);
    std::fs::write(victim, forged).unwrap();
    let r = agency_audit::verify(sink.as_ref(), cps.as_ref(), &common::verifier())
        .await
        .unwrap();
    assert_eq!(r.first_break.unwrap().kind, BreakKind::HashMismatch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_backend_tail_truncation_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(JsonlSink::new(dir.path(), "audit", Rotation::default()).unwrap());
    let cps: Arc<dyn CheckpointStore> =
        Arc::new(JsonlCheckpointStore::new(dir.path().join("cp.jsonl")));
    common::fill(sink.clone(), cps.clone(), 20).await;
    let files = sink.files().unwrap();
    let path = &files.values().next().unwrap()[0];
    let text = std::fs::read_to_string(path).unwrap();
    let kept: String = text.lines().take(15).map(|l| format!("{l}\n")).collect();
    std::fs::write(path, kept).unwrap();
    let r = agency_audit::verify(sink.as_ref(), cps.as_ref(), &common::verifier())
        .await
        .unwrap();
    assert_eq!(r.first_break.unwrap().kind, BreakKind::Truncated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_backend_retention_keeps_the_chain_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    // Tiny files so that old events fill whole files that retention can remove.
    let sink = Arc::new(
        JsonlSink::new(
            dir.path(),
            "audit",
            Rotation {
                max_bytes: Some(1),
                daily: false,
            },
        )
        .unwrap(),
    );
    let cps: Arc<dyn CheckpointStore> =
        Arc::new(JsonlCheckpointStore::new(dir.path().join("cp.jsonl")));
    common::retention(sink, cps).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use agency_audit::sink::{SqliteAuditStore, SqliteDurability};

    async fn open(dir: &tempfile::TempDir) -> Arc<SqliteAuditStore> {
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        Arc::new(
            SqliteAuditStore::connect(&url, SqliteDurability::Full)
                .await
                .unwrap(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_backend_heartbeats_replace_each_other() {
        let dir = tempfile::tempdir().unwrap();
        common::heartbeats_replace_each_other(open(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_backend_refuses_a_forged_row_at_the_next_seq() {
        let dir = tempfile::tempdir().unwrap();
        common::forged_row_is_not_acknowledged(open(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_backend_conforms_and_catches_an_updated_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        common::conformance(store.clone(), store.clone()).await;
        sqlx::query("UPDATE audit_events SET success = 1 - success WHERE seq = 42")
            .execute(store.pool())
            .await
            .unwrap();
        let r = agency_audit::verify(store.as_ref(), store.as_ref(), &common::verifier())
            .await
            .unwrap();
        let b = r.first_break.unwrap();
        assert_eq!((b.kind, b.seq), (BreakKind::HashMismatch, Some(42)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_backend_deleted_row_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        common::fill(store.clone(), store.clone(), 30).await;
        sqlx::query("DELETE FROM audit_events WHERE seq = 7")
            .execute(store.pool())
            .await
            .unwrap();
        let r = agency_audit::verify(store.as_ref(), store.as_ref(), &common::verifier())
            .await
            .unwrap();
        assert_eq!(r.first_break.unwrap().kind, BreakKind::Missing);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_backend_retention_keeps_the_chain_verifiable() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        common::retention(store.clone(), store.clone()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_queries_are_served_by_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        for (sql, index) in [
            (
                "SELECT * FROM audit_events WHERE tenant_id = 'a' ORDER BY ts DESC, id DESC LIMIT 101",
                "audit_events_tenant_time",
            ),
            (
                "SELECT * FROM audit_events WHERE tenant_id = 'a' AND action = 'x' AND (ts, id) < (1, x'00') ORDER BY ts DESC, id DESC LIMIT 101",
                "audit_events_tenant_action",
            ),
            (
                "SELECT * FROM audit_events WHERE tenant_id = 'a' AND actor_id = 'x' ORDER BY ts DESC, id DESC LIMIT 101",
                "audit_events_tenant_actor",
            ),
            (
                "SELECT * FROM audit_events WHERE tenant_id = 'a' AND resource_type = 'x' AND resource_id = 'y' ORDER BY ts DESC, id DESC LIMIT 101",
                "audit_events_tenant_time",
            ),
            (
                "SELECT * FROM audit_events WHERE tenant_id = 'a' AND success = 0 AND ts >= 5 AND ts < 9 ORDER BY ts DESC, id DESC LIMIT 101",
                "audit_events_tenant_time",
            ),
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(store.pool())
                .await
                .unwrap();
            let plan: String = rows
                .iter()
                .map(|r| sqlx::Row::get::<String, _>(r, 3))
                .collect::<Vec<_>>()
                .join(" | ");
            assert!(plan.contains(index), "{sql}: {plan}");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "{sql} sorts in memory: {plan}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_cursor_injection_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let err = agency_audit::AuditQuery::new()
            .after_cursor("x' OR '1'='1")
            .unwrap_err();
        assert!(matches!(err, agency_audit::AuditError::InvalidCursor));
        // A filter value full of SQL is just a value.
        let page = agency_audit::sink::AuditStore::query(
            store.as_ref(),
            &agency_audit::AuditQuery::new().tenant("' OR 1=1 --"),
        )
        .await
        .unwrap();
        assert!(page.events.is_empty());
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use agency_audit::sink::PostgresAuditStore;

    struct Schema {
        url: String,
        name: String,
    }

    impl Schema {
        fn new(url: String) -> Self {
            Schema {
                url,
                name: format!("audit_test_{}", uuid::Uuid::new_v4().simple()),
            }
        }
        /// A store in this test's own schema.
        async fn connect(&self) -> PostgresAuditStore {
            PostgresAuditStore::connect(&self.url, Some(&self.name))
                .await
                .unwrap()
        }
        async fn drop(self) {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.name
            )))
            .execute(&pool)
            .await
            .unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_backend_heartbeats_replace_each_other() {
        let Some(url) = common::database_url() else {
            return;
        };
        let schema = Schema::new(url.clone());
        let store = Arc::new(schema.connect().await);
        common::heartbeats_replace_each_other(store).await;
        schema.drop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_backend_refuses_a_forged_row_at_the_next_seq() {
        let Some(url) = common::database_url() else {
            return;
        };
        let schema = Schema::new(url.clone());
        let store = Arc::new(schema.connect().await);
        common::forged_row_is_not_acknowledged(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_backend_conforms_and_catches_an_updated_row() {
        let Some(url) = common::database_url() else {
            return;
        };
        let schema = Schema::new(url.clone());
        let store = Arc::new(schema.connect().await);
        common::conformance(store.clone(), store.clone()).await;
        sqlx::query("UPDATE audit_events SET actor = 'mallory' WHERE seq = 9")
            .execute(store.pool())
            .await
            .unwrap();
        let r = agency_audit::verify(store.as_ref(), store.as_ref(), &common::verifier())
            .await
            .unwrap();
        let b = r.first_break.unwrap();
        assert_eq!((b.kind, b.seq), (BreakKind::HashMismatch, Some(9)));
        store.pool().close().await;
        schema.drop().await;
    }

    fn chained_batch(n: u64) -> Vec<agency_audit::RecordedEvent> {
        use agency_audit::chain::{ChainHash, chain_hash};
        use agency_audit::{ActorKind, AuditEvent, RecordedEvent, StreamId};
        let stream = StreamId::new();
        let mut prev = ChainHash::GENESIS;
        (0..n)
            .map(|i| {
                let event = if i % 2 == 0 {
                    AuditEvent::builder("agent.update")
                        .actor(ActorKind::ApiKey, format!("svc-{i}"), "bot\t\n\\")
                        .tenant("t1")
                        .resource("agent", format!("a-{i}"))
                        .old_value(serde_json::json!({"b": [1, 2.5, null], "a": "\u{e9}"}))
                        .new_value(serde_json::json!({"x": i}))
                        .ip("2001:db8::1".parse().unwrap())
                        .user_agent("ua/1")
                        .request_id(format!("r-{i}"))
                        .build()
                } else {
                    // Before PostgreSQL's 2000-01-01 epoch (a negative binary timestamp).
                    AuditEvent::builder("agent.read")
                        .timestamp(
                            time::OffsetDateTime::from_unix_timestamp_nanos(
                                946_684_799_999_999_000 - i128::from(i) * 1000,
                            )
                            .unwrap(),
                        )
                        .build()
                };
                let seq = i + 1;
                let hash = chain_hash(&prev, &stream, seq, &event);
                prev = hash;
                RecordedEvent {
                    stream,
                    seq,
                    hash,
                    event,
                }
            })
            .collect()
    }

    async fn read_all(store: &PostgresAuditStore) -> Vec<agency_audit::RecordedEvent> {
        use agency_audit::AuditQuery;
        use agency_audit::sink::AuditStore;
        let mut all = Vec::new();
        let mut q = AuditQuery::default().limit(1000);
        loop {
            let page = store.query(&q).await.unwrap();
            all.extend(page.events);
            match page.next_cursor {
                Some(c) => q = AuditQuery::default().limit(1000).after_cursor(&c).unwrap(),
                None => break,
            }
        }
        all.sort_by_key(|r| (r.stream, r.seq));
        all
    }

    /// Large batches go in through binary `COPY`, which has no `ON CONFLICT`: a retried batch
    /// (all or part of it stored before the acknowledgement was lost) must still succeed without
    /// duplicating or changing rows, and every field, including NULLs, escapes-prone text and
    /// timestamps before PostgreSQL's epoch, must come back exactly as written. Small batches
    /// (the `UNNEST` path) are covered too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_retried_copy_batch_is_idempotent_and_round_trips() {
        use agency_audit::sink::AuditSink;

        let Some(url) = common::database_url() else {
            return;
        };
        let schema = Schema::new(url.clone());
        let store = schema.connect().await;
        // Larger than the sink's COPY threshold (3,072 rows).
        let a = chained_batch(4000);
        let b = chained_batch(4000);
        store.write_batch(&a).await.unwrap(); // COPY
        store.write_batch(&a).await.unwrap(); // COPY finds every row stored
        store.write_batch(&b[..10]).await.unwrap(); // UNNEST
        store.write_batch(&b).await.unwrap(); // COPY finds the first 10 rows stored
        let mut expected: Vec<_> = a.into_iter().chain(b).collect();
        expected.sort_by_key(|r| (r.stream, r.seq));
        let got = read_all(&store).await;
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "rows differ from what was written");
        store.pool().close().await;
        schema.drop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_backend_retention_keeps_the_chain_verifiable() {
        let Some(url) = common::database_url() else {
            return;
        };
        let schema = Schema::new(url.clone());
        let store = Arc::new(schema.connect().await);
        common::retention(store.clone(), store.clone()).await;
        store.pool().close().await;
        schema.drop().await;
    }
}
