//! Helpers shared by the token integration tests: forging tokens with chosen headers and claims,
//! and small revocation checks.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use agency_auth::revocation::{RevocationCheck, RevocationError, RevocationQuery};
use agency_auth::tokens::{Algorithm, Audience, Issuer, KeySet, SigningKey, TokenIssuer};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

pub const ISS: &str = "agency-swarm";
pub const AUD: &str = "swarm-api";

/// An issuer for [`ISS`] and [`AUD`] whose tokens live `lifetime`.
pub fn issuer(keys: &KeySet, lifetime: std::time::Duration) -> TokenIssuer {
    TokenIssuer::new(keys.clone(), Issuer::new(ISS), Audience::new(AUD), lifetime).unwrap()
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The private half of `key` as a jsonwebtoken signing key.
pub fn encoding_key(key: &SigningKey) -> EncodingKey {
    let pem = key.to_pkcs8_pem().unwrap();
    match key.algorithm() {
        Algorithm::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        Algorithm::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        Algorithm::EdDsa => EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        Algorithm::Hs256 => panic!("use EncodingKey::from_secret for HS256"),
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and these claims, signed with `key` under `alg`.
pub fn forge(
    header: &Value,
    claims: &Value,
    key: &EncodingKey,
    alg: jsonwebtoken::Algorithm,
) -> String {
    forge_raw(
        &serde_json::to_string(header).unwrap(),
        &serde_json::to_string(claims).unwrap(),
        key,
        alg,
    )
}

/// Like [`forge`] but with header and claims given as raw JSON text (for duplicate members).
pub fn forge_raw(
    header: &str,
    claims: &str,
    key: &EncodingKey,
    alg: jsonwebtoken::Algorithm,
) -> String {
    let message = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

pub fn header_for(key: &SigningKey) -> Value {
    json!({"alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": key.kid()})
}

pub fn good_claims() -> Value {
    let now = now();
    json!({"sub": "user-1", "iss": ISS, "aud": AUD, "exp": now + 600, "nbf": now, "iat": now,
        "jti": "jti-1", "sid": "session-1", "tid": "default", "role": "viewer"})
}

/// Revokes the sessions and tokens in its sets; counts the questions asked.
#[derive(Default)]
pub struct RevokedSet {
    pub sessions: Mutex<HashSet<String>>,
    pub token_ids: Mutex<HashSet<String>>,
    pub asked: AtomicUsize,
}

impl RevokedSet {
    pub fn revoke_session(&self, sid: &str) {
        self.sessions.lock().unwrap().insert(sid.to_owned());
    }

    pub fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl RevocationCheck for RevokedSet {
    async fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, RevocationError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let session = query
            .session_id
            .is_some_and(|s| self.sessions.lock().unwrap().contains(s));
        Ok(session || self.token_ids.lock().unwrap().contains(query.token_id))
    }
}

/// A revocation store that is down.
pub struct Unavailable;

#[async_trait::async_trait]
impl RevocationCheck for Unavailable {
    async fn is_revoked(&self, _query: &RevocationQuery<'_>) -> Result<bool, RevocationError> {
        Err(RevocationError("connection refused".into()))
    }
}
