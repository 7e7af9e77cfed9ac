//! Signature verification with keys parsed once.
//!
//! jsonwebtoken's `decode` and `crypto::verify` re-parse the key (and, for HS256, re-derive the
//! HMAC state) on every call. A [`KeyVerifier`] holds the aws-lc-rs key object that
//! jsonwebtoken's `aws_lc_rs` backend would build, parsed once when the key is loaded, and is
//! bound to exactly one algorithm: there is no way to ask it to verify with another one.
//! Tokens are still produced by `jsonwebtoken::encode`; the tests verify tokens signed by
//! jsonwebtoken, so both sides stay interoperable.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as aws_sig, ParsedPublicKey};

use super::error::KeyError;
use super::keys::Algorithm;

/// A verifying key bound to one algorithm.
#[derive(Clone)]
pub(crate) enum KeyVerifier {
    /// HS256. aws-lc keeps the derived HMAC state (1.2 KiB, hence the box) and cleanses it
    /// with `HMAC_CTX_cleanup` when dropped.
    Hs256(Box<hmac::Key>),
    /// RS256, ES256 or EdDSA.
    Public(Algorithm, ParsedPublicKey),
}

impl fmt::Debug for KeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hs256(_) => "KeyVerifier(HS256, [redacted])",
            Self::Public(Algorithm::Rs256, _) => "KeyVerifier(RS256)",
            Self::Public(Algorithm::Es256, _) => "KeyVerifier(ES256)",
            Self::Public(_, _) => "KeyVerifier(EdDSA)",
        })
    }
}

impl KeyVerifier {
    pub(crate) fn hs256(secret: &[u8]) -> Self {
        Self::Hs256(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// `public_key`: PKCS#1 or SubjectPublicKeyInfo DER for RS256, the uncompressed point for
    /// ES256, the 32 raw bytes for EdDSA.
    pub(crate) fn public(algorithm: Algorithm, public_key: &[u8]) -> Result<Self, KeyError> {
        let verification: &'static dyn aws_sig::VerificationAlgorithm = match algorithm {
            Algorithm::Hs256 => return Err(KeyError::SymmetricKey),
            Algorithm::Rs256 => &aws_sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Es256 => &aws_sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDsa => &aws_sig::ED25519,
        };
        let parsed = ParsedPublicKey::new(verification, public_key)
            .map_err(|_| KeyError::AlgorithmMismatch(algorithm.as_str()))?;
        Ok(Self::Public(algorithm, parsed))
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Self::Hs256(_) => Algorithm::Hs256,
            Self::Public(algorithm, _) => *algorithm,
        }
    }

    /// True when `signature` is this key's signature of `message` (HMAC compared in constant time).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hs256(key) => hmac::verify(key, message, signature).is_ok(),
            Self::Public(_, key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_verifier_checks_the_mac() {
        let secret = [9_u8; 32];
        let verifier = KeyVerifier::hs256(&secret);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), b"message");
        assert!(verifier.verify(b"message", tag.as_ref()));
        assert!(!verifier.verify(b"messagf", tag.as_ref()));
        assert!(!verifier.verify(b"message", &tag.as_ref()[..31]));
        assert!(!format!("{verifier:?}").contains('9'));
    }

    #[test]
    fn public_key_of_the_wrong_type_is_refused() {
        assert!(KeyVerifier::public(Algorithm::Hs256, &[1; 32]).is_err());
        assert!(KeyVerifier::public(Algorithm::Es256, &[1; 32]).is_err());
        assert!(KeyVerifier::public(Algorithm::Rs256, &[1; 65]).is_err());
    }
}
