// docs/commands.md is generated from the catalog: it must be current, and every command's JSON fields
// must be described.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CATALOG } from '../../../src/shared/commands/catalog.js';
import { renderCommandDocs } from '../../../src/shared/commands/command-docs.js';

describe('docs/commands.md', () => {
  it('is up to date with the catalog (run npm run docs:commands)', () => {
    expect(readFileSync(new URL('../../../docs/commands.md', import.meta.url), 'utf8')).toBe(renderCommandDocs());
  });

  it('documents syntax, role and time limit of every command, and describes every JSON field', () => {
    const doc = renderCommandDocs();
    for (const c of CATALOG) {
      expect(doc).toContain(`## ${c.name}\n`);
      expect(doc).toContain(c.syntax);
      for (const f of c.fields ?? []) expect(c.fieldDocs?.[f], `${c.name}.${f}`).toBeTruthy();
    }
  });

  it('carries the fields the issue requires', () => {
    const get = (n: string) => CATALOG.find((c) => c.name === n)?.fields ?? [];
    expect(get('processes')).toEqual(expect.arrayContaining(['pid', 'ppid', 'name', 'user', 'cmdline', 'path']));
    expect(get('connections')).toEqual(
      expect.arrayContaining(['protocol', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'state', 'pid']),
    );
    expect(get('fileinfo')).toEqual(expect.arrayContaining(['path', 'size', 'md5', 'sha1', 'sha256']));
    expect(get('dir')).toEqual(expect.arrayContaining(['name', 'type', 'size', 'mtime']));
  });
});
