// The command log's write events add listeners, never replace them: the store's
// onCommandWritten and the chain's onWritten. What follows the chain (the cluster log stream) subscribes to
// the chain's own event, so it sees every entry chained and sealed whatever order things were wired in.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../../src/server/db.js';
import { Store } from '../../../src/server/store.js';
import { LogChain, type ChainRow } from '../../../src/server/log-chain.js';

describe('command log write events', () => {
  let dir: string;
  let db: Db;
  let store: Store;
  let userId: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lr-log-events-'));
    db = openDb(join(dir, 'lr.db'));
    store = new Store(db);
    userId = store.createUser('a', 'admin', false).id;
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (id: string) => {
    store.insertCommand({
      id,
      sessionId: null,
      userId,
      deviceId: null,
      commandLine: 'dir /',
      name: 'dir',
      status: 'pending',
      background: false,
    });
    store.finishCommand(id, {
      status: 'completed',
      durationMs: 1,
      output: 'x\n',
      outputSize: 2,
      outputSha256: 'x',
      truncated: false,
    });
  };
  const row = (id: string) => db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as ChainRow;

  it('calls every listener of the store, in order, until it is disposed', () => {
    const calls: string[] = [];
    store.onCommandWritten((id) => calls.push(`first ${id}`));
    const second = store.onCommandWritten((id) => calls.push(`second ${id}`));
    write('c1');
    expect(calls).toEqual(['first c1', 'second c1', 'first c1', 'second c1']);
    second.dispose();
    calls.length = 0;
    write('c2');
    expect(calls).toEqual(['first c2', 'first c2']);
  });

  it('keeps the chain when another listener subscribes after it', () => {
    const chain = LogChain.open(db, dir);
    store.onCommandWritten((id) => chain.written(id));
    const seen: string[] = [];
    store.onCommandWritten((id) => seen.push(id));
    write('c1');
    expect(seen).toEqual(['c1', 'c1']);
    expect(row('c1').log_chain).toMatch(/^[0-9a-f]{64}$/);
    expect(row('c1').log_seal).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives the chain's followers each entry chained and sealed, even when they subscribe before the chain is wired", () => {
    const chain = LogChain.open(db, dir);
    const seen: { id: string; chained: boolean; sealed: boolean }[] = [];
    // Subscribed first: were it a listener of the store, it would run before the chain and see no chain.
    chain.onWritten((id) => seen.push({ id, chained: row(id).log_chain !== null, sealed: row(id).log_seal !== null }));
    store.onCommandWritten((id) => chain.written(id));
    write('c1');
    expect(seen).toEqual([
      { id: 'c1', chained: true, sealed: false },
      { id: 'c1', chained: true, sealed: true },
    ]);
  });
});
