// The command log's hash chain on a single node, against someone who edits the SQLite file (with or without
// the service running) but cannot read DATA/log-chain.key: each chained field edited, seals that disagree
// with the status, an entry reopened to `running` with its seal removed, every chain column cleared (the
// legacy-log path must not re-chain it), the end of the log cut with sqlite_sequence rewritten, the anchor
// file edited. A crash (SIGKILL while a command runs) still ends that command `failed` and verifies OK.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorld, waitFor, type World } from './harness.js';

interface Report {
  ok: boolean;
  entries: number;
  problems: { id: string; seq: number; problem: string; detail: string }[];
}

type Row = Record<string, unknown> & {
  seq: number;
  id: string;
  status: string;
  log_seal: string | null;
  log_chain: string | null;
};

const LINES = [
  'dir /',
  'processes -pid 1',
  'fileinfo /etc/hostname',
  'dir /etc',
  'cd /tmp',
  'dir /tmp',
  'fileinfo /etc/passwd',
  'dir /var',
];

async function makeWorld(): Promise<{ w: World; db: Database.Database }> {
  const w = await createWorld();
  await w.addAgent('ledger');
  for (const line of LINES) await w.lr(['exec', 'ledger', line, '--json']);
  const db = new Database(join(w.dataDir, 'lr.db'));
  db.pragma('busy_timeout = 5000');
  return { w, db };
}

async function verify(w: World): Promise<Report> {
  const r = await w.lr(['log', 'verify', '--json']);
  const report = JSON.parse(r.stdout) as Report;
  expect(r.code).toBe(report.ok ? 0 : 1);
  return report;
}

const rowsOf = (db: Database.Database): Row[] => db.prepare('SELECT * FROM commands ORDER BY seq').all() as Row[];
const rowOf = (db: Database.Database, id: string): Row =>
  db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as Row;

/** Puts a row back as it was (every column). */
function restore(db: Database.Database, r: Row): void {
  const cols = Object.keys(r).filter((k) => k !== 'seq');
  db.prepare(`UPDATE commands SET ${cols.map((k) => `${k} = @${k}`).join(', ')} WHERE seq = @seq`).run(r);
}

/** A completed entry from the middle of the log (not the last one: that one is the anchored head). */
const middle = (db: Database.Database, i = 2): Row => rowsOf(db).filter((r) => r.status === 'completed')[i] as Row;

/** A service with an agent and a logged history for one describe block; its database open beside it. */
function useWorld(): { w: World; db: Database.Database } {
  const ctx = {} as { w: World; db: Database.Database };
  beforeAll(async () => {
    Object.assign(ctx, await makeWorld());
  });
  afterAll(async () => {
    ctx.db?.close();
    await ctx.w?.cleanup();
  });
  return ctx;
}

describe('command log chain: edits to one entry', () => {
  const ctx = useWorld();
  let original: Row[];

  beforeAll(() => {
    original = rowsOf(ctx.db);
  });
  // Each test puts back what it edited; should it fail first, the next one still starts from an intact log.
  afterEach(() => {
    for (const r of original) restore(ctx.db, r);
  });

  it('keeps its head anchor next to the key, private to the service and MAC-protected', async () => {
    const file = join(ctx.w.dataDir, 'log-chain.head');
    const last = rowsOf(ctx.db).at(-1) as Row;
    type Anchor = { head: { seq: number; id: string } | null; live: number[]; mac: string };
    const readAnchor = (): Anchor => JSON.parse(readFileSync(file, 'utf8')) as Anchor;
    // The anchor is rewritten at most every 100 ms, after the commit: wait for it to reach the last entry.
    await waitFor(
      'the anchor to reach the last entry',
      () => Promise.resolve(readAnchor().head?.seq === last.seq),
      5_000,
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const anchor = readAnchor();
    expect(anchor.head).toMatchObject({ seq: last.seq, id: last.id });
    expect(anchor.live).toEqual([]);
    expect(anchor.mac).toMatch(/^[0-9a-f]{64}$/);
    expect((await verify(ctx.w)).ok).toBe(true);
  });

  // Each chained or sealed field: edited → that entry is reported; put back → the log verifies again.
  const edits: [string, (r: Row) => Record<string, unknown>, RegExp][] = [
    ['user', () => ({ user_id: 'someone-else' }), /do not match its chain/],
    ['device', () => ({ device_id: 'another-device' }), /do not match its chain/],
    ['command line', () => ({ command_line: 'dir /nothing-to-see' }), /do not match its chain/],
    ['status', () => ({ status: 'failed' }), /do not match its seal/],
    ['output hash', () => ({ output_sha256: 'f'.repeat(64) }), /do not match its seal/],
    ['output', () => ({ output: '[]\n' }), /do not match its seal/],
  ];
  for (const [field, change, detail] of edits) {
    it(`reports an entry whose ${field} was edited`, async () => {
      const r = middle(ctx.db);
      const set = change(r);
      ctx.db
        .prepare(
          `UPDATE commands SET ${Object.keys(set)
            .map((k) => `${k} = @${k}`)
            .join(', ')} WHERE seq = @seq`,
        )
        .run({ ...set, seq: r.seq });
      const report = await verify(ctx.w);
      expect(report.problems).toEqual([
        expect.objectContaining({ id: r.id, seq: r.seq, problem: 'modified', detail: expect.stringMatching(detail) }),
      ]);
      restore(ctx.db, r);
      expect((await verify(ctx.w)).ok).toBe(true);
    });
  }

  it('reports an entry sealed but not final (status set back to running, seal kept)', async () => {
    const r = middle(ctx.db, 1);
    ctx.db.prepare("UPDATE commands SET status = 'running' WHERE seq = ?").run(r.seq);
    const report = await verify(ctx.w);
    expect(report.problems).toEqual([
      expect.objectContaining({
        id: r.id,
        problem: 'modified',
        detail: expect.stringMatching(/sealed but its status says running/),
      }),
    ]);
    restore(ctx.db, r);
    expect((await verify(ctx.w)).ok).toBe(true);
  });

  it('reports an entry final but not sealed (seal removed)', async () => {
    const r = middle(ctx.db, 3);
    ctx.db.prepare('UPDATE commands SET log_seal = NULL WHERE seq = ?').run(r.seq);
    const report = await verify(ctx.w);
    expect(report.problems).toEqual([
      expect.objectContaining({
        id: r.id,
        problem: 'modified',
        detail: expect.stringMatching(/completed but not sealed/),
      }),
    ]);
    restore(ctx.db, r);
    expect((await verify(ctx.w)).ok).toBe(true);
  });

  it('reports an entry set back to running with its seal removed, now and after a restart, and never reseals it', async () => {
    const r = middle(ctx.db, 0);
    // While the service runs: not one of its running commands.
    ctx.db.prepare("UPDATE commands SET status = 'running', log_seal = NULL WHERE seq = ?").run(r.seq);
    let report = await verify(ctx.w);
    expect(report.problems).toEqual([
      expect.objectContaining({
        id: r.id,
        problem: 'modified',
        detail: expect.stringMatching(/not running in the service: its seal was removed/),
      }),
    ]);
    restore(ctx.db, r);

    // While it is stopped: the start does not take it for a command left running by a crash.
    await ctx.w.stopServer();
    ctx.db.prepare("UPDATE commands SET status = 'running', log_seal = NULL WHERE seq = ?").run(r.seq);
    await ctx.w.startServer();
    report = await verify(ctx.w);
    expect(report.problems).toEqual([
      expect.objectContaining({
        id: r.id,
        problem: 'modified',
        detail: expect.stringMatching(/not running in the service: its seal was removed/),
      }),
    ]);
    expect(rowOf(ctx.db, r.id)).toMatchObject({ status: 'running', log_seal: null });
    const text = await ctx.w.lr(['log', 'verify']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(r.id);
    restore(ctx.db, r);
    expect((await verify(ctx.w)).ok).toBe(true);
  });

  it('a crash while a command runs: the next start ends it failed, and the log verifies', async () => {
    const agent = ctx.w.agents[0];
    if (!agent?.pid) throw new Error('no agent');
    // The agent is frozen: the command is dispatched (running) and never ends before the crash.
    process.kill(agent.pid, 'SIGSTOP');
    try {
      const pending = ctx.w.lr(['exec', 'ledger', 'dir /usr', '--json'], undefined, { timeoutMs: 30_000 });
      const running = await waitFor(
        'the command running',
        async () =>
          (ctx.db.prepare("SELECT * FROM commands WHERE status = 'running' AND command_line = 'dir /usr'").get() as
            Row | undefined) ?? false,
      );
      expect(running.log_seal).toBeNull();
      await ctx.w.stopServer('SIGKILL');
      await pending;
      await ctx.w.startServer();
    } finally {
      process.kill(agent.pid, 'SIGCONT');
    }
    const after = ctx.db.prepare("SELECT * FROM commands WHERE command_line = 'dir /usr'").get() as Row;
    expect(after).toMatchObject({ status: 'failed', error: 'the service restarted while the command ran' });
    expect(after.log_seal).toMatch(/^[0-9a-f]{64}$/);
    const report = await verify(ctx.w);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

describe('command log chain: every chain column cleared (the legacy-log path)', () => {
  const ctx = useWorld();

  it('is reported entry by entry, never chained again, even with an entry deleted and another edited', async () => {
    const before = rowsOf(ctx.db);
    const deleted = before[3] as Row;
    const edited = before[5] as Row;
    await ctx.w.stopServer();
    ctx.db.transaction(() => {
      ctx.db.prepare('DELETE FROM commands WHERE seq = ?').run(deleted.seq);
      ctx.db.prepare("UPDATE commands SET command_line = 'dir /innocent' WHERE seq = ?").run(edited.seq);
      ctx.db.prepare('UPDATE commands SET log_prev = NULL, log_chain = NULL, log_seal = NULL').run();
    })();
    await ctx.w.startServer();
    const report = await verify(ctx.w);
    expect(report.ok).toBe(false);
    // Every remaining entry is named: none of them carries a chain, and the start did not give them one.
    const unchained = new Set(report.problems.filter((p) => /has no chain/.test(p.detail)).map((p) => p.id));
    for (const r of before) if (r.id !== deleted.id) expect(unchained.has(r.id)).toBe(true);
    expect(rowsOf(ctx.db).every((r) => r.log_chain === null && r.log_seal === null)).toBe(true);
    // The anchor still says the log was chained: the legacy adoption happened at most once (never here).
    expect(existsSync(join(ctx.w.dataDir, 'log-chain.head'))).toBe(true);
  });
});

describe('command log chain: the end of the log cut', () => {
  const ctx = useWorld();

  it('is reported when the last entries are deleted and sqlite_sequence rewritten, even after new commands', async () => {
    expect((await verify(ctx.w)).ok).toBe(true);
    const all = rowsOf(ctx.db);
    const keep = all[all.length - 3] as Row;
    await ctx.w.stopServer();
    ctx.db.transaction(() => {
      ctx.db.prepare('DELETE FROM commands WHERE seq > ?').run(keep.seq);
      ctx.db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'commands'").run(keep.seq);
    })();
    await ctx.w.startServer();
    // New commands re-use the cut seqs: no gap shows in the table.
    await ctx.w.lr(['exec', 'ledger', 'dir /', '--json']);
    await ctx.w.lr(['exec', 'ledger', 'dir /etc', '--json']);
    const report = await verify(ctx.w);
    const cut = report.problems.filter((p) => p.problem === 'deleted');
    expect(cut).toEqual([
      expect.objectContaining({
        id: keep.id,
        seq: keep.seq,
        detail: expect.stringMatching(
          new RegExp(`seq ${keep.seq + 1}\\.\\.${(all.at(-1) as Row).seq} at the end of the log are missing`),
        ),
      }),
    ]);
    expect(report.problems).toHaveLength(1);
    // Reported by every verify from now on, including after another restart.
    await ctx.w.stopServer();
    await ctx.w.startServer();
    expect((await verify(ctx.w)).problems).toEqual(report.problems);
  });

  it('reports an anchor edited while the service was stopped, and keeps it as evidence', async () => {
    const file = join(ctx.w.dataDir, 'log-chain.head');
    await ctx.w.stopServer();
    const anchor = JSON.parse(readFileSync(file, 'utf8')) as { head: { seq: number } };
    anchor.head.seq -= 1;
    writeFileSync(file, JSON.stringify(anchor));
    await ctx.w.startServer();
    const report = await verify(ctx.w);
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        id: 'log-chain.head',
        problem: 'modified',
        detail: expect.stringMatching(/MAC does not match/),
      }),
    );
    expect(readdirSync(ctx.w.dataDir).some((f) => f.startsWith('log-chain.head.bad-'))).toBe(true);
  });
});
