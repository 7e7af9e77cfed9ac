//! Each test performs one attack on the access-token verifier and proves it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tokens_support;

use std::sync::Arc;
use std::time::Duration;

use agency_auth::tokens::{
    AccessClaims, AccessTokenRequest, Algorithm, KeySet, NoExtraClaims, SigningKey, TokenError,
    TokenVerifier,
};
use agency_auth::tokens::{Audience, Issuer};
use jsonwebtoken::EncodingKey;
use serde_json::json;
use tokens_support::*;

fn verifier(keys: &KeySet) -> TokenVerifier {
    TokenVerifier::builder(keys.clone(), Issuer::new(ISS), Audience::new(AUD))
        .build()
        .unwrap()
}

async fn verify(
    keys: &KeySet,
    token: &str,
) -> Result<Arc<AccessClaims<NoExtraClaims>>, TokenError> {
    verifier(keys).verify(token).await
}

fn es256() -> (SigningKey, KeySet, EncodingKey) {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let enc = encoding_key(&key);
    (key.clone(), KeySet::new(key), enc)
}

#[tokio::test]
async fn forged_good_token_helper_is_accepted() {
    // Guards the other tests: the forging helper makes tokens the verifier accepts.
    let (key, keys, enc) = es256();
    let token = forge(
        &header_for(&key),
        &good_claims(),
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(verify(&keys, &token).await.unwrap().sub, "user-1");
}

#[tokio::test]
async fn hs256_token_signed_with_the_rsa_public_key_pem_as_hmac_secret_is_refused() {
    let key = SigningKey::generate(Algorithm::Rs256).unwrap();
    let public_pem = key.public_key_pem().unwrap();
    let keys = KeySet::new(key.clone());
    let mut header = header_for(&key);
    header["alg"] = json!("HS256");
    for secret in [public_pem.as_bytes(), public_pem.trim_end().as_bytes()] {
        let token = forge(
            &header,
            &good_claims(),
            &EncodingKey::from_secret(secret),
            jsonwebtoken::Algorithm::HS256,
        );
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::AlgorithmNotAccepted
        );
    }
}

#[tokio::test]
async fn hs256_token_signed_with_the_jwk_of_an_eddsa_key_is_refused() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let keys = KeySet::new(key.clone());
    let secret = serde_json::to_vec(key.public_jwk().unwrap()).unwrap();
    let mut header = header_for(&key);
    header["alg"] = json!("HS256");
    let token = forge(
        &header,
        &good_claims(),
        &EncodingKey::from_secret(&secret),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::AlgorithmNotAccepted
    );
}

#[tokio::test]
async fn token_signed_by_another_algorithm_key_under_a_known_kid_is_refused() {
    // ES256 key set; an attacker signs with their own EdDSA key and names our kid.
    let (key, keys, _) = es256();
    let attacker = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let mut header = header_for(&key);
    header["alg"] = json!("EdDSA");
    let token = forge(
        &header,
        &good_claims(),
        &encoding_key(&attacker),
        jsonwebtoken::Algorithm::EdDSA,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::AlgorithmNotAccepted
    );
}

#[tokio::test]
async fn alg_none_in_every_spelling_is_refused() {
    let (key, keys, _) = es256();
    let claims = b64(serde_json::to_string(&good_claims()).unwrap().as_bytes());
    for alg in ["none", "NONE", "nOnE", "None", ""] {
        let mut header = header_for(&key);
        header["alg"] = json!(alg);
        let header = b64(serde_json::to_string(&header).unwrap().as_bytes());
        // The classic form has an empty signature; also try a non-empty one.
        let unsigned = format!("{header}.{claims}.");
        assert!(verify(&keys, &unsigned).await.is_err(), "{alg:?} unsigned");
        let junk = format!("{header}.{claims}.AAAA");
        assert_eq!(
            verify(&keys, &junk).await.unwrap_err(),
            TokenError::AlgorithmNotAccepted,
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn lowercase_or_unknown_algorithm_names_are_refused() {
    let (key, keys, enc) = es256();
    for alg in ["es256", "ES384", "PS256", "HS512"] {
        let mut header = header_for(&key);
        header["alg"] = json!(alg);
        let token = forge(
            &header,
            &good_claims(),
            &enc,
            jsonwebtoken::Algorithm::ES256,
        );
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::AlgorithmNotAccepted,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn token_without_exp_iss_or_aud_is_refused() {
    let (key, keys, enc) = es256();
    for claim in ["exp", "iss", "aud"] {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(claim);
        let token = forge(
            &header_for(&key),
            &claims,
            &enc,
            jsonwebtoken::Algorithm::ES256,
        );
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::MissingClaim(claim)
        );
    }
}

#[tokio::test]
async fn exp_given_as_a_string_is_refused() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["exp"] = json!("99999999999");
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::Malformed
    );
}

#[tokio::test]
async fn token_for_another_issuer_or_audience_is_refused() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["iss"] = json!("evil-issuer");
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::InvalidIssuer
    );
    let mut claims = good_claims();
    claims["aud"] = json!(["other-api"]);
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::InvalidAudience
    );
}

#[tokio::test]
async fn expired_token_is_refused_and_leeway_is_honoured() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["exp"] = json!(now() - 30);
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::Expired
    );
    let lenient =
        TokenVerifier::<NoExtraClaims>::builder(keys.clone(), Issuer::new(ISS), Audience::new(AUD))
            .leeway(Duration::from_secs(60))
            .build()
            .unwrap();
    assert!(lenient.verify(&token).await.is_ok());
    claims["exp"] = json!(now() - 61);
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        lenient.verify(&token).await.unwrap_err(),
        TokenError::Expired
    );
}

#[tokio::test]
async fn token_used_before_nbf_is_refused() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["nbf"] = json!(now() + 120);
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::NotYetValid
    );
}

#[tokio::test]
async fn token_issued_in_the_future_is_refused() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["iat"] = json!(now() + 3600);
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::NotYetValid
    );
}

#[test]
fn leeway_over_60_seconds_is_a_configuration_error() {
    let (_, keys, _) = es256();
    let built = TokenVerifier::<NoExtraClaims>::builder(keys, Issuer::new(ISS), Audience::new(AUD))
        .leeway(Duration::from_secs(61))
        .build();
    assert!(built.is_err());
}

#[tokio::test]
async fn validly_signed_token_over_8_kib_is_refused() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["padding"] = json!("x".repeat(8 * 1024));
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::TooLarge
    );
}

#[tokio::test]
async fn non_compact_serialisations_of_a_good_token_are_refused() {
    let (key, keys, enc) = es256();
    let token = forge(
        &header_for(&key),
        &good_claims(),
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    let parts: Vec<&str> = token.split('.').collect();
    let json_serialisation =
        json!({"protected": parts[0], "payload": parts[1], "signature": parts[2]}).to_string();
    let variants = [
        format!("{token}.AAAA.BBBB"), // JWE-shaped, five parts
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], "AAAA", "BBBB", parts[1], parts[2]
        ),
        json_serialisation,
        format!(" {token}"),
        format!("{token}\n"),
        format!("{}.{} .{}", parts[0], parts[1], parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{token}=="),
        format!("{}..{}", parts[0], parts[2]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("Bearer {token}"),
    ];
    for variant in variants {
        let error = verify(&keys, &variant).await.unwrap_err();
        assert_eq!(error, TokenError::Malformed, "{variant}");
    }
}

#[tokio::test]
async fn validly_signed_token_with_crit_jku_x5u_x5c_or_jwk_header_is_refused() {
    let (key, keys, enc) = es256();
    let cases = [
        ("crit", json!(["exp"])),
        ("jku", json!("https://evil.example/jwks.json")),
        ("x5u", json!("https://evil.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
        (
            "jwk",
            serde_json::to_value(key.public_jwk().unwrap()).unwrap(),
        ),
    ];
    for (name, value) in cases {
        let mut header = header_for(&key);
        header[name] = value;
        let token = forge(
            &header,
            &good_claims(),
            &enc,
            jsonwebtoken::Algorithm::ES256,
        );
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::ForbiddenHeader(name),
            "{name}"
        );
    }
}

#[tokio::test]
async fn attacker_key_embedded_as_jwk_header_is_refused() {
    let (key, keys, _) = es256();
    let attacker = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_kid(key.kid())
        .unwrap();
    let mut header = header_for(&key);
    header["jwk"] = serde_json::to_value(attacker.public_jwk().unwrap()).unwrap();
    let token = forge(
        &header,
        &good_claims(),
        &encoding_key(&attacker),
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::ForbiddenHeader("jwk")
    );
}

#[tokio::test]
async fn missing_unknown_path_or_url_kid_is_refused() {
    let (key, keys, enc) = es256();
    let mut header = header_for(&key);
    header.as_object_mut().unwrap().remove("kid");
    let token = forge(
        &header,
        &good_claims(),
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::UnknownKey
    );
    for kid in [
        "unknown",
        "../../../../dev/null",
        "/etc/passwd",
        "https://evil.example/key.pem",
        "",
    ] {
        header["kid"] = json!(kid);
        let token = forge(
            &header,
            &good_claims(),
            &enc,
            jsonwebtoken::Algorithm::ES256,
        );
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::UnknownKey,
            "{kid}"
        );
    }
}

#[tokio::test]
async fn es256_all_zero_signature_is_refused() {
    let (key, keys, enc) = es256();
    let token = forge(
        &header_for(&key),
        &good_claims(),
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    let (message, signature) = token.rsplit_once('.').unwrap();
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    let zero = [0_u8; 32];
    for forged in [
        [zero, zero].concat(),
        [&zero[..], &signature[32..]].concat(),
        [&signature[..32], &zero[..]].concat(),
        vec![0_u8; 2],
    ] {
        let token = format!("{message}.{}", b64(&forged));
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::InvalidSignature
        );
    }
}

#[tokio::test]
async fn id_token_or_refresh_jwt_signed_by_the_same_key_cannot_stand_in_for_an_access_token() {
    let (key, keys, enc) = es256();
    for typ in [
        Some("JWT"),
        Some("id_token+jwt"),
        Some("refresh+jwt"),
        Some("at+jwt+x"),
        None,
    ] {
        let mut header = header_for(&key);
        match typ {
            Some(typ) => header["typ"] = json!(typ),
            None => {
                header.as_object_mut().unwrap().remove("typ");
            }
        }
        let token = forge(
            &header,
            &good_claims(),
            &enc,
            jsonwebtoken::Algorithm::ES256,
        );
        assert_eq!(
            verify(&keys, &token).await.unwrap_err(),
            TokenError::WrongType,
            "{typ:?}"
        );
    }
}

#[tokio::test]
async fn duplicate_header_member_smuggling_is_refused() {
    let (key, keys, enc) = es256();
    let header = format!(
        r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}","kid":"other"}}"#,
        key.kid()
    );
    let claims = serde_json::to_string(&good_claims()).unwrap();
    let token = forge_raw(&header, &claims, &enc, jsonwebtoken::Algorithm::ES256);
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::Malformed
    );
}

#[tokio::test]
async fn duplicate_role_claim_smuggling_is_refused() {
    let (key, keys, enc) = es256();
    let header = serde_json::to_string(&header_for(&key)).unwrap();
    let claims = serde_json::to_string(&good_claims()).unwrap().replacen(
        '{',
        r#"{"role":"super_admin","#,
        1,
    );
    let token = forge_raw(&header, &claims, &enc, jsonwebtoken::Algorithm::ES256);
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::Malformed
    );
}

#[tokio::test]
async fn signature_from_another_token_is_refused() {
    let (key, keys, enc) = es256();
    let victim = forge(
        &header_for(&key),
        &good_claims(),
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    let mut claims = good_claims();
    claims["role"] = json!("super_admin");
    let escalated = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    let spliced = format!(
        "{}.{}",
        escalated.rsplit_once('.').unwrap().0,
        victim.rsplit_once('.').unwrap().1
    );
    assert_eq!(
        verify(&keys, &spliced).await.unwrap_err(),
        TokenError::InvalidSignature
    );
}

#[tokio::test]
async fn revoked_session_is_refused_first_seen_and_cached() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let keys = KeySet::new(key);
    let issuer = issuer(&keys, Duration::from_secs(600));
    let revoked = Arc::new(RevokedSet::default());
    let verifier =
        TokenVerifier::<NoExtraClaims>::builder(keys, Issuer::new(ISS), Audience::new(AUD))
            .revocation(revoked.clone())
            .build()
            .unwrap();
    let cached = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer").session("s1"))
        .unwrap();
    let fresh = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer").session("s1"))
        .unwrap();
    verifier.verify(&cached.token).await.unwrap();
    verifier.verify(&cached.token).await.unwrap();
    assert_eq!(
        revoked.asked(),
        2,
        "asked on the first-seen and on the cached verification"
    );
    revoked.revoke_session("s1");
    assert_eq!(
        verifier.verify(&cached.token).await.unwrap_err(),
        TokenError::Revoked
    );
    assert_eq!(
        verifier.verify(&fresh.token).await.unwrap_err(),
        TokenError::Revoked
    );
}

#[tokio::test]
async fn revocation_check_failure_fails_closed_first_seen_and_cached() {
    let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    let issuer = issuer(&keys, Duration::from_secs(600));
    let token = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer"))
        .unwrap()
        .token;
    let down =
        TokenVerifier::<NoExtraClaims>::builder(keys.clone(), Issuer::new(ISS), Audience::new(AUD))
            .revocation(Arc::new(Unavailable))
            .build()
            .unwrap();
    assert_eq!(
        down.verify(&token).await.unwrap_err(),
        TokenError::RevocationUnavailable
    );
    assert_eq!(
        down.verify(&token).await.unwrap_err(),
        TokenError::RevocationUnavailable
    );
    assert_eq!(
        down.cached_tokens(),
        0,
        "a token that failed revocation is not cached"
    );
}

#[tokio::test]
async fn altered_copy_of_a_cached_token_does_not_hit_the_cache() {
    let keys = KeySet::new(SigningKey::generate(Algorithm::Rs256).unwrap());
    let issuer = issuer(&keys, Duration::from_secs(600));
    let verifier = verifier(&keys);
    let token = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer"))
        .unwrap()
        .token;
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.cached_tokens(), 1);
    // Same header and signature, payload re-encoded with a higher role.
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    claims["role"] = json!("super_admin");
    let altered = format!(
        "{header}.{}.{signature}",
        b64(claims.to_string().as_bytes())
    );
    assert_eq!(
        verifier.verify(&altered).await.unwrap_err(),
        TokenError::InvalidSignature
    );
    let mut truncated = token.clone();
    truncated.pop();
    assert!(verifier.verify(&truncated).await.is_err());
}

#[tokio::test]
async fn cached_token_is_refused_once_expired() {
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    let issuer = issuer(&keys, Duration::from_secs(1));
    let verifier = verifier(&keys);
    let token = issuer
        .issue(&AccessTokenRequest::new("u", "t", "viewer"))
        .unwrap()
        .token;
    verifier.verify(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(
        verifier.cached_tokens(),
        0,
        "expired entries are dropped when hit"
    );
}

#[tokio::test]
async fn verified_token_cache_stays_within_its_capacity() {
    let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    let issuer = issuer(&keys, Duration::from_secs(600));
    let verifier =
        TokenVerifier::<NoExtraClaims>::builder(keys, Issuer::new(ISS), Audience::new(AUD))
            .cache_capacity(64)
            .build()
            .unwrap();
    for _ in 0..500 {
        let token = issuer
            .issue(&AccessTokenRequest::new("u", "t", "viewer"))
            .unwrap()
            .token;
        verifier.verify(&token).await.unwrap();
        assert!(verifier.cached_tokens() <= 64);
    }
}

#[tokio::test]
async fn errors_never_echo_the_token() {
    let (key, keys, enc) = es256();
    let mut claims = good_claims();
    claims["iss"] = json!("SECRET-MARKER");
    let token = forge(
        &header_for(&key),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    let error = verify(&keys, &token).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains("SECRET-MARKER") && !shown.contains(&token[..20]),
        "{shown}"
    );
}

#[tokio::test]
async fn header_with_invalid_utf8_in_an_ignored_member_is_refused() {
    // The attack: invalid UTF-8 in a header member the verifier does not read (`x`), which a
    // JSON parser skipping unknown members never looks at. Payloads are refused for it already;
    // the header must be too, or two parsers disagree about what was signed.
    let (key, keys, enc) = es256();
    let claims = serde_json::to_string(&good_claims()).unwrap();
    let mut header = format!(
        r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}","x":"#,
        key.kid()
    )
    .into_bytes();
    header.extend_from_slice(b"\"\xff\xfe\"}");
    let message = format!("{}.{}", b64(&header), b64(claims.as_bytes()));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &enc, jsonwebtoken::Algorithm::ES256)
            .unwrap();
    let token = format!("{message}.{signature}");
    assert_eq!(
        verify(&keys, &token).await.unwrap_err(),
        TokenError::Malformed
    );

    // Positive control: the same header with valid text in `x` verifies.
    let fine = forge_raw(
        &format!(
            r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}","x":"ok"}}"#,
            key.kid()
        ),
        &claims,
        &enc,
        jsonwebtoken::Algorithm::ES256,
    );
    verify(&keys, &fine).await.unwrap();
}
