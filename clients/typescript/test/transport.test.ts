/**
 * HTTP behaviour: a clear error naming the URL when the server is down or silent, retries
 * for GETs only, bearer tokens (option or ADK_SESSIONS_TOKEN), path encoding. A stand-in
 * HTTP server counts requests; the last suite uses the real server's --auth-tokens.
 */
import assert from 'node:assert/strict';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import {writeFileSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';

import {
  AdkSessionsConnectionError,
  AdkSessionsHttpError,
  RemoteSessionService,
} from '../src/index.js';
import {BIN, BIN_WHY, startServer, suite, type RunningServer} from './support.js';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
}

/** A stand-in server answering with `reply` and recording each request. */
async function standIn(
  reply: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<{url: string; seen: Seen[]; close(): Promise<void>}> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({method: req.method!, url: req.url!, authorization: req.headers.authorization});
    req.resume();
    req.on('end', () => reply(req, res, seen.length));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as {port: number}).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json'});
  res.end(JSON.stringify(body));
}

const SESSION = {
  id: 's',
  appName: 'a',
  userId: 'u',
  state: {k: 1},
  events: [],
  lastUpdateTime: 1700000000.5,
};

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as {port: number}).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('transport', () => {
  test('server down: an error naming the URL, after the GET retries', async () => {
    const port = await closedPort();
    const svc = new RemoteSessionService({baseUrl: `http://127.0.0.1:${port}/`, retries: 1});
    await assert.rejects(svc.getSession({appName: 'a', userId: 'u', sessionId: 's'}), (e: unknown) => {
      assert.ok(e instanceof AdkSessionsConnectionError, String(e));
      assert.equal(e.attempts, 2);
      assert.equal(e.url, `http://127.0.0.1:${port}/apps/a/users/u/sessions/s`);
      assert.ok(e.message.includes(`GET http://127.0.0.1:${port}/apps/a/users/u/sessions/s`), e.message);
      assert.match(e.message, /unreachable/);
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
    await assert.rejects(svc.createSession({appName: 'a', userId: 'u'}), (e: unknown) => {
      assert.ok(e instanceof AdkSessionsConnectionError);
      assert.equal(e.attempts, 1);
      assert.match(e.message, /POST http:\/\/127\.0\.0\.1:\d+\/apps\/a\/users\/u\/sessions failed after 1 attempt:/);
      return true;
    });
  });

  test('GETs are retried on 502/503/504, writes never', async () => {
    const srv = await standIn((req, res, n) => {
      if (req.method === 'GET' && n <= 2) {
        json(res, 503, {detail: 'busy'});
      } else if (req.method === 'GET') {
        json(res, 200, SESSION);
      } else {
        json(res, 503, {detail: 'busy'});
      }
    });
    try {
      const svc = new RemoteSessionService({baseUrl: srv.url, retries: 2});
      const s = await svc.getSession({appName: 'a', userId: 'u', sessionId: 's'});
      assert.equal(srv.seen.length, 3);
      assert.equal(s?.lastUpdateTime, 1700000000500);
      assert.deepEqual(s?.state, {k: 1});

      srv.seen.length = 0;
      await assert.rejects(svc.createSession({appName: 'a', userId: 'u'}), (e: unknown) => {
        assert.ok(e instanceof AdkSessionsHttpError);
        assert.equal(e.status, 503);
        assert.equal(e.detail, 'busy');
        assert.match(e.message, /answered 503 to POST http:\/\/127\.0\.0\.1:\d+\/apps\/a\/users\/u\/sessions: busy/);
        return true;
      });
      await assert.rejects(svc.deleteSession({appName: 'a', userId: 'u', sessionId: 's'}), AdkSessionsHttpError);
      assert.deepEqual(srv.seen.map((r) => r.method), ['POST', 'DELETE']);

      srv.seen.length = 0;
      const noRetry = new RemoteSessionService({baseUrl: srv.url, retries: 0});
      await assert.rejects(noRetry.getSession({appName: 'a', userId: 'u', sessionId: 's'}), AdkSessionsHttpError);
      assert.equal(srv.seen.length, 1);
    } finally {
      await srv.close();
    }
  });

  test('a silent server: the timeout names the URL', async () => {
    const srv = await standIn(() => {
      // never answers
    });
    try {
      const svc = new RemoteSessionService({baseUrl: srv.url, timeoutMs: 150, retries: 1});
      const started = Date.now();
      await assert.rejects(svc.listSessions({appName: 'a', userId: 'u'}), (e: unknown) => {
        assert.ok(e instanceof AdkSessionsConnectionError, String(e));
        assert.equal(e.attempts, 2);
        assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/apps\/a\/users\/u\/sessions\?pageSize=500 failed after 2 attempts: no answer in time/);
        return true;
      });
      assert.ok(Date.now() - started < 5000);
      assert.equal(srv.seen.length, 2);
    } finally {
      await srv.close();
    }
  });

  test('bearer token from the option or ADK_SESSIONS_TOKEN; ids are path-encoded', async () => {
    const srv = await standIn((_req, res) => json(res, 404, {detail: 'Session not found'}));
    const saved = process.env.ADK_SESSIONS_TOKEN;
    try {
      delete process.env.ADK_SESSIONS_TOKEN;
      const key = {appName: 'my app', userId: 'ü/ser', sessionId: 's?1#x'};
      assert.equal(await new RemoteSessionService({baseUrl: srv.url}).getSession(key), undefined);
      process.env.ADK_SESSIONS_TOKEN = 'token-from-env';
      await new RemoteSessionService({baseUrl: srv.url}).getSession(key);
      await new RemoteSessionService({baseUrl: srv.url, token: 'explicit-token'}).getSession(key);
      assert.deepEqual(
        srv.seen.map((r) => r.authorization),
        [undefined, 'Bearer token-from-env', 'Bearer explicit-token'],
      );
      assert.equal(srv.seen[0].url, '/apps/my%20app/users/%C3%BC%2Fser/sessions/s%3F1%23x');
    } finally {
      if (saved === undefined) {
        delete process.env.ADK_SESSIONS_TOKEN;
      } else {
        process.env.ADK_SESSIONS_TOKEN = saved;
      }
      await srv.close();
    }
  });

  test('the constructor wants a baseUrl', () => {
    assert.throws(() => new RemoteSessionService({} as never), /needs \{baseUrl\}/);
  });
});

suite('transport against the real server with --auth-tokens', BIN ? undefined : BIN_WHY, () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adk-sessions-ts-auth-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(
      tokens,
      JSON.stringify({tokens: [{token: 'support-bot-token', apps: ['support_bot']}]}),
    );
    server = await startServer('memory', ['--auth-tokens', tokens]);
  });
  after(async () => {
    await server?.stop();
    if (dir) {
      rmSync(dir, {recursive: true, force: true});
    }
  });

  test('401 without a token, 403 for another app, through with it', async () => {
    const saved = process.env.ADK_SESSIONS_TOKEN;
    delete process.env.ADK_SESSIONS_TOKEN;
    try {
      const anonymous = new RemoteSessionService({baseUrl: server.url});
      await assert.rejects(anonymous.createSession({appName: 'support_bot', userId: 'u'}), (e: unknown) => {
        assert.ok(e instanceof AdkSessionsHttpError);
        assert.equal(e.status, 401);
        assert.ok(e.message.includes(`POST ${server.url}/apps/support_bot/users/u/sessions`), e.message);
        return true;
      });
      const svc = new RemoteSessionService({baseUrl: server.url, token: 'support-bot-token'});
      await assert.rejects(svc.getSession({appName: 'other_app', userId: 'u', sessionId: 's'}), (e: unknown) => {
        assert.ok(e instanceof AdkSessionsHttpError);
        assert.equal(e.status, 403);
        return true;
      });
      const s = await svc.createSession({appName: 'support_bot', userId: 'u', sessionId: 'odd id/ü?#'});
      assert.equal(s.id, 'odd id/ü?#');
      process.env.ADK_SESSIONS_TOKEN = 'support-bot-token';
      const fromEnv = new RemoteSessionService({baseUrl: server.url});
      const got = await fromEnv.getSession({appName: 'support_bot', userId: 'u', sessionId: 'odd id/ü?#'});
      assert.equal(got?.id, 'odd id/ü?#');
    } finally {
      if (saved === undefined) {
        delete process.env.ADK_SESSIONS_TOKEN;
      } else {
        process.env.ADK_SESSIONS_TOKEN = saved;
      }
    }
  });
});
