//! PostgreSQL backend (feature `postgres`): events, checkpoints, query in SQL, retention.
//!
//! A large batch (3,072 events or more) is one binary `COPY … FROM STDIN` statement in autocommit
//! (all or nothing, acknowledged after the commit). A smaller batch, or a retried batch that
//! `COPY` finds already (partly) stored, is one `INSERT … SELECT * FROM UNNEST($1, …, $19)
//! ON CONFLICT (stream_id, seq) DO NOTHING` in one transaction, so retries stay idempotent. Durability is
//! the server's (`synchronous_commit = on` by default: a committed batch survives a crash of the
//! database server).

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::{AssertSqlSafe, Executor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuditSink, AuditStore, CheckpointStore, PurgePoint, conflicting_seq, sql_seq};
use crate::AuditError;
use crate::chain::{
    ChainHash, ChainVerifier, Checkpoint, CheckpointKind, SignedCheckpoint, canonical_json,
};
use crate::event::{ActorKind, AuditEvent, RecordedEvent, StreamId};
use crate::query::{AuditPage, AuditQuery, micros};

const COLUMNS: &str = "stream_id, seq, hash, id, ts, actor_id, actor, actor_kind, tenant_id, action, \
    resource_type, resource_id, old_value, new_value, ip_address, user_agent, success, error_message, request_id";

/// Events and checkpoints in PostgreSQL.
///
/// ```no_run
/// # async fn demo() -> Result<(), agency_audit::AuditError> {
/// use agency_audit::sink::PostgresAuditStore;
/// let store = PostgresAuditStore::connect("postgres://postgres@127.0.0.1/test", Some("audit")).await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresAuditStore {
    pool: PgPool,
}

fn valid_schema(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl PostgresAuditStore {
    /// Connects to `url`; with `schema`, creates it if missing and sets every connection's
    /// `search_path` to it (schema names: lowercase ASCII letters, digits and `_`). Runs the
    /// migrations.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, AuditError> {
        let mut options = PgPoolOptions::new().max_connections(8);
        if let Some(schema) = schema {
            if !valid_schema(schema) {
                return Err(AuditError::InvalidConfig(
                    "schema name must match [a-z_][a-z0-9_]{0,62}",
                ));
            }
            // Validated above and quoted as well, as in agency-auth's store: one rule for both.
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            let conn_pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
            conn_pool.execute(AssertSqlSafe(create)).await?;
            conn_pool.close().await;
            let set = format!("SET search_path TO \"{schema}\"");
            options = options.after_connect(move |conn, _| {
                let set = set.clone();
                Box::pin(async move {
                    conn.execute(AssertSqlSafe(set)).await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await?;
        let store = PostgresAuditStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Uses an existing pool; call [`Self::migrate`] once.
    pub fn from_pool(pool: PgPool) -> Self {
        PostgresAuditStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs the migrations (tracked in `_agency_audit_migrations`).
    pub async fn migrate(&self) -> Result<(), AuditError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name("_agency_audit_migrations");
        migrator.run(&self.pool).await?;
        Ok(())
    }
}

fn corrupt(what: &str) -> AuditError {
    AuditError::Corrupt(format!("bad {what} column"))
}

fn hash_col(row: &PgRow, i: usize) -> Result<ChainHash, AuditError> {
    let b: Vec<u8> = row.try_get(i)?;
    <[u8; 32]>::try_from(b.as_slice())
        .map(ChainHash)
        .map_err(|_| corrupt("hash"))
}

fn json_col(row: &PgRow, i: usize) -> Result<Option<serde_json::Value>, AuditError> {
    let s: Option<String> = row.try_get(i)?;
    s.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("json")))
        .transpose()
}

fn decode_row(row: &PgRow) -> Result<RecordedEvent, AuditError> {
    let seq: i64 = row.try_get(1)?;
    let kind: String = row.try_get(7)?;
    let ip: Option<String> = row.try_get(14)?;
    let mut event = AuditEvent::builder(row.try_get::<String, _>(9)?).build();
    event.id = row.try_get(3)?;
    event.timestamp = row.try_get(4)?;
    event.actor_id = row.try_get(5)?;
    event.actor = row.try_get(6)?;
    event.actor_kind = kind
        .parse::<ActorKind>()
        .map_err(|_| corrupt("actor_kind"))?;
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
        stream: StreamId(row.try_get(0)?),
        seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
        hash: hash_col(row, 2)?,
        event,
    })
}

impl PostgresAuditStore {
    /// The idempotent path: one `INSERT … SELECT * FROM UNNEST(…) ON CONFLICT DO NOTHING` in one
    /// transaction. Used when `COPY` finds rows of the batch already stored (a retried batch).
    async fn insert_unnest(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let n = batch.len();
        let mut stream = Vec::with_capacity(n);
        let mut seq = Vec::with_capacity(n);
        let mut hash = Vec::with_capacity(n);
        let mut id = Vec::with_capacity(n);
        let mut ts = Vec::with_capacity(n);
        let mut actor_id = Vec::with_capacity(n);
        let mut actor = Vec::with_capacity(n);
        let mut actor_kind = Vec::with_capacity(n);
        let mut tenant = Vec::with_capacity(n);
        let mut action = Vec::with_capacity(n);
        let mut rtype = Vec::with_capacity(n);
        let mut rid = Vec::with_capacity(n);
        let mut old = Vec::with_capacity(n);
        let mut new = Vec::with_capacity(n);
        let mut ip = Vec::with_capacity(n);
        let mut ua = Vec::with_capacity(n);
        let mut success = Vec::with_capacity(n);
        let mut err = Vec::with_capacity(n);
        let mut req = Vec::with_capacity(n);
        for r in batch {
            let e = &r.event;
            stream.push(r.stream.0);
            seq.push(sql_seq(r.seq)?);
            hash.push(r.hash.0.to_vec());
            id.push(e.id);
            ts.push(e.timestamp);
            actor_id.push(e.actor_id.as_deref());
            actor.push(e.actor.as_deref());
            actor_kind.push(e.actor_kind.as_str());
            tenant.push(e.tenant_id.as_deref());
            action.push(e.action.as_str());
            rtype.push(e.resource_type.as_deref());
            rid.push(e.resource_id.as_deref());
            old.push(e.old_value.as_ref().map(canonical_json));
            new.push(e.new_value.as_ref().map(canonical_json));
            ip.push(e.ip_address.map(|i| i.to_string()));
            ua.push(e.user_agent.as_deref());
            success.push(e.success);
            err.push(e.error_message.as_deref());
            req.push(e.request_id.as_deref());
        }
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "INSERT INTO audit_events (stream_id, seq, hash, id, ts, actor_id, actor, actor_kind, tenant_id, action, \
             resource_type, resource_id, old_value, new_value, ip_address, user_agent, success, error_message, request_id) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::bytea[], $4::uuid[], $5::timestamptz[], $6::text[], \
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], \
             $15::text[], $16::text[], $17::bool[], $18::text[], $19::text[]) \
             ON CONFLICT (stream_id, seq) DO NOTHING",
        )
        .bind(stream)
        .bind(seq)
        .bind(hash)
        .bind(id)
        .bind(ts)
        .bind(actor_id)
        .bind(actor)
        .bind(actor_kind)
        .bind(tenant)
        .bind(action)
        .bind(rtype)
        .bind(rid)
        .bind(old)
        .bind(new)
        .bind(ip)
        .bind(ua)
        .bind(success)
        .bind(err)
        .bind(req)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() < n as u64 {
            // Some rows were already there: fine if they are this batch's own earlier attempt,
            // an error (and a rollback, as `tx` drops) if another event sits there.
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                return Ok(());
            };
            let rows = sqlx::query(
                "SELECT seq, hash FROM audit_events WHERE stream_id = $1 AND seq BETWEEN $2 AND $3",
            )
            .bind(first.stream.0)
            .bind(sql_seq(first.seq)?)
            .bind(sql_seq(last.seq)?)
            .fetch_all(&mut *tx)
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
            if let Some(seq) = conflicting_seq(batch, &stored) {
                return Err(AuditError::Conflict { seq });
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01 UTC).
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// Batches this large go through `COPY`, smaller ones through `UNNEST`. `COPY` costs about half
/// as much per row on the server, but sqlx leaves Nagle's algorithm on, so the small `CopyDone`
/// message that ends a `COPY` waits for the server's delayed acknowledgement of the last data
/// segment (up to 40 ms); below about 3,000 rows that stall costs more than `COPY` saves
/// (measured on this project's benchmark machine: see docs/benchmarks.md).
const COPY_MIN_ROWS: usize = 3072;

/// Rows encoded per `CopyData` message: the server parses one chunk while the next is encoded.
const COPY_ROWS_PER_CHUNK: usize = 256;

const COPY_SQL: &str = "COPY audit_events (stream_id, seq, hash, id, ts, actor_id, actor, actor_kind, tenant_id, \
     action, resource_type, resource_id, old_value, new_value, ip_address, user_agent, success, error_message, \
     request_id) FROM STDIN (FORMAT binary)";

/// Encoder for PostgreSQL's binary `COPY` format: a header, then per row a field count and
/// length-prefixed fields in the types' binary wire formats, then a trailer. No text escaping is
/// involved, so no value can change the row structure.
struct CopyEncoder {
    buf: Vec<u8>,
}

impl CopyEncoder {
    fn new(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        CopyEncoder { buf }
    }

    fn field(&mut self, bytes: &[u8]) -> Result<(), AuditError> {
        let len = i32::try_from(bytes.len())
            .map_err(|_| AuditError::Sink("field too large for COPY".into()))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn opt(&mut self, value: Option<&str>) -> Result<(), AuditError> {
        match value {
            Some(v) => self.field(v.as_bytes()),
            None => {
                self.buf.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
        }
    }

    fn row(&mut self, r: &RecordedEvent) -> Result<(), AuditError> {
        let e = &r.event;
        let seq = i64::try_from(r.seq).map_err(|_| AuditError::Sink("seq out of range".into()))?;
        let ts = micros(e.timestamp)
            .checked_sub(PG_EPOCH_UNIX_MICROS)
            .ok_or_else(|| AuditError::Sink("timestamp out of range".into()))?;
        self.buf.extend_from_slice(&19i16.to_be_bytes());
        self.field(r.stream.0.as_bytes())?;
        self.field(&seq.to_be_bytes())?;
        self.field(&r.hash.0)?;
        self.field(e.id.as_bytes())?;
        self.field(&ts.to_be_bytes())?;
        self.opt(e.actor_id.as_deref())?;
        self.opt(e.actor.as_deref())?;
        self.field(e.actor_kind.as_str().as_bytes())?;
        self.opt(e.tenant_id.as_deref())?;
        self.field(e.action.as_bytes())?;
        self.opt(e.resource_type.as_deref())?;
        self.opt(e.resource_id.as_deref())?;
        self.opt(e.old_value.as_ref().map(canonical_json).as_deref())?;
        self.opt(e.new_value.as_ref().map(canonical_json).as_deref())?;
        self.opt(e.ip_address.map(|i| i.to_string()).as_deref())?;
        self.opt(e.user_agent.as_deref())?;
        self.field(&[u8::from(e.success)])?;
        self.opt(e.error_message.as_deref())?;
        self.opt(e.request_id.as_deref())
    }

    fn trailer(&mut self) {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// A pooled connection used for a `COPY`: unless the `COPY` settled (finished, or failed with the
/// server's answer), including when the future is dropped half-way, the connection is closed
/// instead of going back to the pool in the middle of a `COPY`.
struct CopyConnection {
    conn: PoolConnection<Postgres>,
    settled: bool,
}

impl Drop for CopyConnection {
    fn drop(&mut self) {
        if !self.settled {
            self.conn.close_on_drop();
        }
    }
}

/// Whether `e` is PostgreSQL's `unique_violation`.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

impl PostgresAuditStore {
    /// One binary `COPY … FROM STDIN` in autocommit: a single statement, so the batch is stored
    /// all or nothing, and `finish` returns after the server has committed it.
    async fn copy_batch(&self, batch: &[RecordedEvent]) -> Result<(), sqlx::Error> {
        let mut guard = CopyConnection {
            conn: self.pool.acquire().await?,
            settled: false,
        };
        let result = Self::copy_on(&mut guard.conn, batch).await;
        // A database error ends the COPY cleanly (the server answered); anything else may leave
        // it half-sent.
        guard.settled = !matches!(&result, Err(e) if !matches!(e, sqlx::Error::Database(_)));
        result
    }

    async fn copy_on(conn: &mut PgConnection, batch: &[RecordedEvent]) -> Result<(), sqlx::Error> {
        let mut copy = conn.copy_in_raw(COPY_SQL).await?;
        let mut enc = CopyEncoder::new(COPY_ROWS_PER_CHUNK * 768);
        let chunks = batch.chunks(COPY_ROWS_PER_CHUNK);
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.enumerate() {
            for r in chunk {
                if let Err(e) = enc.row(r) {
                    copy.abort(e.to_string()).await?;
                    return Err(sqlx::Error::Encode(Box::new(e)));
                }
            }
            if i == last {
                enc.trailer();
            }
            copy.send(enc.take()).await?;
            enc.buf.reserve(COPY_ROWS_PER_CHUNK * 768);
        }
        if batch.is_empty() {
            enc.trailer();
            copy.send(enc.take()).await?;
        }
        copy.finish().await?;
        Ok(())
    }
}

#[async_trait]
impl AuditSink for PostgresAuditStore {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        if batch.len() < COPY_MIN_ROWS {
            return self.insert_unnest(batch).await;
        }
        match self.copy_batch(batch).await {
            Ok(()) => Ok(()),
            // A retry of a batch that was stored before its acknowledgement was lost: `COPY`
            // has no `ON CONFLICT`, so take the idempotent path.
            Err(e) if is_unique_violation(&e) => self.insert_unnest(batch).await,
            Err(sqlx::Error::Encode(e)) => Err(AuditError::Sink(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }
}

async fn insert_checkpoint<'e, E>(executor: E, cp: &SignedCheckpoint) -> Result<(), AuditError>
where
    E: Executor<'e, Database = Postgres>,
{
    let c = &cp.checkpoint;
    sqlx::query(
        "INSERT INTO audit_checkpoints (kind, stream_id, seq, hash, time, alg, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.kind.as_str())
    .bind(c.stream.0)
    .bind(sql_seq(c.seq)?)
    .bind(c.hash.0.to_vec())
    .bind(c.time)
    .bind(cp.alg.as_str())
    .bind(cp.signature.as_str())
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl CheckpointStore for PostgresAuditStore {
    async fn append_checkpoint(&self, cp: &SignedCheckpoint) -> Result<(), AuditError> {
        insert_checkpoint(&self.pool, cp).await
    }

    async fn put_heartbeat(&self, heartbeat: &SignedCheckpoint) -> Result<(), AuditError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM audit_checkpoints WHERE kind = $1 AND stream_id = $2")
            .bind(CheckpointKind::Heartbeat.as_str())
            .bind(heartbeat.checkpoint.stream.0)
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
                Ok(SignedCheckpoint {
                    checkpoint: Checkpoint {
                        kind,
                        stream: StreamId(row.try_get(1)?),
                        seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
                        hash: hash_col(row, 3)?,
                        time: row.try_get(4)?,
                    },
                    alg: row.try_get(5)?,
                    signature: row.try_get(6)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl AuditStore for PostgresAuditStore {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditError> {
        query.validate()?;
        let limit = query.effective_limit();
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE TRUE");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        // Only fixed SQL fragments and parameter numbers are appended; values are bound.
        for (present, column) in [
            (query.tenant_id.is_some(), "tenant_id"),
            (query.actor_id.is_some(), "actor_id"),
            (query.action.is_some(), "action"),
            (query.resource_type.is_some(), "resource_type"),
            (query.resource_id.is_some(), "resource_id"),
        ] {
            if present {
                sql.push_str(&format!(" AND {column} = ${}", next()));
            }
        }
        if query.success.is_some() {
            sql.push_str(&format!(" AND success = ${}", next()));
        }
        if query.since.is_some() {
            sql.push_str(&format!(" AND ts >= ${}", next()));
        }
        if query.until.is_some() {
            sql.push_str(&format!(" AND ts < ${}", next()));
        }
        if query.cursor.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(" AND (ts, id) < (${a}, ${b})"));
        }
        sql.push_str(&format!(" ORDER BY ts DESC, id DESC LIMIT ${}", next()));
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
            q = q.bind(t);
        }
        if let Some(t) = query.until {
            q = q.bind(t);
        }
        if let Some(c) = &query.cursor {
            let ts = OffsetDateTime::from_unix_timestamp_nanos(i128::from(c.ts_micros) * 1000)
                .map_err(|_| AuditError::InvalidCursor)?;
            q = q.bind(ts).bind(c.id);
        }
        q = q.bind(i64::from(limit) + 1);
        let rows = q.fetch_all(&self.pool).await?;
        let events = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
        Ok(AuditPage::from_rows(events, limit))
    }

    async fn feed_verifier(&self, verifier: &mut ChainVerifier) -> Result<(), AuditError> {
        let mut after: Option<(Uuid, i64)> = None;
        loop {
            let rows = match after {
                None => {
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM audit_events ORDER BY stream_id, seq LIMIT 1000"
                    )))
                    .fetch_all(&self.pool)
                    .await?
                }
                Some((s, n)) => {
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM audit_events WHERE (stream_id, seq) > ($1, $2) ORDER BY stream_id, seq LIMIT 1000"
                    )))
                    .bind(s)
                    .bind(n)
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
        let rows = sqlx::query(
            "SELECT DISTINCT ON (e.stream_id) e.stream_id, e.seq, e.hash FROM audit_events e \
             WHERE e.ts < $1 AND e.seq < COALESCE((SELECT MIN(k.seq) FROM audit_events k \
                 WHERE k.stream_id = e.stream_id AND k.ts >= $1), 9223372036854775807) \
             ORDER BY e.stream_id, e.seq DESC",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|p| {
                let seq: i64 = p.try_get(1)?;
                Ok(PurgePoint {
                    stream: StreamId(p.try_get(0)?),
                    seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
                    hash: hash_col(p, 2)?,
                })
            })
            .collect()
    }

    async fn purge_through(&self, point: &PurgePoint) -> Result<u64, AuditError> {
        let done = sqlx::query("DELETE FROM audit_events WHERE stream_id = $1 AND seq <= $2")
            .bind(point.stream.0)
            .bind(sql_seq(point.seq)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
