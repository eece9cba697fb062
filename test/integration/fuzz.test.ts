// Thousands of random and mutated frames and command lines get one-line errors; neither
// the service nor the agent crashes. The service's agent endpoint is fuzzed twice: before the hello (it
// closes at the first well-formed frame that is not a hello), and past it, as an enrolled agent that did the
// real challenge-response with its key, with a job of its own in progress. The agent is fuzzed through a
// hand-driven stand-in for the service (a real TLS WebSocket server written in this test), since only a
// service can send it frames.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { createWorld, enrollAgent, start, stop, type World } from './harness.js';
import { loadAgentState } from '../../src/agent/config.js';
import {
  agentAuthPayload,
  decodeDataFrame,
  encodeDataFrame,
  fromAgent,
  parseFrame,
} from '../../src/shared/wire/protocol.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';
import { createTlsMaterial } from '../../src/server/tls.js';
import { CommandSigner } from '../../src/server/command-signing.js';

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function mutate(rand: () => number, base: string): string {
  const chars = [...base];
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rand() * (chars.length + 1));
    const op = rand();
    const junk = [
      '"',
      "'",
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      '\\',
      '\u0000',
      'é',
      '-',
      '>',
      '&',
      '9',
      'null',
      'true',
      '1e309',
      '\n',
    ][Math.floor(rand() * 19)] as string;
    if (op < 0.4) chars.splice(at, 0, junk);
    else if (op < 0.7) chars.splice(at, 1);
    else chars[at] = junk;
  }
  return chars.join('');
}

function randomText(rand: () => number, max: number): string {
  const len = Math.floor(rand() * max);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * (rand() < 0.9 ? 128 : 0x3000)));
  return s;
}

describe('robustness against malformed input', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('delta');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('the service survives random and mutated frames on the console endpoint, and on the agent endpoint before the hello', async () => {
    const profile = profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8')));
    const rand = rng(42);
    const valid = [
      JSON.stringify({ t: 'session.open', reqId: 1, device: 'delta' }),
      JSON.stringify({ t: 'command', reqId: 2, sessionId: 'abc', line: 'dir /' }),
      JSON.stringify({ t: 'cancel', commandId: 'x1' }),
      JSON.stringify({
        t: 'hello',
        deviceId: 'abc',
        signature: 'AAAA',
        info: { name: 'x', hostname: 'h', os: 'o', platform: 'linux', agentVersion: '1' },
      }),
      JSON.stringify({ t: 'job.end', jobId: 'j', status: 'completed' }),
    ];
    let errors = 0;
    for (const path of ['/api/v1/console', '/api/v1/agent']) {
      const ws = new WebSocket(`wss://127.0.0.1:${w.port}${path}`, {
        ca: profile.ca,
        headers: { authorization: `Bearer ${profile.token}` },
      });
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString()) as { t: string; message?: string };
        if (f.t === 'error') {
          errors++;
          expect(f.message!.includes('\n')).toBe(false);
        }
      });
      await new Promise((r) => ws.once('open', r));
      for (let i = 0; i < 1500; i++) {
        const frame =
          rand() < 0.5 ? randomText(rand, 300) : mutate(rand, valid[Math.floor(rand() * valid.length)] as string);
        ws.send(frame);
      }
      ws.send('x'.repeat(2 * 1024 * 1024)); // oversized: the service closes this socket (1009), nothing more
      await new Promise((r) => ws.once('close', r));
    }
    expect(errors).toBeGreaterThan(500);
    // Still alive, and the agent is still online.
    const devices = await w.devices();
    expect(devices.find((d) => d.name === 'delta')?.online).toBe(true);
  });

  it('the service survives random and mutated frames from an enrolled agent past its hello, and keeps answering', async () => {
    const profile = profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8')));
    const { dataDir, deviceId } = await enrollAgent(w, 'fuzzy');
    const state = loadAgentState(dataDir);
    const ws = new WebSocket(`wss://127.0.0.1:${w.port}/api/v1/agent`, { ca: state.ca });
    const inbox: { t: string; nonce?: string; jobId?: string; message?: string }[] = [];
    ws.on('message', (d, isBinary) => {
      if (!isBinary) inbox.push(JSON.parse(d.toString()) as { t: string });
    });
    let closedWith: number | undefined;
    ws.on('close', (code) => (closedWith = code));
    const frame = async (t: string, after = 0) => {
      const t0 = Date.now();
      for (;;) {
        const found = inbox.slice(after).find((f) => f.t === t);
        if (found) return found;
        if (closedWith !== undefined)
          throw new Error(`the service closed the agent socket (${closedWith}) while waiting for ${t}`);
        if (Date.now() - t0 > 15_000)
          throw new Error(`no ${t} from the service in 15 s: ${JSON.stringify(inbox.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // The real challenge-response (what src/agent/link.ts does): the service's nonce signed with the enrolled key.
    const { nonce } = await frame('challenge');
    const signature = sign(
      null,
      Buffer.from(agentAuthPayload(nonce as string, deviceId)),
      createPrivateKey(state.privateKey),
    ).toString('base64');
    const info = {
      name: 'fuzzy',
      hostname: 'fuzzy.example',
      os: 'Linux 6.1',
      platform: 'linux',
      agentVersion: '1.0.0',
    };
    ws.send(JSON.stringify({ t: 'hello', deviceId, signature, info }));
    await frame('welcome');
    expect((await w.devices()).find((d) => d.id === deviceId)?.online).toBe(true);

    // A real job for this device, so that fuzzed job frames name a job the service is waiting on.
    const c = await ConsoleClient.connect(profile);
    try {
      const session = await c.openSession('fuzzy');
      const job = c.run(session.id, 'dir /');
      const { jobId } = await frame('job.start');
      const rand = rng(99);
      const valid = [
        JSON.stringify({ t: 'job.records', jobId, records: [{ name: 'etc', type: 'dir' }] }),
        JSON.stringify({ t: 'job.text', jobId, text: 'partial output\n' }),
        JSON.stringify({ t: 'job.end', jobId, status: 'completed', cwd: '/' }),
        JSON.stringify({ t: 'job.end', jobId: 'not-mine', status: 'failed', error: 'x' }),
        JSON.stringify({
          t: 'trace',
          sessionId: session.id,
          level: 'info',
          message: 'm',
          time: new Date().toISOString(),
        }),
        JSON.stringify({ t: 'hello', deviceId, signature, info }),
      ];
      const data = Buffer.from(encodeDataFrame(jobId as string, 0, new Uint8Array(32).fill(7)));
      void job.outcome.catch(() => undefined); // awaited below; the fuzz may end it first
      const before = inbox.length;
      // Each frame the service must refuse gets exactly one error: what does not decode, and a second hello.
      let refusable = 0;
      for (let i = 0; i < 2000; i++) {
        const k = rand();
        if (k < 0.1) {
          const b = Buffer.from(data);
          for (let e = 0; e < 3; e++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
          const sent = rand() < 0.5 ? b : b.subarray(0, Math.floor(rand() * b.length));
          if ('error' in decodeDataFrame(sent)) refusable++;
          ws.send(sent, { binary: true });
        } else {
          const text =
            k < 0.4 ? randomText(rand, 300) : mutate(rand, valid[Math.floor(rand() * valid.length)] as string);
          const parsed = parseFrame(fromAgent, text);
          if (!parsed.ok || parsed.value.t === 'hello') refusable++;
          ws.send(text);
        }
      }
      // Still connected, and still answering: a frame that is not JSON gets its one-line error.
      ws.send('{"t":');
      const errorsSince = () => inbox.slice(before).filter((f) => f.t === 'error');
      const t0 = Date.now();
      while (errorsSince().length < refusable + 1 && closedWith === undefined && Date.now() - t0 < 30_000)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300)); // nothing more comes
      const errors = errorsSince();
      expect(refusable).toBeGreaterThan(1000);
      expect(errors.length).toBe(refusable + 1);
      for (const e of errors) expect(e.message?.includes('\n')).toBe(false);
      expect(closedWith).toBeUndefined();
      expect((await w.devices()).find((d) => d.id === deviceId)?.online).toBe(true);
      // The job ended one way or another (the fuzz may have ended it), and the service still runs commands.
      ws.send(JSON.stringify({ t: 'job.end', jobId, status: 'completed', cwd: '/' }));
      expect(['completed', 'failed']).toContain((await job.outcome).status);
      c.closeSession(session.id);
      const delta = await c.openSession('delta');
      expect((await c.run(delta.id, 'dir /').outcome).status).toBe('completed');
      c.closeSession(delta.id);
    } finally {
      c.close();
      ws.close();
    }
  });

  it('random command lines are refused or answered in one line, and the service keeps working', async () => {
    const profile = profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8')));
    const c = await ConsoleClient.connect(profile);
    const rand = rng(7);
    const seeds = [
      'dir "/tmp/a b"',
      "fileinfo '/etc/hostname'",
      'processes -pid 1',
      'findfile x -path /nonexistent',
      'help dir',
      'cd ..',
      'jobs',
      'status abc',
    ];
    try {
      const s = await c.openSession('delta');
      for (let i = 0; i < 600; i++) {
        const line =
          rand() < 0.3 ? randomText(rand, 80) : mutate(rand, seeds[Math.floor(rand() * seeds.length)] as string);
        const o = await c.run(s.id, line.slice(0, 8000)).outcome;
        if (o.error) expect(o.error.includes('\n'), line).toBe(false);
        expect(['completed', 'failed', 'refused']).toContain(o.status);
      }
      const ok = await c.run(s.id, 'dir /').outcome;
      expect(ok.status).toBe('completed');
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('the agent survives random and mutated frames from its service', async () => {
    // A stand-in service: real TLS, real WebSocket, accepts the agent's hello without checking it.
    const tls = await createTlsMaterial(['127.0.0.1']);
    const server = createServer({ cert: tls.cert, key: tls.key });
    const wss = new WebSocketServer({ server });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'lr-agent-fuzz-'));
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = CommandSigner.load(join(dir, 'service')); // jobs must carry the service's signature
    writeFileSync(
      join(dir, 'agent.json'),
      JSON.stringify({
        kind: 'lr-agent',
        url: `wss://127.0.0.1:${port}`,
        ca: tls.caCert,
        deviceId: 'fuzzdevice',
        name: 'fuzz',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        commandKey: signer.publicKeyPem,
      }),
      { mode: 0o600 },
    );
    const connected = new Promise<WebSocket>((res) => wss.once('connection', (ws) => res(ws)));
    const agent = await start('lr-agent', ['start', '--data', dir], /started/, { LR_LOG_LEVEL: 'error' });
    try {
      const ws = await connected;
      const inbox: { t: string; jobId?: string; status?: string }[] = [];
      ws.on('message', (d) => inbox.push(JSON.parse(d.toString()) as { t: string }));
      ws.send(JSON.stringify({ t: 'challenge', nonce: 'n' }));
      await new Promise((r) => setTimeout(r, 300));
      ws.send(JSON.stringify({ t: 'welcome', deviceId: 'fuzzdevice' }));
      const rand = rng(1234);
      const valid = [
        JSON.stringify({
          t: 'job.start',
          jobId: 'j1',
          sessionId: 's1',
          command: 'dir',
          params: { path: '/' },
          cwd: '/',
          timeLimitMs: 5000,
        }),
        JSON.stringify({
          t: 'job.start',
          jobId: 'j2',
          sessionId: 's1',
          command: 'processes',
          params: { pid: 1 },
          cwd: '/',
          timeLimitMs: 5000,
        }),
        JSON.stringify({ t: 'job.cancel', jobId: 'j1', reason: 'cancelled' }),
        JSON.stringify({ t: 'job.ack', jobId: 'j1', bytes: 10 }),
        JSON.stringify({ t: 'trace.level', sessionId: 's1', level: 'debug' }),
      ];
      for (let i = 0; i < 3000; i++) {
        ws.send(
          rand() < 0.4 ? randomText(rand, 200) : mutate(rand, valid[Math.floor(rand() * valid.length)] as string),
        );
      }
      // After the storm, a valid job still runs to completion.
      inbox.length = 0;
      ws.send(
        JSON.stringify(
          signer.sign(
            {
              t: 'job.start',
              jobId: 'final',
              sessionId: 's1',
              command: 'processes',
              params: { pid: process.pid },
              cwd: '/',
              timeLimitMs: 5000,
            },
            'fuzzdevice',
            'basic',
          ),
        ),
      );
      const t0 = Date.now();
      while (!inbox.some((f) => f.t === 'job.end' && f.jobId === 'final') && Date.now() - t0 < 15_000)
        await new Promise((r) => setTimeout(r, 50));
      expect(inbox.find((f) => f.t === 'job.end' && f.jobId === 'final')).toMatchObject({ status: 'completed' });
      expect(agent.exitCode).toBeNull();
    } finally {
      await stop(agent);
      wss.close();
      server.close();
    }
  });
});
