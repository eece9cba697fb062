// Tampering with the command log database (an output changed, a row deleted, two
// rows swapped) is each reported by `lr log verify` with the entry ID; an untouched log verifies OK.
// The SQLite file is edited directly, as an attacker with write access to the data folder (but not to
// the chain key) would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createWorld, type World } from './harness.js';

interface Report {
  ok: boolean;
  entries: number;
  problems: { id: string; seq: number; problem: string; detail: string }[];
}

type Row = Record<string, unknown> & { seq: number; id: string };

describe('command log integrity', () => {
  let w: World;
  let db: Database.Database;

  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('ledger');
    const lines = [
      'dir /',
      'processes -pid 1',
      'registry HKLM\\x',
      'fileinfo /etc/hostname',
      'dir /etc',
      'processes -pid 1 -output json',
      'cd /tmp',
      'dir /tmp',
      'fileinfo /etc/passwd',
      'dir /var',
    ];
    for (const line of lines) await w.lr(['exec', 'ledger', line, '--json']);
    db = new Database(join(w.dataDir, 'lr.db'));
    db.pragma('busy_timeout = 5000');
  });
  afterAll(async () => {
    db?.close();
    await w?.cleanup();
  });

  async function verify(): Promise<{ report: Report; code: number | null }> {
    const r = await w.lr(['log', 'verify', '--json']);
    return { report: JSON.parse(r.stdout) as Report, code: r.code };
  }

  const rows = (): Row[] => db.prepare('SELECT * FROM commands ORDER BY seq').all() as Row[];

  it('keeps its chain key outside the database, private to the service', () => {
    expect(statSync(join(w.dataDir, 'log-chain.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(w.dataDir, 'command-signing.key')).mode & 0o777).toBe(0o600);
    expect(rows().every((r) => typeof r.log_chain === 'string' && typeof r.log_seal === 'string')).toBe(true);
  });

  it('verifies an untouched log', async () => {
    const { report, code } = await verify();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThanOrEqual(10);
    expect(code).toBe(0);
    const text = await w.lr(['log', 'verify']);
    expect(text.stdout).toMatch(/command log OK: \d+ entries/);
  });

  it('reports a changed output, a deleted row and two swapped rows, each with its entry ID', async () => {
    const before = rows();
    const [, a, , b, c, , d, e] = before as [Row, Row, Row, Row, Row, Row, Row, Row, ...Row[]];

    // 1. an output changed
    db.prepare('UPDATE commands SET output = ? WHERE id = ?').run('nothing to see here\n', a.id);
    const first = await verify();
    let report = first.report;
    expect(first.code).toBe(1);
    expect(report.problems).toEqual([expect.objectContaining({ id: a.id, problem: 'modified' })]);
    expect(report.problems[0]?.detail).toMatch(/seal/);

    // 2. a row deleted: reported on the entry after the gap, naming the missing seq
    db.prepare('DELETE FROM commands WHERE id = ?').run(b.id);
    ({ report } = await verify());
    expect(report.problems).toContainEqual(expect.objectContaining({ id: c.id, problem: 'deleted' }));
    expect(report.problems.find((p) => p.id === c.id)?.detail).toContain(`seq ${b.seq}`);

    // 3. two rows swapped (every column but the sequence number)
    const cols = Object.keys(d).filter((k) => k !== 'seq');
    db.transaction(() => {
      db.prepare('UPDATE commands SET id = ? WHERE seq = ?').run('swap-tmp', d.seq);
      const set = cols.map((k) => `${k} = @${k}`).join(', ');
      db.prepare(`UPDATE commands SET ${set} WHERE seq = @seq`).run({ ...d, seq: e.seq });
      db.prepare(`UPDATE commands SET ${set} WHERE seq = @seq`).run({ ...e, seq: d.seq });
    })();
    ({ report } = await verify());
    expect(report.problems).toContainEqual(expect.objectContaining({ id: e.id, seq: d.seq, problem: 'reordered' }));
    expect(report.problems).toContainEqual(expect.objectContaining({ id: d.id, seq: e.seq, problem: 'reordered' }));

    // Nothing else is accused: exactly the tampered entries.
    expect(new Set(report.problems.map((p) => p.id))).toEqual(new Set([a.id, c.id, d.id, e.id]));

    // The text output names them too, and the export carries the chain for a SIEM.
    const text = await w.lr(['log', 'verify']);
    expect(text.code).toBe(1);
    for (const id of [a.id, c.id, d.id, e.id]) expect(text.stdout).toContain(id);
    const jsonl = await w.lr(['log', 'export', '--jsonl']);
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; chain: string; seal: string });
    expect(lines.length).toBe(before.length - 1);
    expect(lines.every((l) => /^[0-9a-f]{64}$/.test(l.chain))).toBe(true);
    expect((await w.lr(['log', '--jsonl'])).stdout).toBe(jsonl.stdout);
  });

  it('reports entries deleted at the end of the log', async () => {
    const all = rows();
    const last = all[all.length - 1] as Row;
    const prev = all[all.length - 2] as Row;
    db.prepare('DELETE FROM commands WHERE seq = ?').run(last.seq);
    const { report } = await verify();
    expect(report.problems).toContainEqual(expect.objectContaining({ id: prev.id, problem: 'deleted' }));
    expect(report.problems.find((p) => p.id === prev.id && p.problem === 'deleted')?.detail).toMatch(/end of the log/);
  });

  it('verification and export are for admins only', async () => {
    const basic = await w.addUser('lookie', 'basic');
    const r = await w.lr(['log', 'verify'], basic);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs the admin role/);
    const e = await w.lr(['log', '--jsonl'], basic);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/exporting the command log needs the admin role/);
  });
});
