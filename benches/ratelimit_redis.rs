//! Question: how many checks per second does the Redis limiter sustain, with what p99 latency,
//! next to a naive fixed window (`INCR` + `EXPIRE`) on the same server?
//!
//! In the same run, against `REDIS_URL` (skipped with a message when unset):
//! - `gcra_script`: `RedisRateLimiter::check` (one `EVALSHA` of the GCRA script per check);
//! - `naive_incr_expire`: `INCR key` and `EXPIRE key 60 NX` pipelined in one round trip (the
//!   baseline: one round trip like ours, but a fixed window with its double-burst at the edges).
//!
//! Each with 1 and with 32 concurrent tasks on one multiplexed connection, keys cycling over
//! 10,000 distinct keys. Criterion reports the time per check (wall time / checks, so the
//! throughput is its inverse); a separate pass records every latency and prints p50 and p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agency_ratelimit::{
    ClassConfig, RateLimitConfig, RateLimitKey, RateLimiter, RedisOptions, RedisRateLimiter,
};
use criterion::Criterion;

const DISTINCT_KEYS: usize = 10_000;

trait Check: Send + Sync + 'static {
    fn check(&self, i: usize) -> impl std::future::Future<Output = bool> + Send;
}

struct Gcra {
    limiter: RedisRateLimiter,
    keys: Vec<RateLimitKey>,
}

impl Check for Gcra {
    async fn check(&self, i: usize) -> bool {
        match self
            .limiter
            .check("bench", &self.keys[i % DISTINCT_KEYS])
            .await
        {
            Ok(d) => d.is_allowed(),
            Err(_) => false,
        }
    }
}

struct Naive {
    connection: redis::aio::ConnectionManager,
    keys: Vec<String>,
    limit: i64,
}

impl Check for Naive {
    async fn check(&self, i: usize) -> bool {
        let mut connection = self.connection.clone();
        let key = &self.keys[i % DISTINCT_KEYS];
        let reply: Result<(i64, i64), _> = redis::pipe()
            .cmd("INCR")
            .arg(key)
            .cmd("EXPIRE")
            .arg(key)
            .arg(60)
            .arg("NX")
            .query_async(&mut connection)
            .await;
        matches!(reply, Ok((count, _)) if count <= self.limit)
    }
}

/// Runs `total` checks over `tasks` concurrent tasks; returns the wall time and every latency.
async fn run<C: Check>(
    checker: &Arc<C>,
    total: usize,
    tasks: usize,
    offset: usize,
) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            // Exactly `total` checks in all, spread as evenly as possible.
            let count = total / tasks + usize::from(t < total % tasks);
            let checker = Arc::clone(checker);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count);
                for n in 0..count {
                    let begin = Instant::now();
                    std::hint::black_box(checker.check(offset + t * count + n).await);
                    latencies.push(begin.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for handle in handles {
        if let Ok(latencies) = handle.await {
            all.extend(latencies);
        }
    }
    (started.elapsed(), all)
}

/// The `percent`-th percentile (nearest rank) of `sorted`.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = (sorted.len() * percent)
        .div_ceil(100)
        .clamp(1, sorted.len())
        - 1;
    sorted[index]
}

fn main() {
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("ratelimit_redis: skipped, REDIS_URL is not set");
        return;
    };
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("ratelimit_redis: could not start a Tokio runtime");
        return;
    };
    let prefix = format!("bench:rl:{}:", std::process::id());
    let setup = runtime.block_on(async {
        let classes = RateLimitConfig {
            classes: Default::default(),
        }
        .with_class(
            "bench",
            ClassConfig::per_window(1_000_000, 1).with_burst(1_000_000),
        )
        .build()
        .ok()?;
        let options = RedisOptions {
            key_prefix: prefix.clone(),
            timeout_ms: 5_000,
            ..RedisOptions::default()
        };
        let limiter = RedisRateLimiter::new(&url, classes, options).ok()?;
        limiter.ping().await.ok()?;
        let client = redis::Client::open(url.as_str()).ok()?;
        let connection = redis::aio::ConnectionManager::new(client).await.ok()?;
        let gcra = Arc::new(Gcra {
            limiter,
            keys: (0..DISTINCT_KEYS)
                .map(|i| RateLimitKey::principal(&format!("user-{i}")))
                .collect(),
        });
        let naive = Arc::new(Naive {
            connection,
            keys: (0..DISTINCT_KEYS)
                .map(|i| format!("{prefix}naive:user-{i}"))
                .collect(),
            limit: i64::MAX,
        });
        Some((gcra, naive))
    });
    let Some((gcra, naive)) = setup else {
        eprintln!("ratelimit_redis: skipped, Redis at REDIS_URL is not reachable");
        return;
    };

    // Latency pass: every check timed.
    for tasks in [1usize, 32] {
        let total = if tasks == 1 { 20_000 } else { 100_000 };
        for (name, (wall, mut latencies)) in [
            ("gcra_script", runtime.block_on(run(&gcra, total, tasks, 0))),
            (
                "naive_incr_expire",
                runtime.block_on(run(&naive, total, tasks, 0)),
            ),
        ] {
            latencies.sort_unstable();
            eprintln!(
                "latency {name} tasks={tasks}: {:.0} checks/s, p50 {:?}, p99 {:?} ({} checks)",
                latencies.len() as f64 / wall.as_secs_f64(),
                percentile(&latencies, 50),
                percentile(&latencies, 99),
                latencies.len()
            );
        }
    }

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("ratelimit_redis");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for tasks in [1usize, 32] {
        group.bench_function(format!("gcra_script/tasks_{tasks}"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let gcra = Arc::clone(&gcra);
                async move {
                    run(
                        &gcra,
                        usize::try_from(iters).unwrap_or(usize::MAX),
                        tasks,
                        7,
                    )
                    .await
                    .0
                }
            })
        });
        group.bench_function(format!("naive_incr_expire/tasks_{tasks}"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let naive = Arc::clone(&naive);
                async move {
                    run(
                        &naive,
                        usize::try_from(iters).unwrap_or(usize::MAX),
                        tasks,
                        7,
                    )
                    .await
                    .0
                }
            })
        });
    }
    group.finish();
    criterion.final_summary();

    // Leave nothing behind (every key has a TTL anyway).
    runtime.block_on(async {
        if let Ok(client) = redis::Client::open(url.as_str())
            && let Ok(mut connection) = client.get_multiplexed_async_connection().await
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut connection)
                .await
                .unwrap_or_default();
            for chunk in keys.chunks(1000) {
                let _: Result<i64, _> = redis::cmd("DEL")
                    .arg(chunk)
                    .query_async(&mut connection)
                    .await;
            }
        }
    });
}
