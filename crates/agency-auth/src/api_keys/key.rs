//! The text of an API key: [`PlaintextApiKey`] (shown once) and [`ParsedApiKey`] (presented).

use std::fmt;

use zeroize::Zeroizing;

/// Random bytes in a key id (120 bits, 24 base32 characters).
pub const KEY_ID_BYTES: usize = 15;
/// Random bytes in a key secret (280 bits, 56 base32 characters).
pub const KEY_SECRET_BYTES: usize = 35;
/// Longest prefix allowed.
pub const MAX_PREFIX_LEN: usize = 16;

// The secret carries at least 256 random bits and the id at least 96, whatever edits follow.
const _: () = assert!(KEY_SECRET_BYTES * 8 >= 256 && KEY_ID_BYTES >= 12);

pub(crate) const KEY_ID_CHARS: usize = super::base32::encoded_len(KEY_ID_BYTES);
pub(crate) const KEY_SECRET_CHARS: usize = super::base32::encoded_len(KEY_SECRET_BYTES);
/// Longest key text accepted by the parser; anything longer is refused before it is split.
pub(crate) const MAX_KEY_LEN: usize = MAX_PREFIX_LEN + 1 + KEY_ID_CHARS + 1 + KEY_SECRET_CHARS;

/// A newly created API key, `<prefix>_<id>_<secret>`, to show to its owner once.
///
/// The text is zeroed on drop and `Debug` shows only the public part:
///
/// ```
/// # use agency_auth::api_keys::{ApiKeyHashingKey, ApiKeyHashingKeys, ApiKeyManager, NewApiKey};
/// # let manager = ApiKeyManager::new("agency", ApiKeyHashingKeys::new(ApiKeyHashingKey::generate(1)?))?;
/// # let now = time::OffsetDateTime::now_utc();
/// let created = manager.create(NewApiKey::new("u-1", "acme", "ci", vec![]), now)?;
/// let shown = format!("{:?}", created.key);
/// assert!(shown.contains(created.key.id()));
/// assert!(!shown.contains(created.key.expose()));
/// # Ok::<(), agency_auth::api_keys::ApiKeyError>(())
/// ```
#[derive(Clone)]
pub struct PlaintextApiKey {
    text: Zeroizing<String>,
    id_range: std::ops::Range<usize>,
}

impl PlaintextApiKey {
    pub(crate) fn new(prefix: &str, id: &str, secret: &str) -> Self {
        let mut text = Zeroizing::new(String::with_capacity(
            prefix.len() + id.len() + secret.len() + 2,
        ));
        text.push_str(prefix);
        text.push('_');
        let start = text.len();
        text.push_str(id);
        let end = text.len();
        text.push('_');
        text.push_str(secret);
        Self {
            text,
            id_range: start..end,
        }
    }

    /// The whole key text, to return in the creation response. Never log it.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The public key id (as stored in [`ApiKeyRecord::id`](super::ApiKeyRecord)).
    pub fn id(&self) -> &str {
        self.text.get(self.id_range.clone()).unwrap_or_default()
    }
}

impl fmt::Debug for PlaintextApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaintextApiKey")
            .field("id", &self.id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A key as presented by a client, after strict parsing by
/// [`ApiKeyManager::parse`](super::ApiKeyManager::parse): look its record up by
/// [`id`](Self::id), then [`verify`](super::ApiKeyManager::verify) it. `Debug` redacts the
/// secret, which is zeroed on drop.
///
/// ```
/// # use agency_auth::api_keys::{ApiKeyHashingKey, ApiKeyHashingKeys, ApiKeyManager, NewApiKey};
/// # let manager = ApiKeyManager::new("agency", ApiKeyHashingKeys::new(ApiKeyHashingKey::generate(1)?))?;
/// # let created = manager.create(NewApiKey::new("u", "t", "n", vec![]), time::OffsetDateTime::now_utc())?;
/// let presented = manager.parse(created.key.expose())?;
/// assert_eq!(presented.id(), created.record.id);
/// assert!(format!("{presented:?}").contains("<redacted>"));
/// # Ok::<(), agency_auth::api_keys::ApiKeyError>(())
/// ```
pub struct ParsedApiKey {
    pub(crate) id: String,
    pub(crate) secret: Zeroizing<String>,
}

impl ParsedApiKey {
    /// The public key id, to look the record up with.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for ParsedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedApiKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}
