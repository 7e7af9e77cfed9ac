//! The authenticated identity that the rest of the workspace works with.
//!
//! A [`Principal`] is what authentication produces and what authorisation, auditing and rate
//! limiting consume: who (user id, tenant, role), how far an API key narrows that (scopes), and how
//! the caller proved it ([`AuthMethod`]). It holds no secret, so its `Debug` output is safe to log.
//! Cloning is one atomic increment: the data sits behind an `Arc`, because a principal is copied
//! into request extensions, audit events and background tasks.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a [`Principal`] authenticated.
///
/// Serialized with a `kind` tag: `{"kind": "access_token", "session_id": "…", "token_id": "…"}`,
/// `{"kind": "api_key", "key_id": "…"}` or `{"kind": "system"}`.
///
/// # Example
///
/// ```
/// use agency_auth::AuthMethod;
///
/// let method = AuthMethod::ApiKey { key_id: "k1".to_owned() };
/// assert_eq!(
///     serde_json::to_string(&method).unwrap(),
///     r#"{"kind":"api_key","key_id":"k1"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    /// A verified access token (JWT) of a login session.
    AccessToken {
        /// The session the token belongs to (`sid`); logout revokes it.
        session_id: String,
        /// The token's own id (`jti`).
        token_id: String,
    },
    /// A verified API key, acting as its owner within the key's scopes.
    ApiKey {
        /// The public id of the key (as in [`ApiKeyRecord::id`](crate::api_keys::ApiKeyRecord)).
        key_id: String,
    },
    /// The application itself (background jobs, bootstrap), not a remote caller.
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PrincipalData {
    user_id: String,
    display_name: Option<String>,
    tenant_id: String,
    role: String,
    scopes: Option<Vec<String>>,
    auth: AuthMethod,
}

/// The authenticated identity of a request.
///
/// - [`user_id`](Self::user_id), [`tenant_id`](Self::tenant_id) and [`role`](Self::role) say who
///   is acting; the role is a plain string that the authorisation layer interprets.
/// - [`scopes`](Self::scopes) is `None` when the principal has its role's full permissions (a
///   login session) and `Some` when an API key limits it to the intersection of its owner's
///   permissions and these permission names.
/// - [`auth`](Self::auth) says how it authenticated; [`session_id`](Self::session_id) is set for
///   access tokens only.
///
/// Cheap to clone (one `Arc`), serializable, and free of secrets.
///
/// # Example
///
/// ```
/// use agency_auth::{AuthMethod, Principal};
///
/// let alice = Principal::from_access_token("u-1", "acme", "operator", "sess-9", "jti-3")
///     .with_display_name("Alice");
/// assert_eq!(alice.session_id(), Some("sess-9"));
/// assert!(alice.scope_allows("agents:read")); // no scopes: the role decides alone
///
/// let scraper = Principal::from_api_key("u-1", "acme", "operator", "key-7", vec!["config:read".into()]);
/// assert!(scraper.scope_allows("config:read"));
/// assert!(!scraper.scope_allows("tasks:dispatch"));
/// assert_eq!(scraper.auth(), &AuthMethod::ApiKey { key_id: "key-7".into() });
///
/// let json = serde_json::to_string(&alice).unwrap();
/// let back: Principal = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, alice);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    inner: Arc<PrincipalData>,
}

impl Principal {
    fn new(
        user_id: String,
        tenant_id: String,
        role: String,
        scopes: Option<Vec<String>>,
        auth: AuthMethod,
    ) -> Self {
        Self {
            inner: Arc::new(PrincipalData {
                user_id,
                display_name: None,
                tenant_id,
                role,
                scopes,
                auth,
            }),
        }
    }

    /// A user authenticated by an access token of session `session_id`, with the full
    /// permissions of `role`.
    ///
    /// ```
    /// let p = agency_auth::Principal::from_access_token("u-1", "acme", "viewer", "s-1", "t-1");
    /// assert_eq!((p.user_id(), p.tenant_id(), p.role()), ("u-1", "acme", "viewer"));
    /// assert_eq!(p.scopes(), None);
    /// ```
    pub fn from_access_token(
        user_id: impl Into<String>,
        tenant_id: impl Into<String>,
        role: impl Into<String>,
        session_id: impl Into<String>,
        token_id: impl Into<String>,
    ) -> Self {
        Self::new(
            user_id.into(),
            tenant_id.into(),
            role.into(),
            None,
            AuthMethod::AccessToken {
                session_id: session_id.into(),
                token_id: token_id.into(),
            },
        )
    }

    /// An API key `key_id` acting as its owner `user_id` (whose current role is `role`), limited
    /// to `scopes`.
    ///
    /// ```
    /// let p = agency_auth::Principal::from_api_key("u-1", "acme", "admin", "k-1", vec![]);
    /// assert_eq!(p.scopes(), Some(&[][..])); // an empty scope list allows nothing
    /// assert!(!p.scope_allows("agents:read"));
    /// assert_eq!(p.session_id(), None);
    /// ```
    pub fn from_api_key(
        user_id: impl Into<String>,
        tenant_id: impl Into<String>,
        role: impl Into<String>,
        key_id: impl Into<String>,
        scopes: Vec<String>,
    ) -> Self {
        Self::new(
            user_id.into(),
            tenant_id.into(),
            role.into(),
            Some(scopes),
            AuthMethod::ApiKey {
                key_id: key_id.into(),
            },
        )
    }

    /// The application itself acting as `user_id` (for example `"system:bootstrap"`) in
    /// `tenant_id` with `role`, for work no remote caller started.
    ///
    /// ```
    /// let p = agency_auth::Principal::system("system:retention", "default", "admin");
    /// assert!(p.is_system());
    /// ```
    pub fn system(
        user_id: impl Into<String>,
        tenant_id: impl Into<String>,
        role: impl Into<String>,
    ) -> Self {
        Self::new(
            user_id.into(),
            tenant_id.into(),
            role.into(),
            None,
            AuthMethod::System,
        )
    }

    /// The same principal with a display name (for audit logs and UIs; never used for decisions).
    ///
    /// ```
    /// let p = agency_auth::Principal::system("system:x", "t", "admin").with_display_name("cron");
    /// assert_eq!(p.display_name(), Some("cron"));
    /// ```
    #[must_use]
    pub fn with_display_name(mut self, display_name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).display_name = Some(display_name.into());
        self
    }

    /// The acting user's id.
    ///
    /// ```
    /// assert_eq!(agency_auth::Principal::system("s", "t", "r").user_id(), "s");
    /// ```
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// The display name, if one was set.
    ///
    /// ```
    /// assert_eq!(agency_auth::Principal::system("s", "t", "r").display_name(), None);
    /// ```
    pub fn display_name(&self) -> Option<&str> {
        self.inner.display_name.as_deref()
    }

    /// The tenant the principal belongs to.
    ///
    /// ```
    /// assert_eq!(agency_auth::Principal::system("s", "t", "r").tenant_id(), "t");
    /// ```
    pub fn tenant_id(&self) -> &str {
        &self.inner.tenant_id
    }

    /// The role name, interpreted by the authorisation layer.
    ///
    /// ```
    /// assert_eq!(agency_auth::Principal::system("s", "t", "admin").role(), "admin");
    /// ```
    pub fn role(&self) -> &str {
        &self.inner.role
    }

    /// `None` for the role's full permissions; `Some(names)` when an API key limits the principal
    /// to those permission names (intersected with the role's permissions).
    ///
    /// ```
    /// let p = agency_auth::Principal::from_api_key("u", "t", "r", "k", vec!["a:b".into()]);
    /// assert_eq!(p.scopes(), Some(&["a:b".to_owned()][..]));
    /// ```
    pub fn scopes(&self) -> Option<&[String]> {
        self.inner.scopes.as_deref()
    }

    /// Whether the scopes let `permission` through: always when there are no scopes, otherwise
    /// only when `permission` is one of them (exact match). The role must still grant it: this is
    /// only the API-key half of the intersection.
    ///
    /// ```
    /// let p = agency_auth::Principal::from_api_key("u", "t", "r", "k", vec!["agents:read".into()]);
    /// assert!(p.scope_allows("agents:read"));
    /// assert!(!p.scope_allows("agents:readx"));
    /// ```
    pub fn scope_allows(&self, permission: &str) -> bool {
        match &self.inner.scopes {
            None => true,
            Some(scopes) => scopes.iter().any(|scope| scope == permission),
        }
    }

    /// How the principal authenticated.
    ///
    /// ```
    /// use agency_auth::{AuthMethod, Principal};
    /// assert_eq!(Principal::system("s", "t", "r").auth(), &AuthMethod::System);
    /// ```
    pub fn auth(&self) -> &AuthMethod {
        &self.inner.auth
    }

    /// The session id when authenticated by an access token, otherwise `None`.
    ///
    /// ```
    /// let p = agency_auth::Principal::from_access_token("u", "t", "r", "s-1", "j-1");
    /// assert_eq!(p.session_id(), Some("s-1"));
    /// ```
    pub fn session_id(&self) -> Option<&str> {
        match &self.inner.auth {
            AuthMethod::AccessToken { session_id, .. } => Some(session_id),
            _ => None,
        }
    }

    /// The API key id when authenticated by an API key, otherwise `None`.
    ///
    /// ```
    /// let p = agency_auth::Principal::from_api_key("u", "t", "r", "k-1", vec![]);
    /// assert_eq!(p.api_key_id(), Some("k-1"));
    /// ```
    pub fn api_key_id(&self) -> Option<&str> {
        match &self.inner.auth {
            AuthMethod::ApiKey { key_id } => Some(key_id),
            _ => None,
        }
    }

    /// Whether this is the application itself ([`AuthMethod::System`]).
    ///
    /// ```
    /// assert!(!agency_auth::Principal::from_access_token("u", "t", "r", "s", "j").is_system());
    /// ```
    pub fn is_system(&self) -> bool {
        matches!(self.inner.auth, AuthMethod::System)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("user_id", &self.inner.user_id)
            .field("display_name", &self.inner.display_name)
            .field("tenant_id", &self.inner.tenant_id)
            .field("role", &self.inner.role)
            .field("scopes", &self.inner.scopes)
            .field("auth", &self.inner.auth)
            .finish()
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PrincipalData::deserialize(deserializer).map(|data| Self {
            inner: Arc::new(data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn serde_round_trip(
            user in "\\PC{0,20}",
            tenant in "\\PC{0,20}",
            role in "[a-z_]{0,12}",
            id in "\\PC{0,20}",
            scopes in proptest::option::of(proptest::collection::vec("[a-z]{1,8}:[a-z]{1,8}", 0..5)),
            name in proptest::option::of("\\PC{0,20}"),
            kind in 0u8..3,
        ) {
            let principal = match (kind, scopes) {
                (0, _) => Principal::from_access_token(&*user, &*tenant, &*role, &*id, "jti"),
                (1, scopes) => Principal::from_api_key(&*user, &*tenant, &*role, &*id, scopes.unwrap_or_default()),
                _ => Principal::system(&*user, &*tenant, &*role),
            };
            let principal = match name {
                Some(name) => principal.with_display_name(name),
                None => principal,
            };
            let json = serde_json::to_string(&principal).unwrap();
            let back: Principal = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back, principal);
        }
    }

    #[test]
    fn clone_shares_data() {
        let p = Principal::from_access_token("u", "t", "r", "s", "j");
        let q = p.clone();
        assert!(Arc::ptr_eq(&p.inner, &q.inner));
    }

    #[test]
    fn with_display_name_does_not_change_other_clones() {
        let p = Principal::from_access_token("u", "t", "r", "s", "j");
        let q = p.clone().with_display_name("Q");
        assert_eq!(p.display_name(), None);
        assert_eq!(q.display_name(), Some("Q"));
    }

    #[test]
    fn json_shape_is_stable() {
        let p = Principal::from_api_key("u", "t", "viewer", "k", vec!["agents:read".into()]);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "user_id": "u",
                "display_name": null,
                "tenant_id": "t",
                "role": "viewer",
                "scopes": ["agents:read"],
                "auth": {"kind": "api_key", "key_id": "k"}
            })
        );
    }

    #[test]
    fn unknown_auth_kind_is_rejected() {
        let json = r#"{"user_id":"u","display_name":null,"tenant_id":"t","role":"r","scopes":null,"auth":{"kind":"magic"}}"#;
        assert!(serde_json::from_str::<Principal>(json).is_err());
    }

    #[test]
    fn api_key_with_empty_scopes_allows_nothing() {
        let p = Principal::from_api_key("u", "t", "super_admin", "k", vec![]);
        assert!(!p.scope_allows("agents:read"));
        assert!(!p.scope_allows(""));
    }
}
