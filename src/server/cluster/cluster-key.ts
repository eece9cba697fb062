/**
 * The cluster key: what makes the shared state authentic. Anyone who can publish to NATS can write any
 * subject or KV key, so a node must never apply or trust an entry because it is well formed. Every entry
 * a node writes to NATS (state rows, command log messages, heartbeats, presence, routing frames, download
 * grants, session claims) carries an HMAC-SHA256 under a 32-byte key that only the nodes hold:
 * DATA/cluster.key, made by `lr-server init`, copied by `init --cluster-from` (folder to folder, like the
 * CA and the signing keys), never sent over NATS and never logged. Readers check it before anything else
 * and drop what fails (logged once per kind per interval, never a flood, never a crash).
 *
 * The MAC covers a domain label, the kind of entry, where it was written (bucket + key, or subject), the
 * writer node, a version (what the reader uses against replays: each kind says what it means) and the
 * payload, each length-prefixed: an authentic entry cannot be moved to another key, subject, kind or writer.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../../node/log.js';
import { describeError } from '../../shared/errors.js';
import { clusterKeyPath } from '../cluster-files.js';

export { clusterKeyPath, ensureClusterKey } from '../cluster-files.js';

/** What an entry is: part of the MAC, so an entry of one kind is never accepted as another. */
export type MacKind = 'state' | 'log' | 'node' | 'presence' | 'agent' | 'out' | 'grant' | 'grant-used' | 'ledger';

const LABEL = 'lr-cluster-mac-v1';

/** Reads DATA/cluster.key; throws one line saying how to get it when it is missing or not a key. */
export function loadClusterKey(dataDir: string): Buffer {
  const file = clusterKeyPath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(
        `${file} is missing: every node of a cluster needs the cluster key (copy it, mode 0600, from the first node's data folder; a node made with \`lr-server init --cluster-from\` has it)`,
        { cause: e },
      );
    }
    throw new Error(`cannot read ${file}: ${code ?? describeError(e)}`, { cause: e });
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} is not a 256-bit hex key`);
  return Buffer.from(hex, 'hex');
}

export interface MacFields {
  kind: MacKind;
  /** Bucket/key or subject the entry was written to. */
  where: string;
  /** Node id of the writer. */
  writer: string;
  /** The entry's version (a number as text, or a `boot.counter` pair): what replays are judged by. */
  version: string;
  /** Other authenticated fields (headers a reader acts on), in a fixed order. */
  extra?: readonly string[];
  /** The payload; null for a tombstone. */
  payload: Uint8Array | string | null;
}

export class ClusterMac {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the cluster key must be 32 bytes');
  }

  static fromDataDir(dataDir: string): ClusterMac {
    return new ClusterMac(loadClusterKey(dataDir));
  }

  /** The MAC of an entry, base64url. */
  tag(f: MacFields): string {
    const h = createHmac('sha256', this.key);
    const part = (b: Uint8Array | string) => {
      const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
      const len = Buffer.alloc(8);
      len.writeBigUInt64BE(BigInt(buf.byteLength));
      h.update(len);
      h.update(buf);
    };
    part(LABEL);
    part(f.kind);
    part(f.where);
    part(f.writer);
    part(f.version);
    const extra = f.extra ?? [];
    part(String(extra.length));
    for (const x of extra) part(x);
    part(f.payload === null ? 'tombstone' : 'value');
    if (f.payload !== null) part(f.payload);
    return h.digest('base64url');
  }

  /** Whether `tag` is the MAC of the entry (constant-time comparison). */
  check(f: MacFields, tag: string | null | undefined): boolean {
    if (typeof tag !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(tag)) return false;
    return timingSafeEqual(Buffer.from(this.tag(f), 'base64url'), Buffer.from(tag, 'base64url'));
  }
}

/**
 * A KV value with its MAC: `{ w: writer, v: version, d: payload (null: tombstone), m: MAC }`. KV values
 * carry their MAC inside (a watcher does not see the headers of the entries it delivers).
 */
export interface SealedValue {
  writer: string;
  version: string;
  data: string | null;
}

export const MAX_SEALED_BYTES = 512 * 1024;

export function sealValue(mac: ClusterMac, kind: MacKind, where: string, v: SealedValue): string {
  const m = mac.tag({ kind, where, writer: v.writer, version: v.version, payload: v.data });
  return JSON.stringify({ w: v.writer, v: v.version, d: v.data, m });
}

/** The checked content of a sealed KV value, or why it was refused (never the value itself: it may hold secrets). */
export function openValue(
  mac: ClusterMac,
  kind: MacKind,
  where: string,
  raw: Uint8Array | string,
): SealedValue | string {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size === 0) return 'no value (an unauthenticated delete or purge)';
  if (size > MAX_SEALED_BYTES) return 'value too large';
  let o: unknown;
  try {
    o = JSON.parse(
      typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'),
    );
  } catch {
    return 'value is not JSON';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'value is not a sealed entry';
  const { w, v, d, m } = o as Record<string, unknown>;
  if (typeof w !== 'string' || typeof v !== 'string' || (typeof d !== 'string' && d !== null) || typeof m !== 'string')
    return 'value is not a sealed entry';
  if (!mac.check({ kind, where, writer: w, version: v, payload: d }, m))
    return 'bad MAC (not written by a node of this cluster)';
  return { writer: w, version: v, data: d };
}

/** Headers of a NATS message sealed with its MAC (log stream, routing). */
export const MAC_HEADER = 'Lr-Mac';
export const WRITER_HEADER = 'Lr-Writer';
export const VERSION_HEADER = 'Lr-Version';

/**
 * Drops are logged once per kind per interval, with how many there were: a flood of forged messages must
 * not become a flood of log lines (nor slow the node down writing them). Drops held back during an interval
 * are reported when it ends (one summary line with the count and the last reason), so the last burst of a
 * flood, or a replay that came just after another drop, is never left out of the log.
 */
export class DropLog {
  private readonly last = new Map<string, { at: number; count: number; why: string; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 10_000,
  ) {}

  drop(kind: string, why: string, fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    const s = this.last.get(kind);
    if (s && now - s.at < this.everyMs) {
      s.count++;
      s.why = why;
      if (!s.timer) {
        s.timer = setTimeout(() => this.summarise(kind), s.at + this.everyMs - now);
        s.timer.unref();
      }
      return;
    }
    if (s?.timer) clearTimeout(s.timer);
    const suppressed = s?.count ?? 0;
    this.last.set(kind, { at: now, count: 0, why });
    this.log.warn('cluster entry dropped', {
      kind,
      why,
      ...fields,
      ...(suppressed ? { alsoDroppedSinceLastReport: suppressed } : {}),
    });
  }

  /** The end of an interval in which drops were held back: one line for them, and a new interval starts. */
  private summarise(kind: string): void {
    const s = this.last.get(kind);
    if (!s || s.count === 0) return;
    this.last.set(kind, { at: Date.now(), count: 0, why: s.why });
    this.log.warn('cluster entries dropped', { kind, count: s.count, lastWhy: s.why });
  }
}

/** A per-process monotonic clock (ms; never repeats, never goes back): the version of this node's writes. */
export class MonotonicClock {
  private last = 0;

  next(atLeast = 0): number {
    this.last = Math.max(Date.now(), this.last + 1, atLeast);
    return this.last;
  }
}
