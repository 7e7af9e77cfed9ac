//! Issuing access tokens with the active key of a [`KeySet`].
//!
//! Guarantees: every token carries the configured `iss`, `aud` and lifetime, a fresh random `jti`
//! (UUID v4 from the OS generator), `iat = nbf = now`, `iat_ms` (the issue instant in
//! milliseconds, so a revoke-all orders the token even within one second), and a header with the signing key's `kid`
//! and `typ: "at+jwt"` (RFC 9068); application claims can never overwrite a registered claim.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Header;
use serde::Serialize;
use serde_json::{Map, Value};

use super::claims::NoExtraClaims;
use super::error::{KeyError, TokenError};
use super::key_set::KeySet;
use super::parties::{Audience, Issuer};
use crate::clock::{self, Clock};

/// The `typ` header of access tokens (RFC 9068 section 2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Longest access-token lifetime an issuer accepts.
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Claim names the issuer sets itself; application claims may not use them.
const REGISTERED: [&str; 11] = [
    "sub", "iss", "aud", "exp", "nbf", "iat", "iat_ms", "jti", "sid", "tid", "role",
];

/// Who a token is for: subject, tenant, role and (optionally) session.
///
/// ```
/// use agency_auth::tokens::AccessTokenRequest;
/// let request = AccessTokenRequest::new("user-1", "default", "operator").session("session-9");
/// assert_eq!(request.session_id, Some("session-9"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessTokenRequest<'a> {
    /// The user id (`sub`).
    pub subject: &'a str,
    /// The tenant id (`tid`).
    pub tenant: &'a str,
    /// The role (`role`).
    pub role: &'a str,
    /// The login session (`sid`), which logout revokes.
    pub session_id: Option<&'a str>,
}

impl<'a> AccessTokenRequest<'a> {
    /// A request without a session.
    ///
    /// ```
    /// let request = agency_auth::tokens::AccessTokenRequest::new("u", "t", "viewer");
    /// assert!(request.session_id.is_none());
    /// ```
    pub fn new(subject: &'a str, tenant: &'a str, role: &'a str) -> Self {
        Self {
            subject,
            tenant,
            role,
            session_id: None,
        }
    }

    /// Sets the session id.
    ///
    /// ```
    /// let request = agency_auth::tokens::AccessTokenRequest::new("u", "t", "viewer").session("s");
    /// assert_eq!(request.session_id, Some("s"));
    /// ```
    pub fn session(mut self, session_id: &'a str) -> Self {
        self.session_id = Some(session_id);
        self
    }
}

/// A freshly issued token. `Debug` redacts the token text: it is a bearer credential.
///
/// ```
/// # use agency_auth::tokens::*;
/// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
/// # let issuer = TokenIssuer::new(keys, Issuer::new("iss"), Audience::new("aud"), std::time::Duration::from_secs(60)).unwrap();
/// let issued = issuer.issue(&AccessTokenRequest::new("u", "t", "viewer")).unwrap();
/// assert_eq!(issued.expires_in, 60);
/// assert!(!format!("{issued:?}").contains(&issued.token));
/// ```
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWS to hand to the client.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `iat`, in seconds since the Unix epoch.
    pub issued_at: i64,
    /// Its `exp`, in seconds since the Unix epoch.
    pub expires_at: i64,
    /// Lifetime in seconds (the OAuth2 `expires_in`).
    pub expires_in: u64,
    /// The `kid` of the key that signed it.
    pub kid: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("jti", &self.jti)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("kid", &self.kid)
            .finish()
    }
}

/// Signs access tokens with the active key of a [`KeySet`].
///
/// ```
/// use std::time::Duration;
/// use agency_auth::tokens::{Audience, Issuer, AccessTokenRequest, Algorithm, KeySet, SigningKey, TokenIssuer};
///
/// let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
/// let issuer = TokenIssuer::new(keys, Issuer::new("agency-swarm"), Audience::new("swarm-api"), Duration::from_secs(3600)).unwrap();
/// let issued = issuer.issue(&AccessTokenRequest::new("user-1", "default", "admin")).unwrap();
/// assert_eq!(issued.token.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: KeySet,
    issuer: String,
    audience: String,
    ttl_secs: i64,
    clock: Arc<dyn Clock>,
}

impl TokenIssuer {
    /// An issuer for `iss` and `aud` whose tokens live `ttl` (1 second to 24 hours).
    ///
    /// ```
    /// use std::time::Duration;
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// assert!(TokenIssuer::new(keys.clone(), Issuer::new("iss"), Audience::new("aud"), Duration::ZERO).is_err());
    /// assert!(TokenIssuer::new(keys, Issuer::new("iss"), Audience::new("aud"), Duration::from_secs(900)).is_ok());
    /// ```
    pub fn new(
        keys: KeySet,
        issuer: Issuer,
        audience: Audience,
        ttl: Duration,
    ) -> Result<Self, KeyError> {
        let (issuer, audience) = (issuer.into_string(), audience.into_string());
        if issuer.is_empty() || audience.is_empty() {
            return Err(KeyError::InvalidConfig(
                "issuer and audience must not be empty",
            ));
        }
        if ttl.as_secs() == 0 || ttl > MAX_ACCESS_TOKEN_TTL {
            return Err(KeyError::InvalidConfig(
                "access-token lifetime must be 1 s to 24 h",
            ));
        }
        let ttl_secs = i64::try_from(ttl.as_secs()).map_err(|_| KeyError::InvalidConfig("ttl"))?;
        Ok(Self {
            keys,
            issuer,
            audience,
            ttl_secs,
            clock: clock::system(),
        })
    }

    /// Reads "now" (for `iat`, `nbf` and `exp`) from `clock` instead of the system clock.
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use agency_auth::ManualClock;
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let clock = ManualClock::new(time::macros::datetime!(2030-01-01 00:00 UTC));
    /// let issuer = TokenIssuer::new(keys, Issuer::new("iss"), Audience::new("aud"), Duration::from_secs(60))
    ///     .unwrap()
    ///     .clock(Arc::new(clock));
    /// let issued = issuer.issue(&AccessTokenRequest::new("u", "t", "viewer")).unwrap();
    /// assert_eq!(issued.issued_at, 1_893_456_000);
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The lifetime of the tokens this issuer signs.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let issuer = TokenIssuer::new(keys, Issuer::new("iss"), Audience::new("aud"), std::time::Duration::from_secs(900)).unwrap();
    /// assert_eq!(issuer.lifetime().as_secs(), 900);
    /// ```
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.ttl_secs.unsigned_abs())
    }

    /// Issues a token without application claims.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// # let issuer = TokenIssuer::new(keys, Issuer::new("iss"), Audience::new("aud"), std::time::Duration::from_secs(60)).unwrap();
    /// let a = issuer.issue(&AccessTokenRequest::new("u", "t", "viewer")).unwrap();
    /// let b = issuer.issue(&AccessTokenRequest::new("u", "t", "viewer")).unwrap();
    /// assert_ne!(a.jti, b.jti);
    /// ```
    pub fn issue(&self, request: &AccessTokenRequest<'_>) -> Result<IssuedToken, TokenError> {
        self.issue_with(request, &NoExtraClaims {})
    }

    /// Issues a token with application claims `extra`, which must serialise to a JSON object
    /// using none of the registered claim names.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// # let issuer = TokenIssuer::new(keys, Issuer::new("iss"), Audience::new("aud"), std::time::Duration::from_secs(60)).unwrap();
    /// #[derive(serde::Serialize)]
    /// struct Scope { scope: &'static str }
    /// #[derive(serde::Serialize)]
    /// struct Escalate { role: &'static str }
    ///
    /// let request = AccessTokenRequest::new("u", "t", "viewer");
    /// assert!(issuer.issue_with(&request, &Scope { scope: "agents:read" }).is_ok());
    /// assert_eq!(
    ///     issuer.issue_with(&request, &Escalate { role: "super_admin" }).unwrap_err(),
    ///     TokenError::InvalidExtraClaims
    /// );
    /// ```
    pub fn issue_with<T: Serialize>(
        &self,
        request: &AccessTokenRequest<'_>,
        extra: &T,
    ) -> Result<IssuedToken, TokenError> {
        let Value::Object(extra) =
            serde_json::to_value(extra).map_err(|_| TokenError::InvalidExtraClaims)?
        else {
            return Err(TokenError::InvalidExtraClaims);
        };
        if extra.keys().any(|name| REGISTERED.contains(&name.as_str())) {
            return Err(TokenError::InvalidExtraClaims);
        }
        let key = self
            .keys
            .snapshot()
            .active
            .clone()
            .ok_or(TokenError::NoSigningKey)?;
        let instant = self.clock.now();
        let now = instant.unix_timestamp();
        let now_ms = i64::try_from(instant.unix_timestamp_nanos().div_euclid(1_000_000))
            .map_err(|_| TokenError::SigningFailed)?;
        let expires_at = now.saturating_add(self.ttl_secs);
        let jti = uuid::Uuid::new_v4().simple().to_string();

        let mut claims = Map::with_capacity(11 + extra.len());
        claims.insert("sub".into(), request.subject.into());
        claims.insert("iss".into(), self.issuer.as_str().into());
        claims.insert("aud".into(), self.audience.as_str().into());
        claims.insert("exp".into(), expires_at.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("iat".into(), now.into());
        claims.insert("iat_ms".into(), now_ms.into());
        claims.insert("jti".into(), jti.as_str().into());
        if let Some(sid) = request.session_id {
            claims.insert("sid".into(), sid.into());
        }
        claims.insert("tid".into(), request.tenant.into());
        claims.insert("role".into(), request.role.into());
        claims.extend(extra);

        let mut header = Header::new(key.algorithm().to_jwt());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid().to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|_| TokenError::SigningFailed)?;
        Ok(IssuedToken {
            token,
            jti,
            issued_at: now,
            expires_at,
            expires_in: self.ttl_secs.unsigned_abs(),
            kid: key.kid().to_owned(),
        })
    }
}
