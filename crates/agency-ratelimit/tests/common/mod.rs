//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{SystemTime, UNIX_EPOCH};

/// `REDIS_URL`, or `None` (with the reason printed) when unset; a failure when `CI=true`.
pub(crate) fn redis_url(test: &str) -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: REDIS_URL is not set and CI=true");
            }
            eprintln!("{test}: skipped, REDIS_URL is not set");
            None
        }
    }
}

/// A key prefix no other test run uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t:{test}:{}:{nanos}:", std::process::id())
}

/// Deletes every key under `prefix`, returning how many had no TTL (there must be none).
pub(crate) async fn cleanup(url: &str, prefix: &str) -> usize {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut without_ttl = 0;
    for key in &keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if ttl < 0 {
            without_ttl += 1;
        }
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    without_ttl
}
