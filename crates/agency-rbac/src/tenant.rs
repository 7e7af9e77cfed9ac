//! Tenant overrides: which tenant a request acts in when it names one (as the swarm API's
//! `X-Tenant-Id` header does).
//!
//! Guarantee: only a subject whose role holds the cross-tenant grant, on an unscoped
//! credential, can act in a tenant other than its own; anyone else naming another tenant is
//! refused openly ([`Outcome::Forbidden`](crate::Outcome::Forbidden), HTTP 403). Naming one's
//! own tenant is always accepted.

use crate::error::AccessError;
use crate::permission::excerpt;
use crate::policy::Policy;
use crate::subject::Subject;

impl Policy {
    /// The tenant `subject` acts in, given the tenant the request names (`None` when it names
    /// none).
    ///
    /// ```
    /// use agency_rbac::{presets, AccessError, Actor};
    ///
    /// let policy = presets::swarm();
    /// let admin = Actor::new("u1", "acme", "admin");
    /// let root = Actor::new("u2", "acme", "super_admin");
    ///
    /// assert_eq!(policy.acting_tenant(&admin, None)?, "acme");
    /// assert_eq!(policy.acting_tenant(&admin, Some("acme"))?, "acme");
    /// assert!(matches!(
    ///     policy.acting_tenant(&admin, Some("globex")),
    ///     Err(AccessError::TenantOverrideRefused { .. })
    /// ));
    /// assert_eq!(policy.acting_tenant(&root, Some("globex"))?, "globex");
    /// # Ok::<(), AccessError>(())
    /// ```
    pub fn acting_tenant<'a, S: Subject + ?Sized>(
        &self,
        subject: &'a S,
        requested: Option<&'a str>,
    ) -> Result<&'a str, AccessError> {
        let home = subject.tenant_id();
        let Some(requested) = requested else {
            return Ok(home);
        };
        if !home.is_empty() && requested == home {
            return Ok(home);
        }
        let Some(role) = self.compiled_role(subject.role()) else {
            return Err(AccessError::UnknownRole {
                role: excerpt(subject.role()),
            });
        };
        if role.cross_tenant && !subject.scopes().is_limited() && !requested.is_empty() {
            return Ok(requested);
        }
        Err(AccessError::TenantOverrideRefused {
            role: role.name.to_string(),
            requested: excerpt(requested),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{AccessError, Actor, Outcome, presets};

    #[test]
    fn admin_naming_another_tenant_is_forbidden_not_hidden() {
        let policy = presets::swarm();
        let err = policy
            .acting_tenant(&Actor::new("u", "acme", "admin"), Some("globex"))
            .unwrap_err();
        assert_eq!(err.outcome(), Outcome::Forbidden);
    }

    #[test]
    fn scoped_key_of_super_admin_cannot_switch_tenant() {
        let policy = presets::swarm();
        let key = Actor::new("u", "acme", "super_admin").with_scopes(["agents:read"]);
        assert!(matches!(
            policy.acting_tenant(&key, Some("globex")),
            Err(AccessError::TenantOverrideRefused { .. })
        ));
        assert_eq!(policy.acting_tenant(&key, Some("acme")).unwrap(), "acme");
    }

    #[test]
    fn empty_override_is_refused() {
        let policy = presets::swarm();
        let root = Actor::new("u", "acme", "super_admin");
        assert!(policy.acting_tenant(&root, Some("")).is_err());
    }

    #[test]
    fn unknown_role_cannot_switch_tenant() {
        let policy = presets::swarm();
        let ghost = Actor::new("u", "acme", "ghost");
        assert!(matches!(
            policy.acting_tenant(&ghost, Some("globex")),
            Err(AccessError::UnknownRole { .. })
        ));
    }
}
