import { describe, expect, it } from 'vitest';
import { Printer } from '../../../src/cli/printer.js';

describe('Printer (lr shell streaming)', () => {
  it('keeps the columns of the first batch for later ones, and never cuts a path', () => {
    let out = '';
    const printer = new Printer({
      tableFields: ['owner', 'size', 'path'],
      streaming: true,
      width: 50,
      write: (s) => (out += s),
    });
    printer.add([{ owner: 'root', size: 1, path: '/a' }]);
    printer.add([{ owner: 'www-data-with-a-long-name', size: 22, path: `/srv/${'p'.repeat(60)}` }]);
    const lines = out.trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('owner'))).toHaveLength(1);
    const pathAt = (lines[0] ?? '').indexOf('path');
    expect((lines[2] ?? '').indexOf('/a')).toBe(pathAt);
    expect((lines[3] ?? '').indexOf('/srv/')).toBe(pathAt);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(50);
    expect(
      lines
        .slice(3)
        .map((l) => l.slice(pathAt))
        .join(''),
    ).toBe(`/srv/${'p'.repeat(60)}`);
  });
});
