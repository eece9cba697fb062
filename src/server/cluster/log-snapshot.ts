/**
 * One reading of the cluster log stream (log-stream.ts), for verification and export. The stream may hold
 * hundreds of thousands of entries, in publication order (an entry republished when its command ends sits
 * after later entries; nodes interleave), while a chain is verified per node in seq order. So the messages
 * are read once, with an ordered consumer, into a private temporary SQLite database (on disk, deleted on
 * close), and walked from there per node in seq order: memory holds one page, never the whole log.
 *
 * Everything read off the stream is validated: a message with a foreign subject, a payload that is not a
 * well-formed entry, a split payload whose parts are missing or do not match its digest, or an entry whose
 * subject does not name its node and id, or whose cluster-key MAC fails (cluster-key.ts), is a problem
 * reported against its subject, never a crash.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { ChainRow } from '../log-chain.js';
import { NODE_ID, type ClusterContext } from './cluster-context.js';
import { MAC_HEADER, VERSION_HEADER, WRITER_HEADER, type ClusterMac } from './cluster-key.js';
import { DIGEST_HEADER, idToken, LOG_SUBJECT_PREFIX, PARTS_HEADER } from './log-stream.js';

/** One entry of the stream as published: the export record plus its node. */
const entrySchema = z.object({
  id: z.string().min(1).max(512),
  seq: z.number().int().positive(),
  sessionId: z.string().nullable(),
  user: z.string(),
  deviceId: z.string().nullable(),
  deviceName: z.string().nullable(),
  commandLine: z.string(),
  name: z.string(),
  status: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  output: z.string(),
  outputSize: z.number().int().nonnegative(),
  outputSha256: z.string().nullable(),
  outputTruncated: z.boolean(),
  background: z.boolean(),
  userId: z.string(),
  chainPrev: z.string().nullable(),
  chain: z.string().nullable(),
  seal: z.string().nullable(),
  node: z.string().regex(NODE_ID),
});
export type StreamEntry = z.infer<typeof entrySchema>;

export interface MalformedMessage {
  subject: string;
  streamSeq: number;
  detail: string;
}

/** Malformed messages listed one by one; beyond, they are only counted (a stream full of junk must not fill memory). */
const MAX_MALFORMED = 1000;
const PAGE = 200;
const MAX_PARTS = 1024;
/** How long the reader waits for the next message before asking the stream whether one is due. */
const IDLE_CHECK_MS = 2_000;
const READ_STALL_MS = 30_000;

/** The row the chain covers, rebuilt from a stream entry (booleans back to the 0/1 of the column). */
export function toChainRow(entry: StreamEntry): ChainRow {
  return {
    seq: entry.seq,
    id: entry.id,
    session_id: entry.sessionId,
    user_id: entry.userId,
    device_id: entry.deviceId,
    command_line: entry.commandLine,
    name: entry.name,
    started_at: entry.startedAt,
    status: entry.status,
    ended_at: entry.endedAt,
    duration_ms: entry.durationMs,
    error: entry.error,
    output: entry.output,
    output_size: entry.outputSize,
    output_sha256: entry.outputSha256,
    output_truncated: entry.outputTruncated ? 1 : 0,
    background: entry.background ? 1 : 0,
    log_prev: entry.chainPrev,
    log_chain: entry.chain,
    log_seal: entry.seal,
  };
}

export class ClusterLogSnapshot {
  readonly malformed: MalformedMessage[] = [];
  malformedCount = 0;

  private constructor(private readonly tmp: Database.Database) {}

  /** Reads every message of the stream (as of now; later messages may be included) into a snapshot. */
  static async read(ctx: ClusterContext, stream: string, maxPayload: number): Promise<ClusterLogSnapshot> {
    const tmp = new Database(''); // a private temporary database, removed when closed
    const snap = new ClusterLogSnapshot(tmp);
    try {
      tmp.exec(`
        CREATE TABLE msgs (subject TEXT PRIMARY KEY, stream_seq INTEGER NOT NULL, parts INTEGER NOT NULL, digest TEXT, writer TEXT, version TEXT, mac TEXT, data BLOB NOT NULL);
        CREATE TABLE parts (subject TEXT NOT NULL, k INTEGER NOT NULL, stream_seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (subject, k));
        CREATE TABLE entries (subject TEXT PRIMARY KEY, node TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, chain TEXT, seal TEXT, json TEXT NOT NULL);`);
      await snap.load(ctx, stream, maxPayload);
      snap.assemble(ctx.mac);
      tmp.exec(
        'DROP TABLE msgs; DROP TABLE parts; CREATE INDEX entries_seq ON entries(node, seq); CREATE INDEX entries_id ON entries(node, id);',
      );
      return snap;
    } catch (e) {
      tmp.close();
      throw e;
    }
  }

  close(): void {
    this.tmp.close();
  }

  /** Nodes with at least one entry, sorted. */
  nodes(): string[] {
    return this.tmp.prepare('SELECT DISTINCT node FROM entries ORDER BY node').pluck().all() as string[];
  }

  count(node?: string): number {
    return (
      node === undefined
        ? this.tmp.prepare('SELECT COUNT(*) FROM entries').pluck().get()
        : this.tmp.prepare('SELECT COUNT(*) FROM entries WHERE node = ?').pluck().get(node)
    ) as number;
  }

  /** A node's entries in seq order, one page in memory at a time. */
  *entries(node: string, afterSeq = 0): Generator<StreamEntry> {
    const page = this.tmp.prepare(
      'SELECT rowid, seq, json FROM entries WHERE node = ? AND (seq > ? OR (seq = ? AND rowid > ?)) ORDER BY seq, rowid LIMIT ?',
    );
    let seq = afterSeq;
    let rowid = Number.MAX_SAFE_INTEGER; // first page: strictly after afterSeq
    for (;;) {
      const rows = page.all(node, seq, seq, rowid, PAGE) as { rowid: number; seq: number; json: string }[];
      if (rows.length === 0) return;
      for (const r of rows) yield JSON.parse(r.json) as StreamEntry;
      const last = rows[rows.length - 1] as { rowid: number; seq: number };
      seq = last.seq;
      rowid = last.rowid;
    }
  }

  /** The stream's copy of one entry of a node, by command id. */
  entry(node: string, id: string): { seq: number; chain: string | null; seal: string | null } | undefined {
    return this.tmp.prepare('SELECT seq, chain, seal FROM entries WHERE node = ? AND id = ?').get(node, id) as
      { seq: number; chain: string | null; seal: string | null } | undefined;
  }

  private bad(subject: string, streamSeq: number, detail: string): void {
    this.malformedCount++;
    if (this.malformed.length < MAX_MALFORMED) this.malformed.push({ subject, streamSeq, detail });
  }

  /** Every message, through an ordered consumer, keeping the latest per subject (one may be replaced while we read). */
  private async load(ctx: ClusterContext, stream: string, maxPayload: number): Promise<void> {
    const info = await ctx.jsm.streams.info(stream);
    if (info.state.messages === 0) return;
    const lastAtStart = info.state.last_seq;
    const putMsg = this.tmp.prepare(
      `INSERT INTO msgs (subject, stream_seq, parts, digest, writer, version, mac, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(subject) DO UPDATE SET stream_seq = excluded.stream_seq, parts = excluded.parts, digest = excluded.digest, writer = excluded.writer,
         version = excluded.version, mac = excluded.mac, data = excluded.data
       WHERE excluded.stream_seq > msgs.stream_seq`,
    );
    const putPart = this.tmp.prepare(
      `INSERT INTO parts (subject, k, stream_seq, data) VALUES (?, ?, ?, ?)
       ON CONFLICT(subject, k) DO UPDATE SET stream_seq = excluded.stream_seq, data = excluded.data WHERE excluded.stream_seq > parts.stream_seq`,
    );
    const consumer = await ctx.js.consumers.get(stream);
    // Bounded by bytes: messages can be up to max_payload each.
    const messages = await consumer.consume({ max_bytes: Math.max(4 * 1024 * 1024, 2 * maxPayload) });
    // The loop ends on the message that was last when we started, or on the last one pending. If those
    // were removed meanwhile (a purge) nothing more may ever come: when the consumer is idle, the stream
    // is asked whether anything is left after what was read; a stream that stays silent is an error.
    let lastRead = 0;
    let idleSince = Date.now();
    let stalled: Error | null = null;
    const watchdog = setInterval(() => {
      if (Date.now() - idleSince < IDLE_CHECK_MS) return;
      ctx.jsm.streams
        .info(stream)
        .then((now) => {
          if (now.state.messages === 0 || now.state.last_seq <= lastRead) messages.stop();
          else if (Date.now() - idleSince > READ_STALL_MS) {
            stalled = new Error(
              `the cluster log stream sent nothing for ${READ_STALL_MS / 1000} s (read up to ${lastRead} of ${now.state.last_seq})`,
            );
            messages.stop();
          }
        })
        .catch(() => undefined);
    }, IDLE_CHECK_MS);
    try {
      for await (const m of messages) {
        lastRead = m.seq;
        idleSince = Date.now();
        const tokens = m.subject.split('.');
        const prefixOk = `${tokens[0]}.${tokens[1]}` === LOG_SUBJECT_PREFIX;
        if (prefixOk && tokens.length === 5 && /^[1-9][0-9]{0,5}$/.test(tokens[4] as string)) {
          putPart.run(tokens.slice(0, 4).join('.'), Number(tokens[4]), m.seq, m.data);
        } else if (prefixOk && tokens.length === 4) {
          const partsHeader = m.headers?.get(PARTS_HEADER) ?? '';
          const parts = partsHeader === '' ? 1 : Number(partsHeader);
          if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTS)
            this.bad(m.subject, m.seq, `invalid ${PARTS_HEADER} header`);
          else {
            const hv = (name: string) => m.headers?.get(name) || null;
            putMsg.run(
              m.subject,
              m.seq,
              parts,
              hv(DIGEST_HEADER),
              hv(WRITER_HEADER),
              hv(VERSION_HEADER),
              hv(MAC_HEADER),
              m.data,
            );
          }
        } else {
          this.bad(m.subject, m.seq, 'a message on a subject that is not a command log entry');
        }
        if (m.seq >= lastAtStart || m.info.pending === 0) break;
      }
    } finally {
      clearInterval(watchdog);
      messages.stop();
    }
    if (stalled) throw stalled;
  }

  /** Joins split payloads, validates each entry and files it by node and seq. */
  private assemble(mac: ClusterMac): void {
    const page = this.tmp.prepare(
      'SELECT rowid, subject, stream_seq, parts, digest, writer, version, mac, data FROM msgs WHERE rowid > ? ORDER BY rowid LIMIT ?',
    );
    const partsOf = this.tmp.prepare('SELECT k, data FROM parts WHERE subject = ? AND k < ? ORDER BY k');
    const put = this.tmp.prepare(
      'INSERT INTO entries (subject, node, seq, id, chain, seal, json) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    let after = 0;
    for (;;) {
      const rows = page.all(after, PAGE) as {
        rowid: number;
        subject: string;
        stream_seq: number;
        parts: number;
        digest: string | null;
        writer: string | null;
        version: string | null;
        mac: string | null;
        data: Buffer;
      }[];
      if (rows.length === 0) return;
      after = (rows[rows.length - 1] as { rowid: number }).rowid;
      const accepted: [string, string, number, string, string | null, string | null, string][] = [];
      for (const r of rows) {
        let body = r.data;
        if (r.parts > 1) {
          const rest = partsOf.all(r.subject, r.parts) as { k: number; data: Buffer }[];
          if (rest.length !== r.parts - 1 || rest.some((p, i) => p.k !== i + 1)) {
            this.bad(r.subject, r.stream_seq, `a split entry with parts missing (${rest.length + 1} of ${r.parts})`);
            continue;
          }
          body = Buffer.concat([r.data, ...rest.map((p) => p.data)]);
          if (createHash('sha256').update(body).digest('hex') !== r.digest) {
            this.bad(r.subject, r.stream_seq, 'a split entry whose parts do not match its digest');
            continue;
          }
        }
        const entry = openEntry(mac, r.subject, { writer: r.writer, version: r.version, mac: r.mac }, body);
        if (typeof entry === 'string') {
          this.bad(r.subject, r.stream_seq, entry);
          continue;
        }
        const [, , node, token] = r.subject.split('.');
        if (node !== entry.node || token !== idToken(entry.id)) {
          this.bad(
            r.subject,
            r.stream_seq,
            `the entry says it is ${entry.id} of node ${entry.node}, not what its subject names`,
          );
          continue;
        }
        accepted.push([r.subject, entry.node, entry.seq, entry.id, entry.chain, entry.seal, JSON.stringify(entry)]);
      }
      this.tmp.transaction(() => {
        for (const a of accepted) put.run(...a);
      })();
    }
  }
}

/**
 * The current stream copy of one entry, read directly (not through a snapshot): null when the subject has
 * no message, a string saying why when the message is not a valid entry.
 */
export async function fetchEntry(
  ctx: ClusterContext,
  stream: string,
  subject: string,
): Promise<SealedEntry | string | null> {
  const head = await ctx.jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!head) return null;
  const partsHeader = head.header?.get(PARTS_HEADER) ?? '';
  const parts = partsHeader === '' ? 1 : Number(partsHeader);
  if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTS) return `invalid ${PARTS_HEADER} header`;
  const chunks = [Buffer.from(head.data)];
  for (let k = 1; k < parts; k++) {
    const p = await ctx.jsm.streams.getMessage(stream, { last_by_subj: `${subject}.${k}` });
    if (!p) return `a split entry with part ${k} of ${parts} missing`;
    chunks.push(Buffer.from(p.data));
  }
  const body = Buffer.concat(chunks);
  if (parts > 1 && createHash('sha256').update(body).digest('hex') !== head.header?.get(DIGEST_HEADER))
    return 'a split entry whose parts do not match its digest';
  const hv = (name: string) => head.header?.get(name) || null;
  return openEntry(
    ctx.mac,
    subject,
    { writer: hv(WRITER_HEADER), version: hv(VERSION_HEADER), mac: hv(MAC_HEADER) },
    body,
  );
}

/** An entry whose cluster-key MAC was checked, with the version its writer gave it. */
export type SealedEntry = StreamEntry & { version: number };

/**
 * The entry of a whole payload, once its MAC checks (writer = the node its subject names), or why not.
 * Nothing a node did not write is ever parsed further.
 */
export function openEntry(
  mac: ClusterMac,
  subject: string,
  h: { writer: string | null; version: string | null; mac: string | null },
  body: Buffer,
): SealedEntry | string {
  const node = subject.split('.')[2];
  if (!h.writer || !h.version || !h.mac)
    return 'an entry without the cluster MAC (not written by a node of this cluster)';
  if (h.writer !== node) return 'an entry whose writer is not the node its subject names';
  if (!mac.check({ kind: 'log', where: subject, writer: h.writer, version: h.version, payload: body }, h.mac))
    return 'an entry whose cluster MAC is wrong (not written by a node of this cluster)';
  const version = Number(h.version);
  if (!Number.isSafeInteger(version) || version <= 0) return 'an entry with an invalid version';
  const entry = parseEntry(body);
  return typeof entry === 'string' ? entry : { ...entry, version };
}

/** The entry, or why it is not one. */
export function parseEntry(body: Buffer): StreamEntry | string {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the payload is not JSON';
  }
  const r = entrySchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return `the payload is not a command log entry (${issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'invalid'})`;
  }
  return r.data;
}
