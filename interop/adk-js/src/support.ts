/**
 * Test support: fresh SQLite / PostgreSQL / MariaDB databases (one per test, random name,
 * dropped afterwards), the real `adk-sessions serve` binary (`ADK_SESSIONS_BIN`) on a free
 * loopback port, adk-js's own `DatabaseSessionService` on the same database, a small REST
 * client (fetch), raw SQL access for row checks, and the loud skip: without a variable a
 * suite prints a SKIPPED line and is skipped; under CI (`CI` set and not empty, `false` or
 * `0`) it fails instead.
 *
 * Small helpers here are copied from clients/typescript/test/support.ts on purpose (that
 * package's tests are not a library).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, test} from 'node:test';

import {DatabaseSessionService} from '@google/adk';
import type {MikroORM} from '@mikro-orm/core';
import * as mariadb from 'mariadb';
import pg from 'pg';
import sqlite3 from 'sqlite3';

export function inCi(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

const announced = new Set<string>();

/**
 * `describe(name, body)` when nothing is `missing`. Otherwise, on a developer's machine: a
 * loud SKIPPED line on stderr and a skipped suite; under CI: one failing test in its place.
 */
export function suite(name: string, missing: string | undefined, body: () => void): void {
  if (!missing) {
    describe(name, body);
    return;
  }
  if (inCi()) {
    test(name, () => {
      throw new Error(`SKIPPED under CI, which is a failure: ${missing}`);
    });
    return;
  }
  if (!announced.has(missing)) {
    announced.add(missing);
    process.stderr.write(`\n******** SKIPPED: ${missing} ********\n`);
  }
  describe(name, {skip: `SKIPPED: ${missing}`}, body);
}

export const BIN = process.env.ADK_SESSIONS_BIN || undefined;
export const POSTGRES_URL = process.env.ADK_SESSIONS_TEST_POSTGRES_URL || undefined;
export const MYSQL_URL = process.env.ADK_SESSIONS_TEST_MYSQL_URL || undefined;

/**
 * Set to `1` to turn the known bugs of our server (see `knownBug`) into plain failures
 * instead of `todo` tests.
 */
export const STRICT = ['1', 'true'].includes(process.env.ADK_JS_INTEROP_STRICT ?? '');

const BIN_WHY =
  'set ADK_SESSIONS_BIN to the adk-sessions binary (cargo build --bin adk-sessions ' +
  '--all-features; ADK_SESSIONS_BIN=$PWD/target/debug/adk-sessions)';
const POSTGRES_WHY =
  'set ADK_SESSIONS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test (any existing ' +
  'database; each test creates and drops its own next to it)';
const MYSQL_WHY =
  'set ADK_SESSIONS_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test (MariaDB; any existing ' +
  'database; each test creates and drops its own next to it)';

export type BackendName = 'sqlite' | 'postgres' | 'mariadb';

export interface Backend {
  name: BackendName;
  /** Why this backend cannot run here (`undefined`: it can). */
  missing?: string;
}

/** The three backends, each with what it lacks in this environment. */
export function backends(): Backend[] {
  const bin = BIN ? undefined : BIN_WHY;
  return [
    {name: 'sqlite', missing: bin},
    {name: 'postgres', missing: bin ?? (POSTGRES_URL ? undefined : POSTGRES_WHY)},
    {name: 'mariadb', missing: bin ?? (MYSQL_URL ? undefined : MYSQL_WHY)},
  ];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

/** `url` with its database (path) replaced by `db`. */
function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

// ---------------------------------------------------------------------------------------
// Raw SQL access (row and catalog checks).

export interface Sql {
  /** Rows as plain objects; `?` placeholders on every backend. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

function sqliteSql(path: string): Promise<Sql> {
  return new Promise((res, rej) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READWRITE, (err) => {
      if (err) {
        rej(err);
        return;
      }
      db.configure('busyTimeout', 10_000);
      res({
        query: <T>(sql: string, params: unknown[] = []) =>
          new Promise<T[]>((ok, fail) =>
            db.all(sql, params, (e, rows) => (e ? fail(e) : ok(rows as T[]))),
          ),
        close: () => new Promise<void>((ok) => db.close(() => ok())),
      });
    });
  });
}

async function postgresSql(url: string): Promise<Sql> {
  const client = new pg.Client({connectionString: url});
  await client.connect();
  return {
    query: async <T>(sql: string, params: unknown[] = []) => {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const r = await client.query(text, params);
      return r.rows as T[];
    },
    close: () => client.end(),
  };
}

async function mariadbSql(url: string): Promise<Sql> {
  const u = new URL(url);
  const conn = await mariadb.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || undefined,
    // Times as the server's text, so that nothing is converted on the way.
    dateStrings: true,
    bigIntAsNumber: true,
    decimalAsNumber: true,
  });
  return {
    query: async <T>(sql: string, params: unknown[] = []) => {
      const rows = (await conn.query(sql, params)) as T[];
      return Array.from(rows);
    },
    close: () => conn.end(),
  };
}

// ---------------------------------------------------------------------------------------
// Fresh databases.

export interface FreshDb {
  backend: BackendName;
  /** The `--db` URL for our server. */
  ourUrl: string;
  /** The connection string for adk-js's `DatabaseSessionService`. */
  jsUrl: string;
  /** Raw SQL on this database. */
  sql(): Promise<Sql>;
  drop(): Promise<void>;
}

const PREFIX = 'adkjs_interop_';

/** Drops databases of this suite left over by earlier runs (older than 2 h). */
async function dropLeftovers(names: string[], drop: (n: string) => Promise<void>) {
  const now = Math.floor(Date.now() / 1000);
  for (const name of names) {
    const secs = Number(name.slice(PREFIX.length).split('_')[0]);
    if (Number.isFinite(secs) && now - secs > 7200) {
      await drop(name).catch(() => undefined);
    }
  }
}

function freshName(): string {
  return `${PREFIX}${Math.floor(Date.now() / 1000)}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function freshDb(backend: BackendName): Promise<FreshDb> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'adkjs-interop-'));
    const path = join(dir, 'sessions.db');
    return {
      backend,
      ourUrl: `sqlite://${path}`,
      // adk-js: `sqlite://` + a file path (it strips the scheme and hands MikroORM the path).
      jsUrl: `sqlite://${path}`,
      sql: () => sqliteSql(path),
      drop: async () => rmSync(dir, {recursive: true, force: true}),
    };
  }
  if (backend === 'postgres') {
    if (!POSTGRES_URL) throw new Error(POSTGRES_WHY);
    const admin = await postgresSql(withDatabase(POSTGRES_URL, 'postgres'));
    const name = freshName();
    try {
      const old = await admin.query<{datname: string}>(
        `SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX.replace(/_/g, '\\_')}%'`,
      );
      await dropLeftovers(
        old.map((r) => r.datname),
        async (n) => void (await admin.query(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`)),
      );
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.close();
    }
    const url = withDatabase(POSTGRES_URL, name);
    return {
      backend,
      ourUrl: url,
      jsUrl: url,
      sql: () => postgresSql(url),
      drop: async () => {
        const a = await postgresSql(withDatabase(POSTGRES_URL, 'postgres'));
        try {
          await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await a.close();
        }
      },
    };
  }
  if (!MYSQL_URL) throw new Error(MYSQL_WHY);
  const admin = await mariadbSql(withDatabase(MYSQL_URL, ''));
  const name = freshName();
  try {
    const old = await admin.query<{SCHEMA_NAME: string}>(
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${PREFIX.replace(/_/g, '\\_')}%'`,
    );
    await dropLeftovers(
      old.map((r) => r.SCHEMA_NAME),
      async (n) => void (await admin.query(`DROP DATABASE IF EXISTS \`${n}\``)),
    );
    // The server's default charset and collation, as a DBA would create it.
    await admin.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await admin.close();
  }
  const url = withDatabase(MYSQL_URL, name);
  return {
    backend,
    ourUrl: url.replace(/^[a-z]+:/, 'mysql:'),
    // adk-js with `mysql://` picks MikroORM's MySQL driver, which hands JSON columns back
    // as strings on MariaDB (adk-js then fails on them); `mariadb://` picks the MariaDB
    // driver, the right one for this server.
    jsUrl: url.replace(/^[a-z]+:/, 'mariadb:'),
    sql: () => mariadbSql(url),
    drop: async () => {
      const a = await mariadbSql(withDatabase(MYSQL_URL, ''));
      try {
        await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await a.close();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// Our server.

export interface RunningServer {
  url: string;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `adk-sessions serve --db <dbUrl>` on a free loopback port. */
export async function startServer(dbUrl: string): Promise<RunningServer> {
  if (!BIN) throw new Error(BIN_WHY);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(BIN, ['serve', '--db', dbUrl, '--addr', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn'},
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr += d;
    });
    let exited = false;
    const exit = new Promise<void>((r) =>
      child.on('exit', () => {
        exited = true;
        r();
      }),
    );
    const deadline = Date.now() + 30_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/readyz`);
        if (r.ok) {
          up = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    if (up) {
      return {
        url,
        log: () => stderr,
        stop: async () => {
          if (!exited) {
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exit;
            clearTimeout(killer);
          }
        },
      };
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    if (attempt >= 3 || !/address|in use/i.test(stderr)) {
      throw new Error(`adk-sessions serve --db ${dbUrl} did not come up on ${url}:\n${stderr}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// adk-js.

export interface AdkJs {
  svc: DatabaseSessionService;
  close(): Promise<void>;
}

/**
 * adk-js's `DatabaseSessionService` on `jsUrl`, constructed from the connection string as an
 * adk-js user does, and initialized (MikroORM's `ensureDatabase()` and its "safe"
 * `updateSchema()`, then the schema-version row).
 */
export async function openAdkJs(jsUrl: string): Promise<AdkJs> {
  const svc = new DatabaseSessionService(jsUrl);
  await svc.init();
  return {
    svc,
    // adk-js has no close(); its MikroORM instance is a private member.
    close: async () => {
      const orm = (svc as unknown as {orm?: MikroORM}).orm;
      await orm?.close(true);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Our REST API.

export interface RestEvent {
  id: string;
  invocationId: string;
  author: string;
  /** Float epoch seconds. */
  timestamp: number;
  [k: string]: unknown;
}

export interface RestSession {
  id: string;
  appName: string;
  userId: string;
  state: Record<string, unknown>;
  events: RestEvent[];
  /** Float epoch seconds. */
  lastUpdateTime: number;
}

export interface Reply<T> {
  status: number;
  body: T;
}

export class Rest {
  constructor(readonly base: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const r = await fetch(this.base + path, {
      method,
      headers: {'content-type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return {status: r.status, body: (text ? JSON.parse(text) : undefined) as T};
  }

  private static path(app: string, user: string, id?: string): string {
    const p = `/apps/${encodeURIComponent(app)}/users/${encodeURIComponent(user)}/sessions`;
    return id === undefined ? p : `${p}/${encodeURIComponent(id)}`;
  }

  /** POST …/sessions; throws unless 200. */
  async create(app: string, user: string, body: {sessionId?: string; state?: Record<string, unknown>}) {
    return ok(await this.call<RestSession>('POST', Rest.path(app, user), body), 'create');
  }

  /** GET …/sessions/{id} (status and body, so that a 404/503 can be asserted). */
  get(app: string, user: string, id: string, q: {numRecentEvents?: number; afterTimestamp?: number} = {}) {
    const params = new URLSearchParams();
    if (q.numRecentEvents !== undefined) params.set('numRecentEvents', String(q.numRecentEvents));
    if (q.afterTimestamp !== undefined) params.set('afterTimestamp', String(q.afterTimestamp));
    const qs = params.size ? `?${params}` : '';
    return this.call<RestSession>('GET', Rest.path(app, user, id) + qs);
  }

  /** GET …/sessions/{id}; throws unless 200. */
  async read(app: string, user: string, id: string, q: {numRecentEvents?: number; afterTimestamp?: number} = {}) {
    return ok(await this.get(app, user, id, q), `GET ${id}`);
  }

  list(app: string, user: string) {
    return this.call<RestSession[]>('GET', Rest.path(app, user));
  }

  delete(app: string, user: string, id: string) {
    return this.call<null>('DELETE', Rest.path(app, user, id));
  }

  /** POST …/events, with `expectedLastUpdateTime` when given (status and body). */
  append(app: string, user: string, id: string, event: Record<string, unknown>, expected?: number) {
    // String(x) is the shortest round-trip text of the double: the server parses it back to
    // the very same number.
    const qs = expected === undefined ? '' : `?expectedLastUpdateTime=${String(expected)}`;
    return this.call<{event: RestEvent; lastUpdateTime: number; detail?: unknown}>(
      'POST',
      `${Rest.path(app, user, id)}/events${qs}`,
      event,
    );
  }
}

function ok<T>(r: Reply<T>, what: string): T {
  if (r.status !== 200) {
    throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

// ---------------------------------------------------------------------------------------
// Misc.

/** A unique name, so tests sharing a database never see each other's sessions. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** JSON round trip: plain objects, `undefined` members gone. */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * A bug of our server met by these tests: on the backends it names, the subtest that checks
 * it is a `todo` (reported, not failing the run) unless `ADK_JS_INTEROP_STRICT=1`. The
 * reason text says what is wrong; see README.md "Known bugs of our server".
 */
export interface KnownBug {
  id: string;
  backends: BackendName[];
  what: string;
}

export function todoFor(bug: KnownBug, backend: BackendName): string | undefined {
  if (STRICT || !bug.backends.includes(backend)) return undefined;
  return `KNOWN BUG of our server (${bug.id}): ${bug.what}`;
}
