// The chain verification walks rows given to it (a node's database, or one node's entries of the cluster
// log stream): the same findings either way, and the end of the log is checked only when the last seq
// issued is known.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../../src/server/db.js';
import { Store } from '../../../src/server/store.js';
import { LogChain, type ChainRow } from '../../../src/server/log-chain.js';

describe('LogChain.verifyRows', () => {
  let dir: string;
  let db: Db;
  let chain: LogChain;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lr-log-rows-'));
    db = openDb(join(dir, 'lr.db'));
    store = new Store(db);
    chain = LogChain.open(db, dir);
    store.onCommandWritten((id) => chain.written(id));
    const user = store.createUser('a', 'admin', false);
    for (let i = 1; i <= 5; i++) {
      store.insertCommand({
        id: `c${i}`,
        sessionId: null,
        userId: user.id,
        deviceId: null,
        commandLine: `dir /${i}`,
        name: 'dir',
        status: 'pending',
        background: false,
      });
      store.finishCommand(`c${i}`, {
        status: 'completed',
        durationMs: 1,
        output: `${i}\n`,
        outputSize: 2,
        outputSha256: 'x',
        truncated: false,
      });
    }
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (): ChainRow[] => db.prepare('SELECT * FROM commands ORDER BY seq').all() as ChainRow[];
  const strip = (r: { problems: unknown[]; ok: boolean; entries: number }) => ({
    ok: r.ok,
    entries: r.entries,
    problems: r.problems,
  });

  it('finds on given rows exactly what verify() finds in the database', () => {
    db.prepare("UPDATE commands SET output = 'x' WHERE id = 'c2'").run();
    db.prepare("DELETE FROM commands WHERE id = 'c4'").run();
    const fromDb = chain.verify();
    expect(fromDb.problems.map((p) => [p.id, p.problem])).toEqual([
      ['c2', 'modified'],
      ['c5', 'deleted'],
    ]);
    expect(strip(chain.verifyRows(rows(), 5))).toEqual(strip(fromDb));
  });

  it('checks the end of the log only when the last seq issued is known', () => {
    db.prepare("DELETE FROM commands WHERE id = 'c5'").run();
    expect(chain.verify().problems).toEqual([
      expect.objectContaining({ id: 'c4', problem: 'deleted', detail: expect.stringMatching(/end of the log/) }),
    ]);
    expect(chain.verifyRows(rows(), 5).problems).toHaveLength(1);
    expect(chain.verifyRows(rows(), null)).toMatchObject({ ok: true, entries: 4, problems: [] });
  });

  it('reads the rows once, as they come (a generator is enough)', () => {
    function* gen(): Generator<ChainRow> {
      yield* rows();
    }
    expect(chain.verifyRows(gen(), null)).toMatchObject({ ok: true, entries: 5 });
  });
});
