/**
 * The client over HTTPS to the real server (`serve --tls-cert --tls-key`): adk-js's calls
 * work in a Node process that trusts the server's certificate (NODE_EXTRA_CA_CERTS, read
 * by Node at start, so that process is a child), and an untrusted certificate is an
 * AdkSessionsConnectionError before anything is sent.
 */
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {after, before, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {AdkSessionsConnectionError, RemoteSessionService} from '../src/index.js';
import {BIN, BIN_WHY, httpsStatus, startServer, suite, type RunningServer} from './support.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The built client, as the child process imports it. */
const CLIENT = resolve(HERE, '../src/index.js');

/** The child: create, append, get through adk-js's API; prints what it read. */
const CHILD = `
import {createEvent, createEventActions} from '@google/adk';
import {RemoteSessionService} from ${JSON.stringify(CLIENT)};
const service = new RemoteSessionService({baseUrl: process.env.SERVER_URL});
const session = await service.createSession({appName: 'shop', userId: 'alice', state: {'user:lang': 'en'}});
await service.appendEvent({session, event: createEvent({invocationId: 'inv-1', author: 'user', actions: createEventActions({stateDelta: {cart: 2}})})});
const read = await service.getSession({appName: 'shop', userId: 'alice', sessionId: session.id});
console.log(JSON.stringify({state: read.state, events: read.events.length, id: session.id}));
`;

function selfSignedPair(dir: string): {cert: string; key: string} {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', '/CN=adk-sessions TypeScript client test',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    {stdio: 'ignore'},
  );
  return {cert, key};
}

suite('the client over HTTPS', BIN ? undefined : BIN_WHY, () => {
  let dir: string;
  let tls: {cert: string; key: string};
  let server: RunningServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adk-sessions-ts-tls-'));
    tls = selfSignedPair(dir);
    server = await startServer('memory', [], tls);
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  test('adk-js calls work when the certificate is trusted (NODE_EXTRA_CA_CERTS)', () => {
    assert.ok(server.url.startsWith('https://'), server.url);
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: {...process.env, NODE_EXTRA_CA_CERTS: tls.cert, SERVER_URL: server.url},
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const read = JSON.parse(child.stdout.trim()) as {state: Record<string, unknown>; events: number};
    assert.deepEqual(read.state, {'user:lang': 'en', cart: 2});
    assert.equal(read.events, 1);
  });

  test('an untrusted certificate is a connection error, and nothing is stored', async () => {
    const service = new RemoteSessionService({baseUrl: server.url, retries: 0});
    await assert.rejects(
      service.createSession({appName: 'shop', userId: 'bob', sessionId: 'never'}),
      (e: unknown) => e instanceof AdkSessionsConnectionError,
    );
    // bob has no session: the trusted view through node:https, with the certificate as CA.
    const status = await httpsStatus(`${server.url}/apps/shop/users/bob/sessions/never`, readFileSync(tls.cert, 'utf8'));
    assert.equal(status, 404);
  });
});

