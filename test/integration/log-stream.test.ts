/**
 * The cluster command log: two "nodes" (each its own SQLite database, Store and LogChain with
 * the same chain key, and its own NATS connection to a different server of a real 3-server cluster) write
 * commands through the Store; their entries reach the LR_LOG stream through the outbox and verify there,
 * per node. Then the stream and the databases are tampered with, as someone with access to NATS or to a
 * node's data folder (but not the key) would, and each change is reported against its entry.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/server/db.js';
import { Store } from '../../src/server/store.js';
import { ensureLogKey, LogChain } from '../../src/server/log-chain.js';
import { Logger } from '../../src/node/log.js';
import { connectCluster, type ClusterContext } from '../../src/server/cluster/cluster-context.js';
import { CommandLogStream, entrySubject, LOG_STREAM } from '../../src/server/cluster/log-stream.js';
import {
  exportClusterJsonl,
  verifyCluster,
  verifyNodeAndCluster,
  type ClusterLogVerifyReport,
} from '../../src/server/cluster/log-verify.js';
import { NatsCluster, natsSkipReason, testMac } from '../cluster/nats-cluster.js';
import { ClusterMac } from '../../src/server/cluster/cluster-key.js';
import { headers } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { describeNeeds } from '../needs.js';

interface Node {
  id: string;
  db: Db;
  store: Store;
  chain: LogChain;
  ctx: ClusterContext;
  stream: CommandLogStream;
  userId: string;
}

const log = new Logger('log-stream-test', 'error');
let counter = 0;

describeNeeds(natsSkipReason)('cluster command log stream', () => {
  let cluster: NatsCluster;
  let dir: string;
  let nodes: Node[] = [];

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    dir = mkdtempSync(join(tmpdir(), 'lr-log-stream-'));
    ensureLogKey(dir); // one key for every node, as a node made from another gets a copy of it
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const n of nodes) await close(n);
    nodes = [];
    // Each test starts from an empty cluster log.
    const ctx = await connectCluster([cluster.urls[0] as string], 'cleanup', log, testMac, { replicas: 3 });
    await ctx.jsm.streams.delete(LOG_STREAM).catch(() => undefined);
    await ctx.nc.close();
  });

  async function close(n: Node): Promise<void> {
    await n.stream.stop();
    await n.ctx.nc.close().catch(() => undefined);
    if (n.db.open) n.db.close();
  }

  /** A node on server `server`: its own database (reused when `dbFile` is given: a restart). */
  async function node(id: string, server: number, dbFile?: string): Promise<Node> {
    const db = openDb(dbFile ?? join(dir, `${id}-${++counter}.db`));
    const store = new Store(db);
    const chain = LogChain.open(db, dir);
    store.onCommandWritten((id) => chain.written(id));
    const ctx = await connectCluster([cluster.urls[server] as string], id, log, testMac, { replicas: 3 });
    const stream = await CommandLogStream.open(ctx, db, chain); // follows the chain's write event
    const existing = db.prepare("SELECT id FROM users WHERE name = 'analyst'").pluck().get() as string | undefined;
    const userId = existing ?? store.createUser('analyst', 'admin', false).id;
    const n = { id, db, store, chain, ctx, stream, userId };
    nodes.push(n);
    return n;
  }

  /** A command through the Store as the pipeline writes it: inserted running, finished. */
  function run(n: Node, line: string, output = `output of ${line}\n`): string {
    const id = `c${++counter}${Math.random().toString(36).slice(2, 8)}`;
    n.store.insertCommand({
      id,
      sessionId: 's1',
      userId: n.userId,
      deviceId: null,
      commandLine: line,
      name: line.split(' ')[0] as string,
      status: 'running',
      background: false,
    });
    n.store.finishCommand(id, {
      status: 'completed',
      durationMs: 12,
      output,
      outputSize: Buffer.byteLength(output),
      outputSha256: 'x'.repeat(64),
      truncated: false,
    });
    return id;
  }

  function ids(n: Node): { id: string; seq: number }[] {
    return n.db.prepare('SELECT id, seq FROM commands ORDER BY seq').all() as { id: string; seq: number }[];
  }

  /** Publishes a raw payload to a subject of the log stream (someone with NATS credentials). */
  async function publishRaw(n: Node, subject: string, payload: string): Promise<void> {
    await n.ctx.js.publish(subject, payload);
  }

  async function streamCopy(n: Node, id: string): Promise<Record<string, unknown>> {
    const m = await n.ctx.jsm.streams.getMessage(LOG_STREAM, { last_by_subj: entrySubject(n.id, id) });
    if (!m) throw new Error(`no stream copy of ${id}`);
    return m.json<Record<string, unknown>>();
  }

  async function exportLines(n: Node): Promise<Record<string, unknown>[]> {
    const server: Server = createServer((_req, res) => void exportClusterJsonl(n.stream, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.status).toBe(200);
      const text = await res.text();
      return text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  const problemsOf = (r: ClusterLogVerifyReport) =>
    r.problems.map((p) => ({ id: p.id, node: p.node, problem: p.problem }));

  it('two nodes publish their entries; the cluster log verifies per node, and exports every node', async () => {
    const a = await node('node-a', 0);
    const b = await node('node-b', 1);
    for (let i = 0; i < 6; i++) {
      run(a, `dir /a${i}`);
      run(b, `dir /b${i}`);
    }
    // A refusal is sealed at insert; an output larger than NATS's max_payload (1 MiB) is split in parts.
    a.store.insertCommand({
      id: 'refused1',
      sessionId: null,
      userId: a.userId,
      deviceId: null,
      commandLine: 'kill 1',
      name: 'kill',
      status: 'refused',
      background: false,
      error: 'no',
    });
    const big = 'x'.repeat(1_500_000) + '\n';
    const bigId = run(b, 'cat /big', big);
    await Promise.all([a.stream.flushed(), b.stream.flushed()]);
    expect(a.stream.pending()).toBe(0);

    const report = await verifyCluster(a.stream);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(14);
    expect(report.nodes).toEqual([
      { node: 'node-a', entries: 7, ok: true },
      { node: 'node-b', entries: 7, ok: true },
    ]);
    // Any node verifies the whole cluster; each also checks its own database against the stream.
    for (const n of [a, b]) {
      const r = await verifyNodeAndCluster(n.stream);
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
    }

    const lines = await exportLines(b);
    expect(lines.length).toBe(14);
    expect(lines.map((l) => `${l.node as string}:${l.seq as number}`)).toEqual([
      ...ids(a).map((r) => `node-a:${r.seq}`),
      ...ids(b).map((r) => `node-b:${r.seq}`),
    ]);
    expect(
      lines.every((l) => /^[0-9a-f]{64}$/.test(l.chain as string) && /^[0-9a-f]{64}$/.test(l.seal as string)),
    ).toBe(true);
    expect(lines.find((l) => l.id === bigId)?.output).toBe(big);
    expect(lines.find((l) => l.id === 'refused1')).toMatchObject({
      status: 'refused',
      user: 'analyst',
      userId: a.userId,
    });
  });

  it('an empty cluster log verifies, and one emptied while being read is read to its end', async () => {
    const a = await node('node-a', 0);
    expect(await verifyCluster(a.stream)).toMatchObject({ ok: true, entries: 0, problems: [], nodes: [] });
    run(a, 'dir /1');
    await a.stream.flushed();
    // Everything purged after the reader learnt there was something to read: it must not wait forever.
    const reading = verifyCluster(a.stream);
    await a.ctx.jsm.streams.purge(LOG_STREAM);
    const r = await reading;
    expect(r.ok).toBe(true);
    expect(r.entries).toBeLessThanOrEqual(1);
  });

  it('a node restarted with a non-empty outbox publishes it', async () => {
    const a = await node('node-a', 0);
    run(a, 'dir /before');
    await a.stream.flushed();
    // The node stops publishing (as if it crashed after its commits, before the acknowledgements).
    await a.stream.stop();
    const late = [run(a, 'dir /late1'), run(a, 'dir /late2')];
    expect(a.stream.pending()).toBeGreaterThan(0);
    const file = a.db.name;
    await close(a);
    nodes = [];
    const before = await verifyCluster((await node('node-b', 1)).stream);
    expect(before.nodes).toEqual([{ node: 'node-a', entries: 1, ok: true }]);

    const again = await node('node-a', 2, file);
    await again.stream.flushed();
    expect(again.stream.pending()).toBe(0);
    const report = await verifyNodeAndCluster(again.stream);
    expect(report.problems).toEqual([]);
    expect(report.nodes).toEqual([{ node: 'node-a', entries: 3, ok: true }]);
    for (const id of late) expect((await streamCopy(again, id)).status).toBe('completed');
  });

  it('reports an entry modified in the stream, and a malformed message, against their entries', async () => {
    const a = await node('node-a', 0);
    const b = await node('node-b', 1);
    const mine = [run(a, 'dir /1'), run(a, 'dir /2'), run(a, 'dir /3')];
    run(b, 'dir /b');
    await Promise.all([a.stream.flushed(), b.stream.flushed()]);

    // The output of an entry rewritten in the stream (a modified copy published to its subject).
    const victim = mine[1] as string;
    const copy = await streamCopy(a, victim);
    await publishRaw(b, entrySubject('node-a', victim), JSON.stringify({ ...copy, output: 'nothing to see here\n' }));
    // And junk on a log subject.
    await publishRaw(b, 'lr.log.node-b.junk1', '{"not": "an entry"');

    const report = await verifyCluster(b.stream);
    expect(report.ok).toBe(false);
    // Neither carries the cluster key's MAC: both are refused as messages no node wrote, and the victim's
    // authentic copy, which the forged one replaced, is missing from node a's chain (a gap at the next entry).
    expect(problemsOf(report)).toEqual([
      { id: mine[2], node: 'node-a', problem: 'deleted' },
      { id: entrySubject('node-a', victim), node: 'node-a', problem: 'modified' },
      { id: 'lr.log.node-b.junk1', node: 'node-b', problem: 'modified' },
    ]);
    expect(report.problems[1]?.detail).toMatch(/without the cluster MAC/);
    expect(report.problems[2]?.detail).toMatch(/without the cluster MAC/);
    expect(report.nodes).toEqual([
      { node: 'node-a', entries: 2, ok: false },
      { node: 'node-b', entries: 1, ok: false },
    ]);
    // A copy that carries a MAC, but not one made with the cluster key, is refused the same way.
    const forged = headers();
    forged.set('Lr-Writer', 'node-a');
    forged.set('Lr-Version', String(Date.now()));
    forged.set(
      'Lr-Mac',
      new ClusterMac(randomBytes(32)).tag({
        kind: 'log',
        where: entrySubject('node-a', victim),
        writer: 'node-a',
        version: forged.get('Lr-Version'),
        payload: Buffer.from(JSON.stringify(copy)),
      }),
    );
    await b.ctx.js.publish(entrySubject('node-a', victim), JSON.stringify(copy), { headers: forged });
    const again = await verifyCluster(b.stream);
    expect(again.problems.find((p) => p.id === entrySubject('node-a', victim))?.detail).toMatch(/cluster MAC is wrong/);
  });

  it("reports an entry deleted from the stream as a gap in its node's chain", async () => {
    const a = await node('node-a', 0);
    const b = await node('node-b', 1);
    run(a, 'dir /a');
    const bs = [run(b, 'dir /1'), run(b, 'dir /2'), run(b, 'dir /3'), run(b, 'dir /4')];
    await Promise.all([a.stream.flushed(), b.stream.flushed()]);
    const [, second, third] = ids(b) as [
      { id: string; seq: number },
      { id: string; seq: number },
      { id: string; seq: number },
    ];
    expect(second.id).toBe(bs[1]);

    await a.ctx.jsm.streams.purge(LOG_STREAM, { filter: entrySubject('node-b', second.id) });
    const report = await verifyCluster(a.stream);
    expect(problemsOf(report)).toEqual([{ id: third.id, node: 'node-b', problem: 'deleted' }]);
    expect(report.problems[0]?.detail).toContain(`seq ${second.seq}`);
    expect(report.nodes).toEqual([
      { node: 'node-a', entries: 1, ok: true },
      { node: 'node-b', entries: 3, ok: false },
    ]);
    // Node b also sees that a row of its database is missing from the cluster log.
    const own = await verifyNodeAndCluster(b.stream);
    expect(own.problems).toContainEqual(
      expect.objectContaining({ id: second.id, problem: 'deleted', source: 'database' }),
    );
  });

  it('catches a local row rewritten after it was published, even rewritten consistently with the chain key', async () => {
    const a = await node('node-a', 0);
    run(a, 'dir /1');
    run(a, 'dir /2');
    const lastId = run(a, 'dir /3');
    await a.stream.flushed();

    // The last entry's command line rewritten in the database with its chain and seal recomputed: the
    // local chain alone cannot tell (nothing after it points at it), the cluster log's copy can.
    const row = a.db.prepare('SELECT * FROM commands WHERE id = ?').get(lastId) as Parameters<LogChain['sealOf']>[1];
    const forged = { ...row, command_line: 'dir /innocent' };
    const chain = a.chain.chainOf(forged.log_prev as string, forged, forged.seq);
    const seal = a.chain.sealOf(chain, { ...forged, log_chain: chain });
    a.db
      .prepare('UPDATE commands SET command_line = ?, log_chain = ?, log_seal = ? WHERE id = ?')
      .run(forged.command_line, chain, seal, lastId);
    expect(a.chain.verify().ok).toBe(true);

    const report = await verifyNodeAndCluster(a.stream);
    expect(report.ok).toBe(false);
    expect(problemsOf(report)).toEqual([{ id: lastId, node: 'node-a', problem: 'modified' }]);
    expect(report.problems[0]).toMatchObject({ source: 'database' });
    expect(report.problems[0]?.detail).toMatch(/chain .* differs from its copy in the cluster log/);
    expect(report.nodes).toEqual([{ node: 'node-a', entries: 3, ok: false }]);

    // A plain rewrite (no key) is the database chain's own finding; the stream's copy is untouched.
    const first = (ids(a)[0] as { id: string }).id;
    a.db.prepare('UPDATE commands SET output = ? WHERE id = ?').run('edited\n', first);
    const again = await verifyNodeAndCluster(a.stream);
    expect(again.problems.filter((p) => p.id === first)).toEqual([
      expect.objectContaining({
        problem: 'modified',
        source: 'database',
        detail: expect.stringMatching(/^in this node's database: .*seal/),
      }),
    ]);
    expect(again.nodes.find((n) => n.node === 'node-a')?.ok).toBe(false);
  });
});
