//! The memory limiter's bound: a flood of distinct keys never grows it past the cap, never gives a
//! tracked key capacity back, and cannot lock new clients out of a class (by default: replacing
//! near-fresh keys), or shares one quota among the keys it could not track (`SharedOverflow`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use agency_ratelimit::{
    AtCapacity, ClassConfig, ClassMemoryOptions, DecisionSource, MemoryOptions, MemoryRateLimiter,
    RateLimitConfig, RateLimitKey, RateLimiter,
};
use governor::clock::FakeRelativeClock;

const POLICIES: [AtCapacity; 2] = [AtCapacity::ReplaceNearFresh, AtCapacity::SharedOverflow];

/// The contract's classes, each capped at `max_keys` and behaving as `at_capacity` when full.
fn limiter_with(
    max_keys: usize,
    at_capacity: AtCapacity,
) -> (MemoryRateLimiter<FakeRelativeClock>, FakeRelativeClock) {
    let classes = RateLimitConfig::default().build().unwrap();
    let clock = FakeRelativeClock::default();
    let mut options = MemoryOptions {
        max_keys_per_class: max_keys,
        sweep_interval_secs: 1,
        ..MemoryOptions::default()
    };
    for class in classes.iter() {
        options = options.with_class(
            class.name(),
            ClassMemoryOptions {
                at_capacity,
                ..ClassMemoryOptions::default()
            },
        );
    }
    (
        MemoryRateLimiter::with_clock(classes, options, clock.clone()).unwrap(),
        clock,
    )
}

fn limiter(max_keys: usize) -> (MemoryRateLimiter<FakeRelativeClock>, FakeRelativeClock) {
    limiter_with(max_keys, AtCapacity::default())
}

fn key(i: usize) -> RateLimitKey {
    RateLimitKey::principal(&format!("user-{i}"))
}

#[test]
fn flood_of_new_keys_cannot_reset_a_hot_key() {
    for policy in POLICIES {
        let (limiter, _clock) = limiter_with(100, policy);
        let hot = RateLimitKey::ip("198.51.100.1".parse().unwrap());
        while limiter.check_sync("auth", &hot, 1).unwrap().is_allowed() {}
        for i in 0..10_000 {
            limiter.check_sync("auth", &key(i), 1).unwrap();
        }
        assert_eq!(limiter.tracked_keys("auth"), Some(100));
        let after = limiter.check_sync("auth", &hot, 1).unwrap();
        assert!(
            !after.is_allowed(),
            "{policy:?}: the hot key's exhausted bucket survived the flood"
        );
        assert_eq!(after.source(), DecisionSource::Limiter);
    }
}

/// The attack: made-up keys (random usernames for a per-account limit) fill the class, then keep
/// coming at 20 000 a second while 60 legitimate new clients arrive, one a second. With the
/// default every one of them gets its first request through, on its own bucket; the positive
/// control shows the same flood locking them out of a class that shares one overflow bucket.
#[test]
fn a_flood_of_made_up_keys_does_not_lock_new_clients_out() {
    let flood_key = |i: usize| RateLimitKey::account(&format!("random-{i:x}"));
    let run = |policy| {
        let (limiter, clock) = limiter_with(2_000, policy);
        let mut next = 0usize;
        let mut flood = |n: usize| {
            for _ in 0..n {
                limiter.check_sync("auth", &flood_key(next), 1).unwrap();
                next += 1;
            }
        };
        flood(200_000);
        let mut served = 0;
        for client in 0..60 {
            for _ in 0..20 {
                flood(1_000);
                clock.advance(Duration::from_millis(50));
            }
            let d = limiter
                .check_sync("auth", &RateLimitKey::account(&format!("real-{client}")), 1)
                .unwrap();
            served += u32::from(d.is_allowed());
            if policy == AtCapacity::ReplaceNearFresh {
                assert_eq!(d.source(), DecisionSource::Limiter);
                assert_eq!(d.remaining(), 9, "a bucket of its own");
            }
        }
        assert!(limiter.tracked_keys("auth").unwrap() <= 2_000);
        (served, limiter)
    };
    let (served, limiter) = run(AtCapacity::ReplaceNearFresh);
    assert_eq!(served, 60, "new clients were locked out by the flood");
    assert!(limiter.replaced_keys("auth").unwrap() > 1_000_000);
    let (served, _) = run(AtCapacity::SharedOverflow);
    assert!(
        served <= 15,
        "positive control: the shared bucket served {served} of 60"
    );
}

/// The attack on replacement itself: guess passwords for one account while flooding the class,
/// so the account's state keeps being replaced. Each replacement gives back at most the one
/// request the account had spent, and a key is replaced about once per cap new keys, so the
/// account gets at most its GCRA allowance (the burst plus one per emission interval) plus one
/// request per `max_keys` flood keys; an account that has spent more is never replaced.
#[test]
fn a_key_replaced_over_and_over_gains_at_most_one_request_per_cap_new_keys() {
    let max_keys = 1_000usize;
    let (limiter, clock) = limiter(max_keys);
    let target = RateLimitKey::account("victim");
    let (mut allowed, mut flood_keys) = (0u64, 0u64);
    for _ in 0..1_200 {
        // 120 s in steps of 100 ms, 150 made-up keys a step.
        allowed += u64::from(limiter.check_sync("auth", &target, 1).unwrap().is_allowed());
        for _ in 0..150 {
            let made_up = RateLimitKey::account(&format!("f{flood_keys}"));
            limiter.check_sync("auth", &made_up, 1).unwrap();
            flood_keys += 1;
        }
        clock.advance(Duration::from_millis(100));
    }
    // auth: 10 a minute, burst 10, so T = 6 s: 10 + 120 / 6 = 30 without a flood.
    let bound = 30 + flood_keys / u64::try_from(max_keys).unwrap();
    println!("{allowed} guesses in 120 s under a flood of {flood_keys} keys (bound {bound})");
    assert!(allowed <= bound, "{allowed} guesses in 120 s > {bound}");
    assert!(limiter.replaced_keys("auth").unwrap() > 100_000);

    // An account that has spent more than one request is never replaced, whatever the flood.
    let spent = RateLimitKey::account("spent");
    for _ in 0..2 {
        limiter.check_sync("auth", &spent, 1).unwrap();
    }
    for _ in 0..100_000 {
        let made_up = RateLimitKey::account(&format!("f{flood_keys}"));
        limiter.check_sync("auth", &made_up, 1).unwrap();
        flood_keys += 1;
    }
    assert_eq!(limiter.peek_sync("auth", &spent, 1).unwrap().remaining(), 7);
}

#[test]
fn keys_beyond_the_cap_share_one_overflow_quota() {
    let (limiter, _clock) = limiter_with(50, AtCapacity::SharedOverflow);
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
    let (limiter, clock) = limiter_with(10, AtCapacity::SharedOverflow);
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
    for policy in POLICIES {
        let (limiter, _clock) = limiter_with(1_000, policy);
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
        assert_eq!(limiter.tracked_keys("api"), Some(1_000), "{policy:?}");
    }
}

#[test]
fn peeking_never_tracks_a_key_nor_spends() {
    let (limiter, _clock) = limiter(10);
    for i in 0..1_000 {
        assert!(limiter.peek_sync("auth", &key(i), 1).unwrap().is_allowed());
    }
    assert_eq!(limiter.tracked_keys("auth"), Some(0));
    let k = key(0);
    while limiter.check_sync("auth", &k, 1).unwrap().is_allowed() {}
    let peeked = limiter.peek_sync("auth", &k, 1).unwrap();
    assert!(!peeked.is_allowed());
    assert_eq!(peeked, limiter.check_sync("auth", &k, 1).unwrap());
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
        ..MemoryOptions::default()
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
