//! The policy documents in docs/rbac.md load, agree with each other, and mean what the text
//! says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use agency_rbac::{Actor, Condition, DenyReason, Policy, Resource, presets};

fn code_blocks(language: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rbac.md");
    let text = std::fs::read_to_string(path).unwrap();
    let fence = format!("```{language}\n");
    let mut blocks = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").unwrap();
        blocks.push(body[..end].to_owned());
        rest = &body[end..];
    }
    blocks
}

#[test]
fn toml_and_json_examples_load_and_are_the_same_policy() {
    let toml = code_blocks("toml");
    let json = code_blocks("json");
    assert_eq!((toml.len(), json.len()), (1, 1));
    let from_toml = Policy::from_toml(&toml[0]).unwrap();
    let from_json = Policy::from_json(&json[0]).unwrap();
    assert_eq!(from_toml, from_json);
}

#[test]
fn the_example_extends_the_swarm_preset_exactly() {
    let policy = Policy::from_toml(&code_blocks("toml")[0]).unwrap();
    let swarm = presets::swarm();
    for role in swarm.roles() {
        let documented = policy.role(role.name()).unwrap();
        assert_eq!(
            documented.permissions().collect::<Vec<_>>(),
            role.permissions().collect::<Vec<_>>()
        );
        assert_eq!(documented.cross_tenant(), role.cross_tenant());
    }
    let auditor = policy.role("auditor").unwrap();
    assert_eq!(auditor.level(), Some(10));
    assert_eq!(auditor.holds("audit:export"), Some(Condition::Always));
    let who = Actor::new("u1", "acme", "admin");
    let d = policy.check(&who, "billing:export", Resource::in_tenant("acme"));
    assert_eq!(d.deny_reason(), Some(DenyReason::MissingPermission));
}

#[test]
fn documented_decision_lines_are_what_the_code_renders() {
    let text = code_blocks("text").join("");
    let policy = presets::swarm();
    let root = Actor::new("u0", "default", "super_admin");
    let admin = Actor::new("u1", "acme", "admin");
    let operator = Actor::new("u1", "acme", "operator");
    let viewer = Actor::new("u1", "acme", "viewer");
    let rendered = [
        policy
            .check(&root, "agents:read", Resource::in_tenant("acme"))
            .to_string(),
        policy
            .check(&admin, "agents:read", Resource::in_tenant("globex"))
            .to_string(),
        serde_json::to_string(&policy.check(
            &operator,
            "keys:manage",
            Resource::in_tenant("acme").owned_by("u1"),
        ))
        .unwrap(),
        serde_json::to_string(&policy.check(&viewer, "users:manage", Resource::in_tenant("acme")))
            .unwrap(),
    ];
    for line in rendered {
        assert!(text.contains(&line), "docs/rbac.md does not show: {line}");
    }
}
