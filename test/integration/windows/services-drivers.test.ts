// services and drivers of a Windows agent under Wine, read from the service control manager and the
// drivers' PE files: services and drivers planted through Wine's own sc.exe/reg.exe are found with the
// right fields, and Wine's own running services and drivers show as they are.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorld, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';
import { parsePeHeaders } from '../../../src/agent/platform/windows/drivers-pe.js';
import { buildPe, signedPe } from '../../unit/agent/windows/pe-fixture.js';

interface Service {
  name: string;
  kind: string;
  state: string;
  subState: string;
  enabled: string;
  unitPath: string;
  execStart: string | null;
  description: string | null;
  account: string | null;
  pid: number | null;
}

interface Driver {
  name: string;
  size: number;
  refCount: number;
  usedBy: string[];
  state: string;
  path: string | null;
  signer: string | null;
  taint: string | null;
  startType: string | null;
  serviceType: string | null;
  loaded: boolean | null;
}

describeNeeds(wineProblem())('services and drivers of a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;

  async function sc(...args: string[]): Promise<void> {
    const r = await prefix.exec('sc', args);
    if (r.code !== 0) throw new Error(`sc ${args.join(' ')} failed (${r.code}): ${r.stdout} ${r.stderr}`);
  }

  function plantFile(windowsPath: string, bytes: Buffer): void {
    const host = prefix.hostOf(windowsPath);
    mkdirSync(dirname(host), { recursive: true });
    writeFileSync(host, bytes);
  }

  async function list<T>(command: string): Promise<T[]> {
    const r = await w.lr(['exec', 'windev', `${command} -output json`]);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as T[];
  }

  beforeAll(async () => {
    const nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
    plantFile(
      'C:\\windows\\system32\\drivers\\lrroot.sys',
      signedPe(0x9000, 'LR Test Driver Signer', 'LR Test Driver CA'),
    );
    plantFile('C:\\Users\\Public\\lrplain.sys', buildPe({ sizeOfImage: 0x4000 }));
    await Promise.all([
      sc('create', 'lrevil', 'binPath=', 'C:\\Users\\Public\\evil.exe -k', 'start=', 'auto', 'DisplayName=', 'LR Evil'),
      sc(
        'create',
        'lrdemand',
        'binPath=',
        'C:\\Users\\Public\\demand.exe',
        'start=',
        'demand',
        'obj=',
        'NT AUTHORITY\\LocalService',
        'DisplayName=',
        'LR Demand',
      ),
      // Wine's sc.exe does not know start= delayed-auto: the flag is the service key's value, as on Windows.
      sc('create', 'lrdelayed', 'binPath=', 'C:\\Users\\Public\\delayed.exe', 'start=', 'auto').then(async () => {
        const r = await prefix.exec('reg', [
          'add',
          'HKLM\\SYSTEM\\CurrentControlSet\\Services\\lrdelayed',
          '/v',
          'DelayedAutostart',
          '/t',
          'REG_DWORD',
          '/d',
          '1',
          '/f',
        ]);
        if (r.code !== 0) throw new Error(`reg add failed: ${r.stdout} ${r.stderr}`);
      }),
      // Drivers: a signed one under System32\drivers named the NT way, an unsigned one elsewhere, one whose file is
      // gone.
      sc(
        'create',
        'lrroot',
        'type=',
        'kernel',
        'binPath=',
        '\\SystemRoot\\System32\\drivers\\lrroot.sys',
        'start=',
        'system',
      ),
      sc('create', 'lrplain', 'type=', 'kernel', 'binPath=', 'C:\\Users\\Public\\lrplain.sys', 'start=', 'demand'),
      sc('create', 'lrghost', 'type=', 'kernel', 'binPath=', 'C:\\Users\\Public\\gone.sys', 'start=', 'auto'),
    ]);
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('lists planted services with their start type, binary path, display name, account and state', async () => {
    const services = await list<Service>('services');
    const byName = new Map(services.map((s) => [s.name, s]));
    expect(byName.get('lrevil')).toEqual({
      name: 'lrevil',
      kind: 'windows',
      state: 'stopped',
      subState: 'own_process',
      enabled: 'auto',
      unitPath: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\lrevil',
      execStart: 'C:\\Users\\Public\\evil.exe -k',
      description: 'LR Evil',
      account: 'LocalSystem',
      pid: null,
      serviceDescription: null,
    });
    expect(byName.get('lrdemand')).toMatchObject({
      state: 'stopped',
      enabled: 'demand',
      execStart: 'C:\\Users\\Public\\demand.exe',
      description: 'LR Demand',
      account: 'NT AUTHORITY\\LocalService',
    });
    expect(byName.get('lrdelayed')).toMatchObject({
      enabled: 'delayed-auto',
      execStart: 'C:\\Users\\Public\\delayed.exe',
    });
    // services are Win32 services only: the drivers are `drivers`' business
    expect(byName.has('lrroot')).toBe(false);
    expect(byName.has('winebus')).toBe(false);
  }, 60_000);

  it("shows Wine's running services as running, with their process id", async () => {
    const services = await list<Service>('services');
    const rpcss = services.find((s) => s.name.toLowerCase() === 'rpcss');
    const plugplay = services.find((s) => s.name.toLowerCase() === 'plugplay');
    expect(rpcss).toMatchObject({
      state: 'running',
      execStart: 'C:\\windows\\system32\\rpcss.exe',
      account: 'LocalSystem',
      description: 'Remote Procedure Call (RPC)',
    });
    expect(plugplay).toMatchObject({ state: 'running', enabled: 'auto' });
    expect(rpcss?.pid).toBeGreaterThan(0);
    expect(plugplay?.pid).toBeGreaterThan(0);
    expect(rpcss?.pid).not.toBe(plugplay?.pid);
    // the pids are those of the services' processes, as Wine's own wmic.exe lists them (UTF-16 output)
    const wmic = await prefix.exec('wmic', ['process', 'get', 'ProcessId,Name']);
    const table = wmic.stdout.replace(/[\u0000\ufffd\ufeff]/g, '');
    const pidOf = (exe: string) => Number(new RegExp(`^${exe}\\s+(\\d+)`, 'im').exec(table)?.[1]);
    expect(rpcss?.pid).toBe(pidOf('rpcss\\.exe'));
    expect(plugplay?.pid).toBe(pidOf('plugplay\\.exe'));
    // stopped services carry no pid
    expect(services.filter((s) => s.state === 'stopped').every((s) => s.pid === null)).toBe(true);
  }, 60_000);

  it("lists Wine's drivers from the SCM, each a real PE file of the prefix with its SizeOfImage", async () => {
    const drivers = await list<Driver>('drivers');
    const wine = drivers.filter((d) => !d.name.startsWith('lr'));
    expect(wine.map((d) => d.name.toLowerCase())).toEqual(expect.arrayContaining(['mountmgr', 'winebus']));
    for (const d of wine) {
      // Wine's EnumDeviceDrivers lists no module: whether it is loaded is unknown, the state is the SCM's
      expect(d).toMatchObject({ loaded: null, refCount: 0, usedBy: [], taint: null, signer: 'unsigned' });
      expect(d.path).toMatch(/^C:\\windows\\system32\\drivers\\[^\\]+\.sys$/i);
      const headers = parsePeHeaders(readFileSync(prefix.hostOf(d.path!)));
      expect(d.size).toBe(headers?.sizeOfImage);
      expect(d.size).toBeGreaterThan(0);
    }
    expect(wine.find((d) => d.name === 'MountMgr')).toMatchObject({
      state: 'running',
      startType: 'auto',
      serviceType: 'kernel_driver',
    });
  }, 60_000);

  it('reads the signer, size and NT-form path of planted drivers, and says so when the file is gone', async () => {
    const drivers = await list<Driver>('drivers');
    const byName = new Map(drivers.map((d) => [d.name, d]));
    expect(byName.get('lrroot')).toMatchObject({
      state: 'stopped',
      startType: 'system',
      // \SystemRoot\System32\drivers\lrroot.sys, made a Win32 path
      path: 'C:\\windows\\System32\\drivers\\lrroot.sys',
      size: 0x9000,
      signer: 'LR Test Driver Signer',
    });
    expect(byName.get('lrplain')).toMatchObject({
      state: 'stopped',
      startType: 'demand',
      path: 'C:\\Users\\Public\\lrplain.sys',
      size: 0x4000,
      signer: 'unsigned',
    });
    expect(byName.get('lrghost')).toMatchObject({
      startType: 'auto',
      path: 'C:\\Users\\Public\\gone.sys',
      size: 0,
      signer: null,
    });
    expect(byName.has('lrevil')).toBe(false);
  }, 60_000);
});
