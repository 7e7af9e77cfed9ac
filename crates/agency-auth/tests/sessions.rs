//! Sessions, refresh-token rotation and revocation, on every store backend. Each adversarial
//! test is named after the attack it performs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use agency_auth::revocation::{
    CachedRevocationChecker, RevocationCacheConfig, RevocationCheck, RevocationQuery,
};
use agency_auth::sessions::{
    IssuedSession, SessionConfig, SessionError, SessionExpiry, SessionManager, SessionRevokeReason,
};
use common::{Stores, for_each_backend};
use time::{Duration, OffsetDateTime};

async fn setup(
    stores: &Stores,
    config: SessionConfig,
) -> (SessionManager, Arc<CachedRevocationChecker>) {
    let checker = Arc::new(
        CachedRevocationChecker::new(stores.revocations.clone(), RevocationCacheConfig::default())
            .unwrap(),
    );
    checker.refresh().await.unwrap();
    let manager = SessionManager::new(stores.sessions.clone(), checker.clone(), config).unwrap();
    (manager, checker)
}

fn text(issued: &IssuedSession) -> String {
    issued.refresh_token.expose_secret().to_owned()
}

fn access_query<'a>(
    user_id: &'a str,
    session_id: &'a str,
    issued_at: OffsetDateTime,
) -> RevocationQuery<'a> {
    RevocationQuery {
        subject: user_id,
        session_id: Some(session_id),
        token_id: "jti-1",
        issued_at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_refresh_rotates_the_token() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, _) = setup(&stores, SessionConfig::default()).await;
        let login = sessions.create_session("u1", "t1").await.unwrap();
        assert_eq!(login.session.generation, 0);
        assert_eq!(login.session.user_id, "u1");
        assert_eq!(login.session.tenant_id, "t1");
        let refreshed = sessions.refresh(&text(&login)).await.unwrap();
        assert_eq!(refreshed.session.id, login.session.id);
        assert_eq!(refreshed.session.generation, 1);
        assert_ne!(text(&refreshed), text(&login));
        let again = sessions.refresh(&text(&refreshed)).await.unwrap();
        assert_eq!(again.session.generation, 2);
        assert_eq!(sessions.list_active_sessions("u1").await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_replay_after_rotation_revokes_family() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, checker) = setup(&stores, SessionConfig::default()).await;
        let login = sessions.create_session("victim", "t1").await.unwrap();
        let stolen = text(&login);
        let legit = sessions.refresh(&stolen).await.unwrap();

        // The attacker replays the stolen, already rotated token.
        match sessions.refresh(&stolen).await {
            Err(SessionError::RefreshTokenReuse {
                session_id,
                user_id,
                tenant_id,
            }) => {
                assert_eq!(session_id, login.session.id);
                assert_eq!(user_id, "victim");
                assert_eq!(tenant_id, "t1");
            }
            other => panic!("expected reuse detection, got {other:?}"),
        }
        // The whole family is dead: the legitimate newest token too.
        assert!(matches!(
            sessions.refresh(&text(&legit)).await,
            Err(SessionError::SessionRevoked {
                reason: Some(SessionRevokeReason::RefreshTokenReuse),
                ..
            })
        ));
        // And the session's access tokens fail from the next request.
        let query = access_query("victim", &login.session.id, OffsetDateTime::now_utc());
        assert!(checker.is_revoked(&query).await.unwrap());
        let stored = sessions.get_session(&login.session.id).await.unwrap();
        assert_eq!(
            stored.revoke_reason,
            Some(SessionRevokeReason::RefreshTokenReuse)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stolen_refresh_token_used_after_logout_fails() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, checker) = setup(&stores, SessionConfig::default()).await;
        let login = sessions.create_session("u1", "t1").await.unwrap();
        let other = sessions.create_session("u1", "t1").await.unwrap();
        let issued_at = OffsetDateTime::now_utc();
        assert!(
            !checker
                .is_revoked(&access_query("u1", &login.session.id, issued_at))
                .await
                .unwrap()
        );

        let out = sessions.logout(&login.session.id).await.unwrap();
        assert_eq!(out.revoke_reason, Some(SessionRevokeReason::Logout));
        assert!(matches!(
            sessions.refresh(&text(&login)).await,
            Err(SessionError::SessionRevoked { .. })
        ));
        // Access tokens of that session fail from the next request; other sessions are untouched.
        assert!(
            checker
                .is_revoked(&access_query("u1", &login.session.id, issued_at))
                .await
                .unwrap()
        );
        assert!(
            !checker
                .is_revoked(&access_query("u1", &other.session.id, issued_at))
                .await
                .unwrap()
        );
        assert!(sessions.refresh(&text(&other)).await.is_ok());
        // Logout is idempotent and keeps the first revocation.
        assert_eq!(
            sessions.logout(&login.session.id).await.unwrap().revoked_at,
            out.revoked_at
        );
        assert!(matches!(
            sessions.logout("no-such-session").await,
            Err(SessionError::SessionNotFound)
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_double_refresh_cannot_both_win() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, _) = setup(&stores, SessionConfig::default()).await;
        let sessions = Arc::new(sessions);
        let login = sessions.create_session("u1", "t1").await.unwrap();
        let presented = text(&login);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let sessions = sessions.clone();
            let presented = presented.clone();
            tasks.push(tokio::spawn(
                async move { sessions.refresh(&presented).await },
            ));
        }
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                // Without a grace, a losing concurrent refresh is a reuse: the family is revoked.
                Err(
                    SessionError::RefreshTokenReuse { .. } | SessionError::SessionRevoked { .. },
                ) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(winners, 1, "exactly one concurrent refresh wins");
        assert!(
            sessions
                .get_session(&login.session.id)
                .await
                .unwrap()
                .revoked_at
                .is_some()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_double_refresh_within_grace_gets_retryable_error() {
    for_each_backend(|stores: Stores| async move {
        let config =
            SessionConfig::default().with_concurrent_refresh_grace(StdDuration::from_secs(10));
        let (sessions, _) = setup(&stores, config).await;
        let sessions = Arc::new(sessions);
        let login = sessions.create_session("u1", "t1").await.unwrap();
        let presented = text(&login);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let sessions = sessions.clone();
            let presented = presented.clone();
            tasks.push(tokio::spawn(
                async move { sessions.refresh(&presented).await },
            ));
        }
        let mut winner = None;
        for task in tasks {
            match task.await.unwrap() {
                Ok(issued) => assert!(winner.replace(issued).is_none(), "two refreshes won"),
                Err(error @ SessionError::ConcurrentRefresh { .. }) => {
                    assert!(error.is_retryable())
                }
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        let winner = winner.expect("one refresh wins");
        assert!(
            sessions
                .get_session(&login.session.id)
                .await
                .unwrap()
                .revoked_at
                .is_none()
        );
        assert!(
            sessions.refresh(&text(&winner)).await.is_ok(),
            "the winner's token still works"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_window_boundary_both_sides() {
    for_each_backend(|stores: Stores| async move {
        let grace = Duration::seconds(10);
        let config =
            SessionConfig::default().with_concurrent_refresh_grace(StdDuration::from_secs(10));
        let (sessions, _) = setup(&stores, config).await;
        let t = OffsetDateTime::now_utc();
        let rotated_at = t + Duration::minutes(1);

        // Inside the grace: the previous token gets a retryable error and nothing is revoked.
        let inside = sessions.create_session_at("u1", "t1", t).await.unwrap();
        let next = sessions
            .refresh_at(&text(&inside), rotated_at)
            .await
            .unwrap();
        let just_inside = rotated_at + grace - Duration::milliseconds(1);
        assert!(matches!(
            sessions.refresh_at(&text(&inside), just_inside).await,
            Err(SessionError::ConcurrentRefresh { .. })
        ));
        assert!(sessions.refresh_at(&text(&next), just_inside).await.is_ok());

        // At the end of the grace: reuse, the family is revoked.
        let outside = sessions.create_session_at("u2", "t1", t).await.unwrap();
        let next = sessions
            .refresh_at(&text(&outside), rotated_at)
            .await
            .unwrap();
        assert!(matches!(
            sessions
                .refresh_at(&text(&outside), rotated_at + grace)
                .await,
            Err(SessionError::RefreshTokenReuse { .. })
        ));
        assert!(matches!(
            sessions.refresh_at(&text(&next), rotated_at + grace).await,
            Err(SessionError::SessionRevoked { .. })
        ));

        // Only the immediately previous token is covered: two generations back is reuse at once.
        let older = sessions.create_session_at("u3", "t1", t).await.unwrap();
        let first = sessions
            .refresh_at(&text(&older), rotated_at)
            .await
            .unwrap();
        let _second = sessions
            .refresh_at(&text(&first), rotated_at)
            .await
            .unwrap();
        assert!(matches!(
            sessions
                .refresh_at(&text(&older), rotated_at + Duration::seconds(1))
                .await,
            Err(SessionError::RefreshTokenReuse { .. })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_idle_session_refresh_fails() {
    for_each_backend(|stores: Stores| async move {
        let config = SessionConfig::default()
            .with_idle_lifetime(StdDuration::from_secs(3600))
            .with_absolute_lifetime(StdDuration::from_secs(24 * 3600));
        let (sessions, _) = setup(&stores, config).await;
        let t = OffsetDateTime::now_utc();
        let login = sessions.create_session_at("u1", "t1", t).await.unwrap();
        assert_eq!(
            login.refresh_token_expires_at(),
            login.session.created_at + Duration::hours(1)
        );

        // One microsecond before the idle deadline: works, and moves the deadline.
        let before = login.session.idle_expires_at - Duration::microseconds(1);
        let refreshed = sessions.refresh_at(&text(&login), before).await.unwrap();
        assert_eq!(
            refreshed.session.idle_expires_at,
            before + Duration::hours(1)
        );

        // At the new idle deadline: expired.
        let at = refreshed.session.idle_expires_at;
        assert!(matches!(
            sessions.refresh_at(&text(&refreshed), at).await,
            Err(SessionError::SessionExpired {
                expiry: SessionExpiry::Idle,
                ..
            })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_lifetime_ends_an_active_session() {
    for_each_backend(|stores: Stores| async move {
        let config = SessionConfig::default()
            .with_idle_lifetime(StdDuration::from_secs(2 * 3600))
            .with_absolute_lifetime(StdDuration::from_secs(3 * 3600));
        let (sessions, _) = setup(&stores, config).await;
        let t = OffsetDateTime::now_utc();
        let login = sessions.create_session_at("u1", "t1", t).await.unwrap();
        let r1 = sessions
            .refresh_at(&text(&login), t + Duration::minutes(110))
            .await
            .unwrap();
        // The idle deadline is capped by the absolute one.
        assert_eq!(r1.session.idle_expires_at, login.session.expires_at);
        let just_before = login.session.expires_at - Duration::microseconds(1);
        let r2 = sessions.refresh_at(&text(&r1), just_before).await.unwrap();
        assert!(matches!(
            sessions
                .refresh_at(&text(&r2), login.session.expires_at)
                .await,
            Err(SessionError::SessionExpired {
                expiry: SessionExpiry::Absolute,
                ..
            })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_from_another_session_cannot_touch_this_session() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, checker) = setup(&stores, SessionConfig::default()).await;
        let alice = sessions.create_session("alice", "t1").await.unwrap();
        let mallory = sessions.create_session("mallory", "t2").await.unwrap();
        // Mallory's token only ever yields Mallory's session.
        let refreshed = sessions.refresh(&text(&mallory)).await.unwrap();
        assert_eq!(refreshed.session.id, mallory.session.id);
        assert_eq!(refreshed.session.user_id, "mallory");
        assert_eq!(refreshed.session.tenant_id, "t2");
        // Replaying Mallory's own rotated token revokes only Mallory's family.
        assert!(matches!(sessions.refresh(&text(&mallory)).await, Err(SessionError::RefreshTokenReuse { user_id, .. }) if user_id == "mallory"));
        let now = OffsetDateTime::now_utc();
        assert!(!checker.is_revoked(&access_query("alice", &alice.session.id, now)).await.unwrap());
        // Alice's session never moved and her token still works.
        assert_eq!(sessions.get_session(&alice.session.id).await.unwrap().generation, 0);
        assert!(sessions.refresh(&text(&alice)).await.is_ok());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_refresh_token_string_is_refused_without_side_effects() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, _) = setup(&stores, SessionConfig::default()).await;
        let login = sessions.create_session("u1", "t1").await.unwrap();
        let original = text(&login);
        let mut flipped: Vec<u8> = original.clone().into_bytes();
        let last = flipped.len() - 5;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let tampered = [
            flipped,
            original[..original.len() - 1].to_owned(),
            format!("{original}A"),
            original.to_uppercase(),
            original.replacen("rt_", "rt-", 1),
            format!(" {original}"),
            String::new(),
            "rt_".repeat(10_000),
        ];
        for candidate in &tampered {
            assert!(
                matches!(
                    sessions.refresh(candidate).await,
                    Err(SessionError::InvalidRefreshToken)
                ),
                "tampered token accepted: {candidate:.60}"
            );
        }
        // Garbage does not revoke or advance the real session.
        let session = sessions.get_session(&login.session.id).await.unwrap();
        assert!(session.revoked_at.is_none());
        assert_eq!(session.generation, 0);
        assert!(sessions.refresh(&original).await.is_ok());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_presented_as_refresh_token_is_refused() {
    let claims = serde_json::json!({
        "sub": "u1", "sid": "s1", "exp": 4_102_444_800u64, "iat": 1_700_000_000u64,
        "iss": "agency-swarm", "aud": "swarm-api", "jti": "j1",
    });
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
    )
    .unwrap();
    for_each_backend(move |stores: Stores| {
        let jwt = jwt.clone();
        async move {
            let (sessions, _) = setup(&stores, SessionConfig::default()).await;
            let login = sessions.create_session("u1", "t1").await.unwrap();
            assert!(matches!(
                sessions.refresh(&jwt).await,
                Err(SessionError::InvalidRefreshToken)
            ));
            // A JWT with the refresh token appended or embedded is not a refresh token either.
            let smuggled = format!("{jwt}.{}", text(&login));
            assert!(matches!(
                sessions.refresh(&smuggled).await,
                Err(SessionError::InvalidRefreshToken)
            ));
            assert!(sessions.refresh(&text(&login)).await.is_ok());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_all_revokes_tokens_issued_before_and_spares_later_logins() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, checker) = setup(&stores, SessionConfig::default()).await;
        let first = sessions.create_session("u1", "t1").await.unwrap();
        let second = sessions.create_session("u1", "t1").await.unwrap();
        let bystander = sessions.create_session("u2", "t1").await.unwrap();
        let issued_before = OffsetDateTime::now_utc();

        let revoked = sessions.revoke_all_user_sessions("u1").await.unwrap();
        let mut ids: Vec<&str> = revoked.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        let mut expected = [first.session.id.as_str(), second.session.id.as_str()];
        expected.sort_unstable();
        assert_eq!(ids, expected);

        // Tokens issued before: revoked, with or without a session id.
        for sid in [&first.session.id, &second.session.id] {
            assert!(
                checker
                    .is_revoked(&access_query("u1", sid, issued_before))
                    .await
                    .unwrap()
            );
        }
        let sessionless = RevocationQuery {
            subject: "u1",
            session_id: None,
            token_id: "j",
            issued_at: issued_before - Duration::seconds(5),
        };
        assert!(checker.is_revoked(&sessionless).await.unwrap());
        // Refresh tokens of those sessions are dead.
        for login in [&first, &second] {
            assert!(matches!(
                sessions.refresh(&text(login)).await,
                Err(SessionError::SessionRevoked { .. })
            ));
        }

        // A login right after (even within the same second) works, and so do its tokens.
        let again = sessions.create_session("u1", "t1").await.unwrap();
        let issued_after = OffsetDateTime::now_utc();
        assert!(
            !checker
                .is_revoked(&access_query("u1", &again.session.id, issued_after))
                .await
                .unwrap()
        );
        assert!(sessions.refresh(&text(&again)).await.is_ok());
        let later_sessionless = RevocationQuery {
            subject: "u1",
            session_id: None,
            token_id: "j2",
            issued_at: issued_after + Duration::seconds(1),
        };
        assert!(!checker.is_revoked(&later_sessionless).await.unwrap());

        // Other users are untouched.
        assert!(
            !checker
                .is_revoked(&access_query("u2", &bystander.session.id, issued_before))
                .await
                .unwrap()
        );
        assert!(sessions.refresh(&text(&bystander)).await.is_ok());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_other_instances_at_their_next_refresh() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, local) = setup(&stores, SessionConfig::default()).await;
        let remote = CachedRevocationChecker::new(
            stores.revocations.clone(),
            RevocationCacheConfig::default(),
        )
        .unwrap();
        remote.refresh().await.unwrap();
        let login = sessions.create_session("u1", "t1").await.unwrap();
        let query = access_query("u1", &login.session.id, OffsetDateTime::now_utc());

        sessions.logout(&login.session.id).await.unwrap();
        assert!(
            local.is_revoked(&query).await.unwrap(),
            "this instance: at once"
        );
        assert!(
            !remote.is_revoked(&query).await.unwrap(),
            "other instance: not before its refresh (the documented window)"
        );
        remote.refresh().await.unwrap();
        assert!(
            remote.is_revoked(&query).await.unwrap(),
            "other instance: after its refresh"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_refresher_picks_up_remote_revocations() {
    for_each_backend(|stores: Stores| async move {
        let (sessions, _) = setup(&stores, SessionConfig::default()).await;
        let config = RevocationCacheConfig::default()
            .with_refresh_interval(StdDuration::from_millis(50))
            .with_max_staleness(StdDuration::from_secs(5));
        let remote =
            Arc::new(CachedRevocationChecker::new(stores.revocations.clone(), config).unwrap());
        let _refresher = remote.spawn_refresher();
        let login = sessions.create_session("u1", "t1").await.unwrap();
        sessions.logout(&login.session.id).await.unwrap();
        let query = access_query("u1", &login.session.id, OffsetDateTime::now_utc());
        // Poll (not a timing assertion): the refresher must get there eventually.
        let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
        loop {
            if matches!(remote.is_revoked(&query).await, Ok(true)) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "background refresh never saw the logout"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn purge_expired_runs_on_the_manager() {
    let store = Arc::new(agency_auth::store::MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    checker.refresh().await.unwrap();
    let config = SessionConfig::default()
        .with_absolute_lifetime(StdDuration::from_secs(1))
        .with_idle_lifetime(StdDuration::from_secs(1));
    let sessions = SessionManager::new(store, checker, config).unwrap();
    let old = sessions
        .create_session_at("u1", "t1", OffsetDateTime::now_utc() - Duration::hours(1))
        .await
        .unwrap();
    let fresh = sessions
        .create_session_at("u1", "t1", OffsetDateTime::now_utc() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(sessions.purge_expired().await.unwrap(), 1);
    assert!(matches!(
        sessions.get_session(&old.session.id).await,
        Err(SessionError::SessionNotFound)
    ));
    assert!(matches!(
        sessions.refresh(&text(&old)).await,
        Err(SessionError::InvalidRefreshToken)
    ));
    assert!(sessions.get_session(&fresh.session.id).await.is_ok());
}

#[test]
fn invalid_session_configs_are_refused() {
    let store = Arc::new(agency_auth::store::MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    for config in [
        SessionConfig::default().with_absolute_lifetime(StdDuration::ZERO),
        SessionConfig::default().with_idle_lifetime(StdDuration::ZERO),
        SessionConfig::default().with_concurrent_refresh_grace(StdDuration::from_secs(61)),
        SessionConfig::default().with_absolute_lifetime(StdDuration::from_secs(400 * 24 * 3600)),
    ] {
        assert!(matches!(
            SessionManager::new(store.clone(), checker.clone(), config),
            Err(SessionError::InvalidConfig(_))
        ));
    }
}

/// A revocation store that is down.
struct UnreachableStore;

#[async_trait::async_trait]
impl agency_auth::store::RevocationStore for UnreachableStore {
    async fn add_revocation(
        &self,
        _: &agency_auth::revocation::RevocationEntry,
    ) -> Result<(), agency_auth::store::StoreError> {
        Err(agency_auth::store::StoreError::Backend(
            "connection refused".into(),
        ))
    }
    async fn list_revocations(
        &self,
        _: OffsetDateTime,
    ) -> Result<Vec<agency_auth::revocation::RevocationEntry>, agency_auth::store::StoreError> {
        Err(agency_auth::store::StoreError::Backend(
            "connection refused".into(),
        ))
    }
    async fn purge_expired_revocations(
        &self,
        _: OffsetDateTime,
    ) -> Result<u64, agency_auth::store::StoreError> {
        Err(agency_auth::store::StoreError::Backend(
            "connection refused".into(),
        ))
    }
}

#[tokio::test]
async fn revocation_store_down_at_start_fails_closed() {
    let checker =
        CachedRevocationChecker::new(Arc::new(UnreachableStore), RevocationCacheConfig::default())
            .unwrap();
    assert!(checker.refresh().await.is_err());
    let query = access_query("u1", "s1", OffsetDateTime::now_utc());
    assert!(
        checker.is_revoked(&query).await.is_err(),
        "unknown state must not read as 'not revoked'"
    );
    // A revocation that cannot be stored still applies here, and the caller is told.
    assert!(checker.revoke_session("s1").await.is_err());
}

#[tokio::test]
async fn logout_reports_a_revocation_that_could_not_be_shared() {
    let store = Arc::new(agency_auth::store::MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(Arc::new(UnreachableStore), RevocationCacheConfig::default())
            .unwrap(),
    );
    let sessions = SessionManager::new(store, checker, SessionConfig::default()).unwrap();
    let login = sessions.create_session("u1", "t1").await.unwrap();
    let error = sessions.logout(&login.session.id).await.unwrap_err();
    assert!(
        matches!(error, SessionError::Revocation(_)) && error.is_retryable(),
        "{error:?}"
    );
    // The session itself is revoked: its refresh token is dead.
    assert!(matches!(
        sessions.refresh(&text(&login)).await,
        Err(SessionError::SessionRevoked { .. })
    ));
}
