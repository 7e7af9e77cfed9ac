//! The memory limiter's bound: a flood of distinct keys never grows it past the cap, never resets
//! a tracked key, and shares one quota among the keys it could not track.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use agency_ratelimit::{
    ClassConfig, DecisionSource, MemoryOptions, MemoryRateLimiter, RateLimitConfig, RateLimitKey,
    RateLimiter,
};
use governor::clock::FakeRelativeClock;

fn limiter(max_keys: usize) -> (MemoryRateLimiter<FakeRelativeClock>, FakeRelativeClock) {
    let classes = RateLimitConfig::default().build().unwrap();
    let clock = FakeRelativeClock::default();
    let options = MemoryOptions {
        max_keys_per_class: max_keys,
        sweep_interval_secs: 1,
    };
    (
        MemoryRateLimiter::with_clock(classes, options, clock.clone()).unwrap(),
        clock,
    )
}

fn key(i: usize) -> RateLimitKey {
    RateLimitKey::principal(&format!("user-{i}"))
}

#[test]
fn flood_of_new_keys_cannot_reset_a_hot_key() {
    let (limiter, _clock) = limiter(100);
    let hot = RateLimitKey::ip("198.51.100.1".parse().unwrap());
    while limiter.check_sync("auth", &hot, 1).unwrap().is_allowed() {}
    for i in 0..10_000 {
        limiter.check_sync("auth", &key(i), 1).unwrap();
    }
    assert_eq!(limiter.tracked_keys("auth"), Some(100));
    let after = limiter.check_sync("auth", &hot, 1).unwrap();
    assert!(
        !after.is_allowed(),
        "the hot key's exhausted bucket survived the flood"
    );
    assert_eq!(after.source(), DecisionSource::Limiter);
}

#[test]
fn keys_beyond_the_cap_share_one_overflow_quota() {
    let (limiter, _clock) = limiter(50);
    let mut allowed_overflow = 0;
    for i in 0..5_000 {
        let d = limiter.check_sync("auth", &key(i), 1).unwrap();
        if i < 50 {
            assert_eq!(d.source(), DecisionSource::Limiter);
        } else {
            assert_eq!(d.source(), DecisionSource::Overflow);
            allowed_overflow += u32::from(d.is_allowed());
        }
    }
    // The whole flood beyond the cap got one burst of `auth` (10), not 10 per key.
    assert_eq!(allowed_overflow, 10);
    assert_eq!(limiter.overflow_decisions("auth"), Some(4_950));
    assert_eq!(limiter.tracked_keys("auth"), Some(50));
    // Other classes are unaffected.
    assert_eq!(
        limiter.check_sync("api", &key(1), 1).unwrap().source(),
        DecisionSource::Limiter
    );
}

#[test]
fn eviction_removes_only_idle_keys_and_never_changes_a_decision() {
    let (limiter, clock) = limiter(1_000);
    let hot = key(0);
    while limiter.check_sync("auth", &hot, 1).unwrap().is_allowed() {}
    for i in 1..=100 {
        limiter.check_sync("auth", &key(i), 1).unwrap();
    }
    // One cell takes 6 s to refill; governor evicts a full bucket once it has been full for one
    // more cell (it errs on the side of keeping). 12 s later the single-request keys go, the hot
    // key (60 s to refill) stays.
    clock.advance(Duration::from_secs(6));
    assert_eq!(limiter.evict_idle(), 0);
    clock.advance(Duration::from_secs(6));
    assert_eq!(limiter.evict_idle(), 100);
    assert_eq!(limiter.tracked_keys("auth"), Some(1));
    let d = limiter.check_sync("auth", &hot, 1).unwrap();
    assert!(d.is_allowed());
    assert_eq!(
        d.remaining(),
        1,
        "the hot key kept its state: 2 cells refilled, 1 spent"
    );
}

#[test]
fn a_full_class_sweeps_itself_and_tracks_new_keys_again() {
    let (limiter, clock) = limiter(10);
    for i in 0..10 {
        limiter.check_sync("api", &key(i), 1).unwrap();
    }
    assert_eq!(
        limiter.check_sync("api", &key(10), 1).unwrap().source(),
        DecisionSource::Overflow
    );
    clock.advance(Duration::from_secs(2));
    // This one still overflows, and sweeps (the earlier keys are idle after 0.6 s).
    assert_eq!(
        limiter.check_sync("api", &key(11), 1).unwrap().source(),
        DecisionSource::Overflow
    );
    assert_eq!(limiter.tracked_keys("api"), Some(0));
    assert_eq!(
        limiter.check_sync("api", &key(12), 1).unwrap().source(),
        DecisionSource::Limiter
    );
}

#[test]
fn concurrent_floods_never_pass_the_cap() {
    let (limiter, _clock) = limiter(1_000);
    std::thread::scope(|s| {
        for t in 0..4 {
            let limiter = limiter.clone();
            s.spawn(move || {
                for i in 0..5_000 {
                    limiter.check_sync("api", &key(t * 100_000 + i), 1).unwrap();
                }
            });
        }
    });
    assert_eq!(limiter.tracked_keys("api"), Some(1_000));
}

#[test]
fn very_long_keys_cost_no_more_than_short_ones() {
    let (limiter, _clock) = limiter(10);
    let long = RateLimitKey::principal(&"x".repeat(1 << 20));
    assert!(limiter.check_sync("api", &long, 1).unwrap().is_allowed());
    assert_eq!(limiter.tracked_keys("api"), Some(1));
}

#[tokio::test]
async fn the_evictor_task_empties_idle_classes_and_stops_with_the_limiter() {
    let classes = RateLimitConfig {
        classes: Default::default(),
    }
    .with_class("fast", ClassConfig::per_window(100, 1).with_burst(1))
    .build()
    .unwrap();
    let options = MemoryOptions {
        max_keys_per_class: 1_000,
        sweep_interval_secs: 1,
    };
    let limiter = MemoryRateLimiter::with_options(classes, options).unwrap();
    for i in 0..100 {
        limiter.check("fast", &key(i)).await.unwrap();
    }
    assert_eq!(limiter.tracked_keys("fast"), Some(100));
    let task = limiter.spawn_evictor().unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(limiter.tracked_keys("fast"), Some(0));
    drop(limiter);
    tokio::time::timeout(Duration::from_secs(3), task)
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn spawning_the_evictor_outside_a_runtime_is_an_error() {
    let (limiter, _clock) = limiter(10);
    assert!(limiter.spawn_evictor().is_err());
}
