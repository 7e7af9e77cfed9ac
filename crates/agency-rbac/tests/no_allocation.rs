//! A check allocates nothing: measured with a counting global allocator.
//!
//! This binary has no test harness (`harness = false` in Cargo.toml) so that nothing else runs
//! while the counter is read: the allocator is global to the process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::alloc::System;

use agency_rbac::{Actor, Decision, LivePolicy, Policy, PolicyBuilder, Resource, presets};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// 50 roles in a chain, each granting 10 permissions of its own: 500 permissions.
fn generated() -> Policy {
    let mut builder = PolicyBuilder::new();
    for r in 0..50 {
        builder = builder.role(format!("role{r}"), |mut role| {
            if r > 0 {
                role = role.inherits(format!("role{}", r - 1));
            }
            for p in 0..10 {
                role = role.grant(format!("res{r}:act{p}"));
            }
            role
        });
    }
    builder.build().unwrap()
}

struct Case {
    policy: &'static str,
    subject: Actor,
    permission: &'static str,
    resource: Resource<'static>,
    allowed: bool,
}

fn cases() -> Vec<Case> {
    let case = |policy, subject, permission, resource, allowed| Case {
        policy,
        subject,
        permission,
        resource,
        allowed,
    };
    let acme = Resource::in_tenant("acme");
    vec![
        case(
            "swarm",
            Actor::new("u1", "acme", "viewer"),
            "agents:read",
            acme,
            true,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "viewer"),
            "agents:delete",
            acme,
            false,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "admin"),
            "audit:export",
            acme,
            true,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "admin"),
            "agents:read",
            Resource::in_tenant("globex"),
            false,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "super_admin"),
            "agents:read",
            Resource::in_tenant("globex"),
            true,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "operator"),
            "keys:manage",
            acme.owned_by("u1"),
            true,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "operator"),
            "keys:manage",
            acme.owned_by("u2"),
            false,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "ghost"),
            "agents:read",
            acme,
            false,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "admin"),
            "agents:fly",
            acme,
            false,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "admin").with_scopes(["agents:read"]),
            "agents:read",
            acme,
            true,
        ),
        case(
            "swarm",
            Actor::new("u1", "acme", "admin").with_scopes(["agents:read"]),
            "agents:delete",
            acme,
            false,
        ),
        case(
            "generated",
            Actor::new("u1", "acme", "role49"),
            "res0:act0",
            acme,
            true,
        ),
        case(
            "generated",
            Actor::new("u1", "acme", "role49"),
            "res49:act9",
            acme,
            true,
        ),
        case(
            "generated",
            Actor::new("u1", "acme", "role0"),
            "res49:act9",
            acme,
            false,
        ),
        case(
            "generated",
            Actor::new("u1", "acme", "role25"),
            "res10:act5",
            Resource::global(),
            true,
        ),
    ]
}

fn main() {
    let swarm = presets::swarm();
    let generated = generated();
    let live = LivePolicy::new(presets::swarm());
    let cases = cases();
    let policy_of = |c: &Case| {
        if c.policy == "swarm" {
            &swarm
        } else {
            &generated
        }
    };

    // Warm up: first use of thread-locals (arc-swap's debt list) may allocate once.
    for c in &cases {
        let _ = policy_of(c).check(&c.subject, c.permission, c.resource);
        let _ = live.is_allowed(&c.subject, c.permission, c.resource);
    }

    // The counter works: a deliberate allocation is seen.
    let probe = Region::new(GLOBAL);
    let boxed = std::hint::black_box(Box::new(42u64));
    assert!(
        probe.change().allocations >= 1,
        "the counting allocator is not installed"
    );
    drop(boxed);

    let five = presets::five_level();
    let ranked = PolicyBuilder::new()
        .role("lead", |r| {
            r.level(60).grant("deals:read").grant_own("deals:write")
        })
        .role("trainee", |r| r.level(10).grant("deals:read"))
        .build()
        .unwrap();
    let region = Region::new(GLOBAL);
    let mut allowed = 0usize;
    for _ in 0..1_000 {
        for c in &cases {
            let decision = policy_of(c).check(&c.subject, c.permission, c.resource);
            assert_eq!(decision.is_allowed(), c.allowed, "{}", c.permission);
            if let Decision::Allow(grant) = decision {
                allowed += grant.granted_by.len();
            }
            let _ = decision.outcome();
            if c.allowed {
                policy_of(c)
                    .require(&c.subject, c.permission, c.resource)
                    .unwrap();
            }
            assert_eq!(
                live.is_allowed(&c.subject, c.permission, c.resource),
                c.policy == "swarm" && c.allowed
            );
            let _ = live
                .load()
                .check(&c.subject, c.permission, c.resource)
                .deny_reason();
        }
        let _ = swarm
            .acting_tenant(&cases[4].subject, Some("globex"))
            .unwrap();
        assert!(swarm.may_assign("admin", "operator"));
        // Level path of the guard (rule 3) as well as the inheritance path.
        assert!(five.may_assign("admin", "readonly"));
        assert!(!five.may_assign("user", "manager"));
        assert!(ranked.may_assign("lead", "trainee"));
    }
    let stats = region.change();
    assert!(allowed > 0);
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "checks allocated: {stats:?}"
    );
    println!(
        "no_allocation: {} checks, {} allocations",
        1_000 * cases.len() * 3,
        stats.allocations
    );
    println!("1 passed, 0 failed");
}
