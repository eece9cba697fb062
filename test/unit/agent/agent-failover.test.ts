// The agent link's rotation over the nodes of a cluster: the real runAgentLink against real WSS servers
// on loopback. FakeService is the counterpart (challenge → hello → welcome, the signature checked with
// the device's public key), not the thing under test.
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AgentState } from '../../../src/agent/config.js';
import { JobRunner } from '../../../src/agent/jobs.js';
import { runAgentLink, spreadOrder, type AgentLinkHandle } from '../../../src/agent/link.js';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { Logger } from '../../../src/node/log.js';
import { createTlsMaterial, type TlsMaterial } from '../../../src/server/tls.js';
import { agentAuthPayload, fromAgent, parseFrame } from '../../../src/shared/wire/protocol.js';

let tls: TlsMaterial;
const device = generateKeyPairSync('ed25519');
const DEVICE_ID = 'failoverdevice';

beforeAll(async () => {
  tls = await createTlsMaterial(['127.0.0.1']);
});

/** A minimal stand-in for one service node: authenticates the agent like agent-hub.ts does, then idles. */
class FakeService {
  /** Devices welcomed, in order. */
  readonly welcomed: string[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: HttpsServer,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(publicKey: KeyObject): Promise<FakeService> {
    const server = createHttpsServer({ cert: tls.cert, key: tls.key });
    const wss = new WebSocketServer({ server, path: '/api/v1/agent' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `wss://127.0.0.1:${(server.address() as { port: number }).port}`;
    const svc = new FakeService(server, wss, url);
    server.on('connection', (s: Socket) => {
      svc.sockets.add(s);
      s.on('close', () => svc.sockets.delete(s));
    });
    wss.on('connection', (ws) => {
      const nonce = `nonce-${Math.random()}`;
      ws.send(JSON.stringify({ t: 'challenge', nonce }));
      ws.on('message', (data) => {
        const parsed = parseFrame(fromAgent, data.toString());
        if (!parsed.ok || parsed.value.t !== 'hello') return void ws.close(4001, 'not authenticated');
        const hello = parsed.value;
        const ok = verify(
          null,
          Buffer.from(agentAuthPayload(nonce, hello.deviceId)),
          publicKey,
          Buffer.from(hello.signature, 'base64'),
        );
        if (!ok) return void ws.close(4003, 'authentication failed');
        svc.welcomed.push(hello.deviceId);
        ws.send(JSON.stringify({ t: 'welcome', deviceId: hello.deviceId }));
      });
    });
    return svc;
  }

  /** Dies the way a SIGKILLed process does: every connection cut at once, nothing said. */
  kill(): void {
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    this.server.close();
  }
}

/** A node whose port accepts TCP and cuts it at once (a broken node): lets the test see every attempt. */
async function cuttingNode(
  attempts: { node: string; at: number }[],
  name: string,
): Promise<{ url: string; server: TcpServer }> {
  const server = createTcpServer((s) => {
    attempts.push({ node: name, at: Date.now() });
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `wss://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** A URL on which nothing listens (connection refused). */
async function deadUrl(): Promise<string> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `wss://127.0.0.1:${port}`;
}

function agentState(urls: string[]): AgentState {
  return {
    kind: 'lr-agent',
    url: urls[0] as string,
    urls,
    ca: tls.caCert,
    deviceId: DEVICE_ID,
    name: 'failover',
    privateKey: device.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startLink(urls: string[], lines: string[] = []): AgentLinkHandle {
  const log = new Logger('agent-failover-test', 'debug', (l) => lines.push(l));
  const runner = new JobRunner(new Map(), createLinuxPlatform({ sysroot: '/' }), log, {
    frame: () => undefined,
    raw: () => undefined,
    data: () => undefined,
  });
  const link = runAgentLink(agentState(urls), runner, log);
  cleanups.push(() => link.stop());
  return link;
}

async function waitFor(cond: () => boolean, withinMs: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > withinMs) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

describe('agent link over several service nodes', () => {
  it('skips a dead first node: online on the second within 2 s', async () => {
    const alive = await FakeService.start(createPublicKey(device.privateKey));
    cleanups.push(() => alive.kill());
    const lines: string[] = [];
    const link = startLink([await deadUrl(), alive.url], lines);
    expect(link.currentUrl()).toBeNull();
    const took = await waitFor(() => link.connected(), 2_000);
    expect(took).toBeLessThan(2_000);
    expect(link.currentUrl()).toBe(alive.url);
    expect(alive.welcomed).toEqual([DEVICE_ID]);
    // The log says which node it is on.
    const connected = lines
      .map((l) => JSON.parse(l) as { msg: string; url?: string })
      .find((l) => l.msg === 'connected to the service');
    expect(connected?.url).toBe(alive.url);
  });

  it('moves to the next node within 3 s when its node dies', async () => {
    const key = createPublicKey(device.privateKey);
    const first = await FakeService.start(key);
    const second = await FakeService.start(key);
    cleanups.push(
      () => first.kill(),
      () => second.kill(),
    );
    const link = startLink([first.url, second.url]);
    await waitFor(() => link.connected(), 2_000);
    expect(link.currentUrl()).toBe(first.url);
    expect(second.welcomed).toEqual([]);

    first.kill();
    await waitFor(() => !link.connected(), 1_000);
    expect(link.currentUrl()).toBeNull();
    const took = await waitFor(() => link.connected() && link.currentUrl() === second.url, 3_000);
    expect(took).toBeLessThan(3_000);
    expect(second.welcomed).toEqual([DEVICE_ID]);
  });

  it('tries the next node at once, and backs off only after a whole round failed', async () => {
    const attempts: { node: string; at: number }[] = [];
    const a = await cuttingNode(attempts, 'A');
    const b = await cuttingNode(attempts, 'B');
    cleanups.push(
      () => new Promise<void>((r) => a.server.close(() => r())),
      () => new Promise<void>((r) => b.server.close(() => r())),
    );
    const link = startLink([a.url, b.url]);
    // Round 1: A, B (next node: ~100–300 ms); backoff 500–750 ms; round 2: A, B; backoff 1000–1250 ms; A.
    await waitFor(() => attempts.length >= 5, 6_000);
    expect(link.connected()).toBe(false);
    expect(attempts.slice(0, 5).map((x) => x.node)).toEqual(['A', 'B', 'A', 'B', 'A']);
    const gap = (i: number) => (attempts[i] as { at: number }).at - (attempts[i - 1] as { at: number }).at;
    expect(gap(1)).toBeGreaterThanOrEqual(90);
    expect(gap(1)).toBeLessThan(450);
    expect(gap(2)).toBeGreaterThanOrEqual(490);
    expect(gap(3)).toBeLessThan(450);
    expect(gap(4)).toBeGreaterThanOrEqual(990);
  });

  it('a single-node agent (no urls) keeps reconnecting to its one node', async () => {
    const attempts: { node: string; at: number }[] = [];
    const a = await cuttingNode(attempts, 'A');
    cleanups.push(() => new Promise<void>((r) => a.server.close(() => r())));
    const log = new Logger('agent-failover-test', 'off');
    const runner = new JobRunner(new Map(), createLinuxPlatform({ sysroot: '/' }), log, {
      frame: () => undefined,
      raw: () => undefined,
      data: () => undefined,
    });
    const { urls: _ignored, ...single } = agentState([a.url]);
    const link = runAgentLink(single, runner, log);
    cleanups.push(() => link.stop());
    await waitFor(() => attempts.length >= 3, 5_000);
    // Every attempt is a whole round: 500–750 ms, then 1000–1250 ms, as before clusters.
    const gap = (i: number) => (attempts[i] as { at: number }).at - (attempts[i - 1] as { at: number }).at;
    expect(gap(1)).toBeGreaterThanOrEqual(490);
    expect(gap(2)).toBeGreaterThanOrEqual(990);
  });
});

describe('spreadOrder', () => {
  it('keeps the first node first and spreads the others by device', () => {
    const urls = ['wss://a:1', 'wss://b:1', 'wss://c:1', 'wss://d:1'];
    const seconds = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const order = spreadOrder(urls, `device${i}`);
      expect(order[0]).toBe('wss://a:1');
      expect([...order].sort()).toEqual([...urls].sort());
      seconds.add(order[1] as string);
    }
    expect(seconds.size).toBe(3); // the agents of a dead first node go to every other node, not one
    expect(spreadOrder(urls, 'same')).toEqual(spreadOrder(urls, 'same'));
    expect(spreadOrder(['wss://a:1', 'wss://b:1'], 'x')).toEqual(['wss://a:1', 'wss://b:1']);
  });
});
