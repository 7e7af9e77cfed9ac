//! The `agency-audit` command line: exit codes and reports for intact and tampered logs.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::Arc;

use agency_audit::chain::CheckpointVerifier;
use agency_audit::sink::{CheckpointStore, JsonlCheckpointStore, JsonlSink, Rotation};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agency-audit"))
}

fn public_hex() -> String {
    match common::verifier() {
        CheckpointVerifier::Ed25519(k) => hex::encode(k.as_bytes()),
        CheckpointVerifier::Hmac(_) => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_jsonl_exits_zero_then_one_after_a_deleted_line() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sink = JsonlSink::new(&logs, "audit", Rotation::default()).unwrap();
    let cps: Arc<dyn CheckpointStore> =
        Arc::new(JsonlCheckpointStore::new(dir.path().join("cp.jsonl")));
    common::fill(sink.clone(), cps, 25).await;

    let out = bin()
        .args(["verify", "--jsonl"])
        .arg(&logs)
        .arg("--checkpoints")
        .arg(dir.path().join("cp.jsonl"))
        .args(["--public-key", &public_hex()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["checked"], 25);

    // The attack: delete line 12 of the log file, then verify that single file.
    let file = sink
        .files()
        .unwrap()
        .into_values()
        .next()
        .unwrap()
        .remove(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 11)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&file, kept).unwrap();
    let out = bin()
        .args(["verify", "--jsonl"])
        .arg(&file)
        .arg("--checkpoints")
        .arg(dir.path().join("cp.jsonl"))
        .args(["--public-key", &public_hex()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_break"]["kind"], "missing");
    assert_eq!(report["first_break"]["seq"], 13);
}

#[test]
fn verify_with_a_wrong_key_reports_bad_checkpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sink = JsonlSink::new(dir.path(), "audit", Rotation::default()).unwrap();
    let cps: Arc<dyn CheckpointStore> =
        Arc::new(JsonlCheckpointStore::new(dir.path().join("cp.jsonl")));
    rt.block_on(common::fill(sink, cps, 3));
    let other = agency_audit::chain::CheckpointSigner::ed25519_from_bytes(&[1; 32]);
    let CheckpointVerifier::Ed25519(k) = other.verifier() else {
        unreachable!()
    };
    let out = bin()
        .args(["verify", "--jsonl"])
        .arg(dir.path())
        .arg("--checkpoints")
        .arg(dir.path().join("cp.jsonl"))
        .args(["--public-key", &hex::encode(k.as_bytes())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_break"]["kind"], "bad_checkpoint");
}

#[test]
fn unreadable_input_exits_two() {
    let out = bin()
        .args([
            "verify",
            "--jsonl",
            "/nonexistent/dir",
            "--checkpoints",
            "/nonexistent/cp",
            "--public-key",
            &public_hex(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args([
            "verify",
            "--database-url",
            "sqlite:///nonexistent/audit.db",
            "--public-key",
            &public_hex(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keygen_writes_a_private_key_file_and_prints_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.key");
    let out = bin().args(["keygen", "--out"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let public = String::from_utf8(out.stdout).unwrap();
    let secret = std::fs::read_to_string(&path).unwrap();
    let signer = agency_audit::chain::CheckpointSigner::ed25519_from_hex(&secret).unwrap();
    let CheckpointVerifier::Ed25519(k) = signer.verifier() else {
        unreachable!()
    };
    assert_eq!(public.trim(), hex::encode(k.as_bytes()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwrites an existing key.
    assert_eq!(
        bin()
            .args(["keygen", "--out"])
            .arg(&path)
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_sqlite_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = Arc::new(
        agency_audit::sink::SqliteAuditStore::connect(&url, Default::default())
            .await
            .unwrap(),
    );
    common::fill(store.clone(), store.clone(), 10).await;
    let out = bin()
        .args([
            "verify",
            "--database-url",
            &url,
            "--public-key",
            &public_hex(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sqlx::query("DELETE FROM audit_events WHERE seq = 10")
        .execute(store.pool())
        .await
        .unwrap();
    let out = bin()
        .args([
            "verify",
            "--database-url",
            &url,
            "--public-key",
            &public_hex(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_break"]["kind"], "truncated");
}

/// Strict mode is the default: with the close checkpoint deleted, the stream looks open, and
/// its newest checkpoint is older than the (here zero) maximum age, so the tail cannot be
/// vouched for. `--lenient` skips that check (the positive control).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_is_strict_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sink = JsonlSink::new(&logs, "audit", Rotation::default()).unwrap();
    let cp_path = dir.path().join("cp.jsonl");
    let cps: Arc<dyn CheckpointStore> = Arc::new(JsonlCheckpointStore::new(&cp_path));
    common::fill(sink, cps, 5).await;
    let text = std::fs::read_to_string(&cp_path).unwrap();
    assert!(text.contains("\"kind\":\"close\""), "{text}");
    let without_close: String = text
        .lines()
        .filter(|l| !l.contains("\"kind\":\"close\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cp_path, without_close).unwrap();
    let run = |extra: &[&str]| {
        bin()
            .args(["verify", "--jsonl"])
            .arg(&logs)
            .arg("--checkpoints")
            .arg(&cp_path)
            .args(["--public-key", &public_hex()])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--max-age-secs", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_break"]["kind"], "stale");
    let out = run(&["--max-age-secs", "0", "--lenient"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
