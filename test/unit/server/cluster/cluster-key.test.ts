// The cluster key's MAC (security finding 1): what it binds, what a reader refuses, how drops are reported.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Logger } from '../../../../src/node/log.js';
import {
  ClusterMac,
  DropLog,
  ensureClusterKey,
  loadClusterKey,
  openValue,
  sealValue,
  type MacFields,
} from '../../../../src/server/cluster/cluster-key.js';

describe('cluster key', () => {
  const mac = new ClusterMac(randomBytes(32));
  const base: MacFields = {
    kind: 'state',
    where: 'lr-state/users.x',
    writer: 'node-a',
    version: '5',
    payload: '{"a":1}',
  };

  it('binds the kind, the place, the writer, the version, the extra fields and the payload', () => {
    const tag = mac.tag(base);
    expect(mac.check(base, tag)).toBe(true);
    for (const changed of [
      { kind: 'log' as const },
      { where: 'lr-state/users.y' },
      { writer: 'node-b' },
      { version: '6' },
      { payload: '{"a":2}' },
      { payload: null },
      { extra: ['x'] },
    ]) {
      expect(mac.check({ ...base, ...changed }, tag), JSON.stringify(changed)).toBe(false);
    }
    // Length-prefixed: moving bytes between fields changes the MAC.
    expect(mac.check({ ...base, writer: 'node-', version: 'a5' }, tag)).toBe(false);
    expect(new ClusterMac(randomBytes(32)).check(base, tag)).toBe(false);
    expect(mac.check(base, 'not-a-mac')).toBe(false);
    expect(mac.check(base, undefined)).toBe(false);
  });

  it('opens only what was sealed for that place with that key', () => {
    const sealed = sealValue(mac, 'state', 'lr-state/k1', { writer: 'node-a', version: '7', data: 'row' });
    expect(openValue(mac, 'state', 'lr-state/k1', sealed)).toEqual({ writer: 'node-a', version: '7', data: 'row' });
    expect(openValue(mac, 'state', 'lr-state/k2', sealed)).toMatch(/bad MAC/);
    expect(openValue(mac, 'presence', 'lr-state/k1', sealed)).toMatch(/bad MAC/);
    expect(openValue(new ClusterMac(randomBytes(32)), 'state', 'lr-state/k1', sealed)).toMatch(/bad MAC/);
    const tampered = JSON.stringify({ ...(JSON.parse(sealed) as object), d: 'other row' });
    expect(openValue(mac, 'state', 'lr-state/k1', tampered)).toMatch(/bad MAC/);
    expect(openValue(mac, 'state', 'lr-state/k1', '')).toMatch(/no value/);
    expect(openValue(mac, 'state', 'lr-state/k1', '{"id":"u1"}')).toMatch(/not a sealed entry/);
    expect(openValue(mac, 'state', 'lr-state/k1', '{')).toMatch(/not JSON/);
    expect(openValue(mac, 'state', 'lr-state/k1', 'x'.repeat(600 * 1024))).toMatch(/too large/);
    const tomb = sealValue(mac, 'state', 'lr-state/k1', { writer: 'node-a', version: '8', data: null });
    expect(openValue(mac, 'state', 'lr-state/k1', tomb)).toEqual({ writer: 'node-a', version: '8', data: null });
  });

  it('is made once, mode 0600; a missing key is one line saying where to get it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-ckey-'));
    try {
      expect(() => loadClusterKey(dir)).toThrow(
        /cluster\.key is missing: .*copy it, mode 0600, from the first node's data folder/,
      );
      expect(ensureClusterKey(dir)).toBe(true);
      expect(ensureClusterKey(dir)).toBe(false);
      expect(statSync(join(dir, 'cluster.key')).mode & 0o777).toBe(0o600);
      expect(loadClusterKey(dir)).toHaveLength(32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports drops once per kind per interval, with a count, never a flood', () => {
    const log = new Logger('drops', 'warn');
    const lines: Record<string, unknown>[] = [];
    log.tap((_l, msg, fields) => void (msg === 'cluster entry dropped' && lines.push(fields ?? {})));
    const drops = new DropLog(log, 60_000);
    for (let i = 0; i < 1000; i++) drops.drop('state', 'bad MAC');
    drops.drop('node', 'bad MAC');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.kind)).toEqual(['state', 'node']);
  });

  it('drops held back during an interval are reported when it ends, with their count and last reason', () => {
    const log = new Logger('drops', 'warn');
    const lines: [string, Record<string, unknown>][] = [];
    log.tap((_l, msg, fields) => void lines.push([msg, fields ?? {}]));
    vi.useFakeTimers();
    try {
      const drops = new DropLog(log, 200);
      drops.drop('state', 'bad MAC');
      drops.drop('state-replay', 'older than the version already applied');
      drops.drop('state', 'bad MAC');
      drops.drop('state', 'a replay');
      expect(lines).toHaveLength(2);
      vi.advanceTimersByTime(199);
      expect(lines).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(lines).toHaveLength(3);
      expect(lines[2]).toEqual(['cluster entries dropped', { kind: 'state', count: 2, lastWhy: 'a replay' }]);
      // Nothing more to report: no further line.
      vi.advanceTimersByTime(1_000);
      expect(lines).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
