//! Crash test: a child process records events with `record_durable` in a loop and prints every
//! acknowledged `(stream, seq, hash)`; the parent kills it with SIGKILL at a random moment, then
//! checks that every acknowledged event is stored and that the whole log (all trials' streams)
//! verifies against the signed checkpoints.
//!
//! Trials per backend: `AUDIT_CRASH_TRIALS` (default 3). Many locally:
//! `AUDIT_CRASH_TRIALS=200 cargo test -p agency-audit --all-features --release --test crash`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agency_audit::sink::{AuditSink, CheckpointStore, JsonlCheckpointStore, JsonlSink, Rotation};
use agency_audit::{AuditWriter, WriterConfig};

const CHILD_ENV: &str = "AUDIT_CRASH_CHILD";
const DIR_ENV: &str = "AUDIT_CRASH_DIR";

fn trials() -> usize {
    std::env::var("AUDIT_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn random_u64() -> u64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes(b[..8].try_into().unwrap())
}

/// The child: ignored in a normal run; the parent runs it (`--ignored`) with
/// `AUDIT_CRASH_CHILD` set, then kills it.
#[test]
#[ignore = "the crash tests run this as their child process"]
fn crash_child() {
    let Ok(backend) = std::env::var(CHILD_ENV) else {
        eprintln!("crash_child is run by the crash tests, with {CHILD_ENV} set; nothing to do");
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var(DIR_ENV).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (sink, cps): (Box<dyn AuditSink>, Arc<dyn CheckpointStore>) =
            open(&backend, &dir).await;
        let config = WriterConfig::default()
            .checkpoints(cps, common::signer(), Duration::from_millis(15))
            .queue(4096, 256);
        let writer = AuditWriter::spawn(sink, config).unwrap();
        let stdout = Arc::new(Mutex::new(std::io::stdout()));
        let mut tasks = Vec::new();
        for t in 0..8usize {
            let w = writer.clone();
            let out = stdout.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let r = w
                        .record_durable(common::sample_event(t * 1_000_000 + i))
                        .await
                        .unwrap();
                    use std::io::Write;
                    let mut o = out.lock().unwrap();
                    writeln!(o, "ACK {} {} {}", r.stream, r.seq, r.hash).unwrap();
                    o.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

async fn open(
    backend: &str,
    dir: &std::path::Path,
) -> (Box<dyn AuditSink>, Arc<dyn CheckpointStore>) {
    match backend {
        "jsonl" => (
            Box::new(
                JsonlSink::new(
                    dir,
                    "audit",
                    Rotation {
                        max_bytes: Some(256 * 1024),
                        daily: true,
                    },
                )
                .unwrap(),
            ),
            Arc::new(JsonlCheckpointStore::new(dir.join("checkpoints.jsonl"))),
        ),
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let url = format!("sqlite://{}", dir.join("audit.db").display());
            let store = Arc::new(
                agency_audit::sink::SqliteAuditStore::connect(
                    &url,
                    agency_audit::sink::SqliteDurability::Full,
                )
                .await
                .unwrap(),
            );
            (Box::new(store.clone()), store)
        }
        other => panic!("unknown backend {other}"),
    }
}

fn run_trials(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(String, u64, String)> = Vec::new();
    for trial in 0..trials() {
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, backend)
            .env(DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            let mut buf = BufReader::new(stdout);
            let mut line = String::new();
            while buf.read_line(&mut line).unwrap_or(0) > 0 {
                // Only complete lines count: a line cut by the kill was never fully reported.
                if line.ends_with('\n') {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    if parts.len() == 4 && parts[0] == "ACK" {
                        acks.push((
                            parts[1].to_owned(),
                            parts[2].parse::<u64>().unwrap(),
                            parts[3].to_owned(),
                        ));
                    }
                }
                line.clear();
            }
            acks
        });
        // Kill at a random moment after start-up (50–550 ms of recording).
        std::thread::sleep(Duration::from_millis(150 + random_u64() % 500));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        assert!(
            !acks.is_empty(),
            "trial {trial}: the child acknowledged nothing"
        );
        eprintln!(
            "{backend} trial {trial}: {} events acknowledged before SIGKILL",
            acks.len()
        );
        acked.extend(acks);

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(check(backend, dir.path(), &acked));
    }
}

async fn check(backend: &str, dir: &std::path::Path, acked: &[(String, u64, String)]) {
    let mut stored = HashSet::new();
    let report = match backend {
        "jsonl" => {
            let sink = JsonlSink::new(dir, "audit", Rotation::default()).unwrap();
            let cps = JsonlCheckpointStore::new(dir.join("checkpoints.jsonl"));
            for e in common::export_all(&sink, agency_audit::export::ExportFormat::JsonLines)
                .await
                .lines()
            {
                let r: agency_audit::RecordedEvent = serde_json::from_str(e).unwrap();
                stored.insert((r.stream.to_string(), r.seq, r.hash.to_hex()));
            }
            agency_audit::verify(&sink, &cps, &common::verifier())
                .await
                .unwrap()
        }
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let url = format!("sqlite://{}", dir.join("audit.db").display());
            let store = agency_audit::sink::SqliteAuditStore::connect(
                &url,
                agency_audit::sink::SqliteDurability::Full,
            )
            .await
            .unwrap();
            for e in common::export_all(&store, agency_audit::export::ExportFormat::JsonLines)
                .await
                .lines()
            {
                let r: agency_audit::RecordedEvent = serde_json::from_str(e).unwrap();
                stored.insert((r.stream.to_string(), r.seq, r.hash.to_hex()));
            }
            let report = agency_audit::verify(&store, &store, &common::verifier())
                .await
                .unwrap();
            store.pool().close().await;
            report
        }
        other => panic!("unknown backend {other}"),
    };
    for a in acked {
        assert!(
            stored.contains(a),
            "acknowledged event {a:?} is missing after SIGKILL"
        );
    }
    assert!(report.ok, "chain does not verify after SIGKILL: {report:?}");
}

#[test]
fn jsonl_acknowledged_events_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    run_trials("jsonl");
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_acknowledged_events_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    run_trials("sqlite");
}
