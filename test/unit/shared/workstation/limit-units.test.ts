import { describe, expect, it } from 'vitest';
import { formatLimit, parseLimit } from '../../../../src/shared/workstation/limit-units.js';

const value = (text: string, kind: Parameters<typeof parseLimit>[1]): number | string => {
  const parsed = parseLimit(text, kind);
  return parsed.ok ? parsed.value : parsed.error;
};

describe('parseLimit', () => {
  it('reads sizes in binary and decimal units, a bare number as bytes', () => {
    expect(value('2 GiB', 'bytes')).toBe(2 * 1024 ** 3);
    expect(value('2GiB', 'bytes')).toBe(2 * 1024 ** 3);
    expect(value('512 mib', 'bytes')).toBe(512 * 1024 ** 2);
    expect(value('1.5 KiB', 'bytes')).toBe(1536);
    expect(value('10 MB', 'bytes')).toBe(10_000_000);
    expect(value('1048576', 'bytes')).toBe(1_048_576);
    expect(value(' 4096 B ', 'bytes')).toBe(4096);
  });

  it('reads durations, compound ones too, a bare number as seconds', () => {
    expect(value('30 min', 'seconds')).toBe(1800);
    expect(value('30min', 'seconds')).toBe(1800);
    expect(value('1 h 30 min', 'seconds')).toBe(5400);
    expect(value('1h30m', 'seconds')).toBe(5400);
    expect(value('90 s', 'seconds')).toBe(90);
    expect(value('900', 'seconds')).toBe(900);
    expect(value('2 days', 'seconds')).toBe(172_800);
  });

  it('refuses nonsense in one line that says what is expected', () => {
    expect(value('', 'bytes')).toBe('empty: expected a size such as 2 GiB, 512 MiB or 1048576 (bytes)');
    expect(value('-3', 'count')).toMatch(/^must be positive: expected a whole number/);
    expect(value('0', 'count')).toMatch(/^must be more than 0/);
    expect(value('2 GiB', 'count')).toMatch(/^no unit here/);
    expect(value('2 parsecs', 'bytes')).toMatch(/^unknown unit "parsecs"/);
    expect(value('30 min', 'bytes')).toMatch(/^unknown unit "min"/);
    expect(value('2 GiB', 'seconds')).toMatch(/^unknown unit "gib"/);
    expect(value('1.5', 'count')).toMatch(/^not a whole number/);
    expect(value('0.3 B', 'bytes')).toMatch(/^not a whole number of bytes/);
    expect(value('1 GiB 2 MiB', 'bytes')).toMatch(/is not understood/);
    expect(value('ten', 'seconds')).toMatch(/"ten" is not understood/);
    expect(value('99999999999 TiB', 'bytes')).toMatch(/^too large/);
    expect(value('\u001b[2J', 'bytes')).not.toContain('\n');
  });
});

describe('formatLimit', () => {
  it('gives the shortest exact text, which parses back to the same number', () => {
    const cases: [number, Parameters<typeof formatLimit>[1], string][] = [
      [2 * 1024 ** 3, 'bytes', '2 GiB'],
      [1536, 'bytes', '1.5 KiB'],
      [1_048_576, 'bytes', '1 MiB'],
      [1000, 'bytes', '1000 B'],
      [1800, 'seconds', '30 min'],
      [5400, 'seconds', '1 h 30 min'],
      [90, 'seconds', '1 min 30 s'],
      [45, 'seconds', '45 s'],
      [86_400, 'seconds', '1 d'],
      [10, 'count', '10'],
    ];
    for (const [n, kind, text] of cases) {
      expect(formatLimit(n, kind)).toBe(text);
      expect(parseLimit(text, kind)).toEqual({ ok: true, value: n });
    }
  });
});
