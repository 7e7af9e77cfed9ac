//! Attacks on the swarm policy, each written as the attacker would try it, and the proof that
//! it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use agency_rbac::{
    AccessError, Actor, Decision, DenyReason, Outcome, Policy, PolicyError, Resource, Scopes,
    presets,
};

const HOME: &str = "acme";
const OTHER: &str = "globex";

fn home() -> Resource<'static> {
    Resource::in_tenant(HOME)
}

#[test]
fn cross_tenant_read_by_tenant_admin_answers_not_found() {
    let policy = presets::swarm();
    let admin = Actor::new("u1", HOME, "admin");
    for permission in policy.permissions().collect::<Vec<_>>() {
        let resource = Resource::in_tenant(OTHER).owned_by("u1");
        let d = policy.check(&admin, permission, resource);
        assert!(!d.is_allowed(), "{permission}");
        assert_eq!(d.outcome(), Outcome::NotFound, "{permission}");
        let err = policy.require(&admin, permission, resource).unwrap_err();
        assert!(matches!(
            err,
            AccessError::NotFound {
                reason: DenyReason::WrongTenant,
                ..
            }
        ));
    }
}

#[test]
fn cross_tenant_probe_cannot_tell_foreign_from_missing() {
    // A viewer without agents:delete gets the same answer for a foreign agent as for its own
    // (which is what a missing agent would get: the permission is checked first).
    let policy = presets::swarm();
    let viewer = Actor::new("u1", HOME, "viewer");
    let own = policy.check(&viewer, "agents:delete", home());
    let foreign = policy.check(&viewer, "agents:delete", Resource::in_tenant(OTHER));
    assert_eq!(own, foreign);
    assert_eq!(foreign.outcome(), Outcome::Forbidden);
}

#[test]
fn tenant_header_spoof_by_admin_is_forbidden() {
    let policy = presets::swarm();
    for role in ["viewer", "operator", "admin"] {
        let who = Actor::new("u1", HOME, role);
        let err = policy.acting_tenant(&who, Some(OTHER)).unwrap_err();
        assert_eq!(err.outcome(), Outcome::Forbidden, "{role}");
        assert_eq!(
            err.deny_reason(),
            Some(DenyReason::TenantOverrideNotGranted)
        );
    }
    let root = Actor::new("u0", "default", "super_admin");
    assert_eq!(policy.acting_tenant(&root, Some(OTHER)).unwrap(), OTHER);
    assert!(
        policy
            .check(&root, "users:manage", Resource::in_tenant(OTHER))
            .is_allowed()
    );
}

#[test]
fn super_admin_api_key_cannot_cross_tenants() {
    let policy = presets::swarm();
    let key = Actor::new("u0", "default", "super_admin").with_scopes(["agents:read"]);
    let d = policy.check(&key, "agents:read", Resource::in_tenant(OTHER));
    assert_eq!(d.deny_reason(), Some(DenyReason::WrongTenant));
    assert!(
        policy
            .check(&key, "agents:read", Resource::in_tenant("default"))
            .is_allowed()
    );
}

#[test]
fn api_key_scope_escalation_beyond_owner_role_fails() {
    // A viewer mints a key "scoped" to admin permissions.
    let policy = presets::swarm();
    let key = Actor::new("u1", HOME, "viewer").with_scopes([
        "users:manage",
        "agents:delete",
        "agents:read",
    ]);
    assert_eq!(
        policy.check(&key, "users:manage", home()).deny_reason(),
        Some(DenyReason::MissingPermission)
    );
    assert_eq!(
        policy.check(&key, "agents:delete", home()).deny_reason(),
        Some(DenyReason::MissingPermission)
    );
    assert!(policy.check(&key, "agents:read", home()).is_allowed());
    assert_eq!(
        policy.effective_permissions(&key).collect::<Vec<_>>(),
        ["agents:read"]
    );
}

#[test]
fn api_key_of_demoted_owner_loses_permissions() {
    // The key was created while its owner was admin; the owner is now a viewer. The subject
    // carries the owner's *current* role, so the key narrows at once.
    let policy = presets::swarm();
    let scopes = ["users:manage", "agents:read"];
    let before = Actor::new("u1", HOME, "admin").with_scopes(scopes);
    assert!(policy.check(&before, "users:manage", home()).is_allowed());
    let after = Actor::new("u1", HOME, "viewer").with_scopes(scopes);
    assert!(!policy.check(&after, "users:manage", home()).is_allowed());
}

#[test]
fn api_key_with_lookalike_or_wildcard_scopes_gets_nothing() {
    let policy = presets::swarm();
    let key = Actor::new("u1", HOME, "admin").with_scopes([
        "*",
        "agents:*",
        "*:read",
        "AGENTS:READ",
        "agents:read ",
        " agents:read",
        "\u{0430}gents:read",
        "agents:read\0",
        "",
    ]);
    for permission in policy.permissions().collect::<Vec<_>>() {
        let d = policy.check(&key, permission, home().owned_by("u1"));
        assert_eq!(
            d.deny_reason(),
            Some(DenyReason::ScopeNotGranted),
            "{permission}"
        );
    }
    assert_eq!(policy.effective_permissions(&key).count(), 0);
}

#[test]
fn api_key_with_empty_scopes_gets_nothing() {
    let policy = presets::swarm();
    let key = Actor::new("u1", HOME, "super_admin").with_scopes(Vec::<String>::new());
    assert!(!policy.check(&key, "agents:read", home()).is_allowed());
}

#[test]
fn forged_role_name_variants_are_unknown() {
    let policy = presets::swarm();
    for role in [
        "Admin",
        "admin ",
        " admin",
        "ADMIN",
        "super-admin",
        "superadmin",
        "",
        "admin\0",
        "\u{0430}dmin",
    ] {
        let who = Actor::new("u1", HOME, role);
        let d = policy.check(&who, "agents:read", home());
        assert_eq!(d.deny_reason(), Some(DenyReason::UnknownRole), "{role:?}");
        assert!(policy.check_assignment(&who, "viewer").is_err());
        assert!(policy.acting_tenant(&who, Some(OTHER)).is_err());
    }
}

#[test]
fn permission_name_variants_are_unknown() {
    let policy = presets::swarm();
    let root = Actor::new("u0", HOME, "super_admin");
    for permission in [
        "agents:*",
        "*",
        "Agents:read",
        "agents:read ",
        "agents",
        "agents:read:x",
        "",
        "agents%3Aread",
    ] {
        let d = policy.check(&root, permission, home());
        assert_eq!(
            d.deny_reason(),
            Some(DenyReason::UnknownPermission),
            "{permission:?}"
        );
    }
}

#[test]
fn self_promotion_to_super_admin_is_refused() {
    let policy = presets::swarm();
    let admin = Actor::new("u1", HOME, "admin");
    let err = policy
        .check_role_change(&admin, "admin", "super_admin")
        .unwrap_err();
    assert!(
        matches!(err, AccessError::RoleAboveOwn { ref target_role, .. } if target_role == "super_admin")
    );
    assert_eq!(err.outcome(), Outcome::Forbidden);
}

#[test]
fn operator_creating_an_admin_is_refused() {
    let policy = presets::swarm();
    let operator = Actor::new("u1", HOME, "operator");
    assert!(policy.check_assignment(&operator, "admin").is_err());
    assert!(policy.check_assignment(&operator, "super_admin").is_err());
    assert!(policy.check_assignment(&operator, "operator").is_ok());
    assert!(policy.check_assignment(&operator, "viewer").is_ok());
}

#[test]
fn demoting_a_superior_is_refused() {
    let policy = presets::swarm();
    let admin = Actor::new("u1", HOME, "admin");
    assert!(
        policy
            .check_role_change(&admin, "super_admin", "viewer")
            .is_err()
    );
    // Deleting or editing a superior: the guard on the user's current role.
    assert!(policy.check_assignment(&admin, "super_admin").is_err());
}

#[test]
fn assigning_an_unknown_role_is_refused() {
    let policy = presets::swarm();
    let root = Actor::new("u0", HOME, "super_admin");
    let err = policy.check_assignment(&root, "root").unwrap_err();
    assert!(matches!(err, AccessError::UnknownRole { .. }));
}

#[test]
fn deleting_another_users_api_key_answers_not_found() {
    let policy = presets::swarm();
    let admin = Actor::new("u1", HOME, "admin");
    let theirs = home().owned_by("u2");
    let d = policy.check(&admin, "keys:manage", theirs);
    assert_eq!(d.deny_reason(), Some(DenyReason::NotOwner));
    assert_eq!(d.outcome(), Outcome::NotFound);
    assert!(
        policy
            .check(&admin, "keys:manage", home().owned_by("u1"))
            .is_allowed()
    );
}

#[test]
fn ownership_spoof_with_empty_ids_fails() {
    let policy = presets::swarm();
    let nobody = Actor::new("", HOME, "operator");
    assert!(
        !policy
            .check(&nobody, "keys:manage", home().owned_by(""))
            .is_allowed()
    );
    assert!(!policy.check(&nobody, "keys:manage", home()).is_allowed());
}

#[test]
fn subject_with_empty_tenant_reaches_no_tenant() {
    let policy = presets::swarm();
    let drifter = Actor::new("u1", "", "admin");
    assert!(
        !policy
            .check(&drifter, "agents:read", Resource::in_tenant(""))
            .is_allowed()
    );
    assert!(
        !policy
            .check(&drifter, "agents:read", Resource::in_tenant(HOME))
            .is_allowed()
    );
    assert!(policy.acting_tenant(&drifter, Some("")).is_err());
}

#[test]
fn wildcard_grant_cannot_be_smuggled_into_a_policy() {
    for doc in [
        "[roles.viewer]\npermissions = [\"*\"]\n",
        "[roles.viewer]\npermissions = [\"agents:*\"]\n",
        "[roles.viewer]\npermissions = [\"*:*\"]\n",
    ] {
        assert!(
            matches!(
                Policy::from_toml(doc),
                Err(PolicyError::InvalidPermission { .. })
            ),
            "{doc}"
        );
    }
}

#[test]
fn typo_that_would_drop_inheritance_is_refused() {
    let doc =
        "[roles.viewer]\npermissions = [\"agents:read\"]\n[roles.admin]\ninherit = [\"viewer\"]\n";
    assert!(matches!(
        Policy::from_toml(doc),
        Err(PolicyError::Parse { .. })
    ));
}

#[test]
fn role_redefinition_in_json_is_refused() {
    let doc = r#"{"roles": {"viewer": {"permissions": ["agents:read"]}, "viewer": {"cross_tenant": true}}}"#;
    assert!(matches!(
        Policy::from_json(doc),
        Err(PolicyError::Parse { .. })
    ));
}

#[test]
fn decisions_render_for_the_audit_log() {
    let policy = presets::swarm();
    let root = Actor::new("u0", "default", "super_admin");
    let d = policy.check(&root, "agents:read", Resource::in_tenant(OTHER));
    assert_eq!(
        d.to_string(),
        "allow agents:read to role super_admin (granted by viewer, cross-tenant)"
    );
    let json = serde_json::to_value(d).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "decision": "allow",
            "permission": "agents:read",
            "role": "super_admin",
            "granted_by": "viewer",
            "owner_only": false,
            "cross_tenant": true,
        })
    );
    let operator = Actor::new("u1", HOME, "operator");
    let d = policy.check(&operator, "keys:manage", home().owned_by("u1"));
    assert_eq!(
        d.to_string(),
        "allow keys:manage to role operator (granted by operator, owner only)"
    );
    let Decision::Allow(grant) = d else { panic!() };
    assert!(grant.owner_only);
}

#[test]
fn deny_by_default_on_an_empty_policy() {
    let policy = Policy::from_toml("").unwrap();
    let who = Actor::new("u1", HOME, "admin");
    assert_eq!(
        policy.check(&who, "agents:read", home()).deny_reason(),
        Some(DenyReason::UnknownRole)
    );
}

// ---- Scoped credentials may not give away more than they hold ------------------------------

#[test]
fn users_manage_key_cannot_create_an_admin() {
    // The attack: an admin's API key scoped to `users:manage` only creates a new `admin` user
    // whose password the key's holder chooses, and so gains every admin permission.
    let policy = presets::swarm();
    let key = Actor::new("u1", HOME, "admin").with_scopes(["users:manage"]);
    let err = policy.check_assignment(&key, "admin").unwrap_err();
    assert!(matches!(err, AccessError::ScopeNotHeld { .. }), "{err:?}");
    assert_eq!(err.outcome(), Outcome::Forbidden);
    // Nor any lower role: each holds permissions outside the key's scopes.
    for role in ["viewer", "operator"] {
        assert!(policy.check_assignment(&key, role).is_err(), "{role}");
    }
    // Nor take over an existing viewer by managing (say, resetting the password of) them.
    assert!(policy.check_role_change(&key, "viewer", "viewer").is_err());
}

#[test]
fn scoped_key_may_assign_a_role_within_its_scopes() {
    // Positive control: the scope bound is not a blanket refusal. A key whose scopes cover all
    // of `viewer` (plus `users:manage`) may create viewers, and still not operators.
    let policy = presets::swarm();
    let key =
        Actor::new("u1", HOME, "admin").with_scopes(["users:manage", "agents:read", "tasks:read"]);
    policy.check_assignment(&key, "viewer").unwrap();
    assert!(matches!(
        policy.check_assignment(&key, "operator"),
        Err(AccessError::ScopeNotHeld { .. })
    ));
    // An unscoped session of the same admin still assigns every role up to its own.
    let session = Actor::new("u1", HOME, "admin");
    for role in ["viewer", "operator", "admin"] {
        policy.check_assignment(&session, role).unwrap();
    }
}

#[test]
fn scopes_in_the_owners_role_but_not_the_key_do_not_count() {
    // The key's scopes name permissions of the target role, but the owner's role lacks them:
    // the role bound still refuses (scopes never add to a role).
    let policy = presets::swarm();
    let key = Actor::new("u1", HOME, "operator").with_scopes(policy.permissions());
    assert!(matches!(
        policy.check_assignment(&key, "admin"),
        Err(AccessError::RoleAboveOwn { .. })
    ));
}

#[test]
fn scoped_key_cannot_assign_the_cross_tenant_grant() {
    // Scopes cannot name the cross-tenant grant, so no scoped key may hand it out, even when
    // its scopes cover every permission of the role that carries it.
    let policy = presets::swarm();
    let key = Actor::new("root", HOME, "super_admin").with_scopes(policy.permissions());
    policy.check_assignment(&key, "admin").unwrap();
    assert!(matches!(
        policy.check_assignment(&key, "super_admin"),
        Err(AccessError::ScopeNotHeld { .. })
    ));
}

#[test]
fn keys_manage_key_cannot_mint_a_broader_key() {
    // The attack: an operator's key scoped to `keys:manage` mints a new key with every
    // permission of its owner (or an unscoped one, which follows the owner's whole role).
    let policy = presets::swarm();
    let key = Actor::new("u1", HOME, "operator").with_scopes(["keys:manage"]);
    let broader = ["keys:manage".to_owned(), "tasks:dispatch".to_owned()];
    let err = policy
        .scopes_within(&key, Scopes::Only(&broader))
        .unwrap_err();
    assert!(
        matches!(&err, AccessError::ScopeNotHeld { what } if what == "tasks:dispatch"),
        "{err:?}"
    );
    assert!(matches!(
        policy.scopes_within(&key, Scopes::Unrestricted),
        Err(AccessError::ScopeNotHeld { .. })
    ));
    // Positive control: a key may mint keys with (a subset of) its own effective scopes.
    let same = ["keys:manage".to_owned()];
    policy.scopes_within(&key, Scopes::Only(&same)).unwrap();
    policy.scopes_within(&key, Scopes::Only(&[])).unwrap();
}

#[test]
fn session_cannot_mint_a_key_beyond_its_role() {
    let policy = presets::swarm();
    let operator = Actor::new("u1", HOME, "operator");
    let wanted = ["agents:read".to_owned(), "users:manage".to_owned()];
    assert!(matches!(
        policy.scopes_within(&operator, Scopes::Only(&wanted)),
        Err(AccessError::ScopeNotHeld { what }) if what == "users:manage"
    ));
    // A session may mint an unscoped key (it follows the same role) or any subset of its role.
    policy
        .scopes_within(&operator, Scopes::Unrestricted)
        .unwrap();
    let own = ["agents:read".to_owned(), "keys:manage".to_owned()];
    policy.scopes_within(&operator, Scopes::Only(&own)).unwrap();
    // Unknown roles hold nothing.
    let ghost = Actor::new("u1", HOME, "ghost");
    assert!(matches!(
        policy.scopes_within(&ghost, Scopes::Only(&own)),
        Err(AccessError::UnknownRole { .. })
    ));
}
