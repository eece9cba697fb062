// `lr batch`: argument checks (one line each, before the service is asked) and the progress lines.
import { describe, expect, it } from 'vitest';
import {
  concurrencyOf,
  exitCodeOf,
  expiryOf,
  parseFilter,
  progressLine,
  selectorOf,
} from '../../../src/cli/lr-batch.js';
import { emptyCounts, type BatchRecord, type BatchTargetRecord } from '../../../src/shared/wire/batch.js';

const target = (o: Partial<BatchTargetRecord>): BatchTargetRecord => ({
  deviceId: 'd1',
  deviceName: 'web-1',
  status: 'queued',
  rows: 0,
  steps: [],
  ...o,
});

describe('lr batch arguments', () => {
  it('reads a filter of os, name and online, and refuses anything else', () => {
    expect(parseFilter('os=linux,name=web-*,online=true')).toEqual({ os: 'linux', name: 'web-*', online: true });
    expect(parseFilter('online=false')).toEqual({ online: false });
    expect(() => parseFilter('colour=red')).toThrow('--filter: unknown key "colour" (keys: os, name, online)');
    expect(() => parseFilter('os')).toThrow('--filter: expected key=value, not "os"');
    expect(() => parseFilter('os=')).toThrow('--filter: expected key=value');
    expect(() => parseFilter('os=linux,os=win32')).toThrow('--filter: os given twice');
    expect(() => parseFilter('online=yes')).toThrow('--filter: online is true or false, not "yes"');
  });

  it('needs a selector, and narrows with several', () => {
    expect(() => selectorOf({ wait: true })).toThrow(/^choose the devices/);
    expect(selectorOf({ wait: true, devices: 'a,b,a', group: 'web', filter: 'online=true' })).toEqual({
      devices: ['a', 'b'],
      group: 'web',
      online: true,
    });
    expect(() => selectorOf({ wait: true, devices: 'a,' })).toThrow('--devices: an empty device name');
  });

  it('reads durations and concurrency within the contract', () => {
    expect(expiryOf('90m')).toBe(5400);
    expect(expiryOf('3d')).toBe(259_200);
    expect(expiryOf(undefined)).toBeUndefined();
    expect(() => expiryOf('3 days')).toThrow(/^--expires: invalid duration 3 days/);
    expect(() => expiryOf('31d')).toThrow('--expires: at most 30d');
    expect(concurrencyOf('10')).toBe(10);
    for (const bad of ['0', '101', '2.5', 'ten'])
      expect(() => concurrencyOf(bad)).toThrow(/^--concurrency: a whole number from 1 to 100/);
  });
});

describe('lr batch progress', () => {
  it('prints status, duration, rows and why, one line', () => {
    expect(progressLine(target({ status: 'completed', durationMs: 412, rows: 12 }), 6)).toBe(
      'web-1   completed        412 ms  12 rows',
    );
    expect(progressLine(target({ deviceName: 'db-2', note: 'offline (last seen never)' }), 6)).toBe(
      'db-2    queued           offline (last seen never)',
    );
    const failed = target({
      status: 'failed',
      durationMs: 2000,
      rows: 3,
      note: 'step 2 (dir /x) failed: no such folder',
      steps: [
        { index: 0, line: 'a', status: 'completed', rows: 3, textBytes: 0, truncated: false },
        {
          index: 1,
          line: 'dir /x',
          status: 'failed',
          error: 'no such folder',
          rows: 0,
          textBytes: 0,
          truncated: false,
        },
      ],
    });
    expect(progressLine(failed, 6)).toBe(
      'web-1   failed           2.0 s  3 rows  step 2 (dir /x) failed: no such folder',
    );
  });

  it('adds a step error the note does not say', () => {
    const t = target({
      status: 'failed',
      note: 'cancelled',
      steps: [{ index: 0, line: 'a', status: 'failed', error: 'boom', rows: 0, textBytes: 0, truncated: false }],
    });
    expect(progressLine(t, 5)).toBe('web-1  failed           0 rows  cancelled; boom');
  });

  it('exits 0 only when every device completed', () => {
    const b = (status: BatchRecord['status']) => ({ status, counts: emptyCounts() }) as BatchRecord;
    expect(exitCodeOf(b('completed'))).toBe(0);
    for (const s of ['failed', 'cancelled', 'running'] as const) expect(exitCodeOf(b(s))).toBe(1);
  });
});
