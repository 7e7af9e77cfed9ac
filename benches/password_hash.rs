//! Question: what do argon2id hashing and verification cost at the default (OWASP) parameters
//! through `agency_auth::passwords::PasswordHasher`, and what peak memory does a burst of 64
//! concurrent verifications reach through its bounded pool, next to 64 unbounded
//! `spawn_blocking` verifications?
//!
//! Part 1, memory (printed first): the bench re-runs itself in a fresh child process per
//! scenario (so each `VmHWM`, the kernel's peak resident set, belongs to one scenario only):
//! - `pool`: 64 concurrent `PasswordHasher::verify` calls, default configuration;
//! - `spawn_blocking` (baseline): 64 concurrent `tokio::task::spawn_blocking` calls of the bare
//!   `argon2` crate's `verify_password`, each allocating its own 19 MiB;
//! - `spawn_blocking` again under `MALLOC_ARENA_MAX=2`, to show what the allocator setting does.
//!
//! Part 2, time (criterion): `pool_hash` / `pool_verify` through the pool against the bare
//! `argon2` crate's `hash_password` / `verify_password` on the calling thread (baseline).
//!
//! Run: `nice -n -10 cargo bench -p agency-benches --bench password_hash -- --warm-up-time 1 --measurement-time 3`
//! (set `AGENCY_PW_SKIP_MEMORY=1` to skip part 1).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness reports on stdout and fails loudly on set-up errors"
)]

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use agency_auth::passwords::{Password, PasswordHasher, PasswordHasherConfig};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use criterion::Criterion;

const SCENARIO_ENV: &str = "AGENCY_PW_MEM_SCENARIO";
const HASH_ENV: &str = "AGENCY_PW_MEM_HASH";
const CONCURRENT: usize = 64;
const PASSWORD: &str = "violet tractor oboe";

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO_ENV) {
        run_memory_scenario(&scenario);
        return;
    }
    if std::env::var_os("AGENCY_PW_SKIP_MEMORY").is_none() {
        memory_report();
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .configure_from_args();
    bench_timing(&mut criterion);
    criterion.final_summary();
}

fn default_phc() -> String {
    let salt = SaltString::encode_b64(&[0x5A; 16]).unwrap();
    Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn bench_timing(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let hasher = PasswordHasher::with_defaults().unwrap();
    let phc = default_phc();
    let password = Password::from(PASSWORD);
    let salt = SaltString::encode_b64(&[0x33; 16]).unwrap();
    let parsed = PasswordHash::new(&phc).unwrap();

    let mut group = c.benchmark_group("argon2id_m19456_t2_p1");
    group.bench_function("bare_hash (baseline)", |b| {
        b.iter(|| {
            Argon2::default()
                .hash_password(black_box(PASSWORD.as_bytes()), &salt)
                .unwrap()
        });
    });
    group.bench_function("pool_hash", |b| {
        b.iter(|| runtime.block_on(hasher.hash(black_box(&password))).unwrap());
    });
    group.bench_function("bare_verify (baseline)", |b| {
        b.iter(|| {
            Argon2::default()
                .verify_password(black_box(PASSWORD.as_bytes()), &parsed)
                .unwrap();
        });
    });
    group.bench_function("pool_verify", |b| {
        b.iter(|| {
            let verification = runtime
                .block_on(hasher.verify(black_box(&password), &phc))
                .unwrap();
            assert!(verification.is_valid());
        });
    });
    group.bench_function("pool_verify_dummy", |b| {
        b.iter(|| {
            runtime
                .block_on(hasher.verify_dummy(black_box(&password)))
                .unwrap()
        });
    });
    group.finish();
}

/// `(VmHWM, VmRSS)` of this process in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn run_memory_scenario(scenario: &str) {
    let phc = std::env::var(HASH_ENV).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_, rss_before) = memory_kib();
    let started = Instant::now();
    let (valid, workers) = runtime.block_on(async {
        match scenario {
            "pool" => {
                let hasher = PasswordHasher::new(PasswordHasherConfig::default()).unwrap();
                let workers = hasher.config().workers();
                let tasks: Vec<_> = (0..CONCURRENT)
                    .map(|_| {
                        let hasher = hasher.clone();
                        let phc = phc.clone();
                        tokio::spawn(async move {
                            hasher
                                .verify(&Password::from(PASSWORD), &phc)
                                .await
                                .unwrap()
                                .is_valid()
                        })
                    })
                    .collect();
                let mut valid = 0;
                for task in tasks {
                    valid += usize::from(task.await.unwrap());
                }
                (valid, workers.to_string())
            }
            _ => {
                let tasks: Vec<_> = (0..CONCURRENT)
                    .map(|_| {
                        let phc = phc.clone();
                        tokio::task::spawn_blocking(move || {
                            let parsed = PasswordHash::new(&phc).unwrap();
                            Argon2::default()
                                .verify_password(PASSWORD.as_bytes(), &parsed)
                                .is_ok()
                        })
                    })
                    .collect();
                let mut valid = 0;
                for task in tasks {
                    valid += usize::from(task.await.unwrap());
                }
                (valid, "unbounded".to_owned())
            }
        }
    });
    let elapsed = started.elapsed();
    let (hwm, rss_after) = memory_kib();
    println!(
        "{scenario}\t{workers}\t{valid}\t{}\t{}\t{}\t{}",
        rss_before / 1024,
        hwm / 1024,
        rss_after / 1024,
        elapsed.as_millis()
    );
}

fn memory_report() {
    let exe = std::env::current_exe().unwrap();
    let phc = default_phc();
    println!(
        "\npeak memory of {CONCURRENT} concurrent argon2id verifications (m=19456 KiB, t=2, p=1), \
         one fresh process each"
    );
    println!(
        "| scenario | allocator | workers | valid | RSS before (MiB) | peak VmHWM (MiB) | RSS after (MiB) | wall time (ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (scenario, arena_max) in [
        ("pool", None),
        ("spawn_blocking", None),
        ("pool", Some("2")),
        ("spawn_blocking", Some("2")),
    ] {
        let mut command = Command::new(&exe);
        command.env(SCENARIO_ENV, scenario).env(HASH_ENV, &phc);
        match arena_max {
            Some(value) => {
                command.env("MALLOC_ARENA_MAX", value);
            }
            None => {
                command.env_remove("MALLOC_ARENA_MAX");
            }
        }
        let output = command.output().unwrap();
        let line = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = line.trim().split('\t').collect();
        let allocator = arena_max.map_or_else(
            || "glibc default".to_owned(),
            |v| format!("MALLOC_ARENA_MAX={v}"),
        );
        if fields.len() == 7 {
            println!(
                "| {} | {allocator} | {} | {}/{CONCURRENT} | {} | {} | {} | {} |",
                fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]
            );
        } else {
            println!(
                "| {scenario} | {allocator} | failed: {} |",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    println!();
}
