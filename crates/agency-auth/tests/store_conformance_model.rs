//! Model-based property test: random sequences of store operations give identical
//! results on the memory store (the model) and on SQLite (and PostgreSQL when `DATABASE_URL` is
//! set), so the backends cannot drift apart on edge cases the example-based suite misses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "sqlite")]

mod common;

use agency_auth::api_keys::ApiKeyRecord;
use agency_auth::revocation::{RevocationEntry, RevocationTarget};
use agency_auth::sessions::{
    RefreshRotation, RefreshTokenHash, RefreshTokenRecord, SessionRecord, SessionRevokeReason,
};
use agency_auth::store::{MemoryStore, SqliteStore, StoreError, UserRecord};
use common::AllStores;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone)]
enum Op {
    Create {
        sid: u8,
        user: u8,
        hash: u8,
        minutes: i64,
    },
    Rotate {
        sid: u8,
        generation: u64,
        presented: u8,
        new: u8,
        minutes: i64,
    },
    Revoke {
        sid: u8,
        minutes: i64,
    },
    RevokeUser {
        user: u8,
        minutes: i64,
    },
    Purge {
        hours: i64,
    },
    Find {
        hash: u8,
    },
    Get {
        sid: u8,
    },
    List {
        user: u8,
    },
    CreateUser {
        id: u8,
        name: u8,
        tenant: u8,
        minutes: i64,
    },
    UserByName {
        name: u8,
    },
    UpdateRole {
        id: u8,
        role: u8,
        minutes: i64,
    },
    SetDisabled {
        id: u8,
        disabled: bool,
        minutes: i64,
    },
    DeleteUser {
        id: u8,
    },
    ListUsers {
        tenant: u8,
    },
    CountUsers,
    InsertKey {
        id: u8,
        owner: u8,
        minutes: i64,
    },
    RevokeKey {
        id: u8,
        minutes: i64,
    },
    KeyUsed {
        id: u8,
        minutes: i64,
    },
    ListKeys {
        owner: u8,
    },
    AddRevocation {
        kind: u8,
        subject: u8,
        before: i64,
        expires: i64,
    },
    ListRevocations {
        minutes: i64,
    },
    PurgeRevocations {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, 0u8..2, 0u8..8, 0i64..30).prop_map(|(sid, user, hash, minutes)| Op::Create {
            sid,
            user,
            hash,
            minutes
        }),
        (0u8..3, 0u64..3, 0u8..8, 0u8..8, 0i64..120).prop_map(
            |(sid, generation, presented, new, minutes)| Op::Rotate {
                sid,
                generation,
                presented,
                new,
                minutes
            }
        ),
        (0u8..3, 0i64..120).prop_map(|(sid, minutes)| Op::Revoke { sid, minutes }),
        (0u8..2, 0i64..120).prop_map(|(user, minutes)| Op::RevokeUser { user, minutes }),
        (0i64..48).prop_map(|hours| Op::Purge { hours }),
        (0u8..8).prop_map(|hash| Op::Find { hash }),
        (0u8..3).prop_map(|sid| Op::Get { sid }),
        (0u8..2).prop_map(|user| Op::List { user }),
        (0u8..3, 0u8..3, 0u8..2, 0i64..30).prop_map(|(id, name, tenant, minutes)| Op::CreateUser {
            id,
            name,
            tenant,
            minutes
        }),
        (0u8..3).prop_map(|name| Op::UserByName { name }),
        (0u8..3, 0u8..3, 0i64..60).prop_map(|(id, role, minutes)| Op::UpdateRole {
            id,
            role,
            minutes
        }),
        (0u8..3, any::<bool>(), 0i64..60).prop_map(|(id, disabled, minutes)| Op::SetDisabled {
            id,
            disabled,
            minutes
        }),
        (0u8..3).prop_map(|id| Op::DeleteUser { id }),
        (0u8..2).prop_map(|tenant| Op::ListUsers { tenant }),
        Just(Op::CountUsers),
        (0u8..3, 0u8..2, 0i64..30).prop_map(|(id, owner, minutes)| Op::InsertKey {
            id,
            owner,
            minutes
        }),
        (0u8..3, 0i64..60).prop_map(|(id, minutes)| Op::RevokeKey { id, minutes }),
        (0u8..3, 0i64..60).prop_map(|(id, minutes)| Op::KeyUsed { id, minutes }),
        (0u8..2).prop_map(|owner| Op::ListKeys { owner }),
        (0u8..3, 0u8..2, -30i64..30, 0i64..120).prop_map(|(kind, subject, before, expires)| {
            Op::AddRevocation {
                kind,
                subject,
                before,
                expires,
            }
        }),
        (0i64..120).prop_map(|minutes| Op::ListRevocations { minutes }),
        (0i64..120).prop_map(|minutes| Op::PurgeRevocations { minutes }),
    ]
}

fn t0() -> OffsetDateTime {
    datetime!(2026-11-22 20:00:00.5 UTC)
}

fn hash(byte: u8) -> RefreshTokenHash {
    RefreshTokenHash::from_bytes([byte; 32])
}

fn error_kind(error: &StoreError) -> &'static str {
    match error {
        StoreError::NotFound => "not found",
        StoreError::Conflict(_) => "conflict",
        StoreError::Backend(_) => "backend",
        StoreError::Config(_) => "config",
        _ => "other",
    }
}

/// Applies one operation and renders its outcome comparably (errors by kind).
async fn apply(store: &dyn AllStores, op: &Op) -> String {
    fn show<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
        match result {
            Ok(value) => format!("ok {value:?}"),
            Err(error) => format!("err {}", error_kind(&error)),
        }
    }
    match *op {
        Op::Create {
            sid,
            user,
            hash: h,
            minutes,
        } => {
            let now = t0() + Duration::minutes(minutes);
            let session = SessionRecord {
                id: format!("s{sid}"),
                user_id: format!("u{user}"),
                tenant_id: "t".into(),
                created_at: now,
                last_refreshed_at: now,
                idle_expires_at: now + Duration::hours(1),
                expires_at: now + Duration::hours(24),
                generation: 0,
                revoked_at: None,
                revoke_reason: None,
            };
            let token = RefreshTokenRecord {
                token_hash: hash(h),
                session_id: session.id.clone(),
                generation: 0,
                issued_at: now,
                rotated_at: None,
            };
            show(store.create_session(&session, &token).await)
        }
        Op::Rotate {
            sid,
            generation,
            presented,
            new,
            minutes,
        } => {
            let now = t0() + Duration::minutes(minutes);
            let rotation = RefreshRotation {
                session_id: format!("s{sid}"),
                expected_generation: generation,
                presented_hash: hash(presented),
                new_hash: hash(new),
                now,
                idle_expires_at: now + Duration::hours(1),
            };
            show(store.rotate_refresh_token(&rotation).await)
        }
        Op::Revoke { sid, minutes } => show(
            store
                .revoke_session(
                    &format!("s{sid}"),
                    SessionRevokeReason::Logout,
                    t0() + Duration::minutes(minutes),
                )
                .await,
        ),
        Op::RevokeUser { user, minutes } => show(
            store
                .revoke_user_sessions(
                    &format!("u{user}"),
                    SessionRevokeReason::AllSessionsRevoked,
                    t0() + Duration::minutes(minutes),
                )
                .await,
        ),
        Op::Purge { hours } => show(
            store
                .purge_expired_sessions(t0() + Duration::hours(hours))
                .await,
        ),
        Op::Find { hash: h } => show(store.find_refresh_token(&hash(h)).await),
        Op::Get { sid } => show(store.get_session(&format!("s{sid}")).await),
        Op::List { user } => show(store.list_user_sessions(&format!("u{user}")).await),
        Op::CreateUser {
            id,
            name,
            tenant,
            minutes,
        } => {
            let mut user = UserRecord::new(
                format!("t{tenant}"),
                format!("name{name}"),
                "$argon2id$x",
                "viewer",
            );
            user.id = format!("user{id}");
            user.created_at = t0() + Duration::minutes(minutes);
            user.updated_at = user.created_at;
            show(store.create_user(&user).await)
        }
        Op::UserByName { name } => show(store.get_user_by_username(&format!("name{name}")).await),
        Op::UpdateRole { id, role, minutes } => show(
            store
                .update_user_role(
                    &format!("user{id}"),
                    ["viewer", "operator", "admin"][usize::from(role)],
                    t0() + Duration::minutes(minutes),
                )
                .await,
        ),
        Op::SetDisabled {
            id,
            disabled,
            minutes,
        } => show(
            store
                .set_user_disabled(
                    &format!("user{id}"),
                    disabled,
                    t0() + Duration::minutes(minutes),
                )
                .await,
        ),
        Op::DeleteUser { id } => show(store.delete_user(&format!("user{id}")).await),
        Op::ListUsers { tenant } => show(store.list_users_by_tenant(&format!("t{tenant}")).await),
        Op::CountUsers => show(store.count_users().await),
        Op::InsertKey { id, owner, minutes } => {
            let created_at = t0() + Duration::minutes(minutes);
            let key = ApiKeyRecord {
                id: format!("k{id}"),
                owner_id: format!("u{owner}"),
                tenant_id: "t".into(),
                name: "key".into(),
                scopes: vec!["agents:read".into()],
                secret_hash: vec![id; 32],
                hash_key_version: 1,
                created_at,
                expires_at: Some(created_at + Duration::days(1)),
                revoked_at: None,
                last_used_at: None,
            };
            show(store.insert_api_key(&key).await)
        }
        Op::RevokeKey { id, minutes } => show(
            store
                .revoke_api_key(&format!("k{id}"), t0() + Duration::minutes(minutes))
                .await,
        ),
        Op::KeyUsed { id, minutes } => {
            let used = store
                .record_api_key_used(&format!("k{id}"), t0() + Duration::minutes(minutes))
                .await;
            format!(
                "{} {}",
                show(used),
                show(store.get_api_key(&format!("k{id}")).await)
            )
        }
        Op::ListKeys { owner } => show(store.list_api_keys_by_owner(&format!("u{owner}")).await),
        Op::AddRevocation {
            kind,
            subject,
            before,
            expires,
        } => {
            let subject = format!("x{subject}");
            let target = match kind {
                0 => RevocationTarget::Session(subject),
                1 => RevocationTarget::Token(subject),
                _ => RevocationTarget::UserTokensIssuedBefore {
                    user_id: subject,
                    before: t0() + Duration::minutes(before),
                },
            };
            show(
                store
                    .add_revocation(&RevocationEntry::new(
                        target,
                        t0(),
                        t0() + Duration::minutes(expires),
                    ))
                    .await,
            )
        }
        Op::ListRevocations { minutes } => match store
            .list_revocations(t0() + Duration::minutes(minutes))
            .await
        {
            // The order of a listing is unspecified: compare sorted.
            Ok(entries) => {
                let mut shown: Vec<String> = entries.iter().map(|e| format!("{e:?}")).collect();
                shown.sort();
                format!("ok {shown:?}")
            }
            Err(error) => format!("err {}", error_kind(&error)),
        },
        Op::PurgeRevocations { minutes } => show(
            store
                .purge_expired_revocations(t0() + Duration::minutes(minutes))
                .await,
        ),
    }
}

fn check_case(
    runtime: &tokio::runtime::Runtime,
    postgres: Option<&dyn AllStores>,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    runtime.block_on(async {
        let model = MemoryStore::new();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let sqlite = SqliteStore::connect(&url).await.unwrap();
        let mut backends: Vec<(&str, &dyn AllStores)> = vec![("sqlite", &sqlite)];
        if let Some(postgres) = postgres {
            backends.push(("postgres", postgres));
        }
        for (step, op) in ops.iter().enumerate() {
            let expected = apply(&model, op).await;
            for (name, backend) in &backends {
                let actual = apply(*backend, op).await;
                prop_assert_eq!(&actual, &expected, "{} step {} {:?}", name, step, op);
            }
        }
        Ok(())
    })
}

#[test]
fn backends_behave_like_the_memory_model() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    #[cfg(feature = "postgres")]
    let postgres = common::database_url().map(|url| {
        let schema = format!("agency_auth_model_{}", uuid::Uuid::new_v4().simple());
        let store = runtime
            .block_on(agency_auth::store::PostgresStore::connect_with_schema(
                &url, &schema,
            ))
            .expect("PostgreSQL store");
        (store, schema)
    });
    #[cfg(not(feature = "postgres"))]
    let postgres: Option<((), String)> = None;

    let mut runner = TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..60), |ops| {
        #[cfg(feature = "postgres")]
        if let Some((store, _)) = &postgres {
            runtime.block_on(async {
                sqlx::query(
                    "TRUNCATE auth_refresh_tokens, auth_sessions, auth_users, auth_api_keys, \
                     auth_revocations",
                )
                .execute(store.pool())
                .await
                .unwrap();
            });
        }
        #[cfg(feature = "postgres")]
        let pg: Option<&dyn AllStores> =
            postgres.as_ref().map(|(store, _)| store as &dyn AllStores);
        #[cfg(not(feature = "postgres"))]
        let pg: Option<&dyn AllStores> = None;
        check_case(&runtime, pg, &ops)
    });

    #[cfg(feature = "postgres")]
    if let Some((store, schema)) = postgres {
        runtime.block_on(async {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA \"{schema}\" CASCADE"
            )))
            .execute(store.pool())
            .await
            .unwrap();
            store.pool().close().await;
        });
    }
    #[cfg(not(feature = "postgres"))]
    let _ = postgres;

    if let Err(failure) = result {
        panic!("{failure}");
    }
}
