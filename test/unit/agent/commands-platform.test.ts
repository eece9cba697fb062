/** The commands that read through the platform layer, the command table, and the platform choice. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_COMMANDS } from '../../../src/agent/commands/index.js';
import { processesCommand } from '../../../src/agent/commands/processes.js';
import { createPlatform } from '../../../src/agent/platform/index.js';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { NotSupportedError } from '../../../src/agent/platform/types.js';
import { CATALOG } from '../../../src/shared/commands/catalog.js';
import { buildSysroot, put } from './fixture-sysroot.js';
import { makeHarness, runCommand, tempDir } from './helpers.js';

const fixture = tempDir('lr-cmd-');
let child: ChildProcess;

beforeAll(async () => {
  buildSysroot(fixture.dir);
  child = spawn('sleep', ['31'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  for (let i = 0; i < 100 && readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'sleep'; i++)
    await new Promise((r) => setTimeout(r, 10));
});
afterAll(() => {
  child.kill();
  fixture.cleanup();
});

describe('processes', () => {
  it('filters by pid given as a string, and strips -output', async () => {
    const h = makeHarness({ sysroot: fixture.dir });
    await runCommand(processesCommand, h, { pid: String(child.pid), output: 'json' });
    expect(h.records).toHaveLength(1);
    expect(h.records[0]).toMatchObject({ pid: child.pid, name: 'sleep', cmdline: 'sleep 31', user: 'root' });
  });

  it('filters by name (comm or executable), case-sensitively', async () => {
    const h = makeHarness({ sysroot: fixture.dir });
    await runCommand(processesCommand, h, { name: 'sleep' });
    expect(h.records.map((r) => r.pid)).toContain(child.pid);
    await expect(runCommand(processesCommand, makeHarness(), { name: 'SLEEP' })).rejects.toThrow(
      'processes: no process named SLEEP',
    );
    const node = makeHarness();
    await runCommand(processesCommand, node, { name: path.basename(process.execPath) });
    expect(node.records.map((r) => r.pid)).toContain(process.pid);
  });

  it('gives no record for a pid that does not exist, and rejects a bad pid', async () => {
    const none = makeHarness();
    await runCommand(processesCommand, none, { pid: 999_999_999 });
    expect(none.records).toEqual([]);
    expect(processesCommand.schema.safeParse({ pid: 'abc' }).success).toBe(false);
  });
});

describe('listing commands', () => {
  const run = async (name: string, params: Record<string, string> = {}) => {
    const h = makeHarness({ sysroot: fixture.dir });
    const cmd = AGENT_COMMANDS.get(name);
    if (!cmd) throw new Error(`no ${name}`);
    await runCommand(cmd, h, params);
    return h.records;
  };

  it('stream what the platform layer reads', async () => {
    expect((await run('services', { output: 'table' })).map((r) => r.name)).toContain('evil.service');
    expect((await run('scheduledtasks')).some((r) => r.command === '/opt/evil/boot.sh')).toBe(true);
    expect((await run('startupfolders')).some((r) => r.path === '/etc/rc.local')).toBe(true);
    expect((await run('persistence')).some((r) => r.path === '/etc/ld.so.preload')).toBe(true);
    const connections = await run('connections');
    expect(connections.every((c) => typeof c.protocol === 'string' && typeof c.localPort === 'number')).toBe(true);
  });

  it('turn platform failures into one-line command errors', async () => {
    const empty = tempDir();
    try {
      const h = makeHarness({ platform: createLinuxPlatform({ sysroot: fixture.dir, procRoot: empty.dir }) });
      const drivers = AGENT_COMMANDS.get('drivers');
      if (!drivers) throw new Error('no drivers');
      await expect(runCommand(drivers, h)).rejects.toThrow(
        `drivers: ${empty.dir}/modules does not exist (kernel built without loadable modules)`,
      );
    } finally {
      empty.cleanup();
    }
  });

  it('drivers lists a fixture /proc/modules', async () => {
    const proc = tempDir();
    try {
      put(proc.dir, 'modules', 'loop 40960 0 - Live 0x0000000000000000\n');
      const h = makeHarness({ platform: createLinuxPlatform({ sysroot: fixture.dir, procRoot: proc.dir }) });
      await runCommand(AGENT_COMMANDS.get('drivers') ?? processesCommand, h);
      expect(h.records).toEqual([
        { name: 'loop', size: 40960, refCount: 0, usedBy: [], state: 'Live', path: null, signer: null, taint: null },
      ]);
    } finally {
      proc.cleanup();
    }
  });

  it('registry is not supported on Linux', async () => {
    await expect(run('registry', { key: 'HKEY_LOCAL_MACHINE\\SYSTEM' })).rejects.toThrow(
      /^registry: not supported on this platform$/,
    );
  });
});

describe('command table', () => {
  it('has one command per agent-side basic command of the catalog, each pointing at its entry', () => {
    const basicAgent = CATALOG.filter((c) => c.side === 'agent' && c.role === 'basic' && c.name !== 'getfile').map(
      (c) => c.name,
    );
    for (const name of basicAgent) expect(AGENT_COMMANDS.get(name)?.spec.name).toBe(name);
  });
});

describe('createPlatform', () => {
  it('picks the layer of the OS', () => {
    expect(createPlatform({ sysroot: '/' }, 'linux').name).toBe('linux');
    expect(createPlatform({ sysroot: '/' }, 'darwin').name).toBe('darwin');
    expect(createPlatform({ sysroot: '/' }, 'win32').name).toBe('win32');
    expect(() => createPlatform({ sysroot: '/' }, 'aix')).toThrow(/does not run on aix/);
  });

  it('macOS says what is not supported, never fake results', async () => {
    for (const os of ['darwin'] as const) {
      const p = createPlatform({ sysroot: '/' }, os);
      await expect(p.listProcesses()).rejects.toThrow(new NotSupportedError('processes'));
      await expect(p.listConnections()).rejects.toThrow('connections: not supported on this platform');
      await expect(p.listServices()).rejects.toBeInstanceOf(NotSupportedError);
      await expect(p.listDrivers()).rejects.toBeInstanceOf(NotSupportedError);
      await expect(p.listScheduledTasks()).rejects.toBeInstanceOf(NotSupportedError);
      await expect(p.listStartupItems()).rejects.toBeInstanceOf(NotSupportedError);
      await expect(p.listPersistence()).rejects.toBeInstanceOf(NotSupportedError);
      await expect(p.readRegistry('HKLM')).rejects.toThrow('registry: not supported on this platform');
      expect(await p.bootId()).toMatch(/^boot-\d{4}-/);
      const h = makeHarness({ platform: p });
      await expect(runCommand(processesCommand, h)).rejects.toThrow(/^processes: not supported on this platform$/);
    }
  });

  it('Windows refuses the Linux-shaped locators (its own remediation is in commands/support/remediate-windows*.ts)', async () => {
    const p = createPlatform({ sysroot: '/' }, 'win32');
    await expect(p.locateUnit('x.service')).rejects.toBeInstanceOf(NotSupportedError);
    await expect(p.locateCronLine('/etc/crontab', 1)).rejects.toBeInstanceOf(NotSupportedError);
    // collect's sources are implemented: Windows keeps logons in Security.evtx, not in a login database
    await expect(p.loginRecords()).resolves.toBeNull();
    // on Linux the Win32 API is not there: a clear error, not a crash
    await expect(p.listProcesses()).rejects.toThrow();
    await expect(p.stopProcess(1, { tree: false })).rejects.toThrow();
  });
});
