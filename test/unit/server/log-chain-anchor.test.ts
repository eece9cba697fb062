// The command log's anchor (DATA/log-chain.head) at start-up, on a real SQLite file and a real data folder:
// a legacy log (written before the chain) is chained once and only once; a chained log without an anchor
// (the upgrade that added it) is anchored as it is; an unsealed entry is sealed `failed` at the next start
// only when the previous run had it running.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../../src/server/db.js';
import { Store } from '../../../src/server/store.js';
import { LogChain } from '../../../src/server/log-chain.js';

describe('LogChain.start and the anchor', () => {
  let dir: string;
  let db: Db;
  let store: Store;
  let userId: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lr-log-anchor-'));
    db = openDb(join(dir, 'lr.db'));
    store = new Store(db);
    userId = store.createUser('a', 'admin', false).id;
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A command as the pipeline writes it (the chain attached or not: a legacy log had none). */
  function command(id: string, finished = true): void {
    store.insertCommand({
      id,
      sessionId: null,
      userId,
      deviceId: null,
      commandLine: `dir /${id}`,
      name: 'dir',
      status: 'running',
      background: false,
    });
    if (finished)
      store.finishCommand(id, {
        status: 'completed',
        durationMs: 1,
        output: `${id}\n`,
        outputSize: 3,
        outputSha256: 'x',
        truncated: false,
      });
  }

  /** One run of the service: the chain attached, started, dangling commands closed as service.ts does. */
  function startRun(): { chain: LogChain; adopted: number; warnings: string[] } {
    const chain = LogChain.open(db, dir);
    store.onCommandWritten((id) => chain.written(id));
    const r = chain.start();
    store.closeDanglingSessions((seq) => chain.wasRunning(seq));
    return { chain, ...r };
  }

  const anchorFile = () => join(dir, 'log-chain.head');
  const chained = () => db.prepare('SELECT count(*) FROM commands WHERE log_chain IS NOT NULL').pluck().get() as number;

  it('adopts a legacy log once; cleared chains are never adopted again', async () => {
    for (const id of ['a', 'b', 'c']) command(id); // no chain attached: written before the upgrade
    expect(chained()).toBe(0);
    let run = startRun();
    expect(run.adopted).toBe(3);
    expect(chained()).toBe(3);
    expect(run.chain.verify()).toMatchObject({ ok: true, entries: 3 });
    expect(JSON.parse(readFileSync(anchorFile(), 'utf8'))).toMatchObject({
      adoptedLegacy: 3,
      head: { seq: 3, id: 'c' },
    });
    await run.chain.close();

    // Every chain column cleared: the anchor says the log is chained, so nothing is adopted.
    db.prepare('UPDATE commands SET log_prev = NULL, log_chain = NULL, log_seal = NULL').run();
    run = startRun();
    expect(run.adopted).toBe(0);
    expect(chained()).toBe(0);
    const report = run.chain.verify();
    expect(report.ok).toBe(false);
    expect(new Set(report.problems.filter((p) => /has no chain/.test(p.detail)).map((p) => p.id))).toEqual(
      new Set(['a', 'b', 'c']),
    );
  });

  it('anchors a chained log that has no anchor yet (the upgrade that added it) without reporting it', () => {
    const chain = LogChain.open(db, dir);
    store.onCommandWritten((id) => chain.written(id)); // chained by the version before the anchor
    for (const id of ['a', 'b']) command(id);
    expect(existsSync(anchorFile())).toBe(false);
    const run = startRun();
    expect(run.adopted).toBe(0);
    expect(run.warnings).toEqual([expect.stringMatching(/no head anchor/)]);
    expect(run.chain.verify()).toMatchObject({ ok: true, entries: 2 });
    expect(JSON.parse(readFileSync(anchorFile(), 'utf8'))).toMatchObject({ head: { seq: 2, id: 'b' } });
  });

  it('seals at the next start only the commands the previous run had running', async () => {
    let run = startRun();
    command('done');
    command('crashed', false); // still running when the service stops
    command('reopened');
    await run.chain.close(); // the anchor: head 'reopened', running: 'crashed'
    expect(JSON.parse(readFileSync(anchorFile(), 'utf8'))).toMatchObject({ live: [2], head: { seq: 3 } });
    expect(run.chain.verify().ok).toBe(true);

    db.prepare("UPDATE commands SET status = 'running', log_seal = NULL WHERE id = 'reopened'").run();
    run = startRun();
    const status = (id: string) =>
      db.prepare('SELECT status, log_seal FROM commands WHERE id = ?').get(id) as {
        status: string;
        log_seal: string | null;
      };
    expect(status('crashed')).toMatchObject({ status: 'failed', log_seal: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(status('reopened')).toEqual({ status: 'running', log_seal: null });
    expect(run.chain.verify().problems).toEqual([
      expect.objectContaining({
        id: 'reopened',
        problem: 'modified',
        detail: expect.stringMatching(/its seal was removed/),
      }),
    ]);
  });
});
