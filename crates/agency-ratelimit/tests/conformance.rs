//! One conformance suite for every backend: the same sequence of calls (each check preceded by a
//! peek that must agree with it) gives the same decisions in memory and on Redis (the Redis part runs when `REDIS_URL` is set). Sequences happen at one
//! instant relative to the classes' emission intervals (minutes), so timing cannot change them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use agency_ratelimit::{
    ClassConfig, DecisionSource, MemoryRateLimiter, RateClasses, RateLimitConfig, RateLimitError,
    RateLimitKey, RateLimiter,
};

fn classes() -> RateClasses {
    RateLimitConfig::default()
        .with_class("slow", ClassConfig::per_window(5, 3600))
        .with_class("weighted", ClassConfig::per_window(10, 3600))
        .with_class("bursty", ClassConfig::per_window(60, 3600).with_burst(3))
        .build()
        .unwrap()
}

/// What a backend answered, comparable across backends.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Decided {
        allowed: bool,
        remaining: u32,
        reset_s: u64,
        retry_s: Option<u64>,
    },
    Failed(RateLimitError),
}

async fn run_sequence(limiter: &dyn RateLimiter) -> Vec<Outcome> {
    let a = RateLimitKey::principal("a");
    let b = RateLimitKey::principal("b");
    let c = RateLimitKey::api_key("c");
    let mut calls: Vec<(&str, &RateLimitKey, u32)> = Vec::new();
    calls.extend(std::iter::repeat_n(("slow", &a, 1), 7)); // 5 allowed, 2 refused
    calls.push(("slow", &b, 1)); // keys are independent
    calls.push(("bursty", &a, 1)); // classes are independent
    calls.extend([
        ("weighted", &c, 4),
        ("weighted", &c, 4),
        ("weighted", &c, 4),
        ("weighted", &c, 2),
        ("weighted", &c, 1),
    ]);
    calls.extend(std::iter::repeat_n(("bursty", &b, 1), 4));
    calls.push(("nope", &a, 1)); // unknown class: an error, never allowed
    calls.push(("slow", &b, 0));
    calls.push(("weighted", &b, 11));
    let mut out = Vec::new();
    for (class, key, cost) in calls {
        // A peek first: it answers what the check then decides, and spends nothing (or the
        // checks below would not match `expected`).
        let peeked = outcome(limiter.peek_n(class, key, cost).await);
        let checked = outcome(limiter.check_n(class, key, cost).await);
        assert_eq!(peeked, checked, "peek and check of {class} disagree");
        out.push(checked);
    }
    out
}

fn outcome(result: Result<agency_ratelimit::Decision, RateLimitError>) -> Outcome {
    match result {
        Ok(d) => {
            assert_eq!(d.source(), DecisionSource::Limiter);
            assert_eq!(d.is_allowed(), d.retry_after().is_none());
            Outcome::Decided {
                allowed: d.is_allowed(),
                remaining: d.remaining(),
                // Whole seconds rounded up: the memory backend rounds `reset_after` up to an
                // emission interval (minutes here), Redis is exact; both agree on the ceiling
                // except for the microseconds that pass during the run, hence `/ 10`.
                reset_s: d.reset_after().as_secs().div_ceil(10),
                retry_s: d.retry_after().map(|r| r.as_secs().div_ceil(10)),
            }
        }
        Err(e) => Outcome::Failed(e),
    }
}

fn expected() -> Vec<Outcome> {
    let d = |allowed, remaining, reset_s, retry_s| Outcome::Decided {
        allowed,
        remaining,
        reset_s,
        retry_s,
    };
    vec![
        d(true, 4, 72, None), // 720 s per cell in `slow`
        d(true, 3, 144, None),
        d(true, 2, 216, None),
        d(true, 1, 288, None),
        d(true, 0, 360, None),
        d(false, 0, 360, Some(72)),
        d(false, 0, 360, Some(72)),
        d(true, 4, 72, None),
        d(true, 2, 6, None),   // 60 s per cell in `bursty`, burst 3
        d(true, 6, 144, None), // 360 s per cell in `weighted`
        d(true, 2, 288, None),
        d(false, 2, 288, Some(72)), // needs 4, has 2: refused, nothing spent
        d(true, 0, 360, None),
        d(false, 0, 360, Some(36)),
        d(true, 2, 6, None),
        d(true, 1, 12, None),
        d(true, 0, 18, None),
        d(false, 0, 18, Some(6)),
        Outcome::Failed(RateLimitError::UnknownClass("nope".into())),
        Outcome::Failed(RateLimitError::ZeroCost),
        Outcome::Failed(RateLimitError::CostExceedsBurst {
            class: "weighted".into(),
            cost: 11,
            burst: 10,
        }),
    ]
}

#[tokio::test]
async fn memory_backend_conforms() {
    let limiter = MemoryRateLimiter::new(classes());
    assert_eq!(run_sequence(&limiter).await, expected());
}

#[cfg(feature = "redis")]
mod redis_backend {
    use super::*;
    use agency_ratelimit::{RedisOptions, RedisRateLimiter, UnavailablePolicy};
    use std::time::Duration;

    fn redis_limiter(url: &str, prefix: &str) -> RedisRateLimiter {
        let options = RedisOptions {
            key_prefix: prefix.to_owned(),
            unavailable_policy: UnavailablePolicy::FailClosed,
            timeout_ms: 2_000,
            ..RedisOptions::default()
        };
        RedisRateLimiter::new(url, classes(), options).unwrap()
    }

    #[tokio::test]
    async fn redis_backend_conforms_and_matches_memory() {
        let Some(url) = common::redis_url("redis_backend_conforms_and_matches_memory") else {
            return;
        };
        let prefix = common::unique_prefix("conformance");
        let redis = redis_limiter(&url, &prefix);
        let got = run_sequence(&redis).await;
        let memory = run_sequence(&MemoryRateLimiter::new(classes())).await;
        assert_eq!(got, memory);
        assert_eq!(got, expected());
        assert_eq!(
            common::cleanup(&url, &prefix).await,
            0,
            "every Redis key must have a TTL"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_sharing_redis_enforce_one_global_quota() {
        let Some(url) = common::redis_url("two_instances_sharing_redis_enforce_one_global_quota")
        else {
            return;
        };
        let prefix = common::unique_prefix("global");
        let instances = [redis_limiter(&url, &prefix), redis_limiter(&url, &prefix)];
        let key = RateLimitKey::principal("shared");
        let mut tasks = Vec::new();
        for i in 0..200 {
            let limiter = instances[i % 2].clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                limiter.check("weighted", &key).await.unwrap()
            }));
        }
        let mut allowed = [0u32; 2];
        for (i, task) in tasks.into_iter().enumerate() {
            let decision = task.await.unwrap();
            assert_eq!(decision.source(), DecisionSource::Limiter);
            if decision.is_allowed() {
                allowed[i % 2] += 1;
            }
        }
        // 10 an hour, burst 10, all within a few milliseconds: exactly the burst, across both.
        assert_eq!(
            allowed[0] + allowed[1],
            10,
            "allowed per instance: {allowed:?}"
        );
        assert_eq!(common::cleanup(&url, &prefix).await, 0);
    }

    #[tokio::test]
    async fn the_time_comes_from_redis_and_keys_expire() {
        let Some(url) = common::redis_url("the_time_comes_from_redis_and_keys_expire") else {
            return;
        };
        let prefix = common::unique_prefix("ttl");
        let limiter = redis_limiter(&url, &prefix);
        let key = RateLimitKey::principal("ttl");
        let d = limiter.check("bursty", &key).await.unwrap();
        assert!(d.is_allowed());
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with(&format!("{prefix}bursty:")));
        assert_eq!(
            keys[0].len(),
            prefix.len() + "bursty:".len() + 32,
            "hashed, bounded key"
        );
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&keys[0])
            .query_async(&mut conn)
            .await
            .unwrap();
        // One cell of 60 s spent: the key lives until the bucket is full again.
        assert!((59_000..=60_000).contains(&ttl), "ttl {ttl}");
        assert!(d.reset_after() <= Duration::from_secs(60));
        common::cleanup(&url, &prefix).await;
    }
}
