//! SQLite backend (feature `sqlite`): events, checkpoints, query in SQL, retention.
//!
//! Throughput without giving up durability: one transaction per batch (one WAL fsync per
//! batch with `synchronous=FULL`), rows inserted by prepared multi-row `INSERT` statements
//! (128 rows, 19 parameters each, so one call into SQLite carries many events),
//! and the writer's group commit packing every event that arrived during the previous commit into
//! the next one. `INSERT … ON CONFLICT DO NOTHING` on the `(stream_id, seq)` key makes a retried
//! batch idempotent.
//!
//! Durability: [`SqliteDurability::Full`] (default) is WAL with `synchronous=FULL`: a committed
//! batch survives a process crash and a power loss. [`SqliteDurability::Normal`] is WAL with
//! `synchronous=NORMAL`: a committed batch survives a process crash, but the last commits may be
//! lost on power loss or an OS crash.

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuditSink, AuditStore, CheckpointStore, PurgePoint, conflicting_seq, sql_seq};
use crate::AuditError;
use crate::chain::{
    ChainHash, ChainVerifier, Checkpoint, CheckpointKind, SignedCheckpoint, canonical_json,
};
use crate::event::{ActorKind, AuditEvent, RecordedEvent, StreamId};
use crate::query::{AuditPage, AuditQuery, micros};

/// Rows per multi-row `INSERT` (19 parameters each; SQLite allows 32 766).
pub(crate) const ROWS_PER_STATEMENT: usize = 128;

const COLUMNS: &str = "stream_id, seq, hash, id, ts, actor_id, actor, actor_kind, tenant_id, action, \
    resource_type, resource_id, old_value, new_value, ip_address, user_agent, success, error_message, request_id";

/// SQLite durability setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// WAL, `synchronous=FULL`: survives process crash and power loss.
    #[default]
    Full,
    /// WAL, `synchronous=NORMAL`: survives process crash; recent commits may be lost on power loss.
    Normal,
}

/// Events and checkpoints in SQLite.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::sink::{SqliteAuditStore, SqliteDurability};
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("sqlite://{}", dir.path().join("audit.db").display());
/// let store = SqliteAuditStore::connect(&url, SqliteDurability::Full).await.unwrap();
/// # let _ = store;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SqliteAuditStore {
    pool: SqlitePool,
}

fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; 19].join(","));
    let values = vec![row.as_str(); rows].join(",");
    format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES {values} ON CONFLICT (stream_id, seq) DO NOTHING"
    )
}

fn full_insert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_sql(ROWS_PER_STATEMENT))
}

impl SqliteAuditStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or `sqlite::memory:`),
    /// in WAL mode with the given durability, and runs the migrations.
    pub async fn connect(url: &str, durability: SqliteDurability) -> Result<Self, AuditError> {
        Self::connect_with(url, durability, true).await
    }

    /// Like [`Self::connect`], but fails when the database file does not exist (for tools that
    /// must not verify an empty, freshly created log by mistake).
    pub async fn connect_existing(url: &str) -> Result<Self, AuditError> {
        Self::connect_with(url, SqliteDurability::Full, false).await
    }

    async fn connect_with(
        url: &str,
        durability: SqliteDurability,
        create: bool,
    ) -> Result<Self, AuditError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                SqliteDurability::Full => SqliteSynchronous::Full,
                SqliteDurability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10))
            // None of these settings touches durability (every commit still fsyncs the WAL as set
            // above). A checkpoint every 8,192 WAL pages (32 MiB at 4 KiB pages) instead of
            // 1,000: with batches of thousands of events the default checkpointed (copying pages
            // into the database file and fsyncing it) after nearly every commit. And a 16 MiB
            // page cache per connection instead of 2 MiB, so the index pages being appended to
            // stay in memory.
            .pragma("wal_autocheckpoint", "8192")
            .pragma("cache_size", "-16384")
            // Statement journals (a multi-row `INSERT` inside a transaction keeps one, so the
            // statement alone can be rolled back) in memory instead of a temporary file: they
            // are never part of what makes a commit durable, and their file writes showed up in
            // the sink's profile. (Other temporary tables and sorts now use memory too; the
            // queries here are bounded by `LIMIT` or walk an index.) The WAL file grows to
            // about 32 MiB between checkpoints.
            .pragma("temp_store", "MEMORY");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = SqliteAuditStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Uses an existing pool (configure WAL and `synchronous` on it yourself); call
    /// [`Self::migrate`] once.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteAuditStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs the migrations (tracked in `_agency_audit_migrations`, so they never collide with the
    /// migrations of other crates sharing the database).
    pub async fn migrate(&self) -> Result<(), AuditError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name("_agency_audit_migrations");
        migrator.run(&self.pool).await?;
        Ok(())
    }

    async fn refuse_conflicts(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        chunk: &[RecordedEvent],
    ) -> Result<(), AuditError> {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            return Ok(());
        };
        let rows = sqlx::query(
            "SELECT seq, hash FROM audit_events WHERE stream_id = ? AND seq BETWEEN ? AND ?",
        )
        .bind(first.stream.0.as_bytes().as_slice())
        .bind(sql_seq(first.seq)?)
        .bind(sql_seq(last.seq)?)
        .fetch_all(&mut **tx)
        .await?;
        let stored = rows
            .iter()
            .map(|row| {
                let seq: i64 = row.try_get(0)?;
                Ok((
                    u64::try_from(seq).map_err(|_| corrupt("seq"))?,
                    hash_col(row, 1)?,
                ))
            })
            .collect::<Result<Vec<_>, AuditError>>()?;
        match conflicting_seq(chunk, &stored) {
            Some(seq) => Err(AuditError::Conflict { seq }),
            None => Ok(()),
        }
    }

    fn bind_rows<'q>(
        mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        rows: &'q [RecordedEvent],
    ) -> Result<sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>, AuditError>
    {
        for r in rows {
            let e = &r.event;
            q = q
                .bind(r.stream.0.as_bytes().as_slice())
                .bind(sql_seq(r.seq)?)
                .bind(r.hash.0.as_slice())
                .bind(e.id.as_bytes().as_slice())
                .bind(micros(e.timestamp))
                .bind(e.actor_id.as_deref())
                .bind(e.actor.as_deref())
                .bind(e.actor_kind.as_str())
                .bind(e.tenant_id.as_deref())
                .bind(e.action.as_str())
                .bind(e.resource_type.as_deref())
                .bind(e.resource_id.as_deref())
                .bind(e.old_value.as_ref().map(canonical_json))
                .bind(e.new_value.as_ref().map(canonical_json))
                .bind(e.ip_address.map(|i| i.to_string()))
                .bind(e.user_agent.as_deref())
                .bind(e.success)
                .bind(e.error_message.as_deref())
                .bind(e.request_id.as_deref());
        }
        Ok(q)
    }
}

fn corrupt(what: &str) -> AuditError {
    AuditError::Corrupt(format!("bad {what} column"))
}

fn uuid_col(row: &SqliteRow, i: usize, what: &str) -> Result<Uuid, AuditError> {
    let b: Vec<u8> = row.try_get(i)?;
    Uuid::from_slice(&b).map_err(|_| corrupt(what))
}

fn hash_col(row: &SqliteRow, i: usize) -> Result<ChainHash, AuditError> {
    let b: Vec<u8> = row.try_get(i)?;
    <[u8; 32]>::try_from(b.as_slice())
        .map(ChainHash)
        .map_err(|_| corrupt("hash"))
}

fn json_col(row: &SqliteRow, i: usize) -> Result<Option<serde_json::Value>, AuditError> {
    let s: Option<String> = row.try_get(i)?;
    s.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("json")))
        .transpose()
}

fn from_micros(us: i64) -> Result<OffsetDateTime, AuditError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map_err(|_| corrupt("ts"))
}

fn decode_row(row: &SqliteRow) -> Result<RecordedEvent, AuditError> {
    let seq: i64 = row.try_get(1)?;
    let kind: String = row.try_get(7)?;
    let ip: Option<String> = row.try_get(14)?;
    let mut event = AuditEvent::builder(row.try_get::<String, _>(9)?).build();
    event.id = uuid_col(row, 3, "id")?;
    event.timestamp = from_micros(row.try_get(4)?)?;
    event.actor_id = row.try_get(5)?;
    event.actor = row.try_get(6)?;
    event.actor_kind = ActorKind::from_str(&kind).map_err(|_| corrupt("actor_kind"))?;
    event.tenant_id = row.try_get(8)?;
    event.resource_type = row.try_get(10)?;
    event.resource_id = row.try_get(11)?;
    event.old_value = json_col(row, 12)?;
    event.new_value = json_col(row, 13)?;
    event.ip_address = ip
        .map(|s| s.parse().map_err(|_| corrupt("ip_address")))
        .transpose()?;
    event.user_agent = row.try_get(15)?;
    event.success = row.try_get(16)?;
    event.error_message = row.try_get(17)?;
    event.request_id = row.try_get(18)?;
    Ok(RecordedEvent {
        stream: StreamId(uuid_col(row, 0, "stream_id")?),
        seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
        hash: hash_col(row, 2)?,
        event,
    })
}

#[async_trait]
impl AuditSink for SqliteAuditStore {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let mut tx = self.pool.begin().await?;
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            let q = if chunk.len() == ROWS_PER_STATEMENT {
                sqlx::query(full_insert_sql())
            } else {
                sqlx::query(AssertSqlSafe(insert_sql(chunk.len())))
            };
            let done = Self::bind_rows(q, chunk)?.execute(&mut *tx).await?;
            if done.rows_affected() < chunk.len() as u64 {
                // Some rows were already there: fine if they are this batch's own earlier
                // attempt, an error (and a rollback, as `tx` drops) if another event sits there.
                Self::refuse_conflicts(&mut tx, chunk).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_checkpoint<'e, E>(executor: E, cp: &SignedCheckpoint) -> Result<(), AuditError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let c = &cp.checkpoint;
    sqlx::query(
        "INSERT INTO audit_checkpoints (kind, stream_id, seq, hash, time, alg, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.kind.as_str())
    .bind(c.stream.0.as_bytes().as_slice())
    .bind(sql_seq(c.seq)?)
    .bind(c.hash.0.as_slice())
    .bind(i64::try_from(c.time.unix_timestamp_nanos()).map_err(|_| corrupt("time"))?)
    .bind(cp.alg.as_str())
    .bind(cp.signature.as_str())
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl CheckpointStore for SqliteAuditStore {
    async fn append_checkpoint(&self, cp: &SignedCheckpoint) -> Result<(), AuditError> {
        insert_checkpoint(&self.pool, cp).await
    }

    async fn put_heartbeat(&self, heartbeat: &SignedCheckpoint) -> Result<(), AuditError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM audit_checkpoints WHERE kind = ? AND stream_id = ?")
            .bind(CheckpointKind::Heartbeat.as_str())
            .bind(heartbeat.checkpoint.stream.0.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?;
        insert_checkpoint(&mut *tx, heartbeat).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let rows = sqlx::query("SELECT kind, stream_id, seq, hash, time, alg, signature FROM audit_checkpoints ORDER BY pos")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let kind = CheckpointKind::parse(&row.try_get::<String, _>(0)?)
                    .ok_or_else(|| corrupt("checkpoint kind"))?;
                let seq: i64 = row.try_get(2)?;
                let nanos: i64 = row.try_get(4)?;
                Ok(SignedCheckpoint {
                    checkpoint: Checkpoint {
                        kind,
                        stream: StreamId(uuid_col(row, 1, "stream_id")?),
                        seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
                        hash: hash_col(row, 3)?,
                        time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
                            .map_err(|_| corrupt("time"))?,
                    },
                    alg: row.try_get(5)?,
                    signature: row.try_get(6)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl AuditStore for SqliteAuditStore {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditError> {
        query.validate()?;
        let limit = query.effective_limit();
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE 1=1");
        // Only fixed SQL fragments are appended; every value is a bound parameter.
        if query.tenant_id.is_some() {
            sql.push_str(" AND tenant_id = ?");
        }
        if query.actor_id.is_some() {
            sql.push_str(" AND actor_id = ?");
        }
        if query.action.is_some() {
            sql.push_str(" AND action = ?");
        }
        if query.resource_type.is_some() {
            sql.push_str(" AND resource_type = ?");
        }
        if query.resource_id.is_some() {
            sql.push_str(" AND resource_id = ?");
        }
        if query.success.is_some() {
            sql.push_str(" AND success = ?");
        }
        if query.since.is_some() {
            sql.push_str(" AND ts >= ?");
        }
        if query.until.is_some() {
            sql.push_str(" AND ts < ?");
        }
        if query.cursor.is_some() {
            sql.push_str(" AND (ts, id) < (?, ?)");
        }
        sql.push_str(" ORDER BY ts DESC, id DESC LIMIT ?");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in [
            &query.tenant_id,
            &query.actor_id,
            &query.action,
            &query.resource_type,
            &query.resource_id,
        ]
        .into_iter()
        .flatten()
        {
            q = q.bind(v.as_str());
        }
        if let Some(s) = query.success {
            q = q.bind(s);
        }
        if let Some(t) = query.since {
            q = q.bind(micros(t));
        }
        if let Some(t) = query.until {
            q = q.bind(micros(t));
        }
        if let Some(c) = &query.cursor {
            q = q.bind(c.ts_micros).bind(c.id.as_bytes().to_vec());
        }
        q = q.bind(i64::from(limit) + 1);
        let rows = q.fetch_all(&self.pool).await?;
        let events = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
        Ok(AuditPage::from_rows(events, limit))
    }

    async fn feed_verifier(&self, verifier: &mut ChainVerifier) -> Result<(), AuditError> {
        // Keyset pages over the primary key: constant memory whatever the log size.
        let mut after: Option<(Vec<u8>, i64)> = None;
        loop {
            let rows = match &after {
                None => {
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM audit_events ORDER BY stream_id, seq LIMIT 1000"
                    )))
                    .fetch_all(&self.pool)
                    .await?
                }
                Some((s, n)) => {
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM audit_events WHERE (stream_id, seq) > (?, ?) ORDER BY stream_id, seq LIMIT 1000"
                    )))
                    .bind(s.clone())
                    .bind(*n)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = Some((last.try_get(0)?, last.try_get(1)?));
            for row in &rows {
                match decode_row(row) {
                    Ok(r) => verifier.push(&r),
                    Err(e) => verifier.push_malformed(e.to_string()),
                }
                if verifier.is_broken() {
                    return Ok(());
                }
            }
        }
    }

    async fn purge_points(&self, cutoff: OffsetDateTime) -> Result<Vec<PurgePoint>, AuditError> {
        let streams = sqlx::query("SELECT DISTINCT stream_id FROM audit_events")
            .fetch_all(&self.pool)
            .await?;
        let mut points = Vec::new();
        for row in &streams {
            let stream: Vec<u8> = row.try_get(0)?;
            // The prefix ends just before the first event that is not older than the cutoff.
            let point = sqlx::query(
                "SELECT seq, hash FROM audit_events WHERE stream_id = ?1 AND ts < ?2 AND seq < \
                 COALESCE((SELECT MIN(seq) FROM audit_events WHERE stream_id = ?1 AND ts >= ?2), 9223372036854775807) \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(stream.clone())
            .bind(micros(cutoff))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(p) = point {
                let seq: i64 = p.try_get(0)?;
                points.push(PurgePoint {
                    stream: StreamId(Uuid::from_slice(&stream).map_err(|_| corrupt("stream_id"))?),
                    seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
                    hash: hash_col(&p, 1)?,
                });
            }
        }
        Ok(points)
    }

    async fn purge_through(&self, point: &PurgePoint) -> Result<u64, AuditError> {
        let done = sqlx::query("DELETE FROM audit_events WHERE stream_id = ? AND seq <= ?")
            .bind(point.stream.0.as_bytes().as_slice())
            .bind(sql_seq(point.seq)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
