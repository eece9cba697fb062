// A Windows agent under Wine enrolls against a real service, comes online with its OS, and answers a command.
import { afterAll, beforeAll, expect } from 'vitest';
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
import { it } from 'vitest';

describeNeeds(wineProblem())('a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  beforeAll(async () => {
    const nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('is listed with its Windows OS and answers dir C:/windows', async () => {
    const devices = JSON.parse((await w.lr(['devices', '--json'])).stdout) as Record<string, unknown>[];
    expect(JSON.stringify(devices.find((d) => d.id === agent.deviceId))).toMatch(/Windows_NT|win32/);
    const r = await w.lr(['exec', 'windev', 'dir C:/windows -output json']);
    expect(r.stderr).toBe('');
    const names = (JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name.toLowerCase());
    expect(names).toContain('system32');
  }, 60_000);

  it('help describes the commands for Windows and lists what works there', async () => {
    const h = await w.lr(['exec', 'windev', 'help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/on windev \(win32\)/);
    expect(h.stdout).toMatch(/^ {2}registry\s/m);
    expect(h.stdout).not.toMatch(/systemd|cron/);
    const s = await w.lr(['exec', 'windev', 'help services']);
    expect(s.stdout).toMatch(/^services — Lists Windows services from the service control manager/);
    expect(s.stdout).toContain('works on: linux: yes   darwin: not yet   win32: yes');
  }, 60_000);
});
