// isolate / release on a Windows agent under Wine. Wine has no firewall: no Base Filtering Engine service, and
// its fwpuclnt.dll is a stub. The real command path runs down to the Windows Filtering Platform backend, which
// must find that out and answer in one line, without claiming the device isolated (no state file, the service's
// flag stays off), and the agent keeps serving. That the filters isolate a real Windows is not verifiable here
// (see docs/response-actions.md); the rule set and the command path are unit-tested with a fake backend.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeds } from '../../needs.js';
import { createWorld, type World } from '../harness.js';
import {
  addWindowsAgent,
  createWinePrefix,
  runWindowsAgentCli,
  windowsRuntime,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

describeNeeds(wineProblem())('isolate / release on a Windows agent without a firewall (Wine)', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let nodeExe: string;
  const isolatedFlag = async () =>
    ((await w.devices()) as { id: string; isolated?: boolean }[]).find((d) => d.id === agent.deviceId)?.isolated;
  const stateFile = () => prefix.hostOf(`${agent.dataDir}\\isolation.json`);

  beforeAll(async () => {
    nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('isolate answers in one line that there is no firewall, claims nothing, and the agent keeps serving', async () => {
    const r = await w.lr(['exec', 'windev', 'isolate']);
    expect(r.stderr.trim()).toBe(
      'lr: isolate: the Windows firewall is not available on this device (the Base Filtering Engine service (BFE) is not installed): the device is NOT isolated',
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/isolated/);
    expect(existsSync(stateFile())).toBe(false);
    expect(await isolatedFlag()).toBe(false);
    const log = JSON.parse((await w.lr(['log', '--json', '--limit', '5'])).stdout) as {
      commandLine: string;
      status: string;
    }[];
    expect(log.find((c) => c.commandLine === 'isolate')?.status).toBe('failed');
    // still online and answering
    expect((await w.lr(['exec', 'windev', 'cd C:/'])).code).toBe(0);
    expect(agent.process.exitCode).toBeNull();
  }, 60_000);

  it('release says the same in one line (nothing was removed), and leaves no state either', async () => {
    const r = await w.lr(['exec', 'windev', 'release']);
    expect(r.stderr.trim()).toBe(
      'lr: release: the Windows firewall is not available on this device (the Base Filtering Engine service (BFE) is not installed): nothing was removed',
    );
    expect(r.code).not.toBe(0);
    expect(existsSync(stateFile())).toBe(false);
    expect(await isolatedFlag()).toBe(false);
    expect((await w.lr(['exec', 'windev', 'cd C:/'])).code).toBe(0);
  }, 60_000);

  it('lr-agent uninstall refuses while the state says isolated and the isolation cannot be removed; proceeds otherwise', async () => {
    // the state an isolated device would have (a real firewall would hold the filters too)
    writeFileSync(
      stateFile(),
      JSON.stringify({
        isolated: true,
        backend: 'windows-firewall',
        allow: [{ address: '127.0.0.1', port: 8443 }],
        changedAt: new Date().toISOString(),
        jobId: null,
      }),
    );
    try {
      const r = await runWindowsAgentCli(prefix, nodeExe, ['uninstall', '--data', agent.dataDir]);
      expect(r.code).toBe(1);
      expect(`${r.stdout}${r.stderr}`.trim()).toBe(
        'lr-agent: the device is isolated and its isolation could not be removed (the Windows firewall is not available on this device (the Base Filtering Engine service (BFE) is not installed): nothing was removed): not uninstalled, the agent keeps running',
      );
      expect(existsSync(stateFile())).toBe(true);
    } finally {
      rmSync(stateFile(), { force: true });
    }
    const ok = await runWindowsAgentCli(prefix, nodeExe, ['uninstall', '--data', agent.dataDir]);
    expect(ok.stdout.trim()).toBe('no service named lr-agent');
    expect(ok.code).toBe(0);
  }, 90_000);
});
