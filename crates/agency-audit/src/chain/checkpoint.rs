//! Signed checkpoints of a stream's head: `(kind, stream, seq, hash, time)`.
//!
//! Signed message (version 1):
//!
//! ```text
//! "agency-audit/checkpoint/v1" || str(kind) || uuid(stream) || u64(seq) || hash (32 bytes)
//!   || i128(time, Unix nanoseconds)
//! ```
//!
//! with `str` and integers as in the event encoding. Ed25519 (public verification) or
//! HMAC-SHA256 (shared key). Keep the signing key outside the log store: whoever can write the
//! log and holds the key can rewrite history undetected.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::ChainHash;
use crate::AuditError;
use crate::event::StreamId;

/// Why a checkpoint was written.
///
/// ```
/// use agency_audit::chain::CheckpointKind;
/// assert_eq!(CheckpointKind::parse("close"), Some(CheckpointKind::Close));
/// assert_eq!(CheckpointKind::Heartbeat.as_str(), "heartbeat");
/// assert_eq!(CheckpointKind::parse("Head"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    /// The head of the stream after it moved (written on the writer's schedule).
    Head,
    /// A purge anchor: events up to `seq` were removed by retention and the remaining chain
    /// starts from `hash`.
    Anchor,
    /// The head of an idle stream, re-signed on the writer's schedule so a verifier can tell an
    /// idle open stream from one whose tail (and newest checkpoints) were cut. A store keeps
    /// one per stream: each replaces the previous ([`CheckpointStore::put_heartbeat`](crate::sink::CheckpointStore::put_heartbeat)).
    Heartbeat,
    /// The stream was closed by a clean shutdown at `seq`: nothing may follow it.
    Close,
}

impl CheckpointKind {
    /// The name stored and signed for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Head => "head",
            CheckpointKind::Anchor => "anchor",
            CheckpointKind::Heartbeat => "heartbeat",
            CheckpointKind::Close => "close",
        }
    }

    /// The kind stored under `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Head, Self::Anchor, Self::Heartbeat, Self::Close]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// The unsigned content of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Head or purge anchor.
    pub kind: CheckpointKind,
    /// The stream.
    pub stream: StreamId,
    /// The last sequence number covered (0 for an empty stream).
    pub seq: u64,
    /// The hash of event `seq` (genesis for 0).
    pub hash: ChainHash,
    /// When the checkpoint was made.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(96);
        m.extend_from_slice(b"agency-audit/checkpoint/v1");
        let kind = self.kind.as_str();
        // The kind is one of two short constant names, so its length always fits the u32 prefix.
        let kind_len = u32::try_from(kind.len()).unwrap_or(u32::MAX);
        m.extend_from_slice(&kind_len.to_be_bytes());
        m.extend_from_slice(kind.as_bytes());
        m.extend_from_slice(self.stream.0.as_bytes());
        m.extend_from_slice(&self.seq.to_be_bytes());
        m.extend_from_slice(&self.hash.0);
        m.extend_from_slice(&self.time.unix_timestamp_nanos().to_be_bytes());
        m
    }
}

/// A checkpoint with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// The signed content.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// `ed25519` or `hmac-sha256`.
    pub alg: String,
    /// Hex signature or MAC.
    pub signature: String,
}

/// Signs checkpoints. Keys are zeroized on drop and never printed.
///
/// ```
/// use agency_audit::chain::{Checkpoint, CheckpointKind, CheckpointSigner, ChainHash};
/// let signer = CheckpointSigner::ed25519_from_bytes(&[7u8; 32]);
/// let verifier = signer.verifier();
/// let cp = Checkpoint { kind: CheckpointKind::Head, stream: agency_audit::StreamId::new(), seq: 0,
///     hash: ChainHash::GENESIS, time: time::OffsetDateTime::now_utc() };
/// let signed = signer.sign(cp);
/// assert!(verifier.verify(&signed));
/// assert!(!format!("{signer:?}").contains(&"07".repeat(32)));
/// ```
pub enum CheckpointSigner {
    /// Ed25519: verifiable with the public key alone.
    Ed25519(SigningKey),
    /// HMAC-SHA256 with a shared key of at least 32 bytes.
    Hmac(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointSigner::Ed25519(k) => f
                .debug_struct("CheckpointSigner::Ed25519")
                .field("public_key", &hex::encode(k.verifying_key().as_bytes()))
                .finish_non_exhaustive(),
            CheckpointSigner::Hmac(_) => f.write_str("CheckpointSigner::Hmac([REDACTED])"),
        }
    }
}

impl CheckpointSigner {
    /// An Ed25519 signer from a 32-byte secret key (the caller zeroizes its copy).
    pub fn ed25519_from_bytes(secret: &[u8; 32]) -> Self {
        CheckpointSigner::Ed25519(SigningKey::from_bytes(secret))
    }

    /// An Ed25519 signer from 64 hex digits.
    pub fn ed25519_from_hex(secret_hex: &str) -> Result<Self, AuditError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secret_hex.trim(), bytes.as_mut())
            .map_err(|_| AuditError::InvalidKey("Ed25519 secret key must be 64 hex digits"))?;
        Ok(Self::ed25519_from_bytes(&bytes))
    }

    /// An HMAC-SHA256 signer; keys under 32 bytes are refused.
    pub fn hmac(key: Vec<u8>) -> Result<Self, AuditError> {
        let key = Zeroizing::new(key);
        if key.len() < 32 {
            return Err(AuditError::InvalidKey(
                "HMAC checkpoint key must be at least 32 bytes",
            ));
        }
        Ok(CheckpointSigner::Hmac(key))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CheckpointVerifier {
        match self {
            CheckpointSigner::Ed25519(k) => CheckpointVerifier::Ed25519(k.verifying_key()),
            CheckpointSigner::Hmac(k) => CheckpointVerifier::Hmac(k.clone()),
        }
    }

    /// Signs a checkpoint.
    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let msg = checkpoint.signed_message();
        let (alg, signature) = match self {
            CheckpointSigner::Ed25519(k) => ("ed25519", hex::encode(k.sign(&msg).to_bytes())),
            CheckpointSigner::Hmac(k) => ("hmac-sha256", hex::encode(hmac_tag(k, &msg))),
        };
        SignedCheckpoint {
            checkpoint,
            alg: alg.to_owned(),
            signature,
        }
    }
}

fn hmac_tag(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Verifies checkpoint signatures.
pub enum CheckpointVerifier {
    /// Ed25519 public key (strict verification).
    Ed25519(VerifyingKey),
    /// HMAC-SHA256 shared key (constant-time comparison).
    Hmac(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for CheckpointVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointVerifier::Ed25519(k) => write!(
                f,
                "CheckpointVerifier::Ed25519({})",
                hex::encode(k.as_bytes())
            ),
            CheckpointVerifier::Hmac(_) => f.write_str("CheckpointVerifier::Hmac([REDACTED])"),
        }
    }
}

impl CheckpointVerifier {
    /// An Ed25519 verifier from a 64-hex-digit public key.
    ///
    /// ```
    /// assert!(agency_audit::chain::CheckpointVerifier::ed25519_from_hex("00").is_err());
    /// ```
    pub fn ed25519_from_hex(public_hex: &str) -> Result<Self, AuditError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(public_hex.trim(), &mut bytes)
            .map_err(|_| AuditError::InvalidKey("Ed25519 public key must be 64 hex digits"))?;
        VerifyingKey::from_bytes(&bytes)
            .map(CheckpointVerifier::Ed25519)
            .map_err(|_| AuditError::InvalidKey("not a valid Ed25519 public key"))
    }

    /// An HMAC-SHA256 verifier; keys under 32 bytes are refused.
    pub fn hmac(key: Vec<u8>) -> Result<Self, AuditError> {
        let key = Zeroizing::new(key);
        if key.len() < 32 {
            return Err(AuditError::InvalidKey(
                "HMAC checkpoint key must be at least 32 bytes",
            ));
        }
        Ok(CheckpointVerifier::Hmac(key))
    }

    /// Whether the signature is valid for this key and algorithm.
    pub fn verify(&self, signed: &SignedCheckpoint) -> bool {
        let Ok(sig) = hex::decode(&signed.signature) else {
            return false;
        };
        let msg = signed.checkpoint.signed_message();
        match self {
            CheckpointVerifier::Ed25519(k) => {
                if signed.alg != "ed25519" {
                    return false;
                }
                let Ok(sig) = Signature::from_slice(&sig) else {
                    return false;
                };
                k.verify_strict(&msg, &sig).is_ok() && k.verify(&msg, &sig).is_ok()
            }
            CheckpointVerifier::Hmac(key) => {
                if signed.alg != "hmac-sha256" {
                    return false;
                }
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                    return false;
                };
                mac.update(&msg);
                mac.verify_slice(&sig).is_ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp() -> Checkpoint {
        Checkpoint {
            kind: CheckpointKind::Head,
            stream: StreamId::new(),
            seq: 5,
            hash: ChainHash([3; 32]),
            time: OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn forged_checkpoint_with_moved_seq_is_rejected() {
        for signer in [
            CheckpointSigner::ed25519_from_bytes(&[1; 32]),
            CheckpointSigner::hmac(vec![2; 32]).unwrap(),
        ] {
            let mut s = signer.sign(cp());
            assert!(signer.verifier().verify(&s));
            s.checkpoint.seq = 3;
            assert!(!signer.verifier().verify(&s));
        }
    }

    #[test]
    fn checkpoint_signed_by_another_key_is_rejected() {
        let s = CheckpointSigner::ed25519_from_bytes(&[1; 32]).sign(cp());
        assert!(
            !CheckpointSigner::ed25519_from_bytes(&[9; 32])
                .verifier()
                .verify(&s)
        );
    }

    #[test]
    fn algorithm_confusion_is_rejected() {
        let mut s = CheckpointSigner::hmac(vec![2; 32]).unwrap().sign(cp());
        s.alg = "ed25519".into();
        assert!(
            !CheckpointSigner::hmac(vec![2; 32])
                .unwrap()
                .verifier()
                .verify(&s)
        );
    }

    #[test]
    fn anchor_and_head_signatures_differ() {
        let signer = CheckpointSigner::ed25519_from_bytes(&[1; 32]);
        let mut s = signer.sign(cp());
        s.checkpoint.kind = CheckpointKind::Anchor;
        assert!(!signer.verifier().verify(&s));
    }
}
