//! Opaque refresh tokens: 256 random bits, shown to the client once, stored only as a SHA-256.
//!
//! Text form: `rt_` followed by the 32 random bytes in unpadded base64url (46 characters in
//! all). Decoding is strict: exact length, the prefix, the base64url alphabet and canonical
//! trailing bits, so every accepted text maps to exactly one token and back.
//!
//! Why a plain SHA-256 and not argon2 or an HMAC: the token is 256 uniformly random bits, so
//! a leaked hash cannot be reversed or brute-forced, and a slow or keyed hash would add cost to
//! every refresh without adding security (slow hashes defend low-entropy secrets like passwords).

use crate::ErrorKind;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// Number of random bytes in a refresh token (256 bits).
pub const REFRESH_TOKEN_BYTES: usize = 32;
const PREFIX: &str = "rt_";
/// Length of a refresh token's text form.
pub const REFRESH_TOKEN_TEXT_LEN: usize = PREFIX.len() + 43;

/// A refresh token's plaintext. Zeroized on drop; `Debug` never shows it.
///
/// Only [`SessionManager`](super::SessionManager) creates tokens; a client presents the text
/// form, which [`RefreshToken::parse`] decodes.
///
/// ```
/// use agency_auth::sessions::RefreshToken;
///
/// let token = RefreshToken::generate().unwrap();
/// let text = token.expose_secret().to_owned();
/// assert!(text.starts_with("rt_"));
/// let parsed = RefreshToken::parse(&text).unwrap();
/// assert_eq!(parsed.hash(), token.hash());
/// assert_eq!(format!("{token:?}"), "RefreshToken(<redacted>)");
/// ```
pub struct RefreshToken {
    text: Zeroizing<String>,
    bytes: Zeroizing<[u8; REFRESH_TOKEN_BYTES]>,
}

/// The presented text is not a refresh token of this library. Callers treat it exactly like an
/// unknown token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed refresh token")]
pub struct MalformedRefreshToken;

/// The system random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomUnavailable;

impl RandomUnavailable {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::sessions::RandomUnavailable;
    /// assert_eq!(RandomUnavailable.kind(), ErrorKind::Internal);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

impl RefreshToken {
    /// A fresh token of 256 bits from the system CSPRNG (aws-lc-rs).
    ///
    /// ```
    /// use agency_auth::sessions::RefreshToken;
    /// let a = RefreshToken::generate().unwrap();
    /// let b = RefreshToken::generate().unwrap();
    /// assert_ne!(a.hash(), b.hash());
    /// ```
    pub fn generate() -> Result<Self, RandomUnavailable> {
        let mut bytes = Zeroizing::new([0u8; REFRESH_TOKEN_BYTES]);
        aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| RandomUnavailable)?;
        Ok(Self::from_bytes(bytes))
    }

    fn from_bytes(bytes: Zeroizing<[u8; REFRESH_TOKEN_BYTES]>) -> Self {
        let mut text = Zeroizing::new(String::with_capacity(REFRESH_TOKEN_TEXT_LEN));
        text.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(bytes.as_ref(), &mut text);
        RefreshToken { text, bytes }
    }

    /// Decodes a presented token text. Fails on anything that [`generate`](Self::generate)
    /// could not have produced; never panics, and rejects long inputs before decoding.
    ///
    /// ```
    /// use agency_auth::sessions::RefreshToken;
    ///
    /// // An access token (a JWT) is not a refresh token.
    /// assert!(RefreshToken::parse("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln").is_err());
    /// assert!(RefreshToken::parse("").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, MalformedRefreshToken> {
        if text.len() != REFRESH_TOKEN_TEXT_LEN {
            return Err(MalformedRefreshToken);
        }
        let encoded = text.strip_prefix(PREFIX).ok_or(MalformedRefreshToken)?;
        let mut decoded = Zeroizing::new([0u8; 33]);
        // The standard engine rejects non-zero trailing bits, so the encoding is canonical.
        let written = URL_SAFE_NO_PAD
            .decode_slice(encoded, decoded.as_mut())
            .map_err(|_| MalformedRefreshToken)?;
        if written != REFRESH_TOKEN_BYTES {
            return Err(MalformedRefreshToken);
        }
        let mut bytes = Zeroizing::new([0u8; REFRESH_TOKEN_BYTES]);
        bytes.copy_from_slice(&decoded[..REFRESH_TOKEN_BYTES]);
        let token = Self::from_bytes(bytes);
        // Defence in depth: the round trip must give back the very text presented.
        if token.text.as_str() != text {
            return Err(MalformedRefreshToken);
        }
        Ok(token)
    }

    /// The text to hand to the client (once). Do not log it.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// The SHA-256 of the token's random bytes: the only form a store keeps.
    pub fn hash(&self) -> RefreshTokenHash {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.bytes.as_ref());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        RefreshTokenHash(out)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// SHA-256 of a refresh token: the store's lookup key. Not secret (it cannot be turned back into
/// a token), but `Debug` shows only a prefix to keep logs short.
///
/// ```
/// use agency_auth::sessions::RefreshTokenHash;
///
/// let hash = RefreshTokenHash::from_bytes([7; 32]);
/// assert_eq!(hash.as_bytes(), &[7; 32]);
/// assert_eq!(format!("{hash:?}"), "RefreshTokenHash(07070707…)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash([u8; 32]);

impl RefreshTokenHash {
    /// Wraps hash bytes read back from a store.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        RefreshTokenHash(bytes)
    }

    /// Wraps hash bytes read back from a store, if there are exactly 32 of them.
    ///
    /// ```
    /// use agency_auth::sessions::RefreshTokenHash;
    /// assert!(RefreshTokenHash::from_slice(&[0; 31]).is_none());
    /// assert!(RefreshTokenHash::from_slice(&[0; 32]).is_some());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(RefreshTokenHash)
    }

    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefreshTokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_token_has_documented_shape() {
        let token = RefreshToken::generate().unwrap();
        assert_eq!(token.expose_secret().len(), REFRESH_TOKEN_TEXT_LEN);
        assert!(token.expose_secret().starts_with("rt_"));
        assert!(
            token.expose_secret()[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = RefreshToken::generate().unwrap();
        let shown = format!("{token:?} {:?}", token.hash());
        assert!(!shown.contains(&token.expose_secret()[3..]));
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        let token = RefreshToken::generate().unwrap();
        let text = token.expose_secret();
        // The last base64 character carries 4 padding bits; flip the lowest one.
        let last = text.as_bytes()[text.len() - 1];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.iter().position(|&c| c == last).unwrap();
        let tweaked = alphabet[index ^ 1] as char;
        let mut altered = text[..text.len() - 1].to_owned();
        altered.push(tweaked);
        assert!(RefreshToken::parse(&altered).is_err());
    }

    #[test]
    fn jwt_shaped_and_padded_inputs_are_refused() {
        assert!(RefreshToken::parse("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig").is_err());
        let token = RefreshToken::generate().unwrap();
        assert!(RefreshToken::parse(&format!("{}=", token.expose_secret())).is_err());
        assert!(RefreshToken::parse(&format!(" {}", &token.expose_secret()[1..])).is_err());
        assert!(RefreshToken::parse(&token.expose_secret().replace("rt_", "RT_")).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in proptest::array::uniform32(any::<u8>())) {
            let token = RefreshToken::from_bytes(Zeroizing::new(bytes));
            let parsed = RefreshToken::parse(token.expose_secret()).unwrap();
            prop_assert_eq!(parsed.hash(), token.hash());
            prop_assert_eq!(parsed.expose_secret(), token.expose_secret());
        }

        #[test]
        fn arbitrary_strings_never_panic(text in ".{0,80}") {
            if let Ok(token) = RefreshToken::parse(&text) {
                // Anything accepted re-encodes to itself.
                prop_assert_eq!(token.expose_secret(), text.as_str());
            }
        }

        #[test]
        fn any_single_character_change_is_refused_or_another_token(
            bytes in proptest::array::uniform32(any::<u8>()),
            position in 0usize..REFRESH_TOKEN_TEXT_LEN,
            replacement in proptest::char::any(),
        ) {
            let token = RefreshToken::from_bytes(Zeroizing::new(bytes));
            let mut chars: Vec<char> = token.expose_secret().chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let altered: String = chars.into_iter().collect();
            if let Ok(other) = RefreshToken::parse(&altered) {
                prop_assert_ne!(other.hash(), token.hash());
            }
        }
    }
}
