/**
 * The whole cluster's command log, readable on every node (the log viewer, `lr log`): a local table
 * `cluster_commands` with the columns of `commands`, fed from the LR_LOG stream (log-stream.ts) by an
 * ordered consumer, this node's own entries included. The stream stays the record (chained, verified by
 * `lr log verify`); this is only a read model, so an analyst on node 1 sees the commands run through node 2
 * within milliseconds, with the same filters and paging as a single node.
 *
 * Rows are keyed by command id; a later version of an entry (its end) updates its row in place, so the
 * table's own seq is the order in which commands were first seen (close to their start order across
 * nodes). Where it stopped reading is kept in the same transaction as the rows, so a restart resumes
 * there; entries it cannot parse, or whose cluster-key MAC fails, are skipped with a warning (verification
 * reports them). Each row keeps the version its writer gave it: an authentic older version of an entry
 * published again (a replay) never replaces a newer one.
 */
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { ClusterContext } from './cluster-context.js';
import { LOG_STREAM, LOG_SUBJECT_PREFIX, PARTS_HEADER } from './log-stream.js';
import { MAC_HEADER, VERSION_HEADER, WRITER_HEADER } from './cluster-key.js';
import { fetchEntry, openEntry, type SealedEntry } from './log-snapshot.js';
import { describeError } from '../../shared/errors.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS cluster_commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    node TEXT NOT NULL,
    origin_seq INTEGER NOT NULL,
    stream_seq INTEGER NOT NULL,
    session_id TEXT,
    user_id TEXT NOT NULL,
    device_id TEXT,
    command_line TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    background INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_ms INTEGER,
    error TEXT,
    output TEXT NOT NULL DEFAULT '',
    output_size INTEGER NOT NULL DEFAULT 0,
    output_sha256 TEXT,
    output_truncated INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS cluster_commands_device ON cluster_commands(device_id, seq);
  CREATE INDEX IF NOT EXISTS cluster_commands_session ON cluster_commands(session_id, seq);
  CREATE INDEX IF NOT EXISTS cluster_commands_status ON cluster_commands(status, seq);
  CREATE INDEX IF NOT EXISTS cluster_commands_user ON cluster_commands(user_id, seq);
  CREATE TABLE IF NOT EXISTS cluster_log_state (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
`;

/** Entries applied per transaction at most (each transaction is an fsync). */
const BATCH = 256;

export class ClusterLogMirror {
  private messages: ConsumerMessages | null = null;
  private stopped = false;
  private appliedSeq: number;
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = [];

  private constructor(
    private readonly ctx: ClusterContext,
    private readonly db: Db,
    private readonly stream: string,
  ) {
    db.exec(SCHEMA);
    // Databases made before versions were kept: 0 = older than any sealed entry.
    const cols = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('cluster_commands') as string[];
    if (!cols.includes('version'))
      db.exec('ALTER TABLE cluster_commands ADD COLUMN version INTEGER NOT NULL DEFAULT 0');
    this.appliedSeq =
      (db.prepare("SELECT v FROM cluster_log_state WHERE k = 'stream_seq'").pluck().get() as number | undefined) ?? 0;
  }

  /** Starts mirroring (the stream must exist: CommandLogStream.open made it). Returns at once; reading goes on. */
  static start(ctx: ClusterContext, db: Db, stream = LOG_STREAM): ClusterLogMirror {
    const m = new ClusterLogMirror(ctx, db, stream);
    void m.run();
    return m;
  }

  /** Resolves once everything the stream held when called is in the table (tests; `lr log` right after a command). */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    const last = (await this.ctx.jsm.streams.info(this.stream)).state.last_seq;
    if (this.appliedSeq >= last) return;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push({ seq: last, resolve })),
      new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error(`the cluster log view did not catch up in ${timeoutMs} ms`)), timeoutMs),
      ),
    ]);
  }

  private async run(): Promise<void> {
    let delay = 500;
    while (!this.stopped) {
      try {
        await this.consume();
        delay = 500;
      } catch (e) {
        if (this.stopped) return;
        this.ctx.log.warn('cluster log view: reading the stream failed (retrying)', { error: describeError(e) });
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }

  private async consume(): Promise<void> {
    const consumer = await this.ctx.js.consumers.get(this.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.appliedSeq + 1,
    });
    const messages = await consumer.consume({ max_bytes: 4 * 1024 * 1024 });
    this.messages = messages;
    let batch: Array<{ entry: SealedEntry; streamSeq: number }> = [];
    let batchLast = this.appliedSeq;
    const flush = () => {
      if (batchLast === this.appliedSeq) return;
      this.apply(batch, batchLast);
      batch = [];
    };
    for await (const m of messages) {
      const tokens = m.subject.split('.');
      if (`${tokens[0]}.${tokens[1]}` === LOG_SUBJECT_PREFIX && tokens.length === 4) {
        const split = (m.headers?.get(PARTS_HEADER) ?? '') !== '';
        const hv = (name: string) => m.headers?.get(name) || null;
        // A split entry's parts were published before its head: read them all (latest version) by subject.
        const got = split
          ? await fetchEntry(this.ctx, this.stream, m.subject)
          : openEntry(
              this.ctx.mac,
              m.subject,
              { writer: hv(WRITER_HEADER), version: hv(VERSION_HEADER), mac: hv(MAC_HEADER) },
              Buffer.from(m.data),
            );
        if (got && typeof got !== 'string' && got.node === tokens[2]) batch.push({ entry: got, streamSeq: m.seq });
        else if (got !== null)
          this.ctx.drops.drop('log', typeof got === 'string' ? got : 'its node does not match its subject', {
            subject: m.subject,
          });
      }
      batchLast = m.seq;
      if (batch.length >= BATCH || m.info.pending === 0) flush();
    }
    flush();
  }

  private apply(batch: Array<{ entry: SealedEntry; streamSeq: number }>, lastSeq: number): void {
    const upsert = this.db.prepare(
      `INSERT INTO cluster_commands (id, version, node, origin_seq, stream_seq, session_id, user_id, device_id, command_line, name, status, background, started_at, ended_at, duration_ms, error, output, output_size, output_sha256, output_truncated)
       VALUES (@id, @version, @node, @originSeq, @streamSeq, @sessionId, @userId, @deviceId, @commandLine, @name, @status, @background, @startedAt, @endedAt, @durationMs, @error, @output, @outputSize, @outputSha256, @outputTruncated)
       ON CONFLICT(id) DO UPDATE SET version = excluded.version, node = excluded.node, origin_seq = excluded.origin_seq, stream_seq = excluded.stream_seq, session_id = excluded.session_id,
         user_id = excluded.user_id, device_id = excluded.device_id, command_line = excluded.command_line, name = excluded.name, status = excluded.status,
         background = excluded.background, started_at = excluded.started_at, ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, error = excluded.error,
         output = excluded.output, output_size = excluded.output_size, output_sha256 = excluded.output_sha256, output_truncated = excluded.output_truncated
       WHERE excluded.stream_seq > cluster_commands.stream_seq AND excluded.version >= cluster_commands.version AND excluded.node = cluster_commands.node`,
    );
    const mark = this.db.prepare(
      "INSERT INTO cluster_log_state (k, v) VALUES ('stream_seq', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    );
    // A read model needs no fsync per batch: a power cut loses the last rows and the mark that covers them
    // together (one transaction), and they are read again from the stream. The service's own writes keep
    // synchronous=FULL: the pragma is set back before anything else can run on this connection.
    this.db.pragma('synchronous = NORMAL');
    try {
      this.applyBatch(batch, lastSeq, upsert, mark);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    this.appliedSeq = lastSeq;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as { seq: number; resolve: () => void };
      if (w.seq <= lastSeq) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private applyBatch(
    batch: Array<{ entry: SealedEntry; streamSeq: number }>,
    lastSeq: number,
    upsert: Statement,
    mark: Statement,
  ): void {
    this.db.transaction(() => {
      for (const { entry: e, streamSeq } of batch) {
        upsert.run({
          id: e.id,
          version: e.version,
          node: e.node,
          originSeq: e.seq,
          streamSeq,
          sessionId: e.sessionId,
          userId: e.userId,
          deviceId: e.deviceId,
          commandLine: e.commandLine,
          name: e.name,
          status: e.status,
          background: e.background ? 1 : 0,
          startedAt: e.startedAt,
          endedAt: e.endedAt,
          durationMs: e.durationMs,
          error: e.error,
          output: e.output,
          outputSize: e.outputSize,
          outputSha256: e.outputSha256,
          outputTruncated: e.outputTruncated ? 1 : 0,
        });
      }
      mark.run(lastSeq);
    })();
  }

  stop(): void {
    this.stopped = true;
    void this.messages?.close();
  }
}
