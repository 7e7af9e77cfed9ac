//! JSON lines files: one event per line, `fdatasync` per batch, rotation by size or by UTC day.
//!
//! Files are named `{prefix}-{stream}-{first seq, 20 digits}.jsonl` in one directory, created
//! with mode 0600 (on Unix), and the directory is synced after each new file so its name
//! survives a power loss. A retried batch first truncates the file back to the last durable
//! length, so a partial write is never left in the middle of the log.
//!
//! Reading back (query, verify, retention) scans the files: query is O(events) per page with
//! O(limit) memory, acceptable for a file sink; use SQLite or PostgreSQL for interactive queries.
//! After a crash, the last line of a stream's last file may be incomplete (never acknowledged):
//! readers skip an unterminated final line.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use super::{AuditSink, AuditStore, CheckpointStore, PurgePoint};
use crate::AuditError;
use crate::chain::{ChainVerifier, SignedCheckpoint};
use crate::event::{RecordedEvent, StreamId};
use crate::query::{AuditPage, AuditQuery, TopK};

/// When to start a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotation {
    /// Start a new file before one would grow beyond this many bytes.
    pub max_bytes: Option<u64>,
    /// Start a new file when the UTC day changes.
    pub daily: bool,
}

struct OpenFile {
    file: File,
    durable_len: u64,
    dirty: bool,
    day: Date,
}

struct State {
    open: HashMap<StreamId, OpenFile>,
}

/// A JSON lines sink over a directory.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{AuditEvent, AuditWriter, WriterConfig, sink::{JsonlSink, Rotation}};
/// let dir = tempfile::tempdir().unwrap();
/// let sink = JsonlSink::new(dir.path(), "audit", Rotation { max_bytes: Some(64 << 20), daily: true }).unwrap();
/// let writer = AuditWriter::spawn(sink, WriterConfig::default()).unwrap();
/// writer.record_durable(AuditEvent::builder("auth.login").build()).await.unwrap();
/// writer.shutdown().await.unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct JsonlSink {
    dir: PathBuf,
    prefix: String,
    rotation: Rotation,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("dir", &self.dir)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn lock_err<T>(_: T) -> AuditError {
    AuditError::Sink("jsonl sink lock poisoned".into())
}

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create_new(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

impl JsonlSink {
    /// A sink writing `{prefix}-*.jsonl` files into `dir` (created if missing). The prefix may
    /// hold only ASCII letters, digits, `_` and `.`.
    pub fn new(
        dir: impl AsRef<Path>,
        prefix: &str,
        rotation: Rotation,
    ) -> Result<Self, AuditError> {
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(AuditError::InvalidConfig(
                "file prefix may hold only ASCII letters, digits, '_' and '.'",
            ));
        }
        std::fs::create_dir_all(dir.as_ref())?;
        Ok(JsonlSink {
            dir: dir.as_ref().to_path_buf(),
            prefix: prefix.to_owned(),
            rotation,
            state: Arc::new(Mutex::new(State {
                open: HashMap::new(),
            })),
        })
    }

    fn file_name(&self, stream: &StreamId, first_seq: u64) -> PathBuf {
        self.dir.join(format!(
            "{}-{}-{:020}.jsonl",
            self.prefix, stream, first_seq
        ))
    }

    fn write_blocking(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(batch.len() * 512);
        for r in batch {
            serde_json::to_writer(&mut buf, r)
                .map_err(|e| AuditError::Sink(format!("encode: {e}")))?;
            buf.push(b'\n');
        }
        let today = OffsetDateTime::now_utc().date();
        let mut state = self.state.lock().map_err(lock_err)?;
        let rotate = match state.open.get(&first.stream) {
            None => true,
            Some(f) => {
                (self.rotation.daily && f.day != today)
                    || self
                        .rotation
                        .max_bytes
                        .is_some_and(|m| f.durable_len > 0 && f.durable_len + buf.len() as u64 > m)
            }
        };
        if rotate {
            // Never leave a torn batch at the end of the file being closed.
            if let Some(old) = state.open.get_mut(&first.stream)
                && old.dirty
            {
                old.file.set_len(old.durable_len)?;
                old.file.sync_data()?;
                old.dirty = false;
            }
            let path = self.file_name(&first.stream, first.seq);
            let (file, dirty) = match create_private(&path) {
                Ok(f) => (f, false),
                // A retry after a failure right after creating the file: nothing in it was ever
                // acknowledged (the stream is this process's own), so it is cut back to empty.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    (OpenOptions::new().append(true).open(&path)?, true)
                }
                Err(e) => return Err(e.into()),
            };
            sync_dir(&self.dir)?;
            state.open.insert(
                first.stream,
                OpenFile {
                    file,
                    durable_len: 0,
                    dirty,
                    day: today,
                },
            );
        }
        let Some(f) = state.open.get_mut(&first.stream) else {
            return Err(AuditError::Sink("jsonl file missing".into()));
        };
        if f.dirty {
            // A previous attempt may have written part of a batch: cut back to the durable end.
            f.file.set_len(f.durable_len)?;
            f.file.sync_data()?;
            f.dirty = false;
        }
        f.dirty = true;
        f.file.write_all(&buf)?;
        f.file.sync_data()?;
        f.durable_len += buf.len() as u64;
        f.dirty = false;
        Ok(())
    }

    /// The log files of every stream, each stream's files in `seq` order.
    pub fn files(&self) -> Result<BTreeMap<StreamId, Vec<PathBuf>>, AuditError> {
        list_files(&self.dir, &self.prefix)
    }
}

/// Lists `{prefix}-{stream}-{seq}.jsonl` files in `dir`, grouped by stream, in `seq` order.
pub(crate) fn list_files(
    dir: &Path,
    prefix: &str,
) -> Result<BTreeMap<StreamId, Vec<PathBuf>>, AuditError> {
    let mut out: BTreeMap<StreamId, Vec<(u64, PathBuf)>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
            continue;
        };
        let Some(rest) = rest.strip_suffix(".jsonl") else {
            continue;
        };
        let Some((stream, seq)) = rest.rsplit_once('-') else {
            continue;
        };
        let (Ok(stream), Ok(seq)) = (stream.parse::<uuid::Uuid>(), seq.parse::<u64>()) else {
            continue;
        };
        out.entry(StreamId(stream)).or_default().push((seq, path));
    }
    Ok(out
        .into_iter()
        .map(|(s, mut v)| {
            v.sort();
            (s, v.into_iter().map(|(_, p)| p).collect())
        })
        .collect())
}

/// One line of a log file.
pub(crate) enum Line {
    Event(Box<RecordedEvent>),
    Malformed(String),
}

/// Reads a file line by line; an unterminated last line (a torn write) is skipped when
/// `allow_torn_tail`.
pub(crate) fn read_lines(
    path: &Path,
    allow_torn_tail: bool,
    mut f: impl FnMut(Line) -> bool,
) -> Result<(), AuditError> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            if allow_torn_tail {
                return Ok(());
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            f(Line::Malformed(format!(
                "{name}:{number}: unterminated line"
            )));
            return Ok(());
        }
        let parsed = match serde_json::from_slice::<RecordedEvent>(&line) {
            Ok(r) => Line::Event(Box::new(r)),
            Err(e) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Line::Malformed(format!("{name}:{number}: {e}"))
            }
        };
        if !f(parsed) {
            return Ok(());
        }
    }
}

/// Pushes every event of the given files (grouped by stream) into `verifier`.
pub(crate) fn verify_files(
    files: &BTreeMap<StreamId, Vec<PathBuf>>,
    verifier: &mut ChainVerifier,
) -> Result<(), AuditError> {
    for paths in files.values() {
        for (i, path) in paths.iter().enumerate() {
            let last = i + 1 == paths.len();
            read_lines(path, last, |line| {
                match line {
                    Line::Event(r) => verifier.push(&r),
                    Line::Malformed(m) => verifier.push_malformed(m),
                }
                !verifier.is_broken()
            })?;
        }
    }
    Ok(())
}

/// Pushes the events of explicitly named JSON lines files, in the order given, into `verifier`
/// (for files copied out of a sink's directory). An unterminated last line of the last file is
/// skipped as a torn write.
///
/// ```
/// let mut v = agency_audit::chain::ChainVerifier::new(
///     &agency_audit::chain::CheckpointSigner::ed25519_from_bytes(&[1; 32]).verifier(), Vec::new());
/// agency_audit::sink::feed_jsonl_files(&[], &mut v).unwrap();
/// assert!(v.finish().ok);
/// ```
pub fn feed_jsonl_files(paths: &[PathBuf], verifier: &mut ChainVerifier) -> Result<(), AuditError> {
    for (i, path) in paths.iter().enumerate() {
        read_lines(path, i + 1 == paths.len(), |line| {
            match line {
                Line::Event(r) => verifier.push(&r),
                Line::Malformed(m) => verifier.push_malformed(m),
            }
            !verifier.is_broken()
        })?;
    }
    Ok(())
}

#[async_trait]
impl AuditSink for JsonlSink {
    async fn write_batch(&self, batch: &[RecordedEvent]) -> Result<(), AuditError> {
        let this = self.clone();
        let batch = batch.to_vec();
        tokio::task::spawn_blocking(move || this.write_blocking(&batch))
            .await
            .map_err(|e| AuditError::Sink(format!("jsonl writer task: {e}")))?
    }
}

#[async_trait]
impl AuditStore for JsonlSink {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditError> {
        query.validate()?;
        let files = self.files()?;
        let query = query.clone();
        tokio::task::spawn_blocking(move || {
            let mut top = TopK::new(query.effective_limit());
            for paths in files.values() {
                for (i, path) in paths.iter().enumerate() {
                    read_lines(path, i + 1 == paths.len(), |line| {
                        if let Line::Event(r) = line
                            && query.matches(&r)
                        {
                            top.push(*r);
                        }
                        true
                    })?;
                }
            }
            Ok(top.into_page(query.effective_limit()))
        })
        .await
        .map_err(|e| AuditError::Sink(format!("jsonl query task: {e}")))?
    }

    async fn feed_verifier(&self, verifier: &mut ChainVerifier) -> Result<(), AuditError> {
        verify_files(&self.files()?, verifier)
    }

    /// Whole files only: a file is purged when every event in it, and in every earlier file of
    /// its stream, is older than `cutoff`. A stream's newest file is never purged.
    async fn purge_points(&self, cutoff: OffsetDateTime) -> Result<Vec<PurgePoint>, AuditError> {
        let mut points = Vec::new();
        for (stream, paths) in self.files()? {
            let mut point = None;
            for path in paths.iter().take(paths.len().saturating_sub(1)) {
                let mut all_old = true;
                let mut last = None;
                read_lines(path, false, |line| {
                    match line {
                        Line::Event(r) => {
                            all_old &= r.event.timestamp < cutoff;
                            last = Some(PurgePoint {
                                stream,
                                seq: r.seq,
                                hash: r.hash,
                            });
                        }
                        Line::Malformed(_) => all_old = false,
                    }
                    all_old
                })?;
                match (all_old, last) {
                    (true, Some(p)) => point = Some(p),
                    _ => break,
                }
            }
            points.extend(point);
        }
        Ok(points)
    }

    async fn purge_through(&self, point: &PurgePoint) -> Result<u64, AuditError> {
        let files = self.files()?;
        let Some(paths) = files.get(&point.stream) else {
            return Ok(0);
        };
        let mut removed = 0u64;
        for (i, path) in paths.iter().enumerate() {
            // The next file's first seq tells whether this file ends at or before the point.
            let next_first = paths.get(i + 1).and_then(|p| {
                p.file_stem()?
                    .to_str()?
                    .rsplit_once('-')?
                    .1
                    .parse::<u64>()
                    .ok()
            });
            match next_first {
                Some(n) if n <= point.seq + 1 => {
                    let mut count = 0u64;
                    read_lines(path, false, |_| {
                        count += 1;
                        true
                    })?;
                    std::fs::remove_file(path)?;
                    removed += count;
                }
                _ => break,
            }
        }
        sync_dir(&self.dir)?;
        Ok(removed)
    }
}

/// Removes an unterminated last line (left by a crash mid-append) so the next line starts clean;
/// returns the new length.
fn cut_torn_tail(f: &mut File) -> std::io::Result<u64> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let tail = len.min(64 * 1024);
    f.seek(SeekFrom::Start(len - tail))?;
    let mut buf = Vec::with_capacity(tail as usize);
    Read::by_ref(f).take(tail).read_to_end(&mut buf)?;
    if buf.last() == Some(&b'\n') {
        return Ok(len);
    }
    let keep = match buf.iter().rposition(|b| *b == b'\n') {
        Some(i) => len - tail + i as u64 + 1,
        None if tail == len => 0,
        None => return Err(std::io::Error::other("checkpoint line longer than 64 KiB")),
    };
    f.set_len(keep)?;
    Ok(keep)
}

/// Checkpoints as JSON lines in their own file (keep it apart from the event files, ideally on
/// other storage), appended with `fsync`. Heartbeats, one per stream, live beside it in
/// `<file>.heartbeats`, replaced as a whole (written to a temporary file, synced, renamed).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::sink::{CheckpointStore, JsonlCheckpointStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = JsonlCheckpointStore::new(dir.path().join("checkpoints.jsonl"));
/// assert!(store.load_checkpoints().await.unwrap().is_empty());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct JsonlCheckpointStore {
    path: PathBuf,
    lock: Arc<Mutex<()>>,
}

impl JsonlCheckpointStore {
    /// A store appending to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonlCheckpointStore {
            path: path.into(),
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Reads the checkpoints of a store at `path`: the file's, then the heartbeats beside it (a
    /// missing file holds none; an unterminated last line is skipped as a torn write; any other
    /// bad line is an error).
    pub fn read(path: &Path) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let mut checkpoints = Self::read_lines(path)?;
        checkpoints.extend(Self::read_lines(&heartbeats_path(path))?);
        Ok(checkpoints)
    }

    fn read_lines(path: &Path) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| AuditError::Corrupt(format!("checkpoint line {}: {e}", i + 1)))
            })
            .collect()
    }
}

/// Where a checkpoint file's heartbeats live.
fn heartbeats_path(checkpoints: &Path) -> PathBuf {
    let mut name = checkpoints.as_os_str().to_owned();
    name.push(".heartbeats");
    PathBuf::from(name)
}

#[async_trait]
impl CheckpointStore for JsonlCheckpointStore {
    async fn append_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<(), AuditError> {
        let mut line =
            serde_json::to_vec(checkpoint).map_err(|e| AuditError::Sink(format!("encode: {e}")))?;
        line.push(b'\n');
        let this = self.clone();
        tokio::task::spawn_blocking(move || -> Result<(), AuditError> {
            let _guard = this.lock.lock().map_err(lock_err)?;
            let mut opts = OpenOptions::new();
            opts.create(true).read(true).write(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&this.path)?;
            let end = cut_torn_tail(&mut f)?;
            f.seek(SeekFrom::Start(end))?;
            f.write_all(&line)?;
            f.sync_data()?;
            Ok(())
        })
        .await
        .map_err(|e| AuditError::Sink(format!("checkpoint task: {e}")))?
    }

    async fn put_heartbeat(&self, heartbeat: &SignedCheckpoint) -> Result<(), AuditError> {
        let heartbeat = heartbeat.clone();
        let this = self.clone();
        tokio::task::spawn_blocking(move || -> Result<(), AuditError> {
            let _guard = this.lock.lock().map_err(lock_err)?;
            let path = heartbeats_path(&this.path);
            let mut heartbeats = Self::read_lines(&path)?;
            heartbeats.retain(|h| h.checkpoint.stream != heartbeat.checkpoint.stream);
            heartbeats.push(heartbeat);
            let mut text = Vec::new();
            for h in &heartbeats {
                serde_json::to_writer(&mut text, h)
                    .map_err(|e| AuditError::Sink(format!("encode: {e}")))?;
                text.push(b'\n');
            }
            let tmp = path.with_extension("heartbeats.tmp");
            let mut opts = OpenOptions::new();
            opts.create(true).write(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(&text)?;
            f.sync_data()?;
            drop(f);
            // The rename replaces the old file atomically: a crash leaves the old heartbeats or
            // the new ones, never a mix.
            std::fs::rename(&tmp, &path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| AuditError::Sink(format!("heartbeat task: {e}")))?
    }

    async fn load_checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError> {
        Self::read(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditEvent;
    use crate::chain::{ChainHash, chain_hash};

    fn batch(stream: StreamId, from: u64, n: u64, prev: &mut ChainHash) -> Vec<RecordedEvent> {
        (from..from + n)
            .map(|seq| {
                let event = AuditEvent::builder("agent.create")
                    .request_id(format!("r{seq}"))
                    .build();
                let hash = chain_hash(prev, &stream, seq, &event);
                *prev = hash;
                RecordedEvent {
                    stream,
                    seq,
                    hash,
                    event,
                }
            })
            .collect()
    }

    #[test]
    fn a_torn_batch_is_cut_off_before_the_retry() {
        let dir = tempfile::tempdir().unwrap();
        let sink = JsonlSink::new(dir.path(), "audit", Rotation::default()).unwrap();
        let stream = StreamId::new();
        let mut prev = ChainHash::GENESIS;
        sink.write_blocking(&batch(stream, 1, 3, &mut prev))
            .unwrap();
        let second = batch(stream, 4, 3, &mut prev);
        // Simulate a failed attempt that wrote half a line before the error.
        {
            let mut state = sink.state.lock().unwrap();
            let f = state.open.get_mut(&stream).unwrap();
            f.file.write_all(b"{\"stream\":\"torn").unwrap();
            f.dirty = true;
        }
        sink.write_blocking(&second).unwrap();
        let files = sink.files().unwrap();
        let signer = crate::chain::CheckpointSigner::ed25519_from_bytes(&[1; 32]);
        let mut verifier = ChainVerifier::new(&signer.verifier(), Vec::new());
        verify_files(&files, &mut verifier).unwrap();
        let report = verifier.finish();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.checked, 6);
    }

    #[test]
    fn a_torn_batch_is_cut_off_before_rotating() {
        let dir = tempfile::tempdir().unwrap();
        let sink = JsonlSink::new(
            dir.path(),
            "audit",
            Rotation {
                max_bytes: Some(1),
                daily: false,
            },
        )
        .unwrap();
        let stream = StreamId::new();
        let mut prev = ChainHash::GENESIS;
        sink.write_blocking(&batch(stream, 1, 2, &mut prev))
            .unwrap();
        {
            let mut state = sink.state.lock().unwrap();
            let f = state.open.get_mut(&stream).unwrap();
            f.file.write_all(b"{\"partial").unwrap();
            f.dirty = true;
        }
        sink.write_blocking(&batch(stream, 3, 2, &mut prev))
            .unwrap();
        let files = sink.files().unwrap();
        assert_eq!(files[&stream].len(), 2);
        let signer = crate::chain::CheckpointSigner::ed25519_from_bytes(&[1; 32]);
        let mut verifier = ChainVerifier::new(&signer.verifier(), Vec::new());
        verify_files(&files, &mut verifier).unwrap();
        assert!(verifier.finish().ok);
    }

    #[test]
    fn a_torn_checkpoint_line_is_dropped_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.jsonl");
        let store = JsonlCheckpointStore::new(&path);
        let signer = crate::chain::CheckpointSigner::ed25519_from_bytes(&[1; 32]);
        let cp = crate::chain::Checkpoint {
            kind: crate::chain::CheckpointKind::Head,
            stream: StreamId::new(),
            seq: 0,
            hash: ChainHash::GENESIS,
            time: OffsetDateTime::now_utc(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(store.append_checkpoint(&signer.sign(cp)))
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"kind\":\"he")
            .unwrap();
        rt.block_on(store.append_checkpoint(&signer.sign(cp)))
            .unwrap();
        assert_eq!(JsonlCheckpointStore::read(&path).unwrap().len(), 2);
    }
}
