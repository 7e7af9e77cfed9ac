//! Key rotation, JWKS publishing and issuing: the life of a key set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tokens_support;

use std::time::Duration;

use agency_auth::tokens::{
    AccessClaims, AccessTokenRequest, Algorithm, KeySet, NoExtraClaims, SigningKey, TokenError,
    TokenIssuer, TokenVerifier,
};
use agency_auth::tokens::{Audience, Issuer};
use serde::{Deserialize, Serialize};
use tokens_support::{AUD, ISS, issuer};

fn pair(keys: &KeySet) -> (TokenIssuer, TokenVerifier) {
    (
        issuer(keys, Duration::from_secs(600)),
        TokenVerifier::builder(keys.clone(), Issuer::new(ISS), Audience::new(AUD))
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_the_old_key_is_retired() {
    for alg in [
        Algorithm::Hs256,
        Algorithm::Rs256,
        Algorithm::Es256,
        Algorithm::EdDsa,
    ] {
        let old = SigningKey::generate(alg).unwrap().with_kid("old").unwrap();
        let keys = KeySet::new(old);
        let (issuer, verifier) = pair(&keys);
        let before = issuer
            .issue(&AccessTokenRequest::new("u", "t", "viewer"))
            .unwrap();
        assert_eq!(before.kid, "old");
        verifier.verify(&before.token).await.unwrap(); // now cached

        keys.rotate(SigningKey::generate(alg).unwrap().with_kid("new").unwrap())
            .unwrap();
        let after = issuer
            .issue(&AccessTokenRequest::new("u", "t", "viewer"))
            .unwrap();
        assert_eq!(after.kid, "new");
        verifier.verify(&before.token).await.unwrap();
        verifier.verify(&after.token).await.unwrap();

        keys.retire("old").unwrap();
        assert_eq!(
            verifier.verify(&before.token).await.unwrap_err(),
            TokenError::UnknownKey,
            "{alg}: cached token of a retired key"
        );
        verifier.verify(&after.token).await.unwrap();
    }
}

#[tokio::test]
async fn a_verifier_of_another_key_set_refuses_our_tokens() {
    let ours = KeySet::new(
        SigningKey::generate(Algorithm::Hs256)
            .unwrap()
            .with_kid("k")
            .unwrap(),
    );
    let theirs = KeySet::new(
        SigningKey::generate(Algorithm::Hs256)
            .unwrap()
            .with_kid("k")
            .unwrap(),
    );
    let (issuer, _) = pair(&ours);
    let (_, verifier) = pair(&theirs);
    let token = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer"))
        .unwrap()
        .token;
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::InvalidSignature
    );
}

#[tokio::test]
async fn issued_token_has_the_contract_claims_and_header() {
    let keys = KeySet::new(SigningKey::generate(Algorithm::Es256).unwrap());
    let (issuer, verifier) = pair(&keys);
    let issued = issuer
        .issue(&AccessTokenRequest::new("user-7", "acme", "operator").session("sess-1"))
        .unwrap();
    let header = jsonwebtoken::decode_header(&issued.token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid.as_deref(), keys.active_kid().as_deref());
    let claims = verifier.verify(&issued.token).await.unwrap();
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.tid.as_str(),
            claims.role.as_str(),
            claims.sid.as_deref()
        ),
        ("user-7", "acme", "operator", Some("sess-1"))
    );
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISS, AUD));
    assert_eq!(claims.exp - claims.iat, 600);
    assert_eq!(claims.nbf, claims.iat);
    assert_eq!(claims.jti, issued.jti);
    assert_eq!(claims.exp, issued.expires_at);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AppClaims {
    scope: String,
    #[serde(default)]
    plan: Option<String>,
}

#[tokio::test]
async fn application_claims_round_trip() {
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    let issuer = issuer(&keys, Duration::from_secs(60));
    let verifier = TokenVerifier::builder(keys, Issuer::new(ISS), Audience::new(AUD))
        .build_with_claims::<AppClaims>()
        .unwrap();
    let extra = AppClaims {
        scope: "agents:read tasks:read".into(),
        plan: Some("pro".into()),
    };
    let token = issuer
        .issue_with(&AccessTokenRequest::new("u", "t", "viewer"), &extra)
        .unwrap()
        .token;
    let claims: std::sync::Arc<AccessClaims<AppClaims>> = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.extra, extra);
    // A token without the application's required claim is refused.
    let plain = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer"))
        .unwrap()
        .token;
    assert_eq!(
        verifier.verify(&plain).await.unwrap_err(),
        TokenError::Malformed
    );
}

#[test]
fn issuing_without_an_active_key_fails() {
    let keys = KeySet::empty();
    keys.insert(SigningKey::generate(Algorithm::Hs256).unwrap())
        .unwrap();
    let issuer = issuer(&keys, Duration::from_secs(60));
    assert_eq!(
        issuer
            .issue(&AccessTokenRequest::new("u", "t", "viewer"))
            .unwrap_err(),
        TokenError::NoSigningKey
    );
}

#[test]
fn jwks_publishes_every_public_key_and_no_secret() {
    let rsa = SigningKey::generate(Algorithm::Rs256).unwrap();
    let keys = KeySet::new(rsa.clone());
    keys.insert(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap();
    keys.insert(SigningKey::generate(Algorithm::EdDsa).unwrap())
        .unwrap();
    keys.insert(SigningKey::from_hs256_secret(b"a-very-secret-hs256-key-of-32+bytes").unwrap())
        .unwrap();
    let json = serde_json::to_value(keys.jwks()).unwrap();
    let published = json["keys"].as_array().unwrap();
    assert_eq!(published.len(), 3);
    for jwk in published {
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none() && jwk.get("k").is_none());
        let kty = jwk["kty"].as_str().unwrap();
        let expected: &[&str] = match kty {
            "RSA" => &["alg", "e", "kid", "kty", "n", "use"],
            "EC" => &["alg", "crv", "kid", "kty", "use", "x", "y"],
            "OKP" => &["alg", "crv", "kid", "kty", "use", "x"],
            other => panic!("unexpected kty {other}"),
        };
        let mut members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        assert_eq!(members, expected);
    }
    // jsonwebtoken can build a verifying key from what we publish.
    let rsa_jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(
        published
            .iter()
            .find(|k| k["kty"] == "RSA")
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(jsonwebtoken::DecodingKey::from_jwk(&rsa_jwk).is_ok());
    assert_eq!(rsa_jwk.common.key_id.as_deref(), Some(rsa.kid()));
    assert!(!json.to_string().contains("secret"));
}

#[test]
fn generated_key_survives_a_restart_through_its_pem_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing-key.pem");
    let key = SigningKey::generate(Algorithm::Rs256).unwrap();
    std::fs::write(&path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    let reloaded = SigningKey::from_pem(Algorithm::Rs256, &pem).unwrap();
    assert_eq!(reloaded.kid(), key.kid());
    assert_eq!(reloaded.public_jwk(), key.public_jwk());
}

#[tokio::test]
async fn tokens_from_a_reloaded_key_verify_with_the_original() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let reloaded = SigningKey::from_pem(Algorithm::Es256, &key.to_pkcs8_pem().unwrap()).unwrap();
    let (issuer, _) = pair(&KeySet::new(reloaded));
    let (_, verifier) = pair(&KeySet::new(key));
    let token = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer"))
        .unwrap()
        .token;
    verifier.verify(&token).await.unwrap();
}

#[test]
fn verifier_debug_output_shows_no_key_material() {
    let keys =
        KeySet::new(SigningKey::from_hs256_secret(b"super-secret-material-0123456789abc").unwrap());
    let (issuer, verifier) = pair(&keys);
    let shown = format!("{keys:?} {issuer:?} {verifier:?}");
    assert!(!shown.contains("super-secret"), "{shown}");
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<TokenVerifier<NoExtraClaims>>();
    is::<TokenIssuer>();
    is::<KeySet>();
    fn future_is_send<F: std::future::Future + Send>(_: F) {}
    let verifier: TokenVerifier =
        TokenVerifier::builder(KeySet::empty(), Issuer::new(ISS), Audience::new(AUD))
            .build()
            .unwrap();
    future_is_send(async move { verifier.verify("x").await });
}

#[tokio::test]
async fn verify_only_service_with_public_pems_verifies_but_cannot_issue() {
    for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
        let signing = SigningKey::generate(alg).unwrap();
        let (issuer, _) = pair(&KeySet::new(signing.clone()));
        let token = issuer
            .issue(&AccessTokenRequest::new("u", "t", "viewer"))
            .unwrap()
            .token;

        let public = agency_auth::tokens::VerifyingKey::from_public_pem(
            alg,
            &signing.public_key_pem().unwrap(),
        )
        .unwrap();
        let verify_only = KeySet::empty();
        verify_only.insert_verifying_key(public).unwrap();
        let (cannot_issue, verifier) = pair(&verify_only);
        assert_eq!(verifier.verify(&token).await.unwrap().sub, "u", "{alg}");
        assert_eq!(
            cannot_issue
                .issue(&AccessTokenRequest::new("u", "t", "viewer"))
                .unwrap_err(),
            TokenError::NoSigningKey
        );
        assert_eq!(
            verify_only.jwks().keys,
            vec![signing.public_jwk().unwrap().clone()]
        );
    }
}

#[test]
fn signing_key_cannot_replace_a_verify_only_key_under_its_kid() {
    let signing = SigningKey::generate(Algorithm::Es256).unwrap();
    let keys = KeySet::empty();
    keys.insert_verifying_key(signing.verifying_key()).unwrap();
    let other = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_kid(signing.kid())
        .unwrap();
    assert!(keys.insert(other).is_err());
    assert!(
        keys.insert_verifying_key(
            SigningKey::generate(Algorithm::Es256)
                .unwrap()
                .verifying_key()
                .with_kid(signing.kid())
                .unwrap()
        )
        .is_err()
    );
}
