//! [`Pepper`]: a server-side secret mixed into every password hash.

use std::fmt;

use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::PasswordError;

/// Shortest pepper accepted, in bytes.
pub const MIN_PEPPER_LEN: usize = 32;
/// Longest pepper accepted, in bytes.
pub const MAX_PEPPER_LEN: usize = 1024;

/// A versioned server-side secret given to argon2 as its "secret" input (a pepper).
///
/// With a pepper kept outside the database (configuration, a secret manager), a stolen users
/// table alone cannot be attacked offline at all: every guess needs the pepper. Hashes record
/// the pepper's id (the PHC `keyid` parameter, 4 bytes big-endian), so peppers rotate like the
/// other keys of this crate: configure the new one with
/// [`with_pepper`](super::PasswordHasherConfig::with_pepper) and keep the old one with
/// [`with_previous_pepper`](super::PasswordHasherConfig::with_previous_pepper); hashes made
/// with an old pepper (or none) report `needs_rehash` and move on the next login.
///
/// Losing the pepper makes every password hash made with it unverifiable: back it up like a
/// signing key. `Debug` shows the id only; the bytes are zeroed on drop.
///
/// ```
/// use agency_auth::passwords::Pepper;
///
/// let pepper = Pepper::new(1, &[7u8; 32])?;
/// assert_eq!(pepper.id(), 1);
/// assert_eq!(format!("{pepper:?}"), "Pepper { id: 1, secret: \"<redacted>\" }");
/// assert!(Pepper::new(1, &[7u8; 16]).is_err());
/// # Ok::<(), agency_auth::passwords::PasswordError>(())
/// ```
#[derive(Clone)]
pub struct Pepper {
    id: u32,
    secret: Zeroizing<Vec<u8>>,
}

impl Pepper {
    /// A pepper from 32 to 1024 bytes of secret material.
    pub fn new(id: u32, secret: &[u8]) -> Result<Self, PasswordError> {
        if !(MIN_PEPPER_LEN..=MAX_PEPPER_LEN).contains(&secret.len()) {
            return Err(PasswordError::InvalidConfig(
                "a pepper must be 32 to 1024 bytes",
            ));
        }
        Ok(Self {
            id,
            secret: Zeroizing::new(secret.to_vec()),
        })
    }

    /// A pepper from base64 (standard or URL-safe alphabet, padding optional).
    ///
    /// ```
    /// # use agency_auth::passwords::Pepper;
    /// let pepper = Pepper::from_base64(2, "cGVwcGVyLXBlcHBlci1wZXBwZXItcGVwcGVyLXBlcHBlcg")?;
    /// assert_eq!(pepper.id(), 2);
    /// # Ok::<(), agency_auth::passwords::PasswordError>(())
    /// ```
    pub fn from_base64(id: u32, encoded: &str) -> Result<Self, PasswordError> {
        let trimmed = encoded.trim().trim_end_matches('=');
        let decoded = if trimmed.contains(['+', '/']) {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed)
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed)
        };
        let bytes = Zeroizing::new(
            decoded.map_err(|_| PasswordError::InvalidConfig("pepper is not base64"))?,
        );
        Self::new(id, &bytes)
    }

    /// The id recorded in hashes made with this pepper.
    pub fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn keyid(&self) -> [u8; 4] {
        self.id.to_be_bytes()
    }

    pub(crate) fn secret(&self) -> Zeroizing<Vec<u8>> {
        self.secret.clone()
    }
}

impl PartialEq for Pepper {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && bool::from(self.secret.as_slice().ct_eq(other.secret.as_slice()))
    }
}

impl Eq for Pepper {}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}
