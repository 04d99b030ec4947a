/**
 * adk-js in a process of its own, so that it can run with another `TZ` than the tests:
 * `node dist/tz_child.js <jsUrl> <app> <user> <sessionId> <eventTimestampMs>` reads the
 * session, appends one event at the given time, and prints one JSON line:
 * `{readLastUpdateTime, appendedLastUpdateTime, eventIds}` (adk-js's numbers, in ms).
 */
import {DatabaseSessionService, createEvent} from '@google/adk';
import type {MikroORM} from '@mikro-orm/core';

const [jsUrl, app, user, id, at] = process.argv.slice(2);
const svc = new DatabaseSessionService(jsUrl);
try {
  const s = await svc.getSession({appName: app, userId: user, sessionId: id});
  if (!s) throw new Error(`no session ${id}`);
  const readLastUpdateTime = s.lastUpdateTime;
  const event = createEvent({author: 'js_agent', invocationId: 'tz-1', timestamp: Number(at)});
  await svc.appendEvent({session: s, event});
  process.stdout.write(
    JSON.stringify({readLastUpdateTime, appendedLastUpdateTime: s.lastUpdateTime, eventId: event.id}) + '\n',
  );
} finally {
  await (svc as unknown as {orm?: MikroORM}).orm?.close(true);
}
