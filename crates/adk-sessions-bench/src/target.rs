//! Where a run writes: the rule for fresh databases, and their removal afterwards.
//!
//! The rule: **a URL that names no database gets a fresh one; a URL that names one is
//! used as it is.**
//!
//! | `--db` | the service runs on |
//! |---|---|
//! | `memory://` | the in-memory backend |
//! | `sqlite://` (or `sqlite:`, `sqlite`) | a fresh file `adk_bench_<uuid>.db` in the temp directory, removed afterwards |
//! | `sqlite://path.db`, `sqlite::memory:` | that file (it must not hold sessions of app `bench`), that in-memory database |
//! | `postgres://user@host:port` (no database) | a fresh database `adk_bench_<uuid>` created through that server URL, dropped afterwards |
//! | `postgres://user@host:port/db` | database `db` as it is (it must not hold sessions of app `bench`) |
//! | `mysql://…` | as for PostgreSQL |
//!
//! The raw floor always gets its own fresh store: a file `adk_bench_floor_<uuid>.db` in
//! the directory of the service's file (same file system, same fsync cost), or a fresh
//! database `adk_bench_floor_<uuid>` on the same server. `--keep` keeps what the run
//! created.

use std::path::{Path, PathBuf};

use adk_sessions::DbUrl;
use sqlx::Connection;

use super::BenchError;

/// The kind of database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

/// A resolved `--db`.
#[derive(Debug, Clone)]
pub enum Target {
    /// The in-memory backend.
    Memory,
    /// A SQLite file (`None`: an in-memory SQLite database).
    Sqlite {
        /// The file.
        path: Option<PathBuf>,
        /// The run created the file (and removes it).
        fresh: bool,
    },
    /// A database on a server.
    Server {
        /// PostgreSQL or MySQL.
        kind: ServerKind,
        /// The URL the service opens.
        url: String,
        /// The URL as given (to create and drop databases through).
        admin_url: String,
        /// The database the run created (and drops), if any.
        fresh: Option<String>,
    },
}

/// `scheme://auth`, the database name, and `?query` (or "") of a server URL.
fn split_server_url(url: &str) -> (String, String, String) {
    let (head, query) = match url.find('?') {
        Some(q) => (&url[..q], url[q..].to_owned()),
        None => (url, String::new()),
    };
    let auth_start = head.find("://").map_or(0, |i| i + 3);
    match head[auth_start..].find('/') {
        Some(slash) => {
            let at = auth_start + slash;
            (head[..at].to_owned(), head[at + 1..].to_owned(), query)
        }
        None => (head.to_owned(), String::new(), query),
    }
}

/// A new unique database or file name with `prefix`.
pub fn fresh_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

impl Target {
    /// Applies the rule of this module to `--db` (nothing is created yet).
    pub fn resolve(db: &str) -> Result<Target, BenchError> {
        let trimmed = db.trim();
        if ["sqlite", "sqlite:", "sqlite://"].contains(&trimmed.to_ascii_lowercase().as_str()) {
            let path = std::env::temp_dir().join(format!("{}.db", fresh_name("adk_bench")));
            return Ok(Target::Sqlite {
                path: Some(path),
                fresh: true,
            });
        }
        Ok(match DbUrl::parse(trimmed)? {
            DbUrl::Memory => Target::Memory,
            DbUrl::Sqlite { path } => Target::Sqlite { path, fresh: false },
            DbUrl::Postgres { url } => Self::server(ServerKind::Postgres, url),
            DbUrl::Mysql { url } => Self::server(ServerKind::Mysql, url),
        })
    }

    fn server(kind: ServerKind, url: String) -> Target {
        let (base, db, query) = split_server_url(&url);
        if db.is_empty() {
            let name = fresh_name("adk_bench");
            Target::Server {
                kind,
                url: format!("{base}/{name}{query}"),
                admin_url: url,
                fresh: Some(name),
            }
        } else {
            Target::Server {
                kind,
                url: url.clone(),
                admin_url: url,
                fresh: None,
            }
        }
    }

    /// The backend name of the report.
    pub fn backend(&self) -> &'static str {
        match self {
            Target::Memory => "memory",
            Target::Sqlite { .. } => "sqlite",
            Target::Server {
                kind: ServerKind::Postgres,
                ..
            } => "postgres",
            Target::Server {
                kind: ServerKind::Mysql,
                ..
            } => "mysql",
        }
    }

    /// The URL the service opens.
    pub fn service_url(&self) -> String {
        match self {
            Target::Memory => "memory://".into(),
            Target::Sqlite { path: None, .. } => "sqlite::memory:".into(),
            Target::Sqlite { path: Some(p), .. } => sqlite_url(p),
            Target::Server { url, .. } => url.clone(),
        }
    }

    /// Creates the fresh database, if the rule asks for one.
    pub async fn prepare(&self) -> Result<(), BenchError> {
        if let Target::Server {
            kind,
            admin_url,
            fresh: Some(name),
            ..
        } = self
        {
            create_database(*kind, admin_url, name).await?;
        }
        Ok(())
    }

    /// Removes what [`Target::prepare`] and the run created.
    pub async fn cleanup(&self) -> Result<(), BenchError> {
        match self {
            Target::Sqlite {
                path: Some(p),
                fresh: true,
            } => {
                remove_sqlite(p);
                Ok(())
            }
            Target::Server {
                kind,
                admin_url,
                fresh: Some(name),
                ..
            } => drop_database(*kind, admin_url, name).await,
            _ => Ok(()),
        }
    }
}

/// The `sqlite://` URL of a path (absolute paths get the third slash).
pub fn sqlite_url(p: &Path) -> String {
    format!("sqlite://{}", p.display())
}

/// Removes a SQLite file and its WAL companions.
pub fn remove_sqlite(p: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = p.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

fn sql_err(doing: &str, url: &str, e: sqlx::Error) -> BenchError {
    BenchError::Other(adk_sessions::redact_url_in(&format!("{doing}: {e}"), url))
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, _, query) = split_server_url(url);
    format!("{base}/{name}{query}")
}

/// Creates database `name` through the server of `url`.
pub async fn create_database(kind: ServerKind, url: &str, name: &str) -> Result<(), BenchError> {
    let sql = match kind {
        ServerKind::Postgres => format!("CREATE DATABASE {name}"),
        ServerKind::Mysql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
    };
    admin_sql(kind, url, &format!("creating database {name}"), sql).await
}

/// Drops database `name` through the server of `url`.
pub async fn drop_database(kind: ServerKind, url: &str, name: &str) -> Result<(), BenchError> {
    let sql = match kind {
        ServerKind::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ServerKind::Mysql => format!("DROP DATABASE IF EXISTS {name}"),
    };
    admin_sql(kind, url, &format!("dropping database {name}"), sql).await
}

/// Runs one administrative statement on a fresh connection to the server of `url`.
async fn admin_sql(
    kind: ServerKind,
    url: &str,
    doing: &str,
    sql: String,
) -> Result<(), BenchError> {
    let sql = sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
    match kind {
        ServerKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url)
                .await
                .map_err(|e| sql_err(doing, url, e))?;
            sql.execute(&mut c)
                .await
                .map_err(|e| sql_err(doing, url, e))?;
        }
        ServerKind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url)
                .await
                .map_err(|e| sql_err(doing, url, e))?;
            sql.execute(&mut c)
                .await
                .map_err(|e| sql_err(doing, url, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_database_gets_a_fresh_one() {
        let t = Target::resolve("postgres://postgres@127.0.0.1:5432").unwrap();
        let Target::Server { url, fresh, .. } = &t else {
            panic!("{t:?}")
        };
        let name = fresh.as_deref().unwrap();
        assert!(name.starts_with("adk_bench_"));
        assert_eq!(url, &format!("postgres://postgres@127.0.0.1:5432/{name}"));

        let t = Target::resolve("mysql://root@h:3306/test?ssl-mode=disabled").unwrap();
        let Target::Server { url, fresh, .. } = &t else {
            panic!("{t:?}")
        };
        assert!(fresh.is_none());
        assert_eq!(url, "mysql://root@h:3306/test?ssl-mode=disabled");
        assert_eq!(
            with_database(url, "x"),
            "mysql://root@h:3306/x?ssl-mode=disabled"
        );
    }

    #[test]
    fn sqlite_without_a_file_gets_a_fresh_temp_file() {
        let Target::Sqlite {
            path: Some(p),
            fresh: true,
        } = Target::resolve("sqlite://").unwrap()
        else {
            panic!()
        };
        assert!(p.starts_with(std::env::temp_dir()));
        assert!(matches!(
            Target::resolve("sqlite://x.db").unwrap(),
            Target::Sqlite { fresh: false, .. }
        ));
    }
}
