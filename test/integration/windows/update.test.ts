/**
 * Signed agent self-update on Windows, under Wine: two real win-x64 single files
 * (`npm run package:agent -- --target win-x64`, versions N and N+1, built here), build N installed as the
 * Windows service (`lr-agent-win-x64.exe install`, the SCM of the prefix runs `… service --data DIR`, which is
 * the supervisor: the agent runs as its child), releases added with the real `lr-server agent-release add`.
 *
 * First a broken N+1 (exits at start) that the supervisor must roll back, then the real N+1 that must be
 * applied: the service's child is then `builds\<N+1>\lr-agent.exe`, a file of its own (no running .exe is
 * overwritten).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brokenCopy, deviceRow, packageAgent as packageAgentBuild, updateLog as updateLogOf } from '../agent-builds.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorld, run, waitFor, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import { createWinePrefix, WINE64, wineProblem, windowsRuntime, winPath, type WinePrefix } from '../wine.js';

const pexec = promisify(execFile);
const N = '0.2.0';
const N1 = '0.3.0';
const DATA = 'C:\\lr-upd';

let world: World;
let tmp: string;
let prefix: WinePrefix | undefined;
let keepAlive: ChildProcess | undefined;
let buildN: string;
let buildN1: string;
let deviceId: string;

const packageAgent = (version: string) => packageAgentBuild(tmp, 'win-x64', version);
const updateLog = () => updateLogOf(world, deviceId);
const device = () => deviceRow(world, deviceId);

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const dataHost = () => prefix!.hostOf(DATA);
const serviceLog = () =>
  existsSync(join(dataHost(), 'agent.log')) ? readFileSync(join(dataHost(), 'agent.log'), 'utf8') : '(no agent.log)';
/** Builds of each version in the agent's data folder (what was staged). */
const stagedVersions = () =>
  existsSync(join(dataHost(), 'builds')) ? readdirSync(join(dataHost(), 'builds')).filter((n) => /^\d/.test(n)) : [];

describeNeeds(wineProblem())(
  'agent self-update on Windows (real win-x64 single files, the Windows service as supervisor, Wine)',
  () => {
    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'lr-agent-update-win-'));
      [buildN, buildN1] = await Promise.all([packageAgent(N), packageAgent(N1)]);
      world = await createWorld();
      prefix = await createWinePrefix(world.dir);
      // Wine stops its services with its last ordinary process: one stays up for the whole file.
      const node = await windowsRuntime();
      keepAlive = spawn(WINE64, [winPath(node), '-e', 'setInterval(() => {}, 1 << 30)'], {
        env: { ...process.env, ...prefix.env },
        stdio: 'ignore',
      });
      const bundle = join(world.dir, 'dev.bundle.json');
      const t = await run('lr-server', ['enroll-token', '--data', world.dataDir, '--out', bundle, '--ttl', '1h']);
      expect(t.code, t.stderr).toBe(0);
      const r = await prefix.exec(
        winPath(buildN),
        ['install', '--bundle', winPath(bundle), '--name', 'winupd', '--data', DATA],
        180_000,
      );
      expect(r.code, `${r.stdout} ${r.stderr} ${serviceLog()}`).toBe(0);
      deviceId = /device id (\w+)/.exec(r.stdout)?.[1] as string;
      await waitFor('the Windows service online', async () => (await device()).online, 90_000);
    }, 600_000);

    afterAll(async () => {
      keepAlive?.kill('SIGKILL');
      await prefix?.kill();
      await world?.cleanup();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('runs build N as the child of the service (the supervisor), its version in the inventory', async () => {
      expect((await device()).agentVersion).toBe(N);
      expect(serviceLog()).toContain('starting the agent build');
      expect(serviceLog()).toContain('agent supervisor started');
    });

    it('rolls a broken N+1 (exits at start) back to N; rolled_back logged', async () => {
      // A real N+1 .exe whose embedded script was damaged before it was released: N+1's marker, a valid PE,
      // signed by the service like any release; it dies at start (SyntaxError).
      const broken = brokenCopy(buildN1, join(tmp, 'broken'));
      const t0 = Date.now();
      const add = await run('lr-server', ['agent-release', 'add', broken, '--os', 'win-x64', '--data', world.dataDir]);
      expect(add.code, add.stderr).toBe(0);
      const rolledBack = await waitFor(
        'rolled_back in the command log',
        async () => (await updateLog()).find((e) => e.commandLine.startsWith(`agent-update ${N1} rolled_back`)),
        90_000,
        250,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${serviceLog()}`);
      });
      expect(rolledBack.commandLine).toMatch(/the new build exited \(code \d+\) before it connected/);
      await waitFor('online again', async () => (await device()).online, 60_000);
      const seconds = (Date.now() - t0) / 1000;
      process.stdout.write(
        `Wine: broken ${N1} added -> rolled back to ${N}, online, reported: ${seconds.toFixed(1)} s\n`,
      );
      expect(seconds).toBeLessThan(90);
      expect((await device()).agentVersion).toBe(N);
      expect(serviceLog()).toMatch(/update rolled back/);
      expect(stagedVersions()).toEqual([]); // the broken build is deleted
    }, 180_000);

    it('updates N to N+1: the service runs builds\\<N+1>\\lr-agent.exe, online with N+1 in the inventory, applied logged', async () => {
      const add = await run('lr-server', ['agent-release', 'add', buildN1, '--os', 'win-x64', '--data', world.dataDir]);
      expect(add.code, add.stderr).toBe(0);
      const t0 = Date.now();
      await waitFor(
        'N+1 online in the inventory',
        async () => {
          const d = await device();
          return d.online && d.agentVersion === N1;
        },
        120_000,
        250,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${serviceLog()}`);
      });
      const seconds = (Date.now() - t0) / 1000;
      const applied = await waitFor(
        'applied in the command log',
        async () => (await updateLog()).find((e) => e.commandLine === `agent-update ${N1} applied`),
        30_000,
      );
      expect(applied.status).toBe('completed');
      process.stdout.write(`Wine: ${N} -> ${N1}: online with ${N1} after ${seconds.toFixed(1)} s\n`);
      expect(JSON.parse(readFileSync(join(dataHost(), 'builds', 'current.json'), 'utf8'))).toMatchObject({
        version: N1,
        target: 'win-x64',
      });
      expect(sha256(join(dataHost(), 'builds', N1, 'lr-agent.exe'))).toBe(sha256(buildN1)); // a file of its own, next to N's
      // The agent answering is the staged file, run by the service.
      const r = await world.lr(['exec', 'winupd', 'processes -output json'], undefined, { timeoutMs: 90_000 });
      expect(r.code, r.stderr).toBe(0);
      const procs = JSON.parse(r.stdout) as { name: string; cmdline?: string }[];
      expect(
        procs.find((p) => String(p.name).toLowerCase() === 'lr-agent.exe'),
        JSON.stringify(procs.map((p) => p.name)),
      ).toBeTruthy();
    }, 240_000);

    it("the service's stop asks its child to stop (IPC: it closes its link and exits 0), and no agent is left running", async () => {
      const u = await prefix!.exec(winPath(buildN), ['uninstall', '--data', DATA], 120_000);
      expect(u.code, `${u.stdout} ${u.stderr}`).toBe(0);
      expect(u.stdout).toMatch(/service lr-agent stopped and deleted/);
      await waitFor('offline', async () => !(await device()).online, 30_000);
      // Not killed (TerminateProcess): the build ended by itself once asked.
      expect(serviceLog()).toMatch(/the agent stopped with the service.*"build":"0\.3\.0".*"exit":"code 0"/);
      // Wine shows its processes' Windows command lines to the host.
      const left = (await pexec('ps', ['-eo', 'args'])).stdout.split('\n').filter((l) => l.includes(`${DATA}\\builds`));
      expect(left).toEqual([]);
    }, 180_000);
  },
);
