/**
 * Bugs of our server that these tests found (reported, not fixed here: this folder only
 * tests). The subtest that checks each one is a `todo` on the backends listed, so the run
 * stays green while the bug is open and shows it in every report; `ADK_JS_INTEROP_STRICT=1`
 * makes them plain failures. When a bug is fixed, its subtest passes as a todo: remove the
 * backend from the list (the README's "Known bugs of our server" explains each).
 */
import type {KnownBug} from './support.js';

export const PG_MS_EVENT_TIMESTAMPS: KnownBug = {
  id: 'postgres-ms-event-timestamps',
  backends: [], // fixed in the server (test another_writers_changes_are_handled)
  what:
    'PostgreSQL: GET returns the timestamps of events adk-js wrote in milliseconds ' +
    '(event_data.timestamp as stored) instead of float seconds',
};

export const SQLITE_MIXED_TIME_ORDER: KnownBug = {
  id: 'sqlite-mixed-time-formats',
  backends: ['sqlite'],
  what:
    "SQLite: events whose timestamp column holds adk-js's integer milliseconds sort before " +
    'every text time we write, so GET orders, picks numRecentEvents and filters ' +
    'afterTimestamp by type instead of by time',
};

export const MARIADB_WHOLE_SECOND_REVISION: KnownBug = {
  id: 'mariadb-whole-second-revisions',
  backends: [], // fixed in the server (whole-second revisions; test another_writers_changes_are_handled)
  what:
    "MariaDB with adk-js's whole-second DATETIME columns: our create/append answer a " +
    'lastUpdateTime with a fraction that was never stored (the column truncates it), so a ' +
    'handle from our own reply is refused with 409, and a handle that fell behind a write ' +
    'in the same second is accepted',
};

export const MARIADB_WHOLE_SECOND_EVENTS: KnownBug = {
  id: 'mariadb-whole-second-event-times',
  backends: [], // fixed in the server (whole-second revisions; test another_writers_changes_are_handled)
  what:
    "MariaDB with adk-js's whole-second DATETIME columns: events of one second come back " +
    'ordered by id, not by their timestamps, and afterTimestamp=t misses events at or after ' +
    't within the second of t',
};

export const DELETE_WITHOUT_CASCADE: KnownBug = {
  id: 'delete-relies-on-cascade',
  backends: [], // fixed in the server (test another_writers_changes_are_handled)
  what:
    "PostgreSQL/MariaDB after adk-js's startup dropped the events -> sessions ON DELETE " +
    "CASCADE: our DELETE leaves the session's events behind, and a new session created " +
    'with the same id shows them',
};

export const NARROWED_INVOCATION_ID_503: KnownBug = {
  id: 'narrowed-column-503',
  backends: [], // fixed in the server (test another_writers_changes_are_handled)
  what:
    "PostgreSQL/MariaDB after adk-js's startup narrowed events.invocation_id from 256 to 255 " +
    'characters: appending an event whose invocationId has 256 characters (which our API ' +
    'accepts) answers 503 "storage unavailable" (SQLSTATE 22001, value too long) instead of a ' +
    '4xx that names the limit',
};
