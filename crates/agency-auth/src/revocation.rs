//! Revocation of sessions, single access tokens and all of a user's tokens.
//!
//! Access tokens are stateless, so logging out must be checked at verification time. The
//! verifier asks a [`RevocationCheck`] about each token by its identifiers (`sid`, `jti`, `sub`
//! and `iat`), never by a hash of the token text, so a revocation covers every token of the
//! session however many were issued.

use async_trait::async_trait;
use time::OffsetDateTime;

/// What the verifier knows about a token when it asks whether the token is revoked.
///
/// ```
/// use agency_auth::revocation::RevocationQuery;
/// use time::OffsetDateTime;
///
/// let query = RevocationQuery {
///     subject: "user-1",
///     session_id: Some("session-1"),
///     token_id: "jti-1",
///     issued_at: OffsetDateTime::now_utc(),
/// };
/// assert_eq!(query.subject, "user-1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationQuery<'a> {
    /// The token's subject (`sub`): a user id.
    pub subject: &'a str,
    /// The token's session (`sid`), when it has one.
    pub session_id: Option<&'a str>,
    /// The token's id (`jti`).
    pub token_id: &'a str,
    /// When the token was issued (`iat`): tokens of a user issued before a "revoke all" are revoked.
    pub issued_at: OffsetDateTime,
}

/// The revocation state could not be read. Verification fails closed on this error.
#[derive(Debug, thiserror::Error)]
#[error("revocation state unavailable: {0}")]
pub struct RevocationError(pub String);

/// Answers whether a token has been revoked; consulted by the access-token verifier on every use.
///
/// Implementations should be cheap on the hot path (an in-memory lookup, refreshed or invalidated
/// from a shared store) and must fail closed: an error means "treat as revoked".
///
/// ```
/// use agency_auth::revocation::{RevocationCheck, RevocationError, RevocationQuery};
///
/// /// Revokes nothing: for tests and for services without logout.
/// struct NothingRevoked;
///
/// #[async_trait::async_trait]
/// impl RevocationCheck for NothingRevoked {
///     async fn is_revoked(&self, _query: &RevocationQuery<'_>) -> Result<bool, RevocationError> {
///         Ok(false)
///     }
/// }
/// ```
#[async_trait]
pub trait RevocationCheck: Send + Sync + 'static {
    /// `Ok(true)` when the token described by `query` must be refused.
    async fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, RevocationError>;
}
