//! The catalog of a PostgreSQL or MySQL/MariaDB database, and its repairs.

use sqlx::{Connection, Executor, Row};

use super::{report, Catalog, Column, Dialect, SchemaReport};
use crate::error::{Error, Result};

/// The orphan count (events whose session is gone), for either server.
const ORPHANS: &str = "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM sessions s \
     WHERE s.app_name = e.app_name AND s.user_id = e.user_id AND s.id = e.session_id)";

fn storage(url: &str, doing: &str, e: sqlx::Error) -> Error {
    Error::storage(super::super::url::redact_in(
        &format!("{}: {doing}: {e}", super::super::url::redact(url)),
        url,
    ))
}

/// Reads the catalog through `$conn` (a concrete sqlx connection) with `$queries` =
/// (columns, indexes, foreign key); each returns text columns: `(table, column, type)`,
/// `(table, index)`, `(name, delete rule)`. A macro: sqlx's generic bounds over both
/// connection types cost more lines than the body.
macro_rules! read_catalog {
    ($conn:expr, $url:expr, $queries:expr) => {
        async {
            let url: &str = $url;
            let queries: [&str; 3] = $queries;
            let fail = |doing: &'static str| move |e| storage(url, doing, e);
            let mut catalog = Catalog::default();
            for row in $conn
                .fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(queries[0])))
                .await
                .map_err(fail("reading columns"))?
            {
                catalog.columns.push(Column {
                    table: row.try_get(0).map_err(fail("reading columns"))?,
                    name: row.try_get(1).map_err(fail("reading columns"))?,
                    ty: row
                        .try_get::<String, _>(2)
                        .map_err(fail("reading columns"))?
                        .to_lowercase(),
                });
            }
            for row in $conn
                .fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(queries[1])))
                .await
                .map_err(fail("reading indexes"))?
            {
                catalog.indexes.push((
                    row.try_get(0).map_err(fail("reading indexes"))?,
                    row.try_get(1).map_err(fail("reading indexes"))?,
                ));
            }
            if catalog.has_table("events") && catalog.has_table("sessions") {
                let row = $conn
                    .fetch_optional(sqlx::raw_sql(sqlx::AssertSqlSafe(queries[2])))
                    .await
                    .map_err(fail("reading the events foreign key"))?;
                if let Some(row) = row {
                    let name: String = row.try_get(0).map_err(fail("reading the foreign key"))?;
                    let rule: String = row.try_get(1).map_err(fail("reading the foreign key"))?;
                    catalog.events_fk =
                        Some((name, rule == "c" || rule.eq_ignore_ascii_case("CASCADE")));
                }
                let row = $conn
                    .fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(ORPHANS)))
                    .await
                    .map_err(fail("counting events without a session"))?;
                catalog.orphan_events = row.try_get(0).map_err(fail("counting orphans"))?;
            }
            Ok::<Catalog, Error>(catalog)
        }
    };
}

/// Runs the repairs of `$report` through `$conn` (each finding's statements as one
/// transaction where the server allows DDL in one) and evaluates to what ran; the
/// foreign key is left while orphans remain.
macro_rules! repair {
    ($conn:expr, $url:expr, $report:expr, $orphans:expr) => {
        async {
            let url: &str = $url;
            let mut ran = Vec::new();
            for finding in &$report.findings {
                if finding.repair.is_empty()
                    || ($orphans > 0 && finding.message.contains("foreign key"))
                {
                    continue;
                }
                let mut tx = $conn
                    .begin()
                    .await
                    .map_err(|e| storage(url, "repairing", e))?;
                for sql in &finding.repair {
                    tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())))
                        .await
                        .map_err(|e| storage(url, "repairing", e))?;
                }
                tx.commit()
                    .await
                    .map_err(|e| storage(url, "repairing", e))?;
                ran.extend(finding.repair.iter().cloned());
            }
            Ok::<Vec<String>, Error>(ran)
        }
    };
}

/// Connects with `$connection` (a concrete sqlx connection type), reads the catalog with
/// `$queries` (see [`read_catalog!`]), and, when `$fix`, runs the repairs and reads it again.
macro_rules! inspect {
    ($connection:ty, $backend:literal, $dialect:expr, $url:expr, $fix:expr, $queries:expr) => {{
        let url: &str = $url;
        let mut conn = <$connection>::connect(url)
            .await
            .map_err(|e| storage(url, "connecting", e))?;
        let catalog = read_catalog!(&mut conn, url, $queries).await?;
        let first = report($backend, $dialect, &catalog);
        if !$fix {
            return Ok(first);
        }
        let ran = repair!(conn, url, first, catalog.orphan_events).await?;
        let catalog = read_catalog!(&mut conn, url, $queries).await?;
        let mut after = report($backend, $dialect, &catalog);
        after.repaired = ran;
        Ok(after)
    }};
}

/// The session tables, for `IN`.
macro_rules! tables {
    () => {
        "('sessions', 'events', 'app_states', 'user_states')"
    };
}

#[cfg(feature = "postgres")]
pub(super) async fn inspect_postgres(url: &str, fix: bool) -> Result<SchemaReport> {
    const QUERIES: [&str; 3] = [
        concat!(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name IN ",
            tables!()
        ),
        "SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = current_schema()",
        "SELECT c.conname::text, c.confdeltype::text FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND t.relname = 'events' AND r.relname = 'sessions' AND n.nspname = current_schema()",
    ];
    inspect!(
        sqlx::PgConnection,
        "postgres",
        Dialect::Postgres,
        url,
        fix,
        QUERIES
    )
}

#[cfg(feature = "mysql")]
pub(super) async fn inspect_mysql(url: &str, fix: bool) -> Result<SchemaReport> {
    const QUERIES: [&str; 3] = [
        concat!(
            "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR), CAST(column_type AS CHAR) \
             FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN ",
            tables!()
        ),
        "SELECT DISTINCT CAST(table_name AS CHAR), CAST(index_name AS CHAR) FROM information_schema.statistics \
         WHERE table_schema = DATABASE()",
        "SELECT CAST(constraint_name AS CHAR), CAST(delete_rule AS CHAR) FROM information_schema.referential_constraints \
         WHERE constraint_schema = DATABASE() AND table_name = 'events' AND referenced_table_name = 'sessions'",
    ];
    inspect!(
        sqlx::MySqlConnection,
        "mysql",
        Dialect::Mysql,
        url,
        fix,
        QUERIES
    )
}
