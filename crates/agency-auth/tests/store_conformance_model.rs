//! Model-based property test: random sequences of session-store operations give identical
//! results on the memory store (the model) and on SQLite (and PostgreSQL when `DATABASE_URL` is
//! set), so the backends cannot drift apart on edge cases the example-based suite misses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "sqlite")]

mod common;

use agency_auth::sessions::{
    RefreshRotation, RefreshTokenHash, RefreshTokenRecord, SessionRecord, SessionRevokeReason,
};
use agency_auth::store::{MemoryStore, SessionStore, SqliteStore, StoreError};
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
async fn apply(store: &dyn SessionStore, op: &Op) -> String {
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
    }
}

fn check_case(
    runtime: &tokio::runtime::Runtime,
    postgres: Option<&dyn SessionStore>,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    runtime.block_on(async {
        let model = MemoryStore::new();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let sqlite = SqliteStore::connect(&url).await.unwrap();
        let mut backends: Vec<(&str, &dyn SessionStore)> = vec![("sqlite", &sqlite)];
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
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..60), |ops| {
        #[cfg(feature = "postgres")]
        if let Some((store, _)) = &postgres {
            runtime.block_on(async {
                sqlx::query("TRUNCATE auth_refresh_tokens, auth_sessions")
                    .execute(store.pool())
                    .await
                    .unwrap();
            });
        }
        #[cfg(feature = "postgres")]
        let pg: Option<&dyn SessionStore> = postgres
            .as_ref()
            .map(|(store, _)| store as &dyn SessionStore);
        #[cfg(not(feature = "postgres"))]
        let pg: Option<&dyn SessionStore> = None;
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
