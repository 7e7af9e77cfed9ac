//! Role-based access control: permissions, a role hierarchy, tenant isolation, policy as data,
//! and decisions that say why.
//!
//! - **Permissions** are `resource:action` names, validated when a policy loads.
//! - **Roles** hold permissions and inherit from lower roles; the inheritance graph must be
//!   acyclic and name only defined roles, or the policy does not load. Roles may have numeric
//!   levels. A permission can be granted only on resources the subject owns.
//! - **Policies** load from TOML or JSON ([`Policy::from_toml`], [`Policy::from_json`]; the
//!   format is described in `docs/rbac.md`), are built in Rust ([`PolicyBuilder`]), or come
//!   from [`presets`]. A [`LivePolicy`] swaps in a new policy atomically at run time.
//! - **Checks** ([`Policy::check`]) take a [`Subject`] (role, tenant, user id, scopes), a
//!   permission name and a [`Resource`] (tenant, owner), and return a [`Decision`]: allowed,
//!   with the rule that matched, or denied, with a [`DenyReason`]. Deny by default. A check
//!   allocates nothing and its cost does not grow with the policy: every role's effective
//!   permissions are precompiled into a bit set.
//! - **Tenants**: a subject acts only in its own tenant unless its role holds the cross-tenant
//!   grant; another tenant's resource is denied as [`Outcome::NotFound`], never revealing it
//!   exists. [`Policy::acting_tenant`] resolves a tenant override header.
//! - **Scoped credentials** (API keys): the owner's current role permissions intersected with
//!   the key's scopes.
//! - **Role assignment guard**: [`Policy::check_assignment`] and [`Policy::check_role_change`]
//!   refuse to give anyone a role above the actor's own.
//!
//! ```
//! use agency_rbac::{presets, Actor, DenyReason, Outcome, Resource};
//!
//! let policy = presets::swarm();
//! let operator = Actor::new("u1", "acme", "operator");
//!
//! let decision = policy.check(&operator, "tasks:dispatch", Resource::in_tenant("acme"));
//! assert!(decision.is_allowed());
//! assert_eq!(decision.to_string(), "allow tasks:dispatch to role operator (granted by operator)");
//!
//! let decision = policy.check(&operator, "users:manage", Resource::in_tenant("acme"));
//! assert_eq!(decision.deny_reason(), Some(DenyReason::MissingPermission));
//! assert_eq!(decision.outcome(), Outcome::Forbidden);
//!
//! // An API key of the same operator, scoped to reading.
//! let key = Actor::new("u1", "acme", "operator").with_scopes(["agents:read"]);
//! let decision = policy.check(&key, "tasks:dispatch", Resource::in_tenant("acme"));
//! assert_eq!(decision.deny_reason(), Some(DenyReason::ScopeNotGranted));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod assignment;
mod bitset;
mod decision;
mod error;
mod live;
mod name_map;
mod permission;
mod policy;
pub mod presets;
mod subject;
mod tenant;

/// The Rust examples of `docs/rbac.md`, compiled and run as doc tests so the guide stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/rbac.md")]
pub struct RbacGuide;

pub use agency_error_kind::ErrorKind;
pub use decision::{Decision, Denial, DenyReason, Grant, Outcome};
pub use error::{AccessError, PolicyError};
pub use live::{LivePolicy, PolicyGuard};
pub use permission::{
    MAX_PERMISSION_LEN, MAX_ROLE_NAME_LEN, NameError, Permission, validate_permission,
    validate_role_name,
};
pub use policy::{
    Condition, MAX_PERMISSIONS, MAX_ROLES, Policy, PolicyBuilder, PolicySpec, RoleBuilder,
    RoleSpec, RoleView,
};
pub use subject::{Actor, Resource, Scopes, Subject};
