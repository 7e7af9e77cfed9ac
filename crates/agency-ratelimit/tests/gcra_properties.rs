//! GCRA invariants of the memory limiter under a controllable clock:
//! no window ever lets more than `limit + burst` through, and a client that waits the advised
//! time is allowed (and not a nanosecond earlier, so the advice is exact, not padded).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use agency_ratelimit::{
    ClassConfig, MemoryOptions, MemoryRateLimiter, RateLimitConfig, RateLimitKey,
};
use governor::clock::FakeRelativeClock;
use proptest::prelude::*;

fn limiter(
    limit: u32,
    window_secs: u64,
    burst: u32,
) -> (MemoryRateLimiter<FakeRelativeClock>, FakeRelativeClock) {
    let classes = RateLimitConfig {
        classes: Default::default(),
    }
    .with_class(
        "c",
        ClassConfig::per_window(limit, window_secs).with_burst(burst),
    )
    .build()
    .unwrap();
    let clock = FakeRelativeClock::default();
    (
        MemoryRateLimiter::with_clock(classes, MemoryOptions::default(), clock.clone()).unwrap(),
        clock,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_window_allows_more_than_limit_plus_burst(
        limit in 1u32..20,
        window_secs in 1u64..120,
        burst in 1u32..30,
        gaps_ms in proptest::collection::vec(0u64..3_000, 1..300),
        costs in proptest::collection::vec(1u32..4, 300),
    ) {
        let (limiter, clock) = limiter(limit, window_secs, burst);
        let key = RateLimitKey::principal("p");
        let mut now_ms = 0u64;
        let mut allowed: Vec<(u64, u32)> = Vec::new();
        for (gap, cost) in gaps_ms.iter().zip(costs.iter()) {
            clock.advance(Duration::from_millis(*gap));
            now_ms += gap;
            let cost = (*cost).min(burst);
            let decision = limiter.check_sync("c", &key, cost).unwrap();
            if decision.is_allowed() {
                allowed.push((now_ms, cost));
            } else {
                prop_assert!(decision.retry_after().unwrap() > Duration::ZERO);
            }
            prop_assert!(decision.remaining() <= burst);
        }
        let window_ms = window_secs * 1000;
        for (i, (start, _)) in allowed.iter().enumerate() {
            let in_window: u64 = allowed[i..]
                .iter()
                .take_while(|(t, _)| *t < start + window_ms)
                .map(|(_, c)| u64::from(*c))
                .sum();
            prop_assert!(
                in_window <= u64::from(limit) + u64::from(burst),
                "{in_window} cells in one window > {limit} + {burst}"
            );
        }
    }

    #[test]
    fn waiting_the_advised_time_is_enough_and_necessary(
        limit in 1u32..50,
        window_secs in 1u64..600,
        burst in 1u32..10,
        cost in 1u32..10,
        gaps_ms in proptest::collection::vec(0u64..2_000, 0..40),
    ) {
        let cost = cost.min(burst);
        let (limiter, clock) = limiter(limit, window_secs, burst);
        let key = RateLimitKey::principal("p");
        for gap in gaps_ms {
            clock.advance(Duration::from_millis(gap));
            let _ = limiter.check_sync("c", &key, 1).unwrap();
        }
        // Drain the bucket, then ask for `cost`.
        while limiter.check_sync("c", &key, 1).unwrap().is_allowed() {}
        let refused = limiter.check_sync("c", &key, cost).unwrap();
        prop_assert!(!refused.is_allowed());
        let wait = refused.retry_after().unwrap();
        prop_assert!(refused.remaining() < cost);
        if wait > Duration::from_nanos(1) {
            clock.advance(wait - Duration::from_nanos(1));
            prop_assert!(!limiter.check_sync("c", &key, cost).unwrap().is_allowed(), "allowed before the advised time");
            clock.advance(Duration::from_nanos(1));
        } else {
            clock.advance(wait);
        }
        let after = limiter.check_sync("c", &key, cost).unwrap();
        prop_assert!(after.is_allowed(), "refused after waiting the advised {wait:?}");
    }

    #[test]
    fn waiting_the_retry_after_header_seconds_is_enough(
        limit in 1u32..50, window_secs in 1u64..600, burst in 1u32..10,
    ) {
        let (limiter, clock) = limiter(limit, window_secs, burst);
        let key = RateLimitKey::principal("p");
        while limiter.check_sync("c", &key, 1).unwrap().is_allowed() {}
        let refused = limiter.check_sync("c", &key, 1).unwrap();
        let secs = refused.retry_after_secs().unwrap();
        prop_assert!(secs >= 1);
        clock.advance(Duration::from_secs(secs));
        prop_assert!(limiter.check_sync("c", &key, 1).unwrap().is_allowed());
    }
}

#[test]
fn a_burst_at_one_instant_gets_exactly_the_burst() {
    let (limiter, _clock) = limiter(10, 60, 4);
    let key = RateLimitKey::principal("p");
    let remaining: Vec<_> = (0..6)
        .map(|_| limiter.check_sync("c", &key, 1).unwrap())
        .map(|d| (d.is_allowed(), d.remaining()))
        .collect();
    assert_eq!(
        remaining,
        vec![
            (true, 3),
            (true, 2),
            (true, 1),
            (true, 0),
            (false, 0),
            (false, 0)
        ]
    );
}

#[test]
fn reset_after_tracks_the_refill_time() {
    let (limiter, clock) = limiter(10, 60, 10);
    let key = RateLimitKey::principal("p");
    let first = limiter.check_sync("c", &key, 1).unwrap();
    assert_eq!(first.reset_after(), Duration::from_secs(6));
    for _ in 0..9 {
        limiter.check_sync("c", &key, 1).unwrap();
    }
    let refused = limiter.check_sync("c", &key, 1).unwrap();
    assert_eq!(refused.reset_after(), Duration::from_secs(60));
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(6)));
    clock.advance(Duration::from_secs(60));
    let fresh = limiter.check_sync("c", &key, 1).unwrap();
    assert_eq!(fresh.remaining(), 9);
}
