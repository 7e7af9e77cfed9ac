//! The stored form of an API key: everything a store keeps about one key, never the key itself.
//!
//! A store holds only a keyed hash (HMAC-SHA256) of the secret part of a key, so a copy of the
//! database alone is not enough to use or to test guesses against any key.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a store keeps about one API key.
///
/// The plaintext key (`<prefix>_<id>_<secret>`) is shown to its owner once, at creation, and is
/// never stored: the record keeps the public [`id`](Self::id), which is part of the key text and
/// safe to show in listings, and a keyed hash of the secret part. `Debug` output redacts
/// [`secret_hash`](Self::secret_hash).
///
/// The record is deliberately not `Serialize`: it carries the hash, and a hash must never reach
/// a response, a log line or an audit event. Listings send [`ApiKeyRecord::view`], an
/// [`ApiKeyView`] without it. That it stays so is checked at compile time:
///
/// ```compile_fail
/// fn serialisable<T: serde::Serialize>() {}
/// serialisable::<agency_auth::api_keys::ApiKeyRecord>();
/// ```
///
/// # Example
///
/// ```
/// use agency_auth::api_keys::ApiKeyRecord;
/// use time::OffsetDateTime;
///
/// let record = ApiKeyRecord {
///     id: "a1b2c3d4e5f6g7h8i9j0k1".to_owned(),
///     owner_id: "user-42".to_owned(),
///     tenant_id: "default".to_owned(),
///     name: "metrics scraper".to_owned(),
///     scopes: vec!["config:read".to_owned()],
///     secret_hash: vec![0xAB; 32],
///     hash_key_version: 1,
///     created_at: OffsetDateTime::UNIX_EPOCH,
///     expires_at: None,
///     revoked_at: None,
///     last_used_at: None,
/// };
/// let shown = format!("{record:?}");
/// assert!(shown.contains("metrics scraper"));
/// assert!(!shown.contains("171, 171")); // the hash bytes never appear
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The public key id shown in listings (it is also part of the key text).
    pub id: String,
    /// User id of the key's owner; the key acts as this user.
    pub owner_id: String,
    /// Tenant of the owner.
    pub tenant_id: String,
    /// A name the owner chose, for listings.
    pub name: String,
    /// Permission names the key is limited to, such as `agents:read`.
    pub scopes: Vec<String>,
    /// Keyed hash (HMAC-SHA256) of the secret part of the key.
    pub secret_hash: Vec<u8>,
    /// Version of the server-side hashing key that produced [`secret_hash`](Self::secret_hash),
    /// so hashing keys can rotate.
    pub hash_key_version: u32,
    /// When the key was created.
    pub created_at: OffsetDateTime,
    /// When the key stops working, if it expires.
    pub expires_at: Option<OffsetDateTime>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// When the key was last used (updated at most once per interval, not on every request).
    pub last_used_at: Option<OffsetDateTime>,
}

/// What a listing shows of an API key: the record without its hash or hashing-key version.
/// Timestamps serialize as RFC 3339 strings.
///
/// ```
/// # use agency_auth::api_keys::ApiKeyRecord;
/// # use time::OffsetDateTime;
/// # let record = ApiKeyRecord {
/// #     id: "k1".into(), owner_id: "user-42".into(), tenant_id: "acme".into(), name: "ci".into(),
/// #     scopes: vec!["agents:read".into()], secret_hash: vec![0xAB; 32], hash_key_version: 7,
/// #     created_at: OffsetDateTime::UNIX_EPOCH, expires_at: None, revoked_at: None, last_used_at: None,
/// # };
/// let json = serde_json::to_value(record.view()).unwrap();
/// assert_eq!(json["id"], "k1");
/// assert!(json.get("secret_hash").is_none() && json.get("hash_key_version").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    /// The public key id.
    pub id: String,
    /// User id of the key's owner.
    pub owner_id: String,
    /// Tenant of the owner.
    pub tenant_id: String,
    /// The owner's name for the key.
    pub name: String,
    /// Permission names the key is limited to.
    pub scopes: Vec<String>,
    /// When the key was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the key stops working, if it expires.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When the key was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When the key was last used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiKeyRecord {
    /// The record as a listing shows it: everything but the hash.
    ///
    /// ```
    /// # use agency_auth::api_keys::ApiKeyRecord;
    /// # use time::OffsetDateTime;
    /// # let record = ApiKeyRecord {
    /// #     id: "k1".into(), owner_id: "u".into(), tenant_id: "t".into(), name: "ci".into(),
    /// #     scopes: vec![], secret_hash: vec![1; 32], hash_key_version: 1,
    /// #     created_at: OffsetDateTime::UNIX_EPOCH, expires_at: None, revoked_at: None, last_used_at: None,
    /// # };
    /// assert_eq!(record.view().name, "ci");
    /// ```
    pub fn view(&self) -> ApiKeyView {
        ApiKeyView {
            id: self.id.clone(),
            owner_id: self.owner_id.clone(),
            tenant_id: self.tenant_id.clone(),
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            last_used_at: self.last_used_at,
        }
    }

    /// The [`Principal`](crate::Principal) a verified key authenticates as: its owner, in the
    /// owner's tenant, with the owner's *current* role (look it up; a key must not outlive a
    /// demotion), limited to the key's scopes.
    ///
    /// ```
    /// # use agency_auth::api_keys::ApiKeyRecord;
    /// # use time::OffsetDateTime;
    /// # let record = ApiKeyRecord {
    /// #     id: "k1".into(), owner_id: "user-42".into(), tenant_id: "acme".into(), name: "n".into(),
    /// #     scopes: vec!["config:read".into()], secret_hash: vec![], hash_key_version: 1,
    /// #     created_at: OffsetDateTime::UNIX_EPOCH, expires_at: None, revoked_at: None, last_used_at: None,
    /// # };
    /// let principal = record.principal("operator");
    /// assert_eq!(principal.user_id(), "user-42");
    /// assert_eq!(principal.api_key_id(), Some("k1"));
    /// assert!(principal.scope_allows("config:read"));
    /// assert!(!principal.scope_allows("agents:delete"));
    /// ```
    pub fn principal(&self, owner_role: impl Into<String>) -> crate::Principal {
        crate::Principal::from_api_key(
            self.owner_id.clone(),
            self.tenant_id.clone(),
            owner_role,
            self.id.clone(),
            self.scopes.clone(),
        )
    }
}

impl fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("id", &self.id)
            .field("owner_id", &self.owner_id)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("secret_hash", &"<redacted>")
            .field("hash_key_version", &self.hash_key_version)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ApiKeyRecord {
        ApiKeyRecord {
            id: "abc".to_owned(),
            owner_id: "u1".to_owned(),
            tenant_id: "t1".to_owned(),
            name: "ci".to_owned(),
            scopes: vec!["agents:read".to_owned()],
            secret_hash: vec![0x5A; 32],
            hash_key_version: 3,
            created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            expires_at: Some(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn debug_redacts_secret_hash() {
        let shown = format!("{:?}", sample());
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("90, 90"), "hash bytes leaked: {shown}");
    }

    #[test]
    fn view_serialises_without_the_hash() {
        let record = sample();
        let json = serde_json::to_string(&record.view()).unwrap();
        assert!(json.contains("2023-11-14T22:13:20Z"), "{json}");
        assert!(
            !json.contains("secret_hash") && !json.contains("hash_key_version"),
            "{json}"
        );
        assert!(!json.contains("90,90"), "hash bytes leaked: {json}");
        let back: ApiKeyView = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record.view());
    }
}
