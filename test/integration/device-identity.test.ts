// Security review, findings 8 and 9 (trace part); tests issue points 1 and 6. Real lr-server, lr-agent and
// lr processes on loopback; the agent-side attacker is a WebSocket client written here that speaks the
// agent protocol with real keys (an enrolled device's key read from its agent.json, or a fresh one).
//
// - Device names: fixed by the service at enrollment, unique per tenant in any case (a taken one is
//   suffixed, and `lr-agent enroll` says so); the agent's hello cannot rename its device; admins rename.
// - Agent sign-in: wrong key, another device's id, a replayed signature → closed 4003 and counted by the
//   per-address rate limit (the address is then refused at the upgrade, 429).
// - Enrollment: a bundle whose CA or command-signing key is not the service's, a bundle without the key, an
//   expired bundle, an expired token → refused in one line.
// - Trace lines: an agent cannot write into another device's session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ChildProcess } from 'node:child_process';
import { createWorld, enrollAgent, run, start, stop, waitFor, type World } from './harness.js';
import { agentAuthPayload } from '../../src/shared/wire/protocol.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { readJsonFile } from '../../src/node/files.js';
import { profileSchema } from '../../src/node/profile.js';

interface AgentJson {
  deviceId: string;
  name: string;
  privateKey: string;
  ca: string;
}

const agentJson = (dir: string): AgentJson => JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8')) as AgentJson;

interface SignIn {
  /** 'welcome', the close code (e.g. 4003), or `http NNN` when the upgrade was refused. */
  outcome: string;
  /** The nonce of the challenge and the signature sent (to replay it). */
  nonce?: string;
  signature?: string;
  ws?: WebSocket;
}

/**
 * Connects to the agent endpoint as an agent would, from `from` (a loopback address), and answers the
 * challenge with `hello(nonce)`. Resolves with the welcome (socket left open when `keep`) or the close code.
 */
function signIn(
  port: number,
  ca: string,
  from: string,
  hello: (nonce: string) => { deviceId: string; signature: string; name?: string },
  keep = false,
): Promise<SignIn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/agent`, { ca, localAddress: from });
    const r: SignIn = { outcome: '?' };
    const timer = setTimeout(() => reject(new Error('sign-in did not finish in 10 s')), 10_000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve({ outcome: `http ${res.statusCode}` });
      res.resume();
    });
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { t: string; nonce?: string };
      if (f.t === 'challenge' && f.nonce) {
        const h = hello(f.nonce);
        r.nonce = f.nonce;
        r.signature = h.signature;
        const info = {
          name: h.name ?? 'fake',
          hostname: 'fake-host',
          os: 'Linux',
          platform: 'linux',
          agentVersion: '0.1.0',
        };
        ws.send(JSON.stringify({ t: 'hello', deviceId: h.deviceId, signature: h.signature, info }));
      } else if (f.t === 'welcome') {
        clearTimeout(timer);
        r.outcome = 'welcome';
        if (keep) {
          r.ws = ws;
          resolve(r);
        } else ws.close(1000);
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (r.outcome === '?') r.outcome = String(code);
      resolve(r);
    });
    ws.on('error', () => undefined);
  });
}

const signWith = (key: KeyObject, nonce: string, deviceId: string): string =>
  sign(null, Buffer.from(agentAuthPayload(nonce, deviceId)), key).toString('base64');

describe('device identity: names, agent sign-in, enrollment, trace lines', () => {
  let w: World;
  let ca: string;

  beforeAll(async () => {
    w = await createWorld();
    ca = readJsonFile(w.adminProfile, profileSchema, 'profile').ca;
  }, 60_000);

  afterAll(async () => {
    await w?.cleanup();
  });

  /** What the service printed so far (harness.start keeps it). */
  const serverLog = () => (w.server as (ChildProcess & { output?: () => string }) | undefined)?.output?.() ?? '';

  async function bundle(name: string, ttl = '1h'): Promise<string> {
    const file = join(w.dir, `${name}.bundle.json`);
    const t = await run('lr-server', ['enroll-token', '--data', w.dataDir, '--out', file, '--ttl', ttl]);
    if (t.code !== 0) throw new Error(t.stderr);
    return file;
  }

  const enroll = (bundleFile: string, dir: string, name?: string) =>
    run('lr-agent', ['enroll', '--bundle', bundleFile, '--data', join(w.dir, dir), ...(name ? ['--name', name] : [])]);

  function editBundle(file: string, edit: (b: Record<string, unknown>) => void): string {
    const b = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(b);
    const out = file.replace(/\.json$/, '.edited.json');
    writeFileSync(out, JSON.stringify(b), { mode: 0o600 });
    return out;
  }

  describe('device names', () => {
    it('suffixes a taken name (any case) at enrollment and says so; lr exec works by name and by id', async () => {
      const first = await enroll(await bundle('n1'), 'agent-web01-a', 'web01');
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^enrolled as web01 \(device id \w+\)\n$/);
      const second = await enroll(await bundle('n2'), 'agent-web01-b', 'web01');
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toMatch(
        /^enrolled as web01-2 \(device id \w+\): the name web01 is taken by another device\n$/,
      );
      const third = await enroll(await bundle('n3'), 'agent-web01-c', 'WEB01');
      expect(third.stdout).toMatch(
        /^enrolled as WEB01-3 \(device id \w+\): the name WEB01 is taken by another device\n$/,
      );
      // The agent keeps the name the service gave it.
      expect(agentJson(join(w.dir, 'agent-web01-b')).name).toBe('web01-2');
      const names = (await w.devices()).map((d) => d.name.toLowerCase());
      expect(names.filter((n) => n === 'web01')).toHaveLength(1);

      const second2 = agentJson(join(w.dir, 'agent-web01-b'));
      const agent = await start('lr-agent', ['start', '--data', join(w.dir, 'agent-web01-b')], /started/, {
        LR_LOG_LEVEL: 'warn',
      });
      w.agents.push(agent);
      await waitFor('web01-2 online', async () =>
        (await w.devices()).find((d) => d.id === second2.deviceId && d.online),
      );
      for (const ref of ['web01-2', 'WEB01-2', second2.deviceId]) {
        const r = await w.lr(['exec', ref, 'fileinfo /etc/hostname', '--json']);
        expect(r.code, `${ref}: ${r.stderr}`).toBe(0);
      }
    }, 90_000);

    it("ignores the name in the agent's hello: the device keeps its enrolled name", async () => {
      const { dataDir, deviceId } = await enrollAgent(w, 'keeper');
      const state = JSON.parse(readFileSync(join(dataDir, 'agent.json'), 'utf8')) as Record<string, unknown>;
      state.name = 'web01'; // another device's name, sent in every hello from now on
      writeFileSync(join(dataDir, 'agent.json'), JSON.stringify(state), { mode: 0o600 });
      const agent = await start('lr-agent', ['start', '--data', dataDir], /started/, { LR_LOG_LEVEL: 'warn' });
      w.agents.push(agent);
      await waitFor('keeper online', async () => (await w.devices()).find((d) => d.id === deviceId && d.online));
      await new Promise((r) => setTimeout(r, 300)); // the hello's facts are written in batches every 100 ms
      const devices = await w.devices();
      expect(devices.find((d) => d.id === deviceId)?.name).toBe('keeper');
      expect(devices.filter((d) => d.name.toLowerCase() === 'web01')).toHaveLength(1);
      await stop(agent);
    }, 60_000);

    it('lets an admin rename a device, refuses a taken name in one line, refuses a basic user', async () => {
      const { deviceId } = await enrollAgent(w, 'oldname');
      const ok = await w.lr(['devices', 'rename', 'oldname', 'db01']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe(`device ${deviceId} renamed from oldname to db01\n`);
      expect((await w.devices()).find((d) => d.id === deviceId)?.name).toBe('db01');

      const taken = await w.lr(['devices', 'rename', deviceId, 'WEB01']);
      expect(taken.code).toBe(2);
      expect(taken.stderr.trim().split('\n')).toHaveLength(1);
      expect(taken.stderr).toMatch(/the name WEB01 is taken by device \w+/);

      const bad = await w.lr(['devices', 'rename', deviceId, 'a/b']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/invalid device name/);

      const basic = await w.addUser('bob', 'basic');
      const refused = await w.lr(['devices', 'rename', 'db01', 'mine'], basic);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/renaming a device needs the admin role/);
      expect((await w.devices()).find((d) => d.id === deviceId)?.name).toBe('db01');
      expect(serverLog()).toMatch(/device renamed/);
    }, 60_000);
  });

  describe('agent sign-in', () => {
    let victim: { dataDir: string; deviceId: string };
    let other: { dataDir: string; deviceId: string };

    beforeAll(async () => {
      victim = await enrollAgent(w, 'victim');
      other = await enrollAgent(w, 'other');
    }, 60_000);

    it("closes 4003 for a wrong key, another device's id and a replayed signature; the right key gets in", async () => {
      const victimKey = createPrivateKey(agentJson(victim.dataDir).privateKey);
      const otherKey = createPrivateKey(agentJson(other.dataDir).privateKey);
      const stranger = generateKeyPairSync('ed25519').privateKey;

      const wrongKey = await signIn(w.port, ca, '127.0.0.2', (nonce) => ({
        deviceId: victim.deviceId,
        signature: signWith(stranger, nonce, victim.deviceId),
      }));
      expect(wrongKey.outcome).toBe('4003');
      // Another device's id, signed with this device's own (enrolled) key.
      const otherId = await signIn(w.port, ca, '127.0.0.2', (nonce) => ({
        deviceId: victim.deviceId,
        signature: signWith(otherKey, nonce, victim.deviceId),
      }));
      expect(otherId.outcome).toBe('4003');
      // A valid signature for other's id presented for the victim's id.
      const swapped = await signIn(w.port, ca, '127.0.0.2', (nonce) => ({
        deviceId: victim.deviceId,
        signature: signWith(otherKey, nonce, other.deviceId),
      }));
      expect(swapped.outcome).toBe('4003');

      const good = await signIn(w.port, ca, '127.0.0.2', (nonce) => ({
        deviceId: victim.deviceId,
        signature: signWith(victimKey, nonce, victim.deviceId),
      }));
      expect(good.outcome).toBe('welcome');
      // The same signature, seen on the wire, replayed on a new connection (a new challenge).
      const replay = await signIn(w.port, ca, '127.0.0.2', () => ({
        deviceId: victim.deviceId,
        signature: good.signature as string,
      }));
      expect(replay.outcome).toBe('4003');
      expect(serverLog()).toMatch(/agent authentication failed/);
    }, 60_000);

    it('counts failed sign-ins per address: after the burst the address is refused at the upgrade (429), others are not', async () => {
      const stranger = generateKeyPairSync('ed25519').privateKey;
      const outcomes: string[] = [];
      for (let i = 0; i < 30 && !outcomes.includes('http 429'); i++) {
        const r = await signIn(w.port, ca, '127.0.0.3', (nonce) => ({
          deviceId: victim.deviceId,
          signature: signWith(stranger, nonce, victim.deviceId),
        }));
        outcomes.push(r.outcome);
      }
      // The burst is 20 failures, one forgiven per second: refused after about 20 (a slow machine forgives a few).
      const firstRefusal = outcomes.indexOf('http 429');
      expect(firstRefusal, outcomes.join(' ')).toBeGreaterThanOrEqual(19);
      expect(firstRefusal).toBeLessThanOrEqual(25);
      expect(outcomes.slice(0, firstRefusal).every((o) => o === '4003')).toBe(true);
      // Even the right key is refused from that address now; another address signs in.
      const victimKey = createPrivateKey(agentJson(victim.dataDir).privateKey);
      const blocked = await signIn(w.port, ca, '127.0.0.3', (nonce) => ({
        deviceId: victim.deviceId,
        signature: signWith(victimKey, nonce, victim.deviceId),
      }));
      expect(blocked.outcome).toBe('http 429');
      const elsewhere = await signIn(w.port, ca, '127.0.0.4', (nonce) => ({
        deviceId: victim.deviceId,
        signature: signWith(victimKey, nonce, victim.deviceId),
      }));
      expect(elsewhere.outcome).toBe('welcome');
      expect((await w.lr(['devices'])).code).toBe(0);
    }, 90_000);
  });

  describe('enrollment refusals', () => {
    const oneLine = (s: string) => expect(s.trim().split('\n'), s).toHaveLength(1);

    it("refuses a bundle whose CA is not the service's, without using its token", async () => {
      const other = await run('lr-server', ['init', '--data', join(w.dir, 'other-service'), '--listen', '127.0.0.1:1']);
      expect(other.code, other.stderr).toBe(0);
      const otherCa = readFileSync(join(w.dir, 'other-service', 'tls', 'ca.pem'), 'utf8');
      const b = await bundle('ca');
      const r = await enroll(
        editBundle(b, (x) => (x.ca = otherCa)),
        'agent-ca',
        'ca-test',
      );
      expect(r.code).not.toBe(0);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/certificate/i);
      expect((await w.devices()).some((d) => d.name === 'ca-test')).toBe(false);
      // Nothing reached the service: the genuine bundle still enrolls.
      expect((await enroll(b, 'agent-ca2', 'ca-test')).code).toBe(0);
    }, 60_000);

    it("refuses a bundle whose command-signing key is not the service's", async () => {
      const forged = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const r = await enroll(
        editBundle(await bundle('key'), (x) => (x.commandKey = forged)),
        'agent-key',
        'key-test',
      );
      expect(r.code).not.toBe(0);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/command-signing key differs from the one in the enrollment bundle/);
      // No agent state was written: the device cannot come online with an unverified key.
      expect(() => readFileSync(join(w.dir, 'agent-key', 'agent.json'))).toThrow();
    }, 60_000);

    it('refuses a bundle without a command-signing key before sending anything', async () => {
      const b = await bundle('nokey');
      const r = await enroll(
        editBundle(b, (x) => delete x.commandKey),
        'agent-nokey',
        'nokey-test',
      );
      expect(r.code).not.toBe(0);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/has no command-signing key/);
      expect((await w.devices()).some((d) => d.name === 'nokey-test')).toBe(false);
      expect((await enroll(b, 'agent-nokey2', 'nokey-test')).stdout).toMatch(/^enrolled as nokey-test /);
    }, 60_000);

    it('refuses an expired bundle before sending anything, and a token the service holds expired', async () => {
      const b = await bundle('expired');
      const r = await enroll(
        editBundle(b, (x) => (x.expiresAt = new Date(Date.now() - 60_000).toISOString())),
        'agent-expired',
        'expired-test',
      );
      expect(r.code).not.toBe(0);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/expired at/);
      expect((await w.devices()).some((d) => d.name === 'expired-test')).toBe(false);
      expect((await enroll(b, 'agent-expired2', 'expired-test')).code).toBe(0);

      // The service's own check: a token expired on the service, in a bundle edited to look valid.
      const short = await bundle('short', '1s');
      await new Promise((res) => setTimeout(res, 1500));
      const late = await enroll(
        editBundle(short, (x) => (x.expiresAt = new Date(Date.now() + 3_600_000).toISOString())),
        'agent-late',
        'late-test',
      );
      expect(late.code).not.toBe(0);
      oneLine(late.stderr);
      expect(late.stderr).toMatch(/enrollment token has expired/);
      expect((await w.devices()).some((d) => d.name === 'late-test')).toBe(false);
    }, 60_000);
  });

  describe('trace lines', () => {
    it("drops an agent's trace line for another device's session, and logs it", async () => {
      const a = await w.addAgent('tracea');
      const b = await enrollAgent(w, 'traceb'); // never started: the test speaks for it, with its real key
      const bKey = createPrivateKey(agentJson(b.dataDir).privateKey);
      const fake = await signIn(
        w.port,
        ca,
        '127.0.0.5',
        (nonce) => ({ deviceId: b.deviceId, signature: signWith(bKey, nonce, b.deviceId) }),
        true,
      );
      expect(fake.outcome).toBe('welcome');
      const ws = fake.ws as WebSocket;

      const client = await ConsoleClient.connect(readJsonFile(w.adminProfile, profileSchema, 'profile'));
      try {
        const sa = await client.openSession(a.deviceId);
        const sb = await client.openSession(b.deviceId);
        for (const s of [sa, sb]) expect((await client.run(s.id, 'trace debug', {}).outcome).status).toBe('completed');
        const seen: { sessionId: string; message: string }[] = [];
        client.on('trace', (f) => seen.push(f));
        const trace = (sessionId: string, message: string) =>
          ws.send(JSON.stringify({ t: 'trace', sessionId, level: 'info', message, time: new Date().toISOString() }));
        trace(sa.id, 'forged line in tracea');
        trace(sb.id, 'own line of traceb');
        // Frames of one link are handled in order: once b's own line arrived, a's forged one would have too.
        await waitFor("traceb's own trace line", async () => seen.some((f) => f.sessionId === sb.id));
        // (tracea's own agent sends its lines for sa: only the forged one must be missing.)
        expect(seen.filter((f) => f.message.includes('forged'))).toEqual([]);
        expect(serverLog()).toMatch(/agent frame dropped: another device's job or session/);
      } finally {
        client.close();
        ws.close();
      }
    }, 60_000);

    it("drops job output and ends sent by an agent for another device's job, and logs them", async () => {
      // Both agents are spoken for by the test, so the job stays open as long as the test wants.
      const speak = async (name: string) => {
        const d = await enrollAgent(w, name);
        const key = createPrivateKey(agentJson(d.dataDir).privateKey);
        const link = await signIn(
          w.port,
          ca,
          '127.0.0.6',
          (nonce) => ({ deviceId: d.deviceId, signature: signWith(key, nonce, d.deviceId) }),
          true,
        );
        expect(link.outcome).toBe('welcome');
        const jobs: string[] = [];
        const ws = link.ws as WebSocket;
        ws.on('message', (data) => {
          const f = JSON.parse(data.toString()) as { t: string; jobId?: string };
          if (f.t === 'job.start' && f.jobId) jobs.push(f.jobId);
        });
        return { ...d, ws, jobs };
      };
      const a = await speak('joba');
      const b = await speak('jobb');
      const client = await ConsoleClient.connect(readJsonFile(w.adminProfile, profileSchema, 'profile'));
      try {
        const session = await client.openSession(a.deviceId);
        let text = '';
        const cmd = client.run(session.id, 'fileinfo /etc/hostname', { onText: (t) => (text += t) });
        const jobId = await waitFor('the job reaches joba', async () => a.jobs[0]);
        const frame = (ws: WebSocket, f: Record<string, unknown>) => ws.send(JSON.stringify({ jobId, ...f }));
        frame(b.ws, { t: 'job.text', text: 'forged by jobb\n' });
        frame(b.ws, { t: 'job.end', status: 'completed' });
        frame(a.ws, { t: 'job.text', text: 'from joba\n' });
        frame(a.ws, { t: 'job.end', status: 'failed', error: 'the genuine end' });
        const outcome = await cmd.outcome;
        expect(outcome).toMatchObject({ status: 'failed', error: 'the genuine end' });
        expect(text).toBe('from joba\n');
        expect(serverLog()).toMatch(/agent frame dropped: another device's job or session.*job\.(text|end)/);
      } finally {
        client.close();
        a.ws.close();
        b.ws.close();
      }
    }, 60_000);
  });
});
