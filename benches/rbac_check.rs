//! Question: how fast is `agency_rbac::Policy::check`, and does it stay flat as the policy grows?
//!
//! Baseline, in the same run: casbin-rs's `CachedEnforcer` on the equivalent RBAC-with-domains
//! model (`g = _, _, _`, matcher `g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj &&
//! r.act == p.act`), loaded with the same roles, inheritance edges and grants (a domain is a
//! tenant, `obj`/`act` are the two halves of `resource:action`). Every request of the bench is
//! first checked to get the same answer from both engines. Each iteration cycles through a
//! fixed mix of allowed and denied requests small enough to stay in casbin's cache (its best
//! case).
//!
//! Policies: the swarm preset (4 roles, 13 permissions); a generated policy of 50 roles in 10
//! tiers of 5 (each inheriting two roles of the tier below) granting 500 permissions (10 each);
//! and, for agency-rbac alone, 500 roles and 4,000 permissions, to show the cost stays flat.
//!
//! "Allocates nothing" is proven by `crates/agency-rbac/tests/no_allocation.rs`, which counts
//! allocations with a global allocator (this package has no counting allocator dependency, and
//! writing one needs `unsafe`, which the workspace forbids).
//!
//! Run: `nice -n -10 cargo bench -p agency-benches --bench rbac_check`.
// Setup failures in a benchmark should abort it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use agency_rbac::{Actor, Policy, PolicyBuilder, Resource, presets};
use casbin::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};

const TENANT: &str = "acme";

/// Every request mix has 8 requests; iterations cycle through them with a mask (a division by
/// the length would cost more than the check being measured).
const MASK: usize = 7;

const MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
"#;

/// One request: a user holding `role` asks for `permission` in its own tenant.
struct Request {
    user: String,
    role: String,
    permission: String,
    /// `permission` split into casbin's `obj` and `act`, once, outside the timed loop (as a
    /// casbin caller keeping them apart would have them), so casbin is not charged for it.
    obj: String,
    act: String,
}

impl Request {
    fn new(role: &str, permission: &str) -> Self {
        let (obj, act) = permission.split_once(':').unwrap();
        Self {
            user: format!("user-{role}"),
            role: role.to_owned(),
            permission: permission.to_owned(),
            obj: obj.to_owned(),
            act: act.to_owned(),
        }
    }

    fn actor(&self) -> Actor {
        Actor::new(self.user.clone(), TENANT, self.role.clone())
    }

    fn casbin_args(&self) -> (&str, &str, &str, &str) {
        (&self.user, TENANT, &self.obj, &self.act)
    }
}

/// `tiers` tiers of `width` roles; a role inherits roles `k` and `k + 1` (mod width) of the tier
/// below; every role grants `per_role` permissions of its own.
fn tiered(tiers: usize, width: usize, per_role: usize) -> Policy {
    let mut builder = PolicyBuilder::new();
    for t in 0..tiers {
        for k in 0..width {
            builder = builder.role(format!("t{t}r{k}"), |mut role| {
                if t > 0 {
                    role = role.inherits(format!("t{}r{k}", t - 1)).inherits(format!(
                        "t{}r{}",
                        t - 1,
                        (k + 1) % width
                    ));
                }
                for p in 0..per_role {
                    role = role.grant(format!("res-t{t}r{k}:act{p}"));
                }
                role
            });
        }
    }
    builder.build().unwrap()
}

/// The same policy as casbin rows: `p` for each direct grant, `g` for each inheritance edge and
/// for each benchmark user's role.
fn casbin_enforcer(
    runtime: &tokio::runtime::Runtime,
    policy: &Policy,
    requests: &[Request],
) -> CachedEnforcer {
    runtime.block_on(async {
        let model = DefaultModel::from_str(MODEL).await.unwrap();
        let mut enforcer = CachedEnforcer::new(model, MemoryAdapter::default())
            .await
            .unwrap();
        let mut p_rules = Vec::new();
        let mut g_rules = Vec::new();
        for (name, role) in &policy.spec().roles {
            for permission in &role.permissions {
                let (obj, act) = permission.split_once(':').unwrap();
                p_rules.push(vec![
                    name.clone(),
                    TENANT.to_owned(),
                    obj.to_owned(),
                    act.to_owned(),
                ]);
            }
            for parent in &role.inherits {
                g_rules.push(vec![name.clone(), parent.clone(), TENANT.to_owned()]);
            }
        }
        for r in requests {
            g_rules.push(vec![r.user.clone(), r.role.clone(), TENANT.to_owned()]);
        }
        g_rules.sort();
        g_rules.dedup();
        enforcer.add_policies(p_rules).await.unwrap();
        enforcer.add_grouping_policies(g_rules).await.unwrap();
        enforcer
    })
}

/// Checks that both engines agree on every request (so the comparison is like for like).
fn assert_equivalent(
    policy: &Policy,
    enforcer: &CachedEnforcer,
    requests: &[Request],
) -> (usize, usize) {
    let mut allowed = 0;
    for r in requests {
        let ours = policy
            .check(&r.actor(), &r.permission, Resource::in_tenant(TENANT))
            .is_allowed();
        let theirs = enforcer.enforce(r.casbin_args()).unwrap();
        assert_eq!(
            ours, theirs,
            "engines disagree on {} / {}",
            r.role, r.permission
        );
        allowed += usize::from(ours);
    }
    (allowed, requests.len() - allowed)
}

fn swarm_requests() -> Vec<Request> {
    vec![
        Request::new("viewer", "agents:read"),
        Request::new("viewer", "agents:delete"),
        Request::new("operator", "tasks:dispatch"),
        Request::new("operator", "users:manage"),
        Request::new("admin", "audit:export"),
        Request::new("admin", "tasks:read"),
        Request::new("super_admin", "agents:read"),
        Request::new("super_admin", "config:write"),
    ]
}

fn tiered_requests(tiers: usize) -> Vec<Request> {
    let top = tiers - 1;
    let mid = tiers / 2;
    vec![
        Request::new(&format!("t{top}r0"), "res-t0r0:act0"), // inherited from the bottom tier
        Request::new(&format!("t{top}r3"), "res-t0r4:act9"),
        Request::new(&format!("t{top}r1"), &format!("res-t{top}r1:act5")), // direct
        Request::new(&format!("t{mid}r2"), &format!("res-t{mid}r3:act1")),
        Request::new("t0r0", &format!("res-t{top}r0:act0")), // denied: above the role
        Request::new(&format!("t{mid}r0"), &format!("res-t{top}r4:act3")), // denied
        Request::new(&format!("t{top}r2"), "res-t0r1:act7"),
        Request::new("t1r1", "res-t0r2:act2"),
    ]
}

fn bench_pair(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    policy: &Policy,
    requests: &[Request],
) {
    assert_eq!(requests.len(), MASK + 1);
    let enforcer = casbin_enforcer(runtime, policy, requests);
    let (allowed, denied) = assert_equivalent(policy, &enforcer, requests);
    eprintln!(
        "{name}: {} requests ({allowed} allowed, {denied} denied), engines agree",
        requests.len()
    );
    let actors: Vec<Actor> = requests.iter().map(Request::actor).collect();
    let resource = Resource::in_tenant(TENANT);

    let mut group = c.benchmark_group(format!("rbac_check/{name}"));
    group.bench_function("agency_rbac", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & MASK;
            black_box(
                policy
                    .check(
                        black_box(&actors[i]),
                        black_box(&requests[i].permission),
                        resource,
                    )
                    .is_allowed(),
            )
        });
    });
    group.bench_function("casbin_cached_enforcer", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & MASK;
            black_box(
                enforcer
                    .enforce(black_box(requests[i].casbin_args()))
                    .unwrap(),
            )
        });
    });
    group.finish();
}

fn rbac_check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let swarm = presets::swarm();
    bench_pair(
        c,
        &runtime,
        "swarm_4_roles_13_permissions",
        &swarm,
        &swarm_requests(),
    );

    let generated = tiered(10, 5, 10);
    assert_eq!(
        (generated.roles().count(), generated.permissions().count()),
        (50, 500)
    );
    bench_pair(
        c,
        &runtime,
        "generated_50_roles_500_permissions",
        &generated,
        &tiered_requests(10),
    );

    // Flatness: a policy at the loader's limits, agency-rbac only.
    let large = tiered(100, 5, 8);
    assert_eq!(
        (large.roles().count(), large.permissions().count()),
        (500, 4000)
    );
    let requests = tiered_requests(100);
    assert_eq!(requests.len(), MASK + 1);
    let actors: Vec<Actor> = requests.iter().map(Request::actor).collect();
    let resource = Resource::in_tenant(TENANT);
    let mut group = c.benchmark_group("rbac_check/generated_500_roles_4000_permissions");
    group.bench_function("agency_rbac", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & MASK;
            black_box(
                large
                    .check(
                        black_box(&actors[i]),
                        black_box(&requests[i].permission),
                        resource,
                    )
                    .is_allowed(),
            )
        });
    });
    group.finish();

    // Through the live (swappable) handle: one snapshot load per check.
    let live = agency_rbac::LivePolicy::new(presets::swarm());
    let requests = swarm_requests();
    assert_eq!(requests.len(), MASK + 1);
    let actors: Vec<Actor> = requests.iter().map(Request::actor).collect();
    let mut group = c.benchmark_group("rbac_check/swarm_live_policy");
    group.bench_function("agency_rbac_live", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & MASK;
            black_box(live.is_allowed(
                black_box(&actors[i]),
                black_box(&requests[i].permission),
                Resource::in_tenant(TENANT),
            ))
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = rbac_check
}
criterion_main!(benches);
