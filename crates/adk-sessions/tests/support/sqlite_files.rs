//! Fresh SQLite files and services on them, shared by the SQLite test binaries (not
//! every binary uses every helper).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use adk_sessions::OpenOptions;
use adk_sessions::SqliteSessionService;

/// A fresh database path in its own new directory under the system temp dir.
pub fn temp_db(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adk-sqlite-{tag}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join("sessions.db")
}

/// Opens the file at `path` with `options` (panics naming the file when it cannot).
pub async fn open_with(path: &Path, options: &OpenOptions) -> SqliteSessionService {
    SqliteSessionService::open_with(Some(path), options)
        .await
        .unwrap_or_else(|e| panic!("open the SQLite file {}: {e}", path.display()))
}

/// Opens the file at `path` with the default options.
pub async fn open(path: &Path) -> SqliteSessionService {
    open_with(path, &OpenOptions::default()).await
}
