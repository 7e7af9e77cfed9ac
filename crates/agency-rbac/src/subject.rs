//! Who is asking: the [`Subject`] of a check, and the [`Resource`] it wants to act on.
//!
//! agency-rbac does not depend on any authentication crate. A service's own principal type
//! (for example `agency_auth::Principal`, through the glue crate) implements [`Subject`]; the
//! owned [`Actor`] implements it for tests and simple services.

/// The subject of a check: a user, or an API key acting for its owner.
///
/// Implementors return the subject's *current* role: for an API key, the owner's role as it is
/// now, not as it was when the key was created, so that demoting the owner narrows the key at
/// once.
///
/// ```
/// use agency_rbac::{Scopes, Subject};
///
/// struct Session { user: String, tenant: String, role: String }
///
/// impl Subject for Session {
///     fn user_id(&self) -> &str { &self.user }
///     fn tenant_id(&self) -> &str { &self.tenant }
///     fn role(&self) -> &str { &self.role }
///     // `scopes` defaults to `Scopes::Unrestricted` (an interactive session).
/// }
///
/// let s = Session { user: "u1".into(), tenant: "acme".into(), role: "viewer".into() };
/// assert_eq!(s.scopes(), Scopes::Unrestricted);
/// ```
pub trait Subject {
    /// Stable identifier of the user (for an API key: of its owner); compared with a resource's
    /// owner by ownership-limited grants. An empty id never owns anything.
    fn user_id(&self) -> &str;

    /// The tenant the subject belongs to. An empty tenant id matches no resource's tenant.
    fn tenant_id(&self) -> &str;

    /// The name of the subject's current role.
    fn role(&self) -> &str;

    /// The credential's scopes: [`Scopes::Unrestricted`] for a session, [`Scopes::Only`] for a
    /// scoped API key.
    fn scopes(&self) -> Scopes<'_> {
        Scopes::Unrestricted
    }
}

impl<T: Subject + ?Sized> Subject for &T {
    fn user_id(&self) -> &str {
        (**self).user_id()
    }
    fn tenant_id(&self) -> &str {
        (**self).tenant_id()
    }
    fn role(&self) -> &str {
        (**self).role()
    }
    fn scopes(&self) -> Scopes<'_> {
        (**self).scopes()
    }
}

/// What a credential is limited to.
///
/// A scoped credential's effective permissions are its owner's role permissions intersected
/// with the scopes. Scopes are permission names compared exactly; a scope that names no
/// permission of the policy (or is not a well-formed name) grants nothing. A scoped credential
/// never carries the cross-tenant grant, which is not a permission a scope can name.
///
/// ```
/// use agency_rbac::Scopes;
///
/// let scopes = vec!["agents:read".to_owned()];
/// assert!(Scopes::Only(&scopes).allows("agents:read"));
/// assert!(!Scopes::Only(&scopes).allows("agents:delete"));
/// assert!(Scopes::Unrestricted.allows("agents:delete"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scopes<'a> {
    /// No limit beyond the role (an interactive session).
    Unrestricted,
    /// Only these permissions (an API key's scopes).
    Only(&'a [String]),
}

impl<'a> From<Option<&'a [String]>> for Scopes<'a> {
    /// `None` (no scopes recorded: a session) is unrestricted; `Some(list)` limits to `list`.
    ///
    /// ```
    /// use agency_rbac::Scopes;
    /// let key_scopes = vec!["agents:read".to_owned()];
    /// assert_eq!(Scopes::from(None), Scopes::Unrestricted);
    /// assert!(Scopes::from(Some(key_scopes.as_slice())).is_limited());
    /// ```
    fn from(scopes: Option<&'a [String]>) -> Self {
        match scopes {
            Some(list) => Self::Only(list),
            None => Self::Unrestricted,
        }
    }
}

impl Scopes<'_> {
    /// Whether these scopes let `permission` through (the role must still grant it).
    ///
    /// ```
    /// assert!(!agency_rbac::Scopes::Only(&[]).allows("agents:read"));
    /// ```
    #[inline]
    pub fn allows(&self, permission: &str) -> bool {
        match self {
            Self::Unrestricted => true,
            Self::Only(list) => list.iter().any(|scope| scope == permission),
        }
    }

    /// Whether these are the scopes of a limited credential.
    ///
    /// ```
    /// assert!(agency_rbac::Scopes::Only(&[]).is_limited());
    /// assert!(!agency_rbac::Scopes::Unrestricted.is_limited());
    /// ```
    pub fn is_limited(&self) -> bool {
        matches!(self, Self::Only(_))
    }
}

/// An owned [`Subject`]: for tests, examples and services without their own principal type.
///
/// ```
/// use agency_rbac::{Actor, Subject};
///
/// let key = Actor::new("u1", "acme", "operator").with_scopes(["agents:read"]);
/// assert_eq!(key.role(), "operator");
/// assert!(key.scopes().is_limited());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    user_id: String,
    tenant_id: String,
    role: String,
    scopes: Option<Vec<String>>,
}

impl Actor {
    /// An unrestricted subject (an interactive session).
    ///
    /// ```
    /// let admin = agency_rbac::Actor::new("u1", "acme", "admin");
    /// # let _ = admin;
    /// ```
    pub fn new(
        user_id: impl Into<String>,
        tenant_id: impl Into<String>,
        role: impl Into<String>,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            tenant_id: tenant_id.into(),
            role: role.into(),
            scopes: None,
        }
    }

    /// Limits this subject to `scopes` (an API key acting for the user).
    ///
    /// ```
    /// let key = agency_rbac::Actor::new("u1", "acme", "admin").with_scopes(["config:read"]);
    /// # let _ = key;
    /// ```
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

impl Subject for Actor {
    fn user_id(&self) -> &str {
        &self.user_id
    }
    fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
    fn role(&self) -> &str {
        &self.role
    }
    fn scopes(&self) -> Scopes<'_> {
        Scopes::from(self.scopes.as_deref())
    }
}

/// What a check is about: the resource's tenant and owner, when it has them.
///
/// Pass the tenant of every tenant-owned resource, including the acting tenant for collection
/// operations (list, create), so that isolation is enforced; [`Resource::global`] is for things
/// that belong to no tenant. Pass the owner whenever the permission may be limited to owners
/// (for example an API key's owner for `keys:manage`; for "create my own" or "list my own",
/// the subject's own id).
///
/// ```
/// use agency_rbac::Resource;
///
/// let key = Resource::in_tenant("acme").owned_by("u1");
/// assert_eq!(key.tenant(), Some("acme"));
/// assert_eq!(key.owner(), Some("u1"));
/// assert_eq!(Resource::global().tenant(), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resource<'a> {
    tenant: Option<&'a str>,
    owner: Option<&'a str>,
}

impl<'a> Resource<'a> {
    /// A resource of no tenant and no owner: tenant isolation does not apply to it.
    ///
    /// ```
    /// let r = agency_rbac::Resource::global();
    /// assert_eq!(r.owner(), None);
    /// ```
    pub const fn global() -> Self {
        Self {
            tenant: None,
            owner: None,
        }
    }

    /// A resource belonging to `tenant`.
    ///
    /// ```
    /// let r = agency_rbac::Resource::in_tenant("acme");
    /// assert_eq!(r.tenant(), Some("acme"));
    /// ```
    pub const fn in_tenant(tenant: &'a str) -> Self {
        Self {
            tenant: Some(tenant),
            owner: None,
        }
    }

    /// The same resource, owned by user `owner`.
    ///
    /// ```
    /// let r = agency_rbac::Resource::in_tenant("acme").owned_by("u7");
    /// assert_eq!(r.owner(), Some("u7"));
    /// ```
    #[must_use]
    pub const fn owned_by(mut self, owner: &'a str) -> Self {
        self.owner = Some(owner);
        self
    }

    /// The resource's tenant, if it has one.
    ///
    /// ```
    /// assert_eq!(agency_rbac::Resource::global().tenant(), None);
    /// ```
    pub const fn tenant(&self) -> Option<&'a str> {
        self.tenant
    }

    /// The resource's owner, if known.
    ///
    /// ```
    /// assert_eq!(agency_rbac::Resource::global().owner(), None);
    /// ```
    pub const fn owner(&self) -> Option<&'a str> {
        self.owner
    }
}
