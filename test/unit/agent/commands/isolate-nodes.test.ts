// isolate on an agent of a cluster keeps every node of the service reachable (so the agent can still move
// to another node while isolated). FakeFirewall stands in for the platform's firewall (the counterpart:
// it records the allow list); the command, its DNS resolution and its state file are real.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isolateCommand } from '../../../../src/agent/commands/isolate.js';
import type { IsolationPeer, PlatformLayer } from '../../../../src/agent/platform/types.js';
import { makeHarness, runCommand } from '../helpers.js';

class FakeFirewall {
  allowed: IsolationPeer[] | null = null;
  applyIsolation(allow: readonly IsolationPeer[]): Promise<'nftables'> {
    this.allowed = [...allow];
    return Promise.resolve('nftables');
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(urls: string[], current: string | null) {
  const firewall = new FakeFirewall();
  const h = makeHarness({ platform: firewall as unknown as PlatformLayer });
  const dataDir = mkdtempSync(join(tmpdir(), 'lr-isolate-nodes-'));
  dirs.push(dataDir);
  h.ctx.dataDir = dataDir;
  h.ctx.jobId = 'job1';
  h.ctx.service = { url: urls[0] as string, urls, ca: 'unused', deviceId: 'd1', currentUrl: () => current };
  return { h, firewall, dataDir };
}

describe('isolate with several service nodes', () => {
  it('allows every node (address and port), and records them in the state file', async () => {
    const { h, firewall, dataDir } = setup(
      ['wss://127.0.0.1:8443', 'wss://127.0.0.2:9443', 'https://127.0.0.1:8443'],
      'wss://127.0.0.1:8443',
    );
    await runCommand(isolateCommand, h);
    expect(firewall.allowed).toEqual([
      { address: '127.0.0.1', port: 8443 },
      { address: '127.0.0.2', port: 9443 },
    ]);
    const state = JSON.parse(readFileSync(join(dataDir, 'isolation.json'), 'utf8')) as {
      isolated: boolean;
      allow: IsolationPeer[];
    };
    expect(state.isolated).toBe(true);
    expect(state.allow).toHaveLength(2);
    expect(h.records[0]).toMatchObject({ isolated: true, allowed: ['127.0.0.1:8443', '127.0.0.2:9443'] });
  });

  it('a node whose name does not resolve is left out with a warning; the connected node must resolve', async () => {
    const ok = setup(['wss://127.0.0.1:8443', 'wss://no-such-node.invalid:8443'], 'wss://127.0.0.1:8443');
    await runCommand(isolateCommand, ok.h);
    expect(ok.firewall.allowed).toEqual([{ address: '127.0.0.1', port: 8443 }]);
    expect(ok.h.traces.join('\n')).toMatch(/stay unreachable while isolated: wss:\/\/no-such-node\.invalid:8443 \(/);

    const bad = setup(['wss://127.0.0.1:8443', 'wss://no-such-node.invalid:8443'], 'wss://no-such-node.invalid:8443');
    await expect(runCommand(isolateCommand, bad.h)).rejects.toThrow(
      /isolate: cannot resolve the service address wss:\/\/no-such-node\.invalid:8443/,
    );
    expect(bad.firewall.allowed).toBeNull();
  });
});
