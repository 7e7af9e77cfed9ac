//! Building a policy in Rust: the same document as a TOML file, written with method calls.

use super::Policy;
use super::spec::{PolicySpec, RoleSpec};
use crate::error::PolicyError;

/// Builds a [`PolicySpec`] (and compiles it) in Rust.
///
/// ```
/// use agency_rbac::{Actor, PolicyBuilder, Resource};
///
/// let policy = PolicyBuilder::new()
///     .role("viewer", |r| r.grant("agents:read"))
///     .role("operator", |r| r.inherits("viewer").grant("tasks:dispatch").grant_own("keys:manage"))
///     .role("root", |r| r.inherits("operator").cross_tenant())
///     .build()?;
/// let root = Actor::new("u1", "acme", "root");
/// assert!(policy.check(&root, "agents:read", Resource::in_tenant("globex")).is_allowed());
/// # Ok::<(), agency_rbac::PolicyError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct PolicyBuilder {
    spec: PolicySpec,
}

/// Describes one role inside [`PolicyBuilder::role`].
///
/// ```
/// let policy = agency_rbac::PolicyBuilder::new()
///     .role("user", |r| r.level(40).grant("profile:read"))
///     .build()?;
/// assert_eq!(policy.role("user").unwrap().level(), Some(40));
/// # Ok::<(), agency_rbac::PolicyError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RoleBuilder {
    role: RoleSpec,
}

impl PolicyBuilder {
    /// An empty policy.
    ///
    /// ```
    /// let policy = agency_rbac::PolicyBuilder::new().build()?;
    /// assert_eq!(policy.roles().count(), 0);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from an existing document, for example a preset's, to extend it.
    ///
    /// ```
    /// use agency_rbac::{presets, PolicyBuilder};
    ///
    /// let policy = PolicyBuilder::from_spec(presets::swarm().spec().clone())
    ///     .role("auditor", |r| r.grant("audit:read"))
    ///     .build()?;
    /// assert!(policy.role_holds("auditor", "audit:read"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn from_spec(spec: PolicySpec) -> Self {
        Self { spec }
    }

    /// Defines role `name` (replacing any earlier definition of it).
    ///
    /// ```
    /// let policy = agency_rbac::PolicyBuilder::new().role("viewer", |r| r.grant("a:read")).build()?;
    /// assert!(policy.role_holds("viewer", "a:read"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn role(
        mut self,
        name: impl Into<String>,
        define: impl FnOnce(RoleBuilder) -> RoleBuilder,
    ) -> Self {
        let role = define(RoleBuilder::default()).role;
        self.spec.roles.insert(name.into(), role);
        self
    }

    /// Declares a permission no role needs to hold (so checks of it are `missing_permission`
    /// rather than `unknown_permission`).
    ///
    /// ```
    /// let policy = agency_rbac::PolicyBuilder::new().permission("billing:export").build()?;
    /// assert!(policy.has_permission("billing:export"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn permission(mut self, name: impl Into<String>) -> Self {
        self.spec.permissions.push(name.into());
        self
    }

    /// The document built so far.
    ///
    /// ```
    /// let spec = agency_rbac::PolicyBuilder::new().role("viewer", |r| r).into_spec();
    /// assert!(spec.roles.contains_key("viewer"));
    /// ```
    pub fn into_spec(self) -> PolicySpec {
        self.spec
    }

    /// Validates and compiles the policy.
    ///
    /// ```
    /// let err = agency_rbac::PolicyBuilder::new().role("a", |r| r.inherits("b")).build();
    /// assert!(err.is_err());
    /// ```
    pub fn build(self) -> Result<Policy, PolicyError> {
        Policy::compile(&self.spec)
    }
}

impl RoleBuilder {
    /// Inherit every permission (and the cross-tenant grant) of role `parent`.
    ///
    /// ```
    /// let p = agency_rbac::PolicyBuilder::new()
    ///     .role("a", |r| r.grant("x:read"))
    ///     .role("b", |r| r.inherits("a"))
    ///     .build()?;
    /// assert!(p.role_holds("b", "x:read"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn inherits(mut self, parent: impl Into<String>) -> Self {
        self.role.inherits.push(parent.into());
        self
    }

    /// Grant `permission` on every resource of the subject's tenant.
    ///
    /// ```
    /// let p = agency_rbac::PolicyBuilder::new().role("a", |r| r.grant("x:read")).build()?;
    /// assert!(p.role_holds("a", "x:read"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn grant(mut self, permission: impl Into<String>) -> Self {
        self.role.permissions.push(permission.into());
        self
    }

    /// Grant `permission` only on resources the subject owns.
    ///
    /// ```
    /// use agency_rbac::Condition;
    /// let p = agency_rbac::PolicyBuilder::new().role("a", |r| r.grant_own("keys:manage")).build()?;
    /// assert_eq!(p.role("a").unwrap().holds("keys:manage"), Some(Condition::OwnerOnly));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn grant_own(mut self, permission: impl Into<String>) -> Self {
        self.role.own_permissions.push(permission.into());
        self
    }

    /// Give the role a level (rank).
    ///
    /// ```
    /// let p = agency_rbac::PolicyBuilder::new().role("a", |r| r.level(10)).build()?;
    /// assert_eq!(p.role("a").unwrap().level(), Some(10));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn level(mut self, level: u32) -> Self {
        self.role.level = Some(level);
        self
    }

    /// Give the role the explicit grant to act in any tenant.
    ///
    /// ```
    /// let p = agency_rbac::PolicyBuilder::new().role("root", |r| r.cross_tenant()).build()?;
    /// assert!(p.role("root").unwrap().cross_tenant());
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn cross_tenant(mut self) -> Self {
        self.role.cross_tenant = true;
        self
    }
}
