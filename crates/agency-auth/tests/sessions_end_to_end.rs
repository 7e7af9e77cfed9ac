//! Sessions with the real access-token issuer and verifier: logout and revoke-all make the
//! session's access tokens fail from the next request, and access tokens are not refresh tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig};
use agency_auth::sessions::{SessionConfig, SessionError, SessionManager};
use agency_auth::store::MemoryStore;
use agency_auth::tokens::{
    AccessTokenRequest, Algorithm, KeySet, SigningKey, TokenIssuer, TokenVerifier,
};

struct World {
    sessions: SessionManager,
    issuer: TokenIssuer,
    verifier: TokenVerifier,
}

async fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    checker.refresh().await.unwrap();
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    let issuer = TokenIssuer::new(
        keys.clone(),
        "agency-swarm",
        "swarm-api",
        Duration::from_secs(3600),
    )
    .unwrap();
    let verifier: TokenVerifier = TokenVerifier::builder(keys, "agency-swarm", "swarm-api")
        .revocation(checker.clone())
        .build()
        .unwrap();
    let sessions = SessionManager::new(store, checker, SessionConfig::default()).unwrap();
    World {
        sessions,
        issuer,
        verifier,
    }
}

fn access_token(world: &World, user: &str, sid: &str) -> String {
    world
        .issuer
        .issue(&AccessTokenRequest::new(user, "default", "admin").session(sid))
        .unwrap()
        .token
        .to_string()
}

#[tokio::test]
async fn stolen_access_token_used_after_logout_is_refused() {
    let world = world().await;
    let login = world
        .sessions
        .create_session("u1", "default")
        .await
        .unwrap();
    let token = access_token(&world, "u1", &login.session.id);
    assert!(
        world.verifier.verify(&token).await.is_ok(),
        "verified (and cached) before logout"
    );
    world.sessions.logout(&login.session.id).await.unwrap();
    assert!(
        world.verifier.verify(&token).await.is_err(),
        "the cached token must fail from the next request"
    );
}

#[tokio::test]
async fn access_tokens_issued_before_revoke_all_are_refused_later_ones_work() {
    let world = world().await;
    let login = world
        .sessions
        .create_session("u1", "default")
        .await
        .unwrap();
    let before = access_token(&world, "u1", &login.session.id);
    assert!(world.verifier.verify(&before).await.is_ok());
    world.sessions.revoke_all_user_sessions("u1").await.unwrap();
    assert!(world.verifier.verify(&before).await.is_err());
    // Log in again right away (same second is fine): the new session's token works.
    let again = world
        .sessions
        .create_session("u1", "default")
        .await
        .unwrap();
    let after = access_token(&world, "u1", &again.session.id);
    assert!(world.verifier.verify(&after).await.is_ok());
}

#[tokio::test]
async fn real_access_token_presented_as_refresh_token_is_refused() {
    let world = world().await;
    let login = world
        .sessions
        .create_session("u1", "default")
        .await
        .unwrap();
    let token = access_token(&world, "u1", &login.session.id);
    assert!(matches!(
        world.sessions.refresh(&token).await,
        Err(SessionError::InvalidRefreshToken)
    ));
    // And a refresh token is not an access token.
    assert!(
        world
            .verifier
            .verify(login.refresh_token.expose_secret())
            .await
            .is_err()
    );
    assert!(
        world
            .sessions
            .refresh(login.refresh_token.expose_secret())
            .await
            .is_ok()
    );
}
