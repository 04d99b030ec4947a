//! The SQLite dialect in one place: the DDL of adk-python's schema version 1 (byte for
//! byte what SQLAlchemy emits for adk-python 2.13, so adk-python's tables look the same
//! in `sqlite_master` whoever created the file), our two list indexes of a fresh file,
//! every statement the backend runs, and the text form of
//! the `DATETIME` columns (naive UTC `YYYY-MM-DD HH:MM:SS.ffffff`, as SQLAlchemy writes
//! them; values without a fraction, as SQLite's `CURRENT_TIMESTAMP` writes them, are
//! read too).

use chrono::NaiveDateTime;
use rusqlite::types::ValueRef;

use crate::sql::StorageLayout;
use crate::time::Timestamp;

/// The tables and index of schema version 1, in creation order (parents first).
pub const DDL: [&str; 6] = [
    "CREATE TABLE adk_internal_metadata (\n\t\"key\" VARCHAR(128) NOT NULL, \n\tvalue VARCHAR(256) NOT NULL, \n\tPRIMARY KEY (\"key\")\n)",
    "CREATE TABLE sessions (\n\tapp_name VARCHAR(128) NOT NULL, \n\tuser_id VARCHAR(128) NOT NULL, \n\tid VARCHAR(128) NOT NULL, \n\tstate TEXT NOT NULL, \n\tcreate_time DATETIME NOT NULL, \n\tupdate_time DATETIME NOT NULL, \n\tPRIMARY KEY (app_name, user_id, id)\n)",
    "CREATE TABLE app_states (\n\tapp_name VARCHAR(128) NOT NULL, \n\tstate TEXT NOT NULL, \n\tupdate_time DATETIME NOT NULL, \n\tPRIMARY KEY (app_name)\n)",
    "CREATE TABLE user_states (\n\tapp_name VARCHAR(128) NOT NULL, \n\tuser_id VARCHAR(128) NOT NULL, \n\tstate TEXT NOT NULL, \n\tupdate_time DATETIME NOT NULL, \n\tPRIMARY KEY (app_name, user_id)\n)",
    "CREATE TABLE events (\n\tid VARCHAR(128) NOT NULL, \n\tapp_name VARCHAR(128) NOT NULL, \n\tuser_id VARCHAR(128) NOT NULL, \n\tsession_id VARCHAR(128) NOT NULL, \n\tinvocation_id VARCHAR(256) NOT NULL, \n\ttimestamp DATETIME NOT NULL, \n\tevent_data TEXT, \n\tPRIMARY KEY (id, app_name, user_id, session_id), \n\tFOREIGN KEY(app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE\n)",
    "CREATE INDEX idx_events_app_user_session_ts_id ON events (app_name, user_id, session_id, timestamp DESC, id DESC)",
];

/// The table (or index) each [`DDL`] statement creates, same order.
pub const DDL_NAMES: [&str; 6] = [
    "adk_internal_metadata",
    "sessions",
    "app_states",
    "user_states",
    "events",
    "idx_events_app_user_session_ts_id",
];

/// Our own indexes for `list`, created with the `sessions` table when this project
/// creates it (a fresh file) and never added to a file adk-python created, which is used
/// without any DDL. `list` pages in keyset order `(update_time, user_id, id)` within an
/// app; without an index for that order every page reads and sorts all sessions of the
/// app (`USE TEMP B-TREE FOR ORDER BY`). Both orders are needed: the first serves a list
/// over the whole app (`app_name = ? AND (update_time, user_id, id) > (…)`, a range seek);
/// with a user filter it would scan the app's sessions of every user in order (and with a
/// cursor SQLite sorts again, `USE TEMP B-TREE FOR RIGHT PART OF ORDER BY`), so the
/// second, where `user_id` is an equality ahead of the order, serves `list(app, user)` —
/// adk-python's own `list_sessions` call — as a range seek too. Each costs one index entry
/// update per append (the append moves `update_time`).
pub const LIST_INDEXES: [(&str, &str); 2] = [
    (
        "idx_sessions_app_update_user_id",
        "CREATE INDEX idx_sessions_app_update_user_id ON sessions (app_name, update_time, user_id, id)",
    ),
    (
        "idx_sessions_app_user_update_id",
        "CREATE INDEX idx_sessions_app_user_update_id ON sessions (app_name, user_id, update_time, id)",
    ),
];

/// adk-go's tables, `(name, DDL)`, exactly as GORM's AutoMigrate creates them with the
/// glebarez SQLite driver from adk-go v2.2's `session/database` (parents first).
pub const GO_DDL: [(&str, &str); 4] = [
    (
        "sessions",
        "CREATE TABLE `sessions` (`app_name` text,`user_id` text,`id` text,`state` text,`create_time` datetime,`update_time` datetime,PRIMARY KEY (`app_name`,`user_id`,`id`))",
    ),
    (
        "events",
        "CREATE TABLE `events` (`id` text,`app_name` text,`user_id` text,`session_id` text,`invocation_id` text,`author` text,`actions` blob,`long_running_tool_ids_json` text,`routes_json` text,`output_json` text,`node_info_json` text,`requested_input_json` text,`branch` text,`isolation_scope` text,`timestamp` datetime,`content` text,`grounding_metadata` text,`custom_metadata` text,`usage_metadata` text,`citation_metadata` text,`partial` numeric,`turn_complete` numeric,`error_code` text,`error_message` text,`interrupted` numeric,PRIMARY KEY (`id`,`app_name`,`user_id`,`session_id`),CONSTRAINT `fk_sessions_events` FOREIGN KEY (`app_name`,`user_id`,`session_id`) REFERENCES `sessions`(`app_name`,`user_id`,`id`) ON DELETE CASCADE)",
    ),
    (
        "app_states",
        "CREATE TABLE `app_states` (`app_name` text,`state` text,`update_time` datetime,PRIMARY KEY (`app_name`))",
    ),
    (
        "user_states",
        "CREATE TABLE `user_states` (`app_name` text,`user_id` text,`state` text,`update_time` datetime,PRIMARY KEY (`app_name`,`user_id`))",
    ),
];

/// Our index on adk-go's `events`, created with an `events` table this project creates
/// (GORM's has only the primary key, so reading a session's events scans the table);
/// GORM's AutoMigrate leaves an index it does not know alone.
pub const GO_EVENTS_INDEX: (&str, &str) = (
    "idx_events_app_user_session_ts_id",
    "CREATE INDEX idx_events_app_user_session_ts_id ON events (app_name, user_id, session_id, timestamp DESC, id DESC)",
);

/// Inserts an adk-go `events` row: the columns of [`crate::sql::adk_go::EVENTS_COLUMNS`]
/// in order.
pub const INSERT_GO_EVENT: &str = "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, author, actions, long_running_tool_ids_json, routes_json, output_json, node_info_json, requested_input_json, branch, isolation_scope, timestamp, content, grounding_metadata, custom_metadata, usage_metadata, citation_metadata, partial, turn_complete, error_code, error_message, interrupted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)";

/// The columns of an adk-go event row, in the order [`crate::sql::adk_go::GoEventRow`]
/// is read (the key columns left out), then `$tail`.
macro_rules! select_go_events {
    ($tail:literal) => {
        concat!(
            "SELECT id, invocation_id, author, actions, long_running_tool_ids_json, routes_json, output_json, node_info_json, requested_input_json, branch, isolation_scope, timestamp, content, grounding_metadata, custom_metadata, usage_metadata, citation_metadata, partial, turn_complete, error_code, error_message, interrupted FROM events",
            $tail
        )
    };
}

/// adk-go events of a session, newest first, at most `?4` (-1 = all).
pub const SELECT_GO_EVENTS: &str = select_go_events!(
    " WHERE app_name = ?1 AND user_id = ?2 AND session_id = ?3 ORDER BY timestamp DESC, id DESC LIMIT ?4"
);
/// adk-go events of a session at or after `?5`, newest first, at most `?4` (-1 = all).
pub const SELECT_GO_EVENTS_AFTER: &str = select_go_events!(
    " WHERE app_name = ?1 AND user_id = ?2 AND session_id = ?3 AND timestamp >= ?5 ORDER BY timestamp DESC, id DESC LIMIT ?4"
);

/// Every table and index in `sqlite_master` that the schema knows: `(type, name)`.
pub const SELECT_MASTER: &str =
    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')";
/// `(table)` → the names of its columns.
pub const TABLE_COLUMNS: &str = "SELECT name FROM pragma_table_info(?1)";
/// The stored schema version.
pub const SELECT_VERSION: &str = "SELECT value FROM adk_internal_metadata WHERE \"key\" = ?1";
/// Records the schema version (kept if present).
pub const INSERT_VERSION: &str =
    "INSERT OR IGNORE INTO adk_internal_metadata (\"key\", value) VALUES (?1, ?2)";

/// Starts a write transaction that takes SQLite's write lock at once.
pub const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";
/// Starts a read transaction (one snapshot for the statements of a read).
pub const BEGIN: &str = "BEGIN";
/// Commits.
pub const COMMIT: &str = "COMMIT";
/// Rolls back.
pub const ROLLBACK: &str = "ROLLBACK";
/// Opens the savepoint of one operation of a group commit.
pub const SAVEPOINT: &str = "SAVEPOINT op";
/// Keeps the operation's changes.
pub const RELEASE: &str = "RELEASE op";
/// Undoes the operation's changes (then [`RELEASE`] closes the savepoint).
pub const ROLLBACK_TO: &str = "ROLLBACK TO op";

/// A session's state and revision.
pub const SELECT_SESSION: &str =
    "SELECT state, update_time FROM sessions WHERE app_name = ?1 AND user_id = ?2 AND id = ?3";
/// A session's revision.
pub const SELECT_SESSION_TIME: &str =
    "SELECT update_time FROM sessions WHERE app_name = ?1 AND user_id = ?2 AND id = ?3";
/// Inserts a session: key, state, create and update time.
pub const INSERT_SESSION: &str = "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
/// Moves the revision when it is still `?5` (the compare-and-set of an append without a
/// session delta).
pub const CAS_SESSION_TIME: &str = "UPDATE sessions SET update_time = ?4 WHERE app_name = ?1 AND user_id = ?2 AND id = ?3 AND update_time = ?5";
/// Moves the revision (after it was checked in this transaction).
pub const SET_SESSION_TIME: &str =
    "UPDATE sessions SET update_time = ?4 WHERE app_name = ?1 AND user_id = ?2 AND id = ?3";
/// Writes state and revision (after the revision was checked in this transaction).
pub const UPDATE_SESSION: &str = "UPDATE sessions SET state = ?4, update_time = ?5 WHERE app_name = ?1 AND user_id = ?2 AND id = ?3";
/// Deletes a session's events (the cascade would too; explicit like adk-python).
pub const DELETE_EVENTS: &str =
    "DELETE FROM events WHERE app_name = ?1 AND user_id = ?2 AND session_id = ?3";
/// Deletes a session.
pub const DELETE_SESSION: &str =
    "DELETE FROM sessions WHERE app_name = ?1 AND user_id = ?2 AND id = ?3";
/// Inserts an event row.
pub const INSERT_EVENT: &str = "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Every app with a session, sorted.
pub const SELECT_APPS: &str = "SELECT DISTINCT app_name FROM sessions ORDER BY app_name";

/// An app's state.
pub const SELECT_APP_STATE: &str = "SELECT state FROM app_states WHERE app_name = ?1";
/// Writes an app's state.
pub const UPSERT_APP_STATE: &str = "INSERT INTO app_states (app_name, state, update_time) VALUES (?1, ?2, ?3) ON CONFLICT (app_name) DO UPDATE SET state = excluded.state, update_time = excluded.update_time";
/// A user's state.
pub const SELECT_USER_STATE: &str =
    "SELECT state FROM user_states WHERE app_name = ?1 AND user_id = ?2";
/// Writes a user's state.
pub const UPSERT_USER_STATE: &str = "INSERT INTO user_states (app_name, user_id, state, update_time) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (app_name, user_id) DO UPDATE SET state = excluded.state, update_time = excluded.update_time";

/// Events of a session, newest first, at most `?4` (-1 = all).
pub const SELECT_EVENTS: &str = "SELECT id, invocation_id, timestamp, event_data FROM events WHERE app_name = ?1 AND user_id = ?2 AND session_id = ?3 ORDER BY timestamp DESC, id DESC LIMIT ?4";
/// Events of a session at or after `?5`, newest first, at most `?4` (-1 = all).
pub const SELECT_EVENTS_AFTER: &str = "SELECT id, invocation_id, timestamp, event_data FROM events WHERE app_name = ?1 AND user_id = ?2 AND session_id = ?3 AND timestamp >= ?5 ORDER BY timestamp DESC, id DESC LIMIT ?4";

const LIST_HEAD: &str = "SELECT s.user_id, s.id, s.state, s.update_time, u.state FROM sessions s LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id WHERE s.app_name = ?1";
const LIST_TAIL: &str = " ORDER BY s.update_time, s.user_id, s.id LIMIT ?2";

/// The `list` query for an optional user and an optional cursor. Parameters: `?1` app,
/// `?2` limit, then the user when `by_user`, then the cursor (update time text, user,
/// id) when `after_cursor`.
pub fn list_sql(by_user: bool, after_cursor: bool) -> String {
    let mut sql = String::from(LIST_HEAD);
    let mut next = 3;
    if by_user {
        sql.push_str(" AND s.user_id = ?3");
        next = 4;
    }
    if after_cursor {
        sql.push_str(&format!(
            " AND (s.update_time, s.user_id, s.id) > (?{}, ?{}, ?{})",
            next,
            next + 1,
            next + 2
        ));
    }
    sql.push_str(LIST_TAIL);
    sql
}

/// The `DATETIME` text of a time: `YYYY-MM-DD HH:MM:SS.ffffff`, naive UTC.
pub fn time_text(t: Timestamp) -> String {
    t.to_sql_text()
}

/// The `datetime` text adk-go writes: Go's `2006-01-02 15:04:05.999999999-07:00`
/// (trailing fractional zeros dropped, the zone as an offset) in this process's local
/// zone, as adk-go writes `time.Now()` on the same host. Texts of one offset sort in time
/// order (`+`/`-` sort before `.` and the digits), which `ORDER BY` and `>=` rely on.
pub fn go_time_text(t: Timestamp) -> String {
    use chrono::{Local, Offset, TimeZone};
    let offset = match Local.timestamp_micros(t.0) {
        chrono::LocalResult::Single(local) => local.offset().fix(),
        chrono::LocalResult::Ambiguous(earlier, _) => earlier.offset().fix(),
        chrono::LocalResult::None => chrono::FixedOffset::east_opt(0).unwrap_or(chrono::Utc.fix()),
    };
    go_time_text_at(t, offset)
}

/// [`go_time_text`] at a given offset.
pub fn go_time_text_at(t: Timestamp, offset: chrono::FixedOffset) -> String {
    let secs = i64::from(offset.local_minus_utc());
    let local = Timestamp(t.0 + secs * 1_000_000).to_sql_text();
    let (whole, frac) = local.split_at(19);
    let frac = frac.trim_end_matches('0');
    let frac = if frac == "." { "" } else { frac };
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    format!("{whole}{frac}{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
}

/// The text a layout stores for a time.
pub fn layout_time_text(layout: StorageLayout, t: Timestamp) -> String {
    match layout {
        StorageLayout::AdkGo => go_time_text(t),
        _ => time_text(t),
    }
}

/// Reads a `DATETIME` value as every ADK runtime writes it: naive UTC text with or
/// without a fraction (adk-python, this crate), text with a zone offset (adk-go:
/// `2006-01-02 15:04:05.999999999-07:00`; RFC 3339), or an epoch number — integer or
/// real, seconds or milliseconds by magnitude (adk-js writes integer milliseconds; see
/// `EPOCH_MILLIS_FROM`). `None` when it is none of these.
pub fn parse_time(value: ValueRef<'_>) -> Option<Timestamp> {
    match value {
        ValueRef::Text(bytes) => parse_time_text(std::str::from_utf8(bytes).ok()?),
        ValueRef::Integer(n) if (n.unsigned_abs() as f64) < crate::time::EPOCH_MILLIS_FROM => {
            Some(Timestamp(n.checked_mul(1_000_000)?))
        }
        ValueRef::Integer(ms) => Some(Timestamp(ms.checked_mul(1_000)?)),
        ValueRef::Real(n) => Timestamp::from_secs_f64(crate::time::epoch_secs(n)),
        _ => None,
    }
}

/// Reads `DATETIME` text (see [`parse_time`]).
pub fn parse_time_text(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Some(t) = Timestamp::parse_sql_text(text) {
        return Some(t);
    }
    if let Some(t) = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    {
        return Some(Timestamp::from_naive(t));
    }
    // With a zone offset: adk-go's `…-07:00` (also `Z`, `+0000`), with a space or a `T`.
    let zoned = [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ]
    .iter()
    .find_map(|f| chrono::DateTime::parse_from_str(text, f).ok())
    .or_else(|| chrono::DateTime::parse_from_rfc3339(text).ok());
    if let Some(t) = zoned {
        return Some(Timestamp(t.timestamp_micros()));
    }
    // A number written as text.
    text.parse::<f64>()
        .ok()
        .and_then(|n| Timestamp::from_secs_f64(crate::time::epoch_secs(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_fractionless_text_is_read() {
        let t = Timestamp(1_795_653_845_087_631);
        assert_eq!(time_text(t), "2026-11-26 00:44:05.087631");
        assert_eq!(parse_time_text(&time_text(t)), Some(t));
        assert_eq!(
            parse_time_text("2026-11-26 00:44:05"),
            Some(Timestamp(1_795_653_845_000_000))
        );
        assert_eq!(parse_time_text("not a time"), None);
    }

    #[test]
    fn adk_go_time_text_is_gos_format_and_sorts() {
        let t = Timestamp(1_795_653_845_087_630);
        assert_eq!(go_time_text(t), "2026-11-26 00:44:05.08763+00:00");
        assert_eq!(parse_time_text(&go_time_text(t)), Some(t));
        let whole = Timestamp(1_795_653_845_000_000);
        assert_eq!(go_time_text(whole), "2026-11-26 00:44:05+00:00");
        let times = [
            whole,
            Timestamp(1_795_653_845_000_001),
            t,
            Timestamp(1_795_653_845_100_000),
        ];
        for pair in times.windows(2) {
            assert!(go_time_text(pair[0]) < go_time_text(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn every_runtimes_time_spelling_is_the_same_instant() {
        // 2026-11-30T10:00:00.25Z
        let want = Some(Timestamp(1_796_032_800_250_000));
        for text in [
            "2026-11-30 10:00:00.25",       // adk-python / ours (naive UTC)
            "2026-11-30T10:00:00.250000",   // naive with T
            "2026-11-30 05:00:00.25-05:00", // adk-go, writer's local zone
            "2026-11-30 11:00:00.250000000+01:00",
            "2026-11-30T10:00:00.25Z", // RFC 3339
            "2026-11-30 10:00:00.25+0000",
            "1796032800250", // epoch ms as text
            "1796032800.25", // epoch seconds as text
        ] {
            assert_eq!(parse_time_text(text), want, "{text}");
        }
        // adk-js: integer epoch milliseconds; reals in either unit.
        assert_eq!(parse_time(ValueRef::Integer(1_796_032_800_250)), want);
        assert_eq!(parse_time(ValueRef::Real(1_796_032_800_250.0)), want);
        assert_eq!(parse_time(ValueRef::Real(1_796_032_800.25)), want);
        assert_eq!(
            parse_time(ValueRef::Integer(1_796_032_800)),
            Some(Timestamp(1_796_032_800_000_000))
        );
    }
}
