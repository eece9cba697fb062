// Docs/permissions.md is the matrix rendered from the catalog and
// the route table, it is current, and it covers every command of the catalog for each role.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CATALOG } from '../../../src/shared/commands/catalog.js';
import { mayRunCommand, PRINCIPALS, renderPermissionsDoc, ROUTES } from '../../../src/shared/commands/permissions.js';

const doc = readFileSync(new URL('../../../docs/permissions.md', import.meta.url), 'utf8');

describe('docs/permissions.md', () => {
  it('is up to date (run npm run docs:commands)', () => {
    expect(doc).toBe(renderPermissionsDoc());
  });

  it('has one row per catalog command, with the expected mark for each role', () => {
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    for (const c of CATALOG) {
      const row = rows.find((l) => l.startsWith(`| \`${c.name}\` |`));
      expect(row, c.name).toBeDefined();
      const cells = (row as string).split('|').map((s) => s.trim());
      // | name | needs | basic | advanced | admin | library manager | notes |
      expect(cells[2]).toBe(c.role);
      const expected = PRINCIPALS.map((p) => (mayRunCommand(p, c) ? '✓' : '—'));
      expect(cells.slice(3, 3 + PRINCIPALS.length), c.name).toEqual(expected);
      // Independent of the helper: basic runs exactly the basic commands; advanced and admin run everything.
      expect(cells[3]).toBe(c.role === 'basic' ? '✓' : '—');
      expect(cells[4]).toBe(c.role === 'admin' ? '—' : '✓');
      expect(cells[5]).toBe('✓');
    }
  });

  it('lists every route once', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of ROUTES) expect(doc).toContain(`| ${r.method} | \`${r.path}\` | ${r.need} |`);
  });
});
