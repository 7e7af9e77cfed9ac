//! The stored forms of sessions (refresh-token families) and refresh tokens.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::RefreshTokenHash;

/// One login: a refresh-token family. Its `id` is the `sid` claim of every access token issued
/// for it.
///
/// ```
/// use agency_auth::sessions::{SessionExpiry, SessionRecord};
/// use time::{Duration, OffsetDateTime};
///
/// let now = OffsetDateTime::UNIX_EPOCH;
/// let session = SessionRecord {
///     id: "s1".into(),
///     user_id: "u1".into(),
///     tenant_id: "t1".into(),
///     created_at: now,
///     last_refreshed_at: now,
///     idle_expires_at: now + Duration::hours(1),
///     expires_at: now + Duration::days(7),
///     generation: 0,
///     revoked_at: None,
///     revoke_reason: None,
/// };
/// assert!(session.is_active_at(now));
/// assert_eq!(session.expiry_at(now + Duration::hours(1)), Some(SessionExpiry::Idle));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (`sid`).
    pub id: String,
    /// The user who logged in.
    pub user_id: String,
    /// The user's tenant at login.
    pub tenant_id: String,
    /// Login time.
    pub created_at: OffsetDateTime,
    /// Time of the last refresh (login time before the first).
    pub last_refreshed_at: OffsetDateTime,
    /// The session ends if not refreshed before this instant (idle lifetime, never after
    /// `expires_at`).
    pub idle_expires_at: OffsetDateTime,
    /// The session ends at this instant whatever happens (absolute lifetime).
    pub expires_at: OffsetDateTime,
    /// Number of rotations so far: the generation of the only refresh token that still works.
    pub generation: u64,
    /// When the session was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Why the session was revoked, if it was.
    pub revoke_reason: Option<SessionRevokeReason>,
}

/// Which lifetime a session has outlived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionExpiry {
    /// Not refreshed within the idle lifetime.
    Idle,
    /// Older than the absolute lifetime.
    Absolute,
}

impl SessionRecord {
    /// Which lifetime the session has outlived at `now`, if any (absolute first).
    pub fn expiry_at(&self, now: OffsetDateTime) -> Option<SessionExpiry> {
        if now >= self.expires_at {
            Some(SessionExpiry::Absolute)
        } else if now >= self.idle_expires_at {
            Some(SessionExpiry::Idle)
        } else {
            None
        }
    }

    /// Neither revoked nor expired at `now`.
    pub fn is_active_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expiry_at(now).is_none()
    }
}

/// Why a session was revoked. Stored as its [`as_str`](Self::as_str) form.
///
/// ```
/// use agency_auth::sessions::SessionRevokeReason;
///
/// let reason: SessionRevokeReason = "refresh_token_reuse".parse().unwrap();
/// assert_eq!(reason, SessionRevokeReason::RefreshTokenReuse);
/// assert_eq!(reason.as_str(), "refresh_token_reuse");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionRevokeReason {
    /// The user logged out of this session.
    Logout,
    /// All sessions of the user were revoked (role change, deletion, password change, admin).
    AllSessionsRevoked,
    /// A rotated refresh token of the session was presented again: the family is compromised.
    RefreshTokenReuse,
}

impl SessionRevokeReason {
    /// The stored and audited name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionRevokeReason::Logout => "logout",
            SessionRevokeReason::AllSessionsRevoked => "all_sessions_revoked",
            SessionRevokeReason::RefreshTokenReuse => "refresh_token_reuse",
        }
    }
}

impl fmt::Display for SessionRevokeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored revoke reason was not one this version knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown session revoke reason")]
pub struct UnknownRevokeReason;

impl FromStr for SessionRevokeReason {
    type Err = UnknownRevokeReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "logout" => Ok(SessionRevokeReason::Logout),
            "all_sessions_revoked" => Ok(SessionRevokeReason::AllSessionsRevoked),
            "refresh_token_reuse" => Ok(SessionRevokeReason::RefreshTokenReuse),
            _ => Err(UnknownRevokeReason),
        }
    }
}

/// One refresh token of a family, current or rotated. Stores keep every token of a session
/// until the session is purged, so a rotated token presented again is recognised as reuse.
///
/// ```
/// use agency_auth::sessions::{RefreshTokenHash, RefreshTokenRecord};
/// use time::OffsetDateTime;
///
/// let record = RefreshTokenRecord {
///     token_hash: RefreshTokenHash::from_bytes([1; 32]),
///     session_id: "s1".into(),
///     generation: 0,
///     issued_at: OffsetDateTime::UNIX_EPOCH,
///     rotated_at: None,
/// };
/// assert!(record.rotated_at.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub token_hash: RefreshTokenHash,
    /// The session (family) the token belongs to.
    pub session_id: String,
    /// Position in the family: 0 for the login's token, then 1, 2, ….
    pub generation: u64,
    /// When the token was issued.
    pub issued_at: OffsetDateTime,
    /// When the token was rotated (exchanged for its successor), if it was.
    pub rotated_at: Option<OffsetDateTime>,
}

/// A refresh token found by hash, with its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenLookup {
    /// The token.
    pub token: RefreshTokenRecord,
    /// Its session.
    pub session: SessionRecord,
}

/// A request to rotate a session's current refresh token: a compare-and-set on the session's
/// generation.
///
/// The store applies it atomically, and only if the session still has generation
/// `expected_generation`, is not revoked and has not expired at `now`, and `presented_hash` is
/// its current (unrotated) token. It then marks that token rotated at `now`, stores `new_hash`
/// as generation `expected_generation + 1`, and moves `last_refreshed_at` and
/// `idle_expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRotation {
    /// The session whose token rotates.
    pub session_id: String,
    /// The generation the caller saw (the presented token's generation).
    pub expected_generation: u64,
    /// Hash of the presented, current token.
    pub presented_hash: RefreshTokenHash,
    /// Hash of its successor.
    pub new_hash: RefreshTokenHash,
    /// The rotation time.
    pub now: OffsetDateTime,
    /// The session's new idle deadline.
    pub idle_expires_at: OffsetDateTime,
}

/// Result of [`SessionStore::rotate_refresh_token`](crate::store::SessionStore::rotate_refresh_token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// This call won: the session after the rotation.
    Rotated(SessionRecord),
    /// The compare-and-set failed: another rotation won, or the session was revoked, expired or
    /// purged meanwhile. Nothing was written.
    Stale,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_reasons_round_trip() {
        for reason in [
            SessionRevokeReason::Logout,
            SessionRevokeReason::AllSessionsRevoked,
            SessionRevokeReason::RefreshTokenReuse,
        ] {
            assert_eq!(reason.as_str().parse::<SessionRevokeReason>(), Ok(reason));
            assert_eq!(reason.to_string(), reason.as_str());
        }
        assert!("Logout".parse::<SessionRevokeReason>().is_err());
        assert!("".parse::<SessionRevokeReason>().is_err());
    }
}
