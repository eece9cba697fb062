// Analysts' clients over several service nodes (service-nodes.ts): real sockets on loopback, one port
// with nothing listening and real HTTPS / WSS servers standing in for live nodes.
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ConsoleClient, ServiceApi } from '../../../src/client/console-client.js';
import { LibraryApi } from '../../../src/client/library-api.js';
import { ServiceNodes, failureKind } from '../../../src/client/service-nodes.js';
import { WorkstationApi } from '../../../src/client/workstation-api.js';
import { HttpError, httpsJson } from '../../../src/node/https-json.js';
import type { Profile } from '../../../src/node/profile.js';
import { createTlsMaterial, type TlsMaterial } from '../../../src/server/tls.js';

let tls: TlsMaterial;
const servers: Server[] = [];
/** Requests seen by the live nodes, as "NODE METHOD PATH". */
const hits: string[] = [];

async function deadUrl(): Promise<string> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `https://127.0.0.1:${port}`;
}

/**
 * A live node: answers /api/v1/devices with [], refuses a bad token with 401, and on /reset cuts the
 * connection after reading the request (the request may or may not have been applied).
 */
async function liveNode(name: string): Promise<string> {
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    hits.push(`${name} ${req.method} ${req.url}`);
    if (req.headers.authorization !== 'Bearer lrt_good_token_123')
      return void res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid token' }));
    if (req.url === '/reset' || req.url === '/api/v1/publishers') return void req.socket.destroy();
    if (req.url === '/api/v1/devices') return void res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    if (req.url === '/api/v1/me')
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: 'u1', name, role: 'basic', libraryManager: false }));
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  });
  // The console: hello on connect when the token is right, else the upgrade is refused.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    hits.push(`${name} WS ${req.url}`);
    if (req.headers.authorization !== 'Bearer lrt_good_token_123') {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ t: 'hello', user: 'alice', role: name })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  servers.push(server);
  return `https://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function profile(urls: string[], token = 'lrt_good_token_123'): Profile {
  return { kind: 'lr-profile', url: urls[0] as string, urls, ca: tls.caCert, user: 'alice', token };
}

beforeAll(async () => {
  tls = await createTlsMaterial(['127.0.0.1']);
});
afterAll(() => {
  for (const s of servers) s.close();
});

describe('ServiceNodes (URL rotation of the analysts’ clients)', () => {
  it('a closed port moves the call to the next node, which is then tried first', async () => {
    const dead = await deadUrl();
    const live = await liveNode('L1');
    const p = profile([dead, live]);
    const nodes = new ServiceNodes(p);
    expect(nodes.order()).toEqual([dead, live]);
    const tried: string[] = [];
    const get = () =>
      nodes.use(
        (url) => (tried.push(url), httpsJson<unknown[]>(`${url}/api/v1/devices`, { ca: p.ca, token: p.token })),
      );
    await expect(get()).resolves.toEqual([]);
    expect(tried).toEqual([dead, live]);
    expect(nodes.current()).toBe(live);
    tried.length = 0;
    await get();
    expect(tried).toEqual([live]); // remembered for the life of the client
  });

  it('a refusal (401) is an answer: not retried on the other node', async () => {
    hits.length = 0;
    const l2 = await liveNode('L2');
    const l3 = await liveNode('L3');
    const p = profile([l2, l3], 'lrt_bad_token_1234');
    const err = await new ServiceApi(p).devices().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(401);
    expect(hits).toEqual(['L2 GET /api/v1/devices']);
  });

  it('every node down: one line naming each failure', async () => {
    const p = profile([await deadUrl(), await deadUrl()]);
    await expect(new ServiceApi(p).devices()).rejects.toThrow(
      /^no node of the service answered: cannot reach the service at 127\.0\.0\.1:\d+: connection refused; cannot reach the service at 127\.0\.0\.1:\d+: connection refused$/,
    );
  });

  it('a single-node profile fails with the node’s own message, as before', async () => {
    const dead = await deadUrl();
    await expect(new ServiceApi(profile([dead])).devices()).rejects.toThrow(
      `cannot reach the service at ${new URL(dead).host}: connection refused`,
    );
  });

  it('a read cut mid-request goes to the next node; a change is not sent twice', async () => {
    hits.length = 0;
    const l4 = await liveNode('L4');
    const l5 = await liveNode('L5');
    const p = profile([l4, l5]);
    const nodes = new ServiceNodes(p);
    await expect(nodes.use((url) => httpsJson(`${url}/reset`, { ca: p.ca, token: p.token }))).rejects.toThrow(
      /no node of the service answered/,
    );
    expect(hits).toEqual(['L4 GET /reset', 'L5 GET /reset']);
    hits.length = 0;
    // POST /api/v1/publishers is cut after it arrived at L?: it may have been applied, so no second node.
    await expect(new LibraryApi(p).addPublisher('acme', 'key')).rejects.toThrow(/cannot reach the service/);
    expect(hits).toHaveLength(1);
  });

  it('classifies failures', () => {
    expect(failureKind(new HttpError(403, 'no'))).toBe('answered');
    expect(failureKind(new HttpError(503, 'down'))).toBe('uncertain');
    expect(failureKind(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('unreached');
    expect(failureKind(new Error('cannot reach the service at h:1: connection refused'))).toBe('unreached');
    expect(
      failureKind(
        new Error('the service at h:1 did not present a certificate from the pinned CA (ERR_TLS_CERT_ALTNAME_INVALID)'),
      ),
    ).toBe('unreached');
    expect(failureKind(new Error('cannot reach the service at h:1: socket hang up'))).toBe('uncertain');
  });

  it('the workstation API and the console use the same rotation', async () => {
    const dead = await deadUrl();
    const live = await liveNode('L6');
    const p = profile([dead, live]);
    const nodes = new ServiceNodes(p);
    const rest = new WorkstationApi(p, nodes);
    try {
      expect((await rest.me()).name).toBe('L6');
    } finally {
      rest.close();
    }
    expect(nodes.current()).toBe(live);
    const c = await ConsoleClient.connect(profile([dead, live]));
    try {
      expect(c.url).toBe(live);
      expect(c.role).toBe('L6');
    } finally {
      c.close();
    }
  });

  it('a console refused (401) by a node is not retried on the next', async () => {
    hits.length = 0;
    const l7 = await liveNode('L7');
    const l8 = await liveNode('L8');
    await expect(ConsoleClient.connect(profile([l7, l8], 'lrt_bad_token_1234'))).rejects.toThrow(
      /refused the API token/,
    );
    expect(hits).toEqual(['L7 WS /api/v1/console']);
  });
});
