//! Sessions with the real access-token issuer and verifier: logout and revoke-all make the
//! session's access tokens fail from the next request, and access tokens are not refresh tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use agency_auth::revocation::{CachedRevocationChecker, RevocationCacheConfig};
use agency_auth::sessions::{SessionConfig, SessionError, SessionManager};
use agency_auth::store::MemoryStore;
use agency_auth::store::RevocationStore;
use agency_auth::tokens::{
    AccessTokenRequest, Algorithm, KeySet, SigningKey, TokenIssuer, TokenVerifier,
};
use agency_auth::tokens::{Audience, Issuer};
use agency_auth::{Clock, ManualClock};

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
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
        Duration::from_secs(3600),
    )
    .unwrap();
    let verifier: TokenVerifier = TokenVerifier::builder(
        keys,
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
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
    // Log in again right away (same second is fine): the new session's token works. Tokens
    // are ordered against the revocation to the millisecond, so wait for the next one (a token
    // from the revocation's own millisecond is refused: the safe side).
    let revoked_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    while time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000 <= revoked_ms {
        std::hint::spin_loop();
    }
    let again = world
        .sessions
        .create_session("u1", "default")
        .await
        .unwrap();
    let after = access_token(&world, "u1", &again.session.id);
    assert!(world.verifier.verify(&after).await.is_ok());
}

#[tokio::test]
async fn revoke_all_orders_tokens_within_one_second() {
    // The attack: a session-less access token issued 200 ms before "revoke all of this user's
    // tokens" must not survive because `iat` is in whole seconds; a token issued 200 ms after
    // (a fresh login in the same second) must work.
    let store = Arc::new(MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    checker.refresh().await.unwrap();
    let clock = ManualClock::new(time::macros::datetime!(2030-01-01 12:00:00.1 UTC));
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    let issuer = TokenIssuer::new(
        keys.clone(),
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
        Duration::from_secs(3600),
    )
    .unwrap()
    .clock(Arc::new(clock.clone()));
    let verifier: TokenVerifier = TokenVerifier::builder(
        keys,
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
    .revocation(checker.clone())
    .clock(Arc::new(clock.clone()))
    .build()
    .unwrap();
    let sessions = SessionManager::new(store, checker, SessionConfig::default()).unwrap();
    let request = AccessTokenRequest::new("u1", "default", "admin");

    let before = issuer.issue(&request).unwrap().token;
    clock.advance(Duration::from_millis(200));
    sessions
        .revoke_all_user_sessions_at("u1", clock.now())
        .await
        .unwrap();
    clock.advance(Duration::from_millis(200));
    let after = issuer.issue(&request).unwrap().token;

    assert!(matches!(
        verifier.verify(&before).await,
        Err(agency_auth::tokens::TokenError::Revoked)
    ));
    verifier.verify(&after).await.unwrap();
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

// ---- Revocations outlive every token they cover ---------------------------------------------

#[test]
fn verifier_refuses_a_revocation_retention_shorter_than_token_lifetime() {
    // The attack's configuration: 4 h tokens accepted, revocations kept 1 h + 60 s. A token
    // logged out would verify again 61 minutes later, once its entry is purged. It is refused
    // when the verifier is built.
    let store = Arc::new(MemoryStore::new());
    let short = RevocationCacheConfig::default().with_retention(Duration::from_secs(3600 + 60));
    let checker = Arc::new(CachedRevocationChecker::new(store, short).unwrap());
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    let four_hours = Duration::from_secs(4 * 3600);
    let refused = TokenVerifier::builder(
        keys.clone(),
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
    .max_lifetime(four_hours)
    .revocation(checker.clone())
    .build();
    assert!(refused.is_err());
    // The default verifier accepts up to 24 h, so the short retention is refused there too.
    assert!(
        TokenVerifier::builder(
            keys.clone(),
            Issuer::new("agency-swarm"),
            Audience::new("swarm-api")
        )
        .revocation(checker.clone())
        .build()
        .is_err()
    );
    // Positive control: a verifier that accepts at most 1 h tokens with no leeway fits.
    TokenVerifier::builder(
        keys,
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
    .max_lifetime(Duration::from_secs(3600))
    .leeway(Duration::from_secs(60))
    .revocation(checker)
    .build()
    .unwrap();
}

#[tokio::test]
async fn logged_out_four_hour_token_stays_refused_after_purge() {
    // The attack end to end on the defaults: a 4 h token is logged out, 61 minutes pass, the
    // store is purged of expired entries, every cache reloads; the token must still fail.
    let store = Arc::new(MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    checker.refresh().await.unwrap();
    let clock = ManualClock::starting_now();
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    let four_hours = Duration::from_secs(4 * 3600);
    let issuer = TokenIssuer::new(
        keys.clone(),
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
        four_hours,
    )
    .unwrap()
    .clock(Arc::new(clock.clone()));
    let verifier: TokenVerifier = TokenVerifier::builder(
        keys.clone(),
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
    .max_lifetime(issuer.lifetime())
    .revocation(checker.clone())
    .clock(Arc::new(clock.clone()))
    .build()
    .unwrap();
    let sessions =
        SessionManager::new(store.clone(), checker.clone(), SessionConfig::default()).unwrap();
    let login = sessions
        .create_session_at("u1", "default", clock.now())
        .await
        .unwrap();
    let token = issuer
        .issue(&AccessTokenRequest::new("u1", "default", "admin").session(&login.session.id))
        .unwrap()
        .token;
    verifier.verify(&token).await.unwrap();
    sessions
        .logout_at(&login.session.id, clock.now())
        .await
        .unwrap();

    clock.advance(Duration::from_secs(61 * 60));
    store.purge_expired_revocations(clock.now()).await.unwrap();
    // A fresh instance (nothing remembered locally) loads what the store still holds.
    let fresh = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    fresh.refresh().await.unwrap();
    let fresh_verifier: TokenVerifier = TokenVerifier::builder(
        keys,
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
    .max_lifetime(issuer.lifetime())
    .revocation(fresh)
    .clock(Arc::new(clock.clone()))
    .build()
    .unwrap();
    assert!(verifier.verify(&token).await.is_err());
    assert!(fresh_verifier.verify(&token).await.is_err());

    // Positive control: a token of another session, issued now, still works.
    let other = sessions
        .create_session_at("u1", "default", clock.now())
        .await
        .unwrap();
    let fine = issuer
        .issue(&AccessTokenRequest::new("u1", "default", "admin").session(&other.session.id))
        .unwrap()
        .token;
    fresh_verifier.verify(&fine).await.unwrap();
}
