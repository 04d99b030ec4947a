/**
 * Test support: the real `adk-sessions serve` binary (`ADK_SESSIONS_BIN`) on a free
 * loopback port, over a fresh memory, SQLite or PostgreSQL (`ADK_SESSIONS_TEST_POSTGRES_URL`,
 * a new database per server) store, adk-python (`ADK_SESSIONS_PYTHON`), and the loud skip:
 * without a variable a suite prints a SKIPPED line and is skipped; under CI (`CI` set and
 * not empty, `false` or `0`) the same suite fails instead.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {get as httpsGet} from 'node:https';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import pg from 'pg';

/** clients/typescript (the compiled tests live in dist/test/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function inCi(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

const announced = new Set<string>();

/**
 * `describe(name, body)` when nothing is `missing`. Otherwise, on a developer's machine: a
 * loud SKIPPED line on stderr and a skipped suite; under CI: one failing test in its place
 * (a skipped suite is a failure there).
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
export const PYTHON = process.env.ADK_SESSIONS_PYTHON || undefined;

export const BIN_WHY =
  'set ADK_SESSIONS_BIN to the adk-sessions binary (cargo build -p adk-sessions-cli; ' +
  'ADK_SESSIONS_BIN=$PWD/target/debug/adk-sessions) to run the client against a real server';
export const POSTGRES_WHY =
  'set ADK_SESSIONS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run the ' +
  'client against a server on PostgreSQL';
export const PYTHON_WHY =
  'set ADK_SESSIONS_PYTHON to a python with google-adk 2.13 (pip install -r .ci/requirements.txt) ' +
  'to read the conversation back through adk-python';

export type BackendName = 'memory' | 'sqlite' | 'postgres';

export interface Backend {
  name: BackendName;
  /** Why this backend cannot run here (`undefined`: it can). */
  missing?: string;
}

/** The three backends, each with what it lacks in this environment. */
export function backends(): Backend[] {
  const binMissing = BIN ? undefined : BIN_WHY;
  return [
    {name: 'memory', missing: binMissing},
    {name: 'sqlite', missing: binMissing},
    {name: 'postgres', missing: binMissing ?? (POSTGRES_URL ? undefined : POSTGRES_WHY)},
  ];
}

export interface RunningServer {
  url: string;
  /** The `--db` URL the server runs on. */
  db: string;
  /** For SQLite: the database file. */
  sqlitePath?: string;
  /** For PostgreSQL: the database's own URL. */
  postgresUrl?: string;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `url` with its database replaced by `db`. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function adminQuery(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({connectionString: withDatabase(baseUrl, 'postgres')});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a fresh PostgreSQL database (dropping leftovers of this suite older than 2 h). */
async function freshPostgres(baseUrl: string): Promise<{url: string; drop(): Promise<void>}> {
  const now = Math.floor(Date.now() / 1000);
  const name = `adk_ts_${now}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({connectionString: withDatabase(baseUrl, 'postgres')});
  await client.connect();
  try {
    const old = await client.query<{datname: string}>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'adk\\_ts\\_%'",
    );
    for (const {datname} of old.rows) {
      const secs = Number(datname.split('_')[2]);
      if (Number.isFinite(secs) && now - secs > 7200) {
        await client.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => undefined);
      }
    }
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return {
    url: withDatabase(baseUrl, name),
    drop: () => adminQuery(baseUrl, `DROP DATABASE IF EXISTS "${name}"`),
  };
}

/**
 * Starts `adk-sessions serve` on a free port over a fresh store of `backend`.
 * `extraArgs` go to `serve` (e.g. `--auth-tokens FILE`).
 */
/** A certificate (PEM, its own CA) and key file for a server that serves HTTPS. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** GET `url` over HTTPS trusting only the PEM certificate `ca`: the status, or an error. */
export function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = httpsGet(url, {ca, timeout: 1000}, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
  });
}

export async function startServer(
  backend: BackendName,
  extraArgs: string[] = [],
  tls?: TlsFiles,
): Promise<RunningServer> {
  if (!BIN) {
    throw new Error(BIN_WHY);
  }
  let cleanup: () => Promise<void> = async () => undefined;
  let db: string;
  let sqlitePath: string | undefined;
  let postgresUrl: string | undefined;
  if (backend === 'memory') {
    db = 'memory://';
  } else if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'adk-sessions-ts-'));
    sqlitePath = join(dir, 'sessions.db');
    db = `sqlite://${sqlitePath}`;
    cleanup = async () => rmSync(dir, {recursive: true, force: true});
  } else {
    if (!POSTGRES_URL) {
      throw new Error(POSTGRES_WHY);
    }
    const fresh = await freshPostgres(POSTGRES_URL);
    db = postgresUrl = fresh.url;
    cleanup = fresh.drop;
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    const tlsArgs = tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : [];
    const ca = tls ? readFileSync(tls.cert, 'utf8') : '';
    const args = ['serve', '--db', db, '--addr', `127.0.0.1:${port}`, ...tlsArgs, ...extraArgs];
    const child: ChildProcess = spawn(BIN, args, {
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
        const ok = tls
          ? (await httpsStatus(`${url}/readyz`, ca)) === 200
          : (await fetch(`${url}/readyz`)).ok;
        if (ok) {
          up = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    if (up) {
      return {
        url,
        db,
        sqlitePath,
        postgresUrl,
        log: () => stderr,
        stop: async () => {
          if (!exited) {
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exit;
            clearTimeout(killer);
          }
          await cleanup();
        },
      };
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    if (attempt >= 3 || !/address|in use/i.test(stderr)) {
      await cleanup();
      throw new Error(`adk-sessions serve --db ${db} did not come up on ${url}:\n${stderr}`);
    }
  }
}

/** Runs test/py/adk_python.py with adk-python and returns the JSON of its last stdout line. */
export function adkPython(args: string[]): unknown {
  if (!PYTHON) {
    throw new Error(PYTHON_WHY);
  }
  const script = join(PACKAGE_ROOT, 'test', 'py', 'adk_python.py');
  const r = spawnSync(PYTHON, [script, ...args], {
    encoding: 'utf8',
    env: {...process.env, PYTHONUTF8: '1', PYTHONDONTWRITEBYTECODE: '1'},
    timeout: 120_000,
  });
  if (r.status !== 0) {
    throw new Error(`${PYTHON} ${script} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** The SQLAlchemy URL adk-python's DatabaseSessionService takes for a server's store. */
export function sqlalchemyUrl(server: RunningServer): string {
  if (server.sqlitePath) {
    return `sqlite+aiosqlite:///${server.sqlitePath}`;
  }
  if (server.postgresUrl) {
    return server.postgresUrl.replace(/^postgres(ql)?:\/\//, 'postgresql+asyncpg://');
  }
  throw new Error(`adk-python cannot open ${server.db}`);
}

/** A unique name, so suites sharing a server never see each other's sessions. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** JSON round trip: plain objects (adk-js uses null-prototype maps for state deltas). */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
