//! One conformance suite for every store backend: memory and SQLite always, PostgreSQL when
//! `DATABASE_URL` is set. Each test is a generic function over the traits, run on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use agency_auth::api_keys::ApiKeyRecord;
use agency_auth::revocation::{RevocationEntry, RevocationTarget};
use agency_auth::sessions::{
    RefreshRotation, RefreshToken, RefreshTokenHash, RefreshTokenRecord, RotationOutcome,
    SessionRecord, SessionRevokeReason,
};
use agency_auth::store::{
    ApiKeyStore, RevocationStore, SessionStore, StoreError, UserRecord, UserStore,
    normalize_timestamp,
};
use common::{Stores, for_each_backend};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A fixed instant with sub-microsecond digits, so truncation is exercised on every write.
fn t0() -> OffsetDateTime {
    datetime!(2026-11-22 20:00:00.123456789 UTC)
}

fn user(tenant: &str, username: &str, created_at: OffsetDateTime) -> UserRecord {
    let mut user = UserRecord::new(
        tenant,
        username,
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "viewer",
    );
    user.created_at = created_at;
    user.updated_at = created_at;
    user
}

fn normalized_user(user: &UserRecord) -> UserRecord {
    UserRecord {
        created_at: normalize_timestamp(user.created_at),
        updated_at: normalize_timestamp(user.updated_at),
        ..user.clone()
    }
}

fn hash(byte: u8) -> RefreshTokenHash {
    RefreshTokenHash::from_bytes([byte; 32])
}

fn session(id: &str, user_id: &str, now: OffsetDateTime) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        tenant_id: "t1".to_owned(),
        created_at: now,
        last_refreshed_at: now,
        idle_expires_at: now + Duration::hours(1),
        expires_at: now + Duration::days(1),
        generation: 0,
        revoked_at: None,
        revoke_reason: None,
    }
}

fn first_token(
    session_id: &str,
    token_hash: RefreshTokenHash,
    now: OffsetDateTime,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash,
        session_id: session_id.to_owned(),
        generation: 0,
        issued_at: now,
        rotated_at: None,
    }
}

fn normalized_session(session: &SessionRecord) -> SessionRecord {
    SessionRecord {
        created_at: normalize_timestamp(session.created_at),
        last_refreshed_at: normalize_timestamp(session.last_refreshed_at),
        idle_expires_at: normalize_timestamp(session.idle_expires_at),
        expires_at: normalize_timestamp(session.expires_at),
        revoked_at: session.revoked_at.map(normalize_timestamp),
        ..session.clone()
    }
}

fn rotation(
    session_id: &str,
    generation: u64,
    presented: RefreshTokenHash,
    new: RefreshTokenHash,
    now: OffsetDateTime,
) -> RefreshRotation {
    RefreshRotation {
        session_id: session_id.to_owned(),
        expected_generation: generation,
        presented_hash: presented,
        new_hash: new,
        now,
        idle_expires_at: now + Duration::hours(1),
    }
}

fn api_key(id: &str, owner: &str, created_at: OffsetDateTime) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        owner_id: owner.to_owned(),
        tenant_id: "t1".to_owned(),
        name: format!("key {id}"),
        scopes: vec!["agents:read".to_owned(), "tasks:dispatch".to_owned()],
        secret_hash: vec![0xA5; 32],
        hash_key_version: 7,
        created_at,
        expires_at: Some(created_at + Duration::days(30)),
        revoked_at: None,
        last_used_at: None,
    }
}

// ---------------------------------------------------------------- users

async fn users_round_trip(store: &dyn UserStore) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let alice = user("t1", "alice", t0());
    store.create_user(&alice).await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(
        store.get_user(&alice.id).await.unwrap(),
        normalized_user(&alice)
    );
    assert_eq!(
        store.get_user_by_username("alice").await.unwrap(),
        normalized_user(&alice)
    );
    assert!(matches!(
        store.get_user("missing").await,
        Err(StoreError::NotFound)
    ));
    assert!(
        matches!(
            store.get_user_by_username("Alice").await,
            Err(StoreError::NotFound)
        ),
        "usernames compare exactly"
    );
}

async fn users_unique_username_across_tenants(store: &dyn UserStore) {
    let first = user("t1", "bob", t0());
    store.create_user(&first).await.unwrap();
    let same_name_other_tenant = user("t2", "bob", t0());
    assert!(matches!(
        store.create_user(&same_name_other_tenant).await,
        Err(StoreError::Conflict(_))
    ));
    let mut same_id = user("t1", "bobby", t0());
    same_id.id = first.id.clone();
    assert!(matches!(
        store.create_user(&same_id).await,
        Err(StoreError::Conflict(_))
    ));
    // Nothing of the refused users was written.
    assert!(matches!(
        store.get_user_by_username("bobby").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get_user(&first.id).await.unwrap().tenant_id, "t1");
}

async fn users_list_by_tenant_in_creation_order(store: &dyn UserStore) {
    let c = user("t-list", "carol", t0() + Duration::seconds(2));
    let a = user("t-list", "anna", t0());
    let other = user("t2", "otto", t0() + Duration::seconds(1));
    let b = user("t-list", "ben", t0() + Duration::seconds(1));
    for u in [&c, &a, &other, &b] {
        store.create_user(u).await.unwrap();
    }
    let names: Vec<String> = store
        .list_users_by_tenant("t-list")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["anna", "ben", "carol"]);
    assert!(
        store
            .list_users_by_tenant("nobody")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn users_updates_and_delete(store: &dyn UserStore) {
    let dave = user("t1", "dave", t0());
    store.create_user(&dave).await.unwrap();
    let later = t0() + Duration::minutes(5);

    let updated = store
        .update_user_role(&dave.id, "admin", later)
        .await
        .unwrap();
    assert_eq!(updated.role, "admin");
    assert_eq!(updated.updated_at, normalize_timestamp(later));
    assert_eq!(updated.created_at, normalize_timestamp(dave.created_at));

    let updated = store
        .update_user_password_hash(&dave.id, "$argon2id$new", later)
        .await
        .unwrap();
    assert_eq!(updated.password_hash, "$argon2id$new");
    assert_eq!(updated.role, "admin");

    let updated = store
        .set_user_disabled(&dave.id, true, later)
        .await
        .unwrap();
    assert!(updated.disabled);
    assert_eq!(store.get_user(&dave.id).await.unwrap(), updated);
    let updated = store
        .set_user_disabled(&dave.id, false, later)
        .await
        .unwrap();
    assert!(!updated.disabled);

    for result in [
        store.update_user_role("missing", "admin", later).await,
        store.update_user_password_hash("missing", "x", later).await,
        store.set_user_disabled("missing", true, later).await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound)));
    }

    let count = store.count_users().await.unwrap();
    store.delete_user(&dave.id).await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), count - 1);
    assert!(matches!(
        store.get_user(&dave.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_user(&dave.id).await,
        Err(StoreError::NotFound)
    ));
    // The username is free again.
    store.create_user(&user("t1", "dave", t0())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_store_conformance() {
    for_each_backend(|stores: Stores| async move {
        let store = stores.all.as_ref();
        users_round_trip(store).await;
        users_unique_username_across_tenants(store).await;
        users_list_by_tenant_in_creation_order(store).await;
        users_updates_and_delete(store).await;
    })
    .await;
}

// ---------------------------------------------------------------- sessions

async fn sessions_create_get_find(store: &dyn SessionStore) {
    let s = session("s-create", "u1", t0());
    store
        .create_session(&s, &first_token("s-create", hash(1), t0()))
        .await
        .unwrap();
    assert_eq!(
        store.get_session("s-create").await.unwrap(),
        normalized_session(&s)
    );
    let found = store.find_refresh_token(&hash(1)).await.unwrap();
    assert_eq!(found.session, normalized_session(&s));
    assert_eq!(found.token.generation, 0);
    assert_eq!(found.token.session_id, "s-create");
    assert_eq!(found.token.issued_at, normalize_timestamp(t0()));
    assert_eq!(found.token.rotated_at, None);
    assert!(matches!(
        store.find_refresh_token(&hash(99)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_session("missing").await,
        Err(StoreError::NotFound)
    ));
}

async fn sessions_create_is_all_or_nothing(store: &dyn SessionStore) {
    // A first token of another session is refused before anything is written.
    let lone = session("s-atomic-lone", "u1", t0());
    let result = store
        .create_session(&lone, &first_token("s-other", hash(4), t0()))
        .await;
    assert!(matches!(result, Err(StoreError::Config(_))), "{result:?}");
    assert!(matches!(
        store.get_session("s-atomic-lone").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.find_refresh_token(&hash(4)).await,
        Err(StoreError::NotFound)
    ));

    let a = session("s-atomic-a", "u1", t0());
    store
        .create_session(&a, &first_token("s-atomic-a", hash(2), t0()))
        .await
        .unwrap();
    // Same token hash for a new session: the session row must not be left behind.
    let b = session("s-atomic-b", "u1", t0());
    let result = store
        .create_session(&b, &first_token("s-atomic-b", hash(2), t0()))
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert!(matches!(
        store.get_session("s-atomic-b").await,
        Err(StoreError::NotFound)
    ));
    // Same session id with a fresh token: refused, and the token is not stored.
    let result = store
        .create_session(&a, &first_token("s-atomic-a", hash(3), t0()))
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.find_refresh_token(&hash(3)).await,
        Err(StoreError::NotFound)
    ));
}

async fn sessions_rotation_compare_and_set(store: &dyn SessionStore) {
    let s = session("s-rotate", "u1", t0());
    store
        .create_session(&s, &first_token("s-rotate", hash(10), t0()))
        .await
        .unwrap();
    let now = t0() + Duration::minutes(10);

    let RotationOutcome::Rotated(after) = store
        .rotate_refresh_token(&rotation("s-rotate", 0, hash(10), hash(11), now))
        .await
        .unwrap()
    else {
        panic!("first rotation must win");
    };
    assert_eq!(after.generation, 1);
    assert_eq!(after.last_refreshed_at, normalize_timestamp(now));
    assert_eq!(
        after.idle_expires_at,
        normalize_timestamp(now + Duration::hours(1))
    );
    assert_eq!(store.get_session("s-rotate").await.unwrap(), after);
    let old = store.find_refresh_token(&hash(10)).await.unwrap();
    assert_eq!(old.token.rotated_at, Some(normalize_timestamp(now)));
    let new = store.find_refresh_token(&hash(11)).await.unwrap();
    assert_eq!((new.token.generation, new.token.rotated_at), (1, None));

    // Replaying the same compare-and-set (old generation, old token) loses, writes nothing.
    let replay = store
        .rotate_refresh_token(&rotation("s-rotate", 0, hash(10), hash(12), now))
        .await
        .unwrap();
    assert_eq!(replay, RotationOutcome::Stale);
    assert!(matches!(
        store.find_refresh_token(&hash(12)).await,
        Err(StoreError::NotFound)
    ));
    // Right generation but a token that is not the current one: loses, writes nothing.
    let wrong_token = store
        .rotate_refresh_token(&rotation("s-rotate", 1, hash(10), hash(13), now))
        .await
        .unwrap();
    assert_eq!(wrong_token, RotationOutcome::Stale);
    assert!(matches!(
        store.find_refresh_token(&hash(13)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get_session("s-rotate").await.unwrap().generation, 1);
    // Unknown session.
    assert_eq!(
        store
            .rotate_refresh_token(&rotation("missing", 0, hash(10), hash(14), now))
            .await
            .unwrap(),
        RotationOutcome::Stale
    );
}

async fn sessions_rotation_refused_when_revoked_or_expired(store: &dyn SessionStore) {
    let revoked = session("s-rot-revoked", "u1", t0());
    store
        .create_session(&revoked, &first_token("s-rot-revoked", hash(20), t0()))
        .await
        .unwrap();
    store
        .revoke_session("s-rot-revoked", SessionRevokeReason::Logout, t0())
        .await
        .unwrap();
    let r = store
        .rotate_refresh_token(&rotation(
            "s-rot-revoked",
            0,
            hash(20),
            hash(21),
            t0() + Duration::seconds(1),
        ))
        .await
        .unwrap();
    assert_eq!(r, RotationOutcome::Stale);

    let idle = session("s-rot-idle", "u1", t0());
    store
        .create_session(&idle, &first_token("s-rot-idle", hash(22), t0()))
        .await
        .unwrap();
    let r = store
        .rotate_refresh_token(&rotation(
            "s-rot-idle",
            0,
            hash(22),
            hash(23),
            idle.idle_expires_at,
        ))
        .await
        .unwrap();
    assert_eq!(
        r,
        RotationOutcome::Stale,
        "at the idle deadline the session is over"
    );

    let mut absolute = session("s-rot-abs", "u1", t0());
    absolute.idle_expires_at = t0() + Duration::days(2);
    store
        .create_session(&absolute, &first_token("s-rot-abs", hash(24), t0()))
        .await
        .unwrap();
    let r = store
        .rotate_refresh_token(&rotation(
            "s-rot-abs",
            0,
            hash(24),
            hash(25),
            absolute.expires_at,
        ))
        .await
        .unwrap();
    assert_eq!(
        r,
        RotationOutcome::Stale,
        "at the absolute deadline the session is over"
    );
    for h in [21, 23, 25] {
        assert!(matches!(
            store.find_refresh_token(&hash(h)).await,
            Err(StoreError::NotFound)
        ));
    }
}

async fn sessions_concurrent_rotations_one_winner(store: Arc<dyn common::AllStores>) {
    let s = session("s-race", "u1", t0());
    store
        .create_session(&s, &first_token("s-race", hash(30), t0()))
        .await
        .unwrap();
    let now = t0() + Duration::seconds(5);
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let new = hash(100 + i);
            (
                new,
                store
                    .rotate_refresh_token(&rotation("s-race", 0, hash(30), new, now))
                    .await
                    .unwrap(),
            )
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (new, outcome) = task.await.unwrap();
        if let RotationOutcome::Rotated(_) = outcome {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent rotation may win");
    assert_eq!(store.get_session("s-race").await.unwrap().generation, 1);
    for i in 0..16u8 {
        let found = store.find_refresh_token(&hash(100 + i)).await;
        assert_eq!(
            found.is_ok(),
            hash(100 + i) == winners[0],
            "only the winner's token is stored"
        );
    }
}

async fn sessions_revocation(store: &dyn SessionStore) {
    for (id, h, user_id) in [
        ("s-rev-1", 40, "u-rev"),
        ("s-rev-2", 41, "u-rev"),
        ("s-rev-3", 42, "u-other"),
    ] {
        let mut s = session(id, user_id, t0() + Duration::seconds(i64::from(h)));
        s.tenant_id = "t9".into();
        store
            .create_session(&s, &first_token(id, hash(h), s.created_at))
            .await
            .unwrap();
    }
    let first = store
        .revoke_session(
            "s-rev-1",
            SessionRevokeReason::Logout,
            t0() + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(
        first.revoked_at,
        Some(normalize_timestamp(t0() + Duration::minutes(1)))
    );
    assert_eq!(first.revoke_reason, Some(SessionRevokeReason::Logout));
    // A second revocation keeps the first time and reason.
    let again = store
        .revoke_session(
            "s-rev-1",
            SessionRevokeReason::RefreshTokenReuse,
            t0() + Duration::minutes(2),
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(matches!(
        store
            .revoke_session("missing", SessionRevokeReason::Logout, t0())
            .await,
        Err(StoreError::NotFound)
    ));

    // Revoke-all touches only this user's not yet revoked sessions.
    let revoked = store
        .revoke_user_sessions(
            "u-rev",
            SessionRevokeReason::AllSessionsRevoked,
            t0() + Duration::minutes(3),
        )
        .await
        .unwrap();
    assert_eq!(
        revoked.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["s-rev-2"]
    );
    assert_eq!(
        revoked[0].revoke_reason,
        Some(SessionRevokeReason::AllSessionsRevoked)
    );
    assert_eq!(store.get_session("s-rev-1").await.unwrap(), first);
    assert!(
        store
            .get_session("s-rev-3")
            .await
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(
        store
            .revoke_user_sessions("u-rev", SessionRevokeReason::AllSessionsRevoked, t0())
            .await
            .unwrap()
            .is_empty()
    );

    let listed: Vec<String> = store
        .list_user_sessions("u-rev")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["s-rev-1", "s-rev-2"]);
}

async fn sessions_purge(store: &dyn SessionStore) {
    let mut short = session("s-purge-short", "u-purge", t0());
    short.expires_at = t0() + Duration::hours(2);
    store
        .create_session(&short, &first_token("s-purge-short", hash(50), t0()))
        .await
        .unwrap();
    store
        .rotate_refresh_token(&rotation(
            "s-purge-short",
            0,
            hash(50),
            hash(51),
            t0() + Duration::minutes(1),
        ))
        .await
        .unwrap();
    let long = session("s-purge-long", "u-purge", t0());
    store
        .create_session(&long, &first_token("s-purge-long", hash(52), t0()))
        .await
        .unwrap();

    assert_eq!(
        store
            .purge_expired_sessions(t0() + Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    let purged = store
        .purge_expired_sessions(short.expires_at)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert!(matches!(
        store.get_session("s-purge-short").await,
        Err(StoreError::NotFound)
    ));
    for h in [50, 51] {
        assert!(
            matches!(
                store.find_refresh_token(&hash(h)).await,
                Err(StoreError::NotFound)
            ),
            "tokens go with their session"
        );
    }
    assert!(store.get_session("s-purge-long").await.is_ok());
    assert!(store.find_refresh_token(&hash(52)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_store_conformance() {
    for_each_backend(|stores: Stores| async move {
        let store = stores.sessions.as_ref();
        sessions_create_get_find(store).await;
        sessions_create_is_all_or_nothing(store).await;
        sessions_rotation_compare_and_set(store).await;
        sessions_rotation_refused_when_revoked_or_expired(store).await;
        sessions_concurrent_rotations_one_winner(stores.all.clone()).await;
        sessions_revocation(store).await;
        sessions_purge(store).await;
    })
    .await;
}

// ---------------------------------------------------------------- API keys

async fn api_keys_conformance(store: &dyn ApiKeyStore) {
    let k2 = api_key("k2", "owner-1", t0() + Duration::seconds(2));
    let k1 = api_key("k1", "owner-1", t0());
    let mut other = api_key("k3", "owner-2", t0());
    other.scopes = vec![];
    other.expires_at = None;
    for key in [&k2, &k1, &other] {
        store.insert_api_key(key).await.unwrap();
    }
    let stored = store.get_api_key("k1").await.unwrap();
    assert_eq!(stored.scopes, k1.scopes);
    assert_eq!(stored.secret_hash, k1.secret_hash);
    assert_eq!(stored.hash_key_version, 7);
    assert_eq!(stored.created_at, normalize_timestamp(k1.created_at));
    assert_eq!(stored.expires_at, k1.expires_at.map(normalize_timestamp));
    assert_eq!(
        store.get_api_key("k3").await.unwrap().scopes,
        Vec::<String>::new()
    );
    assert!(matches!(
        store.insert_api_key(&k1).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.get_api_key("missing").await,
        Err(StoreError::NotFound)
    ));

    let ids: Vec<String> = store
        .list_api_keys_by_owner("owner-1")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, ["k1", "k2"]);

    let revoked = store
        .revoke_api_key("k1", t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(normalize_timestamp(t0() + Duration::hours(1)))
    );
    let again = store
        .revoke_api_key("k1", t0() + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(
        again.revoked_at, revoked.revoked_at,
        "first revocation time kept"
    );
    assert!(matches!(
        store.revoke_api_key("missing", t0()).await,
        Err(StoreError::NotFound)
    ));

    // Revoking by owner: k1 keeps its first revocation, k2 is revoked now, another owner's key
    // is untouched; a second call revokes nothing more.
    let all_at = t0() + Duration::hours(3);
    assert_eq!(
        store
            .revoke_api_keys_by_owner("owner-1", all_at)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.get_api_key("k1").await.unwrap().revoked_at,
        revoked.revoked_at
    );
    assert_eq!(
        store.get_api_key("k2").await.unwrap().revoked_at,
        Some(normalize_timestamp(all_at))
    );
    assert_eq!(store.get_api_key("k3").await.unwrap().revoked_at, None);
    assert_eq!(
        store
            .revoke_api_keys_by_owner("owner-1", all_at)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .revoke_api_keys_by_owner("nobody", all_at)
            .await
            .unwrap(),
        0
    );

    let used = t0() + Duration::minutes(30);
    store.record_api_key_used("k2", used).await.unwrap();
    store
        .record_api_key_used("k2", used - Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store.get_api_key("k2").await.unwrap().last_used_at,
        Some(normalize_timestamp(used)),
        "last use never moves back"
    );
    store
        .record_api_key_used("k2", used + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store.get_api_key("k2").await.unwrap().last_used_at,
        Some(normalize_timestamp(used + Duration::minutes(1)))
    );
    assert!(matches!(
        store.record_api_key_used("missing", used).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_store_conformance() {
    for_each_backend(|stores: Stores| async move {
        api_keys_conformance(stores.all.as_ref()).await;
    })
    .await;
}

// ---------------------------------------------------------------- revocations

fn target_key(entry: &RevocationEntry) -> String {
    match &entry.target {
        RevocationTarget::Session(id) => format!("session:{id}"),
        RevocationTarget::Token(id) => format!("token:{id}"),
        RevocationTarget::UserTokensIssuedBefore { user_id, .. } => format!("user:{user_id}"),
    }
}

async fn revocations_conformance(store: &dyn RevocationStore) {
    let before = t0() - Duration::minutes(1);
    let entries = [
        RevocationEntry::new(
            RevocationTarget::Session("s1".into()),
            t0(),
            t0() + Duration::hours(1),
        ),
        RevocationEntry::new(
            RevocationTarget::Token("j1".into()),
            t0(),
            t0() + Duration::minutes(10),
        ),
        RevocationEntry::new(
            RevocationTarget::UserTokensIssuedBefore {
                user_id: "u1".into(),
                before,
            },
            t0(),
            t0() + Duration::hours(1),
        ),
        // A session id equal to a token id is a different entry.
        RevocationEntry::new(
            RevocationTarget::Session("j1".into()),
            t0(),
            t0() + Duration::hours(1),
        ),
    ];
    for entry in &entries {
        store.add_revocation(entry).await.unwrap();
    }
    let listed = store.list_revocations(t0()).await.unwrap();
    let keys: HashSet<String> = listed.iter().map(target_key).collect();
    assert_eq!(
        keys,
        HashSet::from(["session:s1", "token:j1", "user:u1", "session:j1"].map(String::from))
    );
    let user_entry = listed.iter().find(|e| target_key(e) == "user:u1").unwrap();
    assert_eq!(
        user_entry.target,
        RevocationTarget::UserTokensIssuedBefore {
            user_id: "u1".into(),
            before: normalize_timestamp(before)
        }
    );
    assert_eq!(user_entry.created_at, normalize_timestamp(t0()));
    assert_eq!(
        user_entry.expires_at,
        normalize_timestamp(t0() + Duration::hours(1))
    );

    // Only entries in force are listed.
    let later = store
        .list_revocations(t0() + Duration::minutes(10))
        .await
        .unwrap();
    assert!(
        !later.iter().any(|e| target_key(e) == "token:j1"),
        "expires_at is exclusive"
    );
    assert_eq!(later.len(), 3);

    // Merging: the later expiry and the later `before` win; an earlier one changes nothing.
    let later_before = t0() + Duration::seconds(30);
    store
        .add_revocation(&RevocationEntry::new(
            RevocationTarget::UserTokensIssuedBefore {
                user_id: "u1".into(),
                before: later_before,
            },
            t0(),
            t0() + Duration::hours(3),
        ))
        .await
        .unwrap();
    store
        .add_revocation(&RevocationEntry::new(
            RevocationTarget::UserTokensIssuedBefore {
                user_id: "u1".into(),
                before,
            },
            t0(),
            t0() + Duration::hours(2),
        ))
        .await
        .unwrap();
    store
        .add_revocation(&RevocationEntry::new(
            RevocationTarget::Session("s1".into()),
            t0(),
            t0() + Duration::minutes(5),
        ))
        .await
        .unwrap();
    let merged = store.list_revocations(t0()).await.unwrap();
    assert_eq!(merged.len(), 4, "merged, not duplicated");
    let user_entry = merged.iter().find(|e| target_key(e) == "user:u1").unwrap();
    assert_eq!(
        user_entry.expires_at,
        normalize_timestamp(t0() + Duration::hours(3))
    );
    assert_eq!(
        user_entry.target,
        RevocationTarget::UserTokensIssuedBefore {
            user_id: "u1".into(),
            before: normalize_timestamp(later_before)
        }
    );
    let session_entry = merged
        .iter()
        .find(|e| target_key(e) == "session:s1")
        .unwrap();
    assert_eq!(
        session_entry.expires_at,
        normalize_timestamp(t0() + Duration::hours(1))
    );

    // Purge removes exactly the expired ones.
    assert_eq!(store.purge_expired_revocations(t0()).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_expired_revocations(t0() + Duration::hours(1))
            .await
            .unwrap(),
        3
    );
    let left = store.list_revocations(t0()).await.unwrap();
    assert_eq!(left.iter().map(target_key).collect::<Vec<_>>(), ["user:u1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_store_conformance() {
    for_each_backend(|stores: Stores| async move {
        revocations_conformance(stores.all.as_ref()).await;
    })
    .await;
}

/// Errors carry no bound values: a duplicate username is reported without the username.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_do_not_echo_values() {
    for_each_backend(|stores: Stores| async move {
        let secret_name = "very-secret-username-4711";
        stores
            .all
            .create_user(&user("t1", secret_name, t0()))
            .await
            .unwrap();
        let error = stores
            .all
            .create_user(&user("t1", secret_name, t0()))
            .await
            .unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(secret_name), "{shown}");
        let token = RefreshToken::generate().unwrap();
        let shown = format!("{:?}", stores.all.find_refresh_token(&token.hash()).await);
        assert!(!shown.contains(&token.expose_secret()[3..]));
    })
    .await;
}

/// An in-memory SQLite database lives as long as the store: the pool keeps its one connection.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_in_memory_database_keeps_its_data() {
    let store = agency_auth::store::SqliteStore::connect("sqlite::memory:")
        .await
        .unwrap();
    let alice = user("t1", "alice", t0());
    store.create_user(&alice).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        store.get_user(&alice.id).await.unwrap(),
        normalized_user(&alice)
    );
    users_unique_username_across_tenants(&store).await;
}

/// Invalid connection settings are configuration errors that do not echo the URL.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_invalid_schema_name_is_refused_before_connecting() {
    let error = agency_auth::store::PostgresStore::connect_with_schema(
        "postgres://user:hunter2@127.0.0.1:1/db",
        "x\"; DROP SCHEMA public; --",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, StoreError::Config(_)), "{error:?}");
    assert!(!format!("{error}").contains("hunter2"));
}
