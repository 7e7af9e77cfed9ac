//! The tamper-evident hash chain: canonical encoding, signed checkpoints and verification.
//!
//! Each writer instance owns a stream. Its events carry `seq` (from 1) and
//! `hash = SHA-256(previous hash || canonical encoding)`, with [`ChainHash::GENESIS`] (32 zero
//! bytes) as the previous hash of `seq = 1`. Signed [`Checkpoint`]s of `(stream, seq, hash,
//! time)`, stored apart from the events and signed with a key kept outside the log store, let
//! [`verify`](ChainVerifier) catch truncation of the tail as well as modification, deletion,
//! insertion and reordering.

mod checkpoint;
mod encoding;
mod verify;

pub use checkpoint::{
    Checkpoint, CheckpointKind, CheckpointSigner, CheckpointVerifier, SignedCheckpoint,
};
pub use encoding::{ChainHash, ENCODING_VERSION, canonical_encoding, canonical_json, chain_hash};
pub use verify::{BreakKind, ChainBreak, ChainVerifier, VerifyReport};
