// The console's and the full-output file's time cells, cached by second: the same text as formatting each
// instant, one format per second.
import { describe, expect, it } from 'vitest';
import { cachedTimeCell } from '../../../../src/shared/workstation/time-cell-cache.js';
import { formatInstant } from '../../../../src/shared/time-format.js';

describe('cachedTimeCell', () => {
  it('prints what the formatter prints, for instants within and across seconds, zones with offsets, before 1970', () => {
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      const format = (iso: string): string => formatInstant(iso, zone);
      const cached = cachedTimeCell(format);
      const base = Date.parse('2026-03-08T06:59:58.000Z'); // New York's DST change at 07:00 UTC
      for (let ms = -3_000; ms < 4_000; ms += 137) {
        const iso = new Date(base + ms).toISOString();
        expect(cached(iso)).toBe(format(iso));
      }
      for (const iso of ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.001Z', '1970-01-01T00:00:00.500Z'])
        expect(cached(iso)).toBe(format(iso));
    }
  });

  it('formats each second once, and passes what is not an instant through', () => {
    const seen: string[] = [];
    const cached = cachedTimeCell((iso) => {
      seen.push(iso);
      return formatInstant(iso, 'UTC');
    });
    for (let i = 0; i < 1_000; i++) cached(`2026-12-05T10:00:0${i % 3}.${String(i).padStart(3, '0')}Z`);
    expect(seen).toHaveLength(3);
    expect(cached('not a time')).toBe('not a time');
  });
});
