//! The SQL text of each backend's `list` statements, for tests that check the database's
//! query plan (`EXPLAIN`) uses our indexes. Not an API: the text changes with the code.

/// SQLite's `list` statement: by app (and user when `by_user`), from the first page or
/// after a cursor.
#[cfg(feature = "sqlite")]
pub fn sqlite(by_user: bool, after_cursor: bool) -> String {
    crate::sqlite::sql::list_sql(by_user, after_cursor)
}

/// PostgreSQL's four `list` statements: `[app, app after cursor, app and user, app and user
/// after cursor]`.
#[cfg(feature = "postgres")]
pub fn postgres() -> [&'static str; 4] {
    use crate::sql::server::Dialect;
    crate::postgres::PostgresDialect::SQL.list
}

/// MySQL/MariaDB's four `list` statements, in the order of [`postgres`].
#[cfg(feature = "mysql")]
pub fn mysql() -> [&'static str; 4] {
    use crate::sql::server::Dialect;
    crate::mysql::MysqlDialect::SQL.list
}
