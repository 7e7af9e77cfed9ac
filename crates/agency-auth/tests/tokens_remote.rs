//! The outside-identity-provider verifier: JWKS caching, refresh rate limit, and URLs a token
//! names never being fetched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tokens_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agency_auth::tokens::{
    Algorithm, Jwks, JwksFetchError, JwksFetcher, NoExtraClaims, RemoteVerifier, SigningKey,
    TokenError,
};
use agency_auth::tokens::{Audience, Issuer};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use tokens_support::*;

const IDP: &str = "https://project.supabase.co/auth/v1";
const API: &str = "authenticated";

/// Serves a replaceable JWKS document and counts fetches.
#[derive(Default)]
struct CountingFetcher {
    document: Mutex<Vec<u8>>,
    fetches: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl CountingFetcher {
    fn serving(keys: &[&SigningKey]) -> Arc<Self> {
        let fetcher = Arc::new(Self::default());
        fetcher.serve(keys);
        fetcher
    }

    fn serve(&self, keys: &[&SigningKey]) {
        let jwks = Jwks {
            keys: keys
                .iter()
                .filter_map(|k| k.public_jwk().cloned())
                .collect(),
        };
        *self.document.lock().unwrap() = serde_json::to_vec(&jwks).unwrap();
    }

    fn serve_raw(&self, document: &Value) {
        *self.document.lock().unwrap() = serde_json::to_vec(document).unwrap();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl JwksFetcher for CountingFetcher {
    async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(JwksFetchError("connection refused".into()));
        }
        Ok(self.document.lock().unwrap().clone())
    }
}

fn idp_claims() -> Value {
    let now = now();
    json!({"sub": "user-1", "iss": IDP, "aud": API, "exp": now + 600, "iat": now, "role": "authenticated",
        "email": "a@example.com"})
}

fn idp_token(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.kid()});
    forge(&header, claims, &encoding_key(key), key.algorithm_jwt())
}

trait JwtAlg {
    fn algorithm_jwt(&self) -> jsonwebtoken::Algorithm;
}

impl JwtAlg for SigningKey {
    fn algorithm_jwt(&self) -> jsonwebtoken::Algorithm {
        match self.algorithm() {
            Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

fn remote(fetcher: Arc<CountingFetcher>) -> RemoteVerifier<Value> {
    RemoteVerifier::builder(fetcher, Issuer::new(IDP), Audience::new(API))
        .min_refresh_interval(Duration::from_secs(3600))
        .build_with_claims::<Value>()
        .unwrap()
}

#[tokio::test]
async fn provider_tokens_of_every_asymmetric_algorithm_verify() {
    let keys: Vec<SigningKey> = [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa]
        .map(|a| SigningKey::generate(a).unwrap())
        .into();
    let fetcher = CountingFetcher::serving(&keys.iter().collect::<Vec<_>>());
    let verifier = remote(fetcher.clone());
    for key in &keys {
        let claims = verifier
            .verify(&idp_token(key, &idp_claims()))
            .await
            .unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.extra["email"], "a@example.com");
    }
    assert_eq!(fetcher.fetches(), 1, "keys are cached");
}

#[tokio::test]
async fn flood_of_unknown_kids_refreshes_at_most_once_per_interval() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = RemoteVerifier::builder(fetcher.clone(), Issuer::new(IDP), Audience::new(API))
        .min_refresh_interval(Duration::from_millis(300))
        .build_with_claims::<Value>()
        .unwrap();
    verifier
        .verify(&idp_token(&key, &idp_claims()))
        .await
        .unwrap();
    assert_eq!(fetcher.fetches(), 1);
    let attacker = SigningKey::generate(Algorithm::Es256).unwrap();
    for i in 0..50 {
        let unknown = attacker.clone().with_kid(&format!("random-{i}")).unwrap();
        assert_eq!(
            verifier
                .verify(&idp_token(&unknown, &idp_claims()))
                .await
                .unwrap_err(),
            TokenError::UnknownKey
        );
    }
    assert_eq!(
        fetcher.fetches(),
        1,
        "within the interval no unknown kid causes a fetch"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    for i in 0..50 {
        let unknown = attacker.clone().with_kid(&format!("again-{i}")).unwrap();
        assert!(
            verifier
                .verify(&idp_token(&unknown, &idp_claims()))
                .await
                .is_err()
        );
    }
    assert_eq!(
        fetcher.fetches(),
        2,
        "one refresh after the interval, however many unknown kids"
    );
}

#[tokio::test]
async fn concurrent_unknown_kids_cause_a_single_fetch() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = Arc::new(remote(fetcher.clone()));
    let attacker = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let verifier = verifier.clone();
        let token = idp_token(
            &attacker.clone().with_kid(&format!("k{i}")).unwrap(),
            &idp_claims(),
        );
        tasks.push(tokio::spawn(async move { verifier.verify(&token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), TokenError::UnknownKey);
    }
    assert_eq!(fetcher.fetches(), 1);
}

#[tokio::test]
async fn provider_key_rotation_is_picked_up_on_unknown_kid_after_the_interval() {
    let old = SigningKey::generate(Algorithm::Rs256).unwrap();
    let fetcher = CountingFetcher::serving(&[&old]);
    let verifier = RemoteVerifier::builder(fetcher.clone(), Issuer::new(IDP), Audience::new(API))
        .min_refresh_interval(Duration::from_millis(100))
        .build_with_claims::<Value>()
        .unwrap();
    verifier
        .verify(&idp_token(&old, &idp_claims()))
        .await
        .unwrap();
    let new = SigningKey::generate(Algorithm::Rs256).unwrap();
    fetcher.serve(&[&old, &new]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    verifier
        .verify(&idp_token(&new, &idp_claims()))
        .await
        .unwrap();
    assert_eq!(fetcher.fetches(), 2);
}

#[tokio::test]
async fn keys_older_than_max_age_are_refetched_and_kept_when_the_provider_is_down() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = RemoteVerifier::builder(fetcher.clone(), Issuer::new(IDP), Audience::new(API))
        .min_refresh_interval(Duration::from_millis(10))
        .max_age(Duration::from_millis(100))
        .build_with_claims::<Value>()
        .unwrap();
    let token = idp_token(&key, &idp_claims());
    verifier.verify(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(fetcher.fetches(), 2, "refetched after max-age");
    fetcher.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(
        fetcher.fetches(),
        3,
        "tried, failed, kept the last good keys"
    );
}

#[tokio::test]
async fn provider_down_at_start_means_keys_unavailable() {
    let fetcher = Arc::new(CountingFetcher::default());
    fetcher.down.store(true, Ordering::SeqCst);
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let verifier = remote(fetcher);
    assert_eq!(
        verifier
            .verify(&idp_token(&key, &idp_claims()))
            .await
            .unwrap_err(),
        TokenError::KeysUnavailable
    );
}

#[tokio::test]
async fn hs256_token_over_an_oct_key_in_the_provider_jwks_is_refused() {
    let secret = b"supabase-legacy-jwt-secret-0123456789";
    let fetcher = Arc::new(CountingFetcher::default());
    fetcher.serve_raw(
        &json!({"keys": [{"kty": "oct", "kid": "legacy", "alg": "HS256", "k": b64(secret)}]}),
    );
    let verifier = remote(fetcher);
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "legacy"});
    let token = forge(
        &header,
        &idp_claims(),
        &EncodingKey::from_secret(secret),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::AlgorithmNotAccepted
    );
}

#[tokio::test]
async fn hs256_token_keyed_with_the_provider_rsa_jwk_is_refused() {
    let key = SigningKey::generate(Algorithm::Rs256).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = remote(fetcher);
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": key.kid()});
    let secret = key.public_key_pem().unwrap();
    let token = forge(
        &header,
        &idp_claims(),
        &EncodingKey::from_secret(secret.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::AlgorithmNotAccepted
    );
}

#[tokio::test]
async fn token_alg_mismatching_the_jwk_is_refused() {
    let rsa = SigningKey::generate(Algorithm::Rs256).unwrap();
    let ec = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_kid(rsa.kid())
        .unwrap();
    let fetcher = CountingFetcher::serving(&[&rsa]);
    let verifier = remote(fetcher);
    // ES256 signature under the kid of the provider's RSA key.
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": rsa.kid()});
    let token = forge(
        &header,
        &idp_claims(),
        &encoding_key(&ec),
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::AlgorithmNotAccepted
    );
}

#[tokio::test]
async fn remote_tokens_with_jku_x5u_or_url_kid_never_cause_a_fetch_elsewhere() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = remote(fetcher.clone());
    for (name, value) in [
        ("jku", "https://evil.example/jwks.json"),
        ("x5u", "https://evil.example/c.pem"),
    ] {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": key.kid(), name: value});
        let token = forge(
            &header,
            &idp_claims(),
            &encoding_key(&key),
            jsonwebtoken::Algorithm::ES256,
        );
        assert!(matches!(
            verifier.verify(&token).await.unwrap_err(),
            TokenError::ForbiddenHeader(_)
        ));
    }
    assert_eq!(fetcher.fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn remote_claims_are_checked() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = remote(fetcher);
    let cases: [(&str, Value, TokenError); 5] = [
        (
            "iss",
            json!("https://evil.supabase.co/auth/v1"),
            TokenError::InvalidIssuer,
        ),
        ("aud", json!("anon"), TokenError::InvalidAudience),
        ("exp", json!(now() - 10), TokenError::Expired),
        ("nbf", json!(now() + 600), TokenError::NotYetValid),
        ("exp", Value::Null, TokenError::MissingClaim("exp")),
    ];
    for (name, value, expected) in cases {
        let mut claims = idp_claims();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value;
        }
        assert_eq!(
            verifier
                .verify(&idp_token(&key, &claims))
                .await
                .unwrap_err(),
            expected,
            "{name}"
        );
    }
}

#[tokio::test]
async fn required_type_is_enforced_when_configured() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier =
        RemoteVerifier::<NoExtraClaims>::builder(fetcher, Issuer::new(IDP), Audience::new(API))
            .require_type("at+jwt")
            .build()
            .unwrap();
    // idp_token uses typ JWT: an ID-token-shaped token.
    assert_eq!(
        verifier
            .verify(&idp_token(&key, &idp_claims()))
            .await
            .unwrap_err(),
        TokenError::WrongType
    );
    let header = json!({"alg": "ES256", "typ": "application/at+jwt", "kid": key.kid()});
    let token = forge(
        &header,
        &idp_claims(),
        &encoding_key(&key),
        jsonwebtoken::Algorithm::ES256,
    );
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn algorithms_outside_the_configured_set_are_refused() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let fetcher = CountingFetcher::serving(&[&key]);
    let verifier = RemoteVerifier::builder(fetcher, Issuer::new(IDP), Audience::new(API))
        .algorithms(&[Algorithm::Rs256])
        .build_with_claims::<Value>()
        .unwrap();
    assert_eq!(
        verifier
            .verify(&idp_token(&key, &idp_claims()))
            .await
            .unwrap_err(),
        TokenError::AlgorithmNotAccepted
    );
}

/// Compile-time check: the verifier can be shared across tasks and its future spawned.
#[allow(dead_code)]
fn remote_verifier_future_is_send() {
    fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
    let verifier = Arc::new(remote(Arc::new(CountingFetcher::default())));
    spawnable(async move { verifier.verify("x").await });
}
