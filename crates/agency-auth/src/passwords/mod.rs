//! Passwords: argon2id hashing on a bounded worker pool, upgrade-on-login, and a password policy.
//!
//! - [`PasswordHasher`] hashes to PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`) with OWASP's
//!   parameters by default ([`Argon2Params::OWASP`]), verifies them in constant time, and says
//!   when a stored hash should be upgraded ([`Verification::Valid`] `{ needs_rehash: true }`).
//! - The work runs on a fixed pool of threads, each reusing one argon2 memory buffer, behind a
//!   bounded queue: a login flood costs at most `workers × m` memory and gets
//!   [`PasswordError::Overloaded`] beyond the queue, and the async runtime is never blocked.
//! - [`PasswordHasher::verify_dummy`] makes unknown users cost the same as wrong passwords.
//! - [`PasswordPolicy`]: at least 8 characters, at most 256 bytes (never truncated), and not
//!   one of the 10,000 most common passwords ([`is_common_password`]) by default.
//! - [`Password`] holds the plaintext in a zeroizing buffer and never prints it.
//! - An optional, versioned [`Pepper`] (argon2's secret input) keeps a stolen users table from
//!   being attacked offline without the server's secret.
//!
//! # Example: a login handler
//!
//! ```
//! use agency_auth::passwords::{Argon2Params, Password, PasswordHasher, PasswordHasherConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agency_auth::passwords::PasswordError> {
//! # let config = PasswordHasherConfig::default().with_params(Argon2Params::new(64, 1, 1)?);
//! # // An old, weaker hash as it might sit in the users table:
//! # let old = PasswordHasher::new(config.clone())?.hash(&Password::from("s3cure-enough")).await?;
//! # let config = config.with_params(Argon2Params::new(128, 1, 1)?);
//! let hasher = PasswordHasher::new(config)?;
//! let stored: Option<String> = Some(old); // users.password_hash of the named user, if any
//! let typed = Password::from("s3cure-enough");
//!
//! let verification = match &stored {
//!     Some(hash) => hasher.verify(&typed, hash).await?,
//!     None => hasher.verify_dummy(&typed).await?, // same cost as a wrong password
//! };
//! assert!(verification.is_valid());
//! if verification.needs_rehash() {
//!     let upgraded = hasher.hash(&typed).await?; // store this in place of the old hash
//!     assert!(upgraded.contains("m=128"));
//! }
//! # Ok(())
//! # }
//! ```

use crate::ErrorKind;

mod hasher;
mod pepper;
mod phc;
mod policy;
mod secret;

pub use hasher::{
    DEFAULT_MAX_STORED_M_COST_KIB, DEFAULT_MAX_STORED_P_COST, DEFAULT_MAX_STORED_T_COST,
    DEFAULT_QUEUE_PER_WORKER, MAX_QUEUE_CAPACITY, PasswordHasher, PasswordHasherConfig,
    Verification,
};
pub use pepper::{MAX_PEPPER_LEN, MIN_PEPPER_LEN, Pepper};
pub use phc::Argon2Params;
pub use policy::{
    DEFAULT_MAX_BYTES, DEFAULT_MIN_CHARS, MAX_MAX_BYTES, MIN_MAX_BYTES, PasswordPolicy,
    PolicyViolation, is_common_password,
};
pub use secret::Password;

/// Errors of password hashing and verification. None of them carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The new password breaks the policy; the message is safe to show to the user.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// Every worker is busy and the queue is full: answer 503 (or 429) and let the client retry.
    #[error("password hashing is overloaded; try again later")]
    Overloaded,
    /// The stored hash is not a valid argon2 PHC string.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// The stored hash uses an algorithm or version this library does not verify.
    #[error("stored password hash uses an unsupported algorithm or version")]
    UnsupportedHash,
    /// The stored hash was made with a pepper (by its key id) that is not configured.
    #[error("stored password hash needs a pepper that is not configured")]
    UnknownPepper,
    /// The stored hash's cost exceeds the configured limits for verification.
    #[error("stored password hash exceeds the configured cost limits")]
    StoredCostTooHigh,
    /// A configuration value is out of range.
    #[error("invalid password hasher configuration: {0}")]
    InvalidConfig(&'static str),
    /// A worker thread could not be started.
    #[error("could not start a password hashing worker thread")]
    WorkerStart,
    /// The worker pool stopped before answering.
    #[error("password hashing workers stopped")]
    WorkerStopped,
    /// argon2 refused the inputs (should not happen with validated parameters).
    #[error("password hashing failed")]
    Hashing,
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Random,
}

impl PasswordError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::passwords::PasswordError;
    /// assert_eq!(PasswordError::Overloaded.kind(), ErrorKind::Unavailable);
    /// assert!(PasswordError::Overloaded.kind().is_retryable());
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Policy(_) => ErrorKind::InvalidInput,
            Self::Overloaded | Self::WorkerStopped => ErrorKind::Unavailable,
            Self::MalformedHash
            | Self::UnsupportedHash
            | Self::UnknownPepper
            | Self::StoredCostTooHigh
            | Self::InvalidConfig(_)
            | Self::WorkerStart
            | Self::Hashing
            | Self::Random => ErrorKind::Internal,
        }
    }
}
