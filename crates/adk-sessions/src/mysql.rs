//! MySQL / MariaDB: the SQL text and type mapping of the shared sqlx service on
//! MySQL and MariaDB, on adk-python's schema v1 as `DatabaseSessionService`
//! (`mysql+aiomysql://`) creates it: `LONGTEXT` state and event data, `DATETIME(6)`
//! times (µs precision: the revision check depends on it), InnoDB, utf8mb4.
//!
//! Keys compare byte for byte, as on every other backend. adk-python's tables inherit the
//! database default collation, usually case- and accent-insensitive and space-padding:
//! there `Alice`, `alice` and `alice ` are one user, and a client could read another
//! user's sessions by adding a space. So:
//! - a fresh database's tables use a binary collation without padding
//!   (`utf8mb4_nopad_bin` on MariaDB, `utf8mb4_0900_bin` on MySQL 8; MySQL 5.7 has none
//!   and gets `utf8mb4_bin`), where all of these are different keys;
//! - every statement compares a bound key as `col = CAST(? AS BINARY)`: the index finds
//!   the row by the column's collation, and the comparison then holds only for the exact
//!   bytes. On any collation, nothing of one key is ever read, changed or deleted through
//!   another. Joins between tables add the same exact comparison.
//! - on a table whose collation folds keys (adk-python's, or ours on MySQL 5.7), two keys
//!   equal under it cannot both be stored: the second create is `AlreadyExists`, and a
//!   state row that would collide is refused with `InvalidArgument` naming the collation —
//!   never merged into the other key's row.
//!
//! A fresh `sessions` table carries our two `list` indexes, declared inside its `CREATE
//! TABLE` so they exist exactly when this project created the table. Tables adk-python
//! created are used as they are.
//!
//! MySQL has no JSON merge that keeps a JSON null (`JSON_MERGE_PATCH` deletes the key),
//! so state merges are done under row locks: the append transaction locks the session
//! row (`SELECT … FOR UPDATE`), checks its revision, inserts the event, writes the
//! session, then for each `app:`/`user:` delta locks that state row, merges in Rust and
//! writes it back. Locks are taken in one order — session, app, user — as adk-python
//! does. A missing state row is inserted; if another writer inserted it first (a
//! duplicate key), the row is locked and merged instead. Connections run at `READ
//! COMMITTED`, so a locking read of a missing row takes no gap lock that two first-time
//! inserters could deadlock on; any deadlock left is retried by the service.

use chrono::NaiveDateTime;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlConnection, MySqlPool};
use sqlx::pool::PoolOptions;
use sqlx::{Executor, Row};

use crate::error::Error;
use crate::model::JsonMap;
use crate::sql::common::state_from_json;
use crate::sql::server::{
    bind_go_event, delta_json, AppendOutcome, AppendRow, Dialect, Fail, GoStatements, NewSession,
    ScopeStates, Statements, StoredEvent,
};
use crate::state::apply_delta;
use crate::time::Timestamp;

crate::sql::server::server_backend!(
    /// Sessions in MySQL or MariaDB, on adk-python's schema v1 (see the module docs).
    MysqlSessionService,
    MysqlDialect,
    Mysql,
    sqlx::MySqlPool
);

/// The MySQL / MariaDB dialect.
#[derive(Debug)]
pub(crate) struct MysqlDialect;

/// Where [`MysqlDialect::ddl`] puts the server's byte-exact collation.
macro_rules! collation_placeholder {
    () => {
        "{exact_collation}"
    };
}

macro_rules! table {
    ($body:literal) => {
        concat!(
            $body,
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=",
            collation_placeholder!()
        )
    };
}

/// The `sessions` table carries our `list` indexes (keyset order `(update_time, user_id,
/// id)` within an app, and within an app and user; see `LIST_INDEXES` of the SQLite
/// backend for why both). Key length: three utf8mb4 `VARCHAR(128)` (4 × 128 + 2 bytes
/// each) and a `DATETIME(6)` (8) are 1550 bytes, under InnoDB's 3072-byte index limit
/// (DYNAMIC row format, the default), and each column is under the 767-byte per-column
/// limit of the older COMPACT format — the same columns as the primary key.
const DDL: &[&str] = &[
    table!(
        "CREATE TABLE IF NOT EXISTS adk_internal_metadata (
        `key` VARCHAR(128) NOT NULL,
        `value` VARCHAR(256) NOT NULL,
        PRIMARY KEY (`key`)
    )"
    ),
    table!(
        "CREATE TABLE IF NOT EXISTS app_states (
        app_name VARCHAR(128) NOT NULL,
        state LONGTEXT NOT NULL,
        update_time DATETIME(6) NOT NULL,
        PRIMARY KEY (app_name)
    )"
    ),
    table!(
        "CREATE TABLE IF NOT EXISTS user_states (
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        state LONGTEXT NOT NULL,
        update_time DATETIME(6) NOT NULL,
        PRIMARY KEY (app_name, user_id)
    )"
    ),
    table!(
        "CREATE TABLE IF NOT EXISTS sessions (
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        id VARCHAR(128) NOT NULL,
        state LONGTEXT NOT NULL,
        create_time DATETIME(6) NOT NULL,
        update_time DATETIME(6) NOT NULL,
        PRIMARY KEY (app_name, user_id, id),
        KEY idx_sessions_app_update_user_id (app_name, update_time, user_id, id),
        KEY idx_sessions_app_user_update_id (app_name, user_id, update_time, id)
    )"
    ),
    table!(
        "CREATE TABLE IF NOT EXISTS events (
        id VARCHAR(128) NOT NULL,
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        session_id VARCHAR(128) NOT NULL,
        invocation_id VARCHAR(256) NOT NULL,
        `timestamp` DATETIME(6) NOT NULL,
        event_data LONGTEXT,
        PRIMARY KEY (id, app_name, user_id, session_id),
        KEY idx_events_app_user_session_ts_id (app_name, user_id, session_id, `timestamp` DESC, id DESC),
        FOREIGN KEY (app_name, user_id, session_id)
            REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE
    )"
    ),
];

macro_rules! list_sql {
    ($where:literal) => {
        concat!(
            "SELECT s.user_id, s.id, s.update_time, s.state, a.state, u.state
    FROM sessions s
    LEFT JOIN app_states a ON a.app_name = s.app_name
        AND CAST(a.app_name AS BINARY) = CAST(s.app_name AS BINARY)
    LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id
        AND CAST(u.app_name AS BINARY) = CAST(s.app_name AS BINARY)
        AND CAST(u.user_id AS BINARY) = CAST(s.user_id AS BINARY)
    WHERE ",
            $where,
            " ORDER BY s.update_time, s.user_id, s.id LIMIT ?"
        )
    };
}

const INSERT_SESSION: &str =
    "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time)
    VALUES (?, ?, ?, ?, ?, ?)";
const LOCK_SESSION: &str = "SELECT update_time, state FROM sessions
    WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND id = CAST(? AS BINARY) FOR UPDATE";
const INSERT_EVENT: &str = "INSERT INTO events
    (id, app_name, user_id, session_id, invocation_id, `timestamp`, event_data)
    VALUES (?, ?, ?, ?, ?, ?, ?)";
/// adk-go's tables as GORM's AutoMigrate creates them (adk-go v2.2, gorm.io/driver/mysql),
/// except the collation: keys compare byte for byte here as in every table we create.
const GO_TABLES: &[(&str, &str)] = &[
    (
        "sessions",
        table!(
            "CREATE TABLE IF NOT EXISTS `sessions` (`app_name` varchar(191),`user_id` varchar(191),`id` varchar(191),`state` LONGTEXT,`create_time` datetime(6) NULL,`update_time` datetime(6) NULL,PRIMARY KEY (`app_name`,`user_id`,`id`),
            KEY idx_sessions_app_update_user_id (app_name, update_time, user_id, id),
            KEY idx_sessions_app_user_update_id (app_name, user_id, update_time, id))"
        ),
    ),
    (
        "events",
        table!(
            "CREATE TABLE IF NOT EXISTS `events` (`id` varchar(191),`app_name` varchar(191),`user_id` varchar(191),`session_id` varchar(191),`invocation_id` longtext,`author` longtext,`actions` longblob,`long_running_tool_ids_json` LONGTEXT,`routes_json` LONGTEXT,`output_json` LONGTEXT,`node_info_json` LONGTEXT,`requested_input_json` LONGTEXT,`branch` longtext,`isolation_scope` longtext,`timestamp` datetime(6) NULL,`content` LONGTEXT,`grounding_metadata` LONGTEXT,`custom_metadata` LONGTEXT,`usage_metadata` LONGTEXT,`citation_metadata` LONGTEXT,`partial` boolean,`turn_complete` boolean,`error_code` longtext,`error_message` longtext,`interrupted` boolean,PRIMARY KEY (`id`,`app_name`,`user_id`,`session_id`),
            KEY idx_events_app_user_session_ts_id (app_name, user_id, session_id, `timestamp` DESC, id DESC),
            CONSTRAINT `fk_sessions_events` FOREIGN KEY (`app_name`,`user_id`,`session_id`) REFERENCES `sessions`(`app_name`,`user_id`,`id`) ON DELETE CASCADE)"
        ),
    ),
    (
        "app_states",
        table!(
            "CREATE TABLE IF NOT EXISTS `app_states` (`app_name` varchar(191),`state` LONGTEXT,`update_time` datetime(6) NULL,PRIMARY KEY (`app_name`))"
        ),
    ),
    (
        "user_states",
        table!(
            "CREATE TABLE IF NOT EXISTS `user_states` (`app_name` varchar(191),`user_id` varchar(191),`state` LONGTEXT,`update_time` datetime(6) NULL,PRIMARY KEY (`app_name`,`user_id`))"
        ),
    ),
];

/// Inserts one adk-go event row (bound by `bind_go_event`).
const INSERT_GO_EVENT: &str = "INSERT INTO events (id, app_name, user_id, session_id,
        invocation_id, author, actions, long_running_tool_ids_json, routes_json, output_json,
        node_info_json, requested_input_json, branch, isolation_scope, `timestamp`, content,
        grounding_metadata, custom_metadata, usage_metadata, citation_metadata, `partial`,
        turn_complete, error_code, error_message, interrupted)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

macro_rules! select_go_events {
    ($where:literal) => {
        concat!(
            "SELECT id, invocation_id, author, actions, long_running_tool_ids_json, routes_json,
            output_json, node_info_json, requested_input_json, branch, isolation_scope,
            `timestamp`, content, grounding_metadata, custom_metadata, usage_metadata,
            citation_metadata, `partial`, turn_complete, error_code, error_message, interrupted
        FROM events
        WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND session_id = CAST(? AS BINARY)",
            $where,
            " ORDER BY `timestamp` DESC, id DESC LIMIT ?"
        )
    };
}

/// Inserts an event row of either layout in `conn`'s transaction.
async fn insert_event(
    conn: &mut MySqlConnection,
    keys: [&str; 3],
    id: &str,
    invocation_id: &str,
    time: NaiveDateTime,
    stored: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let [app, user, session] = keys;
    let query = match stored {
        StoredEvent::Python(data) => sqlx::query(INSERT_EVENT)
            .bind(id)
            .bind(app)
            .bind(user)
            .bind(session)
            .bind(invocation_id)
            .bind(time)
            .bind(data.as_str()),
        StoredEvent::Go(g) => bind_go_event(sqlx::query(INSERT_GO_EVENT), keys, time, g),
    };
    conn.execute(query).await.map(|_| ())
}

const READ_SESSION_TIME: &str = "SELECT update_time FROM sessions
    WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND id = CAST(? AS BINARY)";
const SET_SESSION_TIME: &str = "UPDATE sessions SET update_time = ?
    WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND id = CAST(? AS BINARY)";
const UPDATE_SESSION: &str = "UPDATE sessions SET state = ?, update_time = ?
    WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND id = CAST(? AS BINARY)";

/// The statements of one state table; the key is `(app)` or `(app, user)`.
struct ScopeSql {
    lock: &'static str,
    /// `(key…, state, update_time)`.
    insert: &'static str,
    /// `(state, update_time, key…)`.
    update: &'static str,
}

const APP_SCOPE: ScopeSql = ScopeSql {
    lock: "SELECT state FROM app_states WHERE app_name = CAST(? AS BINARY) FOR UPDATE",
    insert: "INSERT INTO app_states (app_name, state, update_time) VALUES (?, ?, ?)",
    update: "UPDATE app_states SET state = ?, update_time = ? WHERE app_name = CAST(? AS BINARY)",
};

const USER_SCOPE: ScopeSql = ScopeSql {
    lock: "SELECT state FROM user_states WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) FOR UPDATE",
    insert: "INSERT INTO user_states (app_name, user_id, state, update_time) VALUES (?, ?, ?, ?)",
    update: "UPDATE user_states SET state = ?, update_time = ? WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY)",
};

/// Merges `delta` into one state row under its row lock (creating the row when missing)
/// and returns the merged state.
async fn merge_scope(
    conn: &mut MySqlConnection,
    sql: &ScopeSql,
    key: &[&str],
    delta: &JsonMap,
    now: NaiveDateTime,
) -> Result<JsonMap, Fail> {
    // Twice at most: a lost race on the insert means the row now exists.
    for _ in 0..2 {
        let mut lock = sqlx::query(sql.lock);
        for k in key {
            lock = lock.bind(*k);
        }
        if let Some(row) = conn.fetch_optional(lock).await? {
            let mut state = state_from_json(&row.try_get::<String, _>(0)?, "state")?;
            if !delta.is_empty() {
                apply_delta(&mut state, delta);
                let mut update = sqlx::query(sql.update).bind(delta_json(&state)).bind(now);
                for k in key {
                    update = update.bind(*k);
                }
                conn.execute(update).await?;
            }
            return Ok(state);
        }
        let mut insert = sqlx::query(sql.insert);
        for k in key {
            insert = insert.bind(*k);
        }
        match conn.execute(insert.bind(delta_json(delta)).bind(now)).await {
            Ok(_) => return Ok(delta.clone()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // The exact key has no row, yet the insert collides: another key that the table's
    // collation takes as equal (`alice` for `alice `, or `Alice` on a case-insensitive
    // table) holds the row. Never merge into it.
    Err(Fail::Lib(Error::InvalidArgument(format!(
        "{key:?} cannot get a state row of its own in this database: its key columns use a \
         collation that takes it as equal to another stored key (differing only in case, \
         accents or trailing spaces); use a database whose tables adk-sessions created \
         (binary collation without padding)"
    ))))
}

/// The byte-exact collation of a server reporting `version` (`SELECT VERSION()`).
/// Reads back the revision `written` just stored for the session `keys`. When it has a
/// fraction and the column kept it without one (a whole-second `DATETIME`, as adk-js's
/// schema update leaves it), stores `whole` instead, so the revision stays exact and
/// unique, and returns it.
async fn exact_revision(
    conn: &mut MySqlConnection,
    [app, user, id]: [&str; 3],
    written: NaiveDateTime,
    whole: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, Fail> {
    if Timestamp::from_naive(written).as_micros() % 1_000_000 == 0 {
        return Ok(None);
    }
    let back: NaiveDateTime = conn
        .fetch_one(sqlx::query(READ_SESSION_TIME).bind(app).bind(user).bind(id))
        .await?
        .try_get(0)?;
    if back == written {
        return Ok(None);
    }
    conn.execute(
        sqlx::query(SET_SESSION_TIME)
            .bind(whole)
            .bind(app)
            .bind(user)
            .bind(id),
    )
    .await?;
    Ok(Some(whole))
}

/// Merges an append's `app:` and `user:` deltas into their rows (app first), in `conn`'s
/// transaction.
async fn merge_deltas(conn: &mut MySqlConnection, a: &AppendRow<'_>) -> Result<(), Fail> {
    if !a.delta.app.is_empty() {
        merge_scope(conn, &APP_SCOPE, &[a.app_name], &a.delta.app, a.now).await?;
    }
    if !a.delta.user.is_empty() {
        merge_scope(
            conn,
            &USER_SCOPE,
            &[a.app_name, a.user_id],
            &a.delta.user,
            a.now,
        )
        .await?;
    }
    Ok(())
}

fn exact_collation(version: &str) -> &'static str {
    if version.contains("MariaDB") {
        return "utf8mb4_nopad_bin";
    }
    let major: u32 = version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major >= 8 {
        "utf8mb4_0900_bin"
    } else {
        "utf8mb4_bin"
    }
}

impl Dialect for MysqlDialect {
    type DB = MySql;
    const BACKEND: &'static str = "mysql";
    const SQL: Statements = Statements {
        ddl: DDL,
        list_indexes: &[],
        schema_lock: "SELECT GET_LOCK(CONCAT('adk_sessions_schema.', DATABASE()), 60)",
        schema_unlock: "SELECT RELEASE_LOCK(CONCAT('adk_sessions_schema.', DATABASE()))",
        table_columns: "SELECT CAST(column_name AS CHAR) FROM information_schema.columns
            WHERE table_schema = DATABASE() AND table_name = ?",
        revision_precision: Some(
            "SELECT CAST(COALESCE(datetime_precision, 0) AS SIGNED) FROM information_schema.columns
            WHERE table_schema = DATABASE() AND table_name = 'sessions' AND column_name = 'update_time'",
        ),
        read_metadata: "SELECT `value` FROM adk_internal_metadata WHERE `key` = ?",
        insert_metadata: "INSERT IGNORE INTO adk_internal_metadata (`key`, `value`) VALUES (?, ?)",
        load_session: "SELECT s.update_time, s.state, a.state, u.state
            FROM sessions s
            LEFT JOIN app_states a ON a.app_name = s.app_name
        AND CAST(a.app_name AS BINARY) = CAST(s.app_name AS BINARY)
            LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id
        AND CAST(u.app_name AS BINARY) = CAST(s.app_name AS BINARY)
        AND CAST(u.user_id AS BINARY) = CAST(s.user_id AS BINARY)
            WHERE s.app_name = CAST(? AS BINARY) AND s.user_id = CAST(? AS BINARY) AND s.id = CAST(? AS BINARY)",
        load_with_events: None,
        events_newest: "SELECT event_data FROM events
            WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND session_id = CAST(? AS BINARY)
            ORDER BY `timestamp` DESC, id DESC LIMIT ?",
        events_newest_after: "SELECT event_data FROM events
            WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND session_id = CAST(? AS BINARY) AND `timestamp` >= ?
            ORDER BY `timestamp` DESC, id DESC LIMIT ?",
        list: [
            list_sql!("s.app_name = CAST(? AS BINARY)"),
            list_sql!(
                "s.app_name = CAST(? AS BINARY) AND s.update_time >= ?
                AND (s.update_time, s.user_id, s.id) > (?, ?, ?)"
            ),
            list_sql!("s.app_name = CAST(? AS BINARY) AND s.user_id = CAST(? AS BINARY)"),
            list_sql!(
                "s.app_name = CAST(? AS BINARY) AND s.user_id = CAST(? AS BINARY) AND s.update_time >= ?
                AND (s.update_time, s.user_id, s.id) > (?, ?, ?)"
            ),
        ],
        delete_events: "DELETE FROM events WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND session_id = CAST(? AS BINARY)",
        delete_session: "DELETE FROM sessions WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY) AND id = CAST(? AS BINARY)",
        user_state: "SELECT state FROM user_states WHERE app_name = CAST(? AS BINARY) AND user_id = CAST(? AS BINARY)",
        app_state: "SELECT state FROM app_states WHERE app_name = CAST(? AS BINARY)",
        list_apps: "SELECT DISTINCT CAST(app_name AS CHAR) FROM sessions ORDER BY CAST(app_name AS BINARY)",
    };

    const GO: GoStatements = GoStatements {
        tables: GO_TABLES,
        indexes: &[],
        events_newest: select_go_events!(""),
        events_newest_after: select_go_events!(" AND `timestamp` >= ?"),
        // MariaDB has no LATERAL join: the session row, then its events.
        load_with_events: None,
    };

    fn adapt_ddl(ddl: &str, server_version: &str) -> String {
        ddl.replace(collation_placeholder!(), exact_collation(server_version))
    }

    async fn connect(url: &str, pool: PoolOptions<MySql>) -> Result<MySqlPool, sqlx::Error> {
        let options: MySqlConnectOptions = url.parse()?;
        pool.after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .await?;
                Ok(())
            })
        })
        .connect_with(options.charset("utf8mb4"))
        .await
    }

    async fn create(pool: &MySqlPool, new: &NewSession<'_>) -> Result<ScopeStates, Fail> {
        let mut tx = pool.begin().await?;
        tx.execute(
            sqlx::query(INSERT_SESSION)
                .bind(new.app_name)
                .bind(new.user_id)
                .bind(new.session_id)
                .bind(delta_json(&new.delta.session))
                .bind(new.now)
                .bind(new.now),
        )
        .await?;
        let app = merge_scope(
            &mut tx,
            &APP_SCOPE,
            &[new.app_name],
            &new.delta.app,
            new.now,
        )
        .await?;
        let user = merge_scope(
            &mut tx,
            &USER_SCOPE,
            &[new.app_name, new.user_id],
            &new.delta.user,
            new.now,
        )
        .await?;
        // The initial events, in the same transaction: all of them or none.
        for e in new.events {
            insert_event(
                &mut tx,
                [new.app_name, new.user_id, new.session_id],
                &e.id,
                &e.invocation_id,
                e.time,
                &e.stored,
            )
            .await?;
        }
        if new.revision != new.now {
            tx.execute(
                sqlx::query(SET_SESSION_TIME)
                    .bind(new.revision)
                    .bind(new.app_name)
                    .bind(new.user_id)
                    .bind(new.session_id),
            )
            .await?;
        }
        // As in `append`: a revision the column stored without its fraction is replaced
        // by the next whole second.
        let keys = [new.app_name, new.user_id, new.session_id];
        let whole = Timestamp::from_naive(new.revision).ceil_second().to_naive();
        let coarse_revision = exact_revision(&mut tx, keys, new.revision, whole).await?;
        tx.commit().await?;
        Ok(ScopeStates {
            app,
            user,
            coarse_revision,
        })
    }

    async fn append(pool: &MySqlPool, a: &AppendRow<'_>) -> Result<AppendOutcome, Fail> {
        let mut tx = pool.begin().await?;
        // Row locks in the order the other runtime on this database takes them, so the
        // two never wait on each other in a cycle: adk-python locks the session row
        // first; adk-go writes app_states, then user_states, then the session.
        let adk_go_order = matches!(a.stored, StoredEvent::Go(_));
        if adk_go_order {
            merge_deltas(&mut tx, a).await?;
        }
        let row = tx
            .fetch_optional(
                sqlx::query(LOCK_SESSION)
                    .bind(a.app_name)
                    .bind(a.user_id)
                    .bind(a.session_id),
            )
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(AppendOutcome::Missing);
        };
        let stored: NaiveDateTime = row.try_get(0)?;
        let update_time = match a.expected {
            Some(expected) if stored != expected => {
                tx.rollback().await?;
                return Ok(AppendOutcome::Stale(Timestamp::from_naive(stored)));
            }
            Some(_) => a.update_time,
            // No precondition: move the revision forward from whatever is stored.
            None => a
                .update_time
                .max(stored + chrono::Duration::microseconds(1)),
        };
        // Whole-second columns: the next whole second, at least one past the stored one.
        let update_time = if a.whole_seconds {
            Timestamp::from_naive(update_time.max(stored + chrono::Duration::seconds(1)))
                .ceil_second()
                .to_naive()
        } else {
            update_time
        };
        let event_time = if a.whole_seconds {
            Timestamp::from_naive(a.event_time)
                .floor_second()
                .to_naive()
        } else {
            a.event_time
        };
        let mut state = state_from_json(&row.try_get::<String, _>(1)?, "sessions.state")?;
        insert_event(
            &mut tx,
            [a.app_name, a.user_id, a.session_id],
            &a.event.id,
            &a.event.invocation_id,
            event_time,
            &a.stored,
        )
        .await?;
        apply_delta(&mut state, &a.delta.session);
        tx.execute(
            sqlx::query(UPDATE_SESSION)
                .bind(delta_json(&state))
                .bind(update_time)
                .bind(a.app_name)
                .bind(a.user_id)
                .bind(a.session_id),
        )
        .await?;
        // Another writer's schema update can take the fraction off the column while this
        // service runs (adk-js's does): read the revision back, and when it lost its
        // fraction, store the next whole second instead, so the revision stays exact and
        // unique.
        let coarse = if a.whole_seconds {
            None
        } else {
            let keys = [a.app_name, a.user_id, a.session_id];
            let whole =
                Timestamp::from_naive(update_time.max(stored + chrono::Duration::seconds(1)))
                    .ceil_second()
                    .to_naive();
            exact_revision(&mut tx, keys, update_time, whole).await?
        };
        if !adk_go_order {
            merge_deltas(&mut tx, a).await?;
        }
        tx.commit().await?;
        Ok(match coarse {
            Some(whole) => AppendOutcome::Coarse(Timestamp::from_naive(whole)),
            None => AppendOutcome::Done(Timestamp::from_naive(update_time)),
        })
    }
}
