//! Shared by the PostgreSQL and MySQL/MariaDB test binaries: which server, where it is
//! (`ADK_SESSIONS_TEST_POSTGRES_URL`, `ADK_SESSIONS_TEST_MYSQL_URL`), a fresh database
//! per test (`adk_t_<unix secs>_<random>`, dropped at the end; leftovers older than two
//! hours are dropped by later runs), and the loud skip: without the variable a test
//! prints `SKIPPED` and returns, but under `CI` it panics — a skipped database test is a
//! failure there.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adk_sessions::{OpenOptions, SessionService, StorageLayout};
use sqlx::Connection;

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mysql,
}

impl Server {
    pub fn env_var(self) -> &'static str {
        match self {
            Server::Postgres => "ADK_SESSIONS_TEST_POSTGRES_URL",
            Server::Mysql => "ADK_SESSIONS_TEST_MYSQL_URL",
        }
    }

    pub fn example(self) -> &'static str {
        match self {
            Server::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Server::Mysql => "mysql://root@127.0.0.1:3306/test",
        }
    }

    /// The base URL, or `None` after printing a loud skip (a panic under `CI`).
    pub fn url(self) -> Option<String> {
        match std::env::var(self.env_var()) {
            Ok(url) if !url.trim().is_empty() => Some(url),
            _ => {
                adk_sessions::testsuite::skip(&format!(
                    "set {}={} to run the {:?} backend tests against a real server",
                    self.env_var(),
                    self.example(),
                    self
                ));
                None
            }
        }
    }
}

/// `url` with its database path replaced by `db` (empty for none); query kept.
pub fn with_database(url: &str, db: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let (head, query) = match url[start..].find('?') {
        Some(q) => (&url[..start + q], &url[start + q..]),
        None => (url, ""),
    };
    let authority_end = head[start..].find('/').map_or(head.len(), |i| start + i);
    format!("{}/{db}{query}", &head[..authority_end])
}

fn admin_url(server: Server, base: &str) -> String {
    match server {
        Server::Postgres => with_database(base, "postgres"),
        Server::Mysql => with_database(base, ""),
    }
}

async fn admin_exec(server: Server, base: &str, sql: &[String]) {
    let url = admin_url(server, base);
    match server {
        Server::Postgres => {
            let mut c = sqlx::PgConnection::connect(&url)
                .await
                .expect("admin connection");
            for s in sql {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            let _ = c.close().await;
        }
        Server::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(&url)
                .await
                .expect("admin connection");
            for s in sql {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            let _ = c.close().await;
        }
    }
}

async fn stale_databases(server: Server, base: &str) -> Vec<String> {
    let url = admin_url(server, base);
    let names: Vec<String> = match server {
        Server::Postgres => {
            let Ok(mut c) = sqlx::PgConnection::connect(&url).await else {
                return Vec::new();
            };
            sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'adk_t_%'")
                .fetch_all(&mut c)
                .await
                .unwrap_or_default()
        }
        Server::Mysql => {
            let Ok(mut c) = sqlx::MySqlConnection::connect(&url).await else {
                return Vec::new();
            };
            sqlx::query_scalar(
                "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE schema_name LIKE 'adk\\_t\\_%'",
            )
            .fetch_all(&mut c)
            .await
            .unwrap_or_default()
        }
    };
    let now = unix_secs();
    names
        .into_iter()
        .filter(|n| {
            n.split('_')
                .nth(2)
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|t| t + 7200 < now)
        })
        .collect()
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn drop_sql(server: Server, name: &str) -> String {
    match server {
        Server::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        Server::Mysql => format!("DROP DATABASE IF EXISTS {name}"),
    }
}

/// A database of its own for one test; dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    pub server: Server,
    base: String,
    pub name: String,
    /// The URL of the database.
    pub url: String,
}

impl TestDb {
    /// Creates a fresh empty database on the server (`None`: skipped, see [`Server::url`]).
    pub async fn create(server: Server) -> Option<TestDb> {
        let base = server.url()?;
        let name = format!(
            "adk_t_{}_{}",
            unix_secs(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut sql: Vec<String> = stale_databases(server, &base)
            .await
            .iter()
            .map(|n| drop_sql(server, n))
            .collect();
        sql.push(match server {
            Server::Postgres => format!("CREATE DATABASE {name}"),
            Server::Mysql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        });
        admin_exec(server, &base, &sql).await;
        let url = with_database(&base, &name);
        Some(TestDb {
            server,
            base,
            name,
            url,
        })
    }

    /// A service on this database.
    pub async fn open(&self) -> Arc<dyn SessionService> {
        adk_sessions::open(&self.url, &test_options())
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.name))
    }

    /// Runs raw SQL (several statements allowed) on this database.
    pub async fn exec(&self, sql: &str) {
        match self.server {
            Server::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Server::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// Rows of one text column (the query must select text).
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        match self.server {
            Server::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Server::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }

    /// Column facts of the five tables, one line per column, sorted:
    /// `table.column type nullable`.
    pub async fn columns(&self) -> Vec<String> {
        let sql = match self.server {
            Server::Postgres => {
                "SELECT table_name || '.' || column_name || ' ' || data_type
                    || coalesce('(' || character_maximum_length || ')', '')
                    || ' ' || is_nullable
                 FROM information_schema.columns
                 WHERE table_schema = current_schema()
                 ORDER BY 1"
            }
            Server::Mysql => {
                "SELECT CAST(CONCAT(table_name, '.', column_name, ' ', column_type, ' ', is_nullable) AS CHAR)
                 FROM information_schema.columns
                 WHERE table_schema = DATABASE()
                 ORDER BY 1"
            }
        };
        self.strings(sql).await
    }
}

impl TestDb {
    /// Every index of the five tables, one line each, sorted (in Rust, so both servers
    /// sort alike):
    /// `table.index (column, column, …)`.
    pub async fn indexes(&self) -> Vec<String> {
        let sql = match self.server {
            Server::Postgres => {
                "SELECT t.relname || '.' || i.relname || ' ('
                    || string_agg(a.attname, ', ' ORDER BY k.ord) || ')'
                 FROM pg_index x
                 JOIN pg_class t ON t.oid = x.indrelid
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_namespace n ON n.oid = t.relnamespace
                 CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                 WHERE n.nspname = current_schema()
                 GROUP BY t.relname, i.relname
                 ORDER BY 1"
            }
            Server::Mysql => {
                "SELECT CAST(CONCAT(table_name, '.', index_name, ' (',
                    GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ', '), ')') AS CHAR)
                 FROM information_schema.statistics
                 WHERE table_schema = DATABASE()
                 GROUP BY table_name, index_name
                 ORDER BY 1"
            }
        };
        let mut lines = self.strings(sql).await;
        lines.sort();
        lines
    }

    /// The server's plan of `sql` (one of the service's `list` statements) with `binds`
    /// (text, or a time when it parses as one, or an integer), as text: PostgreSQL's
    /// `EXPLAIN` with sequential scans and sorts discouraged (`enable_seqscan`,
    /// `enable_sort` off: an index that can serve the query is then chosen whatever the
    /// table statistics); MySQL/MariaDB's `EXPLAIN FORMAT=JSON`.
    pub async fn explain(&self, sql: &str, binds: &[Bind]) -> String {
        match self.server {
            Server::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql("SET enable_seqscan = off; SET enable_sort = off")
                    .execute(&mut c)
                    .await
                    .expect("set");
                let text = format!("EXPLAIN {sql}");
                let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(text));
                for b in binds {
                    q = match b {
                        Bind::Text(t) => q.bind(t.clone()),
                        Bind::Time(t) => q.bind(*t),
                        Bind::Int(n) => q.bind(*n),
                    };
                }
                q.fetch_all(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .join("\n")
            }
            Server::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let text = format!("EXPLAIN FORMAT=JSON {sql}");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
                for b in binds {
                    q = match b {
                        Bind::Text(t) => q.bind(t.clone()),
                        Bind::Time(t) => q.bind(*t),
                        Bind::Int(n) => q.bind(*n),
                    };
                }
                let row = q
                    .fetch_one(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                use sqlx::Row;
                row.try_get::<String, _>(0)
                    .or_else(|_| {
                        row.try_get::<Vec<u8>, _>(0)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                    })
                    .expect("EXPLAIN FORMAT=JSON text")
            }
        }
    }
}

/// A parameter of [`TestDb::explain`].
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Time(chrono::NaiveDateTime),
    Int(i64),
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (server, base, sql) = (
            self.server,
            self.base.clone(),
            drop_sql(self.server, &self.name),
        );
        // Its own thread and runtime: drop may run inside (or after) a test's runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(20),
                        admin_exec(server, &base, &[sql]),
                    )
                    .await;
                });
            }
        })
        .join();
    }
}

/// Options of the services under test: small pools (several tests run at once).
pub fn test_options() -> OpenOptions {
    OpenOptions::default()
        .pool_size(4)
        .connect_timeout(Duration::from_secs(10))
}

/// A database shared by every test of a binary (the conformance suite gives each of its
/// tests its own app), created once from any runtime and never dropped (a later run
/// drops it when it is old). `None`: skipped.
pub fn shared_db_url(
    server: Server,
    cell: &'static std::sync::OnceLock<Option<String>>,
    layout: StorageLayout,
) -> Option<String> {
    cell.get_or_init(|| {
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let db = TestDb::create(server).await?;
                // Create the schema once, before the tests open it in parallel.
                drop(
                    adk_sessions::open(&db.url, &test_options().layout(layout))
                        .await
                        .unwrap_or_else(|e| panic!("open {}: {e}", db.name)),
                );
                let url = db.url.clone();
                std::mem::forget(db);
                Some(url)
            })
        })
        .join()
        .expect("create the shared database")
    })
    .clone()
}

/// The service of the conformance suite on the shared database (skip → a service that
/// is never used: the macro needs one, so the test then returns early via `skip_marker`).
pub async fn shared_service(
    server: Server,
    cell: &'static std::sync::OnceLock<Option<String>>,
    layout: StorageLayout,
    lenient: bool,
) -> Option<Arc<dyn SessionService>> {
    let url = shared_db_url(server, cell, layout)?;
    let mut options = test_options().layout(layout);
    options.policy.lenient_unknown_fields = lenient;
    Some(
        adk_sessions::open(&url, &options)
            .await
            .unwrap_or_else(|e| panic!("open the shared database: {e}")),
    )
}

pub mod cases;

/// One test per server behaviour of [`cases`], plus the conformance suite on a database
/// shared by its tests, plus the `child_process` entry of the multi-process tests.
#[macro_export]
macro_rules! server_backend_tests {
    ($server:expr) => {
        use std::sync::{Arc, OnceLock};

        use adk_sessions::SessionService;
        use server_support::cases;

        static SHARED_DB: OnceLock<Option<String>> = OnceLock::new();
        static SHARED_GO_DB: OnceLock<Option<String>> = OnceLock::new();

        /// The conformance suite's service on the shared database, or `None` — skipped,
        /// after the loud message (a panic under CI): the suite's tests then return at once.
        async fn conformance_service(lenient: bool) -> Option<Arc<dyn SessionService>> {
            let layout = adk_sessions::StorageLayout::AdkPython;
            server_support::shared_service($server, &SHARED_DB, layout, lenient).await
        }

        /// The same on a database in adk-go's layout.
        async fn conformance_service_adk_go(lenient: bool) -> Option<Arc<dyn SessionService>> {
            let layout = adk_sessions::StorageLayout::AdkGo;
            server_support::shared_service($server, &SHARED_GO_DB, layout, lenient).await
        }

        adk_sessions::conformance_tests!(
            conformance,
            conformance_service(false),
            conformance_service(true)
        );

        adk_sessions::conformance_tests!(
            conformance_adk_go,
            conformance_service_adk_go(false),
            conformance_service_adk_go(true)
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn fresh_schema_matches_adk_python() {
            cases::fresh_schema_matches_adk_python($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn adk_python_database_is_used_as_is() {
            cases::adk_python_database_is_used_as_is($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn look_alike_keys_never_reach_an_adk_python_session() {
            cases::look_alike_keys_never_reach_an_adk_python_session($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn foreign_sessions_table_is_refused_and_untouched() {
            cases::foreign_sessions_table_is_refused_and_untouched($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn timestamptz_columns_are_read_and_written_exactly() {
            cases::timestamptz_columns_are_read_and_written_exactly($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn tls_connections_are_verified() {
            cases::tls_connections_are_verified($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn list_queries_use_our_index() {
            cases::list_queries_use_our_index($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn other_schema_versions_are_refused() {
            cases::other_schema_versions_are_refused($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn unreachable_server_is_a_storage_error() {
            cases::unreachable_server_is_a_storage_error($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn passwords_never_show() {
            cases::passwords_never_show($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn first_state_rows_created_concurrently_are_merged() {
            cases::first_state_rows_created_concurrently_are_merged($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn schema_drift_is_found_and_repaired() {
            cases::schema_drift_is_found_and_repaired($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn another_writers_changes_are_handled() {
            cases::another_writers_changes_are_handled($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn delete_cascades_in_sql() {
            cases::delete_cascades_in_sql($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn processes_never_lose_scoped_writes() {
            cases::processes_never_lose_scoped_writes($server).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn processes_racing_stale_handles_have_one_winner_per_round() {
            cases::processes_racing_stale_handles_have_one_winner_per_round($server).await;
        }

        /// Not a test on its own: the body of the child processes the multi-process tests
        /// spawn (this binary run again with `ADK_SESSIONS_TEST_CHILD_ROLE` set).
        #[test]
        fn child_process() {
            cases::child_process();
        }
    };
}
