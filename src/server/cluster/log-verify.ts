/**
 * Verification and export of the cluster's command log, from the stream every node publishes
 * its entries to (log-stream.ts). Each node's entries form their own chain, checked with the single node's
 * rules (LogChain.verifyRows): per-node seq order, a gap is a deletion, a chain or seal that does not match
 * the entry is a modification, a chain found at another seq is a move.
 *
 * What the stream cannot tell: entries deleted at the END of a node's chain. A single node compares its
 * last row with SQLite's record of the last seq issued (sqlite_sequence); the stream has no such record
 * (with one message per subject, purging a node's last entries leaves no trace). The verifying node checks
 * its own end through its database, and its rows against the stream's copies (`verifyNodeAndCluster`);
 * another node's end is only covered when that node verifies.
 */
import type { ServerResponse } from 'node:http';
import type { LogProblem, LogVerifyReport } from '../log-chain.js';
import type { CommandLogSource } from '../command-log-source.js';
import { CommandLogView } from '../command-log-view.js';
import type { Db } from '../db.js';
import { RestError } from '../rest-io.js';
import { entrySubject, type CommandLogStream } from './log-stream.js';
import type { ClusterLogMirror } from './log-mirror.js';
import { ClusterLogSnapshot, fetchEntry, toChainRow, type StreamEntry } from './log-snapshot.js';
import { NODE_ID } from './cluster-context.js';
import { describeError } from '../../shared/errors.js';

export interface ClusterLogProblem extends LogProblem {
  /** The node whose entry it is (absent for a message whose subject names no node). */
  node?: string;
  /** The entry's subject in the stream. */
  subject?: string;
  /** Where the problem was found: this node's database, or the cluster stream. */
  source?: 'database' | 'stream';
}

export interface ClusterNodeReport {
  node: string;
  entries: number;
  ok: boolean;
}

export interface ClusterLogVerifyReport extends LogVerifyReport {
  problems: ClusterLogProblem[];
  nodes: ClusterNodeReport[];
}

/**
 * Local entries whose stream copy differs are looked at again, live, up to this many (a write may have raced the
 * reading).
 */
const MAX_RECHECKS = 1000;
const EXPORT_CHUNK = 64 * 1024;

/** Verifies every node's chain in the stream. */
export async function verifyCluster(stream: CommandLogStream): Promise<ClusterLogVerifyReport> {
  const snap = await ClusterLogSnapshot.read(stream.ctx, stream.stream, stream.maxPartBytes);
  try {
    return verifySnapshot(stream, snap);
  } finally {
    snap.close();
  }
}

/**
 * What `GET /api/v1/log/verify` answers in cluster mode: this node's database (as on a single node, end of
 * the log included), every node's chain in the stream, and this node's rows against their stream copies
 * (a row rewritten after it was published, or an entry missing on one side). `entries` counts the stream.
 */
export async function verifyNodeAndCluster(stream: CommandLogStream): Promise<ClusterLogVerifyReport> {
  const local = stream.chain.verify();
  const snap = await ClusterLogSnapshot.read(stream.ctx, stream.stream, stream.maxPartBytes);
  let report: ClusterLogVerifyReport;
  let mismatches: ClusterLogProblem[];
  try {
    report = verifySnapshot(stream, snap);
    mismatches = await compareLocal(stream, snap);
  } finally {
    snap.close();
  }
  const me = stream.nodeId;
  const problems: ClusterLogProblem[] = [
    ...local.problems.map((p) => ({
      ...p,
      node: me,
      source: 'database' as const,
      detail: `in this node's database: ${p.detail}`,
    })),
    ...report.problems,
    ...mismatches,
  ];
  const nodes = report.nodes;
  let mine = nodes.find((n) => n.node === me);
  if (!mine) {
    mine = { node: me, entries: 0, ok: true };
    nodes.push(mine);
    nodes.sort((a, b) => a.node.localeCompare(b.node));
  }
  mine.ok = mine.ok && local.ok && mismatches.length === 0;
  return { ok: problems.length === 0, entries: report.entries, problems, verifiedAt: new Date().toISOString(), nodes };
}

/** Writes every node's entries from the stream as JSON lines, ordered by node then seq (`after`: per node's seq). */
export async function exportClusterJsonl(stream: CommandLogStream, res: ServerResponse, afterSeq = 0): Promise<void> {
  // Read before answering: a stream that cannot be read is an error status, not a cut-short 200.
  const snap = await ClusterLogSnapshot.read(stream.ctx, stream.stream, stream.maxPartBytes);
  try {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    for (const node of snap.nodes()) {
      let chunk = '';
      for (const entry of snap.entries(node, afterSeq)) {
        if (res.destroyed) break;
        chunk += JSON.stringify(entry) + '\n';
        if (chunk.length >= EXPORT_CHUNK) {
          await write(res, chunk);
          chunk = '';
        }
      }
      if (chunk && !res.destroyed) await write(res, chunk);
    }
    res.end();
  } finally {
    snap.close();
  }
  if (snap.malformedCount > 0)
    stream.ctx.log.warn('command log export: malformed messages in the cluster log were left out', {
      messages: snap.malformedCount,
    });
}

function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    res.once('drain', () => resolve());
    res.once('close', () => resolve());
  });
}

function verifySnapshot(stream: CommandLogStream, snap: ClusterLogSnapshot): ClusterLogVerifyReport {
  const problems: ClusterLogProblem[] = [];
  const nodes: ClusterNodeReport[] = [];
  let entries = 0;
  for (const node of snap.nodes()) {
    // The end of a node's chain cannot be checked here (no record of its last seq issued): see the top of the file.
    const r = stream.chain.verifyRows(mapIter(snap.entries(node), toChainRow), null);
    entries += r.entries;
    nodes.push({ node, entries: r.entries, ok: r.ok });
    for (const p of r.problems) problems.push({ ...p, node, subject: entrySubject(node, p.id), source: 'stream' });
  }
  for (const m of snap.malformed) {
    const node = m.subject.split('.')[2];
    const named = node !== undefined && NODE_ID.test(node) ? node : undefined;
    problems.push({
      id: m.subject,
      seq: 0,
      problem: 'modified',
      detail: `stream message ${m.streamSeq}: ${m.detail}`,
      subject: m.subject,
      source: 'stream',
      ...(named ? { node: named } : {}),
    });
    if (named) {
      const n = nodes.find((x) => x.node === named);
      if (n) n.ok = false;
      else nodes.push({ node: named, entries: 0, ok: false });
    }
  }
  if (snap.malformedCount > snap.malformed.length) {
    problems.push({
      id: '-',
      seq: 0,
      problem: 'modified',
      detail: `${snap.malformedCount - snap.malformed.length} more malformed messages in the cluster log`,
      source: 'stream',
    });
  }
  nodes.sort((a, b) => a.node.localeCompare(b.node));
  return { ok: problems.length === 0, entries, problems, verifiedAt: new Date().toISOString(), nodes };
}

interface LocalRow {
  id: string;
  seq: number;
  log_chain: string | null;
  log_seal: string | null;
}

/**
 * This node's rows against the stream's copies. A row still in the outbox is not compared (its newest
 * version is not published yet). The snapshot was read before this runs, so a write published since can
 * make a row differ from its (older) copy: each difference is checked again against the live stream and
 * the row as it is now before it is reported.
 */
async function compareLocal(stream: CommandLogStream, snap: ClusterLogSnapshot): Promise<ClusterLogProblem[]> {
  const me = stream.nodeId;
  const db = stream.db;
  const queued = new Set(db.prepare('SELECT DISTINCT command_id FROM log_outbox').pluck().all() as string[]);
  const suspects: LocalRow[] = [];
  const problems: ClusterLogProblem[] = [];
  let unchecked = 0;
  for (const r of db
    .prepare('SELECT id, seq, log_chain, log_seal FROM commands ORDER BY seq')
    .iterate() as IterableIterator<LocalRow>) {
    if (queued.has(r.id)) continue;
    const s = snap.entry(me, r.id);
    if (s && s.seq === r.seq && s.chain === r.log_chain && s.seal === r.log_seal) continue;
    if (suspects.length < MAX_RECHECKS) suspects.push(r);
    else {
      unchecked++;
      problems.push(describe(me, r, s ?? null));
    }
  }
  for (const r of suspects) {
    const row = db.prepare('SELECT id, seq, log_chain, log_seal FROM commands WHERE id = ?').get(r.id) as
      LocalRow | undefined;
    if (!row || db.prepare('SELECT 1 FROM log_outbox WHERE command_id = ?').get(r.id)) continue;
    const live = await fetchEntry(stream.ctx, stream.stream, entrySubject(me, r.id));
    // A malformed copy is already reported by the stream's verification.
    if (typeof live === 'string') continue;
    if (live && live.seq === row.seq && live.chain === row.log_chain && live.seal === row.log_seal) continue;
    problems.push(describe(me, row, live ? { seq: live.seq, chain: live.chain, seal: live.seal } : null));
  }
  if (unchecked > 0)
    stream.ctx.log.warn('command log: many local entries differ from the cluster log; reported without a second look', {
      entries: unchecked,
    });

  // Entries the stream holds for this node that its database no longer has.
  const has = db.prepare('SELECT 1 FROM commands WHERE id = ?');
  for (const entry of snap.entries(me) as Generator<StreamEntry>) {
    if (!has.get(entry.id)) {
      problems.push({
        id: entry.id,
        seq: entry.seq,
        problem: 'deleted',
        detail: "in the cluster log but no longer in this node's database",
        node: me,
        subject: entrySubject(me, entry.id),
        source: 'database',
      });
    }
  }
  return problems;
}

function describe(
  node: string,
  r: LocalRow,
  s: { seq: number; chain: string | null; seal: string | null } | null,
): ClusterLogProblem {
  const base = { id: r.id, seq: r.seq, node, subject: entrySubject(node, r.id), source: 'database' as const };
  if (!s)
    return {
      ...base,
      problem: 'deleted',
      detail: "in this node's database but missing from the cluster log (published, then removed from the stream)",
    };
  if (s.seq !== r.seq)
    return {
      ...base,
      problem: 'reordered',
      detail: `the cluster log has it at seq ${s.seq}, this node's database at seq ${r.seq}`,
    };
  if (s.chain !== r.log_chain)
    return {
      ...base,
      problem: 'modified',
      detail:
        "its chain in this node's database differs from its copy in the cluster log (rewritten after it was published)",
    };
  return {
    ...base,
    problem: 'modified',
    detail:
      "its seal in this node's database differs from its copy in the cluster log (its final fields were rewritten after it was published)",
  };
}

function* mapIter<T, U>(it: Iterable<T>, fn: (t: T) => U): Generator<U> {
  for (const t of it) yield fn(t);
}

/**
 * The whole cluster's command log as the REST log routes see it (command-log-source.ts): read from the
 * mirrored read model, verified and exported from the stream.
 */
export function clusterCommandLog(db: Db, stream: CommandLogStream, mirror: ClusterLogMirror): CommandLogSource {
  return {
    view: new CommandLogView(db, 'cluster_commands'),
    // What this node just wrote is published and mirrored before a log read answers (a few ms), never
    // waited on for long: a NATS outage serves what the view holds.
    ready: () =>
      Promise.race([
        stream.flushed().then(() => mirror.caughtUp(2_000)),
        new Promise<void>((r) => setTimeout(r, 2_000)),
      ]).catch(() => undefined),
    verify: () => unreadable(() => verifyNodeAndCluster(stream)),
    exportJsonl: (res, afterSeq) => unreadable(() => exportClusterJsonl(stream, res, afterSeq)),
  };
}

/** A stream that cannot be read answers 503 with why. */
async function unreadable<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RestError) throw e;
    throw new RestError(503, `the cluster command log cannot be read: ${describeError(e)}`);
  }
}
