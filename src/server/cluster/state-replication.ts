/**
 * The shared state of a cluster of nodes: users, tokens, devices, settings, groups, library
 * metadata and indicators (state-tables.ts) are made the same on every node through one JetStream KV bucket,
 * the cluster's source of truth, while each node keeps reading and writing its own SQLite database as the
 * single node does (all the synchronous code above the database is unchanged).
 *
 * - Capture: SQLite triggers append every local write of a shared table to a durable outbox, in the
 *   writer's own transaction, so a write is never lost between the commit and the publish.
 * - Publish: the outbox is drained in order to the bucket (key `<table>.<base64url pk JSON>`, value the row
 *   JSON, a delete = a KV delete marker); a row leaves the outbox only once JetStream acknowledged it, so a
 *   crash in between publishes it again at the next start (a put is idempotent).
 * - Apply: every node watches the whole bucket from its start and applies every entry, its own included,
 *   in the bucket's order: that order is the same on every node, so two nodes writing the same row converge
 *   (the later write in the stream wins), and a unique-name collision resolves the same way everywhere.
 *   An entry for a row this node has written and not yet had acknowledged is held back (it is older than
 *   the local write, or about to be overtaken by it): applying it would undo the local write for a moment.
 *   Once the local write is acknowledged, the held entry is applied if the stream put it after ours.
 * - Start-up: the outbox is published first (writes made while NATS was unreachable, or by the offline CLI,
 *   win over what the bucket held), then the bucket is applied up to its last sequence; the local rows the
 *   bucket does not have are then deleted (a joining node adopts the cluster's state). An empty bucket is
 *   seeded with all the node's rows (the first node of a new cluster, made by `lr-server init`).
 * - Authenticity (cluster-key.ts): every value is sealed with the cluster key's MAC over the bucket, the
 *   key, the writer, a version and the row; a delete is a sealed tombstone (a KV delete marker cannot carry
 *   a MAC, so markers are never obeyed). An entry whose MAC fails is dropped before it touches anything.
 * - Replays: the version is the writer's monotonic clock, at least one more than the newest version this
 *   node had seen for that key. Each node keeps the newest version applied per key (`repl_versions`, in the
 *   apply transaction, so it survives restarts) and refuses an entry older than it: an authentic old row
 *   (a user before it was disabled, a token before it was revoked) published again is not applied. Two
 *   nodes writing one key at once may produce a legitimately older version after a newer one in the
 *   stream: its writer, seeing its own entry refused, publishes its row again with a newer version, so
 *   every node converges (and the bucket never keeps a value every node refused).
 */
import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { headers, type QueuedIterator } from '@nats-io/transport-node';
import { openBucket, type ClusterContext } from './cluster-context.js';
import { MonotonicClock, openValue, sealValue } from './cluster-key.js';
import type { Db } from '../db.js';
import {
  captureSql,
  checkRow,
  CONTROL_TABLE,
  dropCaptureSql,
  MAX_ROW_BYTES,
  OUTBOX_TABLE,
  VERSIONS_TABLE,
  parseKey,
  prepareTable,
  rowKey,
  seedSql,
  SHARED_TABLES,
  type PkValue,
  type RowValue,
  type TableStatements,
} from './state-tables.js';
import { describeError } from '../../shared/errors.js';

export interface StateReplicationOptions {
  /** KV bucket shared by all the nodes (created if missing). */
  bucket?: string;
  /** How often the outbox is checked for local writes to publish (ms); kick() publishes at once. */
  pollMs?: number;
  /**
   * Same as onApplied(), but registered before the start-up sync, so that caches built before start()
   * (TenantSettings) also hear about what the start-up applied.
   */
  onApplied?: (table: string) => void;
  /**
   * Whether this node may seed an empty bucket with its rows (default true). A node made with `init
   * --cluster-from` must not: its database holds only what every fresh database holds (the default group),
   * and if it seeded first, the bucket would no longer be empty when the first node starts, which would
   * then drop its own users as "not in the cluster" (nodes started at the same moment race like that).
   */
  seed?: boolean;
}

interface OutboxRow {
  seq: number;
  tbl: string;
  pk: string;
  row: string | null;
}

/** Outbox rows read and published per round (bounded: at most this many publishes in flight). */
const DRAIN_BATCH = 256;
/** Watched entries applied per SQLite transaction at most (one fsync per transaction). */
const APPLY_BATCH = 512;
/** Wait before watching again when the watch ended on its own (consumer lost, NATS restarted). */
const REWATCH_MS = 1_000;

/** Removes the capture from a database (a node started without --nats must not grow an outbox). */
export function removeStateCapture(db: Db): void {
  db.exec(dropCaptureSql());
}

export class StateReplication {
  private readonly tables = new Map<string, TableStatements>();
  private readonly listeners: ((table: string) => void)[] = [];
  /** Stream sequence of the last entry this node has applied (or deliberately skipped). */
  private appliedSeq = 0;
  private waiters: { seq: number; resolve: () => void }[] = [];
  /** Remote entries held back because this node has unacknowledged writes to the same key (see the top). */
  private readonly held = new Map<string, KvEntry>();
  /**
   * Rows of tables with a unique column (users: a few hundred): the stream sequence each was last applied
   * from, and for rows removed by a unique collision, the sequence of the entry that removed them.
   */
  private readonly uniqueRevs = new Map<string, number>();
  private readonly evictedAt = new Map<string, number>();
  /** During the initial sync: the rows the bucket holds (table + pk JSON), to find local rows it lacks. */
  private present: Set<string> | null = new Set();
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private iter: QueuedIterator<KvEntry> | null = null;
  private watching: Promise<void> | null = null;
  private stopped = false;
  private readonly stmts;
  private readonly clock = new MonotonicClock();

  private constructor(
    private readonly ctx: ClusterContext,
    private readonly db: Db,
    private readonly kv: KV,
    private readonly bucket: string,
    private readonly pollMs: number,
    private readonly seed: boolean,
  ) {
    for (const t of SHARED_TABLES) this.tables.set(t.name, prepareTable(db, t));
    this.stmts = {
      outbox: db.prepare(`SELECT seq, tbl, pk, row FROM ${OUTBOX_TABLE} ORDER BY seq LIMIT ?`),
      outboxMax: db.prepare(`SELECT max(seq) FROM ${OUTBOX_TABLE}`).pluck(),
      outboxUpTo: db.prepare(`SELECT 1 FROM ${OUTBOX_TABLE} WHERE seq <= ? LIMIT 1`).pluck(),
      pending: db.prepare(`SELECT 1 FROM ${OUTBOX_TABLE} WHERE tbl = ? AND pk = ? LIMIT 1`).pluck(),
      pendingKeys: db.prepare(`SELECT DISTINCT tbl, pk FROM ${OUTBOX_TABLE}`),
      done: db.prepare(`DELETE FROM ${OUTBOX_TABLE} WHERE seq IN (SELECT value FROM json_each(?))`),
      applying: db.prepare(`UPDATE ${CONTROL_TABLE} SET applying = ? WHERE id = 1`),
      version: db.prepare(`SELECT v FROM ${VERSIONS_TABLE} WHERE k = ?`).pluck(),
      setVersion: db.prepare(
        `INSERT INTO ${VERSIONS_TABLE} (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = max(v, excluded.v)`,
      ),
    };
  }

  /**
   * Installs the capture, opens (or creates) the bucket, publishes this node's pending writes, applies the
   * whole bucket and adopts it. Resolves once the node holds everything the bucket held when it started.
   */
  static async start(ctx: ClusterContext, db: Db, opts: StateReplicationOptions = {}): Promise<StateReplication> {
    db.transaction(() => {
      db.exec(captureSql());
      db.exec(`CREATE INDEX IF NOT EXISTS ${OUTBOX_TABLE}_key ON ${OUTBOX_TABLE}(tbl, pk)`);
      // Only ever set inside an apply transaction (a crash rolls it back), but a flag stuck at 1 would
      // silently stop all capture: make sure.
      db.exec(`UPDATE ${CONTROL_TABLE} SET applying = 0`);
    })();
    const bucket = opts.bucket ?? 'lr-state';
    // Created meanwhile by another node (or with other settings): openBucket uses it as it is.
    const kv = await openBucket(ctx, bucket, {
      history: 1,
      replicas: ctx.replicas,
      description: 'lr shared state (users, tokens, devices, settings, groups, library, indicators)',
    });
    const r = new StateReplication(ctx, db, kv, bucket, opts.pollMs ?? 25, opts.seed ?? true);
    if (opts.onApplied) r.onApplied(opts.onApplied);
    try {
      await r.init();
    } catch (e) {
      await r.stop();
      throw e;
    }
    return r;
  }

  private get stream(): string {
    return `KV_${this.bucket}`;
  }

  private async init(): Promise<void> {
    const before = (await this.ctx.jsm.streams.info(this.stream)).state;
    if (before.messages === 0 && this.seed) {
      // A new cluster: this node's rows become the cluster's. Through the outbox, so that a crash half-way
      // publishes the rest at the next start (and never takes "partly seeded" for "the cluster's state").
      this.db.transaction(() => {
        for (const t of SHARED_TABLES) this.db.exec(seedSql(t));
      })();
      const n = this.stmts.outboxMax.get() as number | null;
      if (n)
        this.ctx.log.info("state replication: seeding the empty bucket with this node's shared rows", {
          bucket: this.bucket,
        });
    }
    await this.flush();
    const last = (await this.ctx.jsm.streams.info(this.stream)).state.last_seq;
    this.watching = this.watchLoop();
    await this.appliedTo(last);
    this.adopt();
    this.timer = setInterval(() => {
      if (!this.draining && this.stmts.outboxMax.get() !== null) this.kick();
    }, this.pollMs);
    this.timer.unref();
  }

  /** Called with a table's name after remote changes to it were applied (caches reload). */
  onApplied(listener: (table: string) => void): void {
    this.listeners.push(listener);
  }

  /** Publishes the outbox now (the timer would within pollMs). Never throws; failures are retried. */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = (async () => {
      do {
        this.drainAgain = false;
        try {
          while (!this.stopped && (await this.drainOnce()) > 0);
        } catch (e) {
          // NATS unreachable or slow: the rows stay in the outbox; the timer tries again.
          this.ctx.log.warn('state replication: publishing failed, will retry', { error: describeError(e) });
          return;
        }
      } while (this.drainAgain && !this.stopped);
    })().finally(() => {
      this.draining = null;
    });
  }

  /**
   * Resolves when this node's writes so far are published and everything the bucket held at that moment
   * (anyone's writes) is applied here.
   */
  async synced(): Promise<void> {
    await this.flush();
    const last = (await this.ctx.jsm.streams.info(this.stream)).state.last_seq;
    await this.appliedTo(last);
  }

  /** Stops publishing and watching. Unpublished writes stay in the outbox for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.iter?.stop();
    await this.draining;
    await this.watching;
    for (const w of this.waiters) w.resolve(); // nobody waits forever on a stopped replicator
    this.waiters = [];
  }

  // ---------- publishing ----------

  /** Publishes until every outbox row present now is acknowledged (retrying while NATS does not answer). */
  private async flush(): Promise<void> {
    const target = this.stmts.outboxMax.get() as number | null;
    if (target === null) return;
    for (let attempt = 0; !this.stopped && this.stmts.outboxUpTo.get(target) !== undefined; attempt++) {
      if (attempt > 0) await sleep(Math.min(1_000, 20 * attempt));
      this.kick();
      await this.draining;
    }
  }

  /** One round: the oldest outbox rows, the last write of each key published, the rows removed once acked. */
  private async drainOnce(): Promise<number> {
    const rows = this.stmts.outbox.all(DRAIN_BATCH) as OutboxRow[];
    if (rows.length === 0) return 0;
    // Only the last write of a key in this round matters; distinct keys can be published in parallel (their
    // relative order does not change any row's outcome, the stream fixes it for every node alike).
    const last = new Map<string, OutboxRow>();
    for (const r of rows) last.set(rowKey(r.tbl, r.pk), r);
    const acks = await Promise.all([...last].map(async ([key, r]) => ({ key, seq: await this.publish(key, r.row) })));
    this.stmts.done.run(JSON.stringify(rows.map((r) => r.seq)));
    for (const { key, seq } of acks) this.release(key, seq);
    return rows.length;
  }

  /**
   * A sealed put of the row, or (row null) of a sealed tombstone; answers the stream sequence JetStream gave
   * it. Its version is newer than anything this node has seen for the key, and than its own earlier writes.
   */
  private async publish(key: string, row: string | null): Promise<number> {
    const version = this.clock.next(((this.stmts.version.get(key) as number | undefined) ?? 0) + 1);
    const value = sealValue(this.ctx.mac, 'state', this.where(key), {
      writer: this.ctx.nodeId,
      version: String(version),
      data: row,
    });
    const pa = await this.ctx.js.publish(`$KV.${this.bucket}.${key}`, value, { headers: headers() });
    return pa.seq;
  }

  /** What the MAC binds an entry to: this bucket and the entry's key. */
  private where(key: string): string {
    return `${this.bucket}/${key}`;
  }

  /** Our write of `key` is acknowledged at `seq`: a remote entry held for it applies if the stream put it later. */
  private release(key: string, seq: number): void {
    const entry = this.held.get(key);
    if (!entry) return;
    const { tbl, pkJson } = splitKey(key);
    if (this.stmts.pending.get(tbl, pkJson) !== undefined) return; // written again meanwhile: still ours
    this.held.delete(key);
    if (entry.revision >= seq) this.applyBatch([entry], false);
  }

  // ---------- applying ----------

  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        const iter = (await this.kv.watch({
          include: KvWatchInclude.AllHistory,
          resumeFromRevision: this.appliedSeq + 1,
        })) as QueuedIterator<KvEntry>;
        this.iter = iter;
        if (this.stopped) iter.stop();
        let batch: KvEntry[] = [];
        for await (const entry of iter) {
          batch.push(entry);
          if (batch.length >= APPLY_BATCH || iter.getPending() === 0) {
            this.applyBatch(batch, true);
            batch = [];
          }
        }
        if (batch.length) this.applyBatch(batch, true);
      } catch (e) {
        if (!this.stopped)
          this.ctx.log.warn('state replication: watch failed, watching again', { error: describeError(e) });
      }
      if (!this.stopped) await sleep(REWATCH_MS);
    }
  }

  /**
   * Applies entries in one transaction with the capture off (the flag) and foreign keys off: after the
   * bucket compacted, a row may arrive before the row it references (a token before its user).
   */
  private applyBatch(entries: KvEntry[], advance: boolean): void {
    const changed = new Set<string>();
    let repairs = 0;
    this.db.pragma('foreign_keys = OFF');
    try {
      this.db.transaction(() => {
        this.stmts.applying.run(1);
        for (const entry of entries) if (this.applyOne(entry, changed) === 'repair') repairs++;
        this.stmts.applying.run(0);
      })();
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
    if (advance) {
      for (const entry of entries) this.appliedSeq = Math.max(this.appliedSeq, entry.revision);
      this.wake();
    }
    this.notify(changed);
    if (repairs) this.kick();
  }

  /** 'repair' when the entry was this node's own, refused as older than what another node wrote since. */
  private applyOne(entry: KvEntry, changed: Set<string>): 'repair' | undefined {
    const parsed = parseKey(entry.key);
    if (typeof parsed === 'string') {
      // Never the key or the value in the log: a key names a token id, a value holds hashes and keys.
      this.ctx.drops.drop('state', parsed, { bucket: this.bucket, seq: entry.revision });
      return;
    }
    const { table, pk, pkJson } = parsed;
    // Before anything else: only what a node of this cluster wrote counts, even for "is this row present".
    const sealed =
      entry.operation === 'PUT'
        ? openValue(this.ctx.mac, 'state', this.where(entry.key), entry.value)
        : 'an unauthenticated delete or purge marker';
    if (typeof sealed === 'string') {
      this.ctx.drops.drop('state', sealed, { bucket: this.bucket, table: table.name, seq: entry.revision });
      return;
    }
    const version = Number(sealed.version);
    if (!Number.isSafeInteger(version) || version <= 0) {
      this.ctx.drops.drop('state', 'bad version', { bucket: this.bucket, table: table.name, seq: entry.revision });
      return;
    }
    const newest = (this.stmts.version.get(entry.key) as number | undefined) ?? 0;
    if (version < newest) {
      this.ctx.drops.drop(
        'state-replay',
        'older than the version already applied (a replay, or a write that lost a race)',
        { bucket: this.bucket, table: table.name, seq: entry.revision, writer: sealed.writer },
      );
      if (sealed.writer !== this.ctx.nodeId) return;
      // Our own write, overtaken: publish what this node holds again, newer than both (see the top).
      this.tables.get(table.name)?.requeue(pk);
      return 'repair';
    }
    this.stmts.setVersion.run(entry.key, version);
    const ident = `${table.name}\u0000${JSON.stringify(pk)}`;
    if (sealed.data !== null) this.present?.add(ident);
    else this.present?.delete(ident);
    if (this.stmts.pending.get(table.name, pkJson) !== undefined) {
      this.held.set(entry.key, entry);
      return;
    }
    const stmts = this.tables.get(table.name) as TableStatements;
    const unique = table.unique !== undefined;
    // Applied late (held, see release()) after a later entry took this row's unique name: it lost.
    if (unique && (this.evictedAt.get(ident) ?? 0) > entry.revision) return;
    try {
      if (sealed.data === null) {
        stmts.remove(pk);
        this.uniqueRevs.delete(ident);
      } else {
        if (Buffer.byteLength(sealed.data) > MAX_ROW_BYTES) throw new Error('row too large');
        let raw: unknown;
        try {
          raw = JSON.parse(sealed.data);
        } catch {
          throw new Error('row is not JSON');
        }
        const row = checkRow(table, pk, raw);
        if (typeof row === 'string') throw new Error(row);
        // One savepoint per row: a row the schema refuses (a CHECK) is skipped, the batch goes on.
        this.db.transaction(() => {
          if (unique && !this.claimUnique(table.name, stmts, row, ident, entry.revision)) {
            stmts.remove(pk);
            return;
          }
          stmts.upsert(row);
        })();
      }
      changed.add(table.name);
    } catch (err) {
      this.ctx.drops.drop('state', describeError(err), { bucket: this.bucket, seq: entry.revision, table: table.name });
    }
    return undefined;
  }

  /**
   * A row taking a unique value (a user name) another local row holds: the write later in the stream wins,
   * whatever the order this node applies them in (a held entry is applied late). False when this row lost.
   * Local rows not applied from the bucket in this run count as oldest: they are this node's own unpublished
   * writes (published later, they win back) or rows the start-up is about to replace.
   */
  private claimUnique(tbl: string, stmts: TableStatements, row: RowValue, ident: string, revision: number): boolean {
    const colliders = stmts.colliding(row).map((pkJson) => ({ pkJson, ident: `${tbl}\u0000${normalise(pkJson)}` }));
    const newer = colliders.map((c) => this.uniqueRevs.get(c.ident) ?? 0).filter((r) => r > revision);
    if (newer.length) {
      this.uniqueRevs.delete(ident);
      this.evictedAt.set(ident, Math.max(...newer));
      return false;
    }
    for (const c of colliders) {
      stmts.remove(JSON.parse(c.pkJson) as PkValue);
      this.uniqueRevs.delete(c.ident);
      this.evictedAt.set(c.ident, revision);
    }
    this.uniqueRevs.set(ident, revision);
    this.evictedAt.delete(ident);
    return true;
  }

  /** After the initial sync: local rows the bucket does not hold go (unless written here and not yet published). */
  private adopt(): void {
    const present = this.present;
    this.present = null;
    if (!present) return;
    const pending = new Set(
      (this.stmts.pendingKeys.all() as { tbl: string; pk: string }[]).map((r) => `${r.tbl}\u0000${normalise(r.pk)}`),
    );
    const changed = new Set<string>();
    let removed = 0;
    this.db.pragma('foreign_keys = OFF');
    try {
      this.db.transaction(() => {
        this.stmts.applying.run(1);
        for (const t of SHARED_TABLES) {
          const stmts = this.tables.get(t.name) as TableStatements;
          for (const pkJson of stmts.localKeys()) {
            const ident = `${t.name}\u0000${normalise(pkJson)}`;
            if (present.has(ident) || pending.has(ident)) continue;
            stmts.remove(JSON.parse(pkJson) as (string | number)[]);
            changed.add(t.name);
            removed++;
          }
        }
        this.stmts.applying.run(0);
      })();
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
    if (removed)
      this.ctx.log.info('state replication: local rows the cluster does not have were removed', { rows: removed });
    this.notify(changed);
  }

  private notify(tables: Set<string>): void {
    for (const t of tables) {
      for (const l of this.listeners) {
        try {
          l(t);
        } catch (e) {
          this.ctx.log.error('state replication: a listener failed', { table: t, error: describeError(e) });
        }
      }
    }
  }

  private appliedTo(seq: number): Promise<void> {
    if (this.appliedSeq >= seq || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.seq <= this.appliedSeq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.seq > this.appliedSeq);
    for (const w of ready) w.resolve();
  }
}

/** A bucket key's table and pk JSON, unchecked (for keys this node made itself). */
function splitKey(key: string): { tbl: string; pkJson: string } {
  const dot = key.indexOf('.');
  return { tbl: key.slice(0, dot), pkJson: Buffer.from(key.slice(dot + 1), 'base64url').toString('utf8') };
}

function normalise(pkJson: string): string {
  return JSON.stringify(JSON.parse(pkJson));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
