//! Compiling a [`PolicySpec`] into a [`Policy`]: validate every name, refuse unknown roles,
//! cycles and inverted levels, then precompute each role's effective permissions (its own plus
//! everything it inherits) as bit sets, so that a check is a lookup and a bit test whatever the
//! size of the policy.

use std::collections::{BTreeMap, BTreeSet};

use super::spec::{PolicySpec, RoleSpec};
use super::{CompiledRole, NO_ROLE, Policy};
use crate::bitset::BitSet;
use crate::error::PolicyError;
use crate::name_map::NameTable;
use crate::permission::{excerpt, validate_permission, validate_role_name};

/// Most roles a policy may define (bounds the compiled size: roles × permissions × 2 bytes).
pub const MAX_ROLES: usize = 512;

/// Most distinct permissions a policy may name.
pub const MAX_PERMISSIONS: usize = 4096;

fn sorted_unique(list: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = list.iter().collect();
    set.into_iter().cloned().collect()
}

/// The canonical form of a spec: lists sorted and deduplicated, and the top-level
/// `permissions` reduced to those no role grants. Two specs with the same canonical form
/// compile to the same policy.
fn canonical(spec: &PolicySpec) -> PolicySpec {
    let roles: BTreeMap<String, RoleSpec> = spec
        .roles
        .iter()
        .map(|(name, role)| {
            let role = RoleSpec {
                level: role.level,
                inherits: sorted_unique(&role.inherits),
                permissions: sorted_unique(&role.permissions),
                own_permissions: sorted_unique(&role.own_permissions),
                cross_tenant: role.cross_tenant,
            };
            (name.clone(), role)
        })
        .collect();
    let granted: BTreeSet<&String> = roles
        .values()
        .flat_map(|r| r.permissions.iter().chain(r.own_permissions.iter()))
        .collect();
    let permissions = sorted_unique(&spec.permissions)
        .into_iter()
        .filter(|p| !granted.contains(p))
        .collect();
    PolicySpec { permissions, roles }
}

fn to_u16(value: usize) -> u16 {
    // Callers bound `value` by MAX_ROLES / MAX_PERMISSIONS, both far below u16::MAX.
    u16::try_from(value).unwrap_or(NO_ROLE)
}

/// Depth-first topological order of the roles (parents before children), or the first cycle.
fn topological_order(names: &[&str], parents: &[Vec<usize>]) -> Result<Vec<usize>, PolicyError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        InProgress,
        Done,
    }

    fn visit(
        node: usize,
        names: &[&str],
        parents: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), PolicyError> {
        match marks.get(node).copied() {
            Some(Mark::Done) | None => return Ok(()),
            Some(Mark::InProgress) => {
                let start = stack.iter().position(|&n| n == node).unwrap_or(0);
                let mut path: Vec<String> = stack
                    .get(start..)
                    .unwrap_or_default()
                    .iter()
                    .map(|&n| names.get(n).copied().unwrap_or_default().to_owned())
                    .collect();
                path.push(names.get(node).copied().unwrap_or_default().to_owned());
                return Err(PolicyError::InheritanceCycle { path });
            }
            Some(Mark::New) => {}
        }
        if let Some(mark) = marks.get_mut(node) {
            *mark = Mark::InProgress;
        }
        stack.push(node);
        for &parent in parents.get(node).map(Vec::as_slice).unwrap_or_default() {
            visit(parent, names, parents, marks, stack, order)?;
        }
        stack.pop();
        if let Some(mark) = marks.get_mut(node) {
            *mark = Mark::Done;
        }
        order.push(node);
        Ok(())
    }

    let mut marks = vec![Mark::New; names.len()];
    let mut order = Vec::with_capacity(names.len());
    let mut stack = Vec::new();
    for node in 0..names.len() {
        visit(node, names, parents, &mut marks, &mut stack, &mut order)?;
    }
    Ok(order)
}

pub(super) fn compile(spec: &PolicySpec) -> Result<Policy, PolicyError> {
    let spec = canonical(spec);
    if spec.roles.len() > MAX_ROLES {
        return Err(PolicyError::TooManyRoles {
            count: spec.roles.len(),
            max: MAX_ROLES,
        });
    }
    for name in spec.roles.keys() {
        validate_role_name(name).map_err(|reason| PolicyError::InvalidRoleName {
            role: excerpt(name),
            reason,
        })?;
    }

    // Intern permissions: ids follow sorted name order, so equal policies get equal ids.
    let mut all: BTreeSet<&str> = spec.permissions.iter().map(String::as_str).collect();
    for role in spec.roles.values() {
        all.extend(role.permissions.iter().map(String::as_str));
        all.extend(role.own_permissions.iter().map(String::as_str));
    }
    for name in &all {
        validate_permission(name).map_err(|reason| PolicyError::InvalidPermission {
            permission: excerpt(name),
            reason,
        })?;
    }
    if all.len() > MAX_PERMISSIONS {
        return Err(PolicyError::TooManyPermissions {
            count: all.len(),
            max: MAX_PERMISSIONS,
        });
    }
    let permission_names: Vec<&str> = all.into_iter().collect();
    let permission_id: BTreeMap<&str, usize> = permission_names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, i))
        .collect();

    let role_names: Vec<&str> = spec.roles.keys().map(String::as_str).collect();
    let role_id: BTreeMap<&str, usize> = role_names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, i))
        .collect();
    let specs: Vec<&RoleSpec> = spec.roles.values().collect();

    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(specs.len());
    for (name, role) in role_names.iter().zip(&specs) {
        if let Some(permission) = role
            .permissions
            .iter()
            .find(|p| role.own_permissions.contains(p))
        {
            return Err(PolicyError::ConflictingGrant {
                role: (*name).to_owned(),
                permission: permission.clone(),
            });
        }
        let mut ids = Vec::with_capacity(role.inherits.len());
        for parent in &role.inherits {
            let id =
                role_id
                    .get(parent.as_str())
                    .copied()
                    .ok_or_else(|| PolicyError::UnknownRole {
                        role: excerpt(parent),
                        referenced_by: (*name).to_owned(),
                    })?;
            ids.push(id);
        }
        parents.push(ids);
    }
    let order = topological_order(&role_names, &parents)?;

    let n_perms = permission_names.len();
    let n_roles = role_names.len();
    let mut compiled: Vec<Option<CompiledRole>> = (0..n_roles).map(|_| None).collect();
    for &id in &order {
        let (Some(role), Some(name)) = (specs.get(id), role_names.get(id)) else {
            continue;
        };
        let mut direct_any = BitSet::new(n_perms);
        let mut direct_own = BitSet::new(n_perms);
        for p in &role.permissions {
            if let Some(&pid) = permission_id.get(p.as_str()) {
                direct_any.insert(pid);
            }
        }
        for p in &role.own_permissions {
            if let Some(&pid) = permission_id.get(p.as_str()) {
                direct_own.insert(pid);
            }
        }
        let my_parents: Vec<&CompiledRole> = parents
            .get(id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&p| compiled.get(p).and_then(Option::as_ref))
            .collect();

        let mut any = direct_any.clone();
        let mut own = direct_own.clone();
        let mut ancestors = BitSet::new(n_roles);
        let mut cross_tenant = role.cross_tenant;
        for (parent, &parent_id) in my_parents
            .iter()
            .zip(parents.get(id).map(Vec::as_slice).unwrap_or_default())
        {
            any.union_with(&parent.any);
            own.union_with(&parent.own);
            ancestors.insert(parent_id);
            ancestors.union_with(&parent.ancestors);
            cross_tenant |= parent.cross_tenant;
        }
        // An unconditional grant (direct or inherited) wins over an owner-only one.
        own.subtract(&any);

        let me = to_u16(id);
        let mut granted_by = vec![NO_ROLE; n_perms].into_boxed_slice();
        for pid in any.iter() {
            let by = if direct_any.contains(pid) {
                me
            } else {
                my_parents
                    .iter()
                    .find(|p| p.any.contains(pid))
                    .and_then(|p| p.granted_by.get(pid).copied())
                    .unwrap_or(NO_ROLE)
            };
            if let Some(slot) = granted_by.get_mut(pid) {
                *slot = by;
            }
        }
        for pid in own.iter() {
            let by = if direct_own.contains(pid) {
                me
            } else {
                my_parents
                    .iter()
                    .find(|p| p.own.contains(pid))
                    .and_then(|p| p.granted_by.get(pid).copied())
                    .unwrap_or(NO_ROLE)
            };
            if let Some(slot) = granted_by.get_mut(pid) {
                *slot = by;
            }
        }

        if let Some(slot) = compiled.get_mut(id) {
            *slot = Some(CompiledRole {
                name: (*name).into(),
                level: role.level,
                cross_tenant,
                any,
                own,
                granted_by,
                ancestors,
            });
        }
    }
    let roles: Box<[CompiledRole]> = compiled.into_iter().flatten().collect();

    // Levels must agree with inheritance transitively, not only between direct parents: a
    // levelled role reached through an unlevelled one must still rank strictly lower.
    for role in roles.iter() {
        let Some(level) = role.level else { continue };
        for ancestor in role.ancestors.iter().filter_map(|a| roles.get(a)) {
            if let Some(inherited_level) = ancestor.level
                && level <= inherited_level
            {
                return Err(PolicyError::LevelNotAbove {
                    role: role.name.to_string(),
                    level,
                    inherits: ancestor.name.to_string(),
                    inherited_level,
                });
            }
        }
    }

    let role_ids = NameTable::new(roles.iter().map(|role| role.name.clone()).collect());
    let permission_ids = NameTable::new(
        permission_names
            .iter()
            .map(|n| Box::<str>::from(*n))
            .collect(),
    );
    let permissions = permission_names
        .iter()
        .map(|n| Box::<str>::from(*n))
        .collect();

    Ok(Policy {
        spec,
        permissions,
        permission_ids,
        roles,
        role_ids,
    })
}

#[cfg(test)]
mod tests {
    use crate::{Policy, PolicyError};

    #[test]
    fn cycle_is_refused_and_named() {
        let doc = r#"
            [roles.a]
            inherits = ["b"]
            [roles.b]
            inherits = ["c"]
            [roles.c]
            inherits = ["a"]
        "#;
        let err = Policy::from_toml(doc).unwrap_err();
        let PolicyError::InheritanceCycle { path } = &err else {
            panic!("{err}")
        };
        assert_eq!(path.first(), path.last());
        assert_eq!(path.len(), 4);
        assert!(err.to_string().contains("a -> b -> c -> a"), "{err}");
    }

    #[test]
    fn self_inheritance_is_a_cycle() {
        let err = Policy::from_toml("[roles.a]\ninherits = [\"a\"]\n").unwrap_err();
        assert_eq!(
            err,
            PolicyError::InheritanceCycle {
                path: vec!["a".into(), "a".into()]
            }
        );
    }

    #[test]
    fn unknown_parent_is_refused_and_named() {
        let err = Policy::from_toml("[roles.admin]\ninherits = [\"operatr\"]\n").unwrap_err();
        assert_eq!(
            err,
            PolicyError::UnknownRole {
                role: "operatr".into(),
                referenced_by: "admin".into()
            }
        );
    }

    #[test]
    fn invalid_permission_is_refused_and_named() {
        let err =
            Policy::from_toml("[roles.admin]\npermissions = [\"agents.read\"]\n").unwrap_err();
        assert!(
            matches!(err, PolicyError::InvalidPermission { ref permission, .. } if permission == "agents.read")
        );
    }

    #[test]
    fn invalid_role_name_is_refused() {
        let err = Policy::from_toml("[roles.\"Admin\"]\n").unwrap_err();
        assert!(matches!(err, PolicyError::InvalidRoleName { ref role, .. } if role == "Admin"));
    }

    #[test]
    fn inverted_levels_are_refused() {
        let doc = "[roles.low]\nlevel = 50\n[roles.high]\nlevel = 50\ninherits = [\"low\"]\n";
        let err = Policy::from_toml(doc).unwrap_err();
        assert!(
            matches!(err, PolicyError::LevelNotAbove { ref role, .. } if role == "high"),
            "{err}"
        );
    }

    #[test]
    fn inverted_levels_through_an_unlevelled_role_are_refused() {
        let doc = r#"
            [roles.low]
            level = 50
            [roles.middle]
            inherits = ["low"]
            [roles.high]
            level = 50
            inherits = ["middle"]
        "#;
        let err = Policy::from_toml(doc).unwrap_err();
        assert_eq!(
            err,
            PolicyError::LevelNotAbove {
                role: "high".into(),
                level: 50,
                inherits: "low".into(),
                inherited_level: 50
            }
        );
    }

    #[test]
    fn conflicting_grant_is_refused() {
        let doc =
            "[roles.u]\npermissions = [\"keys:manage\"]\nown_permissions = [\"keys:manage\"]\n";
        assert!(matches!(
            Policy::from_toml(doc),
            Err(PolicyError::ConflictingGrant { .. })
        ));
    }

    #[test]
    fn too_many_roles_is_refused() {
        let mut doc = String::new();
        for i in 0..=super::MAX_ROLES {
            doc.push_str(&format!("[roles.r{i}]\n"));
        }
        assert!(matches!(
            Policy::from_toml(&doc),
            Err(PolicyError::TooManyRoles { .. })
        ));
    }

    #[test]
    fn too_many_permissions_is_refused() {
        let perms: Vec<String> = (0..=super::MAX_PERMISSIONS)
            .map(|i| format!("\"p:{i}\""))
            .collect();
        let doc = format!("permissions = [{}]\n", perms.join(","));
        assert!(matches!(
            Policy::from_toml(&doc),
            Err(PolicyError::TooManyPermissions { .. })
        ));
    }

    #[test]
    fn diamond_inheritance_compiles() {
        let doc = r#"
            [roles.base]
            permissions = ["a:read"]
            [roles.left]
            inherits = ["base"]
            permissions = ["b:read"]
            [roles.right]
            inherits = ["base"]
            own_permissions = ["c:read"]
            [roles.top]
            inherits = ["left", "right"]
        "#;
        let p = Policy::from_toml(doc).unwrap();
        for perm in ["a:read", "b:read", "c:read"] {
            assert!(p.role_holds("top", perm), "{perm}");
        }
        let top = p.role("top").unwrap();
        assert_eq!(top.holds("c:read"), Some(crate::Condition::OwnerOnly));
        assert!(top.inherits_from("base"));
    }

    #[test]
    fn inherited_unconditional_grant_wins_over_own_only() {
        let doc = r#"
            [roles.low]
            own_permissions = ["keys:manage"]
            [roles.high]
            inherits = ["low"]
            permissions = ["keys:manage"]
        "#;
        let p = Policy::from_toml(doc).unwrap();
        assert_eq!(
            p.role("high").unwrap().holds("keys:manage"),
            Some(crate::Condition::Always)
        );
        assert_eq!(
            p.role("low").unwrap().holds("keys:manage"),
            Some(crate::Condition::OwnerOnly)
        );
    }
}
