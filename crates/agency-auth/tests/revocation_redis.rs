//! Revocations pushed over Redis: two instances with stores of their own (so polling cannot
//! carry it) and one Redis see a logout within one second. Needs `REDIS_URL` (skipped with a
//! reason when unset, a failure when `CI=true`).
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use agency_auth::revocation::{
    CachedRevocationChecker, RedisRevocationNotifier, RevocationCacheConfig, RevocationQuery,
};
use agency_auth::store::MemoryStore;
use time::OffsetDateTime;

fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "REDIS_URL must be set when CI=true"
            );
            eprintln!("skipping: REDIS_URL is not set");
            None
        }
    }
}

async fn instance(url: &str, channel: &str) -> Arc<CachedRevocationChecker> {
    let notifier = Arc::new(
        RedisRevocationNotifier::connect(url, channel)
            .await
            .unwrap(),
    );
    let checker = CachedRevocationChecker::new(
        Arc::new(MemoryStore::new()),
        // Polling far slower than the one second the push must beat.
        RevocationCacheConfig::default()
            .with_refresh_interval(Duration::from_secs(600))
            .with_max_staleness(Duration::from_secs(1200)),
    )
    .unwrap()
    .with_notifier(notifier);
    checker.refresh().await.unwrap();
    Arc::new(checker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_is_seen_by_another_within_a_second() {
    let Some(url) = redis_url() else { return };
    let channel = format!("agency-test:revocations:{}", uuid::Uuid::new_v4());
    let a = instance(&url, &channel).await;
    let b = instance(&url, &channel).await;
    let listener = RedisRevocationNotifier::connect(&url, channel.clone())
        .await
        .unwrap();
    let _subscription = listener.subscribe(&b);
    // Let the subscription settle (SUBSCRIBE is acknowledged asynchronously).
    tokio::time::sleep(Duration::from_millis(300)).await;

    let query = RevocationQuery {
        subject: "u1",
        session_id: Some("session-1"),
        token_id: "jti-1",
        issued_at: OffsetDateTime::now_utc(),
    };
    assert!(
        !b.check_cached(&query).unwrap(),
        "positive control: not revoked yet"
    );
    let started = Instant::now();
    a.revoke_session("session-1").await.unwrap();
    while !b.check_cached(&query).unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "instance B did not see the logout within one second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another session of the same user is untouched.
    let other = RevocationQuery {
        session_id: Some("session-2"),
        ..query
    };
    assert!(!b.check_cached(&other).unwrap());
}
