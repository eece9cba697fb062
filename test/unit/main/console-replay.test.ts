// What main keeps of a console for a reloaded page: command lines and output, in order, bounded.
import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../../src/main/services/console-replay.js';

describe('ReplayBuffer', () => {
  it('keeps command lines with their prompt folder and the output batches, in order', () => {
    const replay = new ReplayBuffer();
    replay.input('/tmp', 'dir');
    replay.output([{ type: 'text', text: 'a.txt\n' }], 6);
    replay.output([{ type: 'end', status: 'completed', durationMs: 3, background: false }], 64);
    expect(replay.snapshot()).toEqual({
      entries: [
        { type: 'input', cwd: '/tmp', line: 'dir' },
        {
          type: 'output',
          items: [
            { type: 'text', text: 'a.txt\n' },
            { type: 'end', status: 'completed', durationMs: 3, background: false },
          ],
        },
      ],
      trimmed: false,
    });
  });

  it('drops the oldest entries past its bound and says so; the newest is always kept', () => {
    const replay = new ReplayBuffer(1_000);
    for (let i = 0; i < 20; i += 1) {
      replay.input('/', `cmd ${i}`);
      replay.output([{ type: 'text', text: `${'x'.repeat(99)}\n` }], 100);
    }
    const { entries, trimmed } = replay.snapshot();
    expect(trimmed).toBe(true);
    const weight = entries.reduce((sum, e) => sum + (e.type === 'input' ? 64 + e.line.length : 100), 0);
    expect(weight).toBeLessThanOrEqual(1_000);
    expect(entries[entries.length - 1]).toEqual({
      type: 'output',
      items: [{ type: 'text', text: `${'x'.repeat(99)}\n` }],
    });
    expect(entries.some((e) => e.type === 'input' && e.line === 'cmd 19')).toBe(true);
    expect(entries.some((e) => e.type === 'input' && e.line === 'cmd 0')).toBe(false);

    const huge = new ReplayBuffer(1_000);
    huge.output([{ type: 'text', text: 'y'.repeat(5_000) }], 5_000);
    expect(huge.snapshot().entries).toHaveLength(1);
  });

  it('a snapshot is a copy: later output does not change it', () => {
    const replay = new ReplayBuffer();
    replay.output([{ type: 'text', text: 'one\n' }], 4);
    const before = replay.snapshot();
    replay.output([{ type: 'text', text: 'two\n' }], 4);
    expect(before.entries).toEqual([{ type: 'output', items: [{ type: 'text', text: 'one\n' }] }]);
  });
});
