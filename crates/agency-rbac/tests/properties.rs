//! Property tests of the policy's invariants, on randomly generated policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use agency_rbac::{
    Actor, Condition, DenyReason, Outcome, Policy, PolicySpec, Resource, RoleSpec, Scopes, Subject,
    presets, validate_permission,
};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

/// The permissions random policies draw from.
const POOL: [&str; 10] = [
    "agents:read",
    "agents:write",
    "tasks:read",
    "tasks:dispatch",
    "keys:manage",
    "users:read",
    "users:manage",
    "audit:read",
    "config:write",
    "billing.invoices:export",
];
const TENANTS: [&str; 3] = ["acme", "globex", "initech"];
const USERS: [&str; 3] = ["u1", "u2", "u3"];

/// A random valid policy: roles `r0..rn`, each inheriting only from lower-numbered roles (so
/// the graph is acyclic), with optional levels kept consistent with inheritance.
fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (1usize..8).prop_flat_map(|n| {
        let role = (
            proptest::option::of(0u32..6),
            btree_set(0usize..8, 0..3),
            btree_set(0usize..POOL.len(), 0..5),
            btree_set(0usize..POOL.len(), 0..3),
            proptest::bool::weighted(0.2),
        );
        (vec(role, n), btree_set(0usize..POOL.len(), 0..3)).prop_map(move |(roles, declared)| {
            let mut spec = PolicySpec {
                permissions: declared.into_iter().map(|i| POOL[i].to_owned()).collect(),
                roles: BTreeMap::new(),
            };
            let levels: Vec<Option<u32>> = roles.iter().map(|r| r.0.map(|l| l * 10)).collect();
            // Highest level among a role and everything it inherits, to keep levels consistent
            // with inheritance transitively (the loader refuses anything else).
            let mut max_level: Vec<Option<u32>> = Vec::new();
            for (i, (_, parents, any, own, cross)) in roles.into_iter().enumerate() {
                let parents: Vec<usize> = parents
                    .into_iter()
                    .filter(|&p| p < i)
                    .filter(|&p| match (levels[i], max_level[p]) {
                        (Some(mine), Some(theirs)) => mine > theirs,
                        _ => true,
                    })
                    .collect();
                max_level.push(
                    parents
                        .iter()
                        .map(|&p| max_level[p])
                        .fold(levels[i], Option::max),
                );
                let inherits = parents.iter().map(|p| format!("r{p}")).collect();
                let own = own
                    .into_iter()
                    .filter(|p| !any.contains(p))
                    .map(|p| POOL[p].to_owned())
                    .collect();
                let role = RoleSpec {
                    level: levels[i],
                    inherits,
                    permissions: any.into_iter().map(|p| POOL[p].to_owned()).collect(),
                    own_permissions: own,
                    cross_tenant: cross,
                };
                spec.roles.insert(format!("r{i}"), role);
            }
            spec
        })
    })
}

fn role_names(policy: &Policy) -> Vec<String> {
    policy.roles().map(|r| r.name().to_owned()).collect()
}

fn strength(c: Option<Condition>) -> u8 {
    match c {
        None => 0,
        Some(Condition::OwnerOnly) => 1,
        Some(Condition::Always) => 2,
    }
}

/// A random request against a policy: who (any role of the policy or an unknown one), where,
/// which permission (from the pool or not), on what.
#[derive(Debug, Clone)]
struct Request {
    role: usize,
    tenant: usize,
    resource_tenant: Option<usize>,
    user: usize,
    owner: Option<usize>,
    permission: usize,
    scopes: Option<Vec<usize>>,
}

fn request() -> impl Strategy<Value = Request> {
    (
        0usize..9,
        0usize..3,
        proptest::option::of(0usize..3),
        0usize..3,
        proptest::option::of(0usize..3),
        0usize..POOL.len(),
        proptest::option::of(vec(0usize..POOL.len(), 0..4)),
    )
        .prop_map(
            |(role, tenant, resource_tenant, user, owner, permission, scopes)| Request {
                role,
                tenant,
                resource_tenant,
                user,
                owner,
                permission,
                scopes,
            },
        )
}

fn subject(roles: &[String], r: &Request) -> Actor {
    let role = roles
        .get(r.role)
        .cloned()
        .unwrap_or_else(|| "ghost".to_owned());
    let actor = Actor::new(USERS[r.user], TENANTS[r.tenant], role);
    match &r.scopes {
        Some(list) => actor.with_scopes(list.iter().map(|&i| POOL[i])),
        None => actor,
    }
}

fn resource(r: &Request) -> Resource<'static> {
    let base = match r.resource_tenant {
        Some(t) => Resource::in_tenant(TENANTS[t]),
        None => Resource::global(),
    };
    match r.owner {
        Some(o) => base.owned_by(USERS[o]),
        None => base,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A higher role always holds every permission of each lower role, at least as strongly,
    /// and every decision allowed to the lower role is allowed to the higher one.
    #[test]
    fn higher_role_holds_every_permission_of_lower_roles(spec in policy_spec(), reqs in vec(request(), 1..8)) {
        let policy = spec.compile().unwrap();
        let names = role_names(&policy);
        for high in policy.roles() {
            for low in policy.roles() {
                if !high.inherits_from(low.name()) {
                    continue;
                }
                for p in POOL {
                    prop_assert!(strength(high.holds(p)) >= strength(low.holds(p)), "{} vs {} on {}", high.name(), low.name(), p);
                }
                prop_assert!(!low.cross_tenant() || high.cross_tenant());
                for r in &reqs {
                    let low_subject = subject(&names, r);
                    let low_subject = Actor::new(low_subject.user_id(), low_subject.tenant_id(), low.name());
                    let high_subject = Actor::new(low_subject.user_id(), low_subject.tenant_id(), high.name());
                    let res = resource(r);
                    if policy.check(&low_subject, POOL[r.permission], res).is_allowed() {
                        prop_assert!(policy.check(&high_subject, POOL[r.permission], res).is_allowed());
                    }
                }
            }
        }
    }

    /// An unknown permission is always denied, whoever asks and wherever.
    #[test]
    fn unknown_permission_is_always_denied(spec in policy_spec(), r in request(), permission in "\\PC{0,40}") {
        let policy = spec.compile().unwrap();
        prop_assume!(!policy.has_permission(&permission));
        let names = role_names(&policy);
        let mut r = r;
        r.scopes = None;
        for role in 0..=names.len() {
            r.role = role;
            let who = subject(&names, &r);
            let d = policy.check(&who, &permission, resource(&r));
            prop_assert!(!d.is_allowed());
            prop_assert!(matches!(d.deny_reason(), Some(DenyReason::UnknownPermission | DenyReason::UnknownRole)));
        }
        // The same for well-formed names that the policy does not define.
        let well_formed = format!("zz{}:read", permission.len());
        let who = subject(&names, &r);
        prop_assert!(!policy.check(&who, &well_formed, resource(&r)).is_allowed());
    }

    /// No subject without the cross-tenant grant is ever allowed on another tenant's resource;
    /// and a subject with it is allowed there only on an unscoped credential. A foreign
    /// resource denied for its tenant answers "not found".
    #[test]
    fn no_cross_tenant_access_without_the_grant(spec in policy_spec(), r in request()) {
        let policy = spec.compile().unwrap();
        let names = role_names(&policy);
        let who = subject(&names, &r);
        let res = resource(&r);
        let foreign = res.tenant().is_some_and(|t| t != who.tenant_id());
        let d = policy.check(&who, POOL[r.permission], res);
        if foreign {
            let granted = policy.role(who.role()).is_some_and(|role| role.cross_tenant());
            if d.is_allowed() {
                prop_assert!(granted && !who.scopes().is_limited());
            }
            if !granted {
                prop_assert!(!d.is_allowed());
                if d.deny_reason() == Some(DenyReason::WrongTenant) {
                    prop_assert_eq!(d.outcome(), Outcome::NotFound);
                }
            }
            // The tenant override: only the grant holder on an unscoped credential may switch.
            let switched = policy.acting_tenant(&who, res.tenant());
            prop_assert_eq!(switched.is_ok(), granted && !who.scopes().is_limited());
            if let Err(e) = switched {
                prop_assert_eq!(e.outcome(), Outcome::Forbidden);
            }
        }
    }

    /// A scoped credential never gives a role holding anything outside its effective
    /// permissions, nor the cross-tenant grant; and a key it may mint never has a scope it does
    /// not effectively hold.
    #[test]
    fn scoped_credential_never_gives_more_than_it_holds(
        spec in policy_spec(),
        scopes in vec(0usize..POOL.len(), 0..6),
        wanted in vec(0usize..POOL.len(), 0..4),
    ) {
        let policy = spec.compile().unwrap();
        for actor in policy.roles() {
            let key = Actor::new("a", "t", actor.name()).with_scopes(scopes.iter().map(|&i| POOL[i]));
            let effective: Vec<&str> = policy.effective_permissions(&key).collect();
            for target in policy.roles() {
                if policy.check_assignment(&key, target.name()).is_ok() {
                    prop_assert!(!target.cross_tenant());
                    for (p, _) in target.permissions() {
                        prop_assert!(effective.contains(&p), "{} gave {} holding {}", actor.name(), target.name(), p);
                    }
                    // Positive control: the scope bound only narrows the role guard.
                    prop_assert!(policy.may_assign(actor.name(), target.name()));
                }
            }
            let wanted: Vec<String> = wanted.iter().map(|&i| POOL[i].to_owned()).collect();
            let allowed = policy.scopes_within(&key, Scopes::Only(&wanted)).is_ok();
            prop_assert_eq!(allowed, wanted.iter().all(|w| effective.contains(&w.as_str())));
            prop_assert!(policy.scopes_within(&key, Scopes::Unrestricted).is_err());
        }
    }

    /// The assignment guard never lets anyone give a role above their own: whatever the target
    /// role may do, the actor's role may do too, and it never ranks higher.
    #[test]
    fn assignment_guard_never_grants_above_own_role(spec in policy_spec(), reqs in vec(request(), 1..6)) {
        let policy = spec.compile().unwrap();
        for actor in policy.roles() {
            for target in policy.roles() {
                if !policy.may_assign(actor.name(), target.name()) {
                    prop_assert!(policy.check_assignment(&Actor::new("a", "t", actor.name()), target.name()).is_err());
                    continue;
                }
                for p in POOL {
                    prop_assert!(strength(actor.holds(p)) >= strength(target.holds(p)), "{} may give {} ({})", actor.name(), target.name(), p);
                }
                prop_assert!(!target.cross_tenant() || actor.cross_tenant());
                if let (Some(a), Some(t)) = (actor.level(), target.level()) {
                    prop_assert!(t <= a);
                    if t == a {
                        prop_assert_eq!(actor.name(), target.name(), "equal-level peer assigned");
                    }
                }
                for r in &reqs {
                    let base = subject(&[], r);
                    let as_target = Actor::new(base.user_id(), base.tenant_id(), target.name());
                    let as_actor = Actor::new(base.user_id(), base.tenant_id(), actor.name());
                    let res = resource(r);
                    if policy.check(&as_target, POOL[r.permission], res).is_allowed() {
                        prop_assert!(policy.check(&as_actor, POOL[r.permission], res).is_allowed());
                    }
                }
            }
        }
    }

    /// Any policy that loads round-trips through TOML and JSON unchanged.
    #[test]
    fn policy_round_trips_through_its_serialised_form(spec in policy_spec()) {
        let policy = spec.compile().unwrap();
        let toml = policy.to_toml().unwrap();
        let from_toml = Policy::from_toml(&toml).unwrap();
        prop_assert_eq!(&from_toml, &policy);
        prop_assert_eq!(from_toml.to_toml().unwrap(), toml);
        let json = policy.to_json().unwrap();
        let from_json = Policy::from_json(&json).unwrap();
        prop_assert_eq!(&from_json, &policy);
        prop_assert_eq!(from_json.to_json().unwrap(), json);
        // And the compiled behaviour is the same, role by role.
        for role in policy.roles() {
            let reloaded = from_toml.role(role.name()).unwrap();
            prop_assert_eq!(reloaded.permissions().collect::<Vec<_>>(), role.permissions().collect::<Vec<_>>());
            prop_assert_eq!(reloaded.level(), role.level());
            prop_assert_eq!(reloaded.cross_tenant(), role.cross_tenant());
        }
    }

    /// A scoped credential never does more than its owner's role, nor more than its scopes.
    #[test]
    fn scoped_credential_is_the_intersection(spec in policy_spec(), r in request(), scopes in vec(0usize..POOL.len(), 0..5)) {
        let policy = spec.compile().unwrap();
        let names = role_names(&policy);
        let mut r = r;
        r.scopes = None;
        let owner = subject(&names, &r);
        r.scopes = Some(scopes.clone());
        let key = subject(&names, &r);
        let res = resource(&r);
        let permission = POOL[r.permission];
        if policy.check(&key, permission, res).is_allowed() {
            prop_assert!(scopes.iter().any(|&s| POOL[s] == permission));
            prop_assert!(policy.check(&owner, permission, res).is_allowed());
        }
        let effective: Vec<&str> = policy.effective_permissions(&key).collect();
        for p in &effective {
            prop_assert!(scopes.iter().any(|&s| POOL[s] == *p));
            prop_assert!(policy.role_holds(owner.role(), p));
        }
    }

    /// Random levels and inheritance either load consistently or are refused as inverted.
    #[test]
    fn levels_always_agree_with_inheritance(levels in vec(proptest::option::of(0u32..4), 1..7), edges in vec((0usize..7, 0usize..7), 0..10)) {
        let mut spec = PolicySpec::default();
        for (i, level) in levels.iter().enumerate() {
            spec.roles.insert(format!("r{i}"), RoleSpec { level: *level, ..RoleSpec::default() });
        }
        for (child, parent) in edges {
            if parent < child && child < levels.len() {
                spec.roles.get_mut(&format!("r{child}")).unwrap().inherits.push(format!("r{parent}"));
            }
        }
        match spec.compile() {
            Ok(policy) => {
                for high in policy.roles() {
                    for low in policy.roles() {
                        if let (true, Some(h), Some(l)) = (high.inherits_from(low.name()), high.level(), low.level()) {
                            prop_assert!(h > l);
                        }
                    }
                }
            }
            Err(e) => prop_assert!(matches!(e, agency_rbac::PolicyError::LevelNotAbove { .. }), "{}", e),
        }
    }

    /// Loading never panics, whatever the document.
    #[test]
    fn loading_arbitrary_documents_never_panics(doc in "\\PC{0,200}") {
        let _ = Policy::from_toml(&doc);
        let _ = Policy::from_json(&doc);
    }

    /// Loading never panics on documents of the right shape with arbitrary names, and accepts
    /// exactly the documents whose names are valid.
    #[test]
    fn arbitrary_names_are_validated(role in "[a-zA-Z_:*. -]{0,12}", permission in "[a-z:*A-Z. ]{0,12}") {
        let doc = serde_json::json!({"roles": {role.clone(): {"permissions": [permission.clone()]}}}).to_string();
        let result = Policy::from_json(&doc);
        let valid = agency_rbac::validate_role_name(&role).is_ok() && validate_permission(&permission).is_ok();
        prop_assert_eq!(result.is_ok(), valid, "{:?}", result);
    }

    /// Well-formed permission names parse and split at the colon; the validator never panics.
    #[test]
    fn permission_parser(resource in "[a-z0-9_.-]{1,40}", action in "[a-z0-9_.-]{1,40}", junk in "\\PC{0,64}") {
        let name = format!("{resource}:{action}");
        let p = agency_rbac::Permission::parse(&name).unwrap();
        prop_assert_eq!(p.resource(), resource.as_str());
        prop_assert_eq!(p.action(), action.as_str());
        prop_assert_eq!(p.to_string(), name);
        let _ = validate_permission(&junk);
    }
}

#[test]
fn presets_satisfy_the_hierarchy_invariant() {
    for policy in [presets::swarm(), presets::five_level()] {
        for high in policy.roles() {
            for low in policy.roles() {
                if high.inherits_from(low.name()) {
                    for (p, c) in low.permissions() {
                        assert!(strength(high.holds(p)) >= strength(Some(c)));
                    }
                }
            }
        }
    }
}
