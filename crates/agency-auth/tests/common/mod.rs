//! Backends for the conformance and session suites: memory and SQLite always, PostgreSQL when
//! `DATABASE_URL` is set (each run in its own schema, dropped afterwards).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use agency_auth::store::{ApiKeyStore, MemoryStore, RevocationStore, SessionStore, UserStore};

/// A store implementing every trait, as the suites use it.
pub(crate) trait AllStores:
    UserStore + SessionStore + ApiKeyStore + RevocationStore + 'static
{
}
impl<T: UserStore + SessionStore + ApiKeyStore + RevocationStore + 'static> AllStores for T {}

/// Coerces to the individual trait objects the session manager and checker take.
pub(crate) struct Stores {
    pub(crate) name: &'static str,
    pub(crate) all: Arc<dyn AllStores>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) revocations: Arc<dyn RevocationStore>,
}

fn stores<S: AllStores>(name: &'static str, store: S) -> Stores {
    let store = Arc::new(store);
    Stores {
        name,
        all: store.clone(),
        sessions: store.clone(),
        revocations: store,
    }
}

enum Cleanup {
    None,
    TempDir(#[allow(dead_code)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    PgSchema(agency_auth::store::PostgresStore, String),
}

/// Runs `body` once per available backend. The body runs in its own task so that cleanup
/// (dropping the PostgreSQL schema) happens even when an assertion fails.
pub(crate) async fn for_each_backend<F, Fut>(body: F)
where
    F: Fn(Stores) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    #[allow(unused_mut)] // only the memory backend without the database features
    let mut backends: Vec<(Stores, Cleanup)> =
        vec![(stores("memory", MemoryStore::new()), Cleanup::None)];

    #[cfg(feature = "sqlite")]
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let sqlite = agency_auth::store::SqliteStore::connect(&url)
            .await
            .unwrap();
        backends.push((stores("sqlite", sqlite), Cleanup::TempDir(dir)));
    }
    #[cfg(not(feature = "sqlite"))]
    feature_off("sqlite");

    #[cfg(feature = "postgres")]
    if let Some(url) = database_url() {
        let schema = format!("agency_auth_test_{}", uuid::Uuid::new_v4().simple());
        let pg = agency_auth::store::PostgresStore::connect_with_schema(&url, &schema)
            .await
            .expect("PostgreSQL store");
        backends.push((
            stores("postgres", pg.clone()),
            Cleanup::PgSchema(pg, schema),
        ));
    }
    #[cfg(not(feature = "postgres"))]
    feature_off("postgres");

    // Every backend runs and is cleaned up; the first failure is re-raised at the end.
    let mut first_failure = None;
    for (stores, cleanup) in backends {
        let name = stores.name;
        let result = tokio::spawn(body(stores)).await;
        match cleanup {
            Cleanup::None | Cleanup::TempDir(_) => {}
            #[cfg(feature = "postgres")]
            Cleanup::PgSchema(pg, schema) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(pg.pool())
                .await
                .expect("drop test schema");
                pg.pool().close().await;
            }
        }
        match result {
            Ok(()) => eprintln!("backend {name}: passed"),
            Err(error) => {
                eprintln!("backend {name}: FAILED");
                first_failure.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_failure {
        std::panic::resume_unwind(error.into_panic());
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `DATABASE_URL`, or `None` with a printed reason; a panic under `CI=true`.
pub(crate) fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if ci() => panic!("DATABASE_URL must be set when CI=true (PostgreSQL store tests)"),
        _ => {
            eprintln!("skipping the PostgreSQL backend: DATABASE_URL is not set");
            None
        }
    }
}

#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn feature_off(feature: &str) {
    if ci() {
        panic!("CI=true: run these tests with --all-features so the {feature} backend is tested");
    }
    eprintln!("skipping the {feature} backend: the `{feature}` feature is off");
}
