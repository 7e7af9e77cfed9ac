//! A policy that can be replaced while the service runs.
//!
//! Guarantees: a check always runs against one whole policy, the old or the new, never a mix;
//! replacing the policy never blocks a check in flight (readers take a lock-free snapshot,
//! arc-swap); and a document that fails to load leaves the current policy in place.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::error::{AccessError, PolicyError};
use crate::policy::Policy;
use crate::subject::{Resource, Subject};

/// The live policy of a service: cheap to read from many threads, replaced atomically.
///
/// ```
/// use agency_rbac::{presets, Actor, LivePolicy, Resource};
///
/// let live = LivePolicy::new(presets::swarm());
/// let viewer = Actor::new("u1", "acme", "viewer");
/// assert!(!live.is_allowed(&viewer, "config:read", Resource::in_tenant("acme")));
///
/// // Give viewers config:read from now on.
/// let mut spec = live.load().spec().clone();
/// spec.roles.get_mut("viewer").unwrap().permissions.push("config:read".into());
/// live.replace(spec.compile()?);
/// assert!(live.is_allowed(&viewer, "config:read", Resource::in_tenant("acme")));
/// # Ok::<(), agency_rbac::PolicyError>(())
/// ```
pub struct LivePolicy {
    current: ArcSwap<Policy>,
}

/// A snapshot of the live policy, held for the duration of one request or decision.
///
/// Holding it keeps that policy alive (and a [`Decision`](crate::Decision) may borrow from it);
/// it does not block replacement. Hold it briefly: a long-lived snapshot should be an
/// `Arc<Policy>` from [`LivePolicy::snapshot`].
///
/// ```
/// use agency_rbac::{presets, Actor, LivePolicy, Resource};
///
/// let live = LivePolicy::new(presets::swarm());
/// let policy = live.load();
/// let admin = Actor::new("u1", "acme", "admin");
/// let decision = policy.check(&admin, "audit:read", Resource::in_tenant("acme"));
/// assert!(decision.is_allowed());
/// ```
pub struct PolicyGuard {
    inner: Guard<Arc<Policy>>,
}

impl LivePolicy {
    /// Starts with `policy`.
    ///
    /// ```
    /// let live = agency_rbac::LivePolicy::new(agency_rbac::presets::five_level());
    /// assert!(live.load().role("manager").is_some());
    /// ```
    pub fn new(policy: Policy) -> Self {
        Self {
            current: ArcSwap::from_pointee(policy),
        }
    }

    /// The current policy, for a short while (one request).
    ///
    /// ```
    /// let live = agency_rbac::LivePolicy::new(agency_rbac::presets::swarm());
    /// assert_eq!(live.load().roles().count(), 4);
    /// ```
    pub fn load(&self) -> PolicyGuard {
        PolicyGuard {
            inner: self.current.load(),
        }
    }

    /// The current policy, to keep.
    ///
    /// ```
    /// let live = agency_rbac::LivePolicy::new(agency_rbac::presets::swarm());
    /// let kept = live.snapshot();
    /// live.replace(agency_rbac::presets::five_level());
    /// assert!(kept.role("viewer").is_some()); // the old policy, still whole
    /// ```
    pub fn snapshot(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Makes `policy` the current one and returns the previous one. Checks already running
    /// finish on the policy they started with.
    ///
    /// ```
    /// let live = agency_rbac::LivePolicy::new(agency_rbac::presets::swarm());
    /// let old = live.replace(agency_rbac::presets::five_level());
    /// assert!(old.role("viewer").is_some());
    /// assert!(live.load().role("viewer").is_none());
    /// ```
    pub fn replace(&self, policy: Policy) -> Arc<Policy> {
        self.current.swap(Arc::new(policy))
    }

    /// Loads a TOML document and makes it current; on error the current policy stays.
    ///
    /// ```
    /// let live = agency_rbac::LivePolicy::new(agency_rbac::presets::swarm());
    /// assert!(live.replace_from_toml("[roles.a]\ninherits = [\"a\"]\n").is_err());
    /// assert!(live.load().role("viewer").is_some()); // unchanged
    /// live.replace_from_toml("[roles.reader]\npermissions = [\"a:read\"]\n")?;
    /// assert!(live.load().role("reader").is_some());
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn replace_from_toml(&self, document: &str) -> Result<Arc<Policy>, PolicyError> {
        Ok(self.replace(Policy::from_toml(document)?))
    }

    /// Loads a JSON document and makes it current; on error the current policy stays.
    ///
    /// ```
    /// let live = agency_rbac::LivePolicy::new(agency_rbac::presets::swarm());
    /// assert!(live.replace_from_json("{").is_err());
    /// assert!(live.load().role("viewer").is_some());
    /// ```
    pub fn replace_from_json(&self, document: &str) -> Result<Arc<Policy>, PolicyError> {
        Ok(self.replace(Policy::from_json(document)?))
    }

    /// [`Policy::is_allowed`] on the current policy.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, LivePolicy, Resource};
    /// let live = LivePolicy::new(presets::swarm());
    /// assert!(live.is_allowed(&Actor::new("u", "t", "viewer"), "tasks:read", Resource::in_tenant("t")));
    /// ```
    pub fn is_allowed<S: Subject + ?Sized>(
        &self,
        subject: &S,
        permission: &str,
        resource: Resource<'_>,
    ) -> bool {
        self.current
            .load()
            .is_allowed(subject, permission, resource)
    }

    /// [`Policy::require`] on the current policy.
    ///
    /// ```
    /// use agency_rbac::{presets, Actor, LivePolicy, Resource};
    /// let live = LivePolicy::new(presets::swarm());
    /// assert!(live.require(&Actor::new("u", "t", "viewer"), "users:read", Resource::in_tenant("t")).is_err());
    /// ```
    pub fn require<S: Subject + ?Sized>(
        &self,
        subject: &S,
        permission: &str,
        resource: Resource<'_>,
    ) -> Result<(), AccessError> {
        self.current.load().require(subject, permission, resource)
    }
}

impl Deref for PolicyGuard {
    type Target = Policy;

    fn deref(&self) -> &Policy {
        &self.inner
    }
}

impl fmt::Debug for LivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivePolicy")
            .field("current", &*self.current.load())
            .finish()
    }
}

impl fmt::Debug for PolicyGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PolicyGuard").field(&**self.inner).finish()
    }
}
