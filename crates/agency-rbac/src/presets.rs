//! Ready-made policies.
//!
//! - [`swarm`]: the swarm API's four roles, exactly as its contract lists them.
//! - [`five_level`]: a five-level hierarchy with numeric levels, for services that rank roles.
//!
//! Both are ordinary policies: serialise one ([`Policy::to_toml`]) to start a policy file, or
//! extend it with [`PolicyBuilder::from_spec`](crate::PolicyBuilder::from_spec).

use crate::policy::{Policy, PolicyBuilder};

/// The swarm roles, lowest first.
///
/// ```
/// assert_eq!(agency_rbac::presets::SWARM_ROLES[0], "viewer");
/// ```
pub const SWARM_ROLES: [&str; 4] = ["viewer", "operator", "admin", "super_admin"];

/// The five-level roles with their levels, lowest first.
///
/// ```
/// assert_eq!(agency_rbac::presets::FIVE_LEVEL_ROLES[4], ("super_admin", 100));
/// ```
pub const FIVE_LEVEL_ROLES: [(&str, u32); 5] = [
    ("readonly", 20),
    ("user", 40),
    ("manager", 60),
    ("admin", 80),
    ("super_admin", 100),
];

/// The swarm API's roles: `viewer` < `operator` < `admin` < `super_admin`.
///
/// | role | holds (besides everything of the roles below) |
/// |---|---|
/// | `viewer` | `agents:read`, `tasks:read` |
/// | `operator` | `tasks:dispatch`, `agents:update`, `config:read`, `keys:manage` (own keys only) |
/// | `admin` | `agents:create`, `agents:delete`, `config:write`, `users:read`, `users:manage`, `audit:read`, `audit:export` |
/// | `super_admin` | the cross-tenant grant (acting in any tenant) |
///
/// `keys:manage` is owner-only for every role, as the contract's `/api/keys` manages the
/// caller's own keys: pass the key's owner (or, to create or list, the caller's own id) in the
/// [`Resource`](crate::Resource).
///
/// ```
/// use agency_rbac::{presets, Actor, Resource};
///
/// let policy = presets::swarm();
/// let root = Actor::new("u1", "default", "super_admin");
/// assert!(policy.check(&root, "users:manage", Resource::in_tenant("acme")).is_allowed());
/// ```
pub fn swarm() -> Policy {
    PolicyBuilder::new()
        .role("viewer", |r| r.grant("agents:read").grant("tasks:read"))
        .role("operator", |r| {
            r.inherits("viewer")
                .grant("tasks:dispatch")
                .grant("agents:update")
                .grant("config:read")
                .grant_own("keys:manage")
        })
        .role("admin", |r| {
            r.inherits("operator")
                .grant("agents:create")
                .grant("agents:delete")
                .grant("config:write")
                .grant("users:read")
                .grant("users:manage")
                .grant("audit:read")
                .grant("audit:export")
        })
        .role("super_admin", |r| r.inherits("admin").cross_tenant())
        .build()
        // The preset is fixed data covered by tests; should it ever fail to compile, fail closed.
        .unwrap_or_else(|_| Policy::deny_all())
}

/// A five-level hierarchy ranked by level: `readonly` (20) < `user` (40) < `manager` (60) <
/// `admin` (80) < `super_admin` (100), each inheriting the level below.
///
/// | role | level | holds (besides everything of the roles below) |
/// |---|---|---|
/// | `readonly` | 20 | `resources:read`, `reports:read` |
/// | `user` | 40 | `resources:create`, `profile:update`; own only: `resources:update`, `resources:delete`, `keys:manage` |
/// | `manager` | 60 | `resources:update`, `resources:delete` (any owner), `reports:export`, `users:read` |
/// | `admin` | 80 | `users:manage`, `config:read`, `config:write`, `audit:read` |
/// | `super_admin` | 100 | `tenants:manage` and the cross-tenant grant |
///
/// ```
/// use agency_rbac::{presets, Actor, Resource};
///
/// let policy = presets::five_level();
/// let user = Actor::new("u1", "acme", "user");
/// let mine = Resource::in_tenant("acme").owned_by("u1");
/// let theirs = Resource::in_tenant("acme").owned_by("u2");
/// assert!(policy.check(&user, "resources:delete", mine).is_allowed());
/// assert!(!policy.check(&user, "resources:delete", theirs).is_allowed());
/// let manager = Actor::new("u3", "acme", "manager");
/// assert!(policy.check(&manager, "resources:delete", theirs).is_allowed());
/// ```
pub fn five_level() -> Policy {
    PolicyBuilder::new()
        .role("readonly", |r| {
            r.level(20).grant("resources:read").grant("reports:read")
        })
        .role("user", |r| {
            r.level(40)
                .inherits("readonly")
                .grant("resources:create")
                .grant("profile:update")
                .grant_own("resources:update")
                .grant_own("resources:delete")
                .grant_own("keys:manage")
        })
        .role("manager", |r| {
            r.level(60)
                .inherits("user")
                .grant("resources:update")
                .grant("resources:delete")
                .grant("reports:export")
                .grant("users:read")
        })
        .role("admin", |r| {
            r.level(80)
                .inherits("manager")
                .grant("users:manage")
                .grant("config:read")
                .grant("config:write")
                .grant("audit:read")
        })
        .role("super_admin", |r| {
            r.level(100)
                .inherits("admin")
                .grant("tenants:manage")
                .cross_tenant()
        })
        .build()
        .unwrap_or_else(|_| Policy::deny_all())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::Condition;

    fn held(policy: &Policy, role: &str) -> BTreeSet<String> {
        policy
            .role(role)
            .unwrap()
            .permissions()
            .map(|(p, _)| p.to_owned())
            .collect()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn swarm_matches_the_contract_exactly() {
        let policy = swarm();
        let viewer = set(&["agents:read", "tasks:read"]);
        let mut operator = viewer.clone();
        operator.extend(set(&[
            "tasks:dispatch",
            "agents:update",
            "config:read",
            "keys:manage",
        ]));
        let mut admin = operator.clone();
        admin.extend(set(&[
            "agents:create",
            "agents:delete",
            "config:write",
            "users:read",
            "users:manage",
            "audit:read",
            "audit:export",
        ]));
        assert_eq!(held(&policy, "viewer"), viewer);
        assert_eq!(held(&policy, "operator"), operator);
        assert_eq!(held(&policy, "admin"), admin);
        assert_eq!(held(&policy, "super_admin"), admin);
        assert_eq!(policy.permissions().count(), 13);
        assert_eq!(policy.roles().count(), 4);
        for role in SWARM_ROLES {
            assert_eq!(
                policy.role(role).unwrap().cross_tenant(),
                role == "super_admin",
                "{role}"
            );
        }
        for role in ["operator", "admin", "super_admin"] {
            assert_eq!(
                policy.role(role).unwrap().holds("keys:manage"),
                Some(Condition::OwnerOnly)
            );
        }
    }

    #[test]
    fn swarm_is_not_the_fail_closed_fallback() {
        assert_ne!(swarm(), Policy::deny_all());
        assert_ne!(five_level(), Policy::deny_all());
    }

    #[test]
    fn five_level_has_the_levels_and_chain() {
        let policy = five_level();
        for (name, level) in FIVE_LEVEL_ROLES {
            assert_eq!(policy.role(name).unwrap().level(), Some(level), "{name}");
        }
        for pair in FIVE_LEVEL_ROLES.windows(2) {
            let (low, high) = (pair[0].0, pair[1].0);
            assert!(
                policy.role(high).unwrap().inherits_from(low),
                "{high} inherits {low}"
            );
            assert!(held(&policy, low).is_subset(&held(&policy, high)));
        }
        assert!(policy.role("super_admin").unwrap().cross_tenant());
        assert!(!policy.role("admin").unwrap().cross_tenant());
        assert_eq!(
            policy.role("user").unwrap().holds("resources:update"),
            Some(Condition::OwnerOnly)
        );
        assert_eq!(
            policy.role("manager").unwrap().holds("resources:update"),
            Some(Condition::Always)
        );
    }
}
