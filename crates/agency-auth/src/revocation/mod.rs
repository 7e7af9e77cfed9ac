//! Revocation of sessions, single access tokens and all of a user's tokens.
//!
//! Access tokens are stateless, so logging out must be checked at verification time. The
//! verifier asks a [`RevocationCheck`] about each token by its identifiers (`sid`, `jti`, `sub`
//! and `iat`), never by a hash of the token text, so a revocation covers every token of the
//! session however many were issued.
//!
//! - [`RevocationEntry`] / [`RevocationTarget`]: what a [`RevocationStore`](crate::store::RevocationStore)
//!   keeps: a session, a token (`jti`), or every token of a user issued before an instant, each
//!   with an expiry so the list stays bounded.
//! - [`CachedRevocationChecker`]: the [`RevocationCheck`] to give the verifier. The hot path is an
//!   in-memory lookup; revocations made through the same instance apply at once, revocations made
//!   by other instances sharing the store are picked up by a periodic refresh (the propagation
//!   window is the refresh interval), and it fails closed when its state could not be loaded or
//!   has grown too stale.

mod cached;
mod notifier;
#[cfg(feature = "redis")]
mod redis;

pub use cached::{
    CachedRevocationChecker, InvalidRevocationConfig, RevocationCacheConfig, RevocationRefresher,
};
pub use notifier::RevocationNotifier;
#[cfg(feature = "redis")]
pub use redis::{RedisRevocationNotifier, RevocationSubscription};

use crate::ErrorKind;
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

impl RevocationError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::revocation::RevocationError;
    /// assert_eq!(RevocationError("down".into()).kind(), ErrorKind::Unavailable);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Unavailable
    }
}

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

    /// How long a revocation is remembered at least, or `None` for "until removed by hand"
    /// (the default). The verifier refuses to be built with a check whose retention is shorter
    /// than its longest accepted token lifetime plus leeway.
    fn retention(&self) -> Option<std::time::Duration> {
        None
    }
}

/// What a revocation applies to.
///
/// ```
/// use agency_auth::revocation::{RevocationQuery, RevocationTarget};
/// use time::{Duration, OffsetDateTime};
///
/// let now = OffsetDateTime::now_utc();
/// let target = RevocationTarget::UserTokensIssuedBefore { user_id: "u1".into(), before: now };
/// let old = RevocationQuery { subject: "u1", session_id: None, token_id: "j1", issued_at: now - Duration::minutes(5) };
/// let new = RevocationQuery { issued_at: now + Duration::seconds(1), ..old };
/// assert!(target.matches(&old));
/// assert!(!target.matches(&new));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RevocationTarget {
    /// Every token whose `sid` is this session id.
    Session(String),
    /// The one token whose `jti` is this id.
    Token(String),
    /// Every token of this user (`sub`) whose `iat` is strictly before `before`.
    UserTokensIssuedBefore {
        /// The user id (`sub`).
        user_id: String,
        /// Tokens issued before this instant are revoked.
        before: OffsetDateTime,
    },
}

impl RevocationTarget {
    /// Whether a token described by `query` is covered by this revocation.
    pub fn matches(&self, query: &RevocationQuery<'_>) -> bool {
        match self {
            RevocationTarget::Session(session_id) => query.session_id == Some(session_id.as_str()),
            RevocationTarget::Token(token_id) => query.token_id == token_id,
            RevocationTarget::UserTokensIssuedBefore { user_id, before } => {
                query.subject == user_id && query.issued_at < *before
            }
        }
    }
}

/// One revocation as stored: a target and how long the entry is kept.
///
/// `expires_at` should be no earlier than the latest expiry of any access token the entry
/// covers (issue time + access-token lifetime + verifier leeway); after that the tokens fail on
/// their own and the entry can be purged.
///
/// ```
/// use agency_auth::revocation::{RevocationEntry, RevocationTarget};
/// use time::{Duration, OffsetDateTime};
///
/// let now = OffsetDateTime::now_utc();
/// let entry = RevocationEntry::new(RevocationTarget::Token("jti-1".into()), now, now + Duration::hours(1));
/// assert!(entry.is_in_force_at(now));
/// assert!(!entry.is_in_force_at(now + Duration::hours(1)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationEntry {
    /// What is revoked.
    pub target: RevocationTarget,
    /// When the revocation was made.
    pub created_at: OffsetDateTime,
    /// When the entry stops mattering and may be purged.
    pub expires_at: OffsetDateTime,
}

impl RevocationEntry {
    /// An entry made at `created_at` and kept until `expires_at`.
    pub fn new(
        target: RevocationTarget,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Self {
        RevocationEntry {
            target,
            created_at,
            expires_at,
        }
    }

    /// Whether the entry is still kept at `now` (`now < expires_at`).
    pub fn is_in_force_at(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn query<'a>(
        subject: &'a str,
        sid: Option<&'a str>,
        jti: &'a str,
        iat: OffsetDateTime,
    ) -> RevocationQuery<'a> {
        RevocationQuery {
            subject,
            session_id: sid,
            token_id: jti,
            issued_at: iat,
        }
    }

    #[test]
    fn session_target_matches_only_that_sid() {
        let now = OffsetDateTime::now_utc();
        let target = RevocationTarget::Session("s1".into());
        assert!(target.matches(&query("u", Some("s1"), "j", now)));
        assert!(!target.matches(&query("u", Some("s2"), "j", now)));
        assert!(
            !target.matches(&query("u", None, "s1", now)),
            "a jti equal to a revoked sid is not that session"
        );
    }

    #[test]
    fn token_target_matches_only_that_jti() {
        let now = OffsetDateTime::now_utc();
        let target = RevocationTarget::Token("j1".into());
        assert!(target.matches(&query("u", Some("s"), "j1", now)));
        assert!(!target.matches(&query("u", Some("j1"), "j2", now)));
    }

    #[test]
    fn user_target_revokes_strictly_before() {
        let before = OffsetDateTime::now_utc();
        let target = RevocationTarget::UserTokensIssuedBefore {
            user_id: "u1".into(),
            before,
        };
        assert!(target.matches(&query("u1", None, "j", before - Duration::nanoseconds(1))));
        assert!(!target.matches(&query("u1", None, "j", before)));
        assert!(!target.matches(&query("u2", None, "j", before - Duration::hours(1))));
    }
}
