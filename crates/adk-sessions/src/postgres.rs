//! PostgreSQL: the SQL text and type mapping of the shared sqlx service on
//! PostgreSQL, on adk-python's schema v1 exactly as `DatabaseSessionService`
//! (`postgresql+asyncpg://`) creates it: `JSONB` state and event data,
//! `TIMESTAMP WITHOUT TIME ZONE` (naive UTC) times. A database whose time columns are
//! `TIMESTAMP WITH TIME ZONE` (as adk-js's `DatabaseSessionService` creates them) works
//! the same: connections run with `TimeZone=UTC`, times are read as `::timestamp` and
//! written as naive UTC, which is exact for both column types.
//!
//! JSON travels as text (`$n::jsonb` in, `col::text` out). Both writes are one statement
//! each, so one round trip and an implicit transaction:
//! - create upserts the app and user state rows (`jsonb ||` merges the initial keys
//!   atomically; a JSON null stays a stored null) and inserts the session; a taken key
//!   fails the whole statement with a unique violation;
//! - append locks the session row (`FOR UPDATE` in a CTE), and only when its revision is
//!   the handle's inserts the event, updates the session and merges the app/user deltas
//!   with `INSERT … ON CONFLICT DO UPDATE SET state = state || delta` (row-locked by the
//!   server, so concurrent writers of other sessions never lose a key, and the first-ever
//!   row created by two writers is not an error). Row locks are taken in one order —
//!   session, app, user — as adk-python does.

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, Postgres};
use sqlx::Row;

use crate::sql::common::state_from_json;
use crate::sql::server::{
    bind_go_event, delta_json, AppendOutcome, AppendRow, Dialect, Fail, GoStatements, NewSession,
    ScopeStates, Statements, StoredEvent,
};
use crate::time::Timestamp;

crate::sql::server::server_backend!(
    /// Sessions in PostgreSQL, on adk-python's schema v1 (see the module docs).
    PostgresSessionService,
    PostgresDialect,
    Postgres,
    sqlx::PgPool
);

/// The PostgreSQL dialect.
#[derive(Debug)]
pub(crate) struct PostgresDialect;

const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS adk_internal_metadata (
        key VARCHAR(128) NOT NULL,
        value VARCHAR(256) NOT NULL,
        PRIMARY KEY (key)
    )",
    "CREATE TABLE IF NOT EXISTS app_states (
        app_name VARCHAR(128) NOT NULL,
        state JSONB NOT NULL,
        update_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        PRIMARY KEY (app_name)
    )",
    "CREATE TABLE IF NOT EXISTS user_states (
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        state JSONB NOT NULL,
        update_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        PRIMARY KEY (app_name, user_id)
    )",
    "CREATE TABLE IF NOT EXISTS sessions (
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        id VARCHAR(128) NOT NULL,
        state JSONB NOT NULL,
        create_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        update_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        PRIMARY KEY (app_name, user_id, id)
    )",
    "CREATE TABLE IF NOT EXISTS events (
        id VARCHAR(128) NOT NULL,
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        session_id VARCHAR(128) NOT NULL,
        invocation_id VARCHAR(256) NOT NULL,
        timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        event_data JSONB,
        PRIMARY KEY (id, app_name, user_id, session_id),
        FOREIGN KEY (app_name, user_id, session_id)
            REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE
    )",
    "CREATE INDEX IF NOT EXISTS idx_events_app_user_session_ts_id
        ON events (app_name, user_id, session_id, timestamp DESC, id DESC)",
];

/// Our `list` indexes, created only with a `sessions` table this project creates (see
/// `LIST_INDEXES` of the SQLite backend for why both orders): the keyset order
/// `(update_time, user_id, id)` within an app, and within an app and user.
const LIST_INDEXES: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS idx_sessions_app_update_user_id
        ON sessions (app_name, update_time, user_id, id)",
    "CREATE INDEX IF NOT EXISTS idx_sessions_app_user_update_id
        ON sessions (app_name, user_id, update_time, id)",
];

macro_rules! list_sql {
    ($where:literal) => {
        concat!(
            "SELECT s.user_id, s.id, s.update_time::timestamp, s.state::text, a.state::text, u.state::text
    FROM sessions s
    LEFT JOIN app_states a ON a.app_name = s.app_name
    LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id
    WHERE ",
            $where,
            " ORDER BY s.update_time, s.user_id, s.id"
        )
    };
}

/// A session row with its newest events (filtered by `$extra`, at most `$limit`) as a
/// JSON array, oldest first.
macro_rules! load_with_events {
    ($extra:literal, $limit:literal) => {
        concat!(
            "SELECT s.update_time::timestamp, s.state::text, a.state::text, u.state::text,
        (SELECT coalesce(json_agg(e.event_data ORDER BY e.timestamp, e.id), '[]'::json)::text
         FROM (SELECT event_data, timestamp, id FROM events
               WHERE app_name = $1 AND user_id = $2 AND session_id = $3",
            $extra,
            "
               ORDER BY timestamp DESC, id DESC LIMIT ",
            $limit,
            ") e)
    FROM sessions s
    LEFT JOIN app_states a ON a.app_name = s.app_name
    LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id
    WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3"
        )
    };
}

/// Create: app row, then user row, then the session (each CTE reads the previous one,
/// which fixes the lock order); one statement.
const CREATE: &str = "WITH app AS (
        INSERT INTO app_states (app_name, state, update_time) VALUES ($1, $4::jsonb, $7)
        ON CONFLICT (app_name) DO UPDATE
            SET state = app_states.state || EXCLUDED.state,
                update_time = CASE WHEN EXCLUDED.state = '{}'::jsonb
                    THEN app_states.update_time ELSE EXCLUDED.update_time END
        RETURNING state
    ), usr AS (
        INSERT INTO user_states (app_name, user_id, state, update_time)
        SELECT $1, $2, $5::jsonb, $7 FROM app
        ON CONFLICT (app_name, user_id) DO UPDATE
            SET state = user_states.state || EXCLUDED.state,
                update_time = CASE WHEN EXCLUDED.state = '{}'::jsonb
                    THEN user_states.update_time ELSE EXCLUDED.update_time END
        RETURNING state
    ), ses AS (
        INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time)
        SELECT $1, $2, $3, $6::jsonb, $7, $7 FROM usr
        RETURNING 1
    )
    SELECT (SELECT state::text FROM app), (SELECT state::text FROM usr),
        (SELECT count(*) FROM ses)";

/// A new session's initial events, from parallel arrays, and its first revision.
const INSERT_INITIAL_EVENTS: &str = "WITH ev AS (
        INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data)
        SELECT e.id, $1, $2, $3, e.inv, e.ts, e.data::jsonb
        FROM UNNEST($4::text[], $5::text[], $6::timestamp[], $7::text[]) AS e(id, inv, ts, data)
        RETURNING 1
    )
    UPDATE sessions SET update_time = $8
    WHERE app_name = $1 AND user_id = $2 AND id = $3 AND (SELECT count(*) FROM ev) >= 0";

/// Append: lock the session row, write only when its revision is the expected one (or
/// always, when `$4` is NULL: no precondition, the revision then moves to the later of the
/// event's time and one µs past the stored one); one statement. Returns the stored
/// revision (NULL when the session is missing) and the new one (NULL when nothing was
/// written).
macro_rules! append_sql {
    ($insert_event:literal) => {
        concat!(
            "WITH cur AS (
        SELECT update_time::timestamp AS update_time FROM sessions
        WHERE app_name = $1 AND user_id = $2 AND id = $3
        FOR UPDATE
    ), ok AS (
        SELECT 1 AS one FROM cur WHERE $4::timestamp IS NULL OR update_time = $4
    ), ev AS (",
            $insert_event,
            "
        RETURNING 1
    ), ses AS (
        UPDATE sessions SET state = state || $9::jsonb,
            update_time = CASE WHEN $4::timestamp IS NULL
                THEN GREATEST($10, (SELECT update_time FROM cur) + interval '1 microsecond')
                ELSE $10 END
        WHERE app_name = $1 AND user_id = $2 AND id = $3 AND EXISTS (SELECT 1 FROM ok)
        RETURNING update_time::timestamp AS update_time
    ), app AS (
        INSERT INTO app_states (app_name, state, update_time)
        SELECT $1, $11::jsonb, $13 FROM ok WHERE $11::jsonb <> '{}'::jsonb
        ON CONFLICT (app_name) DO UPDATE
            SET state = app_states.state || EXCLUDED.state, update_time = EXCLUDED.update_time
        RETURNING 1
    ), usr AS (
        INSERT INTO user_states (app_name, user_id, state, update_time)
        SELECT $1, $2, $12::jsonb, $13 FROM ok
        WHERE $12::jsonb <> '{}'::jsonb AND (SELECT count(*) FROM app) >= 0
        ON CONFLICT (app_name, user_id) DO UPDATE
            SET state = user_states.state || EXCLUDED.state, update_time = EXCLUDED.update_time
        RETURNING 1
    )
    SELECT (SELECT update_time FROM cur), (SELECT update_time FROM ses),
        (SELECT count(*) FROM ev) + (SELECT count(*) FROM usr)"
        )
    };
}

/// Append on adk-python's layout (see [`append_sql`]).
const APPEND: &str = append_sql!(
    "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data)
        SELECT $5, $1, $2, $3, $6, $7, $8::jsonb FROM ok"
);

/// Append on adk-go's layout: `$8` is the author, `$14`… the other event columns in
/// `adk_go::EVENTS_COLUMNS` order.
const APPEND_GO: &str = append_sql!(
    "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, author, actions,
            long_running_tool_ids_json, routes_json, output_json, node_info_json,
            requested_input_json, branch, isolation_scope, timestamp, content,
            grounding_metadata, custom_metadata, usage_metadata, citation_metadata, partial,
            turn_complete, error_code, error_message, interrupted)
        SELECT $5, $1, $2, $3, $6, $8, $14, $15::jsonb, $16::jsonb, $17::jsonb, $18::jsonb,
            $19::jsonb, $20, $21, $7, $22::jsonb, $23::jsonb, $24::jsonb, $25::jsonb,
            $26::jsonb, $27, $28, $29, $30, $31 FROM ok"
);

/// adk-go's tables as GORM's AutoMigrate creates them (adk-go v2.2, gorm.io/driver/postgres).
const GO_TABLES: &[(&str, &str)] = &[
    (
        "sessions",
        r#"CREATE TABLE IF NOT EXISTS "sessions" ("app_name" text,"user_id" text,"id" text,"state" JSONB,"create_time" timestamptz(6),"update_time" timestamptz(6),PRIMARY KEY ("app_name","user_id","id"))"#,
    ),
    (
        "events",
        r#"CREATE TABLE IF NOT EXISTS "events" ("id" text,"app_name" text,"user_id" text,"session_id" text,"invocation_id" text,"author" text,"actions" bytea,"long_running_tool_ids_json" JSONB,"routes_json" JSONB,"output_json" JSONB,"node_info_json" JSONB,"requested_input_json" JSONB,"branch" text,"isolation_scope" text,"timestamp" timestamptz(6),"content" JSONB,"grounding_metadata" JSONB,"custom_metadata" JSONB,"usage_metadata" JSONB,"citation_metadata" JSONB,"partial" boolean,"turn_complete" boolean,"error_code" text,"error_message" text,"interrupted" boolean,PRIMARY KEY ("id","app_name","user_id","session_id"),CONSTRAINT "fk_sessions_events" FOREIGN KEY ("app_name","user_id","session_id") REFERENCES "sessions"("app_name","user_id","id") ON DELETE CASCADE)"#,
    ),
    (
        "app_states",
        r#"CREATE TABLE IF NOT EXISTS "app_states" ("app_name" text,"state" JSONB,"update_time" timestamptz(6),PRIMARY KEY ("app_name"))"#,
    ),
    (
        "user_states",
        r#"CREATE TABLE IF NOT EXISTS "user_states" ("app_name" text,"user_id" text,"state" JSONB,"update_time" timestamptz(6),PRIMARY KEY ("app_name","user_id"))"#,
    ),
];

/// Our indexes on adk-go tables this project creates: the events of a session in time
/// order (GORM's table has only its primary key) and the two `list` orders.
const GO_INDEXES: &[(&str, &str)] = &[
    ("sessions", LIST_INDEXES[0]),
    ("sessions", LIST_INDEXES[1]),
    (
        "events",
        "CREATE INDEX IF NOT EXISTS idx_events_app_user_session_ts_id
        ON events (app_name, user_id, session_id, timestamp DESC, id DESC)",
    ),
];

/// Inserts one adk-go event row (bound by `bind_go_event`).
const INSERT_GO_EVENT: &str = "INSERT INTO events (id, app_name, user_id, session_id,
        invocation_id, author, actions, long_running_tool_ids_json, routes_json, output_json,
        node_info_json, requested_input_json, branch, isolation_scope, timestamp, content,
        grounding_metadata, custom_metadata, usage_metadata, citation_metadata, partial,
        turn_complete, error_code, error_message, interrupted)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb,
        $12::jsonb, $13, $14, $15, $16::jsonb, $17::jsonb, $18::jsonb, $19::jsonb, $20::jsonb,
        $21, $22, $23, $24, $25)";

/// Locks an app's state row (adk-go's lock order, see `append`).
const LOCK_APP_STATE: &str = "SELECT 1 FROM app_states WHERE app_name = $1 FOR UPDATE";
/// Locks a user's state row (adk-go's lock order, see `append`).
const LOCK_USER_STATE: &str =
    "SELECT 1 FROM user_states WHERE app_name = $1 AND user_id = $2 FOR UPDATE";

/// Moves a new session's revision to its latest initial event.
const SET_SESSION_TIME: &str =
    "UPDATE sessions SET update_time = $4 WHERE app_name = $1 AND user_id = $2 AND id = $3";

/// adk-go's layout: the session row with its newest events (filtered by `$where`, at
/// most `$limit`) joined laterally, one row per event, newest first.
macro_rules! load_go_session {
    ($where:literal, $limit:literal) => {
        concat!(
            "SELECT s.update_time::timestamp, s.state::text, a.state::text, u.state::text,
            e.id, e.invocation_id, e.author, e.actions, e.long_running_tool_ids_json::text,
            e.routes_json::text, e.output_json::text, e.node_info_json::text,
            e.requested_input_json::text, e.branch, e.isolation_scope, e.timestamp::timestamp,
            e.content::text, e.grounding_metadata::text, e.custom_metadata::text,
            e.usage_metadata::text, e.citation_metadata::text, e.partial, e.turn_complete,
            e.error_code, e.error_message, e.interrupted
        FROM sessions s
        LEFT JOIN app_states a ON a.app_name = s.app_name
        LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id
        LEFT JOIN LATERAL (
            SELECT * FROM events
            WHERE app_name = $1 AND user_id = $2 AND session_id = $3",
            $where,
            " ORDER BY timestamp DESC, id DESC LIMIT ",
            $limit,
            "
        ) e ON true
        WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3
        ORDER BY e.timestamp DESC, e.id DESC"
        )
    };
}

macro_rules! select_go_events {
    ($where:literal, $limit:literal) => {
        concat!(
            "SELECT id, invocation_id, author, actions, long_running_tool_ids_json::text,
            routes_json::text, output_json::text, node_info_json::text,
            requested_input_json::text, branch, isolation_scope, timestamp::timestamp,
            content::text, grounding_metadata::text, custom_metadata::text,
            usage_metadata::text, citation_metadata::text, partial, turn_complete, error_code,
            error_message, interrupted
        FROM events WHERE app_name = $1 AND user_id = $2 AND session_id = $3",
            $where,
            " ORDER BY timestamp DESC, id DESC LIMIT ",
            $limit
        )
    };
}

impl Dialect for PostgresDialect {
    type DB = Postgres;
    const BACKEND: &'static str = "postgres";
    const SQL: Statements = Statements {
        ddl: DDL,
        list_indexes: LIST_INDEXES,
        schema_lock: "SELECT pg_advisory_lock(7216534001)",
        schema_unlock: "SELECT pg_advisory_unlock(7216534001)",
        table_columns: "SELECT column_name::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1",
        revision_precision: None,
        read_metadata: "SELECT value FROM adk_internal_metadata WHERE key = $1",
        insert_metadata: "INSERT INTO adk_internal_metadata (key, value) VALUES ($1, $2)
            ON CONFLICT (key) DO NOTHING",
        load_session: "SELECT s.update_time::timestamp, s.state::text, a.state::text, u.state::text
            FROM sessions s
            LEFT JOIN app_states a ON a.app_name = s.app_name
            LEFT JOIN user_states u ON u.app_name = s.app_name AND u.user_id = s.user_id
            WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3",
        load_with_events: Some([
            load_with_events!("", "$4"),
            load_with_events!(" AND timestamp >= $4", "$5"),
        ]),
        events_newest: "SELECT event_data::text FROM events
            WHERE app_name = $1 AND user_id = $2 AND session_id = $3
            ORDER BY timestamp DESC, id DESC LIMIT $4",
        events_newest_after: "SELECT event_data::text FROM events
            WHERE app_name = $1 AND user_id = $2 AND session_id = $3 AND timestamp >= $4
            ORDER BY timestamp DESC, id DESC LIMIT $5",
        list: [
            concat!(list_sql!("s.app_name = $1"), " LIMIT $2"),
            concat!(
                list_sql!(
                    "s.app_name = $1 AND s.update_time >= $2
                    AND (s.update_time, s.user_id, s.id) > ($3, $4, $5)"
                ),
                " LIMIT $6"
            ),
            concat!(list_sql!("s.app_name = $1 AND s.user_id = $2"), " LIMIT $3"),
            concat!(
                list_sql!(
                    "s.app_name = $1 AND s.user_id = $2 AND s.update_time >= $3
                    AND (s.update_time, s.user_id, s.id) > ($4, $5, $6)"
                ),
                " LIMIT $7"
            ),
        ],
        delete_events:
            "DELETE FROM events WHERE app_name = $1 AND user_id = $2 AND session_id = $3",
        delete_session: "DELETE FROM sessions WHERE app_name = $1 AND user_id = $2 AND id = $3",
        user_state: "SELECT state::text FROM user_states WHERE app_name = $1 AND user_id = $2",
        app_state: "SELECT state::text FROM app_states WHERE app_name = $1",
        list_apps: "SELECT DISTINCT app_name::text FROM sessions ORDER BY 1",
    };
    const GO: GoStatements = GoStatements {
        tables: GO_TABLES,
        indexes: GO_INDEXES,
        events_newest: select_go_events!("", "$4"),
        events_newest_after: select_go_events!(" AND timestamp >= $4", "$5"),
        load_with_events: Some([
            load_go_session!("", "$4"),
            load_go_session!(" AND timestamp >= $4", "$5"),
        ]),
    };

    async fn connect(url: &str, pool: PoolOptions<Postgres>) -> Result<PgPool, sqlx::Error> {
        let options: PgConnectOptions = url.parse()?;
        // Times are read as `::timestamp` and written as naive UTC: with the session in
        // UTC that is exact for `timestamp` columns (adk-python's) and `timestamptz`
        // columns (adk-js's) alike.
        pool.connect_with(
            options
                .application_name("adk-sessions")
                .options([("TimeZone", "UTC")]),
        )
        .await
    }

    async fn create(pool: &PgPool, new: &NewSession<'_>) -> Result<ScopeStates, Fail> {
        let create = sqlx::query(CREATE)
            .bind(new.app_name)
            .bind(new.user_id)
            .bind(new.session_id)
            .bind(delta_json(&new.delta.app))
            .bind(delta_json(&new.delta.user))
            .bind(delta_json(&new.delta.session))
            .bind(new.now);
        let go_events = matches!(
            new.events.first().map(|e| &e.stored),
            Some(StoredEvent::Go(_))
        );
        let row = if new.events.is_empty() {
            create.fetch_one(pool).await?
        } else if go_events {
            // adk-go's layout: one insert per event, in the create's transaction.
            let mut tx = pool.begin().await?;
            let row = create.fetch_one(&mut *tx).await?;
            for e in new.events {
                if let StoredEvent::Go(g) = &e.stored {
                    let keys = [new.app_name, new.user_id, new.session_id];
                    bind_go_event(sqlx::query(INSERT_GO_EVENT), keys, e.time, g)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query(SET_SESSION_TIME)
                .bind(new.app_name)
                .bind(new.user_id)
                .bind(new.session_id)
                .bind(new.revision)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        } else {
            // With initial events: one transaction, so a refused create leaves nothing.
            let mut tx = pool.begin().await?;
            let row = create.fetch_one(&mut *tx).await?;
            sqlx::query(INSERT_INITIAL_EVENTS)
                .bind(new.app_name)
                .bind(new.user_id)
                .bind(new.session_id)
                .bind(new.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>())
                .bind(
                    new.events
                        .iter()
                        .map(|e| e.invocation_id.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(new.events.iter().map(|e| e.time).collect::<Vec<_>>())
                .bind(
                    new.events
                        .iter()
                        .map(|e| match &e.stored {
                            StoredEvent::Python(data) => data.as_str(),
                            StoredEvent::Go(_) => "null",
                        })
                        .collect::<Vec<_>>(),
                )
                .bind(new.revision)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        };
        let app: Option<String> = row.try_get(0)?;
        let user: Option<String> = row.try_get(1)?;
        Ok(ScopeStates {
            app: state_from_json(app.as_deref().unwrap_or("{}"), "app_states.state")?,
            user: state_from_json(user.as_deref().unwrap_or("{}"), "user_states.state")?,
            coarse_revision: None,
        })
    }

    async fn append(pool: &PgPool, a: &AppendRow<'_>) -> Result<AppendOutcome, Fail> {
        let (sql, eighth) = match &a.stored {
            StoredEvent::Python(data) => (APPEND, data.as_str()),
            StoredEvent::Go(g) => (APPEND_GO, g.author.as_str()),
        };
        let mut query = sqlx::query(sql)
            .bind(a.app_name)
            .bind(a.user_id)
            .bind(a.session_id)
            .bind(a.expected)
            .bind(a.event.id.as_str())
            .bind(a.event.invocation_id.as_str())
            .bind(a.event_time)
            .bind(eighth)
            .bind(delta_json(&a.delta.session))
            .bind(a.update_time)
            .bind(delta_json(&a.delta.app))
            .bind(delta_json(&a.delta.user))
            .bind(a.now);
        if let StoredEvent::Go(g) = &a.stored {
            query = query
                .bind(g.actions.as_slice())
                .bind(g.long_running_tool_ids_json.as_deref())
                .bind(g.routes_json.as_deref())
                .bind(g.output_json.as_deref())
                .bind(g.node_info_json.as_deref())
                .bind(g.requested_input_json.as_deref())
                .bind(g.branch.as_deref())
                .bind(g.isolation_scope.as_deref())
                .bind(g.content.as_deref())
                .bind(g.grounding_metadata.as_deref())
                .bind(g.custom_metadata.as_deref())
                .bind(g.usage_metadata.as_deref())
                .bind(g.citation_metadata.as_deref())
                .bind(g.partial)
                .bind(g.turn_complete)
                .bind(g.error_code.as_deref())
                .bind(g.error_message.as_deref())
                .bind(g.interrupted);
        }
        // Row locks in the order the other runtime on this database takes them, so the
        // two never wait on each other in a cycle: adk-python locks the session row first
        // (the statement's own order); adk-go writes app_states, then user_states, then
        // the session — so on its layout an append with scoped keys locks those rows
        // first, in one transaction with the statement.
        let scoped = !a.delta.app.is_empty() || !a.delta.user.is_empty();
        let row = if matches!(a.stored, StoredEvent::Go(_)) && scoped {
            let mut tx = pool.begin().await?;
            if !a.delta.app.is_empty() {
                sqlx::query(LOCK_APP_STATE)
                    .bind(a.app_name)
                    .execute(&mut *tx)
                    .await?;
            }
            if !a.delta.user.is_empty() {
                sqlx::query(LOCK_USER_STATE)
                    .bind(a.app_name)
                    .bind(a.user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let row = query.fetch_one(&mut *tx).await?;
            tx.commit().await?;
            row
        } else {
            query.fetch_one(pool).await?
        };
        let stored: Option<chrono::NaiveDateTime> = row.try_get(0)?;
        let written: Option<chrono::NaiveDateTime> = row.try_get(1)?;
        Ok(match (stored, written) {
            (None, _) => AppendOutcome::Missing,
            (Some(_), Some(new)) => AppendOutcome::Done(Timestamp::from_naive(new)),
            (Some(t), None) => AppendOutcome::Stale(Timestamp::from_naive(t)),
        })
    }
}
