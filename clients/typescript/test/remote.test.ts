/**
 * What only a shared, durable store has: the stale check between two handles, the
 * millisecond/second conversion against the server's raw JSON, the errors adk-js's
 * services throw, and where adk-js's in-memory service differs (each difference pinned,
 * so a change in adk-js shows up here).
 */
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {InMemorySessionService, createEvent, type Session} from '@google/adk';

import {
  AdkSessionsHttpError,
  RemoteSessionService,
  SessionAlreadyExistsError,
  SessionNotFoundError,
  StaleSessionError,
  millisToMicros,
  secondsToMicros,
} from '../src/index.js';
import {
  backends,
  plain,
  startServer,
  suite,
  unique,
  type RunningServer,
} from './support.js';

function future(offsetMs: number): number {
  return Math.floor(Date.now() / 1000) * 1000 + 60_000 + offsetMs;
}

function event(id: string, text: string, timestamp?: number, stateDelta: Record<string, unknown> = {}) {
  return createEvent({
    id,
    invocationId: `inv-${id}`,
    author: 'user',
    timestamp,
    content: {role: 'user', parts: [{text}]},
    actions: {stateDelta},
  });
}

async function raw(server: RunningServer, path: string): Promise<any> {
  const r = await fetch(server.url + path);
  assert.equal(r.status, 200, `GET ${path}`);
  return r.json();
}

for (const backend of backends()) {
  suite(`RemoteSessionService on ${backend.name}`, backend.missing, () => {
    let server: RunningServer;
    let svc: RemoteSessionService;
    before(async () => {
      server = await startServer(backend.name);
      svc = new RemoteSessionService({baseUrl: server.url});
    });
    after(async () => {
      await server?.stop();
    });

    test('stale handle: of two handles one wins, the other throws StaleSessionError', async () => {
      const key = {appName: unique('stale'), userId: 'alice', sessionId: 's1'};
      await svc.createSession({...key, state: {turn: 0}});
      const a = (await svc.getSession(key))!;
      const b = (await svc.getSession(key))!;
      assert.equal(a.lastUpdateTime, b.lastUpdateTime);

      await svc.appendEvent({session: a, event: event('ea', 'from a', undefined, {turn: 'a'})});
      const bBefore = {events: b.events.length, state: plain(b.state), time: b.lastUpdateTime};
      const eb = event('eb', 'from b', undefined, {turn: 'b', 'temp:t': 1});
      await assert.rejects(svc.appendEvent({session: b, event: eb}), (e: unknown) => {
        assert.ok(e instanceof StaleSessionError, String(e));
        assert.equal(e.name, 'StaleSessionError');
        assert.equal(e.sessionId, 's1');
        assert.match(e.message, /Reload the session with getSession and retry/);
        assert.match(e.detail, /^stale session \"s1\": stored revision \d+\.\d+ is not the handle's \d+\.\d+/);
        return true;
      });
      // Nothing stored, the losing handle and its event untouched.
      assert.deepEqual(
        {events: b.events.length, state: plain(b.state), time: b.lastUpdateTime},
        bBefore,
      );
      assert.deepEqual(plain(eb.actions.stateDelta), {turn: 'b', 'temp:t': 1});
      let stored = (await svc.getSession(key))!;
      assert.deepEqual(stored.events.map((e) => e.id), ['ea']);
      assert.equal(stored.state.turn, 'a');

      // The winner keeps appending; the loser reloads and then appends.
      await svc.appendEvent({session: a, event: event('ea2', 'a again')});
      await assert.rejects(svc.appendEvent({session: b, event: eb}), StaleSessionError);
      const b2 = (await svc.getSession(key))!;
      // Stored events are ordered by timestamp (as in adk-python's DatabaseSessionService):
      // a retried event that should come last needs a time after the winner's.
      eb.timestamp = Math.max(Date.now(), Math.ceil(b2.lastUpdateTime) + 1);
      await svc.appendEvent({session: b2, event: eb});
      stored = (await svc.getSession(key))!;
      assert.deepEqual(stored.events.map((e) => e.id), ['ea', 'ea2', 'eb']);
      assert.equal(stored.state.turn, 'b');
      assert.equal(stored.lastUpdateTime, b2.lastUpdateTime);
      // The handle returned by createSession is stale too by now.
      await assert.rejects(
        svc.appendEvent({session: a, event: event('late', 'late')}),
        StaleSessionError,
      );
    });

    test('concurrent appends through handles of the same version: exactly one lands', async () => {
      const appName = unique('race');
      const key = {appName, userId: 'alice', sessionId: 'race'};
      await svc.createSession(key);
      const handles: Session[] = [];
      for (let i = 0; i < 6; i++) {
        handles.push((await svc.getSession(key))!);
      }
      const results = await Promise.allSettled(
        handles.map((h, i) => svc.appendEvent({session: h, event: event(`r${i}`, `racer ${i}`)})),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      assert.equal(won.length, 1);
      assert.equal(lost.length, 5);
      for (const r of lost) {
        assert.ok(r.reason instanceof StaleSessionError, String(r.reason));
      }
      assert.equal((await svc.getSession(key))!.events.length, 1);
    });

    test('units: adk-js milliseconds here, float seconds on the wire, exact to the microsecond', async () => {
      const appName = unique('units');
      const key = {appName, userId: 'alice', sessionId: 'u1'};
      const base = `/apps/${appName}/users/alice/sessions/u1`;
      const created = await svc.createSession(key);
      let wire = await raw(server, base);
      assert.ok(wire.lastUpdateTime < 1e10, 'the server speaks seconds');
      assert.ok(created.lastUpdateTime > 1e12, 'adk-js gets milliseconds');
      assert.equal(millisToMicros(created.lastUpdateTime), secondsToMicros(wire.lastUpdateTime));

      // A whole-millisecond time comes back as the very same number.
      const t1 = future(0);
      const h = (await svc.getSession(key))!;
      await svc.appendEvent({session: h, event: event('e1', 'whole ms', t1)});
      assert.equal(h.lastUpdateTime, t1);
      wire = await raw(server, base);
      assert.equal(wire.events[0].timestamp, t1 / 1000);
      assert.equal(wire.lastUpdateTime, t1 / 1000);
      assert.equal((await svc.getSession(key))!.events[0].timestamp, t1);

      // Sub-millisecond times keep their microseconds both ways.
      const t2 = t1 + 1000.25;
      await svc.appendEvent({session: h, event: event('e2', 'fractional ms', t2)});
      wire = await raw(server, base);
      assert.equal(secondsToMicros(wire.events[1].timestamp), millisToMicros(t1) + 1_000_250);
      const got = (await svc.getSession(key))!;
      assert.equal(got.events[1].timestamp, t2);
      assert.equal(got.lastUpdateTime, t2);
      assert.equal(h.lastUpdateTime, t2);

      // An event older than the last update: the server moves the update time one
      // microsecond past the previous one (never backwards); the handle follows it
      // exactly, so its next append passes the stale check.
      const old = t1 - 3_600_000;
      const e3 = event('e3', 'from the past', old);
      await svc.appendEvent({session: h, event: e3});
      assert.equal(e3.timestamp, old);
      assert.equal(millisToMicros(h.lastUpdateTime), millisToMicros(t2) + 1);
      wire = await raw(server, base);
      assert.equal(secondsToMicros(wire.lastUpdateTime), millisToMicros(h.lastUpdateTime));
      await svc.appendEvent({session: h, event: event('e4', 'after the past', undefined)});

      // afterTimestamp is sent as seconds and is inclusive, to the microsecond.
      const after = await svc.getSession({...key, config: {afterTimestamp: t2}});
      assert.deepEqual(after!.events.map((e) => e.id), ['e2']);
      const after2 = await svc.getSession({...key, config: {afterTimestamp: t2 + 0.001}});
      assert.deepEqual(after2!.events.map((e) => e.id), []);
      // (e3 and e4 sort by their own timestamps on the SQL backends; e4 is "now", before t1.)
    });

    test('errors: not found, already exists, duplicate event id', async () => {
      const appName = unique('errors');
      const key = {appName, userId: 'alice', sessionId: 'e1'};
      const s = await svc.createSession(key);
      await assert.rejects(svc.createSession(key), (e: unknown) => {
        assert.ok(e instanceof SessionAlreadyExistsError);
        // adk-js DatabaseSessionService's message.
        assert.equal(e.message, 'Session with id e1 already exists.');
        return true;
      });
      await svc.appendEvent({session: s, event: event('dup', 'once')});
      await assert.rejects(svc.appendEvent({session: s, event: event('dup', 'twice')}), (e: unknown) => {
        assert.ok(e instanceof AdkSessionsHttpError, String(e));
        assert.equal(e.status, 409);
        assert.match(e.message, /dup/);
        assert.ok(e.message.includes(`${server.url}/apps/${appName}/users/alice/sessions/e1/events`));
        return true;
      });
      await svc.deleteSession(key);
      await assert.rejects(svc.appendEvent({session: s, event: event('gone', 'gone')}), (e: unknown) => {
        assert.ok(e instanceof SessionNotFoundError);
        // adk-js DatabaseSessionService's message.
        assert.equal(e.message, 'Session e1 not found for appendEvent');
        return true;
      });
      assert.equal(await svc.getSession(key), undefined);
    });

    test('extras: the scoped state endpoints', async () => {
      const appName = unique('scoped');
      const s = await svc.createSession({appName, userId: 'alice', sessionId: 's'});
      await svc.appendEvent({
        session: s,
        event: event('x', 'x', undefined, {'app:a': 1, 'user:u': 2, 's': 3, 'temp:t': 4}),
      });
      assert.deepEqual(await svc.getAppState(appName), {a: 1});
      assert.deepEqual(await svc.getUserState(appName, 'alice'), {u: 2});
      assert.deepEqual(await svc.getUserState(appName, 'bob'), {});
    });

    // Where adk-js's InMemorySessionService (2.0.0) behaves otherwise. Each pins both sides.
    describe('documented differences from adk-js InMemorySessionService', () => {
      test('createSession with a taken id: in-memory replaces the session, we throw', async () => {
        const appName = unique('diff-dup');
        const mem = new InMemorySessionService();
        const key = {appName, userId: 'u', sessionId: 's'};
        await mem.createSession({...key, state: {v: 1}});
        await mem.createSession({...key, state: {v: 2}});
        assert.equal((await mem.getSession(key))!.state.v, 2);
        await svc.createSession({...key, state: {v: 1}});
        await assert.rejects(svc.createSession({...key, state: {v: 2}}), SessionAlreadyExistsError);
        assert.equal((await svc.getSession(key))!.state.v, 1);
      });

      test('app:/user: keys in createSession state: shared scopes here (as adk-python and adk-js DatabaseSessionService), session-local in memory', async () => {
        const appName = unique('diff-scope');
        const initial = {'app:plan': 'pro', 'user:name': 'Ada', own: 1};
        const mem = new InMemorySessionService();
        await mem.createSession({appName, userId: 'u', sessionId: 's1', state: initial});
        const memOther = await mem.createSession({appName, userId: 'u', sessionId: 's2'});
        assert.deepEqual(plain(memOther.state), {});
        await svc.createSession({appName, userId: 'u', sessionId: 's1', state: initial});
        const other = await svc.createSession({appName, userId: 'u', sessionId: 's2'});
        assert.deepEqual(plain(other.state), {'app:plan': 'pro', 'user:name': 'Ada'});
      });

      test('a partial event: in-memory still moves lastUpdateTime (and app:/user: state); we touch nothing', async () => {
        const appName = unique('diff-partial');
        const t = future(0);
        const partial = () =>
          createEvent({
            id: 'p',
            invocationId: 'p',
            author: 'model',
            partial: true,
            timestamp: t,
            actions: {stateDelta: {'app:p': 1}},
          });
        const mem = new InMemorySessionService();
        const ms = await mem.createSession({appName, userId: 'u', sessionId: 's'});
        await mem.appendEvent({session: ms, event: partial()});
        assert.equal(ms.lastUpdateTime, t);
        assert.equal((await mem.getSession({appName, userId: 'u', sessionId: 's'}))!.state['app:p'], 1);

        const rs = await svc.createSession({appName, userId: 'u', sessionId: 's'});
        const before = rs.lastUpdateTime;
        await svc.appendEvent({session: rs, event: partial()});
        assert.equal(rs.lastUpdateTime, before);
        const got = (await svc.getSession({appName, userId: 'u', sessionId: 's'}))!;
        assert.equal(got.state['app:p'], undefined);
        assert.equal(got.events.length, 0);
      });

      test('re-appending an event id: in-memory replaces the event, the server refuses (409)', async () => {
        const appName = unique('diff-reappend');
        const key = {appName, userId: 'u', sessionId: 's'};
        const mem = new InMemorySessionService();
        const ms = await mem.createSession(key);
        await mem.appendEvent({session: ms, event: event('same', 'v1')});
        await mem.appendEvent({session: ms, event: event('same', 'v2')});
        const memEvents = (await mem.getSession(key))!.events;
        assert.deepEqual(memEvents.map((e) => e.content?.parts?.[0]?.text), ['v2']);

        const rs = await svc.createSession(key);
        await svc.appendEvent({session: rs, event: event('same', 'v1')});
        await assert.rejects(svc.appendEvent({session: rs, event: event('same', 'v2')}), AdkSessionsHttpError);
        const events = (await svc.getSession(key))!.events;
        assert.deepEqual(events.map((e) => e.content?.parts?.[0]?.text), ['v1']);
      });

      test('an append through a stale handle: in-memory silently applies it, we throw', async () => {
        const appName = unique('diff-stale');
        const key = {appName, userId: 'u', sessionId: 's'};
        const mem = new InMemorySessionService();
        await mem.createSession(key);
        const [ma, mb] = [(await mem.getSession(key))!, (await mem.getSession(key))!];
        await mem.appendEvent({session: ma, event: event('a', 'a')});
        await mem.appendEvent({session: mb, event: event('b', 'b')});
        assert.equal((await mem.getSession(key))!.events.length, 2);

        await svc.createSession(key);
        const [ra, rb] = [(await svc.getSession(key))!, (await svc.getSession(key))!];
        await svc.appendEvent({session: ra, event: event('a', 'a')});
        await assert.rejects(svc.appendEvent({session: rb, event: event('b', 'b')}), StaleSessionError);
        assert.equal((await svc.getSession(key))!.events.length, 1);
      });
    });
  });
}
