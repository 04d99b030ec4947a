//! The whole conformance suite against the SQLite backend: once on a fresh file (WAL,
//! reader pool), once on `sqlite::memory:` (reads through the writer thread) and once on a
//! fresh file in adk-go's layout.

#[path = "support/sqlite_files.rs"]
mod sqlite_files;
use sqlite_files::temp_db;

use std::sync::Arc;

use adk_sessions::SqliteSessionService;
use adk_sessions::{EventPolicy, OpenOptions, SessionService, StorageLayout};

async fn file_service(policy: EventPolicy) -> Arc<dyn SessionService> {
    let options = OpenOptions::default().policy(policy);
    Arc::new(
        SqliteSessionService::open_with(Some(&temp_db("conf-file")), &options)
            .await
            .expect("open a fresh SQLite file"),
    )
}

async fn go_file_service(policy: EventPolicy) -> Arc<dyn SessionService> {
    let options = OpenOptions::default()
        .policy(policy)
        .layout(StorageLayout::AdkGo);
    Arc::new(
        SqliteSessionService::open_with(Some(&temp_db("conf-go")), &options)
            .await
            .expect("open a fresh SQLite file in adk-go's layout"),
    )
}

async fn memory_service(policy: EventPolicy) -> Arc<dyn SessionService> {
    let options = OpenOptions::default().policy(policy);
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

adk_sessions::conformance_tests!(
    sqlite_file_adk_go,
    go_file_service(EventPolicy::default()),
    go_file_service(LENIENT)
);
