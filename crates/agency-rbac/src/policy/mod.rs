//! The compiled [`Policy`] and the documents it is made from.
//!
//! Guarantees: a `Policy` value always passed validation (well-formed names, no unknown role,
//! no inheritance cycle, consistent levels); every role's effective permissions, inherited ones
//! included, are precomputed, so a check costs the same whatever the policy's size; and a
//! policy serialises to a document that loads back into an equal policy.

mod builder;
mod check;
mod compile;
mod spec;

use std::fmt;

pub use builder::{PolicyBuilder, RoleBuilder};
pub use compile::{MAX_PERMISSIONS, MAX_ROLES};
pub use spec::{PolicySpec, RoleSpec};

use crate::bitset::BitSet;
use crate::error::PolicyError;
use crate::name_map::NameTable;

/// `granted_by` marker for a permission the role does not hold.
pub(crate) const NO_ROLE: u16 = u16::MAX;

/// One role, compiled.
pub(crate) struct CompiledRole {
    pub(crate) name: Box<str>,
    pub(crate) level: Option<u32>,
    /// Holds the cross-tenant grant (directly or inherited).
    pub(crate) cross_tenant: bool,
    /// Permissions held on any resource.
    pub(crate) any: BitSet,
    /// Permissions held only on owned resources; disjoint from `any`.
    pub(crate) own: BitSet,
    /// For each permission id, the role whose direct grant it comes from.
    pub(crate) granted_by: Box<[u16]>,
    /// Roles this role inherits from, transitively (not itself).
    pub(crate) ancestors: BitSet,
}

/// A validated, compiled policy: what checks run against.
///
/// Build one from a document ([`Policy::from_toml`], [`Policy::from_json`]), in Rust
/// ([`PolicyBuilder`]), or take a preset ([`crate::presets`]). To change the policy of a
/// running service, compile the new one and swap it into a [`LivePolicy`](crate::LivePolicy).
///
/// ```
/// use agency_rbac::{Actor, Policy, Resource};
///
/// let policy = Policy::from_toml(r#"
///     [roles.viewer]
///     permissions = ["agents:read"]
///     [roles.admin]
///     inherits = ["viewer"]
///     permissions = ["agents:delete"]
/// "#)?;
/// let viewer = Actor::new("u1", "acme", "viewer");
/// assert!(policy.check(&viewer, "agents:read", Resource::in_tenant("acme")).is_allowed());
/// assert!(!policy.check(&viewer, "agents:delete", Resource::in_tenant("acme")).is_allowed());
/// # Ok::<(), agency_rbac::PolicyError>(())
/// ```
pub struct Policy {
    /// Canonical document this policy was compiled from.
    spec: PolicySpec,
    /// Permission names by id.
    permissions: Box<[Box<str>]>,
    permission_ids: NameTable,
    roles: Box<[CompiledRole]>,
    role_ids: NameTable,
}

/// Whether a role holds a permission everywhere or only on what the subject owns.
///
/// ```
/// use agency_rbac::{presets, Condition};
///
/// let policy = presets::swarm();
/// let operator = policy.role("operator").unwrap();
/// assert_eq!(operator.holds("keys:manage"), Some(Condition::OwnerOnly));
/// assert_eq!(operator.holds("agents:read"), Some(Condition::Always));
/// assert_eq!(operator.holds("users:manage"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// On every resource of the subject's tenant.
    Always,
    /// Only on resources whose owner is the subject.
    OwnerOnly,
}

/// A read-only view of one compiled role.
///
/// ```
/// let policy = agency_rbac::presets::five_level();
/// let manager = policy.role("manager").unwrap();
/// assert_eq!(manager.level(), Some(60));
/// assert!(manager.inherits_from("readonly"));
/// ```
#[derive(Clone, Copy)]
pub struct RoleView<'a> {
    policy: &'a Policy,
    role: &'a CompiledRole,
}

impl Policy {
    /// Validates and compiles a policy document.
    ///
    /// ```
    /// use agency_rbac::{Policy, PolicySpec};
    /// let policy = Policy::compile(&PolicySpec::default())?;
    /// assert_eq!(policy.permissions().count(), 0);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn compile(spec: &PolicySpec) -> Result<Self, PolicyError> {
        compile::compile(spec)
    }

    /// Parses, validates and compiles a TOML policy (format: `docs/rbac.md`).
    ///
    /// ```
    /// let policy = agency_rbac::Policy::from_toml("[roles.viewer]\npermissions = [\"agents:read\"]\n")?;
    /// assert!(policy.role_holds("viewer", "agents:read"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn from_toml(document: &str) -> Result<Self, PolicyError> {
        Self::compile(&PolicySpec::from_toml(document)?)
    }

    /// Parses, validates and compiles a JSON policy (same shape as the TOML one).
    ///
    /// ```
    /// let policy = agency_rbac::Policy::from_json(r#"{"roles": {"viewer": {"permissions": ["agents:read"]}}}"#)?;
    /// assert!(policy.role_holds("viewer", "agents:read"));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn from_json(document: &str) -> Result<Self, PolicyError> {
        Self::compile(&PolicySpec::from_json(document)?)
    }

    /// The canonical document of this policy (lists sorted and deduplicated).
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// assert_eq!(policy.spec().roles["super_admin"].inherits, ["admin"]);
    /// ```
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// Writes the policy as TOML; [`Policy::from_toml`] reads it back into an equal policy.
    ///
    /// ```
    /// use agency_rbac::{presets, Policy};
    /// let policy = presets::swarm();
    /// assert_eq!(Policy::from_toml(&policy.to_toml()?)?, policy);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn to_toml(&self) -> Result<String, PolicyError> {
        self.spec.to_toml()
    }

    /// Writes the policy as JSON; [`Policy::from_json`] reads it back into an equal policy.
    ///
    /// ```
    /// use agency_rbac::{presets, Policy};
    /// let policy = presets::five_level();
    /// assert_eq!(Policy::from_json(&policy.to_json()?)?, policy);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn to_json(&self) -> Result<String, PolicyError> {
        self.spec.to_json()
    }

    /// The role named `name`, if the policy defines it.
    ///
    /// ```
    /// assert!(agency_rbac::presets::swarm().role("operator").is_some());
    /// assert!(agency_rbac::presets::swarm().role("root").is_none());
    /// ```
    pub fn role(&self, name: &str) -> Option<RoleView<'_>> {
        self.compiled_role(name)
            .map(|role| RoleView { policy: self, role })
    }

    /// Every role, in name order.
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// let names: Vec<_> = policy.roles().map(|r| r.name()).collect();
    /// assert_eq!(names, ["admin", "operator", "super_admin", "viewer"]);
    /// ```
    pub fn roles(&self) -> impl Iterator<Item = RoleView<'_>> {
        self.roles
            .iter()
            .map(move |role| RoleView { policy: self, role })
    }

    /// Every permission the policy knows, in name order.
    ///
    /// ```
    /// assert_eq!(agency_rbac::presets::swarm().permissions().count(), 13);
    /// ```
    pub fn permissions(&self) -> impl Iterator<Item = &str> {
        self.permissions.iter().map(|p| &**p)
    }

    /// Whether the policy knows `permission`.
    ///
    /// ```
    /// assert!(agency_rbac::presets::swarm().has_permission("audit:export"));
    /// assert!(!agency_rbac::presets::swarm().has_permission("audit:delete"));
    /// ```
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permission_ids.contains(permission)
    }

    /// Whether role `role` holds `permission` (unconditionally or owner-only), ignoring
    /// tenants, scopes and ownership: for listing and documentation, not for access decisions
    /// (use [`Policy::check`]).
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// assert!(policy.role_holds("admin", "tasks:dispatch"));
    /// assert!(!policy.role_holds("operator", "agents:delete"));
    /// ```
    pub fn role_holds(&self, role: &str, permission: &str) -> bool {
        self.role(role)
            .is_some_and(|r| r.holds(permission).is_some())
    }

    #[inline]
    pub(crate) fn compiled_role(&self, name: &str) -> Option<&CompiledRole> {
        self.role_ids.get(name).and_then(|id| self.roles.get(id))
    }

    pub(crate) fn role_index(&self, name: &str) -> Option<usize> {
        self.role_ids.get(name)
    }

    #[inline]
    pub(crate) fn permission_id(&self, name: &str) -> Option<usize> {
        self.permission_ids.get(name)
    }

    pub(crate) fn role_name(&self, id: u16) -> &str {
        self.roles
            .get(usize::from(id))
            .map(|r| &*r.name)
            .unwrap_or_default()
    }

    pub(crate) fn permission_name(&self, id: usize) -> &str {
        self.permissions.get(id).map(|p| &**p).unwrap_or_default()
    }

    /// The empty policy: no roles, every check denied. Presets fall back to it (fail closed).
    pub(crate) fn deny_all() -> Self {
        Self {
            spec: PolicySpec::default(),
            permissions: Box::default(),
            permission_ids: NameTable::default(),
            roles: Box::default(),
            role_ids: NameTable::default(),
        }
    }
}

impl PartialEq for Policy {
    /// Two policies are equal when their canonical documents are: the compiled form is a
    /// function of the canonical document.
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl Eq for Policy {}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field(
                "roles",
                &self.roles.iter().map(|r| &*r.name).collect::<Vec<_>>(),
            )
            .field("permissions", &self.permissions.len())
            .finish()
    }
}

impl<'a> RoleView<'a> {
    /// The role's name.
    ///
    /// ```
    /// assert_eq!(agency_rbac::presets::swarm().role("admin").unwrap().name(), "admin");
    /// ```
    pub fn name(&self) -> &'a str {
        &self.role.name
    }

    /// The role's level, if it has one.
    ///
    /// ```
    /// assert_eq!(agency_rbac::presets::five_level().role("admin").unwrap().level(), Some(80));
    /// assert_eq!(agency_rbac::presets::swarm().role("admin").unwrap().level(), None);
    /// ```
    pub fn level(&self) -> Option<u32> {
        self.role.level
    }

    /// Whether the role holds the cross-tenant grant (directly or inherited).
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// assert!(policy.role("super_admin").unwrap().cross_tenant());
    /// assert!(!policy.role("admin").unwrap().cross_tenant());
    /// ```
    pub fn cross_tenant(&self) -> bool {
        self.role.cross_tenant
    }

    /// Whether and how the role holds `permission` (inherited grants included).
    ///
    /// ```
    /// use agency_rbac::Condition;
    /// let policy = agency_rbac::presets::swarm();
    /// assert_eq!(policy.role("viewer").unwrap().holds("agents:read"), Some(Condition::Always));
    /// ```
    pub fn holds(&self, permission: &str) -> Option<Condition> {
        let id = self.policy.permission_id(permission)?;
        if self.role.any.contains(id) {
            Some(Condition::Always)
        } else if self.role.own.contains(id) {
            Some(Condition::OwnerOnly)
        } else {
            None
        }
    }

    /// Every permission the role holds (inherited included), in name order, with its condition.
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// let viewer: Vec<_> = policy.role("viewer").unwrap().permissions().map(|(p, _)| p).collect();
    /// assert_eq!(viewer, ["agents:read", "tasks:read"]);
    /// ```
    pub fn permissions(&self) -> impl Iterator<Item = (&'a str, Condition)> + 'a {
        let role = self.role;
        let policy = self.policy;
        (0..policy.permissions.len()).filter_map(move |id| {
            let condition = if role.any.contains(id) {
                Condition::Always
            } else if role.own.contains(id) {
                Condition::OwnerOnly
            } else {
                return None;
            };
            Some((policy.permission_name(id), condition))
        })
    }

    /// Whether this role inherits (directly or transitively) from role `other`. A role does
    /// not inherit from itself.
    ///
    /// ```
    /// let policy = agency_rbac::presets::swarm();
    /// assert!(policy.role("super_admin").unwrap().inherits_from("viewer"));
    /// assert!(!policy.role("viewer").unwrap().inherits_from("admin"));
    /// ```
    pub fn inherits_from(&self, other: &str) -> bool {
        self.policy
            .role_ids
            .get(other)
            .is_some_and(|id| self.role.ancestors.contains(id))
    }
}

impl fmt::Debug for RoleView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleView")
            .field("name", &self.name())
            .field("level", &self.level())
            .field("cross_tenant", &self.cross_tenant())
            .finish()
    }
}
