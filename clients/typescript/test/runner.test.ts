/**
 * A real adk-js Runner with an LlmAgent, a function tool and a scripted model (a BaseLlm
 * subclass with canned responses, no network) holds a multi-turn conversation through
 * RemoteSessionService; the same conversation through adk-js's InMemorySessionService must
 * look the same. Then the stored conversation is read back through the server's REST GET
 * (seconds there, milliseconds in adk-js) and, on SQLite and PostgreSQL, through
 * adk-python's own DatabaseSessionService on the same database; adk-python appends an
 * event, which makes the adk-js handle stale and shows up in the model's next request.
 */
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {
  BaseLlm,
  BaseSessionService,
  FunctionTool,
  InMemorySessionService,
  LlmAgent,
  Runner,
  createEvent,
  type Event,
  type LlmResponse,
  type Session,
} from '@google/adk';

import {
  RemoteSessionService,
  StaleSessionError,
  millisToMicros,
  secondsToMicros,
} from '../src/index.js';
import {
  PYTHON,
  PYTHON_WHY,
  adkPython,
  backends,
  plain,
  sqlalchemyUrl,
  startServer,
  suite,
  unique,
  type RunningServer,
} from './support.js';

type LlmRequestLike = Parameters<BaseLlm['generateContentAsync']>[0];

/** Answers each model call with the next canned response; records what it was sent. */
class ScriptedModel extends BaseLlm {
  readonly requests: unknown[] = [];
  private readonly script: LlmResponse[];

  constructor(script: LlmResponse[]) {
    super({model: 'scripted-model'});
    this.script = [...script];
  }

  async *generateContentAsync(request: LlmRequestLike): AsyncGenerator<LlmResponse, void> {
    this.requests.push(plain(request.contents));
    const next = this.script.shift();
    if (!next) {
      throw new Error('the scripted model ran out of responses');
    }
    yield next;
  }

  async connect(): Promise<never> {
    throw new Error('the scripted model has no live mode');
  }
}

function call(name: string, args: Record<string, unknown>): LlmResponse {
  return {content: {role: 'model', parts: [{functionCall: {name, args}}]}};
}

function say(text: string): LlmResponse {
  return {content: {role: 'model', parts: [{text}]}};
}

const FORECASTS: Record<string, {sky: string; celsius: number}> = {
  Paris: {sky: 'sunny', celsius: 21},
  Berlin: {sky: 'rain', celsius: 14},
};

function makeAgent(model: BaseLlm): LlmAgent {
  const getWeather = new FunctionTool({
    name: 'get_weather',
    description: 'The forecast for a city.',
    parameters: {
      type: 'OBJECT',
      properties: {city: {type: 'STRING', description: 'The city.'}},
      required: ['city'],
    } as never,
    execute: async (input: unknown, ctx) => {
      const {city} = input as {city: string};
      const state = ctx!.state;
      state.set('last_city', city);
      state.set('user:cities', [...((state.get('user:cities') as string[]) ?? []), city]);
      state.set('app:weather_calls', ((state.get('app:weather_calls') as number) ?? 0) + 1);
      state.set('temp:raw_forecast', JSON.stringify(FORECASTS[city]));
      return {city, ...FORECASTS[city]};
    },
  });
  return new LlmAgent({
    name: 'weather_agent',
    model,
    instruction: 'Answer weather questions with the get_weather tool.',
    tools: [getWeather],
    outputKey: 'last_answer',
  });
}

const SCRIPT = [
  call('get_weather', {city: 'Paris'}),
  say('It is sunny in Paris, 21°C.'),
  call('get_weather', {city: 'Berlin'}),
  say('Berlin: rain, 14°C.'),
  say("You're welcome!"),
];

const TURNS: {text: string; stateDelta?: Record<string, unknown>}[] = [
  {text: "What's the weather in Paris?", stateDelta: {'user:units': 'celsius', 'temp:request_only': 1}},
  {text: 'And in Berlin?'},
  {text: 'Thanks!'},
];

const USER = 'ada';
const SESSION_ID = 'conversation-1';

/** What a reader can compare across runtimes: no random ids. */
function summary(e: Event) {
  const parts = e.content?.parts ?? [];
  return plain({
    author: e.author,
    role: e.content?.role,
    texts: parts.filter((p) => p.text !== undefined).map((p) => p.text),
    functionCalls: parts.filter((p) => p.functionCall).map((p) => ({name: p.functionCall!.name, args: p.functionCall!.args})),
    functionResponses: parts
      .filter((p) => p.functionResponse)
      .map((p) => ({name: p.functionResponse!.name, response: p.functionResponse!.response})),
    stateDelta: e.actions?.stateDelta ?? {},
  });
}

/** Function-call ids in the model requests are random: blank them. */
function requestShape(contents: unknown): unknown {
  return JSON.parse(JSON.stringify(contents), (k, v) => (k === 'id' ? '<id>' : v));
}

interface Conversation {
  yielded: unknown[][];
  requests: unknown;
  session: Session;
  model: ScriptedModel;
  runner: Runner;
}

async function converse(service: BaseSessionService, appName: string): Promise<Conversation> {
  const model = new ScriptedModel(SCRIPT);
  const runner = new Runner({appName, agent: makeAgent(model), sessionService: service});
  await service.createSession({appName, userId: USER, sessionId: SESSION_ID, state: {topic: 'weather'}});
  const yielded: unknown[][] = [];
  for (const turn of TURNS) {
    const events: unknown[] = [];
    for await (const e of runner.runAsync({
      userId: USER,
      sessionId: SESSION_ID,
      newMessage: {role: 'user', parts: [{text: turn.text}]},
      stateDelta: turn.stateDelta,
    })) {
      events.push(summary(e));
    }
    yielded.push(events);
  }
  const session = (await service.getSession({appName, userId: USER, sessionId: SESSION_ID}))!;
  return {yielded, requests: requestShape(model.requests), session, model, runner};
}

for (const backend of backends()) {
  suite(`adk-js Runner conversation through RemoteSessionService: ${backend.name}`, backend.missing, () => {
    let server: RunningServer;
    let remote: RemoteSessionService;
    let appName: string;
    let expected: Conversation;
    let actual: Conversation;

    before(async () => {
      server = await startServer(backend.name);
      remote = new RemoteSessionService({baseUrl: server.url});
      appName = unique('weather');
      expected = await converse(new InMemorySessionService(), appName);
      actual = await converse(remote, appName);
    });
    after(async () => {
      await server?.stop();
    });

    test('the conversation matches the one through InMemorySessionService', () => {
      assert.deepEqual(actual.yielded, expected.yielded);
      // The model saw the same history each time: turn 2 and 3 were rebuilt from what the
      // server stored.
      assert.deepEqual(actual.requests, expected.requests);
      assert.equal(actual.model.requests.length, SCRIPT.length);
      assert.deepEqual(actual.session.events.map(summary), expected.session.events.map(summary));
      assert.deepEqual(plain(actual.session.state), plain(expected.session.state));
      assert.deepEqual(plain(actual.session.state), {
        topic: 'weather',
        'user:units': 'celsius',
        last_city: 'Berlin',
        'user:cities': ['Paris', 'Berlin'],
        'app:weather_calls': 2,
        last_answer: "You're welcome!",
      });
      const authors = actual.session.events.map((e) => e.author);
      assert.deepEqual(authors, [
        'user', 'weather_agent', 'weather_agent', 'weather_agent',
        'user', 'weather_agent', 'weather_agent', 'weather_agent',
        'user', 'weather_agent',
      ]);
      // Runner events keep their ids, invocation ids and (millisecond) timestamps.
      for (const e of actual.session.events) {
        assert.ok(Number.isInteger(e.timestamp) && e.timestamp > 1e12, `${e.timestamp} is whole ms`);
        assert.match(e.invocationId, /^e-/);
      }
    });

    test('the REST GET returns the same conversation in seconds', async () => {
      const r = await fetch(`${server.url}/apps/${appName}/users/${USER}/sessions/${SESSION_ID}`);
      assert.equal(r.status, 200);
      const wire = (await r.json()) as {state: unknown; lastUpdateTime: number; events: any[]};
      const events = actual.session.events;
      assert.equal(wire.events.length, events.length);
      wire.events.forEach((w, i) => {
        assert.equal(w.id, events[i].id);
        assert.equal(w.author, events[i].author);
        assert.equal(w.invocationId, events[i].invocationId);
        assert.ok(w.timestamp < 1e10, `${w.timestamp} is seconds`);
        assert.equal(secondsToMicros(w.timestamp), millisToMicros(events[i].timestamp));
        assert.deepEqual(
          w.content.parts.map((p: any) => p.text ?? p.functionCall?.name ?? p.functionResponse?.name),
          events[i].content!.parts!.map((p) => p.text ?? p.functionCall?.name ?? p.functionResponse?.name),
        );
      });
      assert.deepEqual(wire.state, plain(actual.session.state));
      assert.ok(wire.lastUpdateTime < 1e10);
      assert.equal(secondsToMicros(wire.lastUpdateTime), millisToMicros(actual.session.lastUpdateTime));
    });

    if (backend.name !== 'memory') {
      suite('adk-python reads the same database', PYTHON ? undefined : PYTHON_WHY, () => {
        test("adk-python's DatabaseSessionService sees the same authors, texts, tool calls and state", () => {
          const py = adkPython(['read', sqlalchemyUrl(server), appName, USER, SESSION_ID]) as {
            state: Record<string, unknown>;
            lastUpdateTime: number;
            events: {id: string; author: string; timestamp: number; texts: string[]; functionCalls: unknown[]; functionResponses: unknown[]; stateDelta: unknown}[];
          };
          const events = actual.session.events;
          assert.deepEqual(
            py.events.map((e) => ({
              author: e.author,
              texts: e.texts,
              functionCalls: e.functionCalls,
              functionResponses: e.functionResponses,
              stateDelta: e.stateDelta,
            })),
            events.map((e) => {
              const s = summary(e);
              return {
                author: s.author,
                texts: s.texts,
                functionCalls: s.functionCalls,
                functionResponses: s.functionResponses,
                stateDelta: s.stateDelta,
              };
            }),
          );
          assert.deepEqual(py.events.map((e) => e.id), events.map((e) => e.id));
          // adk-python's seconds are adk-js's milliseconds, to the microsecond.
          assert.deepEqual(
            py.events.map((e) => secondsToMicros(e.timestamp)),
            events.map((e) => millisToMicros(e.timestamp)),
          );
          assert.deepEqual(py.state, plain(actual.session.state));
          assert.equal(secondsToMicros(py.lastUpdateTime), millisToMicros(actual.session.lastUpdateTime));
        });

        test('an event appended by adk-python makes the adk-js handle stale and reaches the model', async () => {
          const handle = (await remote.getSession({appName, userId: USER, sessionId: SESSION_ID}))!;
          const appended = adkPython([
            'append', sqlalchemyUrl(server), appName, USER, SESSION_ID, 'hello from python',
          ]) as {event: {id: string; timestamp: number}; lastUpdateTime: number};

          const late = createEvent({
            invocationId: 'late',
            author: 'user',
            content: {role: 'user', parts: [{text: 'written through a stale handle'}]},
          });
          await assert.rejects(remote.appendEvent({session: handle, event: late}), StaleSessionError);

          const fresh = (await remote.getSession({appName, userId: USER, sessionId: SESSION_ID}))!;
          const last = fresh.events[fresh.events.length - 1];
          assert.equal(last.id, appended.event.id);
          assert.equal(last.author, 'python_agent');
          assert.equal(last.content?.parts?.[0]?.text, 'hello from python');
          assert.equal(millisToMicros(last.timestamp), secondsToMicros(appended.event.timestamp));
          assert.equal(fresh.state.from_python, 'hello from python');
          assert.equal(fresh.state['user:python_seen'], true);

          // The next turn runs on the reloaded session: the model is shown python's event.
          const model = new ScriptedModel([say('Python said hello.')]);
          const runner = new Runner({appName, agent: makeAgent(model), sessionService: remote});
          const texts: string[] = [];
          for await (const e of runner.runAsync({
            userId: USER,
            sessionId: SESSION_ID,
            newMessage: {role: 'user', parts: [{text: 'Anything new?'}]},
          })) {
            texts.push(...(e.content?.parts ?? []).map((p) => p.text ?? ''));
          }
          assert.deepEqual(texts, ['Python said hello.']);
          assert.ok(JSON.stringify(model.requests).includes('hello from python'));

          const py = adkPython(['read', sqlalchemyUrl(server), appName, USER, SESSION_ID]) as {
            events: {author: string; texts: string[]}[];
            state: Record<string, unknown>;
          };
          assert.deepEqual(py.events.slice(-3).map((e) => [e.author, e.texts]), [
            ['python_agent', ['hello from python']],
            ['user', ['Anything new?']],
            ['weather_agent', ['Python said hello.']],
          ]);
          assert.equal(py.state.last_answer, 'Python said hello.');
        });
      });
    }
  });
}
