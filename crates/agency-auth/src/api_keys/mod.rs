//! API keys: `<prefix>_<id>_<secret>` keys stored as keyed hashes, with scopes, expiry,
//! revocation and a cheap "last used" time.
//!
//! - **Text form**: `agency_<id>_<secret>`. The prefix is configurable (1–16 lowercase letters
//!   and digits, starting with a letter) so keys are recognisable by secret scanners; the id is
//!   120 random bits and the secret 280 random bits from aws-lc-rs, both in lowercase base32
//!   (`a–z`, `2–7`, no `_`), 24 and 56 characters.
//! - **Storage**: only an [`ApiKeyRecord`] with HMAC-SHA256 of prefix, id and secret under a versioned
//!   server-side [hashing key](ApiKeyHashingKeys). Not argon2: the secret has 280 bits of
//!   entropy, so a slow hash adds nothing but CPU per request; the key means a stolen database
//!   alone cannot test guesses. Binding the id (and prefix) into the hash stops a database
//!   writer from moving one key's hash onto another key's record.
//! - **Verification** ([`ApiKeyManager::verify`]): the caller looks the record up by the parsed
//!   id; then the hash is compared in constant time, and only a key whose secret matches learns
//!   whether it is revoked or expired (distinct errors for the caller's audit log; answer all of
//!   them with the same 401).
//! - **Scopes**: permission names `resource:action` (`agents:read`), validated at creation.
//! - **Last used**: [`LastUsedTracker`] turns one write per request into one per key per
//!   minute.
//!
//! # Example
//!
//! ```
//! use agency_auth::api_keys::{ApiKeyError, ApiKeyHashingKey, ApiKeyHashingKeys, ApiKeyManager, NewApiKey};
//! use time::{Duration, OffsetDateTime};
//!
//! let keys = ApiKeyHashingKeys::new(ApiKeyHashingKey::generate(1)?);
//! let manager = ApiKeyManager::new("agency", keys)?;
//! let now = OffsetDateTime::now_utc();
//!
//! let created = manager.create(
//!     NewApiKey::new("user-7", "acme", "metrics scraper", vec!["config:read".into()])
//!         .expires_at(now + Duration::days(90)),
//!     now,
//! )?;
//! // Return created.key.expose() to the user once; store created.record.
//! let text = created.key.expose().to_owned();
//! let record = created.record;
//! assert!(text.starts_with("agency_"));
//!
//! // Later, on a request with `X-API-Key: <text>`:
//! let presented = manager.parse(&text)?;
//! assert_eq!(presented.id(), record.id); // look the record up by this id
//! manager.verify(&presented, &record, now + Duration::minutes(1))?;
//!
//! // After expiry the same key fails with a distinct error.
//! assert_eq!(
//!     manager.verify(&presented, &record, now + Duration::days(91)),
//!     Err(ApiKeyError::Expired)
//! );
//! # Ok::<(), ApiKeyError>(())
//! ```

mod base32;
mod hashing;
mod key;
mod last_used;
mod record;

use crate::ErrorKind;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use hashing::{ApiKeyHashingKey, ApiKeyHashingKeys, MIN_HASHING_KEY_LEN};
pub use key::{KEY_ID_BYTES, KEY_SECRET_BYTES, MAX_PREFIX_LEN, ParsedApiKey, PlaintextApiKey};
pub use last_used::{
    DEFAULT_LAST_USED_CAPACITY, DEFAULT_LAST_USED_INTERVAL, LastUsedTracker, LastUsedUpdate,
};
pub use record::{ApiKeyRecord, ApiKeyView};

use key::{KEY_ID_CHARS, KEY_SECRET_CHARS, MAX_KEY_LEN};

/// Most scopes one key may carry.
pub const MAX_SCOPES: usize = 64;
/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest part (resource or action) of a scope.
pub const MAX_SCOPE_PART_LEN: usize = 32;

/// Errors of API key creation, parsing and verification. None carries key material.
///
/// For a client, every error of [`ApiKeyManager::parse`] and [`ApiKeyManager::verify`] (and a
/// missing record, [`ApiKeyError::UnknownKey`]) should be the same 401; the variants are for
/// logs and audit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The configured prefix is not 1–16 lowercase ASCII letters and digits starting with a
    /// letter.
    #[error("API key prefix must be 1-16 lowercase letters and digits, starting with a letter")]
    InvalidPrefix,
    /// A hashing key is too short or not base64.
    #[error("invalid API key hashing key: {0}")]
    InvalidHashingKey(&'static str),
    /// Two hashing keys share a version.
    #[error("API key hashing key version {0} is already in the keyring")]
    DuplicateHashKeyVersion(u32),
    /// The presented text is not a well-formed key.
    #[error("malformed API key")]
    Malformed,
    /// The presented key has another prefix (another application or environment).
    #[error("API key has the wrong prefix")]
    WrongPrefix,
    /// No record has the presented id (returned by callers after a failed lookup).
    #[error("unknown API key")]
    UnknownKey,
    /// The secret does not match the record.
    #[error("invalid API key")]
    InvalidSecret,
    /// The key matched but has expired.
    #[error("API key has expired")]
    Expired,
    /// The key matched but has been revoked.
    #[error("API key has been revoked")]
    Revoked,
    /// The record was hashed with a hashing key version that is not configured.
    #[error("API key was hashed with unknown hashing key version {0}")]
    UnknownHashKeyVersion(u32),
    /// A scope is not a `resource:action` permission name.
    #[error(
        "invalid scope {0:?}: expected resource:action in lowercase letters, digits, '_' or '-'"
    )]
    InvalidScope(String),
    /// Too many scopes.
    #[error("an API key can have at most {MAX_SCOPES} scopes")]
    TooManyScopes,
    /// The name is empty, too long, or contains control characters.
    #[error("API key name must be 1-100 characters without control characters")]
    InvalidName,
    /// The expiry is not in the future.
    #[error("API key expiry must be in the future")]
    InvalidExpiry,
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Random,
}

impl ApiKeyError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::api_keys::ApiKeyError;
    /// // Every reason a presented key fails is one kind: one answer for all of them.
    /// assert_eq!(ApiKeyError::UnknownKey.kind(), ErrorKind::CredentialRefused);
    /// assert_eq!(ApiKeyError::InvalidSecret.kind(), ErrorKind::CredentialRefused);
    /// assert_eq!(ApiKeyError::TooManyScopes.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed
            | Self::WrongPrefix
            | Self::UnknownKey
            | Self::InvalidSecret
            | Self::Expired
            | Self::Revoked
            | Self::UnknownHashKeyVersion(_) => ErrorKind::CredentialRefused,
            Self::InvalidScope(_)
            | Self::TooManyScopes
            | Self::InvalidName
            | Self::InvalidExpiry => ErrorKind::InvalidInput,
            Self::InvalidPrefix
            | Self::InvalidHashingKey(_)
            | Self::DuplicateHashKeyVersion(_)
            | Self::Random => ErrorKind::Internal,
        }
    }
}

/// Whether `scope` is a valid permission name `resource:action`: two parts of 1–32 characters
/// from `a–z`, `0–9`, `_` and `-`, each starting with a letter.
///
/// ```
/// use agency_auth::api_keys::is_valid_scope;
///
/// assert!(is_valid_scope("agents:read"));
/// assert!(is_valid_scope("audit_log:export-csv"));
/// assert!(!is_valid_scope("agents"));
/// assert!(!is_valid_scope("agents:*"));
/// assert!(!is_valid_scope("Agents:Read"));
/// assert!(!is_valid_scope("a:b:c"));
/// ```
pub fn is_valid_scope(scope: &str) -> bool {
    fn part_ok(part: &str) -> bool {
        let bytes = part.as_bytes();
        (1..=MAX_SCOPE_PART_LEN).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
    }
    match scope.split_once(':') {
        Some((resource, action)) => part_ok(resource) && part_ok(action),
        None => false,
    }
}

/// What to create: owner, tenant, a name for listings, scopes, and an optional expiry.
///
/// ```
/// use agency_auth::api_keys::NewApiKey;
///
/// let request = NewApiKey::new("u-1", "acme", "deploy bot", vec!["tasks:dispatch".into()]);
/// assert_eq!(request.name, "deploy bot");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// User id of the owner; the key acts as this user.
    pub owner_id: String,
    /// Tenant of the owner.
    pub tenant_id: String,
    /// Name for listings (1–100 characters, no control characters).
    pub name: String,
    /// Permission names the key is limited to (`resource:action`); duplicates are removed.
    pub scopes: Vec<String>,
    /// When the key stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

impl NewApiKey {
    /// A key request without expiry.
    pub fn new(
        owner_id: impl Into<String>,
        tenant_id: impl Into<String>,
        name: impl Into<String>,
        scopes: Vec<String>,
    ) -> Self {
        Self {
            owner_id: owner_id.into(),
            tenant_id: tenant_id.into(),
            name: name.into(),
            scopes,
            expires_at: None,
        }
    }

    /// Sets the expiry.
    #[must_use]
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// A created key: the plaintext to show once and the record to store.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The key text; show it to the owner once, never store or log it.
    pub key: PlaintextApiKey,
    /// What to store.
    pub record: ApiKeyRecord,
}

/// Creates, parses and verifies API keys with one prefix and one set of hashing keys.
///
/// See the [module documentation](self) for an example.
#[derive(Debug)]
pub struct ApiKeyManager {
    prefix: String,
    keys: ApiKeyHashingKeys,
}

impl ApiKeyManager {
    /// A manager for keys starting with `prefix_`.
    ///
    /// ```
    /// # use agency_auth::api_keys::{ApiKeyError, ApiKeyHashingKey, ApiKeyHashingKeys, ApiKeyManager};
    /// let keys = || ApiKeyHashingKeys::new(ApiKeyHashingKey::new(1, &[9u8; 32]).unwrap());
    /// assert!(ApiKeyManager::new("swarm", keys()).is_ok());
    /// assert_eq!(ApiKeyManager::new("my_app", keys()).unwrap_err(), ApiKeyError::InvalidPrefix);
    /// assert_eq!(ApiKeyManager::new("Live", keys()).unwrap_err(), ApiKeyError::InvalidPrefix);
    /// ```
    pub fn new(prefix: &str, keys: ApiKeyHashingKeys) -> Result<Self, ApiKeyError> {
        let bytes = prefix.as_bytes();
        let valid = (1..=MAX_PREFIX_LEN).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid {
            return Err(ApiKeyError::InvalidPrefix);
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            keys,
        })
    }

    /// The configured prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Creates a key: validates the request, draws a random id and secret, and hashes the secret
    /// with the current hashing key.
    pub fn create(
        &self,
        request: NewApiKey,
        now: OffsetDateTime,
    ) -> Result<CreatedApiKey, ApiKeyError> {
        let name_chars = request.name.chars().count();
        if name_chars == 0
            || name_chars > MAX_NAME_CHARS
            || request.name.chars().any(char::is_control)
        {
            return Err(ApiKeyError::InvalidName);
        }
        if request.scopes.len() > MAX_SCOPES {
            return Err(ApiKeyError::TooManyScopes);
        }
        if let Some(bad) = request.scopes.iter().find(|s| !is_valid_scope(s)) {
            return Err(ApiKeyError::InvalidScope(bad.clone()));
        }
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiKeyError::InvalidExpiry);
        }
        let mut scopes = request.scopes;
        scopes.sort();
        scopes.dedup();

        let mut id_bytes = [0u8; KEY_ID_BYTES];
        aws_lc_rs::rand::fill(&mut id_bytes).map_err(|_| ApiKeyError::Random)?;
        let mut secret_bytes = Zeroizing::new([0u8; KEY_SECRET_BYTES]);
        aws_lc_rs::rand::fill(&mut secret_bytes[..]).map_err(|_| ApiKeyError::Random)?;
        let id = base32::encode(&id_bytes);
        let secret = Zeroizing::new(base32::encode(&secret_bytes[..]));

        let hashing_key = self.keys.current()?;
        let record = ApiKeyRecord {
            secret_hash: hashing_key.hash(&self.prefix, &id, &secret),
            hash_key_version: hashing_key.version(),
            id: id.clone(),
            owner_id: request.owner_id,
            tenant_id: request.tenant_id,
            name: request.name,
            scopes,
            created_at: now,
            expires_at: request.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        Ok(CreatedApiKey {
            key: PlaintextApiKey::new(&self.prefix, &id, &secret),
            record,
        })
    }

    /// Parses presented key text strictly: exactly `<prefix>_<id>_<secret>` with this manager's
    /// prefix and canonical base32 parts of the exact lengths. Never panics, whatever the input.
    pub fn parse(&self, text: &str) -> Result<ParsedApiKey, ApiKeyError> {
        if text.len() > MAX_KEY_LEN {
            return Err(ApiKeyError::Malformed);
        }
        let mut parts = text.split('_');
        let (Some(prefix), Some(id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ApiKeyError::Malformed);
        };
        if prefix != self.prefix {
            return Err(ApiKeyError::WrongPrefix);
        }
        if id.len() != KEY_ID_CHARS
            || secret.len() != KEY_SECRET_CHARS
            || base32::decode(id).is_none()
            || base32::decode(secret).map(Zeroizing::new).is_none()
        {
            return Err(ApiKeyError::Malformed);
        }
        Ok(ParsedApiKey {
            id: id.to_owned(),
            secret: Zeroizing::new(secret.to_owned()),
        })
    }

    /// Verifies a presented key against the record found by its id, at time `now`: first the
    /// keyed hash in constant time ([`ApiKeyError::InvalidSecret`]), then revocation
    /// ([`ApiKeyError::Revoked`]) and expiry ([`ApiKeyError::Expired`]). Only a caller holding
    /// the right secret learns the key's state.
    pub fn verify(
        &self,
        presented: &ParsedApiKey,
        record: &ApiKeyRecord,
        now: OffsetDateTime,
    ) -> Result<(), ApiKeyError> {
        let hashing_key = self.keys.get(record.hash_key_version)?;
        let computed = hashing_key.hash(&self.prefix, &presented.id, &presented.secret);
        // The id is part of the hash, so a record looked up under another id cannot match; the
        // explicit check only keeps a caller's lookup bug from looking like a wrong secret.
        let id_matches = presented.id.as_bytes().ct_eq(record.id.as_bytes());
        let hash_matches = computed.as_slice().ct_eq(record.secret_hash.as_slice());
        if !bool::from(id_matches & hash_matches) {
            return Err(ApiKeyError::InvalidSecret);
        }
        if record.revoked_at.is_some() {
            return Err(ApiKeyError::Revoked);
        }
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiKeyError::Expired);
        }
        Ok(())
    }

    /// Whether a record's hash was made with an older hashing key than the current one.
    pub fn needs_rehash(&self, record: &ApiKeyRecord) -> bool {
        record.hash_key_version != self.keys.current_version()
    }

    /// After a successful [`verify`](Self::verify), the record re-hashed with the current
    /// hashing key (store it), so an old hashing key can be retired once every active key has
    /// been used or rotated.
    ///
    /// ```
    /// # use agency_auth::api_keys::{ApiKeyHashingKey, ApiKeyHashingKeys, ApiKeyManager, NewApiKey};
    /// # let now = time::OffsetDateTime::now_utc();
    /// let v1 = || ApiKeyHashingKey::new(1, &[1u8; 32]);
    /// let old = ApiKeyManager::new("agency", ApiKeyHashingKeys::new(v1()?))?;
    /// let created = old.create(NewApiKey::new("u", "t", "n", vec![]), now)?;
    ///
    /// let rotated = ApiKeyHashingKeys::new(ApiKeyHashingKey::new(2, &[2u8; 32])?).with_previous(v1()?)?;
    /// let manager = ApiKeyManager::new("agency", rotated)?;
    /// let presented = manager.parse(created.key.expose())?;
    /// manager.verify(&presented, &created.record, now)?;
    /// assert!(manager.needs_rehash(&created.record));
    /// let upgraded = manager.rehash(&presented, &created.record, now)?;
    /// assert_eq!(upgraded.hash_key_version, 2);
    /// manager.verify(&presented, &upgraded, now)?;
    /// # Ok::<(), agency_auth::api_keys::ApiKeyError>(())
    /// ```
    pub fn rehash(
        &self,
        presented: &ParsedApiKey,
        record: &ApiKeyRecord,
        now: OffsetDateTime,
    ) -> Result<ApiKeyRecord, ApiKeyError> {
        self.verify(presented, record, now)?;
        let hashing_key = self.keys.current()?;
        let mut upgraded = record.clone();
        upgraded.secret_hash = hashing_key.hash(&self.prefix, &presented.id, &presented.secret);
        upgraded.hash_key_version = hashing_key.version();
        Ok(upgraded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The scope validator never panics and accepts exactly `part:part` with the documented
        /// alphabet and lengths.
        #[test]
        fn scope_validation_matches_its_definition(scope in "\\PC{0,70}") {
            let expected = scope.split_once(':').is_some_and(|(r, a)| {
                [r, a].iter().all(|part| {
                    (1..=32).contains(&part.len())
                        && part.starts_with(|c: char| c.is_ascii_lowercase())
                        && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                })
            });
            proptest::prop_assert_eq!(is_valid_scope(&scope), expected);
        }

        #[test]
        fn generated_scope_shapes_are_valid(scope in "[a-z][a-z0-9_-]{0,31}:[a-z][a-z0-9_-]{0,31}") {
            proptest::prop_assert!(is_valid_scope(&scope));
        }
    }

    #[test]
    fn key_lengths_are_as_documented() {
        assert_eq!(KEY_ID_CHARS, 24);
        assert_eq!(KEY_SECRET_CHARS, 56);
    }
}
