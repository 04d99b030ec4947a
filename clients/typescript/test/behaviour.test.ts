/**
 * The same behaviour cases against adk-js's own InMemorySessionService and against
 * RemoteSessionService on a real server (memory, SQLite, PostgreSQL): each case returns a
 * transcript of what a caller sees, and the two transcripts must be equal.
 */
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {
  BaseSessionService,
  InMemorySessionService,
  createEvent,
  type Session,
} from '@google/adk';

import {RemoteSessionService} from '../src/index.js';
import {
  backends,
  plain,
  startServer,
  suite,
  unique,
  type RunningServer,
} from './support.js';

type Transcript = Record<string, unknown>;
type Case = (svc: BaseSessionService, appName: string) => Promise<Transcript>;

/**
 * A time in the future (whole milliseconds), so an append sets exactly this update time.
 * Both runs of a case (in-memory and remote) use the same base.
 */
let base = 0;
function future(offsetMs: number): number {
  return base + offsetMs;
}

function view(s: Session | undefined): unknown {
  if (!s) {
    return null;
  }
  return plain({id: s.id, appName: s.appName, userId: s.userId, state: s.state, events: s.events});
}

function isMillis(t: number): boolean {
  // Epoch milliseconds of this century, not seconds.
  return t > 1e12 && t < 1e14;
}

function textEvent(author: string, text: string, timestamp: number, stateDelta = {}) {
  return createEvent({
    id: `ev-${text.replace(/\W+/g, '-')}`,
    invocationId: `inv-${text}`,
    author,
    timestamp,
    content: {role: author === 'user' ? 'user' : 'model', parts: [{text}]},
    actions: {stateDelta},
  });
}

const CASES: Record<string, Case> = {
  'create, get, getOrCreate and delete': async (svc, appName) => {
    const t: Transcript = {};
    const s1 = await svc.createSession({
      appName,
      userId: 'alice',
      sessionId: 's1',
      state: {topic: 'weather', 'temp:draft': 'dropped', n: 1, nested: {a: [1, 2], b: null}},
    });
    t.created = view(s1);
    t.createdTimeIsMillis = isMillis(s1.lastUpdateTime);
    const got = await svc.getSession({appName, userId: 'alice', sessionId: 's1'});
    t.got = view(got);
    t.getKeepsCreateTime = got?.lastUpdateTime === s1.lastUpdateTime;
    t.gotIsACopy = got !== s1 && got?.state !== s1.state;

    const generated = await svc.createSession({appName, userId: 'alice'});
    t.generatedId = typeof generated.id === 'string' && generated.id.length > 0;
    t.generatedFound =
      (await svc.getSession({appName, userId: 'alice', sessionId: generated.id}))?.id === generated.id;

    t.missing = view(await svc.getSession({appName, userId: 'alice', sessionId: 'nope'}));
    t.otherUser = view(await svc.getSession({appName, userId: 'bob', sessionId: 's1'}));
    t.otherApp = view(await svc.getSession({appName: `${appName}-x`, userId: 'alice', sessionId: 's1'}));

    const oc1 = await svc.getOrCreateSession({appName, userId: 'alice', sessionId: 's2', state: {a: 1}});
    const oc2 = await svc.getOrCreateSession({appName, userId: 'alice', sessionId: 's2', state: {b: 2}});
    t.getOrCreate = [view(oc1), view(oc2)];

    await svc.deleteSession({appName, userId: 'alice', sessionId: 's1'});
    t.afterDelete = view(await svc.getSession({appName, userId: 'alice', sessionId: 's1'}));
    await svc.deleteSession({appName, userId: 'alice', sessionId: 's1'});
    await svc.deleteSession({appName, userId: 'nobody', sessionId: 'never'});
    t.deleteMissingIsQuiet = true;
    return t;
  },

  'appendEvent: returned event, handle, temp keys, times in milliseconds': async (svc, appName) => {
    const t: Transcript = {};
    const s = await svc.createSession({appName, userId: 'alice', sessionId: 's1', state: {x: 0}});
    const ts1 = future(0);
    const e1 = textEvent('user', 'hello', ts1, {x: 1, 'temp:scratch': 't', n: {deep: [1]}});
    const returned = await svc.appendEvent({session: s, event: e1});
    t.returnsTheSameObject = returned === e1;
    t.tempRemovedFromTheEventInPlace = plain(e1.actions.stateDelta);
    t.handleHoldsTheSameObject = s.events[0] === e1;
    t.handleAfterFirst = view(s);
    t.handleTimeIsTheEventTime = s.lastUpdateTime === ts1;

    const ts2 = future(1500);
    const e2 = textEvent('model', 'hi there', ts2, {x: 2, 'temp:only': true});
    await svc.appendEvent({session: s, event: e2});
    t.handleAfterSecond = view(s);
    t.handleTime2 = s.lastUpdateTime === ts2;

    const got = await svc.getSession({appName, userId: 'alice', sessionId: 's1'});
    t.got = view(got);
    t.gotTime = got?.lastUpdateTime === ts2;
    t.gotTimestamps = got?.events.map((e) => [e.timestamp === ts1, e.timestamp === ts2]);
    t.gotTimestampsAreMillis = got?.events.every((e) => isMillis(e.timestamp));
    // Appending through the handle returned by getSession keeps working.
    const e3 = textEvent('user', 'again', future(3000));
    await svc.appendEvent({session: got!, event: e3});
    t.afterThird = view(await svc.getSession({appName, userId: 'alice', sessionId: 's1'}));
    return t;
  },

  'state scopes: app:, user: and session keys': async (svc, appName) => {
    const t: Transcript = {};
    const a1 = await svc.createSession({appName, userId: 'alice', sessionId: 'a1', state: {own: 'a1'}});
    await svc.appendEvent({
      session: a1,
      event: textEvent('model', 'set', future(0), {'app:theme': 'dark', 'user:lang': 'fr', k: 'v'}),
    });
    t.handle = plain(a1.state);
    // A session created after sees the app's and the user's state.
    t.a2Created = plain((await svc.createSession({appName, userId: 'alice', sessionId: 'a2'})).state);
    t.b1Created = plain((await svc.createSession({appName, userId: 'bob', sessionId: 'b1'})).state);
    const b1 = (await svc.getSession({appName, userId: 'bob', sessionId: 'b1'}))!;
    await svc.appendEvent({
      session: b1,
      event: textEvent('model', 'bob', future(1000), {'app:theme': 'light', 'user:lang': 'de'}),
    });
    t.bobHandle = plain(b1.state);
    for (const [user, id] of [
      ['alice', 'a1'],
      ['alice', 'a2'],
      ['bob', 'b1'],
    ]) {
      t[`${user}/${id}`] = plain((await svc.getSession({appName, userId: user, sessionId: id}))?.state);
    }
    t.otherApp = plain(
      (await svc.createSession({appName: `${appName}-other`, userId: 'alice', sessionId: 'o1'})).state,
    );
    return t;
  },

  'partial events are neither stored nor applied': async (svc, appName) => {
    const t: Transcript = {};
    const s = await svc.createSession({appName, userId: 'alice', sessionId: 's1', state: {x: 0}});
    const partial = createEvent({
      id: 'ev-partial',
      invocationId: 'inv-p',
      author: 'model',
      partial: true,
      timestamp: future(0),
      content: {role: 'model', parts: [{text: 'stream chu'}]},
      actions: {stateDelta: {x: 'partial', 'temp:t': 1}},
    });
    const returned = await svc.appendEvent({session: s, event: partial});
    t.returnsTheSameObject = returned === partial;
    t.eventUntouched = plain(partial.actions.stateDelta);
    t.handle = view(s);
    t.stored = view(await svc.getSession({appName, userId: 'alice', sessionId: 's1'}));
    // The handle still appends (for the remote service: its stale check still passes).
    const full = textEvent('model', 'stream chunk done', future(1000), {x: 'final'});
    await svc.appendEvent({session: s, event: full});
    t.afterFull = view(await svc.getSession({appName, userId: 'alice', sessionId: 's1'}));
    return t;
  },

  'getSession filters: numRecentEvents and afterTimestamp': async (svc, appName) => {
    const t: Transcript = {};
    const s = await svc.createSession({appName, userId: 'alice', sessionId: 's1'});
    for (const [i, text] of ['one', 'two', 'three'].entries()) {
      await svc.appendEvent({session: s, event: textEvent('user', text, base + 1000 * (i + 1))});
    }
    const texts = async (config: {numRecentEvents?: number; afterTimestamp?: number}) =>
      (await svc.getSession({appName, userId: 'alice', sessionId: 's1', config}))!.events.map(
        (e) => e.content?.parts?.[0]?.text,
      );
    t.recent2 = await texts({numRecentEvents: 2});
    t.recent10 = await texts({numRecentEvents: 10});
    t.recent0IsNoFilter = await texts({numRecentEvents: 0});
    t.afterInclusive = await texts({afterTimestamp: base + 2000});
    t.afterBetween = await texts({afterTimestamp: base + 2500});
    t.afterAll = await texts({afterTimestamp: base + 5000});
    t.afterNone = await texts({afterTimestamp: base});
    t.after0IsNoFilter = await texts({afterTimestamp: 0});
    t.both = await texts({numRecentEvents: 1, afterTimestamp: base + 1000});
    t.both2 = await texts({numRecentEvents: 3, afterTimestamp: base + 2000});
    return t;
  },

  'listSessions: users, order, limit, offset, page': async (svc, appName) => {
    const t: Transcript = {};
    // Update order a2 < a3 < b1 < a1, unlike creation order.
    const plan: [string, string, number][] = [
      ['alice', 'a1', 4],
      ['alice', 'a2', 1],
      ['alice', 'a3', 2],
      ['bob', 'b1', 3],
    ];
    for (const [user, id, k] of plan) {
      const s = await svc.createSession({appName, userId: user, sessionId: id, state: {id}});
      await svc.appendEvent({session: s, event: textEvent('user', id, base + 1000 * k, {'user:u': user})});
    }
    const summary = (r: Awaited<ReturnType<BaseSessionService['listSessions']>>) => ({
      ids: r.sessions.map((s) => `${s.userId}/${s.id}`),
      page: r.page,
      limit: r.limit,
      totalItems: r.totalItems,
      totalPages: r.totalPages,
    });
    const unordered = await svc.listSessions({appName, userId: 'alice'});
    t.aliceUnordered = {...summary(unordered), ids: summary(unordered).ids.sort()};
    t.sessionsCarryNoStateOrEvents = plain(
      unordered.sessions
        .map((s) => ({id: s.id, appName: s.appName === appName, state: s.state, events: s.events}))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    t.listedTimes = Object.fromEntries(
      unordered.sessions.map((s) => [s.id, s.lastUpdateTime - base]).sort(),
    );
    t.aliceAsc = summary(await svc.listSessions({appName, userId: 'alice', order: 'asc'}));
    t.aliceDesc = summary(await svc.listSessions({appName, userId: 'alice', order: 'desc'}));
    t.everyoneAsc = summary(await svc.listSessions({appName, order: 'asc'}));
    t.page2of2 = summary(await svc.listSessions({appName, order: 'asc', limit: 2, page: 2}));
    t.page3 = summary(await svc.listSessions({appName, order: 'asc', limit: 2, page: 3}));
    t.offset1 = summary(await svc.listSessions({appName, order: 'desc', limit: 2, offset: 1}));
    t.offsetNoLimit = summary(await svc.listSessions({appName, order: 'asc', offset: 3}));
    t.limit0 = summary(await svc.listSessions({appName, order: 'asc', limit: 0}));
    t.nobody = summary(await svc.listSessions({appName, userId: 'nobody'}));
    t.nobodyPaged = summary(await svc.listSessions({appName, userId: 'nobody', limit: 5, offset: 10}));
    t.otherApp = summary(await svc.listSessions({appName: `${appName}-none`}));
    await svc.deleteSession({appName, userId: 'alice', sessionId: 'a1'});
    t.afterDelete = summary(await svc.listSessions({appName, order: 'desc'}));
    return t;
  },
};

for (const backend of backends()) {
  suite(`same behaviour as adk-js InMemorySessionService: ${backend.name}`, backend.missing, () => {
    let server: RunningServer;
    let remote: RemoteSessionService;
    before(async () => {
      server = await startServer(backend.name);
      remote = new RemoteSessionService({baseUrl: server.url});
    });
    after(async () => {
      await server?.stop();
    });

    for (const [name, run] of Object.entries(CASES)) {
      test(name, async () => {
        const app = unique('behaviour');
        base = Math.floor(Date.now() / 1000) * 1000 + 60_000;
        const expected = await run(new InMemorySessionService(), app);
        const actual = await run(remote, app);
        assert.deepEqual(actual, expected);
      });
    }
  });
}
