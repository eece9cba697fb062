/**
 * The log viewer's text search: it covers what the log stores of each command's output,
 * not only the command line, the error and the id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandLogView } from '../../../src/server/command-log-view.js';
import { openDb, type Db } from '../../../src/server/db.js';

let dir: string;
let db: Db;
let view: CommandLogView;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lr-log-search-'));
  db = openDb(path.join(dir, 'service.db'));
  const insert = db.prepare(
    `INSERT INTO commands (id, session_id, user_id, device_id, command_line, name, status, started_at, error, output, output_size)
     VALUES (?, 's1', 'u1', NULL, ?, ?, 'completed', ?, ?, ?, ?)`,
  );
  const rows: [string, string, string | null, string][] = [
    ['c1', 'dir /etc', null, '[{"name":"passwd","size":2993}]\n'],
    ['c2', 'fileinfo /etc/hostname', null, '[{"path":"/etc/hostname","sha256":"abc"}]\n'],
    ['c3', 'run collect.sh', 'exit code 3', 'Collected 42 artefacts_50% done\n'],
  ];
  rows.forEach(([id, line, error, output], i) =>
    insert.run(id, line, line.split(' ')[0], `2026-01-01T00:00:0${i}.000Z`, error, output, output.length),
  );
  view = new CommandLogView(db, 'commands');
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const ids = (text: string): string[] => view.queryCommands({ text }).items.map((c) => c.id);

describe('command log search', () => {
  it('finds a word that appears only in a command output', () => {
    expect(ids('passwd')).toEqual(['c1']);
    expect(ids('ARTEFACTS')).toEqual(['c3']); // ASCII case folding, as for the command line
  });

  it('still finds command lines, errors and ids, and never returns the output itself', () => {
    expect(ids('hostname')).toEqual(['c2']);
    expect(ids('exit code')).toEqual(['c3']);
    expect(ids('c2')).toEqual(['c2']);
    expect(view.queryCommands({ text: 'hostname' }).items[0]).not.toHaveProperty('output');
  });

  it('treats LIKE wildcards in the search as text', () => {
    expect(ids('_50%')).toEqual(['c3']);
    expect(ids('%')).toEqual(['c3']);
    expect(ids('s_a256')).toEqual([]);
  });
});
