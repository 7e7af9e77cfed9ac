//! Sessions and opaque refresh tokens with rotation and reuse detection.
//!
//! Model (details in `docs/sessions-and-stores.md`):
//!
//! - Each login creates a session ([`SessionRecord`], its id is the access tokens' `sid`) and a
//!   first refresh token. A session is a refresh-token family.
//! - A refresh token is 256 random bits ([`RefreshToken`]); stores keep only its SHA-256.
//! - Every refresh rotates: the presented token dies and a new one is issued. The rotation is a
//!   compare-and-set in the store, so two concurrent refreshes of one token cannot both win.
//! - Presenting a rotated token again revokes the whole session and fails with
//!   [`SessionError::RefreshTokenReuse`], which carries the session and user ids for the
//!   `auth.refresh_reuse` audit event. An optional, off-by-default grace
//!   ([`SessionConfig::concurrent_refresh_grace`]) turns this into a retryable
//!   [`SessionError::ConcurrentRefresh`] for the immediately previous token shortly after its
//!   rotation.
//! - A session ends after its absolute lifetime, or earlier when not refreshed within its idle
//!   lifetime.
//! - Logout and "revoke all sessions of a user" also write revocations through the
//!   [`CachedRevocationChecker`](crate::revocation::CachedRevocationChecker), so the sessions'
//!   access tokens fail from the next request.

mod manager;
mod record;
mod refresh_token;

pub use manager::{IssuedSession, SessionConfig, SessionError, SessionManager};
pub use record::{
    RefreshRotation, RefreshTokenLookup, RefreshTokenRecord, RotationOutcome, SessionExpiry,
    SessionRecord, SessionRevokeReason, UnknownRevokeReason,
};
pub use refresh_token::{
    MalformedRefreshToken, REFRESH_TOKEN_BYTES, REFRESH_TOKEN_TEXT_LEN, RandomUnavailable,
    RefreshToken, RefreshTokenHash,
};
