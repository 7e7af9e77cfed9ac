//! Errors: [`PolicyError`] when a policy is loaded or written, [`AccessError`] when a request
//! is refused.

use crate::decision::{Denial, DenyReason, Outcome};
use crate::permission::NameError;
use agency_error_kind::ErrorKind;

/// A policy that could not be loaded, compiled or serialised. Every variant names the role or
/// permission at fault.
///
/// ```
/// use agency_rbac::{PolicyError, Policy};
///
/// let err = Policy::from_toml("[roles.admin]\ninherits = [\"ghost\"]\n").unwrap_err();
/// assert!(matches!(err, PolicyError::UnknownRole { ref role, .. } if role == "ghost"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is not valid TOML or JSON, or does not have the policy's shape.
    #[error("invalid {format} policy: {message}")]
    Parse {
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// The parser's explanation (with line and column where it has them).
        message: String,
    },
    /// The policy could not be written out.
    #[error("cannot serialise the policy as {format}: {message}")]
    Serialize {
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// The serialiser's explanation.
        message: String,
    },
    /// A permission name is malformed.
    #[error("invalid permission {permission:?}: {reason}")]
    InvalidPermission {
        /// The refused name (shortened when very long).
        permission: String,
        /// What is wrong with it.
        reason: NameError,
    },
    /// A role name is malformed.
    #[error("invalid role name {role:?}: {reason}")]
    InvalidRoleName {
        /// The refused name (shortened when very long).
        role: String,
        /// What is wrong with it.
        reason: NameError,
    },
    /// A role inherits from a role the policy does not define.
    #[error("role {referenced_by:?} inherits from unknown role {role:?}")]
    UnknownRole {
        /// The missing role.
        role: String,
        /// The role that names it.
        referenced_by: String,
    },
    /// Role inheritance loops back on itself.
    #[error("role inheritance cycle: {}", .path.join(" -> "))]
    InheritanceCycle {
        /// The roles on the cycle, the first repeated at the end.
        path: Vec<String>,
    },
    /// A role with a level inherits from a role whose level is not lower.
    #[error(
        "role {role:?} (level {level}) inherits from {inherits:?} (level {inherited_level}); an inheriting role must rank strictly higher"
    )]
    LevelNotAbove {
        /// The inheriting role.
        role: String,
        /// Its level.
        level: u32,
        /// The inherited role.
        inherits: String,
        /// The inherited role's level.
        inherited_level: u32,
    },
    /// A role lists the same permission both unconditionally and as owner-only.
    #[error("role {role:?} grants {permission:?} both in `permissions` and in `own_permissions`")]
    ConflictingGrant {
        /// The role.
        role: String,
        /// The permission listed twice.
        permission: String,
    },
    /// More roles than a policy may hold.
    #[error("the policy defines {count} roles; at most {max} are allowed")]
    TooManyRoles {
        /// Roles in the document.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More distinct permissions than a policy may hold.
    #[error("the policy names {count} permissions; at most {max} are allowed")]
    TooManyPermissions {
        /// Distinct permissions in the document.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl PolicyError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_rbac::{ErrorKind, Policy};
    /// let err = Policy::from_toml("[roles.a]\ninherits = [\"ghost\"]").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Parse { .. }
            | Self::InvalidPermission { .. }
            | Self::InvalidRoleName { .. }
            | Self::UnknownRole { .. }
            | Self::InheritanceCycle { .. }
            | Self::LevelNotAbove { .. }
            | Self::ConflictingGrant { .. }
            | Self::TooManyRoles { .. }
            | Self::TooManyPermissions { .. } => ErrorKind::InvalidInput,
            Self::Serialize { .. } => ErrorKind::Internal,
        }
    }
}

/// A refused request: the typed error of `require`, the tenant override and the assignment
/// guard. [`AccessError::outcome`] says whether to answer 403 or 404.
///
/// The `Display` text names the permission and reason for logs; do not send it to clients of a
/// `NotFound` outcome (answer a plain "not found", as for a missing resource).
///
/// ```
/// use agency_rbac::{presets, AccessError, Actor, Outcome, Resource};
///
/// let policy = presets::swarm();
/// let admin = Actor::new("u1", "acme", "admin");
/// let err = policy.require(&admin, "agents:read", Resource::in_tenant("globex")).unwrap_err();
/// assert_eq!(err.outcome(), Outcome::NotFound);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// Refused openly (403).
    #[error("forbidden: {permission} for role {role}: {reason}")]
    Forbidden {
        /// The permission checked.
        permission: String,
        /// The subject's role.
        role: String,
        /// Why.
        reason: DenyReason,
    },
    /// Refused as if the resource did not exist (404).
    #[error("not found: {permission} for role {role}: {reason}")]
    NotFound {
        /// The permission checked.
        permission: String,
        /// The subject's role.
        role: String,
        /// Why.
        reason: DenyReason,
    },
    /// A tenant override named another tenant without the cross-tenant grant (403).
    #[error("role {role} may not act in tenant {requested:?}")]
    TenantOverrideRefused {
        /// The subject's role.
        role: String,
        /// The tenant asked for.
        requested: String,
    },
    /// The assignment guard refused to give a role above the actor's own (403).
    #[error("role {actor_role} may not assign or manage role {target_role}")]
    RoleAboveOwn {
        /// The actor's role.
        actor_role: String,
        /// The role being given, or the current role of the user being managed.
        target_role: String,
    },
    /// A role named in the request is not in the policy (403).
    #[error("unknown role {role}")]
    UnknownRole {
        /// The missing role.
        role: String,
    },
    /// A scoped credential (an API key) tried to hand out more than its own effective
    /// permissions: assign a role, or mint a key, holding something outside its scopes (403).
    /// See [`Policy::check_assignment`](crate::Policy::check_assignment) and
    /// [`Policy::scopes_within`](crate::Policy::scopes_within).
    #[error("the credential does not hold {what}")]
    ScopeNotHeld {
        /// The first permission found outside the credential's effective permissions; or
        /// `cross-tenant grant` (no scope can name it), or `all permissions of the role` (a
        /// scoped credential asking for an unscoped key).
        what: String,
    },
}

impl AccessError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, ErrorKind, Resource};
    /// let admin = Actor::new("u1", "acme", "admin");
    /// let policy = presets::swarm();
    /// let other = policy.require(&admin, "agents:read", Resource::in_tenant("globex"));
    /// assert_eq!(other.unwrap_err().kind(), ErrorKind::NotFound); // as if it did not exist
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Forbidden { .. }
            | Self::TenantOverrideRefused { .. }
            | Self::RoleAboveOwn { .. }
            | Self::UnknownRole { .. }
            | Self::ScopeNotHeld { .. } => ErrorKind::Forbidden,
        }
    }
}

impl AccessError {
    /// Whether to answer 403 ([`Outcome::Forbidden`]) or 404 ([`Outcome::NotFound`]).
    ///
    /// ```
    /// use agency_rbac::{AccessError, Outcome};
    /// let e = AccessError::UnknownRole { role: "ghost".into() };
    /// assert_eq!(e.outcome(), Outcome::Forbidden);
    /// ```
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::NotFound { .. } => Outcome::NotFound,
            Self::Forbidden { .. }
            | Self::TenantOverrideRefused { .. }
            | Self::RoleAboveOwn { .. }
            | Self::UnknownRole { .. }
            | Self::ScopeNotHeld { .. } => Outcome::Forbidden,
        }
    }

    /// The deny reason, for errors that came from a check or the tenant override.
    ///
    /// ```
    /// use agency_rbac::AccessError;
    /// let e = AccessError::UnknownRole { role: "ghost".into() };
    /// assert_eq!(e.deny_reason(), None);
    /// ```
    pub fn deny_reason(&self) -> Option<DenyReason> {
        match self {
            Self::Forbidden { reason, .. } | Self::NotFound { reason, .. } => Some(*reason),
            Self::TenantOverrideRefused { .. } => Some(DenyReason::TenantOverrideNotGranted),
            Self::RoleAboveOwn { .. } | Self::UnknownRole { .. } | Self::ScopeNotHeld { .. } => {
                None
            }
        }
    }
}

impl From<Denial<'_>> for AccessError {
    fn from(denial: Denial<'_>) -> Self {
        let permission = denial.permission.to_owned();
        let role = denial.role.to_owned();
        match denial.reason.outcome() {
            Outcome::NotFound => Self::NotFound {
                permission,
                role,
                reason: denial.reason,
            },
            Outcome::Forbidden | Outcome::Allowed => Self::Forbidden {
                permission,
                role,
                reason: denial.reason,
            },
        }
    }
}
