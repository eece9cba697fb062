// Self-update's supervisor (lr-agent service on Linux) and the agent's build checks, with fake builds:
// small Node scripts standing in for agent builds (named as such), signed with a real service key made by
// the service's CommandSigner, so that the supervisor's real checks and its trial/rollback logic run. The
// real single-file builds are exercised end to end in test/integration/agent-update.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CommandSigner } from '../../../src/server/command-signing.js';
import { Logger } from '../../../src/node/log.js';
import { runSupervisor } from '../../../src/agent/update/supervisor.js';
import {
  buildPath,
  readCurrent,
  readOutbox,
  readPending,
  readRolledBack,
  writeCurrent,
  writePending,
  type ReleaseRecord,
} from '../../../src/agent/update/layout.js';
import { buildProblem, ownTarget } from '../../../src/agent/update/verify-build.js';
import { AgentUpdater } from '../../../src/agent/update/updater.js';

const root = mkdtempSync(join(tmpdir(), 'lr-supervisor-'));
const signer = CommandSigner.load(join(root));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const log = new Logger('test', 'off');
const target = ownTarget();

let n = 0;
function agentDir(): string {
  n += 1;
  const dir = join(root, `agent${n}`);
  mkdirSync(dir, { recursive: true });
  const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(
    join(dir, 'agent.json'),
    JSON.stringify({
      kind: 'lr-agent',
      url: 'wss://127.0.0.1:1',
      ca: 'x'.repeat(60),
      deviceId: 'dev1',
      name: 'dev1',
      privateKey: key,
      commandKey: signer.publicKeyPem,
    }),
  );
  return dir;
}

/** A fake build: a Node script that records that it ran (with its arguments) and then does `behaviour`. */
function fakeBuild(path: string, behaviour: 'connects' | 'never-connects' | 'exits'): void {
  mkdirSync(dirname(path), { recursive: true });
  const body = {
    connects: "process.send({ t: 'connected', version: 'x' }); setInterval(() => {}, 1000);",
    'never-connects': 'setInterval(() => {}, 1000);',
    exits: 'process.exit(1);',
  }[behaviour];
  writeFileSync(
    path,
    `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(path + '.ran')}, process.argv.slice(2).join(' ') + '\\n');\n${body}\n`,
  );
  chmodSync(path, 0o700);
}

function release(dir: string, version: string, id = `rel${version.replace(/\./g, '')}`): ReleaseRecord {
  const bytes = readFileSync(buildPath(dir, version));
  const facts = {
    target: target!,
    version,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
  return { releaseId: id, ...facts, sig: signer.signRelease(facts) };
}

/** The installed file, faked: records its runs next to it. */
function selfBuild(dir: string): [string, ...string[]] {
  const p = join(dir, 'installed', 'lr-agent');
  fakeBuild(p, 'connects');
  return [p];
}

async function supervise(
  dir: string,
  self: [string, ...string[]],
  until: () => boolean,
  trialMs = 1500,
): Promise<void> {
  const stop = new AbortController();
  const done = runSupervisor({ dataDir: dir, log, self, trialMs, stopSignal: stop.signal });
  const t0 = Date.now();
  while (!until() && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
  stop.abort();
  await done;
}

const ran = (p: string) => (existsSync(p + '.ran') ? readFileSync(p + '.ran', 'utf8') : '');

describe.skipIf(target === null)('supervisor', () => {
  it('rolls back a new build that does not connect within the trial time, and says so to the service', async () => {
    const dir = agentDir();
    const self = selfBuild(dir);
    fakeBuild(buildPath(dir, '0.3.0'), 'never-connects');
    const next = release(dir, '0.3.0');
    writePending(dir, { next, previous: null, phase: 'staged' });
    writeFileSync(join(dir, 'builds', '.incoming-0123456789ab'), 'half a download');
    await supervise(dir, self, () => ran(self[0]) !== '');
    expect(existsSync(join(dir, 'builds', '.incoming-0123456789ab'))).toBe(false);
    expect(existsSync(buildPath(dir, '0.3.0'))).toBe(false);
    expect(ran(self[0])).toContain(`start --data ${dir}`);
    expect(readCurrent(dir)).toBeNull();
    expect(readPending(dir)).toBeNull();
    expect(readOutbox(dir)).toEqual([
      expect.objectContaining({
        releaseId: next.releaseId,
        state: 'rolled_back',
        message: expect.stringMatching(/did not connect within 2 s/),
      }),
    ]);
    expect(readRolledBack(dir)).toEqual([next.releaseId]);
  });

  it('rolls back a new build that exits at start, back to the previous staged build', async () => {
    const dir = agentDir();
    const self = selfBuild(dir);
    fakeBuild(buildPath(dir, '0.3.0'), 'connects');
    const previous = release(dir, '0.3.0');
    writeCurrent(dir, previous);
    fakeBuild(buildPath(dir, '0.4.0'), 'exits');
    const next = release(dir, '0.4.0');
    writePending(dir, { next, previous, phase: 'staged' });
    await supervise(dir, self, () => ran(buildPath(dir, '0.3.0')) !== '');
    expect(ran(self[0])).toBe('');
    expect(readCurrent(dir)).toEqual(previous);
    expect(readOutbox(dir)[0]).toMatchObject({
      releaseId: next.releaseId,
      state: 'rolled_back',
      message: expect.stringMatching(/exited \(code 1\) before it connected/),
    });
  });

  it('applies a new build that connects: current, applied report, older builds pruned (previous kept)', async () => {
    const dir = agentDir();
    const self = selfBuild(dir);
    fakeBuild(buildPath(dir, '0.2.0'), 'connects');
    fakeBuild(buildPath(dir, '0.3.0'), 'connects');
    const previous = release(dir, '0.3.0');
    writeCurrent(dir, previous);
    fakeBuild(buildPath(dir, '0.4.0'), 'connects');
    const next = release(dir, '0.4.0');
    writePending(dir, { next, previous, phase: 'staged' });
    await supervise(dir, self, () => readOutbox(dir).length > 0);
    expect(readCurrent(dir)).toEqual(next);
    expect(readPending(dir)).toBeNull();
    expect(readOutbox(dir)).toEqual([{ releaseId: next.releaseId, version: '0.4.0', state: 'applied' }]);
    expect(existsSync(buildPath(dir, '0.3.0'))).toBe(true);
    expect(existsSync(buildPath(dir, '0.2.0'))).toBe(false);
  });

  it('rolls back at its next start when it died during a trial (pending record)', async () => {
    const dir = agentDir();
    const self = selfBuild(dir);
    fakeBuild(buildPath(dir, '0.3.0'), 'connects');
    const next = release(dir, '0.3.0');
    writeCurrent(dir, next);
    writePending(dir, { next, previous: null, phase: 'trying' });
    await supervise(dir, self, () => ran(self[0]) !== '');
    expect(ran(buildPath(dir, '0.3.0'))).toBe('');
    expect(readCurrent(dir)).toBeNull();
    expect(readOutbox(dir)[0]).toMatchObject({
      state: 'rolled_back',
      message: expect.stringMatching(/supervisor restarted/),
    });
  });

  it('never runs a current build whose file changed on disk: runs the installed file and reports it', async () => {
    const dir = agentDir();
    const self = selfBuild(dir);
    fakeBuild(buildPath(dir, '0.3.0'), 'connects');
    writeCurrent(dir, release(dir, '0.3.0'));
    // Same size, one word changed after signing.
    writeFileSync(
      buildPath(dir, '0.3.0'),
      readFileSync(buildPath(dir, '0.3.0'), 'utf8').replace('setInterval', 'setTimeout '),
    );
    await supervise(dir, self, () => ran(self[0]) !== '');
    expect(ran(buildPath(dir, '0.3.0'))).toBe('');
    expect(readCurrent(dir)).toBeNull();
    expect(readOutbox(dir)[0]).toMatchObject({ state: 'failed', message: expect.stringMatching(/SHA-256/) });
  });
});

describe.skipIf(target === null)('build and offer checks', () => {
  it('refuses another key, another size or hash, another target', async () => {
    const dir = agentDir();
    fakeBuild(buildPath(dir, '0.3.0'), 'connects');
    const r = release(dir, '0.3.0');
    const path = buildPath(dir, '0.3.0');
    expect(await buildProblem(path, r, r.sig, signer.publicKeyPem, target!)).toBeNull();
    const other = CommandSigner.load(join(root, 'other-service'));
    expect(await buildProblem(path, r, other.signRelease(r), signer.publicKeyPem, target!)).toMatch(
      /bad release signature/,
    );
    expect(await buildProblem(path, { ...r, size: r.size + 1 }, r.sig, signer.publicKeyPem, target!)).toMatch(
      /bad release signature/,
    );
    expect(await buildProblem(path, r, r.sig, undefined, target!)).toMatch(/no service signing key/);
    writeFileSync(path, readFileSync(path, 'utf8').replace('setInterval', 'setTimeout '));
    expect(await buildProblem(path, r, r.sig, signer.publicKeyPem, target!)).toMatch(/SHA-256/);
    expect(
      await buildProblem(path, r, r.sig, signer.publicKeyPem, target === 'linux-x64' ? 'linux-arm64' : 'linux-x64'),
    ).toMatch(/a build for/);
  });

  it('refuses an offer that is not newer, for another target, or rolled back here before, before downloading', () => {
    const dir = agentDir();
    const u = new AgentUpdater({
      dataDir: dir,
      serviceKey: signer.publicKeyPem,
      service: { url: 'https://127.0.0.1:1', ca: '', deviceId: 'dev1' },
      log,
      supervised: true,
      restartIntoUpdate: () => undefined,
      version: '0.3.0',
    });
    const offer = (version: string, t = target!) => {
      const facts = { target: t, version, sha256: 'a'.repeat(64), size: 5 };
      return {
        t: 'update.offer' as const,
        releaseId: 'r1',
        ...facts,
        sig: signer.signRelease(facts),
        url: 'https://127.0.0.1:1/api/v1/agent/releases/x',
      };
    };
    expect(u.offerProblem(offer('0.4.0'))).toBeNull();
    expect(u.offerProblem(offer('0.3.0'))).toMatch(/not newer/);
    expect(u.offerProblem(offer('0.2.0'))).toMatch(/downgrades are refused/);
    expect(u.offerProblem(offer('0.4.0', 'win-x64'))).toMatch(/for win-x64/);
    expect(u.offerProblem({ ...offer('0.4.0'), url: 'https://evil.example/x' })).toMatch(
      /not the service this agent is enrolled with/,
    );
    expect(u.offerProblem({ ...offer('0.4.0'), size: 6 })).toMatch(/bad release signature/);
    mkdirSync(join(dir, 'builds'), { recursive: true });
    writeFileSync(join(dir, 'builds', 'rolled-back.json'), JSON.stringify(['r1']));
    expect(u.offerProblem(offer('0.4.0'))).toMatch(/rolled back on this device/);
  });
});
