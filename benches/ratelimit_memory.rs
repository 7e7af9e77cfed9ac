//! Question: what does a check of the bounded memory limiter cost next to bare governor's keyed
//! check, and does its memory stay bounded under 1,000,000 distinct keys?
//!
//! In the same run:
//! - `hot_key/*`: one key checked over and over (allowed: a bucket too large to drain during the
//!   run; refused: a drained 1-per-hour bucket), bare `governor::RateLimiter::keyed` with the same
//!   quota and a `String` key (the baseline) vs `MemoryRateLimiter::check_sync` and the async
//!   `RateLimiter::check` (the trait boxes its future);
//! - `distinct_keys_1m/*`: checks cycling over 1,000,000 distinct keys: bare governor, ours with
//!   a cap above 1M, ours with the default cap of 100,000 (most keys then use the overflow bucket);
//! - memory: each case inserts 1,000,000 distinct keys in a fresh child process and reports the
//!   RSS growth (`VmRSS` of /proc/self/status) and bytes per key.
//!
//! Target (issue 5): hot-key check within 1.5x of bare governor's keyed check; memory bounded by
//! the cap.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::process::Command;
use std::time::Duration;

use agency_ratelimit::{
    ClassConfig, MemoryOptions, MemoryRateLimiter, RateLimitConfig, RateLimitKey, RateLimiter,
};
use criterion::Criterion;
use governor::{Quota, RateLimiter as Governor};

const KEYS: usize = 1_000_000;
const MEMORY_CASE_ENV: &str = "RATELIMIT_BENCH_MEMORY_CASE";

fn key_text(i: usize) -> String {
    format!("p:user-{i:07}")
}

fn limiter(max_keys: usize) -> MemoryRateLimiter {
    let classes = RateLimitConfig {
        classes: Default::default(),
    }
    // 1 cell per microsecond, a bucket of u32::MAX cells: never drained during a run.
    .with_class(
        "open",
        ClassConfig::per_window(1_000_000, 1).with_burst(u32::MAX),
    )
    .with_class("shut", ClassConfig::per_window(1, 3600).with_burst(1))
    .build()
    .unwrap_or_default();
    let options = MemoryOptions {
        max_keys_per_class: max_keys,
        ..MemoryOptions::default()
    };
    MemoryRateLimiter::with_options(classes, options)
        .unwrap_or_else(|_| MemoryRateLimiter::new(Default::default()))
}

fn open_quota() -> Quota {
    Quota::per_second(NonZeroU32::new(1_000_000).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MAX)
}

fn shut_quota() -> Quota {
    Quota::per_hour(NonZeroU32::MIN)
}

fn hot_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("ratelimit_memory/hot_key");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let runtime = tokio::runtime::Builder::new_current_thread().build().ok();

    let bare_open = Governor::keyed(open_quota());
    let bare_shut = Governor::keyed(shut_quota());
    let ours = limiter(100_000);
    let text = key_text(42);
    let key = RateLimitKey::principal("user-0000042");
    let _ = bare_shut.check_key(&text);
    let _ = ours.check_sync("shut", &key, 1);

    group.bench_function("bare_governor_allowed", |b| {
        b.iter(|| black_box(bare_open.check_key(black_box(&text)).is_ok()))
    });
    group.bench_function("ours_allowed", |b| {
        b.iter(|| {
            black_box(
                ours.check_sync("open", black_box(&key), 1)
                    .map(|d| d.is_allowed()),
            )
        })
    });
    group.bench_function("bare_governor_refused", |b| {
        b.iter(|| black_box(bare_shut.check_key(black_box(&text)).is_ok()))
    });
    group.bench_function("ours_refused", |b| {
        b.iter(|| {
            black_box(
                ours.check_sync("shut", black_box(&key), 1)
                    .map(|d| d.is_allowed()),
            )
        })
    });
    if let Some(runtime) = runtime.as_ref() {
        group.bench_function("ours_async_trait_allowed", |b| {
            b.to_async(runtime).iter(|| async {
                black_box(
                    ours.check("open", black_box(&key))
                        .await
                        .map(|d| d.is_allowed()),
                )
            })
        });
    }
    group.finish();
}

fn distinct_keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("ratelimit_memory/distinct_keys_1m");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let texts: Vec<String> = (0..KEYS).map(key_text).collect();
    let keys: Vec<RateLimitKey> = (0..KEYS)
        .map(|i| RateLimitKey::principal(&format!("user-{i:07}")))
        .collect();

    let bare = Governor::keyed(open_quota());
    let mut i = 0usize;
    group.bench_function("bare_governor", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(bare.check_key(&texts[i]).is_ok())
        })
    });
    drop(bare);

    for (name, cap) in [("ours_cap_2m", 2 * KEYS), ("ours_cap_100k", 100_000)] {
        let ours = limiter(cap);
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % KEYS;
                black_box(ours.check_sync("open", &keys[i], 1).map(|d| d.is_allowed()))
            })
        });
    }
    group.finish();
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Runs in a child process: inserts 1M distinct keys and prints the RSS growth.
fn memory_case(case: &str) {
    let texts: Vec<String> = (0..KEYS).map(key_text).collect();
    let keys: Vec<RateLimitKey> = (0..KEYS)
        .map(|i| RateLimitKey::principal(&format!("user-{i:07}")))
        .collect();
    let before = rss_kib();
    let tracked = match case {
        "bare_governor" => {
            let bare = Governor::keyed(open_quota());
            for t in &texts {
                let _ = bare.check_key(t);
            }
            let after = rss_kib();
            report(case, before, after, bare.len());
            return;
        }
        "ours_cap_2m" | "ours_cap_100k" => {
            let ours = limiter(if case == "ours_cap_2m" {
                2 * KEYS
            } else {
                100_000
            });
            for k in &keys {
                let _ = ours.check_sync("open", k, 1);
            }
            let after = rss_kib();
            let tracked = ours.tracked_keys("open").unwrap_or(0);
            report(case, before, after, tracked);
            return;
        }
        _ => 0,
    };
    report(case, before, before, tracked);
}

fn report(case: &str, before: u64, after: u64, tracked: usize) {
    let grown = after.saturating_sub(before) * 1024;
    let per_key = grown as f64 / KEYS as f64;
    // Machine-readable line, printed by the parent.
    eprintln!(
        "memory {case}: {KEYS} distinct keys, {tracked} tracked, RSS +{:.1} MiB ({per_key:.1} bytes per key inserted)",
        grown as f64 / (1024.0 * 1024.0)
    );
}

fn memory_report() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for case in ["bare_governor", "ours_cap_2m", "ours_cap_100k"] {
        match Command::new(&exe).env(MEMORY_CASE_ENV, case).output() {
            Ok(out) => eprint!("{}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => eprintln!("memory {case}: could not run: {e}"),
        }
    }
}

fn main() {
    if let Ok(case) = std::env::var(MEMORY_CASE_ENV) {
        memory_case(&case);
        return;
    }
    memory_report();
    let mut criterion = Criterion::default().configure_from_args();
    hot_key(&mut criterion);
    distinct_keys(&mut criterion);
    criterion.final_summary();
}
