// Quickstart: an adk-js session service backed by `adk-sessions serve`.
//   adk-sessions serve --db sqlite://sessions.db --addr 127.0.0.1:8000
//   npm run build && node examples/quickstart.mjs [http://127.0.0.1:8000]
import {createEvent} from '@google/adk';
import {RemoteSessionService, StaleSessionError} from '@adk-sessions/client';

const baseUrl = process.argv[2] ?? process.env.ADK_SESSIONS_URL ?? 'http://127.0.0.1:8000';
const sessions = new RemoteSessionService({baseUrl});
const key = {appName: 'quickstart', userId: 'alice', sessionId: `demo-${Date.now()}`};

const session = await sessions.createSession({...key, state: {topic: 'weather'}});
console.log('created', session.id, 'state', session.state, 'lastUpdateTime (ms)', session.lastUpdateTime);

const event = createEvent({
  invocationId: 'inv-1',
  author: 'user',
  content: {role: 'user', parts: [{text: 'Will it rain in Paris?'}]},
  actions: {stateDelta: {city: 'Paris', 'user:lang': 'en', 'temp:scratch': 'not stored'}},
});
await sessions.appendEvent({session, event});
console.log('handle after append: state', session.state, 'events', session.events.length,
  'lastUpdateTime === event.timestamp:', session.lastUpdateTime === event.timestamp);

const loaded = await sessions.getSession(key);
console.log('loaded: state', loaded.state, 'event timestamp (ms)', loaded.events[0].timestamp);
const wire = await (await fetch(`${baseUrl}/apps/quickstart/users/alice/sessions/${key.sessionId}`)).json();
console.log('same event over REST: timestamp (s)', wire.events[0].timestamp);

// Two handles of one session: the first append wins, the other handle is stale.
const a = await sessions.getSession(key);
const b = await sessions.getSession(key);
await sessions.appendEvent({session: a, event: createEvent({invocationId: 'inv-2', author: 'agent_a'})});
try {
  await sessions.appendEvent({session: b, event: createEvent({invocationId: 'inv-3', author: 'agent_b'})});
} catch (e) {
  if (!(e instanceof StaleSessionError)) throw e;
  console.log(`${e.name}: ${e.message}`);
  const fresh = await sessions.getSession(key);
  await sessions.appendEvent({session: fresh, event: createEvent({invocationId: 'inv-3', author: 'agent_b'})});
  console.log('after reload:', fresh.events.map((e) => e.author).join(', '));
}

const {sessions: listed, totalItems} = await sessions.listSessions({appName: 'quickstart', userId: 'alice', order: 'desc', limit: 1});
console.log('newest of', totalItems, 'sessions:', listed[0].id);
await sessions.deleteSession(key);
console.log('deleted; getSession now returns', await sessions.getSession(key));
