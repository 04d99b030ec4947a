/**
 * One database shared by adk-js's `DatabaseSessionService` and our server, and the checks
 * several tests share (event comparison, raw-row sanity).
 */
import assert from 'node:assert/strict';

import type {Event, Session} from '@google/adk';

import {
  type AdkJs,
  type BackendName,
  type FreshDb,
  type RestEvent,
  type RunningServer,
  type Sql,
  Rest,
  freshDb,
  openAdkJs,
  plain,
  startServer,
} from './support.js';

/** Who created the tables: our server first (then adk-js's startup updates them) or adk-js. */
export type Origin = 'ours-first' | 'js-first';

export interface Pair {
  backend: BackendName;
  origin: Origin;
  db: FreshDb;
  server: RunningServer;
  rest: Rest;
  js: AdkJs;
  sql: Sql;
}

/** Runs `body` on a fresh database with both sides started in `origin`'s order. */
export async function withPair(
  backend: BackendName,
  origin: Origin,
  body: (p: Pair) => Promise<void>,
): Promise<void> {
  const db = await freshDb(backend);
  let server: RunningServer | undefined;
  let js: AdkJs | undefined;
  let sql: Sql | undefined;
  try {
    if (origin === 'ours-first') {
      server = await startServer(db.ourUrl);
      js = await openAdkJs(db.jsUrl);
    } else {
      js = await openAdkJs(db.jsUrl);
      server = await startServer(db.ourUrl);
    }
    sql = await db.sql();
    await body({backend, origin, db, server, rest: new Rest(server.url), js, sql});
  } catch (e) {
    if (server) {
      const log = server.log().trim();
      if (log) process.stderr.write(`--- adk-sessions serve stderr (${backend}, ${origin}) ---\n${log}\n`);
    }
    throw e;
  } finally {
    await sql?.close().catch(() => undefined);
    await js?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await db.drop().catch((e) => process.stderr.write(`drop ${backend} database: ${e}\n`));
  }
}

/** adk-js's session, which must exist. */
export async function jsGet(
  js: AdkJs,
  app: string,
  user: string,
  id: string,
  config?: {numRecentEvents?: number; afterTimestamp?: number},
): Promise<Session> {
  const s = await js.svc.getSession({appName: app, userId: user, sessionId: id, config});
  assert.ok(s, `adk-js getSession(${id}) found nothing`);
  return s;
}

/**
 * An event without what the two sides legitimately spell differently: the timestamp (its
 * unit differs: compared on its own), members that are empty or absent (`nodeInfo: {path:
 * ''}` our server adds, empty `longRunningToolIds`, empty action maps), with keys sorted.
 */
export function canonical(e: Event | RestEvent): unknown {
  const v = plain(e) as Record<string, unknown>;
  delete v.timestamp;
  const ni = v.nodeInfo as Record<string, unknown> | undefined;
  if (ni && Object.keys(ni).length === 1 && ni.path === '') delete v.nodeInfo;
  if (Array.isArray(v.longRunningToolIds) && v.longRunningToolIds.length === 0) delete v.longRunningToolIds;
  const actions = v.actions as Record<string, unknown> | undefined;
  if (actions) {
    for (const k of Object.keys(actions)) {
      const a = actions[k];
      if (a && typeof a === 'object' && !Array.isArray(a) && Object.keys(a).length === 0) delete actions[k];
    }
    if (Object.keys(actions).length === 0) delete v.actions;
  }
  return sortKeys(v);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Sorted copy of a state map (for order-insensitive equality with readable diffs). */
export function sortedState(s: Record<string, unknown>): Record<string, unknown> {
  return sortKeys(plain(s)) as Record<string, unknown>;
}

/** An epoch time of either unit, by magnitude, in ms. */
function anyUnitToMs(n: number): number {
  return n > 1e11 ? n : n * 1000;
}

/**
 * Every time stored in the database — the time columns of all four tables and the
 * `timestamp` inside each `event_data` — must be a plausible time (within a day of now),
 * whatever unit or type it was written in: no value derived from a misread one (e.g.
 * milliseconds read as seconds) was written back.
 */
export async function assertStoredTimesSane(p: Pair): Promise<void> {
  const now = Date.now();
  const day = 86_400_000;
  const bad: string[] = [];
  const check = (where: string, raw: unknown) => {
    let ms: number;
    if (raw instanceof Date) ms = raw.getTime();
    else if (typeof raw === 'number') ms = anyUnitToMs(raw);
    else if (typeof raw === 'bigint') ms = anyUnitToMs(Number(raw));
    else if (typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw)) ms = anyUnitToMs(Number(raw));
    else if (typeof raw === 'string') {
      // SQL text: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC (these tests run the server in UTC
      // or with an explicit offset in the text).
      const t = raw.includes('T') || /[+-]\d\d:?\d\d$|Z$/.test(raw) ? raw : `${raw.replace(' ', 'T')}Z`;
      ms = Date.parse(t);
    } else ms = NaN;
    if (!(Math.abs(ms - now) < day)) bad.push(`${where} = ${JSON.stringify(raw)} (${new Date(ms).toISOString?.() ?? ms})`);
  };
  const cols: [string, string[]][] = [
    ['sessions', ['create_time', 'update_time']],
    ['events', ['timestamp']],
    ['app_states', ['update_time']],
    ['user_states', ['update_time']],
  ];
  for (const [table, names] of cols) {
    const rows = await p.sql.query<Record<string, unknown>>(
      `SELECT ${names.map((n) => (p.backend === 'mariadb' ? `\`${n}\`` : `"${n}"`)).join(', ')} FROM ${table}`,
    );
    for (const r of rows) for (const n of names) check(`${table}.${n}`, r[n]);
  }
  const evs = await p.sql.query<{id: string; event_data: unknown}>('SELECT id, event_data FROM events');
  for (const e of evs) {
    const data = typeof e.event_data === 'string' ? JSON.parse(e.event_data) : e.event_data;
    check(`events(${e.id}).event_data.timestamp`, (data as {timestamp?: unknown})?.timestamp);
  }
  assert.deepEqual(bad, [], 'stored times that are not plausible (misread and written back?)');
}
