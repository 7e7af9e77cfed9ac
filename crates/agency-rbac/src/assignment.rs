//! The role assignment guard: nobody creates, promotes or demotes anyone to a role above their
//! own, and nobody manages a user whose current role is above their own.
//!
//! # The rule
//!
//! An actor whose role is `A` may give (or manage a holder of) role `T` exactly when one of
//! these holds:
//!
//! 1. `T` is `A` itself (an admin may create another admin);
//! 2. `A` inherits from `T`, directly or transitively (so `T`'s permissions are all in `A`);
//! 3. both roles have a level, `level(T) < level(A)` strictly, **and** `T` grants nothing `A`
//!    lacks: every permission of `T` is held by `A` (an owner-only one at least owner-only, an
//!    unconditional one unconditionally), and `T` has the cross-tenant grant only if `A` does.
//!
//! Anything else is refused, in particular:
//! - a distinct role of the *same* level (a peer): ranking equal is not being "not above"
//!   when the peer may hold permissions the actor lacks, so peers cannot appoint each other;
//! - a lower-levelled role holding a permission the actor lacks (levels alone never grant
//!   more than the actor has);
//! - an unknown role, on either side.
//!
//! # Scoped credentials
//!
//! A scoped credential (an API key) holds only its owner's role intersected with its scopes,
//! so the role rule alone would let it give away more than it has: a key scoped to
//! `users:manage` could create an `admin` whose password its holder picks. For a scoped actor
//! the guard therefore also requires every permission of `T` to be among the key's scopes, and
//! `T` not to carry the cross-tenant grant (which no scope can name). The same bound applies to
//! minting keys: [`Policy::scopes_within`].
//!
//! The policy loader guarantees that a role with a level ranks strictly above every levelled
//! role it inherits from, directly or through unlevelled roles, so rules 2 and 3 never
//! disagree about levels.

use crate::error::AccessError;
use crate::permission::excerpt;
use crate::policy::{CompiledRole, Policy};
use crate::subject::{Scopes, Subject};

impl Policy {
    /// Whether role `actor_role` may give role `target_role` (see the module rule).
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// assert!(policy.may_assign("admin", "operator"));
    /// assert!(policy.may_assign("admin", "admin"));
    /// assert!(!policy.may_assign("admin", "super_admin"));
    /// assert!(!policy.may_assign("viewer", "operator"));
    /// ```
    pub fn may_assign(&self, actor_role: &str, target_role: &str) -> bool {
        match (
            self.compiled_role(actor_role),
            self.compiled_role(target_role),
        ) {
            (Some(actor), Some(target)) => self.not_above(actor, target),
            _ => false,
        }
    }

    fn not_above(&self, actor: &CompiledRole, target: &CompiledRole) -> bool {
        if actor.name == target.name {
            return true;
        }
        let target_id = self.role_index(&target.name);
        if target_id.is_some_and(|id| actor.ancestors.contains(id)) {
            return true;
        }
        let (Some(actor_level), Some(target_level)) = (actor.level, target.level) else {
            return false;
        };
        if target_level >= actor_level {
            return false;
        }
        target.any.is_subset_of(&actor.any)
            && target.own.is_subset_of_union(&actor.any, &actor.own)
            && (!target.cross_tenant || actor.cross_tenant)
    }

    /// Refuses unless `actor` may give role `role` to a new user, or manage (edit, delete) an
    /// existing user whose current role is `role`.
    ///
    /// ```
    /// use agency_rbac::{presets, AccessError, Actor};
    ///
    /// let policy = presets::swarm();
    /// let admin = Actor::new("u1", "acme", "admin");
    /// policy.check_assignment(&admin, "operator")?;
    /// assert!(matches!(
    ///     policy.check_assignment(&admin, "super_admin"),
    ///     Err(AccessError::RoleAboveOwn { .. })
    /// ));
    /// # Ok::<(), AccessError>(())
    /// ```
    pub fn check_assignment<S: Subject + ?Sized>(
        &self,
        actor: &S,
        role: &str,
    ) -> Result<(), AccessError> {
        let actor_role =
            self.compiled_role(actor.role())
                .ok_or_else(|| AccessError::UnknownRole {
                    role: excerpt(actor.role()),
                })?;
        let target = self
            .compiled_role(role)
            .ok_or_else(|| AccessError::UnknownRole {
                role: excerpt(role),
            })?;
        if !self.not_above(actor_role, target) {
            return Err(AccessError::RoleAboveOwn {
                actor_role: actor_role.name.to_string(),
                target_role: target.name.to_string(),
            });
        }
        let scopes = actor.scopes();
        if !scopes.is_limited() {
            return Ok(());
        }
        if target.cross_tenant {
            return Err(AccessError::ScopeNotHeld {
                what: "cross-tenant grant".to_owned(),
            });
        }
        // `not_above` has shown the actor's role holds all of `target`; what is left is that
        // the scopes let each of them through.
        match target
            .any
            .iter()
            .chain(target.own.iter())
            .map(|id| self.permission_name(id))
            .find(|name| !scopes.allows(name))
        {
            Some(name) => Err(AccessError::ScopeNotHeld {
                what: name.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses unless every scope in `requested` is among `actor`'s effective permissions
    /// ([`Policy::effective_permissions`]): the check before `actor` creates an API key with
    /// those scopes, so that no credential mints one broader than itself.
    ///
    /// [`Scopes::Unrestricted`] (a key that follows its owner's whole role) is allowed only to
    /// an unrestricted actor (a session); a scoped key asking for it is refused. A scope naming
    /// no permission of the policy is never held, so it is refused too (use
    /// [`Policy::unknown_scopes`] first to answer such requests with `422`).
    ///
    /// ```
    /// use agency_rbac::{presets, AccessError, Actor, Scopes};
    ///
    /// let policy = presets::swarm();
    /// let key = Actor::new("u1", "acme", "operator").with_scopes(["keys:manage", "agents:read"]);
    /// policy.scopes_within(&key, Scopes::Only(&["agents:read".to_owned()]))?;
    /// assert!(matches!(
    ///     policy.scopes_within(&key, Scopes::Only(&["tasks:dispatch".to_owned()])),
    ///     Err(AccessError::ScopeNotHeld { .. })
    /// ));
    /// assert!(policy.scopes_within(&key, Scopes::Unrestricted).is_err());
    /// # Ok::<(), AccessError>(())
    /// ```
    pub fn scopes_within<S: Subject + ?Sized>(
        &self,
        actor: &S,
        requested: Scopes<'_>,
    ) -> Result<(), AccessError> {
        let role = self
            .compiled_role(actor.role())
            .ok_or_else(|| AccessError::UnknownRole {
                role: excerpt(actor.role()),
            })?;
        let held = actor.scopes();
        let Scopes::Only(requested) = requested else {
            return if held.is_limited() {
                Err(AccessError::ScopeNotHeld {
                    what: "all permissions of the role".to_owned(),
                })
            } else {
                Ok(())
            };
        };
        let effective = |scope: &str| {
            self.permission_id(scope)
                .is_some_and(|id| role.any.contains(id) || role.own.contains(id))
                && held.allows(scope)
        };
        match requested.iter().find(|scope| !effective(scope)) {
            Some(scope) => Err(AccessError::ScopeNotHeld {
                what: excerpt(scope),
            }),
            None => Ok(()),
        }
    }

    /// Refuses unless `actor` may change a user's role from `current_role` to `new_role`:
    /// both must pass [`Policy::check_assignment`], so nobody promotes anyone above their own
    /// role, nor demotes someone who ranks above them.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor};
    ///
    /// let policy = presets::swarm();
    /// let admin = Actor::new("u1", "acme", "admin");
    /// assert!(policy.check_role_change(&admin, "viewer", "operator").is_ok());
    /// assert!(policy.check_role_change(&admin, "super_admin", "viewer").is_err()); // demoting a superior
    /// assert!(policy.check_role_change(&admin, "viewer", "super_admin").is_err()); // promoting above self
    /// ```
    pub fn check_role_change<S: Subject + ?Sized>(
        &self,
        actor: &S,
        current_role: &str,
        new_role: &str,
    ) -> Result<(), AccessError> {
        self.check_assignment(actor, current_role)?;
        self.check_assignment(actor, new_role)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Actor, Policy, PolicyBuilder, presets};

    #[test]
    fn swarm_guard_matrix() {
        let policy = presets::swarm();
        let order = ["viewer", "operator", "admin", "super_admin"];
        for (i, actor) in order.iter().enumerate() {
            for (j, target) in order.iter().enumerate() {
                assert_eq!(
                    policy.may_assign(actor, target),
                    j <= i,
                    "{actor} -> {target}"
                );
            }
        }
    }

    #[test]
    fn five_level_guard_follows_levels() {
        let policy = presets::five_level();
        let order = ["readonly", "user", "manager", "admin", "super_admin"];
        for (i, actor) in order.iter().enumerate() {
            for (j, target) in order.iter().enumerate() {
                assert_eq!(
                    policy.may_assign(actor, target),
                    j <= i,
                    "{actor} -> {target}"
                );
            }
        }
    }

    #[test]
    fn equal_level_peer_cannot_be_assigned() {
        let policy = PolicyBuilder::new()
            .role("sales", |r| r.level(50).grant("deals:read"))
            .role("support", |r| r.level(50).grant("tickets:read"))
            .build()
            .unwrap();
        assert!(!policy.may_assign("sales", "support"));
        assert!(policy.may_assign("sales", "sales"));
    }

    #[test]
    fn lower_level_with_extra_permission_cannot_be_assigned() {
        let policy = PolicyBuilder::new()
            .role("lead", |r| r.level(60).grant("deals:read"))
            .role("intern", |r| r.level(10).grant("payroll:read"))
            .role("trainee", |r| r.level(10).grant("deals:read"))
            .build()
            .unwrap();
        assert!(!policy.may_assign("lead", "intern"));
        assert!(policy.may_assign("lead", "trainee"));
    }

    #[test]
    fn lower_level_cross_tenant_role_cannot_be_assigned_by_tenant_bound_actor() {
        let policy = PolicyBuilder::new()
            .role("boss", |r| r.level(60).grant("a:read"))
            .role("roamer", |r| r.level(10).grant("a:read").cross_tenant())
            .build()
            .unwrap();
        assert!(!policy.may_assign("boss", "roamer"));
    }

    #[test]
    fn unrelated_roles_without_levels_cannot_be_assigned() {
        let policy: Policy = PolicyBuilder::new()
            .role("a", |r| r.grant("x:read"))
            .role("b", |r| r)
            .build()
            .unwrap();
        assert!(!policy.may_assign("a", "b"));
    }

    #[test]
    fn unknown_roles_are_refused() {
        let policy = presets::swarm();
        assert!(!policy.may_assign("admin", "root"));
        assert!(!policy.may_assign("root", "viewer"));
        assert!(
            policy
                .check_assignment(&Actor::new("u", "t", "root"), "viewer")
                .is_err()
        );
    }
}
