//! Secrets at rest: AES-256-GCM envelope encryption with versioned key-encryption keys.
//!
//! For secrets an application must store and later use in clear (third-party access tokens,
//! webhook signing secrets), as opposed to credentials it only verifies (those are hashed).
//!
//! Every [`SecretsKeyring::encrypt`] draws a fresh 256-bit data key, encrypts the plaintext with it
//! under a random 96-bit nonce and the caller's associated data, and wraps the data key with the
//! current key-encryption key (KEK). The result is a self-describing [envelope](#envelope-format)
//! naming the KEK version, so any KEK still in the keyring decrypts it and
//! [`SecretsKeyring::reencrypt`] moves it to the current KEK by re-wrapping the data key only.
//!
//! Guarantees: any change to any byte of an envelope, a different associated data, an unknown
//! KEK version or a truncated envelope is an error (never a panic, never wrong plaintext). Key
//! material is held by aws-lc-rs key objects or in zeroizing buffers; no `Debug` output shows it.
//!
//! # Associated data
//!
//! Bind each secret to where it belongs, for example `b"webhook-source:<tenant>:<id>"`: an
//! envelope copied into another row then fails to decrypt instead of handing out another
//! tenant's secret.
//!
//! # Envelope format
//!
//! Binary, version 1 (`81 + plaintext length + 16` bytes); [`SecretsKeyring::encrypt_to_string`]
//! gives the same bytes in URL-safe base64 without padding.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `AGSE` |
//! | 4 | 1 | format version, `1` |
//! | 5 | 4 | KEK version, big-endian `u32` |
//! | 9 | 12 | nonce of the key wrap |
//! | 21 | 48 | data key (32 bytes) encrypted under the KEK with AES-256-GCM, then its 16-byte tag; associated data: bytes 0..9 |
//! | 69 | 12 | nonce of the data encryption |
//! | 81 | n + 16 | plaintext encrypted under the data key with AES-256-GCM, then its tag; associated data: the caller's |
//!
//! Nonces are random. A data key encrypts exactly one message, so its nonce cannot repeat; a KEK
//! wraps one data key per encryption, and random 96-bit nonces keep the chance of a repeat
//! negligible up to the usual bound of 2^32 wraps per KEK: rotate KEKs well before that.
//!
//! # Example
//!
//! ```
//! use agency_auth::secrets::{KeyEncryptionKey, SecretsKeyring};
//!
//! // In production the key bytes come from a secret manager, never from source code.
//! let version_1 = || KeyEncryptionKey::new(1, &[7u8; 32]);
//! let keyring = SecretsKeyring::new(version_1()?);
//! let stored = keyring.encrypt(b"ghp_example_token", b"integration:acme:github")?;
//!
//! // Rotate: version 2 becomes current, version 1 still decrypts.
//! let keyring = SecretsKeyring::new(KeyEncryptionKey::generate(2)?).with_previous(version_1()?)?;
//! assert_eq!(SecretsKeyring::key_version_of(&stored)?, 1);
//! let moved = keyring.reencrypt(&stored, b"integration:acme:github")?;
//! assert_eq!(SecretsKeyring::key_version_of(&moved)?, 2);
//! let plain = keyring.decrypt(&moved, b"integration:acme:github")?;
//! assert_eq!(&plain[..], b"ghp_example_token");
//!
//! // The wrong associated data fails.
//! assert!(keyring.decrypt(&moved, b"integration:other:github").is_err());
//! # Ok::<(), agency_auth::secrets::SecretsError>(())
//! ```

use crate::ErrorKind;
use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::versioned::VersionedKeys;

/// Length of a key-encryption key and of a data key, in bytes (AES-256).
pub const KEY_LEN: usize = 32;

const MAGIC: &[u8; 4] = b"AGSE";
const FORMAT_V1: u8 = 1;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 4 + 1 + 4;
const WRAP_NONCE_AT: usize = HEADER_LEN;
const WRAPPED_KEY_AT: usize = WRAP_NONCE_AT + NONCE_LEN;
const WRAPPED_KEY_LEN: usize = KEY_LEN + TAG_LEN;
const DATA_NONCE_AT: usize = WRAPPED_KEY_AT + WRAPPED_KEY_LEN;
const CIPHERTEXT_AT: usize = DATA_NONCE_AT + NONCE_LEN;
/// Size of an envelope beyond its plaintext: header, wrapped data key, nonces and tags.
pub const ENVELOPE_OVERHEAD: usize = CIPHERTEXT_AT + TAG_LEN;

/// Errors of envelope encryption.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// Key material has the wrong length or encoding.
    #[error("invalid key-encryption key: {0}")]
    InvalidKey(&'static str),
    /// Two keys in one keyring share a version.
    #[error("key version {0} is already in the keyring")]
    DuplicateKeyVersion(u32),
    /// The input is not an envelope: too short, wrong magic, or bad base64.
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
    /// The envelope uses a format version this library does not know.
    #[error("unsupported envelope format version {0}")]
    UnsupportedFormat(u8),
    /// The envelope was wrapped with a KEK version that is not in the keyring.
    #[error("envelope needs key-encryption key version {0}, which is not in the keyring")]
    UnknownKeyVersion(u32),
    /// Authentication failed: wrong associated data, wrong key, or a modified envelope.
    #[error("decryption failed: wrong associated data or a modified envelope")]
    DecryptionFailed,
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// The cipher refused to encrypt (for example, a message above AES-GCM's size limit).
    #[error("encryption failed")]
    EncryptionFailed,
}

impl SecretsError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::secrets::SecretsError;
    /// // Envelopes are the server's own stored data: a failure is never the caller's to fix.
    /// assert_eq!(SecretsError::DecryptionFailed.kind(), ErrorKind::Internal);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidKey(_)
            | Self::DuplicateKeyVersion(_)
            | Self::Malformed(_)
            | Self::UnsupportedFormat(_)
            | Self::UnknownKeyVersion(_)
            | Self::DecryptionFailed
            | Self::Random
            | Self::EncryptionFailed => ErrorKind::Internal,
        }
    }
}

/// A versioned AES-256 key-encryption key. `Debug` shows the version only.
///
/// ```
/// use agency_auth::secrets::KeyEncryptionKey;
///
/// let kek = KeyEncryptionKey::from_base64(3, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")?;
/// assert_eq!(kek.version(), 3);
/// assert_eq!(format!("{kek:?}"), "KeyEncryptionKey { version: 3, key: \"<redacted>\" }");
/// assert!(KeyEncryptionKey::new(1, &[0u8; 16]).is_err()); // AES-256 only
/// # Ok::<(), agency_auth::secrets::SecretsError>(())
/// ```
pub struct KeyEncryptionKey {
    version: u32,
    key: LessSafeKey,
}

impl KeyEncryptionKey {
    /// A KEK from 32 bytes of key material.
    pub fn new(version: u32, key: &[u8]) -> Result<Self, SecretsError> {
        if key.len() != KEY_LEN {
            return Err(SecretsError::InvalidKey("must be exactly 32 bytes"));
        }
        let key = aead_key(key).map_err(|_| SecretsError::InvalidKey("rejected by AES-256-GCM"))?;
        Ok(Self { version, key })
    }

    /// A KEK from its base64 encoding (standard or URL-safe alphabet, padding optional), as kept
    /// in configuration or a secret manager.
    pub fn from_base64(version: u32, encoded: &str) -> Result<Self, SecretsError> {
        let encoded = encoded.trim();
        let trimmed = encoded.trim_end_matches('=');
        let decoded = if trimmed.contains(['+', '/']) {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed)
        } else {
            URL_SAFE_NO_PAD.decode(trimmed)
        };
        let bytes = Zeroizing::new(decoded.map_err(|_| SecretsError::InvalidKey("not base64"))?);
        Self::new(version, &bytes)
    }

    /// A new random KEK (from the operating system's generator through aws-lc-rs).
    pub fn generate(version: u32) -> Result<Self, SecretsError> {
        let bytes = random_key()?;
        Self::new(version, &bytes[..])
    }

    /// The version stored in envelopes wrapped by this key.
    pub fn version(&self) -> u32 {
        self.version
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEncryptionKey")
            .field("version", &self.version)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The key-encryption keys an application knows, by version, one of them current.
///
/// New envelopes are wrapped with the current key; decryption uses whichever version an
/// envelope names. Retire a version only after [`reencrypt`](Self::reencrypt) has moved every
/// envelope off it. `Debug` shows versions only.
///
/// ```
/// use agency_auth::secrets::{KeyEncryptionKey, SecretsKeyring};
///
/// let ring = SecretsKeyring::new(KeyEncryptionKey::generate(2)?)
///     .with_previous(KeyEncryptionKey::generate(1)?)?;
/// assert_eq!(ring.current_version(), 2);
/// assert_eq!(ring.versions().collect::<Vec<_>>(), vec![1, 2]);
/// let envelope = ring.encrypt(b"s3cr3t", b"row-17")?;
/// assert_eq!(&ring.decrypt(&envelope, b"row-17")?[..], b"s3cr3t");
/// # Ok::<(), agency_auth::secrets::SecretsError>(())
/// ```
pub struct SecretsKeyring {
    keys: VersionedKeys<KeyEncryptionKey>,
}

impl SecretsKeyring {
    /// A keyring whose current (and only) key is `current`.
    pub fn new(current: KeyEncryptionKey) -> Self {
        Self {
            keys: VersionedKeys::new(current.version, current),
        }
    }

    /// Adds an older key that still decrypts (and is re-encrypted from) but never encrypts.
    pub fn with_previous(mut self, key: KeyEncryptionKey) -> Result<Self, SecretsError> {
        self.keys
            .insert_previous(key.version, key)
            .map_err(SecretsError::DuplicateKeyVersion)?;
        Ok(self)
    }

    /// Version of the key new envelopes are wrapped with.
    pub fn current_version(&self) -> u32 {
        self.keys.current_version()
    }

    /// Every version in the keyring, ascending.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.versions()
    }

    /// Encrypts `plaintext` bound to `associated_data` into a new envelope under the current KEK.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        associated_data: &[u8],
    ) -> Result<Vec<u8>, SecretsError> {
        let data_key = random_key()?;
        let sealer = aead_key(&data_key[..]).map_err(|_| SecretsError::EncryptionFailed)?;

        let mut envelope = Vec::with_capacity(ENVELOPE_OVERHEAD + plaintext.len());
        envelope.extend_from_slice(&[0u8; DATA_NONCE_AT]);
        let data_nonce = random_nonce()?;
        envelope.extend_from_slice(&data_nonce);
        envelope.extend_from_slice(plaintext);
        let tag = sealer
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(data_nonce),
                Aad::from(associated_data),
                &mut envelope[CIPHERTEXT_AT..],
            )
            .map_err(|_| SecretsError::EncryptionFailed)?;
        envelope.extend_from_slice(tag.as_ref());

        self.write_wrapped_key(&mut envelope, &data_key)?;
        Ok(envelope)
    }

    /// Decrypts an envelope made by any key in the keyring, checking `associated_data`.
    ///
    /// The plaintext comes back in a buffer that is zeroed when dropped.
    pub fn decrypt(
        &self,
        envelope: &[u8],
        associated_data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        let (data_key, _) = self.unwrap_key(envelope)?;
        let opener = aead_key(&data_key[..]).map_err(|_| SecretsError::DecryptionFailed)?;
        let nonce = Nonce::try_assume_unique_for_key(&envelope[DATA_NONCE_AT..CIPHERTEXT_AT])
            .map_err(|_| SecretsError::Malformed("bad nonce"))?;
        let mut buffer = Zeroizing::new(envelope[CIPHERTEXT_AT..].to_vec());
        let plaintext_len = opener
            .open_in_place(nonce, Aad::from(associated_data), &mut buffer[..])
            .map_err(|_| SecretsError::DecryptionFailed)?
            .len();
        buffer.truncate(plaintext_len);
        Ok(buffer)
    }

    /// Moves an envelope to the current KEK: checks that it decrypts with `associated_data`, then
    /// re-wraps its data key (the encrypted data itself is unchanged). An envelope already on
    /// the current version is checked and returned as it is.
    pub fn reencrypt(
        &self,
        envelope: &[u8],
        associated_data: &[u8],
    ) -> Result<Vec<u8>, SecretsError> {
        // Refuse to re-wrap anything that does not authenticate, so rotation never launders a
        // corrupted or substituted envelope into a freshly wrapped one.
        drop(self.decrypt(envelope, associated_data)?);
        let (data_key, version) = self.unwrap_key(envelope)?;
        let mut moved = envelope.to_vec();
        if version != self.keys.current_version() {
            self.write_wrapped_key(&mut moved, &data_key)?;
        }
        Ok(moved)
    }

    /// Whether an envelope is wrapped with a KEK other than the current one.
    ///
    /// ```
    /// # use agency_auth::secrets::{KeyEncryptionKey, SecretsKeyring};
    /// let ring = SecretsKeyring::new(KeyEncryptionKey::generate(1)?);
    /// let envelope = ring.encrypt(b"x", b"")?;
    /// assert!(!ring.needs_reencrypt(&envelope)?);
    /// # Ok::<(), agency_auth::secrets::SecretsError>(())
    /// ```
    pub fn needs_reencrypt(&self, envelope: &[u8]) -> Result<bool, SecretsError> {
        Ok(Self::key_version_of(envelope)? != self.keys.current_version())
    }

    /// The KEK version an envelope names, after checking its framing (not its authenticity).
    ///
    /// ```
    /// use agency_auth::secrets::{SecretsError, SecretsKeyring};
    /// assert_eq!(
    ///     SecretsKeyring::key_version_of(b"AGSE"),
    ///     Err(SecretsError::Malformed("too short"))
    /// );
    /// ```
    pub fn key_version_of(envelope: &[u8]) -> Result<u32, SecretsError> {
        if envelope.len() < ENVELOPE_OVERHEAD {
            return Err(SecretsError::Malformed("too short"));
        }
        if &envelope[..4] != MAGIC {
            return Err(SecretsError::Malformed("not an agency secret envelope"));
        }
        if envelope[4] != FORMAT_V1 {
            return Err(SecretsError::UnsupportedFormat(envelope[4]));
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&envelope[5..HEADER_LEN]);
        Ok(u32::from_be_bytes(version))
    }

    /// [`encrypt`](Self::encrypt), encoded as URL-safe base64 without padding (for text
    /// columns and configuration files).
    ///
    /// ```
    /// # use agency_auth::secrets::{KeyEncryptionKey, SecretsKeyring};
    /// let ring = SecretsKeyring::new(KeyEncryptionKey::generate(1)?);
    /// let text = ring.encrypt_to_string(b"whsec_123", b"source:9")?;
    /// assert!(text.starts_with("QUdTRQ")); // "AGSE"
    /// assert_eq!(&ring.decrypt_str(&text, b"source:9")?[..], b"whsec_123");
    /// # Ok::<(), agency_auth::secrets::SecretsError>(())
    /// ```
    pub fn encrypt_to_string(
        &self,
        plaintext: &[u8],
        associated_data: &[u8],
    ) -> Result<String, SecretsError> {
        Ok(URL_SAFE_NO_PAD.encode(self.encrypt(plaintext, associated_data)?))
    }

    /// [`decrypt`](Self::decrypt) of the text form made by
    /// [`encrypt_to_string`](Self::encrypt_to_string).
    pub fn decrypt_str(
        &self,
        envelope: &str,
        associated_data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        self.decrypt(&decode_text(envelope)?, associated_data)
    }

    /// [`reencrypt`](Self::reencrypt) of the text form.
    pub fn reencrypt_str(
        &self,
        envelope: &str,
        associated_data: &[u8],
    ) -> Result<String, SecretsError> {
        Ok(URL_SAFE_NO_PAD.encode(self.reencrypt(&decode_text(envelope)?, associated_data)?))
    }

    fn current_key(&self) -> Result<&KeyEncryptionKey, SecretsError> {
        self.keys.current().map_err(SecretsError::UnknownKeyVersion)
    }

    /// Writes header, wrap nonce and wrapped `data_key` (under the current KEK) into the first
    /// `DATA_NONCE_AT` bytes of `envelope`.
    fn write_wrapped_key(
        &self,
        envelope: &mut [u8],
        data_key: &Zeroizing<[u8; KEY_LEN]>,
    ) -> Result<(), SecretsError> {
        let kek = self.current_key()?;
        envelope[..4].copy_from_slice(MAGIC);
        envelope[4] = FORMAT_V1;
        envelope[5..HEADER_LEN].copy_from_slice(&kek.version.to_be_bytes());
        let wrap_nonce = random_nonce()?;
        envelope[WRAP_NONCE_AT..WRAPPED_KEY_AT].copy_from_slice(&wrap_nonce);
        let (header, rest) = envelope.split_at_mut(HEADER_LEN);
        let wrapped = &mut rest[NONCE_LEN..NONCE_LEN + KEY_LEN];
        wrapped.copy_from_slice(&data_key[..]);
        let tag = kek
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(wrap_nonce),
                Aad::from(&header[..]),
                wrapped,
            )
            .map_err(|_| SecretsError::EncryptionFailed)?;
        rest[NONCE_LEN + KEY_LEN..NONCE_LEN + WRAPPED_KEY_LEN].copy_from_slice(tag.as_ref());
        Ok(())
    }

    /// Checks the framing and unwraps the data key of an envelope.
    fn unwrap_key(&self, envelope: &[u8]) -> Result<(Zeroizing<[u8; KEY_LEN]>, u32), SecretsError> {
        let version = Self::key_version_of(envelope)?;
        let kek = self
            .keys
            .get(version)
            .map_err(SecretsError::UnknownKeyVersion)?;
        let nonce = Nonce::try_assume_unique_for_key(&envelope[WRAP_NONCE_AT..WRAPPED_KEY_AT])
            .map_err(|_| SecretsError::Malformed("bad nonce"))?;
        let mut wrapped = Zeroizing::new([0u8; WRAPPED_KEY_LEN]);
        wrapped.copy_from_slice(&envelope[WRAPPED_KEY_AT..DATA_NONCE_AT]);
        let opened = kek
            .key
            .open_in_place(nonce, Aad::from(&envelope[..HEADER_LEN]), &mut wrapped[..])
            .map_err(|_| SecretsError::DecryptionFailed)?;
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        if opened.len() != KEY_LEN {
            return Err(SecretsError::DecryptionFailed);
        }
        data_key.copy_from_slice(opened);
        Ok((data_key, version))
    }
}

impl fmt::Debug for SecretsKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.keys.debug_fmt("SecretsKeyring", f)
    }
}

fn aead_key(bytes: &[u8]) -> Result<LessSafeKey, aws_lc_rs::error::Unspecified> {
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes)?))
}

fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, SecretsError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    aws_lc_rs::rand::fill(&mut key[..]).map_err(|_| SecretsError::Random)?;
    Ok(key)
}

fn random_nonce() -> Result<[u8; NONCE_LEN], SecretsError> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SecretsError::Random)?;
    Ok(nonce)
}

fn decode_text(envelope: &str) -> Result<Vec<u8>, SecretsError> {
    URL_SAFE_NO_PAD
        .decode(envelope)
        .map_err(|_| SecretsError::Malformed("not URL-safe base64 without padding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> SecretsKeyring {
        SecretsKeyring::new(KeyEncryptionKey::new(1, &[1u8; 32]).unwrap())
    }

    #[test]
    fn layout_matches_documented_offsets() {
        assert_eq!(WRAP_NONCE_AT, 9);
        assert_eq!(WRAPPED_KEY_AT, 21);
        assert_eq!(DATA_NONCE_AT, 69);
        assert_eq!(CIPHERTEXT_AT, 81);
        let envelope = ring().encrypt(b"abc", b"").unwrap();
        assert_eq!(envelope.len(), ENVELOPE_OVERHEAD + 3);
        assert_eq!(&envelope[..5], b"AGSE\x01");
        assert_eq!(&envelope[5..9], &1u32.to_be_bytes());
    }

    #[test]
    fn two_encryptions_of_the_same_plaintext_differ() {
        let ring = ring();
        let a = ring.encrypt(b"same", b"ad").unwrap();
        let b = ring.encrypt(b"same", b"ad").unwrap();
        assert_ne!(a, b);
        assert_ne!(
            a[WRAPPED_KEY_AT..DATA_NONCE_AT],
            b[WRAPPED_KEY_AT..DATA_NONCE_AT]
        );
    }

    #[test]
    fn plaintext_does_not_appear_in_envelope() {
        let envelope = ring().encrypt(b"PLAINTEXT-MARKER", b"").unwrap();
        assert!(!envelope.windows(16).any(|w| w == b"PLAINTEXT-MARKER"));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let kek = KeyEncryptionKey::new(4, &[0xAA; 32]).unwrap();
        let shown_key = format!("{kek:?}");
        let shown = format!("{shown_key} {:?}", SecretsKeyring::new(kek));
        assert!(!shown.contains("170"), "{shown}");
        assert!(!shown.to_lowercase().contains("aaaa"), "{shown}");
    }

    #[test]
    fn duplicate_version_is_refused() {
        let err = ring()
            .with_previous(KeyEncryptionKey::new(1, &[2u8; 32]).unwrap())
            .unwrap_err();
        assert_eq!(err, SecretsError::DuplicateKeyVersion(1));
    }

    #[test]
    fn kek_from_base64_accepts_both_alphabets_and_rejects_wrong_length() {
        let std = base64::engine::general_purpose::STANDARD.encode([0xFBu8; 32]);
        let url = URL_SAFE_NO_PAD.encode([0xFBu8; 32]);
        assert!(std.contains('+') || std.contains('/'));
        assert!(KeyEncryptionKey::from_base64(1, &std).is_ok());
        assert!(KeyEncryptionKey::from_base64(1, &url).is_ok());
        assert!(KeyEncryptionKey::from_base64(1, &URL_SAFE_NO_PAD.encode([1u8; 31])).is_err());
        assert!(KeyEncryptionKey::from_base64(1, "not base64!").is_err());
    }
}
