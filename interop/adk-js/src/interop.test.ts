/**
 * Tests 2-6: adk-js's own `DatabaseSessionService` and our server on one database, on
 * SQLite, PostgreSQL and MariaDB, with the tables created by either side first.
 *
 * Times: adk-js counts in epoch milliseconds (event timestamps, `lastUpdateTime`), our REST
 * API in float epoch seconds. Event times come from `Clock`: strictly increasing, more than a
 * second apart and with a millisecond fraction, so that whole-second columns (MariaDB after
 * adk-js's schema update) still order them; the same-second cases have tests of their own.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {test, type TestContext} from 'node:test';
import {fileURLToPath} from 'node:url';

import {createEvent, type Event, type Session} from '@google/adk';

import {
  DELETE_WITHOUT_CASCADE,
  MARIADB_WHOLE_SECOND_EVENTS,
  MARIADB_WHOLE_SECOND_REVISION,
  NARROWED_INVOCATION_ID_503,
  PG_MS_EVENT_TIMESTAMPS,
  SQLITE_MIXED_TIME_ORDER,
} from './bugs.js';
import {type Origin, type Pair, assertStoredTimesSane, canonical, jsGet, sortedState, withPair} from './fixture.js';
import {type BackendName, type RestEvent, type RestSession, backends, suite, todoFor, unique} from './support.js';

/** Event times in ms: `start`, then 1.111 s apart (each with a different ms fraction). */
class Clock {
  private n = 0;
  constructor(private readonly start: number) {}
  next(): number {
    return this.start + 1111 * this.n++;
  }
}

const ORIGINS: Origin[] = ['ours-first', 'js-first'];

/** A plain-object copy of adk-js's state (it may hold null-prototype maps). */
function jsState(s: Session): Record<string, unknown> {
  return sortedState(s.state as Record<string, unknown>);
}

/** The seconds our API must show for an adk-js time in ms. */
const secs = (ms: number) => ms / 1000;

/** A subtest; `todo` when a known bug of ours applies to this backend. */
function check(
  t: TestContext,
  name: string,
  todo: string | undefined,
  fn: () => void | Promise<void>,
): Promise<void> {
  return t.test(name, {todo}, async () => {
    await fn();
  });
}

/** Our GET, which must answer 200 (never a 503 after adk-js wrote). */
async function ourGet(p: Pair, app: string, user: string, id: string, q = {}): Promise<RestSession> {
  const r = await p.rest.get(app, user, id, q);
  assert.equal(r.status, 200, `GET ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}\n${p.server.log()}`);
  return r.body;
}

// ---------------------------------------------------------------------------------------

async function jsWritesWeRead(t: TestContext, p: Pair): Promise<void> {
  const app = 'weather_app';
  const user = 'alice';
  const id = unique('js');
  const clock = new Clock(Date.now() - 30_000);
  const session = await p.js.svc.createSession({
    appName: app,
    userId: user,
    sessionId: id,
    state: {'app:theme': 'dark', 'user:lang': 'fr', 'temp:scratch': 1, topic: 'weather'},
  });
  const events: Event[] = [
    createEvent({
      author: 'user',
      invocationId: 'inv-1',
      timestamp: clock.next(),
      content: {role: 'user', parts: [{text: 'What is the weather in Paris?'}]},
    }),
    createEvent({
      author: 'weather_agent',
      invocationId: 'inv-1',
      timestamp: clock.next(),
      content: {
        role: 'model',
        parts: [{functionCall: {id: 'adk-call-1', name: 'get_weather', args: {city: 'Paris', units: {temp_unit: 'C'}}}}],
      },
      usageMetadata: {promptTokenCount: 12, candidatesTokenCount: 3, totalTokenCount: 15},
    }),
    createEvent({
      author: 'weather_agent',
      invocationId: 'inv-1',
      timestamp: clock.next(),
      content: {
        role: 'user',
        parts: [{functionResponse: {id: 'adk-call-1', name: 'get_weather', response: {tempC: 21, sky_state: 'clear'}}}],
      },
    }),
    createEvent({
      author: 'weather_agent',
      invocationId: 'inv-1',
      timestamp: clock.next(),
      content: {role: 'model', parts: [{text: 'Sunny, 21 °C.'}]},
      turnComplete: true,
      actions: {stateDelta: {'app:last_city': 'Paris', 'user:visits': 1, 'temp:draft': 'x', city: 'Paris'}},
    }),
    createEvent({
      author: 'weather_agent',
      invocationId: 'inv-2',
      timestamp: clock.next(),
      branch: 'root.weather_agent',
      customMetadata: {trace_id: 't-1', camelKey: true},
      actions: {transferToAgent: 'travel_agent', skipSummarization: true, artifactDelta: {'report.txt': 1}},
    }),
  ];
  for (const e of events) await p.js.svc.appendEvent({session, event: e});
  const times = events.map((e) => e.timestamp);

  const theirs = await jsGet(p.js, app, user, id);
  const ours = await ourGet(p, app, user, id);

  await check(t, 'same events (ids, authors, content, actions, metadata) on both sides', undefined, () => {
    assert.deepEqual(ours.events.map((e) => e.id), events.map((e) => e.id));
    assert.deepEqual(ours.events.map(canonical), theirs.events.map(canonical));
    // adk-js drops temp: keys from the stored stateDelta; so do we on read.
    assert.deepEqual(ours.events[3].actions, {
      ...(ours.events[3].actions as object),
      stateDelta: {'app:last_city': 'Paris', city: 'Paris', 'user:visits': 1},
    });
  });
  await check(t, "timestamps are adk-js's milliseconds as float seconds", todoFor(PG_MS_EVENT_TIMESTAMPS, p.backend), () => {
    assert.deepEqual(ours.events.map((e) => e.timestamp), times.map(secs));
  });
  await check(t, 'merged state without temp: keys, equal on both sides', undefined, () => {
    const expected = sortedState({
      'app:theme': 'dark',
      'app:last_city': 'Paris',
      'user:lang': 'fr',
      'user:visits': 1,
      topic: 'weather',
      city: 'Paris',
    });
    assert.deepEqual(sortedState(ours.state), expected);
    assert.deepEqual(jsState(theirs), expected);
  });
  await check(t, "lastUpdateTime is adk-js's last event time", undefined, () => {
    const last = times[times.length - 1];
    // MariaDB: adk-js's schema update left whole-second DATETIME columns.
    const stored = p.backend === 'mariadb' ? Math.floor(last / 1000) * 1000 : last;
    assert.equal(theirs.lastUpdateTime, stored);
    assert.equal(ours.lastUpdateTime, secs(stored));
  });
  await check(t, 'numRecentEvents over adk-js rows', undefined, async () => {
    const recent = await ourGet(p, app, user, id, {numRecentEvents: 2});
    assert.deepEqual(recent.events.map((e) => e.id), events.slice(3).map((e) => e.id));
  });
  await check(t, 'afterTimestamp over adk-js rows', todoFor(SQLITE_MIXED_TIME_ORDER, p.backend), async () => {
    // ≥ t, with t the whole second of event 2 (whole-second columns are tested elsewhere).
    const after = await ourGet(p, app, user, id, {afterTimestamp: Math.floor(times[2] / 1000)});
    assert.deepEqual(after.events.map((e) => e.id), events.slice(2).map((e) => e.id));
  });
  await check(t, "our list shows adk-js's session", undefined, async () => {
    const list = await p.rest.list(app, user);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((s) => s.id), [id]);
  });
  await assertStoredTimesSane(p);
}

// ---------------------------------------------------------------------------------------

async function weWriteJsReads(t: TestContext, p: Pair): Promise<void> {
  const app = 'shop_app';
  const user = 'bob';
  const id = unique('ours');
  const clock = new Clock(Date.now() - 30_000);
  await p.rest.create(app, user, {
    sessionId: id,
    state: {'app:plan': 'pro', 'user:name': 'Bob', 'temp:x': 1, cart: 0},
  });
  const bodies: Record<string, unknown>[] = [
    {author: 'user', invocationId: 'inv-1', content: {role: 'user', parts: [{text: 'Add a lamp'}]}},
    {
      author: 'shop_agent',
      invocationId: 'inv-1',
      content: {role: 'model', parts: [{functionCall: {id: 'call-1', name: 'add_item', args: {item: 'lamp', qty: 1}}}]},
    },
    {
      author: 'shop_agent',
      invocationId: 'inv-1',
      content: {role: 'user', parts: [{functionResponse: {id: 'call-1', name: 'add_item', response: {ok: true, cart_size: 1}}}]},
    },
    {
      author: 'shop_agent',
      invocationId: 'inv-1',
      content: {role: 'model', parts: [{text: 'Added.'}]},
      actions: {stateDelta: {'app:plan': 'max', 'user:seen': true, 'temp:t': 1, cart: 1}},
    },
  ];
  const written: RestEvent[] = [];
  for (const b of bodies) {
    const handle = await ourGet(p, app, user, id);
    const r = await p.rest.append(app, user, id, {...b, timestamp: secs(clock.next())}, handle.lastUpdateTime);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    written.push(r.body.event);
  }
  const ours = await ourGet(p, app, user, id);
  const theirs = await jsGet(p.js, app, user, id);

  await check(t, 'adk-js getSession sees the same events', undefined, () => {
    assert.deepEqual(theirs.events.map((e) => e.id), written.map((e) => e.id));
    assert.deepEqual(theirs.events.map(canonical), ours.events.map(canonical));
  });
  await check(t, "adk-js takes our event_data seconds as its milliseconds (adk-js's quirk, recorded)", undefined, () => {
    // adk-python's event_data holds float seconds; adk-js reads the number as is.
    assert.deepEqual(theirs.events.map((e) => e.timestamp), ours.events.map((e) => e.timestamp));
  });
  await check(t, 'merged state equal on both sides, no temp: keys', undefined, () => {
    const expected = sortedState({'app:plan': 'max', 'user:name': 'Bob', 'user:seen': true, cart: 1});
    assert.deepEqual(sortedState(ours.state), expected);
    assert.deepEqual(jsState(theirs), expected);
  });
  await check(t, "adk-js's lastUpdateTime is ours in ms", undefined, () => {
    // MikroORM's Date has whole milliseconds; our revision has microseconds.
    assert.ok(Math.abs(theirs.lastUpdateTime - ours.lastUpdateTime * 1000) < 1, `${theirs.lastUpdateTime} vs ${ours.lastUpdateTime}`);
  });
  await check(t, 'adk-js numRecentEvents picks our newest events', undefined, async () => {
    const recent = await jsGet(p.js, app, user, id, {numRecentEvents: 2});
    assert.deepEqual(recent.events.map((e) => e.id), written.slice(2).map((e) => e.id));
  });
  await check(t, 'adk-js afterTimestamp over our rows', undefined, async () => {
    // adk-js filters `timestamp > new Date(afterTimestamp)`.
    const after = await jsGet(p.js, app, user, id, {afterTimestamp: Math.round(written[1].timestamp * 1000)});
    const got = after.events.map((e) => e.id);
    if (p.backend === 'sqlite') {
      // adk-js binds the Date as integer ms; SQLite orders every integer before every text
      // (our times are text), so its filter keeps everything: adk-js's quirk, recorded.
      assert.deepEqual(got, written.map((e) => e.id));
    } else {
      assert.deepEqual(got, written.slice(2).map((e) => e.id));
    }
  });
  await check(t, "adk-js's listSessions shows our session", undefined, async () => {
    const list = await p.js.svc.listSessions({appName: app, userId: user});
    assert.deepEqual(list.sessions.map((s) => s.id), [id]);
  });
  await assertStoredTimesSane(p);
}

// ---------------------------------------------------------------------------------------

async function alternateAppends(t: TestContext, p: Pair): Promise<void> {
  const app = 'relay_app';
  const user = 'carol';
  const clock = new Clock(Date.now() + 1000);
  const jsOwned = unique('js-owned');
  const ourOwned = unique('our-owned');
  await p.js.svc.createSession({appName: app, userId: user, sessionId: jsOwned, state: {owner: 'js'}});
  await p.rest.create(app, user, {sessionId: ourOwned, state: {owner: 'us'}});

  for (const id of [jsOwned, ourOwned]) {
    const order: string[] = [];
    const times: number[] = [];
    let last = (await ourGet(p, app, user, id)).lastUpdateTime;
    const noBackwards = (now: number, after: string) => {
      assert.ok(now >= last, `${id}: our lastUpdateTime went backwards after ${after}: ${last} -> ${now}`);
      last = now;
    };
    for (let round = 0; round < 3; round++) {
      // adk-js: a fresh handle, as its Runner reads one per invocation.
      const h = await jsGet(p.js, app, user, id);
      const e = createEvent({
        author: 'js_agent',
        invocationId: `js-${round}`,
        timestamp: clock.next(),
        content: {role: 'model', parts: [{text: `js turn ${round}`}]},
        actions: {stateDelta: {[`js_${round}`]: round, turn: `js-${round}`, 'app:turn': `js-${round}`, 'user:turn': `js-${round}`}},
      });
      await p.js.svc.appendEvent({session: h, event: e});
      order.push(e.id);
      times.push(e.timestamp);
      noBackwards((await ourGet(p, app, user, id)).lastUpdateTime, `adk-js's append ${round}`);

      const g = await ourGet(p, app, user, id);
      const ts = clock.next();
      const r = await p.rest.append(
        app,
        user,
        id,
        {
          author: 'py_agent',
          invocationId: `us-${round}`,
          timestamp: secs(ts),
          content: {role: 'model', parts: [{text: `our turn ${round}`}]},
          actions: {stateDelta: {[`us_${round}`]: round, turn: `us-${round}`, 'app:turn': `us-${round}`, 'user:turn': `us-${round}`}},
        },
        g.lastUpdateTime,
      );
      assert.equal(r.status, 200, `our append ${round} to ${id}: ${JSON.stringify(r.body)}`);
      order.push(r.body.event.id);
      times.push(ts);
      noBackwards((await ourGet(p, app, user, id)).lastUpdateTime, `our append ${round}`);
    }
    const ours = await ourGet(p, app, user, id);
    const theirs = await jsGet(p.js, app, user, id);
    await check(t, `${id}: both sides list the same events in the same order`, undefined, () => {
      assert.deepEqual(ours.events.map((e) => e.id), theirs.events.map((e) => e.id));
      assert.deepEqual(ours.events.map(canonical), theirs.events.map(canonical));
    });
    await check(t, `${id}: that order is the order of the appends (time order)`, todoFor(SQLITE_MIXED_TIME_ORDER, p.backend), () => {
      assert.deepEqual(ours.events.map((e) => e.id), order);
    });
    await check(t, `${id}: our timestamps are the writers' times in seconds`, todoFor(PG_MS_EVENT_TIMESTAMPS, p.backend), () => {
      const byId = new Map(order.map((eid, i) => [eid, secs(times[i])]));
      assert.deepEqual(
        ours.events.map((e) => e.timestamp),
        ours.events.map((e) => byId.get(e.id)),
      );
    });
    await check(t, `${id}: same merged state on both sides`, undefined, () => {
      const expected = sortedState({
        owner: id === jsOwned ? 'js' : 'us',
        js_0: 0, js_1: 1, js_2: 2, us_0: 0, us_1: 1, us_2: 2,
        turn: 'us-2', 'app:turn': 'us-2', 'user:turn': 'us-2',
      });
      assert.deepEqual(sortedState(ours.state), expected);
      assert.deepEqual(jsState(theirs), expected);
    });
  }
  await assertStoredTimesSane(p);
}

// ---------------------------------------------------------------------------------------

async function scopedStateBothWays(t: TestContext, p: Pair): Promise<void> {
  const app = 'scoped_app';
  const clock = new Clock(Date.now() - 30_000);
  const a = unique('a');
  const sa = await p.js.svc.createSession({
    appName: app, userId: 'u1', sessionId: a,
    state: {'app:js_create': 'A', 'user:js_create': 'U'},
  });
  await p.js.svc.appendEvent({
    session: sa,
    event: createEvent({
      author: 'js_agent', invocationId: 'js-1', timestamp: clock.next(),
      actions: {stateDelta: {'app:js_event': 1, 'user:js_event': 1, 'app:shared': 'js-1'}},
    }),
  });

  const b = unique('b');
  const c = unique('c');
  const d = unique('d');
  await check(t, "adk-js's app:/user: keys in our new sessions (same user; other user: app: only)", undefined, async () => {
    const sb = await p.rest.create(app, 'u1', {sessionId: b});
    assert.deepEqual(sortedState(sb.state), sortedState({
      'app:js_create': 'A', 'app:js_event': 1, 'app:shared': 'js-1', 'user:js_create': 'U', 'user:js_event': 1,
    }));
    const sc = await p.rest.create(app, 'u2', {sessionId: c});
    assert.deepEqual(sortedState(sc.state), sortedState({'app:js_create': 'A', 'app:js_event': 1, 'app:shared': 'js-1'}));
  });

  await check(t, "our app:/user: keys in adk-js's sessions (old and new)", undefined, async () => {
    const g = await ourGet(p, app, 'u1', b);
    const r = await p.rest.append(app, 'u1', b, {
      author: 'py_agent', invocationId: 'us-1', timestamp: secs(clock.next()),
      actions: {stateDelta: {'app:us_event': 2, 'user:us_event': 2, 'app:shared': 'us-1'}},
    }, g.lastUpdateTime);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await p.rest.create(app, 'u1', {sessionId: d, state: {'app:us_create': 'A2', 'user:us_create': 'U2'}});

    const allApp = {'app:js_create': 'A', 'app:js_event': 1, 'app:us_event': 2, 'app:us_create': 'A2', 'app:shared': 'us-1'};
    const u1 = {'user:js_create': 'U', 'user:js_event': 1, 'user:us_event': 2, 'user:us_create': 'U2'};
    const viewA = await jsGet(p.js, app, 'u1', a);
    assert.deepEqual(jsState(viewA), sortedState({...allApp, ...u1}));
    assert.deepEqual(sortedState((await ourGet(p, app, 'u1', a)).state), sortedState({...allApp, ...u1}));
    const e = await p.js.svc.createSession({appName: app, userId: 'u2', sessionId: unique('e')});
    assert.deepEqual(jsState(e), sortedState(allApp));
  });

  await check(t, 'last writer wins on a shared app: key, seen by both', undefined, async () => {
    const h = await jsGet(p.js, app, 'u1', a);
    await p.js.svc.appendEvent({
      session: h,
      event: createEvent({author: 'js_agent', invocationId: 'js-2', timestamp: clock.next(), actions: {stateDelta: {'app:shared': 'js-2'}}}),
    });
    assert.equal((await ourGet(p, app, 'u2', c)).state['app:shared'], 'js-2');
    const scoped = await p.rest.call<Record<string, unknown>>('GET', `/apps/${app}/state`);
    assert.equal(scoped.status, 200);
    assert.equal(scoped.body.shared, 'js-2');
    const userScoped = await p.rest.call<Record<string, unknown>>('GET', `/apps/${app}/users/u1/state`);
    assert.deepEqual(sortedState(userScoped.body), sortedState({js_create: 'U', js_event: 1, us_event: 2, us_create: 'U2'}));
  });
  await assertStoredTimesSane(p);
}

// ---------------------------------------------------------------------------------------

async function adkJsAtFault(t: TestContext, p: Pair): Promise<void> {
  const app = 'fault_app';
  const user = 'dave';
  const clock = new Clock(Date.now() + 1000);

  // adk-js appends through a handle that fell behind one of our appends.
  const id = unique('stale');
  const handle = await p.js.svc.createSession({appName: app, userId: user, sessionId: id});
  const before = await ourGet(p, app, user, id);
  const mine = await p.rest.append(app, user, id, {
    author: 'py_agent', invocationId: 'us-1', timestamp: secs(clock.next()),
    actions: {stateDelta: {from_us: 1}},
  }, before.lastUpdateTime);
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  const jsEvent = createEvent({author: 'js_agent', invocationId: 'js-1', timestamp: clock.next(), actions: {stateDelta: {from_js: 1}}});

  await check(t, "adk-js's appendEvent with a stale handle succeeds (adk-js never refuses; recorded)", undefined, async () => {
    await p.js.svc.appendEvent({session: handle, event: jsEvent});
    // It reloaded the session into the handle before appending.
    assert.deepEqual(handle.events.map((e) => e.id), [mine.body.event.id, jsEvent.id]);
    assert.equal((handle.state as Record<string, unknown>).from_us, 1);
  });
  await check(t, 'our server then serves a consistent session and still refuses the stale handle', undefined, async () => {
    const now = await ourGet(p, app, user, id);
    assert.deepEqual(now.events.map((e) => e.id), [mine.body.event.id, jsEvent.id]);
    assert.deepEqual(sortedState(now.state), {from_js: 1, from_us: 1});
    assert.ok(now.lastUpdateTime >= mine.body.lastUpdateTime - 1, 'not backwards (beyond whole-second truncation)');
    const stale = await p.rest.append(app, user, id, {author: 'py_agent', invocationId: 'us-2', timestamp: secs(clock.next())}, before.lastUpdateTime);
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const fresh = await p.rest.append(app, user, id, {author: 'py_agent', invocationId: 'us-3', timestamp: secs(clock.next())}, now.lastUpdateTime);
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
  });

  await check(t, "adk-js moves update_time back to an older event's time (recorded); we stay consistent", undefined, async () => {
    const was = await ourGet(p, app, user, id);
    const h = await jsGet(p.js, app, user, id);
    const old = createEvent({author: 'js_agent', invocationId: 'js-old', timestamp: Date.now() - 3_600_000});
    await p.js.svc.appendEvent({session: h, event: old});
    const now = await ourGet(p, app, user, id);
    // adk-js set sessions.update_time to the event's own (older) time.
    assert.ok(now.lastUpdateTime < was.lastUpdateTime, `${now.lastUpdateTime} < ${was.lastUpdateTime}`);
    assert.ok(now.events.some((e) => e.id === old.id));
    // The handle read before adk-js's write is stale, whichever way the time moved.
    const stale = await p.rest.append(app, user, id, {author: 'py_agent', invocationId: 'us-4', timestamp: secs(clock.next())}, was.lastUpdateTime);
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const fresh = await p.rest.append(app, user, id, {author: 'py_agent', invocationId: 'us-5', timestamp: secs(clock.next())}, now.lastUpdateTime);
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.ok(fresh.body.lastUpdateTime > was.lastUpdateTime, 'our revision is past every one seen');
  });

  // adk-js's startup dropped the events -> sessions cascade (both origins: adk-js's own
  // tables have no foreign key at all).
  const del = unique('del');
  await check(t, 'our DELETE removes the events too, and a new session with the same id starts empty', todoFor(DELETE_WITHOUT_CASCADE, p.backend), async () => {
    await p.rest.create(app, user, {sessionId: del});
    for (let i = 0; i < 2; i++) {
      const g = await ourGet(p, app, user, del);
      const r = await p.rest.append(app, user, del, {author: 'py_agent', invocationId: `d-${i}`, timestamp: secs(clock.next())}, g.lastUpdateTime);
      assert.equal(r.status, 200);
    }
    assert.equal((await p.rest.delete(app, user, del)).status, 200);
    const left = await p.sql.query<{n: number | string}>('SELECT COUNT(*) AS n FROM events WHERE session_id = ?', [del]);
    const again = await p.rest.create(app, user, {sessionId: del});
    const reread = await ourGet(p, app, user, del);
    const theirs = await jsGet(p.js, app, user, del);
    assert.deepEqual(
      {rowsLeft: Number(left[0].n), createEvents: again.events.length, getEvents: reread.events.length, jsEvents: theirs.events.length},
      {rowsLeft: 0, createEvents: 0, getEvents: 0, jsEvents: 0},
    );
  });
  await check(t, "adk-js's deleteSession removes our session and its events", undefined, async () => {
    const x = unique('jsdel');
    await p.rest.create(app, user, {sessionId: x});
    const g = await ourGet(p, app, user, x);
    assert.equal((await p.rest.append(app, user, x, {author: 'py_agent', invocationId: 'x', timestamp: secs(clock.next())}, g.lastUpdateTime)).status, 200);
    await p.js.svc.deleteSession({appName: app, userId: user, sessionId: x});
    assert.equal((await p.rest.get(app, user, x)).status, 404);
    const left = await p.sql.query<{n: number | string}>('SELECT COUNT(*) AS n FROM events WHERE session_id = ?', [x]);
    assert.equal(Number(left[0].n), 0);
  });
  await check(t, "a 256-character invocationId (our limit) after adk-js's update: stored, or refused with a 4xx, never a 503", todoFor(NARROWED_INVOCATION_ID_503, p.backend), async () => {
    const x = unique('inv256');
    await p.rest.create(app, user, {sessionId: x});
    const g = await ourGet(p, app, user, x);
    const r = await p.rest.append(app, user, x, {author: 'py_agent', invocationId: 'i'.repeat(256), timestamp: secs(clock.next())}, g.lastUpdateTime);
    assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `HTTP ${r.status} ${JSON.stringify(r.body)}`);
  });
  await assertStoredTimesSane(p);
}

/**
 * Our stale check and event order when writes fall within one second — what MariaDB's
 * whole-second DATETIME (adk-js's schema update) breaks. Runs on every backend: SQLite and
 * PostgreSQL keep microseconds and are the control.
 */
async function sameSecond(t: TestContext, p: Pair): Promise<void> {
  const app = 'second_app';
  const user = 'erin';
  const id = unique('sec');
  await p.rest.create(app, user, {sessionId: id});
  // Start on a whole second well ahead of now, so every write below lands in that second.
  const base = Math.ceil(Date.now() / 1000) + 5;
  const firstHandle = (await ourGet(p, app, user, id)).lastUpdateTime;
  const ev = (evId: string, at: number) => ({id: evId, author: 'py_agent', invocationId: `inv-${evId}`, timestamp: at});

  // Ids in reverse alphabetical order of their times, so that an order by id shows.
  const a0 = await p.rest.append(app, user, id, ev('evt-e', base + 0.1), firstHandle);
  assert.equal(a0.status, 200, `append with the handle from GET: ${JSON.stringify(a0.body)}`);
  // A handle read after a write in second `base`, then another write in that second.
  const h1 = (await ourGet(p, app, user, id)).lastUpdateTime;
  const a1 = await p.rest.append(app, user, id, ev('evt-d', base + 0.25), h1);
  assert.equal(a1.status, 200, `append with the handle from GET: ${JSON.stringify(a1.body)}`);

  await check(t, 'a handle that fell behind a write in the same second is refused (409)', todoFor(MARIADB_WHOLE_SECOND_REVISION, p.backend), async () => {
    const r = await p.rest.append(app, user, id, ev('evt-stale', base + 0.3), h1);
    assert.equal(r.status, 409, JSON.stringify(r.body));
  });
  // Whatever happened above, go on from a handle read now.
  const h = (await ourGet(p, app, user, id)).lastUpdateTime;
  const a2 = await p.rest.append(app, user, id, ev('evt-c', base + 0.5), h);
  assert.equal(a2.status, 200, `append with a fresh handle from GET: ${JSON.stringify(a2.body)}`);

  await check(t, "the lastUpdateTime of our own append reply is a handle that works", todoFor(MARIADB_WHOLE_SECOND_REVISION, p.backend), async () => {
    const r = await p.rest.append(app, user, id, ev('evt-b', base + 0.75), a2.body.lastUpdateTime);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  {
    const g = await ourGet(p, app, user, id);
    if (!g.events.some((e) => e.id === 'evt-b')) {
      const r = await p.rest.append(app, user, id, ev('evt-b', base + 0.75), g.lastUpdateTime);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  }
  await check(t, "the lastUpdateTime of our create reply is a handle that works", todoFor(MARIADB_WHOLE_SECOND_REVISION, p.backend), async () => {
    const other = unique('sec2');
    const created = await p.rest.create(app, user, {sessionId: other});
    const r = await p.rest.append(app, user, other, ev('evt-x', base + 0.1), created.lastUpdateTime);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  const g = await ourGet(p, app, user, id);
  const a4 = await p.rest.append(app, user, id, ev('evt-a', base + 0.9), g.lastUpdateTime);
  assert.equal(a4.status, 200, JSON.stringify(a4.body));

  await check(t, 'a handle that fell behind a write in another second is refused (409)', undefined, async () => {
    const before = (await ourGet(p, app, user, id)).lastUpdateTime;
    const r1 = await p.rest.append(app, user, id, ev('evt-next', base + 2.2), before);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    const r2 = await p.rest.append(app, user, id, ev('evt-late', base + 2.4), before);
    assert.equal(r2.status, 409, JSON.stringify(r2.body));
  });

  const todo = todoFor(MARIADB_WHOLE_SECOND_EVENTS, p.backend);
  await check(t, 'events of one second come back in time order', todo, async () => {
    const all = await ourGet(p, app, user, id);
    const ids = all.events.map((e) => e.id).filter((x) => x !== 'evt-stale');
    assert.deepEqual(ids, ['evt-e', 'evt-d', 'evt-c', 'evt-b', 'evt-a', 'evt-next']);
  });
  await check(t, 'numRecentEvents picks the newest by time within one second', todo, async () => {
    const recent = await ourGet(p, app, user, id, {numRecentEvents: 3});
    assert.deepEqual(recent.events.map((e) => e.id), ['evt-b', 'evt-a', 'evt-next']);
  });
  await check(t, 'afterTimestamp=t keeps the events at or after t within its second', todo, async () => {
    const after = await ourGet(p, app, user, id, {afterTimestamp: base + 0.5});
    assert.deepEqual(after.events.map((e) => e.id), ['evt-c', 'evt-b', 'evt-a', 'evt-next']);
  });
}

// ---------------------------------------------------------------------------------------

/** Asia/Kolkata: UTC+05:30 all year (no daylight saving), in seconds. */
const KOLKATA = 19_800;

/**
 * adk-js on a host whose zone is not UTC (`TZ=Asia/Kolkata`, in a process of its own): what
 * each driver does with zoneless time columns, and what our server then shows and writes.
 */
async function adkJsOffUtc(t: TestContext, p: Pair): Promise<void> {
  const app = 'zone_app';
  const user = 'farid';
  const id = unique('tz');
  const clock = new Clock(Date.now() - 30_000);
  await p.rest.create(app, user, {sessionId: id});
  const g0 = await ourGet(p, app, user, id);
  const a0 = await p.rest.append(app, user, id, {author: 'py_agent', invocationId: 'us-0', timestamp: secs(clock.next())}, g0.lastUpdateTime);
  assert.equal(a0.status, 200, JSON.stringify(a0.body));
  const ours = (await ourGet(p, app, user, id)).lastUpdateTime;

  const at = clock.next();
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./tz_child.js', import.meta.url)), p.db.jsUrl, app, user, id, String(at)], {
    encoding: 'utf8',
    env: {...process.env, TZ: 'Asia/Kolkata'},
    timeout: 60_000,
  });
  assert.equal(child.status, 0, `adk-js with TZ=Asia/Kolkata failed:\n${child.stderr}`);
  const js = JSON.parse(child.stdout.trim().split('\n').pop()!) as {readLastUpdateTime: number; eventId: string};
  const after = await ourGet(p, app, user, id);

  await check(t, "adk-js's reading of our time: SQLite/MariaDB zoneless text taken as local time (adk-js's quirk), PostgreSQL right", undefined, () => {
    const shift = p.backend === 'postgres' ? 0 : -KOLKATA * 1000;
    // ours: µs (SQLite/PostgreSQL) or whole seconds (MariaDB after adk-js's update); adk-js: ms.
    assert.ok(Math.abs(js.readLastUpdateTime - (ours * 1000 + shift)) < 1, `adk-js read ${js.readLastUpdateTime}, ours ${ours}`);
  });
  await check(t, "our reading of adk-js's write: MariaDB holds its local wall time (adk-js's quirk), SQLite/PostgreSQL right", undefined, () => {
    assert.ok(after.events.some((e) => e.id === js.eventId));
    const expected = p.backend === 'mariadb' ? Math.floor(at / 1000) + KOLKATA : secs(at);
    assert.equal(after.lastUpdateTime, expected);
  });
  await check(t, 'our next append: accepted with the handle we serve; the revision never goes back', undefined, async () => {
    const next = clock.next();
    const r = await p.rest.append(app, user, id, {author: 'py_agent', invocationId: 'us-1', timestamp: secs(next)}, after.lastUpdateTime);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const stored = (await ourGet(p, app, user, id)).lastUpdateTime;
    if (p.backend === 'mariadb') {
      // Past adk-js's misplaced time, 5.5 h ahead of the clock: our rule (a revision never
      // goes back) follows it; we cannot know the writer's zone. On the whole-second
      // column the revision is the next whole second, exactly as the reply says.
      assert.equal(stored, r.body.lastUpdateTime);
      assert.ok(stored > after.lastUpdateTime && Number.isInteger(stored), `${stored} after ${after.lastUpdateTime}`);
      assert.ok(r.body.lastUpdateTime > Date.now() / 1000 + KOLKATA - 3600);
    } else {
      assert.equal(stored, secs(next));
    }
  });
  await assertStoredTimesSane(p);
}

const CASES: [string, (t: TestContext, p: Pair) => Promise<void>, Origin[]][] = [
  ['2. adk-js writes, we read', jsWritesWeRead, ORIGINS],
  ['3. we write, adk-js reads', weWriteJsReads, ORIGINS],
  ['4. alternating appends to each side\'s sessions', alternateAppends, ORIGINS],
  ['5. app:/user: state both ways', scopedStateBothWays, ORIGINS],
  ['6a. where adk-js is at fault: stale handles, backwards update_time, delete', adkJsAtFault, ORIGINS],
  ['6b. writes within one second: stale checks and event order', sameSecond, ['ours-first']],
  ['6c. adk-js on a host whose zone is not UTC', adkJsOffUtc, ['ours-first']],
];

function forBackend(backend: BackendName) {
  for (const [name, body, origins] of CASES) {
    for (const origin of origins) {
      test(`${backend} (${origin}): ${name}`, (t) => withPair(backend, origin, (p) => body(t, p)));
    }
  }
}

for (const {name, missing} of backends()) {
  suite(`adk-js and our server on ${name}`, missing, () => forBackend(name));
}
