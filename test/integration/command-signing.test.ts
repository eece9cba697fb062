// An agent refuses a forged, expired or replayed command, one signed for another
// session (or device), and one whose command needs a higher role than the one signed; a correctly signed
// one runs. A job id, expiry or time limit changed after signing is refused, and an agent without a pinned
// command-signing key refuses everything. The agent is a real lr-agent process driven by a stand-in service (real TLS
// WebSocket server
// written here), which signs with a real command-signing key (the same code as the service).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import type { ChildProcess } from 'node:child_process';
import { start, stop } from './harness.js';
import { createTlsMaterial } from '../../src/server/tls.js';
import { CommandSigner, type JobStart } from '../../src/server/command-signing.js';
import { COMMAND_EXPIRY_MARGIN_MS } from '../../src/shared/wire/command-signature.js';

const DEVICE = 'signdevice';

interface Inbox {
  t: string;
  jobId?: string;
  status?: string;
  error?: string;
}

describe('the agent verifies the service signature of every command', () => {
  let server: Server;
  let wss: WebSocketServer;
  let agent: ChildProcess;
  let ws: WebSocket;
  let dir: string;
  let signer: CommandSigner;
  let forger: CommandSigner;
  const inbox: Inbox[] = [];
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lr-sign-'));
    signer = CommandSigner.load(join(dir, 'service'));
    forger = CommandSigner.load(join(dir, 'attacker'));
    const tls = await createTlsMaterial(['127.0.0.1']);
    server = createServer({ cert: tls.cert, key: tls.key });
    wss = new WebSocketServer({ server });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(
      join(dir, 'agent.json'),
      JSON.stringify({
        kind: 'lr-agent',
        url: `wss://127.0.0.1:${port}`,
        ca: tls.caCert,
        deviceId: DEVICE,
        name: 'sign',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        commandKey: signer.publicKeyPem,
      }),
      { mode: 0o600 },
    );
    const connected = new Promise<WebSocket>((res) => wss.once('connection', (s) => res(s)));
    agent = await start('lr-agent', ['start', '--data', dir], /started/, { LR_LOG_LEVEL: 'error' });
    ws = await connected;
    ws.on('message', (d) => inbox.push(JSON.parse(d.toString()) as Inbox));
    ws.send(JSON.stringify({ t: 'challenge', nonce: 'n' }));
    await new Promise((r) => setTimeout(r, 300));
    ws.send(JSON.stringify({ t: 'welcome', deviceId: DEVICE }));
  });

  afterAll(async () => {
    await stop(agent);
    wss?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function job(command: string, params: Record<string, string | number | boolean>, sessionId = 's1'): JobStart {
    n += 1;
    return { t: 'job.start', jobId: `job${n}`, sessionId, command, params, cwd: '/', timeLimitMs: 10_000 };
  }

  async function send(frame: JobStart): Promise<Inbox> {
    ws.send(JSON.stringify(frame));
    const t0 = Date.now();
    for (;;) {
      const end = inbox.find((f) => f.t === 'job.end' && f.jobId === frame.jobId);
      if (end) {
        inbox.splice(inbox.indexOf(end), 1);
        return end;
      }
      if (Date.now() - t0 > 15_000) throw new Error(`no job.end for ${frame.jobId}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const harmless = () => job('processes', { pid: process.pid });

  it('runs a correctly signed command', async () => {
    const end = await send(signer.sign(harmless(), DEVICE, 'basic'));
    expect(end).toMatchObject({ status: 'completed' });
  });

  it('refuses an unsigned command', async () => {
    const end = await send(harmless());
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/^processes: refused by the agent: unsigned command$/);
  });

  it('refuses a command signed with another key (forged)', async () => {
    const end = await send(forger.sign(harmless(), DEVICE, 'admin'));
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/refused by the agent: bad command signature/);
    expect(end.error).not.toContain('\n');
  });

  it('refuses a command whose parameters, command or role were changed after signing', async () => {
    const signed = signer.sign(job('dir', { path: '/tmp' }), DEVICE, 'basic');
    expect((await send({ ...signed, params: { path: '/root' } })).error).toMatch(/bad command signature/);
    const signed2 = signer.sign(job('dir', { path: '/tmp' }), DEVICE, 'basic');
    expect((await send({ ...signed2, cwd: '/etc' })).error).toMatch(/bad command signature/);
    const signed3 = signer.sign(job('remediate', { type: 'list' }), DEVICE, 'basic');
    expect((await send({ ...signed3, role: 'advanced' })).error).toMatch(/bad command signature/);
  });

  it('refuses a command whose job id, expiry or time limit was changed after signing', async () => {
    const a = signer.sign(harmless(), DEVICE, 'basic');
    expect((await send({ ...a, jobId: `${a.jobId}x` })).error).toMatch(
      /^processes: refused by the agent: bad command signature/,
    );
    const b = signer.sign(harmless(), DEVICE, 'basic');
    expect((await send({ ...b, expiresAt: (b.expiresAt as number) + 86_400_000 })).error).toMatch(
      /bad command signature/,
    );
    // A relay once set 2^31 ms: the agent's timer overflowed and fired at once; now the limit is signed.
    const c = signer.sign(harmless(), DEVICE, 'basic');
    expect((await send({ ...c, timeLimitMs: 2 ** 31 })).error).toMatch(/bad command signature/);
  });

  it('refuses an expired command', async () => {
    const frame = harmless();
    const longAgo = Date.now() - frame.timeLimitMs - COMMAND_EXPIRY_MARGIN_MS - 60_000;
    const end = await send(signer.sign(frame, DEVICE, 'basic', longAgo));
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/refused by the agent: command expired at /);
  });

  it('refuses a replayed command', async () => {
    const signed = signer.sign(harmless(), DEVICE, 'basic');
    expect((await send(signed)).status).toBe('completed');
    const again = await send(signed);
    expect(again.status).toBe('failed');
    expect(again.error).toMatch(/refused by the agent: replayed command/);
  });

  it('refuses a command signed for another session or another device', async () => {
    const signed = signer.sign(harmless(), DEVICE, 'basic');
    const end = await send({ ...signed, sessionId: 'someothersession' });
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/bad command signature/);
    const elsewhere = await send(signer.sign(harmless(), 'anotherdevice', 'basic'));
    expect(elsewhere.error).toMatch(/bad command signature/);
  });

  it('refuses an advanced command signed for a basic user (a relay cannot escalate)', async () => {
    const end = await send(signer.sign(job('remediate', { type: 'list' }), DEVICE, 'basic'));
    expect(end.status).toBe('failed');
    expect(end.error).toBe('remediate: refused by the agent: needs the advanced role, signed for basic');
    const ok = await send(signer.sign(job('remediate', { type: 'list' }), DEVICE, 'advanced'));
    expect(ok.error ?? '').not.toMatch(/refused by the agent/);
  });

  it('still runs a correctly signed command after all the refusals', async () => {
    expect((await send(signer.sign(harmless(), DEVICE, 'admin'))).status).toBe('completed');
    expect(agent.exitCode).toBeNull();
  });

  it('an agent without a pinned command-signing key refuses every command, correctly signed ones too', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'lr-sign-nokey-'));
    const { privateKey } = generateKeyPairSync('ed25519');
    const port = (server.address() as { port: number }).port;
    const tls = JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8')) as { ca: string };
    writeFileSync(
      join(bare, 'agent.json'),
      JSON.stringify({
        kind: 'lr-agent',
        url: `wss://127.0.0.1:${port}`,
        ca: tls.ca,
        deviceId: 'nokeydevice',
        name: 'nokey',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      }),
      { mode: 0o600 },
    );
    const connected = new Promise<WebSocket>((res) => wss.once('connection', (s) => res(s)));
    const other = await start('lr-agent', ['start', '--data', bare], /started/, { LR_LOG_LEVEL: 'error' });
    try {
      const link = await connected;
      const ends: Inbox[] = [];
      link.on('message', (d) => ends.push(JSON.parse(d.toString()) as Inbox));
      link.send(JSON.stringify({ t: 'challenge', nonce: 'n' }));
      await new Promise((r) => setTimeout(r, 300));
      link.send(JSON.stringify({ t: 'welcome', deviceId: 'nokeydevice' }));
      const frames = [
        signer.sign(harmless(), 'nokeydevice', 'admin'),
        signer.sign(job('dir', { path: '/' }), 'nokeydevice', 'basic'),
        harmless(),
      ];
      for (const f of frames) link.send(JSON.stringify(f));
      const t0 = Date.now();
      while (ends.filter((e) => e.t === 'job.end').length < frames.length && Date.now() - t0 < 15_000)
        await new Promise((r) => setTimeout(r, 25));
      for (const f of frames) {
        const end = ends.find((e) => e.t === 'job.end' && e.jobId === f.jobId);
        expect(end).toMatchObject({
          status: 'failed',
          error: `${f.command}: refused by the agent: no command-signing key is pinned on this device (re-enroll the agent)`,
        });
      }
    } finally {
      await stop(other);
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('refuses a replay after the agent restarted (received job ids are journaled in its data folder)', async () => {
    const signed = signer.sign(harmless(), DEVICE, 'basic');
    expect((await send(signed)).status).toBe('completed');
    await stop(agent);
    const connected = new Promise<WebSocket>((res) => wss.once('connection', (s) => res(s)));
    agent = await start('lr-agent', ['start', '--data', dir], /started/, { LR_LOG_LEVEL: 'error' });
    ws = await connected;
    ws.on('message', (d) => inbox.push(JSON.parse(d.toString()) as Inbox));
    ws.send(JSON.stringify({ t: 'challenge', nonce: 'n' }));
    await new Promise((r) => setTimeout(r, 300));
    ws.send(JSON.stringify({ t: 'welcome', deviceId: DEVICE }));
    const again = await send(signed);
    expect(again.status).toBe('failed');
    expect(again.error).toMatch(/refused by the agent: replayed command/);
    expect((await send(signer.sign(harmless(), DEVICE, 'basic'))).status).toBe('completed');
  });
});
