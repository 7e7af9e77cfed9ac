//! Server-side keys for the keyed hash (HMAC-SHA256) of API key secrets, by version.
//!
//! Why a keyed hash and not argon2: an API key secret is 280 random bits, so no guessing attack
//! is feasible whatever the hash; a slow hash would add no security and cost tens of
//! milliseconds of CPU and megabytes of memory on every API request. Why keyed rather than a
//! plain SHA-256: with the hashing key outside the database, a stolen database alone cannot
//! test guesses at all, and a key with a low-entropy secret (a bug, a typo'd import) stays safe.

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::ApiKeyError;
use crate::versioned::VersionedKeys;

/// Minimum length of a hashing key, in bytes.
pub const MIN_HASHING_KEY_LEN: usize = 32;

/// Domain separation: these hashes can never collide with another HMAC use of the same key.
const DOMAIN: &[u8] = b"agency-auth api-key v1\0";

/// One versioned HMAC-SHA256 key for API key secrets. `Debug` shows the version only.
///
/// ```
/// use agency_auth::api_keys::ApiKeyHashingKey;
///
/// let key = ApiKeyHashingKey::new(1, &[42u8; 32])?;
/// assert_eq!(format!("{key:?}"), "ApiKeyHashingKey { version: 1, key: \"<redacted>\" }");
/// assert!(ApiKeyHashingKey::new(1, &[42u8; 16]).is_err()); // at least 32 bytes
/// # Ok::<(), agency_auth::api_keys::ApiKeyError>(())
/// ```
pub struct ApiKeyHashingKey {
    version: u32,
    key: hmac::Key,
}

impl ApiKeyHashingKey {
    /// A key from at least 32 bytes of secret material (aws-lc-rs keeps its own copy and
    /// clears it on drop; the caller should zeroize `bytes`).
    pub fn new(version: u32, bytes: &[u8]) -> Result<Self, ApiKeyError> {
        if bytes.len() < MIN_HASHING_KEY_LEN {
            return Err(ApiKeyError::InvalidHashingKey("must be at least 32 bytes"));
        }
        Ok(Self {
            version,
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        })
    }

    /// A key from base64 (standard or URL-safe alphabet, padding optional), as kept in
    /// configuration or a secret manager.
    ///
    /// ```
    /// # use agency_auth::api_keys::ApiKeyHashingKey;
    /// let key = ApiKeyHashingKey::from_base64(2, "c2VydmVyLXNpZGUtYXBpLWtleS1oYXNoaW5nLWtleSEh")?;
    /// assert_eq!(key.version(), 2);
    /// # Ok::<(), agency_auth::api_keys::ApiKeyError>(())
    /// ```
    pub fn from_base64(version: u32, encoded: &str) -> Result<Self, ApiKeyError> {
        let trimmed = encoded.trim().trim_end_matches('=');
        let decoded = if trimmed.contains(['+', '/']) {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed)
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed)
        };
        let bytes =
            Zeroizing::new(decoded.map_err(|_| ApiKeyError::InvalidHashingKey("not base64"))?);
        Self::new(version, &bytes)
    }

    /// A new random 32-byte key.
    pub fn generate(version: u32) -> Result<Self, ApiKeyError> {
        let mut bytes = Zeroizing::new([0u8; MIN_HASHING_KEY_LEN]);
        aws_lc_rs::rand::fill(&mut bytes[..]).map_err(|_| ApiKeyError::Random)?;
        Self::new(version, &bytes[..])
    }

    /// The version recorded in [`ApiKeyRecord::hash_key_version`](super::ApiKeyRecord).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// HMAC-SHA256 over the domain, the prefix, the id and the secret (`\0`-separated; none of
    /// them can contain `\0`), so a hash is bound to one key text.
    pub(crate) fn hash(&self, prefix: &str, id: &str, secret: &str) -> Vec<u8> {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(DOMAIN);
        context.update(prefix.as_bytes());
        context.update(b"\0");
        context.update(id.as_bytes());
        context.update(b"\0");
        context.update(secret.as_bytes());
        context.sign().as_ref().to_vec()
    }
}

impl fmt::Debug for ApiKeyHashingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyHashingKey")
            .field("version", &self.version)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The hashing keys by version, one current: new keys are hashed with the current one, stored
/// hashes are checked with the version they name, and
/// [`ApiKeyManager::rehash`](super::ApiKeyManager::rehash) moves a key to the current version
/// the next time it is presented. `Debug` shows versions only.
///
/// ```
/// use agency_auth::api_keys::{ApiKeyHashingKey, ApiKeyHashingKeys};
///
/// let keys = ApiKeyHashingKeys::new(ApiKeyHashingKey::generate(2)?)
///     .with_previous(ApiKeyHashingKey::generate(1)?)?;
/// assert_eq!(keys.current_version(), 2);
/// # Ok::<(), agency_auth::api_keys::ApiKeyError>(())
/// ```
pub struct ApiKeyHashingKeys {
    keys: VersionedKeys<ApiKeyHashingKey>,
}

impl ApiKeyHashingKeys {
    /// A keyring whose current (and only) key is `current`.
    pub fn new(current: ApiKeyHashingKey) -> Self {
        Self {
            keys: VersionedKeys::new(current.version, current),
        }
    }

    /// Adds an older key, still used to check hashes it produced.
    pub fn with_previous(mut self, key: ApiKeyHashingKey) -> Result<Self, ApiKeyError> {
        self.keys
            .insert_previous(key.version, key)
            .map_err(ApiKeyError::DuplicateHashKeyVersion)?;
        Ok(self)
    }

    /// Version of the key new hashes are made with.
    pub fn current_version(&self) -> u32 {
        self.keys.current_version()
    }

    pub(crate) fn current(&self) -> Result<&ApiKeyHashingKey, ApiKeyError> {
        self.keys
            .current()
            .map_err(ApiKeyError::UnknownHashKeyVersion)
    }

    pub(crate) fn get(&self, version: u32) -> Result<&ApiKeyHashingKey, ApiKeyError> {
        self.keys
            .get(version)
            .map_err(ApiKeyError::UnknownHashKeyVersion)
    }
}

impl fmt::Debug for ApiKeyHashingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.keys.debug_fmt("ApiKeyHashingKeys", f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_binds_the_id() {
        let key = ApiKeyHashingKey::new(1, &[1u8; 32]).unwrap();
        assert_ne!(
            key.hash("p", "id-a", "secret"),
            key.hash("p", "id-b", "secret")
        );
        // No ambiguity between where the id ends and the secret starts.
        assert_ne!(key.hash("p", "ab", "c"), key.hash("p", "a", "bc"));
        assert_ne!(key.hash("p", "id", "s"), key.hash("q", "id", "s"));
        assert_eq!(key.hash("p", "id", "s").len(), 32);
    }

    #[test]
    fn different_keys_give_different_hashes() {
        let a = ApiKeyHashingKey::new(1, &[1u8; 32]).unwrap();
        let b = ApiKeyHashingKey::new(1, &[2u8; 32]).unwrap();
        assert_ne!(a.hash("p", "id", "s"), b.hash("p", "id", "s"));
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let keys = ApiKeyHashingKeys::new(ApiKeyHashingKey::new(1, &[1u8; 32]).unwrap());
        let err = keys
            .with_previous(ApiKeyHashingKey::new(1, &[2u8; 32]).unwrap())
            .unwrap_err();
        assert_eq!(err, ApiKeyError::DuplicateHashKeyVersion(1));
    }
}
