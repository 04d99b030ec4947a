//! The whole conformance suite against the SQLite backend: once on a fresh file (WAL,
//! reader pool) and once on `sqlite::memory:` (reads through the writer thread).

use std::path::PathBuf;
use std::sync::Arc;

use adk_sessions::sql::sqlite::SqliteSessionService;
use adk_sessions::{EventPolicy, OpenOptions, SessionService};

/// A fresh database file in its own directory under the system temp dir.
fn fresh_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adk-sqlite-conf-{tag}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join("sessions.db")
}

async fn file_service(policy: EventPolicy) -> Arc<dyn SessionService> {
    let options = OpenOptions {
        policy,
        ..OpenOptions::default()
    };
    Arc::new(
        SqliteSessionService::open(Some(&fresh_file("file")), &options)
            .await
            .expect("open a fresh SQLite file"),
    )
}

async fn memory_service(policy: EventPolicy) -> Arc<dyn SessionService> {
    let options = OpenOptions {
        policy,
        ..OpenOptions::default()
    };
    adk_sessions::open("sqlite::memory:", &options)
        .await
        .expect("open sqlite::memory:")
}

const LENIENT: EventPolicy = EventPolicy {
    lenient_unknown_fields: true,
};

adk_sessions::conformance_tests!(
    sqlite_file,
    file_service(EventPolicy::default()),
    file_service(LENIENT)
);

adk_sessions::conformance_tests!(
    sqlite_memory,
    memory_service(EventPolicy::default()),
    memory_service(LENIENT)
);
