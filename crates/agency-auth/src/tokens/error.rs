//! The errors of the token module: one enum for issuing and verifying, one for key material and
//! configuration. No variant carries any part of a token, a claim value or key material, so an
//! error can be logged or returned to a client without leaking what was presented.

use crate::ErrorKind;

/// Why a token could not be issued or was refused.
///
/// Variants are grouped by what a caller does with them: [`TokenError::Expired`] asks the client
/// to refresh; [`TokenError::Revoked`] asks it to log in again; everything from
/// [`TokenError::TooLarge`] to [`TokenError::InvalidAudience`] is an invalid token (answer 401
/// without detail); [`TokenError::RevocationUnavailable`] and [`TokenError::KeysUnavailable`] are
/// server-side failures (answer 503 or 401, and alert).
///
/// ```
/// use agency_auth::tokens::TokenError;
///
/// let error = TokenError::Expired;
/// assert!(error.is_expired());
/// assert_eq!(error.to_string(), "token expired");
/// assert!(TokenError::InvalidSignature.is_invalid_token());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token's `exp` (with the configured leeway) is in the past.
    #[error("token expired")]
    Expired,
    /// The token's `nbf` or `iat` (with the configured leeway) is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// The session or token was revoked (logout, "revoke all", user removed).
    #[error("token revoked")]
    Revoked,
    /// The token is longer than the 8 KiB limit; refused before any decoding.
    #[error("token too large")]
    TooLarge,
    /// Not a JWS compact serialisation of three non-empty base64url parts, or a part does not
    /// decode to the expected JSON.
    #[error("malformed token")]
    Malformed,
    /// The header's `alg` is not the algorithm of the key it names (this includes `none` in any
    /// spelling and every algorithm-confusion attempt).
    #[error("token algorithm not accepted")]
    AlgorithmNotAccepted,
    /// The header carries a parameter this verifier never honours (`crit`, `jku`, `x5u`, `x5c`,
    /// `jwk`, ...); the parameter name is one of this crate's constants, never token text.
    #[error("token header parameter `{0}` is not accepted")]
    ForbiddenHeader(&'static str),
    /// The header's `typ` is not the type this verifier expects (for example an ID token or a
    /// refresh JWT presented as an access token).
    #[error("token type not accepted")]
    WrongType,
    /// The header has no `kid`, or it names no key of the configured key set.
    #[error("token signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify under the key the `kid` names.
    #[error("invalid token signature")]
    InvalidSignature,
    /// A claim this verifier requires is absent or has the wrong JSON type.
    #[error("token claim `{0}` missing or invalid")]
    MissingClaim(&'static str),
    /// The `iss` claim is not the configured issuer.
    #[error("token issuer not accepted")]
    InvalidIssuer,
    /// The `aud` claim does not contain the configured audience.
    #[error("token audience not accepted")]
    InvalidAudience,
    /// The revocation check failed; verification fails closed.
    #[error("revocation state unavailable")]
    RevocationUnavailable,
    /// The keys of an outside identity provider could not be fetched and none are cached.
    #[error("verification keys unavailable")]
    KeysUnavailable,
    /// The key set has no active signing key, so no token can be issued.
    #[error("no active signing key")]
    NoSigningKey,
    /// Application claims did not serialise to a JSON object, or used a registered claim name
    /// (`sub`, `role`, ...), which could otherwise overwrite it.
    #[error("application claims must be a JSON object without registered claim names")]
    InvalidExtraClaims,
    /// Signing failed inside the crypto library (never expected with a valid key).
    #[error("token signing failed")]
    SigningFailed,
}

impl TokenError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::tokens::TokenError;
    /// assert_eq!(TokenError::Expired.kind(), ErrorKind::CredentialRefused);
    /// // Fails closed, and says it may work later.
    /// assert_eq!(TokenError::RevocationUnavailable.kind(), ErrorKind::Unavailable);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Expired
            | Self::NotYetValid
            | Self::Revoked
            | Self::TooLarge
            | Self::Malformed
            | Self::AlgorithmNotAccepted
            | Self::ForbiddenHeader(_)
            | Self::WrongType
            | Self::UnknownKey
            | Self::InvalidSignature
            | Self::MissingClaim(_)
            | Self::InvalidIssuer
            | Self::InvalidAudience => ErrorKind::CredentialRefused,
            Self::RevocationUnavailable | Self::KeysUnavailable => ErrorKind::Unavailable,
            Self::NoSigningKey | Self::InvalidExtraClaims | Self::SigningFailed => {
                ErrorKind::Internal
            }
        }
    }
}

impl TokenError {
    /// True for [`TokenError::Expired`]: the client should refresh its token.
    ///
    /// ```
    /// assert!(agency_auth::tokens::TokenError::Expired.is_expired());
    /// ```
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }

    /// True when the presented token itself is at fault (forged, malformed, wrong type, wrong
    /// issuer or audience, unknown key): answer 401 and do not retry.
    ///
    /// ```
    /// use agency_auth::tokens::TokenError;
    /// assert!(TokenError::Malformed.is_invalid_token());
    /// assert!(!TokenError::RevocationUnavailable.is_invalid_token());
    /// ```
    pub fn is_invalid_token(&self) -> bool {
        matches!(
            self,
            Self::TooLarge
                | Self::Malformed
                | Self::AlgorithmNotAccepted
                | Self::ForbiddenHeader(_)
                | Self::WrongType
                | Self::UnknownKey
                | Self::InvalidSignature
                | Self::MissingClaim(_)
                | Self::InvalidIssuer
                | Self::InvalidAudience
        )
    }
}

/// Why key material or a token configuration was refused.
///
/// ```
/// use agency_auth::tokens::{KeyError, SigningKey};
///
/// let error = SigningKey::from_hs256_secret(b"too short").unwrap_err();
/// assert!(matches!(error, KeyError::WeakSecret { min_bytes: 32 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An HS256 secret shorter than the minimum.
    #[error("HS256 secret must be at least {min_bytes} bytes")]
    WeakSecret {
        /// The minimum length in bytes.
        min_bytes: usize,
    },
    /// An RSA key with a modulus shorter than the minimum.
    #[error("RSA key must be at least {min_bits} bits")]
    WeakRsaKey {
        /// The minimum modulus length in bits.
        min_bits: usize,
    },
    /// The PEM text could not be read, or holds no key of the expected kind.
    #[error("invalid PEM key: {0}")]
    InvalidPem(&'static str),
    /// The key does not match the algorithm it was loaded for.
    #[error("key does not match algorithm {0}")]
    AlgorithmMismatch(&'static str),
    /// An algorithm name this crate does not support.
    #[error("unsupported algorithm (expected HS256, RS256, ES256 or EdDSA)")]
    UnsupportedAlgorithm,
    /// A `kid` that is empty, too long, or uses characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key id (1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-')")]
    InvalidKeyId,
    /// The key set already holds a different key under this `kid`.
    #[error("duplicate key id")]
    DuplicateKeyId,
    /// No key with this `kid` in the key set.
    #[error("no key with this key id")]
    UnknownKeyId,
    /// The active signing key cannot be retired; activate another key first.
    #[error("the active signing key cannot be retired")]
    RetiringActiveKey,
    /// HS256 secrets cannot be exported as PKCS#8 or published.
    #[error("symmetric keys have no PKCS#8 or public form")]
    SymmetricKey,
    /// The crypto library refused to generate or encode a key.
    #[error("key generation or encoding failed")]
    CryptoFailure,
    /// A verifier or issuer setting is out of range; the message names the setting.
    #[error("invalid token configuration: {0}")]
    InvalidConfig(&'static str),
}

impl KeyError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::tokens::KeyError;
    /// assert_eq!(KeyError::DuplicateKeyId.kind(), ErrorKind::Conflict);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::WeakSecret { .. }
            | Self::WeakRsaKey { .. }
            | Self::InvalidPem(_)
            | Self::AlgorithmMismatch(_)
            | Self::UnsupportedAlgorithm
            | Self::InvalidKeyId
            | Self::SymmetricKey => ErrorKind::InvalidInput,
            Self::DuplicateKeyId | Self::RetiringActiveKey => ErrorKind::Conflict,
            Self::UnknownKeyId => ErrorKind::NotFound,
            Self::CryptoFailure | Self::InvalidConfig(_) => ErrorKind::Internal,
        }
    }
}
