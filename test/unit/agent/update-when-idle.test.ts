import { describe, expect, it } from 'vitest';
import { whenIdle } from '../../../src/agent/update/when-idle.js';

describe('a staged update waits for running jobs', () => {
  it('returns at once when nothing runs', async () => {
    const t0 = Date.now();
    expect(await whenIdle(() => 0, { everyMs: 1000 })).toBe(0);
    expect(Date.now() - t0).toBeLessThan(200);
  });

  it('waits until the last job ends, and says it waits', async () => {
    let jobs = 2;
    const waited: number[] = [];
    setTimeout(() => (jobs = 1), 100);
    setTimeout(() => (jobs = 0), 250);
    const t0 = Date.now();
    expect(await whenIdle(() => jobs, { everyMs: 20, onWait: (n) => waited.push(n) })).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    expect(waited).toEqual([2]);
  });

  it('gives up after maxMs and returns how many jobs still run', async () => {
    const t0 = Date.now();
    expect(await whenIdle(() => 3, { maxMs: 150, everyMs: 20 })).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });
});
