//! Access checks: deny by default, in a fixed order that never reveals more than the caller
//! may know.
//!
//! Order of the tests, each denying at the first failure:
//! 1. the subject's role exists (`unknown_role`);
//! 2. the permission exists (`unknown_permission`);
//! 3. the role holds it, directly or inherited (`missing_permission`);
//! 4. the credential's scopes include it (`scope_not_granted`);
//! 5. the resource is in the subject's tenant, or the role has the cross-tenant grant and the
//!    credential is not scoped (`wrong_tenant`, answered as not found);
//! 6. for an owner-only grant, the subject owns the resource (`not_owner`, answered as not
//!    found).
//!
//! Permission tests (1 to 4) come before the tenant test, so a foreign resource answers exactly
//! what a missing one would: 403 when the permission is lacking, 404 otherwise.

use super::{NO_ROLE, Policy};
use crate::decision::{Decision, Denial, DenyReason, Grant};
use crate::error::AccessError;
use crate::subject::{Resource, Subject};

impl Policy {
    /// Decides whether `subject` may use `permission` on `resource`.
    ///
    /// Allocates nothing; the cost does not grow with the number of roles or permissions.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, DenyReason, Outcome, Resource};
    ///
    /// let policy = presets::swarm();
    /// let operator = Actor::new("u1", "acme", "operator");
    ///
    /// let d = policy.check(&operator, "tasks:dispatch", Resource::in_tenant("acme"));
    /// assert!(d.is_allowed());
    ///
    /// // Another tenant's agent: "not found", never "forbidden".
    /// let d = policy.check(&operator, "agents:read", Resource::in_tenant("globex"));
    /// assert_eq!(d.deny_reason(), Some(DenyReason::WrongTenant));
    /// assert_eq!(d.outcome(), Outcome::NotFound);
    ///
    /// // keys:manage holds only on the operator's own keys.
    /// let mine = Resource::in_tenant("acme").owned_by("u1");
    /// let theirs = Resource::in_tenant("acme").owned_by("u2");
    /// assert!(policy.check(&operator, "keys:manage", mine).is_allowed());
    /// assert_eq!(policy.check(&operator, "keys:manage", theirs).deny_reason(), Some(DenyReason::NotOwner));
    /// ```
    #[inline]
    pub fn check<'a, S: Subject + ?Sized>(
        &'a self,
        subject: &'a S,
        permission: &'a str,
        resource: Resource<'_>,
    ) -> Decision<'a> {
        let role_name = subject.role();
        let deny = |reason| {
            Decision::Deny(Denial {
                permission,
                role: role_name,
                reason,
            })
        };

        let Some(role) = self.compiled_role(role_name) else {
            return deny(DenyReason::UnknownRole);
        };
        let Some(id) = self.permission_id(permission) else {
            return deny(DenyReason::UnknownPermission);
        };
        let owner_only = if role.any.contains(id) {
            false
        } else if role.own.contains(id) {
            true
        } else {
            return deny(DenyReason::MissingPermission);
        };
        let scopes = subject.scopes();
        if !scopes.allows(permission) {
            return deny(DenyReason::ScopeNotGranted);
        }
        let mut cross_tenant = false;
        if let Some(tenant) = resource.tenant() {
            let home = subject.tenant_id();
            if home.is_empty() || tenant != home {
                // The cross-tenant grant is the role's, never a scoped credential's.
                if role.cross_tenant && !scopes.is_limited() {
                    cross_tenant = true;
                } else {
                    return deny(DenyReason::WrongTenant);
                }
            }
        }
        if owner_only {
            let me = subject.user_id();
            if me.is_empty() || resource.owner() != Some(me) {
                return deny(DenyReason::NotOwner);
            }
        }
        let granted_by = self.role_name(role.granted_by.get(id).copied().unwrap_or(NO_ROLE));
        Decision::Allow(Grant {
            permission,
            role: role_name,
            granted_by,
            owner_only,
            cross_tenant,
        })
    }

    /// Like [`Policy::check`], as a `Result`: `Ok(())` when allowed, otherwise the typed
    /// [`AccessError`] (whose [`outcome`](AccessError::outcome) says 403 or 404).
    ///
    /// ```
    /// use agency_rbac::{presets, AccessError, Actor, Resource};
    ///
    /// let policy = presets::swarm();
    /// let viewer = Actor::new("u1", "acme", "viewer");
    /// policy.require(&viewer, "agents:read", Resource::in_tenant("acme"))?;
    /// let err = policy.require(&viewer, "config:write", Resource::in_tenant("acme")).unwrap_err();
    /// assert!(matches!(err, AccessError::Forbidden { .. }));
    /// # Ok::<(), AccessError>(())
    /// ```
    pub fn require<S: Subject + ?Sized>(
        &self,
        subject: &S,
        permission: &str,
        resource: Resource<'_>,
    ) -> Result<(), AccessError> {
        match self.check(subject, permission, resource) {
            Decision::Allow(_) => Ok(()),
            Decision::Deny(denial) => Err(AccessError::from(denial)),
        }
    }

    /// Whether [`Policy::check`] allows.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, Resource};
    /// let policy = presets::swarm();
    /// assert!(policy.is_allowed(&Actor::new("u1", "acme", "admin"), "audit:read", Resource::in_tenant("acme")));
    /// ```
    pub fn is_allowed<S: Subject + ?Sized>(
        &self,
        subject: &S,
        permission: &str,
        resource: Resource<'_>,
    ) -> bool {
        self.check(subject, permission, resource).is_allowed()
    }

    /// The permissions `subject` effectively holds in its own tenant: its role's (inherited
    /// included, owner-only ones too), intersected with its scopes. Empty for an unknown role.
    /// For `GET /me`-style answers and for showing what an API key can do.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor};
    ///
    /// let policy = presets::swarm();
    /// let key = Actor::new("u1", "acme", "viewer").with_scopes(["agents:read", "agents:delete"]);
    /// // agents:delete is in the key's scopes but not the owner's role: not effective.
    /// assert_eq!(policy.effective_permissions(&key).collect::<Vec<_>>(), ["agents:read"]);
    /// ```
    pub fn effective_permissions<'a, S: Subject + ?Sized>(
        &'a self,
        subject: &'a S,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let role = self.compiled_role(subject.role());
        let scopes = subject.scopes();
        (0..self.permissions.len()).filter_map(move |id| {
            let held = role.is_some_and(|r| r.any.contains(id) || r.own.contains(id));
            let name = self.permission_name(id);
            (held && scopes.allows(name)).then_some(name)
        })
    }
}

impl Policy {
    /// The scopes in `scopes` that name no permission of this policy (malformed names
    /// included). Such a scope grants nothing; a service creating an API key can refuse them
    /// up front (`422`) rather than store a scope that silently does nothing.
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// let requested = ["agents:read", "agents:*", "agents:fly"];
    /// assert_eq!(policy.unknown_scopes(&requested).collect::<Vec<_>>(), ["agents:*", "agents:fly"]);
    /// ```
    pub fn unknown_scopes<'s, S: AsRef<str>>(
        &self,
        scopes: &'s [S],
    ) -> impl Iterator<Item = &'s str> {
        scopes
            .iter()
            .map(AsRef::as_ref)
            .filter(|scope| !self.has_permission(scope))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Actor, DenyReason, Resource, presets};

    #[test]
    fn check_order_missing_permission_before_wrong_tenant() {
        // A viewer deleting a foreign agent learns only "forbidden", as for a missing one.
        let policy = presets::swarm();
        let viewer = Actor::new("u1", "acme", "viewer");
        let d = policy.check(&viewer, "agents:delete", Resource::in_tenant("globex"));
        assert_eq!(d.deny_reason(), Some(DenyReason::MissingPermission));
    }

    #[test]
    fn empty_tenant_subject_matches_no_tenant() {
        let policy = presets::swarm();
        let nobody = Actor::new("u1", "", "admin");
        let d = policy.check(&nobody, "agents:read", Resource::in_tenant(""));
        assert_eq!(d.deny_reason(), Some(DenyReason::WrongTenant));
    }

    #[test]
    fn empty_user_id_owns_nothing() {
        let policy = presets::swarm();
        let anon = Actor::new("", "acme", "operator");
        let d = policy.check(
            &anon,
            "keys:manage",
            Resource::in_tenant("acme").owned_by(""),
        );
        assert_eq!(d.deny_reason(), Some(DenyReason::NotOwner));
    }

    #[test]
    fn owner_only_without_owner_is_denied() {
        let policy = presets::swarm();
        let op = Actor::new("u1", "acme", "operator");
        let d = policy.check(&op, "keys:manage", Resource::in_tenant("acme"));
        assert_eq!(d.deny_reason(), Some(DenyReason::NotOwner));
    }

    #[test]
    fn granted_by_names_the_direct_holder() {
        let policy = presets::swarm();
        let sa = Actor::new("u1", "acme", "super_admin");
        let crate::Decision::Allow(g) =
            policy.check(&sa, "tasks:dispatch", Resource::in_tenant("acme"))
        else {
            panic!()
        };
        assert_eq!(g.granted_by, "operator");
        assert!(!g.cross_tenant);
    }
}
