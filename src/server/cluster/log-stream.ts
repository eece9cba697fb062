/**
 * The command log of a cluster in one JetStream stream, `LR_LOG`. Each node keeps writing and
 * chaining its own commands in its own SQLite exactly as a single node does (log-chain.ts; every node has
 * the same chain key); this module copies the latest version of each of its rows into the stream, on the
 * subject `lr.log.<node>.<command>` (one message kept per subject: an entry's later versions replace the
 * earlier ones). The payload is the row as the SIEM export writes it (chain and seal included) plus the
 * node, so any node can verify and export every node's chain (log-snapshot.ts, log-verify.ts).
 *
 * Durability: the chain's write event (`written`, inside the row's SQLite transaction) only adds the id to
 * an outbox table in the same transaction; a drain loop publishes the row as it is then, waits for the
 * stream's acknowledgement, and only then removes the outbox rows it covered. A crash between the commit
 * and the acknowledgement leaves the id in the outbox, published at the next start. NATS being away never
 * blocks or fails a command: the outbox grows and drains when the stream answers again.
 *
 * A payload larger than the server's max_payload (a command keeps up to logOutputBytes, 1 MiB by default,
 * of output) is split: parts 1..n-1 go to `lr.log.<node>.<command>.<k>` first, then the head, carrying
 * part 0 with the number of parts and the SHA-256 of the whole payload in its headers.
 *
 * Authenticity (cluster-key.ts): the head message carries the cluster key's MAC over its subject, the
 * writer, a version (this node's monotonic clock) and the whole payload. Readers (the log view, `lr log
 * verify`, the export) drop a message whose MAC fails; the view keeps, per entry, the newest version it
 * applied, so an authentic older version of an entry published again does not replace the newer one.
 */
import { createHash } from 'node:crypto';
import { DiscardPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { LogChain } from '../log-chain.js';
import type { ClusterContext } from './cluster-context.js';
import { MAC_HEADER, MonotonicClock, VERSION_HEADER, WRITER_HEADER } from './cluster-key.js';
import { describeError } from '../../shared/errors.js';

export const LOG_STREAM = 'LR_LOG';
export const LOG_SUBJECT_PREFIX = 'lr.log';
/** Headers of a split payload's head message. */
export const PARTS_HEADER = 'Lr-Log-Parts';
export const DIGEST_HEADER = 'Lr-Log-Sha256';

/** Outbox rows read per round; each command in it is published once per round (its latest version). */
const BATCH = 256;
/** Publishes awaiting their acknowledgement at once. */
const CONCURRENCY = 64;
/** Room left in a message for the headers and the protocol line. */
const HEADROOM = 8 * 1024;
const MAX_RETRY_MS = 5_000;
/** A NATS outage is reported once per this many ms, not once per retry. */
const WARN_EVERY_MS = 30_000;

const SAFE_TOKEN = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * A command id as one subject token. Ids the service makes are always safe; anything else (a legacy or
 * tampered row) is base64url under a `~` prefix, which a safe id cannot contain.
 */
export function idToken(id: string): string {
  return SAFE_TOKEN.test(id) ? id : `~${Buffer.from(id, 'utf8').toString('base64url')}`;
}

export function entrySubject(node: string, id: string): string {
  return `${LOG_SUBJECT_PREFIX}.${node}.${idToken(id)}`;
}

export interface CommandLogStreamOptions {
  /** Stream name (tests use their own); LR_LOG by default. */
  stream?: string;
}

export class CommandLogStream {
  private stopped = false;
  private scheduled = false;
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 100;
  private lastWarn = 0;
  private waiters: (() => void)[] = [];
  private readonly maxPart: number;
  private readonly enqueue: Statement<[string]>;
  private readonly clock = new MonotonicClock();

  private constructor(
    readonly ctx: ClusterContext,
    readonly db: Db,
    readonly chain: LogChain,
    readonly stream: string,
  ) {
    const maxPayload = (ctx.nc.info as { max_payload?: number } | undefined)?.max_payload ?? 1024 * 1024;
    this.maxPart = Math.max(16 * 1024, maxPayload - HEADROOM);
    this.enqueue = db.prepare('INSERT INTO log_outbox (command_id) VALUES (?)');
  }

  get nodeId(): string {
    return this.ctx.nodeId;
  }

  /** Largest message payload this node writes (the server's max_payload minus room for headers). */
  get maxPartBytes(): number {
    return this.maxPart;
  }

  /**
   * Opens the stream (created by whichever node comes first), creates the outbox and starts draining what a
   * previous run left in it. A node that runs in a cluster for the first time enqueues its whole existing
   * log, so the cluster log holds its history too.
   */
  static async open(
    ctx: ClusterContext,
    db: Db,
    chain: LogChain,
    opts: CommandLogStreamOptions = {},
  ): Promise<CommandLogStream> {
    const stream = opts.stream ?? LOG_STREAM;
    await ensureStream(ctx, stream);
    const fresh = !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_outbox'").get();
    db.exec(`CREATE TABLE IF NOT EXISTS log_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, command_id TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS log_outbox_command ON log_outbox(command_id, seq);`);
    if (fresh) {
      const n = db.prepare('INSERT INTO log_outbox (command_id) SELECT id FROM commands ORDER BY seq').run().changes;
      if (n > 0) ctx.log.info('command log: existing entries queued for the cluster log', { entries: n });
    }
    const s = new CommandLogStream(ctx, db, chain, stream);
    // Every write the chain has chained and sealed, in its transaction: never before the chain (see `written`).
    chain.onWritten((id) => s.written(id));
    s.kick();
    return s;
  }

  /**
   * The chain's write event, called inside the write's transaction once the chain is done: the entry joins the
   * outbox in that transaction, so it is published if and only if the write commits. Never throws: a
   * failure here must not fail the command; it is logged (the entry then reaches the stream with its next
   * write, or not at all, which `lr log verify` on the cluster reports as a missing entry).
   */
  written(id: string): void {
    // Queued even once stopped (a write during shutdown): the next start publishes it.
    try {
      this.enqueue.run(id);
    } catch (e) {
      this.ctx.log.error('command log: cannot queue an entry for the cluster log', { id, error: describeError(e) });
      return;
    }
    // After the commit: the transaction that called us is synchronous, setImmediate runs once it is over.
    this.kick();
  }

  /** Outbox rows not yet acknowledged by the stream. */
  pending(): number {
    return this.db.prepare('SELECT COUNT(*) FROM log_outbox').pluck().get() as number;
  }

  /**
   * Resolves once the outbox is empty (every write so far is in the stream). Never rejects; may wait forever while NATS
   * is away.
   */
  flushed(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
    });
  }

  /**
   * Stops publishing (what is left in the outbox is published at the next start) and waits for the round in progress.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.running;
  }

  private kick(): void {
    if (this.stopped || this.scheduled || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain()
      .catch((e: unknown) => this.failed(e))
      .finally(() => {
        this.running = null;
        this.settle();
      });
  }

  /** Publishes the outbox round after round until it is empty. A failure ends the loop; a timer retries. */
  private async drain(): Promise<void> {
    const read = this.db.prepare('SELECT seq, command_id FROM log_outbox ORDER BY seq LIMIT ?');
    const done = this.db.prepare('DELETE FROM log_outbox WHERE command_id = ? AND seq <= ?');
    while (!this.stopped) {
      const rows = read.all(BATCH) as { seq: number; command_id: string }[];
      if (rows.length === 0) return;
      // One publish per command per round, of its version now: it covers every outbox row read for it.
      const upTo = new Map<string, number>();
      for (const r of rows) upTo.set(r.command_id, r.seq);
      const ids = [...upTo.keys()];
      const published: string[] = [];
      let failure: unknown = null;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length && failure === null && !this.stopped) {
          const id = ids[next++] as string;
          try {
            await this.publish(id);
            published.push(id);
          } catch (e) {
            failure = e;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
      // One transaction for the round (each its own would be one fsync per entry). Outbox rows added for an
      // entry since the read (a newer write) stay: that version is published next round.
      if (published.length > 0 && this.db.open) {
        this.db.transaction(() => {
          for (const id of published) done.run(id, upTo.get(id) as number);
        })();
      }
      if (failure !== null) throw failure;
      this.retryMs = 100;
      this.settle();
    }
  }

  /** Publishes the entry's current version (a row deleted since was never the service's doing: nothing to publish). */
  private async publish(id: string): Promise<void> {
    const record = this.chain.exportRecordOf(id);
    if (!record) {
      this.ctx.log.warn('command log: an entry queued for the cluster log is no longer in the database', { id });
      return;
    }
    const subject = entrySubject(this.ctx.nodeId, id);
    const body = Buffer.from(JSON.stringify({ ...record, node: this.ctx.nodeId }), 'utf8');
    const h = headers();
    const version = String(this.clock.next());
    h.set(WRITER_HEADER, this.ctx.nodeId);
    h.set(VERSION_HEADER, version);
    h.set(
      MAC_HEADER,
      this.ctx.mac.tag({ kind: 'log', where: subject, writer: this.ctx.nodeId, version, payload: body }),
    );
    if (body.length <= this.maxPart) {
      await this.ctx.js.publish(subject, body, { headers: h });
      return;
    }
    const parts = Math.ceil(body.length / this.maxPart);
    for (let k = 1; k < parts; k++)
      await this.ctx.js.publish(`${subject}.${k}`, body.subarray(k * this.maxPart, (k + 1) * this.maxPart));
    h.set(PARTS_HEADER, String(parts));
    h.set(DIGEST_HEADER, createHash('sha256').update(body).digest('hex'));
    await this.ctx.js.publish(subject, body.subarray(0, this.maxPart), { headers: h });
  }

  private failed(e: unknown): void {
    if (this.stopped) return;
    if (Date.now() - this.lastWarn > WARN_EVERY_MS) {
      this.lastWarn = Date.now();
      this.ctx.log.warn('command log: cannot publish to the cluster log, retrying', {
        pending: this.pendingOrNull(),
        error: describeError(e),
      });
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
  }

  private pendingOrNull(): number | null {
    try {
      return this.pending();
    } catch {
      return null;
    }
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    if (this.pendingOrNull() !== 0) {
      // An entry queued while the last round ran (or after it failed): another round takes it.
      if (!this.stopped) this.kick();
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Creates the stream, or opens it when another node did; warns when its settings are not ours. */
async function ensureStream(ctx: ClusterContext, name: string): Promise<void> {
  const cfg: Partial<StreamConfig> & { name: string } = {
    name,
    subjects: [`${LOG_SUBJECT_PREFIX}.>`],
    storage: StorageType.File,
    num_replicas: ctx.replicas,
    // The latest version of each entry: an entry is written at its insert and again when it ends.
    max_msgs_per_subject: 1,
    discard: DiscardPolicy.Old,
    description: 'lr command log of every node (hash-chained per node)',
  };
  try {
    await ctx.jsm.streams.add(cfg);
  } catch (e) {
    // Another node created it first (maybe with other replicas): use it as it is.
    const info = await ctx.jsm.streams.info(name).catch(() => {
      throw e;
    });
    if (info.config.max_msgs_per_subject !== 1)
      ctx.log.warn('command log stream keeps more than one message per entry', {
        stream: name,
        max: info.config.max_msgs_per_subject,
      });
  }
}
