//! The classifier every error of the agency crates maps into, so an HTTP layer decides the status
//! of any error in one table instead of matching every variant (as axum's rejections know their
//! status).
//!
//! A crate of its own so that `agency-auth`, `agency-rbac`, `agency-audit` and `agency-ratelimit`
//! share one vocabulary without depending on each other; each re-exports [`ErrorKind`] at its
//! root, so users never need to name this crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;

/// What kind of failure an error is, in the vocabulary shared by the workspace's crates
/// (`docs/architecture.md`, "Errors").
///
/// Each public error type of the agency crates has a `kind()` method returning one of these. The
/// HTTP answers in the comments are what `agency-tower` gives; other callers may map differently.
///
/// ```
/// use agency_error_kind::ErrorKind;
///
/// assert_eq!(ErrorKind::CredentialRefused.to_string(), "credential refused");
/// assert!(ErrorKind::Unavailable.is_retryable());
/// assert!(!ErrorKind::InvalidInput.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A credential (token, password, API key, refresh token, ticket, signature) was refused:
    /// invalid, expired, revoked or unknown. One answer for every cause (401).
    CredentialRefused,
    /// The caller is known but may not do this (403).
    Forbidden,
    /// The record asked for does not exist (404).
    NotFound,
    /// The input breaks a rule (password policy, malformed value): the caller must change it (422).
    InvalidInput,
    /// A unique key already exists, or a compare-and-set lost (409).
    Conflict,
    /// A dependency (store, key set, revocation state, worker pool) cannot serve the request now;
    /// the same call may succeed later (503).
    Unavailable,
    /// A bug or a configuration error; nothing the caller can change (500).
    Internal,
}

impl ErrorKind {
    /// Whether the same call may succeed later without any change by the caller.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Unavailable)
    }

    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::CredentialRefused => "credential refused",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
