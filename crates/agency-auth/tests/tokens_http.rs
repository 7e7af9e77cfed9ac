//! The HTTPS JWKS fetcher against a local axum server (feature `jwks-http`).
#![cfg(feature = "jwks-http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tokens_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agency_auth::tokens::{
    Algorithm, HttpJwksFetcher, JwksFetcher, KeySet, RemoteVerifier, SigningKey, TokenError,
};
use agency_auth::tokens::{Audience, Issuer};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use tokens_support::*;

#[derive(Default)]
struct Hits {
    jwks: AtomicUsize,
    evil: AtomicUsize,
}

struct Server {
    addr: SocketAddr,
    hits: Arc<Hits>,
}

async fn serve(jwks: String) -> Server {
    let hits = Arc::new(Hits::default());
    let huge = "x".repeat(200 * 1024);
    let app = Router::new()
        .route(
            "/jwks.json",
            get(
                |State((hits, body)): State<(Arc<Hits>, String)>| async move {
                    hits.jwks.fetch_add(1, Ordering::SeqCst);
                    ([("content-type", "application/json")], body)
                },
            ),
        )
        .route(
            "/evil.json",
            get(|State((hits, _)): State<(Arc<Hits>, String)>| async move {
                hits.evil.fetch_add(1, Ordering::SeqCst);
                "{}"
            }),
        )
        .route("/huge.json", get(move || async move { huge }))
        .route(
            "/redirect",
            get(|| async { axum::response::Redirect::temporary("/jwks.json") }),
        )
        .with_state((hits.clone(), jwks));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, hits }
}

fn local_fetcher(server: &Server, path: &str) -> HttpJwksFetcher {
    HttpJwksFetcher::builder(format!("http://{}{path}", server.addr))
        .allow_plain_http_for_localhost(true)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn claims() -> Value {
    let now = now();
    json!({"sub": "u", "iss": "https://idp.local/", "aud": "api", "exp": now + 600, "iat": now})
}

#[tokio::test]
async fn fetches_the_configured_jwks_and_verifies() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let server = serve(serde_json::to_string(&KeySet::new(key.clone()).jwks()).unwrap()).await;
    let verifier = RemoteVerifier::builder(
        Arc::new(local_fetcher(&server, "/jwks.json")),
        Issuer::new("https://idp.local/"),
        Audience::new("api"),
    )
    .build_with_claims::<Value>()
    .unwrap();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()});
    let token = forge(
        &header,
        &claims(),
        &encoding_key(&key),
        jsonwebtoken::Algorithm::ES256,
    );
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.hits.jwks.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn urls_named_by_a_token_are_never_fetched() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let server = serve(serde_json::to_string(&KeySet::new(key.clone()).jwks()).unwrap()).await;
    let verifier = RemoteVerifier::builder(
        Arc::new(local_fetcher(&server, "/jwks.json")),
        Issuer::new("https://idp.local/"),
        Audience::new("api"),
    )
    .min_refresh_interval(Duration::ZERO)
    .build_with_claims::<Value>()
    .unwrap();
    let evil = format!("http://{}/evil.json", server.addr);
    // The attacker signs with their own key and points at their own key material.
    let attacker = SigningKey::generate(Algorithm::Es256).unwrap();
    let enc = encoding_key(&attacker);
    let headers = [
        json!({"alg": "ES256", "typ": "JWT", "kid": attacker.kid(), "jku": evil}),
        json!({"alg": "ES256", "typ": "JWT", "kid": attacker.kid(), "x5u": evil}),
        json!({"alg": "ES256", "typ": "JWT", "kid": evil}),
        json!({"alg": "ES256", "typ": "JWT", "kid": "../evil.json"}),
    ];
    for header in headers {
        let token = forge(&header, &claims(), &enc, jsonwebtoken::Algorithm::ES256);
        assert!(verifier.verify(&token).await.is_err());
    }
    assert_eq!(server.hits.evil.load(Ordering::SeqCst), 0);
    assert!(
        server.hits.jwks.load(Ordering::SeqCst) >= 1,
        "only the configured URL was fetched"
    );
}

#[tokio::test]
async fn oversized_jwks_response_is_refused() {
    let server = serve(String::new()).await;
    let error = local_fetcher(&server, "/huge.json")
        .fetch_jwks()
        .await
        .unwrap_err();
    assert!(error.0.contains("larger than"), "{error}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = serve("{\"keys\":[]}".into()).await;
    let error = local_fetcher(&server, "/redirect")
        .fetch_jwks()
        .await
        .unwrap_err();
    assert!(error.0.contains("status 307"), "{error}");
    assert_eq!(server.hits.jwks.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unreachable_provider_gives_keys_unavailable() {
    // Bind and drop to get a port nobody listens on.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fetcher = HttpJwksFetcher::builder(format!("http://127.0.0.1:{port}/jwks.json"))
        .allow_plain_http_for_localhost(true)
        .build()
        .unwrap();
    let verifier = RemoteVerifier::builder(
        Arc::new(fetcher),
        Issuer::new("https://idp.local/"),
        Audience::new("api"),
    )
    .build_with_claims::<Value>()
    .unwrap();
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()});
    let token = forge(
        &header,
        &claims(),
        &encoding_key(&key),
        jsonwebtoken::Algorithm::ES256,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::KeysUnavailable
    );
}

#[test]
fn plain_http_is_refused_unless_allowed_and_local() {
    for url in [
        "http://idp.example/jwks.json",
        "ftp://idp.example/jwks",
        "file:///etc/passwd",
    ] {
        assert!(
            HttpJwksFetcher::builder(url)
                .allow_plain_http_for_localhost(true)
                .build()
                .is_err(),
            "{url}"
        );
    }
    assert!(
        HttpJwksFetcher::builder("http://127.0.0.1:1/jwks.json")
            .build()
            .is_err()
    );
    assert!(
        HttpJwksFetcher::builder("https://user:pw@idp.example/jwks.json")
            .build()
            .is_err()
    );
    assert!(
        HttpJwksFetcher::builder("https://idp.example/jwks.json")
            .build()
            .is_ok()
    );
}
