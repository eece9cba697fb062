/**
 * Signed agent self-update, end to end: a real service of a test world, real
 * single-file agent builds of two versions (`npm run package:agent`, built once here), the supervisor run
 * as the systemd unit runs it (`lr-agent service --data DIR`, from build N), releases added with the real
 * `lr-server agent-release add`.
 *
 * The order matters (one device, one supervisor): first what must be refused (a release signed with
 * another key; a release whose file changed after it was signed), then a broken N+1 that must be rolled
 * back, then the real N+1 that must be applied.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'node:https';
import { brokenCopy, deviceRow, packageAgent as packageAgentBuild, updateLog as updateLogOf } from './agent-builds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFileName, agentReleasePayload } from '../../src/shared/wire/agent-release.js';
import { openDb } from '../../src/server/db.js';
import { dataPaths } from '../../src/server/config.js';
import { releasesDir } from '../../src/server/agent-releases.js';
import { createWorld, run, waitFor, type World } from './harness.js';

const pexec = promisify(execFile);
const N = '0.2.0';
const N1 = '0.3.0';
const FILE = agentFileName('linux-x64');

let world: World;
let tmp: string;
let supervisor: ChildProcess | undefined;
let supervisorOut = '';
let agentDir: string;
let deviceId: string;

const packageAgent = (version: string) => packageAgentBuild(tmp, 'linux-x64', version);
const updateLog = () => updateLogOf(world, deviceId);
const device = () => deviceRow(world, deviceId);

function startSupervisor(build: string): void {
  supervisorOut = '';
  supervisor = spawn(build, ['service', '--data', agentDir], {
    env: { ...process.env, LR_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  supervisor.stdout?.on('data', (d: Buffer) => (supervisorOut += d.toString()));
  supervisor.stderr?.on('data', (d: Buffer) => (supervisorOut += d.toString()));
}

async function stopSupervisor(): Promise<void> {
  const s = supervisor;
  supervisor = undefined;
  if (!s || s.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    s.once('exit', () => resolve());
    s.kill('SIGTERM');
    setTimeout(() => s.kill('SIGKILL'), 15_000).unref();
  });
}

/** Builds of each version found in the agent's data folder (what was staged). */
function stagedVersions(): string[] {
  const dir = join(agentDir, 'builds');
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^\d/.test(n)) : [];
}

/**
 * Writes a release row (and its file) straight into the service's store, as someone able to write there but without the
 * service's key would.
 */
function insertRelease(
  id: string,
  file: string,
  sig: string,
  facts: { version: string; sha256: string; size: number },
): void {
  mkdirSync(join(releasesDir(world.dataDir), id), { recursive: true });
  copyFileSync(file, join(releasesDir(world.dataDir), id, FILE));
  const db = openDb(dataPaths(world.dataDir).db);
  try {
    db.prepare(
      'INSERT INTO agent_releases (id, target, version, build, sha256, size, sig, group_name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)',
    ).run(id, 'linux-x64', facts.version, 'test', facts.sha256, facts.size, sig, new Date().toISOString(), 'intruder');
  } finally {
    db.close();
  }
}

let buildN: string;
let buildN1: string;
let n1Facts: { version: string; sha256: string; size: number };

describe('agent self-update (real single-file builds, lr-agent service)', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lr-agent-update-'));
    [buildN, buildN1] = [await packageAgent(N), await packageAgent(N1)];
    const sha = readFileSync(`${buildN1}.sha256`, 'utf8').split(/\s/)[0] as string;
    n1Facts = { version: N1, sha256: sha, size: readFileSync(buildN1).length };
    world = await createWorld();
    const bundle = join(world.dir, 'dev.bundle.json');
    const t = await run('lr-server', ['enroll-token', '--data', world.dataDir, '--out', bundle, '--ttl', '1h']);
    expect(t.code, t.stderr).toBe(0);
    agentDir = join(world.dir, 'agent');
    const e = await pexec(buildN, ['enroll', '--bundle', bundle, '--data', agentDir, '--name', 'upd']);
    deviceId = /device id (\w+)/.exec(e.stdout)?.[1] as string;
    startSupervisor(buildN);
    await waitFor('the agent online', async () => (await device()).online, 30_000);
  }, 600_000);

  afterAll(async () => {
    await stopSupervisor();
    await world?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs build N under the supervisor, its version in the inventory', async () => {
    expect((await device()).agentVersion).toBe(N);
    expect(supervisorOut).toContain('starting the agent build');
  });

  it('serves release files only to an enrolled device that signs the one-time token', async () => {
    const ca = readFileSync(join(world.dataDir, 'tls', 'ca.pem'), 'utf8');
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `https://127.0.0.1:${world.port}/api/v1/agent/releases/${'A'.repeat(43)}`,
          { ca, headers },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await status({})).toBe(403);
    expect(await status({ 'x-lr-device': deviceId, 'x-lr-device-proof': Buffer.alloc(64).toString('base64') })).toBe(
      403,
    );
  });

  it('refuses a release signed with another key: logged, nothing downloaded or run, still online on N', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const sig = sign(null, agentReleasePayload({ target: 'linux-x64', ...n1Facts }), other).toString('base64');
    insertRelease('forgedrelease1', buildN1, sig, n1Facts);
    const refused = await waitFor(
      'the refusal in the command log',
      async () =>
        (await updateLog()).find((e) => e.status === 'refused' && e.commandLine.includes('bad release signature')),
      30_000,
    );
    expect(refused.commandLine).toContain(`agent-update ${N1} refused`);
    expect(stagedVersions()).toEqual([]);
    expect(supervisorOut).not.toContain('on trial');
    const d = await device();
    expect(d.online).toBe(true);
    expect(d.agentVersion).toBe(N);
  });

  it("refuses a release whose file changed after it was signed (the service's own signature): logged, nothing run", async () => {
    // Signed by the service (agent-release add), then one byte of the stored file changed; the agent is
    // offline meanwhile so that the offer comes at its next connection, with the changed file.
    await stopSupervisor();
    const add = await run('lr-server', ['agent-release', 'add', buildN1, '--os', 'linux-x64', '--data', world.dataDir]);
    expect(add.code, add.stderr).toBe(0);
    const id = /agent release (\w+) added/.exec(add.stdout)?.[1] as string;
    const stored = join(releasesDir(world.dataDir), id, FILE);
    const bytes = readFileSync(stored);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    writeFileSync(stored, bytes);
    startSupervisor(buildN);
    const refused = await waitFor(
      'the refusal in the command log',
      async () => (await updateLog()).find((e) => e.status === 'refused' && e.commandLine.includes('SHA-256')),
      60_000,
    );
    expect(refused.commandLine).toContain('nothing was run');
    expect(stagedVersions()).toEqual([]);
    expect(readdirSync(join(agentDir, 'builds')).filter((n) => n.startsWith('.incoming'))).toEqual([]);
    expect(supervisorOut).not.toContain('on trial');
    await waitFor('online on N', async () => (await device()).online, 30_000);
    expect((await device()).agentVersion).toBe(N);
    const rm = await run('lr-server', ['agent-release', 'remove', id, '--data', world.dataDir]);
    expect(rm.code, rm.stderr).toBe(0);
  });

  it('rolls a broken N+1 (exits at start) back to N within 90 s; rolled_back logged; not offered again', async () => {
    // A real N+1 build whose embedded script was damaged before it was released: it carries N+1's marker
    // and is a valid ELF, it is signed by the service like any release, and it dies at start (SyntaxError).
    const broken = brokenCopy(buildN1, join(tmp, 'broken'));
    const t0 = Date.now();
    const add = await run('lr-server', ['agent-release', 'add', broken, '--os', 'linux-x64', '--data', world.dataDir]);
    expect(add.code, add.stderr).toBe(0);
    const rolledBack = await waitFor(
      'rolled_back in the command log',
      async () => (await updateLog()).find((e) => e.commandLine.startsWith(`agent-update ${N1} rolled_back`)),
      90_000,
      250,
    );
    expect(rolledBack.commandLine).toMatch(/the new build exited \(code \d+\) before it connected/);
    await waitFor('online again', async () => (await device()).online, 30_000);
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(`broken ${N1} added -> rolled back to ${N}, online, reported: ${seconds.toFixed(1)} s\n`);
    expect(seconds).toBeLessThan(90);
    expect((await device()).agentVersion).toBe(N);
    expect(supervisorOut).toMatch(/update rolled back/);
    expect(stagedVersions()).toEqual([]); // the broken build is deleted
    // Not offered again: the agent reconnected after the rollback and the service polls every 2 s.
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await updateLog()).filter((e) => e.commandLine.startsWith(`agent-update ${N1} staged`))).toHaveLength(1);
    // Nor handed to new devices: a release reaches the installers' agent file only once a device applied it.
    expect(existsSync(join(world.dataDir, 'agent-files', FILE))).toBe(false);
  });

  it('updates N to N+1: downloads, swaps, online again with N+1 in the inventory, applied logged', async () => {
    // Adding the real N+1 (same version) replaces the broken release: a new release, offered again.
    const add = await run('lr-server', ['agent-release', 'add', buildN1, '--os', 'linux-x64', '--data', world.dataDir]);
    expect(add.code, add.stderr).toBe(0);
    const t0 = Date.now();
    await waitFor(
      'N+1 online in the inventory',
      async () => {
        const d = await device();
        return d.online && d.agentVersion === N1;
      },
      90_000,
      250,
    );
    const applied = await waitFor(
      'applied in the command log',
      async () => (await updateLog()).find((e) => e.commandLine === `agent-update ${N1} applied`),
      30_000,
    );
    expect(applied.status).toBe('completed');
    process.stdout.write(`${N} -> ${N1}: online with ${N1} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(JSON.parse(readFileSync(join(agentDir, 'builds', 'current.json'), 'utf8'))).toMatchObject({
      version: N1,
      sha256: n1Facts.sha256,
    });
    // Proven on a device: new installs get it too (the installers' agent file is this very build).
    const published = join(world.dataDir, 'agent-files', FILE);
    await waitFor('N+1 published for new installs', async () => existsSync(published), 10_000);
    expect(createHash('sha256').update(readFileSync(published)).digest('hex')).toBe(n1Facts.sha256);
    const verify = await world.lr(['log', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});
