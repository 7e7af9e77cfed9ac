//! The answer to a check: allowed or denied, why, and which rule decided, ready for an audit log.
//!
//! A [`Decision`] is `Copy` and borrows its strings from the policy and the check's inputs, so
//! producing one allocates nothing. Render it with `Display` for a log line or serialise it
//! (serde) into an audit event.

use std::fmt;

use serde::Serialize;

use crate::error::AccessError;

/// What the caller should answer.
///
/// ```
/// use agency_rbac::{DenyReason, Outcome};
///
/// assert_eq!(DenyReason::WrongTenant.outcome(), Outcome::NotFound);
/// assert_eq!(DenyReason::MissingPermission.outcome(), Outcome::Forbidden);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Go ahead.
    Allowed,
    /// Refuse openly (HTTP 403): the subject may know the resource exists.
    Forbidden,
    /// Refuse as if the resource did not exist (HTTP 404), so its existence is not revealed.
    NotFound,
}

/// Why a check was denied.
///
/// ```
/// assert_eq!(agency_rbac::DenyReason::ScopeNotGranted.as_str(), "scope_not_granted");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyReason {
    /// The subject's role is not in the policy.
    UnknownRole,
    /// The permission is not in the policy (a typo in the caller, or a removed permission).
    UnknownPermission,
    /// The role does not hold the permission.
    MissingPermission,
    /// The role holds it, but the credential's scopes do not include it.
    ScopeNotGranted,
    /// The resource belongs to another tenant and the subject has no cross-tenant grant.
    WrongTenant,
    /// The role holds the permission only on resources the subject owns, and this one is not
    /// (or its owner was not given).
    NotOwner,
    /// A tenant override (`X-Tenant-Id`) named another tenant without the cross-tenant grant.
    TenantOverrideNotGranted,
}

impl DenyReason {
    /// The stable snake_case name (as serialised).
    ///
    /// ```
    /// assert_eq!(agency_rbac::DenyReason::NotOwner.as_str(), "not_owner");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownRole => "unknown_role",
            Self::UnknownPermission => "unknown_permission",
            Self::MissingPermission => "missing_permission",
            Self::ScopeNotGranted => "scope_not_granted",
            Self::WrongTenant => "wrong_tenant",
            Self::NotOwner => "not_owner",
            Self::TenantOverrideNotGranted => "tenant_override_not_granted",
        }
    }

    /// What the caller answers for this reason: [`Outcome::NotFound`] for a foreign tenant's
    /// resource or someone else's owner-only resource (never revealing that it exists),
    /// [`Outcome::Forbidden`] otherwise.
    ///
    /// ```
    /// use agency_rbac::{DenyReason, Outcome};
    /// assert_eq!(DenyReason::NotOwner.outcome(), Outcome::NotFound);
    /// ```
    pub const fn outcome(self) -> Outcome {
        match self {
            Self::WrongTenant | Self::NotOwner => Outcome::NotFound,
            Self::UnknownRole
            | Self::UnknownPermission
            | Self::MissingPermission
            | Self::ScopeNotGranted
            | Self::TenantOverrideNotGranted => Outcome::Forbidden,
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule that allowed a check.
///
/// ```
/// use agency_rbac::{presets, Actor, Decision, Resource};
///
/// let policy = presets::swarm();
/// let admin = Actor::new("u1", "acme", "admin");
/// let Decision::Allow(grant) = policy.check(&admin, "agents:read", Resource::in_tenant("acme")) else {
///     unreachable!()
/// };
/// assert_eq!(grant.granted_by, "viewer"); // inherited from the role that holds it directly
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Grant<'a> {
    /// The permission checked.
    pub permission: &'a str,
    /// The subject's role.
    pub role: &'a str,
    /// The role whose own grant matched: the subject's role, or the role it inherits it from.
    pub granted_by: &'a str,
    /// The grant holds only on resources the subject owns (and this one is theirs).
    pub owner_only: bool,
    /// The resource is in another tenant, reached through the cross-tenant grant.
    pub cross_tenant: bool,
}

/// Why a check was refused.
///
/// ```
/// use agency_rbac::{presets, Actor, Decision, DenyReason, Resource};
///
/// let policy = presets::swarm();
/// let viewer = Actor::new("u1", "acme", "viewer");
/// let Decision::Deny(denial) = policy.check(&viewer, "agents:delete", Resource::in_tenant("acme")) else {
///     unreachable!()
/// };
/// assert_eq!(denial.reason, DenyReason::MissingPermission);
/// assert_eq!(denial.permission, "agents:delete");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Denial<'a> {
    /// The permission checked.
    pub permission: &'a str,
    /// The subject's role.
    pub role: &'a str,
    /// Why.
    pub reason: DenyReason,
}

/// The result of [`Policy::check`](crate::Policy::check).
///
/// ```
/// use agency_rbac::{presets, Actor, Outcome, Resource};
///
/// let policy = presets::swarm();
/// let admin = Actor::new("u1", "acme", "admin");
/// let d = policy.check(&admin, "agents:read", Resource::in_tenant("other"));
/// assert!(!d.is_allowed());
/// assert_eq!(d.outcome(), Outcome::NotFound);
/// assert_eq!(d.to_string(), "deny agents:read to role admin: wrong_tenant");
/// assert_eq!(
///     serde_json::to_string(&d).unwrap(),
///     r#"{"decision":"deny","permission":"agents:read","role":"admin","reason":"wrong_tenant"}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[must_use = "a decision must be acted on"]
pub enum Decision<'a> {
    /// Allowed, by this rule.
    Allow(Grant<'a>),
    /// Denied, for this reason.
    Deny(Denial<'a>),
}

impl<'a> Decision<'a> {
    /// Whether the check passed.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, Resource};
    /// let (policy, actor) = (presets::swarm(), Actor::new("u", "t", "viewer"));
    /// let d = policy.check(&actor, "tasks:read", Resource::in_tenant("t"));
    /// assert!(d.is_allowed());
    /// ```
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// What the caller answers.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, Outcome, Resource};
    /// let (policy, actor) = (presets::swarm(), Actor::new("u", "t", "viewer"));
    /// let d = policy.check(&actor, "users:read", Resource::in_tenant("t"));
    /// assert_eq!(d.outcome(), Outcome::Forbidden);
    /// ```
    pub const fn outcome(&self) -> Outcome {
        match self {
            Self::Allow(_) => Outcome::Allowed,
            Self::Deny(denial) => denial.reason.outcome(),
        }
    }

    /// The reason for a denial, `None` when allowed.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, DenyReason, Resource};
    /// let (policy, actor) = (presets::swarm(), Actor::new("u", "t", "ghost"));
    /// let d = policy.check(&actor, "tasks:read", Resource::global());
    /// assert_eq!(d.deny_reason(), Some(DenyReason::UnknownRole));
    /// ```
    pub const fn deny_reason(&self) -> Option<DenyReason> {
        match self {
            Self::Allow(_) => None,
            Self::Deny(denial) => Some(denial.reason),
        }
    }

    /// The permission that was checked.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, Resource};
    /// let (policy, actor) = (presets::swarm(), Actor::new("u", "t", "viewer"));
    /// let d = policy.check(&actor, "tasks:read", Resource::global());
    /// assert_eq!(d.permission(), "tasks:read");
    /// ```
    pub const fn permission(&self) -> &'a str {
        match self {
            Self::Allow(grant) => grant.permission,
            Self::Deny(denial) => denial.permission,
        }
    }

    /// `Ok(grant)` when allowed, otherwise the typed error [`AccessError`] (owned, so it can
    /// outlive the policy snapshot).
    ///
    /// ```
    /// use agency_rbac::{presets, AccessError, Actor, Resource};
    /// let (policy, actor) = (presets::swarm(), Actor::new("u", "t", "viewer"));
    /// let d = policy.check(&actor, "users:manage", Resource::global());
    /// assert!(matches!(d.into_result(), Err(AccessError::Forbidden { .. })));
    /// ```
    pub fn into_result(self) -> Result<Grant<'a>, AccessError> {
        match self {
            Self::Allow(grant) => Ok(grant),
            Self::Deny(denial) => Err(AccessError::from(denial)),
        }
    }
}

impl fmt::Display for Grant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allow {} to role {} (granted by {}",
            self.permission, self.role, self.granted_by
        )?;
        if self.owner_only {
            f.write_str(", owner only")?;
        }
        if self.cross_tenant {
            f.write_str(", cross-tenant")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Denial<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deny {} to role {}: {}",
            self.permission, self.role, self.reason
        )
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow(grant) => grant.fmt(f),
            Self::Deny(denial) => denial.fmt(f),
        }
    }
}
