//! GCRA invariants of the memory limiter under a controllable clock:
//! no window ever lets more than `limit + burst` through, and a client that waits the advised
//! time is allowed (and not a nanosecond earlier, so the advice is exact, not padded); a peek
//! changes no later decision; a full class that replaces near-fresh keys never frees a key that
//! has spent more than one request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use agency_ratelimit::{
    ClassConfig, Decision, MemoryOptions, MemoryRateLimiter, RateLimitConfig, RateLimitKey,
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

/// One step of a workload: advance the clock, then check or peek one of a few keys.
#[derive(Debug, Clone)]
struct Step {
    gap_ms: u64,
    key: u8,
    cost: u32,
    peek: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (0u64..2_000, 0u8..4, 1u32..4, any::<bool>()).prop_map(|(gap_ms, key, cost, peek)| Step {
            gap_ms,
            key,
            cost,
            peek,
        }),
        1..200,
    )
}

/// The decisions of the checks (not the peeks) of `steps`, with or without the peeks.
fn check_decisions(limit: u32, burst: u32, steps: &[Step], with_peeks: bool) -> Vec<Decision> {
    let (limiter, clock) = limiter(limit, 60, burst);
    let mut decisions = Vec::new();
    for step in steps {
        clock.advance(Duration::from_millis(step.gap_ms));
        let key = RateLimitKey::principal(&step.key.to_string());
        let cost = step.cost.min(burst);
        if step.peek {
            if with_peeks {
                let _ = limiter.peek_sync("c", &key, cost).unwrap();
            }
        } else {
            decisions.push(limiter.check_sync("c", &key, cost).unwrap());
        }
    }
    decisions
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_peek_changes_no_later_decision(
        limit in 1u32..20, burst in 1u32..10, steps in steps(),
    ) {
        prop_assert_eq!(
            check_decisions(limit, burst, &steps, true),
            check_decisions(limit, burst, &steps, false)
        );
    }

    #[test]
    fn a_peek_answers_what_the_check_then_decides(
        limit in 1u32..20, burst in 1u32..10, steps in steps(),
    ) {
        let (limiter, clock) = limiter(limit, 60, burst);
        for step in steps {
            clock.advance(Duration::from_millis(step.gap_ms));
            let key = RateLimitKey::principal(&step.key.to_string());
            let cost = step.cost.min(burst);
            let peeked = limiter.peek_sync("c", &key, cost).unwrap();
            prop_assert_eq!(peeked, limiter.check_sync("c", &key, cost).unwrap());
        }
    }

    /// Under a flood of new keys into a class capped at 8, a key that has spent two requests or
    /// more (or is refused) is never replaced: what a peek says about it is the same before and
    /// after the flood. A key that has spent one request may be replaced, and gains at most that
    /// one request back.
    #[test]
    fn replacement_never_frees_a_key_that_spent_more_than_one_request(
        limit in 1u32..20,
        burst in 2u32..10,
        gaps_ms in proptest::collection::vec(0u64..3_000, 1..60),
        flood_per_step in 1usize..40,
    ) {
        let classes = RateLimitConfig { classes: Default::default() }
            .with_class("c", ClassConfig::per_window(limit, 60).with_burst(burst))
            .build()
            .unwrap();
        let clock = FakeRelativeClock::default();
        let options = MemoryOptions { max_keys_per_class: 8, ..MemoryOptions::default() };
        let limiter = MemoryRateLimiter::with_clock(classes, options, clock.clone()).unwrap();
        let key = RateLimitKey::principal("spender");
        let mut flood = 0usize;
        for gap in gaps_ms {
            clock.advance(Duration::from_millis(gap));
            let spent = limiter.check_sync("c", &key, 1).unwrap();
            let before = limiter.peek_sync("c", &key, 1).unwrap();
            // The flood happens at one instant: nothing refills meanwhile.
            for _ in 0..flood_per_step {
                limiter.check_sync("c", &RateLimitKey::principal(&format!("f{flood}")), 1).unwrap();
                flood += 1;
            }
            let after = limiter.peek_sync("c", &key, 1).unwrap();
            if !spent.is_allowed() || spent.remaining() + 2 <= burst {
                prop_assert_eq!(after, before);
            } else {
                prop_assert!(after.remaining() <= before.remaining() + 1);
                prop_assert!(after.is_allowed() || !before.is_allowed());
            }
        }
    }

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
