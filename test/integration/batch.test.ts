// `lr batch` over real agents run as
// processes on this machine, an enrolled device whose agent is stopped (the offline queue), a device held
// by another analyst, a service restart with queued work, expiry, cancel, selectors, roles and the command
// log. The agents all see this machine's processes: each device's rows are the same processes, merged with
// a `device` column, one set per device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, createWorld, enrollAgent, start, waitFor, type World } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { BatchApi } from '../../src/client/batch-api.js';
import { profileSchema } from '../../src/node/profile.js';
import type { BatchRecord, BatchResults, BatchTargetRecord } from '../../src/shared/wire/batch.js';
import type { CommandLogRecord } from '../../src/shared/wire/protocol.js';
import { runFleetBatch } from '../../bench/batch-fleet.js';

const connect = (file: string) => ConsoleClient.connect(profileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));
const byName = (b: BatchRecord): Record<string, BatchTargetRecord> =>
  Object.fromEntries(b.targets.map((t) => [t.deviceName, t]));
const idOf = (stdout: string): string => {
  const id = /^batch (\S+):/m.exec(stdout)?.[1];
  if (!id) throw new Error(`no batch id in ${JSON.stringify(stdout)}`);
  return id;
};

describe('lr batch', () => {
  let w: World;
  const sleepers: ChildProcess[] = [];
  const offline: Record<string, string> = {}; // name → agent data folder, enrolled but not started
  const startAgent = async (name: string) => {
    const p = await start('lr-agent', ['start', '--data', offline[name] as string], /started/, {
      XDG_STATE_HOME: join(w.dir, 'state'),
      LR_LOG_LEVEL: 'warn',
    });
    w.agents.push(p);
    return p;
  };
  const show = async (id: string): Promise<BatchRecord> => {
    const r = await w.lr(['batch', 'show', id, '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as BatchRecord;
  };
  const logEntries = async (): Promise<CommandLogRecord[]> =>
    JSON.parse((await w.lr(['log', '--json'])).stdout) as CommandLogRecord[];

  beforeAll(async () => {
    // The admin starts more than 10 batches within a minute here: the per-token budget of calls starting work
    // (10 a minute by default, tested in machine-actions.test.ts) is raised so that a fast run is not refused.
    w = await createWorld({ apiCallsPerMinute: 1000 });
    for (const name of ['web-1', 'web-2', 'db-1']) await w.addAgent(name);
    for (const name of ['db-2', 'db-3', 'db-4']) offline[name] = (await enrollAgent(w, name)).dataDir;
    // Processes to find, one per device (every agent sees all of them: it is one machine).
    for (let i = 0; i < 4; i++) sleepers.push(spawn('sleep', [String(3600 + i)], { stdio: 'ignore' }));
  });
  afterAll(async () => {
    for (const s of sleepers) s.kill('SIGKILL');
    await w?.cleanup();
  });

  it('refuses bad arguments in one line, before asking the service', async () => {
    const cases: [string[], RegExp][] = [
      [['batch', 'run', 'processes'], /^lr: choose the devices: --devices/],
      [
        ['batch', 'run', '--filter', 'colour=red', 'processes'],
        /^lr: --filter: unknown key "colour" \(keys: os, name, online\)$/,
      ],
      [['batch', 'run', '--filter', 'online=maybe', 'processes'], /^lr: --filter: online is true or false/],
      [
        ['batch', 'run', '--devices', 'web-1', '--expires', '3 days', 'processes'],
        /^lr: --expires: invalid duration 3 days/,
      ],
      [['batch', 'run', '--devices', 'web-1', '--expires', '31d', 'processes'], /^lr: --expires: at most 30d$/],
      [
        ['batch', 'run', '--devices', 'web-1', '--concurrency', '0', 'processes'],
        /^lr: --concurrency: a whole number from 1 to 100/,
      ],
      [['batch', 'run', '--devices', 'web-1,,db-1', 'processes'], /^lr: --devices: an empty device name/],
      [['batch', 'run', '--devices', 'no-such-device', 'processes'], /^lr: .*no-such-device/],
    ];
    for (const [args, message] of cases) {
      const r = await w.lr(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
    expect(JSON.parse((await w.lr(['batch', 'list', '--json'])).stdout)).toEqual([]);
  });

  it('acceptance 1: three devices complete with their rows merged, the offline one waits and runs when its agent starts', async () => {
    const r = await w.lr([
      'batch',
      'run',
      '--devices',
      'web-1,web-2,db-1,db-2',
      '--no-wait',
      '--comment',
      'acceptance 1',
      'processes -name sleep',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = idOf(r.stdout);
    const waiting = await waitFor('web-1, web-2, db-1 completed', async () => {
      const b = await show(id);
      return b.counts.completed === 3 && b;
    });
    const t = byName(waiting);
    expect(t['db-2']).toMatchObject({ status: 'queued', note: expect.stringMatching(/offline/) });
    expect(waiting.status).toBe('running');
    const text = await w.lr(['batch', 'show', id]);
    expect(text.stdout).toMatch(/db-2\s+queued\s+.*offline/);
    expect(text.stdout).toMatch(/web-1\s+completed/);

    await startAgent('db-2');
    const done = await waitFor(
      'the batch completed',
      async () => {
        const b = await show(id);
        return b.status !== 'running' && b;
      },
      30_000,
    );
    expect(done.status).toBe('completed');
    expect(done.counts.completed).toBe(4);

    // The merged table: a device column, every device's set of sleep processes.
    const csv = await w.lr(['batch', 'results', id, '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...lines] = csv.stdout.trim().split('\r\n');
    const columns = (header as string).split(',');
    expect(columns.slice(0, 2)).toEqual(['device', 'step']);
    const deviceCol = columns.indexOf('device');
    const pidCol = columns.indexOf('pid');
    const pidsByDevice = new Map<string, Set<string>>();
    for (const line of lines) {
      const cells = line.split(',');
      const set = pidsByDevice.get(cells[deviceCol] as string) ?? new Set<string>();
      set.add(cells[pidCol] as string);
      pidsByDevice.set(cells[deviceCol] as string, set);
    }
    expect([...pidsByDevice.keys()].sort()).toEqual(['db-1', 'db-2', 'web-1', 'web-2']);
    for (const [device, pids] of pidsByDevice)
      for (const s of sleepers) expect(pids.has(String(s.pid)), `${device} sees sleep ${s.pid}`).toBe(true);
    const json = JSON.parse(
      (await w.lr(['batch', 'results', id, '--json', '--device', 'db-2'])).stdout,
    ) as BatchResults;
    expect(new Set(json.rows.map((row) => row.device))).toEqual(new Set(['db-2']));
    expect(json.rows.length).toBeGreaterThanOrEqual(sleepers.length);

    const list = await w.lr(['batch', 'list']);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/completed/);
  });

  it('acceptance 1: a device another analyst holds waits (never taken) and runs once the analyst closes; `lr batch run` then exits 0', async () => {
    const alice = await connect(await w.addUser('alice', 'advanced'));
    try {
      const session = await alice.openSession('web-1');
      const running = w.lr(['batch', 'run', '--devices', 'web-1', 'processes -name sleep'], undefined, {
        timeoutMs: 60_000,
      });
      const queued = await waitFor('the batch waiting for web-1', async () => {
        const [newest] = JSON.parse((await w.lr(['batch', 'list', '--json', '--limit', '1'])).stdout) as {
          id: string;
        }[];
        if (!newest) return false;
        const b = await show(newest.id);
        return b.targets[0]?.status === 'queued' && b.targets[0].note?.includes('alice') && b;
      });
      expect(queued.targets[0]?.note).toMatch(/opened by alice/);
      // Never stolen: alice's session is still hers and works.
      await new Promise((r) => setTimeout(r, 1500));
      const own = await alice.run(session.id, 'processes -name sleep').outcome;
      expect(own.status).toBe('completed');
      expect((await show(queued.id)).targets[0]?.status).toBe('queued');

      alice.closeSession(session.id);
      const r = await running;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^web-1\s+queued\s+.*opened by alice/m);
      expect(r.stdout).toMatch(/^web-1\s+completed\s+\S+ \S+\s+\d+ rows/m);
      expect(r.stdout).toMatch(new RegExp(`^batch ${queued.id} completed: 1 device, 1 completed$`, 'm'));
    } finally {
      alice.close();
    }
  });

  it('acceptance 6: a basic user cannot batch an advanced command (nothing queued); every per-device command is in the log and the log verifies', async () => {
    const bob = await w.addUser('bob', 'basic');
    const before = (JSON.parse((await w.lr(['batch', 'list', '--json'])).stdout) as unknown[]).length;
    for (const line of ['remediate process 1', 'run x.sh']) {
      const r = await w.lr(['batch', 'run', '--devices', 'web-1,db-2', line], bob);
      expect(r.code, line).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/advanced|role/);
    }
    // A second step that is advanced refuses the whole batch too.
    const mixed = await w.lr(['batch', 'run', '--devices', 'web-1', 'processes', 'remediate process 1'], bob);
    expect(mixed.code).toBe(2);
    expect((JSON.parse((await w.lr(['batch', 'list', '--json'])).stdout) as unknown[]).length).toBe(before);

    // A basic command is fine for bob; each device's command is an ordinary, chained log entry.
    const ok = await w.lr(
      ['batch', 'run', '--devices', 'web-1,web-2,db-1,db-2', '--json', 'processes -name sleep', 'dir /'],
      bob,
    );
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    const b = JSON.parse(ok.stdout) as BatchRecord;
    const log = await logEntries();
    for (const t of b.targets) {
      for (const step of t.steps) {
        const entry = log.find((e) => e.id === step.commandId);
        expect(entry, `${t.deviceName} step ${step.index}`).toMatchObject({
          user: 'bob',
          deviceName: t.deviceName,
          commandLine: step.line,
          status: 'completed',
        });
      }
    }
    // `lr log --batch ID` lists exactly the commands the batch sent.
    const ofBatch = JSON.parse((await w.lr(['log', '--batch', b.id, '--json'])).stdout) as CommandLogRecord[];
    expect(ofBatch.map((e) => e.id).sort()).toEqual(b.targets.flatMap((t) => t.steps.map((s) => s.commandId)).sort());
    expect(ofBatch).toHaveLength(8);
    const verify = await w.lr(['log', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/chain intact/);
  });

  it('results --out: every pulled file under DIR/<device>/ with its SHA-256; a listing (dir) stays rows, not a pulled file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-batch-out-'));
    const wanted = createHash('sha256').update(readFileSync('/etc/hostname')).digest('hex');
    const r = await w.lr(['batch', 'run', '--devices', 'web-1,db-1', '--json', 'dir /etc', 'getfile /etc/hostname']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const b = JSON.parse(r.stdout) as BatchRecord;
    for (const t of b.targets) {
      // `dir` records have type "file" too: they are the step's rows, never taken for a transfer.
      expect(t.steps[0]).toMatchObject({ status: 'completed', rows: expect.any(Number) });
      expect(t.steps[0]?.rows).toBeGreaterThan(10);
      expect(t.steps[0]?.file).toBeUndefined();
      expect(t.steps[1]?.file).toMatchObject({ name: 'hostname', sha256: wanted });
    }
    const out = await w.lr(['batch', 'results', b.id, '--out', dir]);
    expect(out.code, out.stderr).toBe(0);
    for (const device of ['web-1', 'db-1']) {
      const file = join(dir, device, 'hostname');
      expect(out.stdout).toContain(`${file}  ${readFileSync('/etc/hostname').length} bytes  sha256 ${wanted}`);
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(wanted);
    }
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^device,step,/);
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BatchResults;
    expect(json.files.map((f) => f.device).sort()).toEqual(['db-1', 'web-1']);
  });

  it('acceptance 4: a queued batch and a queued device command survive a service restart and run when the device comes online', async () => {
    const r = await w.lr(['batch', 'run', '--devices', 'db-3', '--no-wait', 'processes -name sleep']);
    expect(r.code, r.stderr).toBe(0);
    const id = idOf(r.stdout);
    expect((await show(id)).targets[0]?.status).toBe('queued');
    // And a single API action (POST /api/v1/devices/{device}/commands), answered 202 while it waits.
    const api = new BatchApi(profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8'))));
    const action = (await api.command('db-3', 'dir /etc', { waitSec: 0 })).batch;
    expect(action.targets[0]?.status).toBe('queued');
    await w.stopServer();
    await w.startServer();
    expect((await show(id)).targets[0]).toMatchObject({ status: 'queued', note: expect.stringMatching(/offline/) });
    expect((await show(action.id)).targets[0]?.status).toBe('queued');
    await startAgent('db-3');
    const done = await waitFor(
      'the batch and the action completed after the restart',
      async () => {
        const [b, a] = [await show(id), await show(action.id)];
        return b.status !== 'running' && a.status !== 'running' && ([b, a] as const);
      },
      30_000,
    );
    expect(done.map((b) => b.status)).toEqual(['completed', 'completed']);
    expect(done[0].targets[0]?.rows).toBeGreaterThanOrEqual(sleepers.length);
    expect(done[1].targets[0]?.rows).toBeGreaterThan(10);
  });

  it('an offline device past the expiry ends offline-expired; `lr batch run` exits 1', async () => {
    const t0 = Date.now();
    const r = await w.lr(
      ['batch', 'run', '--devices', 'web-2,db-4', '--expires', '3s', 'processes -name sleep'],
      undefined,
      { timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
    expect(r.stdout).toMatch(/^db-4\s+offline-expired/m);
    expect(r.stdout).toMatch(/^web-2\s+completed/m);
    expect(r.stdout).toMatch(/failed: 2 devices, 1 completed, 1 offline-expired$/m);
  });

  it('cancel stops every device: running commands are cancelled on the devices, queued ones never start, the log says cancelled', async () => {
    expect((await w.lr(['settings', 'set', 'unsignedScripts', 'on'])).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'lr-batch-'));
    // A duration no other process on this machine sleeps for: the check below finds only this script's.
    const marker = `sleep 120.${process.pid}`;
    writeFileSync(join(dir, 'long-sleep.sh'), `#!/bin/sh\n${marker}\n`);
    expect((await w.lr(['library', 'upload', join(dir, 'long-sleep.sh')])).code).toBe(0);
    const r = await w.lr([
      'batch',
      'run',
      '--devices',
      'web-1,web-2,db-1,db-4',
      '--no-wait',
      'run long-sleep.sh',
      'processes',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = idOf(r.stdout);
    await waitFor('three devices running', async () => (await show(id)).counts.running === 3, 20_000);
    // The agents run on this machine: their three scripts are its processes.
    const scripts = () =>
      spawnSync('pgrep', ['-f', marker]).stdout.toString().trim().split('\n').filter(Boolean).length;
    await waitFor('the three scripts sleeping', async () => scripts() === 3);
    // Only who started it, or an admin, may cancel it.
    const other = await w.lr(['batch', 'cancel', id], await w.addUser('carol', 'advanced'));
    expect(other.code).toBe(2);
    expect(other.stderr.trim()).toBe(`lr: refused: only admin (who started it) or an admin may cancel batch ${id}`);
    expect((await show(id)).counts.running).toBe(3);
    const cancel = await w.lr(['batch', 'cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const done = await waitFor(
      'every device cancelled',
      async () => {
        const b = await show(id);
        return b.status !== 'running' && b;
      },
      20_000,
    );
    expect(done.status).toBe('cancelled');
    expect(done.cancelledBy).toBe('admin');
    expect(done.targets.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    const log = await logEntries();
    for (const t of done.targets.filter((x) => x.deviceName !== 'db-4')) {
      expect(t.steps[0]?.status).toBe('cancelled');
      expect(t.steps[1]?.status).toBe('not-run');
      expect(log.find((e) => e.id === t.steps[0]?.commandId)?.status).toBe('cancelled');
    }
    // The scripts' processes are gone from the devices.
    await waitFor('the scripts ended', async () => scripts() === 0, 5000);
    const left = await w.lr(['exec', 'web-1', 'processes -name sleep', '--json']);
    expect(
      (JSON.parse(left.stdout) as { records: { cmdline?: string }[] }).records.filter((p) =>
        p.cmdline?.includes(marker),
      ),
    ).toEqual([]);
  });

  it('Ctrl+C while waiting asks nothing and stops waiting: exit 130, how to cancel, the batch goes on', async () => {
    const child = spawn(
      process.execPath,
      [BIN('lr'), '--profile', w.adminProfile, 'batch', 'run', '--devices', 'web-1,db-4', 'processes -name sleep'],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: join(w.dir, 'state') } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      'web-1 completed and db-4 queued on screen',
      async () => /^web-1\s+completed/m.test(stdout) && /^db-4\s+queued/m.test(stdout),
    );
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const id = idOf(stdout);
    expect(stderr.trim()).toBe(
      `lr: stopped waiting; batch ${id} goes on in the service (lr batch show ${id} to follow it, lr batch cancel ${id} to stop it)`,
    );
    expect((await show(id)).status).toBe('running');
    expect((await w.lr(['batch', 'cancel', id])).stdout.trim()).toMatch(
      new RegExp(`^batch ${id} cancelled: 2 devices, 1 completed, 1 cancelled$`),
    );
  });

  it('--group, --tag and --filter choose the right devices', async () => {
    expect((await w.lr(['groups', 'add', 'databases', '--level', 'full'])).code).toBe(0);
    expect((await w.lr(['groups', 'assign', 'db-1', 'databases'])).code).toBe(0);
    expect((await w.lr(['groups', 'tag', 'web-2', 'prod'])).code).toBe(0);
    const targets = async (args: string[]) => {
      const r = await w.lr(['batch', 'run', ...args, '--json', 'processes -name sleep']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as BatchRecord).targets.map((t) => t.deviceName).sort();
    };
    expect(await targets(['--group', 'databases'])).toEqual(['db-1']);
    expect(await targets(['--tag', 'prod'])).toEqual(['web-2']);
    expect(await targets(['--filter', 'os=linux,name=web-*'])).toEqual(['web-1', 'web-2']);
    expect(await targets(['--filter', 'name=DB-?,online=true'])).toEqual(['db-1', 'db-2', 'db-3']);
    const none = await w.lr(['batch', 'run', '--filter', 'os=win32', 'processes']);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('acceptance 2, test-sized: 50 lightweight agents, concurrency 10', () => {
  it('every device completes, never more than 10 at once, the service memory stays bounded', async () => {
    const r = await runFleetBatch({ agents: 50, concurrency: 10, delayMs: 100 });
    expect(r.exitCode).toBe(0);
    expect(r.batch.counts.completed).toBe(50);
    expect(r.maxRunning).toBeLessThanOrEqual(10);
    expect(r.rssPeak - r.rssBefore).toBeLessThan(150 * 1024 * 1024);
    console.log(
      `50 agents, concurrency 10: ${r.totalMs} ms, p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, RSS ${r.rssBefore >> 20} → ${r.rssPeak >> 20} → ${r.rssAfter >> 20} MB`,
    );
  }, 120_000);
});
