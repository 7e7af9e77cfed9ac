//! Access-token claims: the registered claims of RFC 7519 and RFC 9068, the tenant (`tid`),
//! the role, and application-defined claims of any serde type.
//!
//! Guarantees: a verified [`AccessClaims`] always has every field set (`exp`, `iss`, `aud` and
//! the rest are required, never defaulted), its times were checked against the clock, and its
//! `iss` and `aud` are the configured ones.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::TokenError;

/// Application-defined claims for tokens that carry none: serialises to nothing and accepts (and
/// ignores) any extra claims when reading.
///
/// ```
/// use agency_auth::tokens::NoExtraClaims;
/// assert_eq!(serde_json::to_string(&NoExtraClaims {}).unwrap(), "{}");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NoExtraClaims {}

/// The claims of an access token issued by [`TokenIssuer`](super::TokenIssuer), generic over
/// application-defined claims `T` (flattened into the same JSON object).
///
/// ```
/// use agency_auth::tokens::{AccessClaims, NoExtraClaims};
///
/// let json = r#"{"sub":"u1","iss":"agency-swarm","aud":"swarm-api","exp":2000000000,
///     "nbf":1700000000,"iat":1700000000,"jti":"j1","sid":"s1","tid":"default","role":"admin"}"#;
/// let claims: AccessClaims<NoExtraClaims> = serde_json::from_str(json).unwrap();
/// assert_eq!((claims.tid.as_str(), claims.role.as_str()), ("default", "admin"));
///
/// #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
/// struct Scopes { scope: String }
/// let json = json.replace("}", r#","scope":"agents:read"}"#);
/// let claims: AccessClaims<Scopes> = serde_json::from_str(&json).unwrap();
/// assert_eq!(claims.extra.scope, "agents:read");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims<T = NoExtraClaims> {
    /// Subject: the user id.
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience (this crate issues a single audience; a verified token may have had several,
    /// one of which was the configured one, which is what this field then holds).
    pub aud: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Not before, in seconds since the Unix epoch.
    pub nbf: i64,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Issued at, in milliseconds since the Unix epoch, when the issuer said (this crate's
    /// issuer always does; it is checked to fall within `iat`'s second). Revocation of "every
    /// token issued before" uses it, so a revoke-all and a login within one second are ordered.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iat_ms: Option<i64>,
    /// Unique token id.
    pub jti: String,
    /// Session id, when the token belongs to a login session.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// Tenant id.
    pub tid: String,
    /// Role name (lowercase, e.g. `admin`).
    pub role: String,
    /// Application-defined claims.
    #[serde(flatten)]
    pub extra: T,
}

/// `aud` as it may appear in a token: one string or an array of strings.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawAudience {
    One(String),
    Many(Vec<String>),
}

impl RawAudience {
    pub(crate) fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims as read from the wire: everything optional so a missing claim is reported by name.
#[derive(Deserialize)]
pub(crate) struct RawClaims<T> {
    sub: Option<String>,
    iss: Option<String>,
    aud: Option<RawAudience>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    iat_ms: Option<i64>,
    jti: Option<String>,
    sid: Option<String>,
    tid: Option<String>,
    role: Option<String>,
    #[serde(flatten)]
    extra: T,
}

/// What a verifier requires of `iss`, `aud` and the clock.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway: i64,
    /// Longest accepted `exp - iat`, in seconds.
    pub(crate) max_lifetime: i64,
}

/// Checks `exp`, `nbf` and `iat` against `now` with the leeway.
pub(crate) fn check_times(
    exp: i64,
    nbf: Option<i64>,
    iat: Option<i64>,
    now: i64,
    leeway: i64,
) -> Result<(), TokenError> {
    if exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    let not_before = now.saturating_add(leeway);
    if nbf.is_some_and(|nbf| nbf > not_before) || iat.is_some_and(|iat| iat > not_before) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// Parses the decoded payload and checks it against `rules` at time `now`.
pub(crate) fn parse_access_claims<T: DeserializeOwned>(
    payload: &[u8],
    rules: &ClaimRules,
    now: i64,
) -> Result<AccessClaims<T>, TokenError> {
    let raw: RawClaims<T> = serde_json::from_slice(payload).map_err(|_| TokenError::Malformed)?;
    // Order: the registered claims every JWT verifier requires, then the rest.
    let exp = raw.exp.ok_or(TokenError::MissingClaim("exp"))?;
    let iss = raw.iss.ok_or(TokenError::MissingClaim("iss"))?;
    let aud = raw.aud.ok_or(TokenError::MissingClaim("aud"))?;
    if iss != rules.issuer {
        return Err(TokenError::InvalidIssuer);
    }
    if !aud.contains(&rules.audience) {
        return Err(TokenError::InvalidAudience);
    }
    let nbf = raw.nbf.ok_or(TokenError::MissingClaim("nbf"))?;
    let iat = raw.iat.ok_or(TokenError::MissingClaim("iat"))?;
    check_times(exp, Some(nbf), Some(iat), now, rules.leeway)?;
    if raw.iat_ms.is_some_and(|ms| ms.div_euclid(1000) != iat) {
        return Err(TokenError::MissingClaim("iat_ms"));
    }
    // A token living longer than the verifier allows would outlive its revocation entry.
    if exp.saturating_sub(iat) > rules.max_lifetime {
        return Err(TokenError::MissingClaim("exp"));
    }
    Ok(AccessClaims {
        sub: raw.sub.ok_or(TokenError::MissingClaim("sub"))?,
        iss,
        aud: rules.audience.clone(),
        exp,
        nbf,
        iat,
        iat_ms: raw.iat_ms,
        jti: raw.jti.ok_or(TokenError::MissingClaim("jti"))?,
        sid: raw.sid,
        tid: raw.tid.ok_or(TokenError::MissingClaim("tid"))?,
        role: raw.role.ok_or(TokenError::MissingClaim("role"))?,
        extra: raw.extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "iss".into(),
            audience: "aud".into(),
            leeway: 0,
            max_lifetime: 3600,
        }
    }

    fn full() -> serde_json::Value {
        serde_json::json!({"sub":"u","iss":"iss","aud":"aud","exp":200,"nbf":100,"iat":100,
            "jti":"j","tid":"t","role":"r"})
    }

    #[test]
    fn each_required_claim_missing_is_named() {
        for name in [
            "exp", "iss", "aud", "nbf", "iat", "sub", "jti", "tid", "role",
        ] {
            let mut claims = full();
            claims.as_object_mut().unwrap().remove(name);
            let payload = serde_json::to_vec(&claims).unwrap();
            let err = parse_access_claims::<NoExtraClaims>(&payload, &rules(), 150).unwrap_err();
            assert_eq!(err, TokenError::MissingClaim(name), "{name}");
        }
    }

    #[test]
    fn iat_ms_must_fall_within_iat() {
        let mut claims = full();
        claims["iat_ms"] = serde_json::json!(100_999);
        let payload = serde_json::to_vec(&claims).unwrap();
        let parsed = parse_access_claims::<NoExtraClaims>(&payload, &rules(), 150).unwrap();
        assert_eq!(parsed.iat_ms, Some(100_999));
        // A millisecond instant outside the signed second would let a token pose as issued
        // after a revoke-all.
        claims["iat_ms"] = serde_json::json!(101_000);
        let payload = serde_json::to_vec(&claims).unwrap();
        assert_eq!(
            parse_access_claims::<NoExtraClaims>(&payload, &rules(), 150).unwrap_err(),
            TokenError::MissingClaim("iat_ms")
        );
    }

    #[test]
    fn audience_array_must_contain_ours() {
        let mut claims = full();
        claims["aud"] = serde_json::json!(["other", "aud"]);
        let payload = serde_json::to_vec(&claims).unwrap();
        assert!(parse_access_claims::<NoExtraClaims>(&payload, &rules(), 150).is_ok());
        claims["aud"] = serde_json::json!(["other"]);
        let payload = serde_json::to_vec(&claims).unwrap();
        assert_eq!(
            parse_access_claims::<NoExtraClaims>(&payload, &rules(), 150).unwrap_err(),
            TokenError::InvalidAudience
        );
    }

    #[test]
    fn times_are_checked_with_leeway() {
        assert_eq!(
            check_times(100, None, None, 100, 0),
            Err(TokenError::Expired)
        );
        assert_eq!(check_times(100, None, None, 100, 5), Ok(()));
        assert_eq!(
            check_times(200, Some(120), None, 100, 10),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(check_times(200, Some(110), None, 100, 10), Ok(()));
        assert_eq!(
            check_times(200, None, Some(111), 100, 10),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            check_times(i64::MIN, None, None, i64::MAX, 60),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn duplicate_claim_is_malformed() {
        let payload = br#"{"sub":"u","sub":"admin","iss":"iss","aud":"aud","exp":200,"nbf":100,"iat":100,"jti":"j","tid":"t","role":"r"}"#;
        assert_eq!(
            parse_access_claims::<NoExtraClaims>(payload, &rules(), 150).unwrap_err(),
            TokenError::Malformed
        );
    }
}
