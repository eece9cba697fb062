// isolate / release on Windows, through the command path down to the firewall interface. FakeFirewallBackend
// stands in for the Windows Filtering Platform (which needs a real Windows: see test/integration/windows/
// isolate.test.ts for the agent under Wine); the commands, their DNS resolution, the state file, the rule set
// and windows/isolation.ts (read-back check, one-line errors) are the real ones.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isolateCommand, releaseCommand } from '../../../../src/agent/commands/isolate.js';
import { readIsolation, reapplyIsolation } from '../../../../src/agent/isolation.js';
import type { PlatformLayer } from '../../../../src/agent/platform/types.js';
import {
  FirewallUnavailableError,
  type FirewallBackend,
} from '../../../../src/agent/platform/windows/firewall-backend.js';
import { isolationRules, type FirewallRule } from '../../../../src/agent/platform/windows/firewall-rules.js';
import { releaseBeforeUninstall, windowsIsolation } from '../../../../src/agent/platform/windows/isolation.js';
import { Logger } from '../../../../src/node/log.js';
import { makeHarness, runCommand } from '../helpers.js';

/**
 * A fake firewall: keeps the rules in memory. `unavailable`: no firewall at all; `forgetful`: accepts, keeps nothing (a
 * stub).
 */
class FakeFirewallBackend implements FirewallBackend {
  readonly name = 'fake firewall';
  rules: FirewallRule[] = [];
  calls: string[] = [];
  constructor(private readonly mode: 'ok' | 'unavailable' | 'forgetful' = 'ok') {}
  private gate(call: string): void {
    this.calls.push(call);
    if (this.mode === 'unavailable')
      throw new FirewallUnavailableError('the Base Filtering Engine service (BFE) is not installed');
  }
  apply(rules: readonly FirewallRule[]): Promise<void> {
    this.gate('apply');
    if (this.mode === 'ok') this.rules = [...rules];
    return Promise.resolve();
  }
  remove(): Promise<void> {
    this.gate('remove');
    this.rules = [];
    return Promise.resolve();
  }
  current(): Promise<string[]> {
    this.gate('current');
    return Promise.resolve(this.rules.map((r) => r.name));
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NODES = ['wss://127.0.0.1:8443', 'wss://127.0.0.2:9443', 'wss://[::1]:7443'];

function setup(firewall: FakeFirewallBackend, urls = NODES, dataDir?: string) {
  const platform = windowsIsolation(firewall) as unknown as PlatformLayer;
  const h = makeHarness({ platform });
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'lr-win-isolate-'));
  if (!dataDir) dirs.push(dir);
  h.ctx.dataDir = dir;
  h.ctx.jobId = 'job1';
  h.ctx.service = { url: urls[0] as string, urls, ca: 'unused', deviceId: 'd1', currentUrl: () => urls[0] as string };
  return { h, platform, dataDir: dir };
}

const PEERS = [
  { address: '127.0.0.1', port: 8443 },
  { address: '127.0.0.2', port: 9443 },
  { address: '::1', port: 7443 },
];

describe('isolate / release on Windows (fake firewall backend)', () => {
  it('isolate applies the rules for every service node (3 nodes), reads them back, and records the state', async () => {
    const fw = new FakeFirewallBackend();
    const { h, dataDir } = setup(fw);
    await runCommand(isolateCommand, h);
    expect(fw.rules).toEqual(isolationRules(PEERS));
    expect(fw.calls).toEqual(['apply', 'current']);
    expect(readIsolation(dataDir)).toMatchObject({ isolated: true, backend: 'windows-firewall', allow: PEERS });
    expect(h.records[0]).toMatchObject({
      isolated: true,
      backend: 'windows-firewall',
      allowed: ['127.0.0.1:8443', '127.0.0.2:9443', '::1:7443'],
    });
  });

  it('one service node: its rules only', async () => {
    const fw = new FakeFirewallBackend();
    const { h } = setup(fw, ['wss://127.0.0.1:8443']);
    await runCommand(isolateCommand, h);
    expect(fw.rules).toEqual(isolationRules([{ address: '127.0.0.1', port: 8443 }]));
  });

  it('release removes them and records the device released; the agent start applies them again while isolated', async () => {
    const fw = new FakeFirewallBackend();
    const { h, dataDir, platform } = setup(fw);
    await runCommand(isolateCommand, h);

    // agent restart (after a reboot the rules may be gone): applied again from isolation.json
    fw.rules = [];
    const lines: string[] = [];
    await reapplyIsolation(dataDir, platform, new Logger('test', 'warn', (l) => lines.push(l)));
    expect(fw.rules).toEqual(isolationRules(PEERS));
    expect(lines.join('\n')).toMatch(/isolation rules applied again/);

    const r = setup(fw, NODES, dataDir);
    await runCommand(releaseCommand, r.h);
    expect(fw.rules).toEqual([]);
    expect(readIsolation(dataDir)).toMatchObject({ isolated: false, allow: [] });
    expect(r.h.records[0]).toMatchObject({ isolated: false, wasIsolated: true });

    // released: the next start applies nothing
    fw.calls = [];
    await reapplyIsolation(dataDir, platform, new Logger('test', 'warn', () => undefined));
    expect(fw.calls).toEqual([]);
  });

  it('no firewall on the device: isolate says so in one line, claims nothing and writes no state', async () => {
    const fw = new FakeFirewallBackend('unavailable');
    const { h, dataDir } = setup(fw);
    const err = await runCommand(isolateCommand, h).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      'isolate: the Windows firewall is not available on this device (the Base Filtering Engine service (BFE) is not installed): the device is NOT isolated',
    );
    expect(h.records).toEqual([]);
    expect(existsSync(join(dataDir, 'isolation.json'))).toBe(false);

    const rel = await runCommand(releaseCommand, setup(fw, NODES, dataDir).h).then(
      () => null,
      (e: Error) => e,
    );
    expect(rel?.message).toBe(
      'release: the Windows firewall is not available on this device (the Base Filtering Engine service (BFE) is not installed): nothing was removed',
    );
    expect(existsSync(join(dataDir, 'isolation.json'))).toBe(false);
  });

  it('a firewall that accepts the rules but does not hold them (a stub): not isolated, no state', async () => {
    const fw = new FakeFirewallBackend('forgetful');
    const { h, dataDir } = setup(fw);
    await expect(runCommand(isolateCommand, h)).rejects.toThrow(
      /^isolate: the fake firewall did not keep the isolation rules \(0 of 25 in force\): the device is NOT isolated$/,
    );
    expect(fw.calls).toEqual(['apply', 'current', 'remove']);
    expect(readIsolation(dataDir)).toBeNull();
  });

  it('a failed re-apply at start is logged, and the state still says isolated (the service shows it)', async () => {
    const ok = new FakeFirewallBackend();
    const { h, dataDir } = setup(ok);
    await runCommand(isolateCommand, h);
    const lines: string[] = [];
    await reapplyIsolation(
      dataDir,
      windowsIsolation(new FakeFirewallBackend('unavailable')) as unknown as PlatformLayer,
      new Logger('test', 'warn', (l) => lines.push(l)),
    );
    expect(lines.join('\n')).toMatch(/isolation rules could not be applied again.*not available on this device/);
    expect(readIsolation(dataDir)?.isolated).toBe(true);
  });

  it('lr-agent uninstall releases an isolated device first, and refuses (before touching the service) when it cannot', async () => {
    const fw = new FakeFirewallBackend();
    const { h, dataDir } = setup(fw);
    await runCommand(isolateCommand, h);
    const said: string[] = [];
    const remove = windowsIsolation(fw).removeIsolation;
    await releaseBeforeUninstall(dataDir, (l) => said.push(l), remove);
    expect(fw.rules).toEqual([]);
    expect(readIsolation(dataDir)).toMatchObject({ isolated: false });
    expect(said).toEqual(['device released from isolation (its firewall filters removed)']);

    // isolated, and the firewall cannot be asked: refused, the state still says isolated
    const other = setup(fw);
    await runCommand(isolateCommand, other.h);
    const broken = windowsIsolation(new FakeFirewallBackend('unavailable')).removeIsolation;
    await expect(releaseBeforeUninstall(other.dataDir, () => undefined, broken)).rejects.toThrow(
      /^the device is isolated and its isolation could not be removed \(the Windows firewall is not available on this device \(.*\): nothing was removed\): not uninstalled, the agent keeps running$/,
    );
    expect(readIsolation(other.dataDir)?.isolated).toBe(true);

    // not isolated: leftovers are removed all the same; no firewall at all is no reason to refuse
    const leftover = new FakeFirewallBackend();
    leftover.rules = isolationRules(PEERS);
    const empty = mkdtempSync(join(tmpdir(), 'lr-win-isolate-'));
    dirs.push(empty);
    await releaseBeforeUninstall(empty, () => undefined, windowsIsolation(leftover).removeIsolation);
    expect(leftover.rules).toEqual([]);
    await expect(releaseBeforeUninstall(empty, () => undefined, broken)).resolves.toBeUndefined();
  });
});
