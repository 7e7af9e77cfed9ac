//! The stored form of a user account.

use std::fmt;

use time::OffsetDateTime;

/// What a [`UserStore`](super::UserStore) keeps about one user.
///
/// `username` is unique across the whole deployment, not per tenant: a login names only a
/// username, so two tenants cannot both have an `alice`. Usernames are compared byte for byte;
/// an application that wants case-insensitive logins normalizes (for example lowercases) the
/// username before storing it and before looking it up.
///
/// `password_hash` is a PHC string (`$argon2id$…`). It is not the password, but it allows offline
/// guessing, so `Debug` output redacts it.
///
/// ```
/// use agency_auth::store::UserRecord;
///
/// let user = UserRecord::new("default", "alice", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "viewer");
/// assert_eq!(user.username, "alice");
/// assert!(!user.disabled);
/// assert!(!format!("{user:?}").contains("argon2id"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable user id (the `sub` of access tokens). [`UserRecord::new`] makes a UUIDv7.
    pub id: String,
    /// Tenant the user belongs to.
    pub tenant_id: String,
    /// Login name, unique across the deployment.
    pub username: String,
    /// Password hash as a PHC string.
    pub password_hash: String,
    /// Role name, such as `viewer` or `admin`.
    pub role: String,
    /// A disabled user cannot log in.
    pub disabled: bool,
    /// When the user was created.
    pub created_at: OffsetDateTime,
    /// When the user was last changed.
    pub updated_at: OffsetDateTime,
}

impl UserRecord {
    /// A new, enabled user with a fresh UUIDv7 id, created now.
    ///
    /// ```
    /// use agency_auth::store::UserRecord;
    ///
    /// let a = UserRecord::new("t1", "a", "$argon2id$…", "admin");
    /// let b = UserRecord::new("t1", "b", "$argon2id$…", "admin");
    /// assert_ne!(a.id, b.id);
    /// assert_eq!(a.created_at, a.updated_at);
    /// ```
    pub fn new(
        tenant_id: impl Into<String>,
        username: impl Into<String>,
        password_hash: impl Into<String>,
        role: impl Into<String>,
    ) -> Self {
        let now = super::normalize_timestamp(OffsetDateTime::now_utc());
        UserRecord {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant_id.into(),
            username: username.into(),
            password_hash: password_hash.into(),
            role: role.into(),
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_password_hash() {
        let user = UserRecord::new("t", "bob", "$argon2id$v=19$secretish", "viewer");
        let shown = format!("{user:?}");
        assert!(shown.contains("bob"));
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("secretish"), "{shown}");
    }
}
