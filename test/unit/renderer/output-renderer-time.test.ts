import { describe, expect, it } from 'vitest';
import { OutputRenderer, type RenderEffects } from '../../../src/renderer/src/console/output-renderer.js';
import { formatInstant } from '../../../src/shared/time-format.js';

const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
const JOB = { id: 'c1', commandLine: 'fileinfo /etc/hostname', startedAt: '2026-12-05T14:03:22.123Z' };

describe('OutputRenderer times', () => {
  it('shows record times in UTC with the zone by default', () => {
    const r = new OutputRenderer();
    const fx: RenderEffects = {};
    r.render(
      {
        type: 'started',
        commandId: 'j',
        name: 'jobs',
        background: false,
        tableFields: ['id', 'commandLine', 'startedAt'],
      },
      120,
      fx,
    );
    expect(strip(r.render({ type: 'records', records: [JOB, { ...JOB, id: 'c2' }] }, 120, fx))).toContain(
      'c1  fileinfo /etc/hostname  2026-12-05 14:03:22 UTC',
    );
  });

  it('shows them in the zone it is given, tables and single records alike', () => {
    const r = new OutputRenderer((iso) => formatInstant(iso, 'America/New_York'));
    const fx: RenderEffects = {};
    r.render(
      {
        type: 'started',
        commandId: 'j',
        name: 'jobs',
        background: false,
        tableFields: ['id', 'commandLine', 'startedAt'],
      },
      120,
      fx,
    );
    expect(strip(r.render({ type: 'records', records: [JOB, { ...JOB, id: 'c2' }] }, 120, fx))).toContain(
      '2026-12-05 09:03:22 EST (UTC-5)',
    );
    r.render({ type: 'end', status: 'completed', durationMs: 1, background: false }, 120, fx);
    r.render({ type: 'started', commandId: 'f', name: 'fileinfo', background: false }, 120, fx);
    r.render({ type: 'records', records: [{ path: '/etc/hostname', mtime: '2026-07-01T14:00:00Z' }] }, 120, fx);
    expect(strip(r.render({ type: 'end', status: 'completed', durationMs: 1, background: false }, 120, fx))).toMatch(
      /mtime\s+2026-07-01 10:00:00 EDT \(UTC-4\)/,
    );
  });
});
