//! Property tests of the refresh chain: whatever its length, only the newest token works, and
//! presenting any older one revokes the whole family.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use agency_auth::revocation::{
    CachedRevocationChecker, RevocationCacheConfig, RevocationCheck, RevocationQuery,
};
use agency_auth::sessions::{SessionConfig, SessionError, SessionManager};
use agency_auth::store::MemoryStore;
use proptest::prelude::*;
use time::OffsetDateTime;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn manager() -> (SessionManager, Arc<CachedRevocationChecker>) {
    let store = Arc::new(MemoryStore::new());
    let checker = Arc::new(
        CachedRevocationChecker::new(store.clone(), RevocationCacheConfig::default()).unwrap(),
    );
    checker.refresh().await.unwrap();
    (
        SessionManager::new(store, checker.clone(), SessionConfig::default()).unwrap(),
        checker,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn only_the_newest_token_of_a_chain_works(length in 1usize..12, replay in any::<prop::sample::Index>()) {
        runtime().block_on(async {
            let (sessions, checker) = manager().await;
            let login = sessions.create_session("u1", "t1").await.unwrap();
            let sid = login.session.id.clone();
            let mut chain = vec![login.refresh_token.expose_secret().to_owned()];
            for _ in 0..length {
                let next = sessions.refresh(chain.last().unwrap()).await.unwrap();
                chain.push(next.refresh_token.expose_secret().to_owned());
            }
            // Replay any older token: reuse, family revoked.
            let old = &chain[replay.index(chain.len() - 1)];
            match sessions.refresh(old).await {
                Err(SessionError::RefreshTokenReuse { session_id, .. }) => prop_assert_eq!(&session_id, &sid),
                other => prop_assert!(false, "expected reuse, got {:?}", other),
            }
            // Now nothing works, not even the newest, and access tokens of the session are revoked.
            for token in &chain {
                let result = sessions.refresh(token).await;
                prop_assert!(
                    matches!(result, Err(SessionError::SessionRevoked { .. })),
                    "token still usable after reuse detection: {:?}",
                    result
                );
            }
            let query = RevocationQuery { subject: "u1", session_id: Some(&sid), token_id: "j", issued_at: OffsetDateTime::now_utc() };
            prop_assert!(checker.is_revoked(&query).await.unwrap());
            Ok(())
        })?;
    }

    #[test]
    fn an_untouched_chain_keeps_working(length in 1usize..12) {
        runtime().block_on(async {
            let (sessions, _) = manager().await;
            let mut current = sessions.create_session("u1", "t1").await.unwrap();
            for generation in 1..=length as u64 {
                current = sessions.refresh(current.refresh_token.expose_secret()).await.unwrap();
                prop_assert_eq!(current.session.generation, generation);
            }
            prop_assert!(current.session.revoked_at.is_none());
            Ok(())
        })?;
    }

    #[test]
    fn arbitrary_presented_strings_are_invalid_tokens(presented in ".{0,120}") {
        runtime().block_on(async {
            let (sessions, _) = manager().await;
            let login = sessions.create_session("u1", "t1").await.unwrap();
            prop_assume!(presented != login.refresh_token.expose_secret());
            prop_assert!(matches!(sessions.refresh(&presented).await, Err(SessionError::InvalidRefreshToken)));
            prop_assert!(sessions.get_session(&login.session.id).await.unwrap().revoked_at.is_none());
            Ok(())
        })?;
    }
}
