//! The live policy under concurrent checks: swaps are atomic and never block readers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use agency_rbac::{Actor, LivePolicy, Policy, Resource};

/// In `full`, role `worker` holds both permissions; in `empty`, neither. A check that mixed
/// the two policies would see one permission without the other.
fn full() -> Policy {
    Policy::from_toml("[roles.worker]\npermissions = [\"jobs:read\", \"jobs:write\"]\n").unwrap()
}

fn empty() -> Policy {
    Policy::from_toml("permissions = [\"jobs:read\", \"jobs:write\"]\n[roles.worker]\n").unwrap()
}

#[test]
fn readers_always_see_one_whole_policy_while_it_is_swapped() {
    let live = Arc::new(LivePolicy::new(full()));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (live, stop, seen) = (live.clone(), stop.clone(), seen.clone());
            thread::spawn(move || {
                let who = Actor::new("u1", "acme", "worker");
                let here = Resource::in_tenant("acme");
                while !stop.load(Ordering::Relaxed) {
                    let policy = live.load();
                    let read = policy.check(&who, "jobs:read", here).is_allowed();
                    let write = policy.check(&who, "jobs:write", here).is_allowed();
                    assert_eq!(read, write, "a check saw half of a policy");
                    seen[usize::from(read)].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for i in 0..2_000 {
        live.replace(if i % 2 == 0 { empty() } else { full() });
        if i % 100 == 0 {
            thread::yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(seen[0].load(Ordering::Relaxed) + seen[1].load(Ordering::Relaxed) > 0);
}

#[test]
fn replacing_does_not_wait_for_a_held_snapshot() {
    let live = LivePolicy::new(full());
    let held = live.load();
    // The replacement completes while `held` is alive (on one thread: a blocking swap would
    // deadlock here).
    live.replace(empty());
    let who = Actor::new("u1", "acme", "worker");
    assert!(
        held.check(&who, "jobs:read", Resource::in_tenant("acme"))
            .is_allowed()
    );
    assert!(!live.is_allowed(&who, "jobs:read", Resource::in_tenant("acme")));
}

#[test]
fn a_bad_document_leaves_the_current_policy_in_place() {
    let live = LivePolicy::new(full());
    let who = Actor::new("u1", "acme", "worker");
    for bad in [
        "[roles.worker]\ninherits = [\"worker\"]\n",
        "[roles.worker]\npermissions = [\"jobs\"]\n",
        "{",
    ] {
        assert!(live.replace_from_toml(bad).is_err());
        assert!(live.replace_from_json(bad).is_err());
        assert!(live.is_allowed(&who, "jobs:read", Resource::in_tenant("acme")));
    }
}
