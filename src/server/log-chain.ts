/**
 * Command log integrity. Each entry of `commands` is chained with an HMAC-SHA256 key kept in the data
 * folder (DATA/log-chain.key, mode 0600; never in the database):
 *
 *   chain_i = HMAC(key, "chain" ‖ chain_{i-1} ‖ canonical(id, seq, session, user, device, command line, name,
 *   started_at))
 *   seal_i  = HMAC(key, "seal"  ‖ chain_i ‖ canonical(status, ended_at, duration, error, output, output size,
 *                                                     output SHA-256, truncated, background))
 *
 * The chain is written when the entry is inserted (with chain_{i-1} copied into the row as `log_prev`, which
 * lets the verifier tell a moved entry from a modified one), the seal when the command reaches a final status
 * (refusals are sealed at insert). `verify` walks the log in seq order and reports every entry that was
 * modified, deleted (a gap, or a chain pointing at a missing entry) or reordered. Someone who can write the
 * database but not read the key cannot rewrite an entry and its chain consistently.
 *
 * What the database alone cannot show is kept outside it, in the anchor (log-anchor.ts, DATA/log-chain.head):
 * the last entry chained (a cut end of the log), the entries running (an entry whose seal was removed is
 * neither sealed nor running), and that the log is chained at all (a legacy log is adopted only once).
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { ensureRandomKeyFile } from '../node/files.js';
import { canonicalJson } from '../shared/wire/command-signature.js';
import { FINAL_STATUSES, type JobStatus } from '../shared/wire/protocol.js';
import { Emitter, type Event } from '../shared/event.js';
import type { Db } from './db.js';
import { toCommandRecord, type CommandColumns } from './command-log-view.js';
import {
  ANCHOR_DELAY_MS,
  LogAnchor,
  logAnchorPath,
  type AnchorHead,
  type AnchorIncident,
  type AnchorState,
} from './log-anchor.js';

export const GENESIS = '';

export function logKeyPath(dataDir: string): string {
  return join(dataDir, 'log-chain.key');
}

/** Creates DATA/log-chain.key when missing (mode 0600); answers whether it was created. */
export function ensureLogKey(dataDir: string): boolean {
  return ensureRandomKeyFile(logKeyPath(dataDir));
}

function loadLogKey(dataDir: string): Buffer {
  ensureLogKey(dataDir);
  const hex = readFileSync(logKeyPath(dataDir), 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${logKeyPath(dataDir)} is not a 256-bit hex key`);
  return Buffer.from(hex, 'hex');
}

/** A command log row as the chain covers it (the `commands` columns; rebuilt from a record off the cluster stream). */
export interface ChainRow extends CommandColumns {
  user_id: string;
  log_prev: string | null;
  log_chain: string | null;
  log_seal: string | null;
}

export type LogProblemKind = 'modified' | 'deleted' | 'reordered';

export interface LogProblem {
  /** The entry reported (for a deletion: the entry after the gap, or the last entry for a truncated end). */
  id: string;
  seq: number;
  problem: LogProblemKind;
  detail: string;
}

export interface LogVerifyReport {
  ok: boolean;
  entries: number;
  problems: LogProblem[];
  verifiedAt: string;
}

/** What only the verifying node itself knows about its own log (not the entries of other nodes). */
export interface LocalLogState {
  /** Seqs of the entries this run of the service is running (chained, not sealed yet). */
  live: ReadonlySet<number>;
  /** What the starts found wrong (kept in the anchor). */
  incidents: readonly AnchorIncident[];
}

export interface LogChainStart {
  /** Legacy entries chained at this start (only ever once). */
  adopted: number;
  /** Things the operator should know (written to the service log). */
  warnings: string[];
}

const isFinal = (status: string): boolean => FINAL_STATUSES.has(status as JobStatus);

export class LogChain {
  private readonly anchor: LogAnchor;
  /** The anchor file is written only once `start` has read it (tests of the chain alone never touch it). */
  private anchored = false;
  private head: AnchorHead | null = null;
  private readonly live = new Set<number>();
  private adoptedLegacy = 0;
  private readonly incidents: AnchorIncident[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** The anchor write in progress, and whether the state changed since it was taken. */
  private writing: Promise<void> | undefined;
  private dirty = false;
  /** Which entries left unsealed by the previous run it was really running (see `start`). */
  private leftRunning: (seq: number) => boolean = () => true;

  private readonly entryWritten = new Emitter<string>();

  /**
   * After `written` has chained (and sealed) an entry, in the same transaction: what follows the chain (the
   * cluster log stream) subscribes here rather than to the store, so it always sees the entry as chained,
   * whatever order things were wired in.
   */
  readonly onWritten: Event<string> = this.entryWritten.event;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    anchorFile: string,
    private readonly onAnchorError: (e: Error) => void = () => undefined,
  ) {
    this.anchor = new LogAnchor(anchorFile, (parts) => this.mac(parts));
  }

  static open(db: Db, dataDir: string, onAnchorError?: (e: Error) => void): LogChain {
    return new LogChain(db, loadLogKey(dataDir), logAnchorPath(dataDir), onAnchorError);
  }

  private mac(parts: string[]): string {
    const h = createHmac('sha256', this.key);
    for (const p of parts) h.update(p, 'utf8').update('\n');
    return h.digest('hex');
  }

  chainOf(
    prev: string,
    r: Pick<ChainRow, 'id' | 'session_id' | 'user_id' | 'device_id' | 'command_line' | 'name' | 'started_at'>,
    seq: number,
  ): string {
    const fields = canonicalJson({
      id: r.id,
      seq,
      session: r.session_id,
      user: r.user_id,
      device: r.device_id,
      commandLine: r.command_line,
      name: r.name,
      startedAt: r.started_at,
    });
    return this.mac(['lr-log-chain:v1', prev, fields]);
  }

  sealOf(chain: string, r: ChainRow): string {
    const fields = canonicalJson({
      status: r.status,
      endedAt: r.ended_at,
      durationMs: r.duration_ms,
      error: r.error,
      output: r.output,
      outputSize: r.output_size,
      outputSha256: r.output_sha256,
      truncated: r.output_truncated,
      background: r.background,
    });
    return this.mac(['lr-log-seal:v1', chain, fields]);
  }

  /**
   * Called by the store after each write to a command row, inside the write's transaction: chains the
   * entry when it has no chain yet (its insert), seals it when its status is final.
   */
  written(id: string): void {
    this.chainEntry(id);
    this.entryWritten.fire(id);
  }

  private chainEntry(id: string): void {
    const r = this.db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as ChainRow | undefined;
    if (!r) return;
    let chain = r.log_chain;
    if (chain === null) {
      const prev =
        (this.db
          .prepare('SELECT log_chain FROM commands WHERE seq < ? ORDER BY seq DESC LIMIT 1')
          .pluck()
          .get(r.seq) as string | null | undefined) ?? GENESIS;
      chain = this.chainOf(prev, r, r.seq);
      this.db.prepare('UPDATE commands SET log_prev = ?, log_chain = ? WHERE seq = ?').run(prev, chain, r.seq);
      this.head = { seq: r.seq, id: r.id, chain };
      if (!isFinal(r.status)) this.live.add(r.seq);
      this.anchorChanged();
    }
    if (isFinal(r.status)) {
      this.db.prepare('UPDATE commands SET log_seal = ? WHERE seq = ?').run(this.sealOf(chain, r), r.seq);
      if (this.live.delete(r.seq)) this.anchorChanged();
    }
  }

  /**
   * Reads the anchor at start-up, before anything writes the log:
   * - no anchor and no chained entry: a legacy log, chained once here; the anchor written now marks it so;
   * - no anchor but a chained log: the first start after the upgrade that added the anchor (or the anchor
   *   was deleted): anchored at the log's current end, with a warning;
   * - an anchor that does not verify: set aside as evidence and recorded as an incident;
   * - the entry the anchor names as the last one is gone or different: the end of the log was cut while
   *   the service was stopped, recorded as an incident (new entries would hide it otherwise).
   * Then `wasRunning` answers which unsealed entries the previous run had running (sealed `failed` by
   * Store.closeDanglingSessions); the others had their seal removed and are left for `verify` to report.
   */
  start(): LogChainStart {
    const warnings: string[] = [];
    const at = new Date().toISOString();
    let adopted = 0;
    const read = this.anchor.read();
    if (read.kind === 'absent') {
      if (this.lastChained())
        warnings.push(
          `the command log had no head anchor (${this.anchor.file}): anchored at its current end (expected once, after the upgrade that added it; otherwise the anchor was deleted)`,
        );
      else adopted = this.adoptLegacy();
      this.adoptedLegacy = adopted;
      this.leftRunning = () => true;
    } else if (read.kind === 'bad') {
      const kept = this.anchor.setAside();
      const detail = `the log's head anchor was ${read.detail}; kept as ${basename(kept)}; the end of the log and the commands left running before ${at} cannot be checked`;
      this.incidents.push({ at, seq: 0, id: basename(this.anchor.file), problem: 'modified', detail });
      warnings.push(detail);
      this.leftRunning = () => false;
    } else {
      const st = read.state;
      this.incidents.push(...st.incidents);
      this.adoptedLegacy = st.adoptedLegacy;
      const head = st.head;
      if (head) {
        const row = this.db.prepare('SELECT id, log_chain FROM commands WHERE seq = ?').get(head.seq) as
          { id: string; log_chain: string | null } | undefined;
        if (!row) {
          const last = this.db
            .prepare('SELECT seq, id FROM commands WHERE seq < ? ORDER BY seq DESC LIMIT 1')
            .get(head.seq) as { seq: number; id: string } | undefined;
          const from = (last?.seq ?? 0) + 1;
          const detail = `found at the start of ${at}: entries seq ${from}..${head.seq} at the end of the log are missing (the anchor recorded seq ${head.seq}, ${head.id}, as the last entry)`;
          this.incidents.push({ at, seq: last?.seq ?? 0, id: last?.id ?? '-', problem: 'deleted', detail });
          warnings.push(detail);
        } else if (row.id !== head.id || row.log_chain !== head.chain) {
          const detail =
            row.id === head.id
              ? `found at the start of ${at}: the last entry (seq ${head.seq}) no longer carries the chain the anchor recorded for it`
              : `found at the start of ${at}: the last entry the anchor recorded at seq ${head.seq} was ${head.id}; another entry took its place`;
          this.incidents.push({ at, seq: head.seq, id: row.id, problem: 'modified', detail });
          warnings.push(detail);
        }
      }
      const live = new Set(st.live);
      const headSeq = head?.seq ?? 0;
      // Entries after the anchored head were chained after its last write (a crash right after): running too.
      this.leftRunning = (seq) => live.has(seq) || seq > headSeq;
    }
    this.head = this.lastChained();
    this.anchored = true;
    this.writeAnchor();
    return { adopted, warnings };
  }

  /** Whether an entry found unsealed at start-up was running when the previous run stopped (see `start`). */
  wasRunning(seq: number): boolean {
    return this.leftRunning(seq);
  }

  /** Writes the anchor now (the service's close: the last writes of the run are not left to a timer). */
  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.writing;
    if (this.dirty && this.db.open) {
      this.dirty = false;
      this.confirmHead();
      this.writeAnchor();
    }
  }

  private lastChained(): AnchorHead | null {
    return (
      (this.db
        .prepare(
          'SELECT seq, id, log_chain AS chain FROM commands WHERE log_chain IS NOT NULL ORDER BY seq DESC LIMIT 1',
        )
        .get() as AnchorHead | undefined) ?? null
    );
  }

  /** Changes gather for ANCHOR_DELAY_MS (from a timer, so after the transactions that made them). */
  private anchorChanged(): void {
    if (!this.anchored) return;
    this.dirty = true;
    if (this.flushTimer || this.writing) return;
    this.flushTimer = setTimeout(() => this.flush(), ANCHOR_DELAY_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (!this.dirty || !this.db.open) return;
    this.dirty = false;
    this.confirmHead();
    this.writing = this.anchor
      .writeAsync(this.anchorState())
      .catch((e: Error) => this.onAnchorError(e))
      .finally(() => {
        this.writing = undefined;
        if (this.dirty) this.flushTimer = setTimeout(() => this.flush(), ANCHOR_DELAY_MS);
      });
  }

  /** A transaction rolled back after its entry was chained: the anchor follows what was committed. */
  private confirmHead(): void {
    if (
      this.head &&
      (this.db.prepare('SELECT log_chain FROM commands WHERE seq = ?').pluck().get(this.head.seq) as
        string | null | undefined) !== this.head.chain
    ) {
      this.head = this.lastChained();
    }
  }

  private anchorState(): AnchorState {
    return {
      head: this.head,
      live: [...this.live].sort((a, b) => a - b),
      adoptedLegacy: this.adoptedLegacy,
      incidents: [...this.incidents],
    };
  }

  private writeAnchor(): void {
    try {
      this.anchor.write(this.anchorState());
    } catch (e) {
      this.onAnchorError(e as Error);
    }
  }

  /** What verify checks beyond the rows, for this node's own log. */
  private localState(): LocalLogState {
    return { live: this.live, incidents: this.incidents };
  }

  /**
   * First start after the upgrade that added the chain: entries written before it are chained (and sealed)
   * once, in seq order. Never again afterwards: a row stripped of its chain later must show up in `verify`
   * (`start` calls it only while there is no anchor, which it then writes).
   */
  private adoptLegacy(): number {
    const chained = this.db.prepare('SELECT 1 FROM commands WHERE log_chain IS NOT NULL LIMIT 1').get();
    if (chained) return 0;
    const ids = this.db.prepare('SELECT id FROM commands ORDER BY seq').pluck().all() as string[];
    this.db.transaction(() => {
      for (const id of ids) this.written(id);
    })();
    return ids.length;
  }

  /** Walks the whole log in seq order; each problem names its entry. */
  verify(): LogVerifyReport {
    // SQLite's AUTOINCREMENT remembers the last seq issued: entries deleted at the end of the log show.
    // The anchor remembers the last entry chained too: rewriting sqlite_sequence does not hide a cut end.
    const issued =
      (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'commands'").pluck().get() as
        number | undefined) ?? null;
    const end = Math.max(issued ?? 0, this.head?.seq ?? 0);
    return this.verifyRows(
      this.db.prepare('SELECT * FROM commands ORDER BY seq').iterate() as IterableIterator<ChainRow>,
      end > 0 ? end : issued,
      this.localState(),
    );
  }

  /**
   * Verifies one chain from its rows, in seq order (the local database, or one node's entries of the
   * cluster log). `issued` is the last seq ever issued, when known: entries after the last row up to it were
   * deleted from the end; null when nothing records it (the end of the log cannot be checked then). The
   * rows are only iterated once; what is kept per entry is its seq, id and chain values. `local`: this
   * node's own log, whose running entries, anchored head and incidents are known here.
   */
  verifyRows(rows: Iterable<ChainRow>, issued: number | null, local?: LocalLogState): LogVerifyReport {
    interface Seen {
      seq: number;
      id: string;
      prev: string | null;
      chain: string | null;
      contentOk: boolean;
      /** The seq the entry's content was recorded at, when it now sits elsewhere. */
      movedFrom?: number;
      /** Kept only for entries whose chain does not match (to look for where they were recorded). */
      row?: ChainRow;
    }
    const problems: LogProblem[] = [];
    const seen: Seen[] = [];
    const byChain = new Map<string, Seen>();
    for (const r of rows) {
      const chained = r.log_chain !== null && r.log_prev !== null;
      const contentOk = chained && this.chainOf(r.log_prev as string, r, r.seq) === r.log_chain;
      const s: Seen = { seq: r.seq, id: r.id, prev: r.log_prev, chain: r.log_chain, contentOk };
      if (!contentOk) s.row = r;
      seen.push(s);
      if (r.log_chain !== null) byChain.set(r.log_chain, s);
      if (chained) {
        const sealProblem = this.sealProblem(r, local);
        if (sealProblem) problems.push({ id: r.id, seq: r.seq, problem: 'modified', detail: sealProblem });
      }
    }

    // Where entries are missing: gaps in seq, and the end (up to the last seq issued, when it is known).
    const missing: number[] = [];
    const gapBefore = new Map<number, [number, number]>();
    let last = 0;
    for (const s of seen) {
      if (s.seq > last + 1) {
        gapBefore.set(s.seq, [last + 1, s.seq - 1]);
        for (let q = last + 1; q < s.seq && missing.length < 10_000; q++) missing.push(q);
      }
      last = s.seq;
    }
    const end = issued ?? last;

    // Entries whose chain does not match their content at their place: moved here from elsewhere, or modified.
    const candidates = [...seen.filter((s) => !s.contentOk).map((s) => s.seq), ...missing];
    for (let q = last + 1; q <= end && candidates.length < 20_000; q++) candidates.push(q);
    for (const s of seen) {
      if (s.contentOk || !s.row) continue;
      const r = s.row;
      if (s.chain === null || s.prev === null) {
        problems.push({
          id: s.id,
          seq: s.seq,
          problem: 'modified',
          detail: 'the entry has no chain: it was added or rewritten outside the service',
        });
        continue;
      }
      const from =
        candidates.length <= 2000
          ? candidates.find((q) => q !== s.seq && this.chainOf(s.prev as string, r, q) === s.chain)
          : undefined;
      if (from !== undefined) {
        s.movedFrom = from;
        problems.push({
          id: s.id,
          seq: s.seq,
          problem: 'reordered',
          detail: `the entry was recorded at seq ${from} and now sits at seq ${s.seq}`,
        });
      } else {
        problems.push({
          id: s.id,
          seq: s.seq,
          problem: 'modified',
          detail:
            'its recorded fields (id, session, user, device, command line, name or start time) do not match its chain',
        });
      }
    }

    // Links: each entry's predecessor must be present, and be the entry recorded just before it.
    for (let i = 0; i < seen.length; i++) {
      const s = seen[i] as Seen;
      if (s.prev === null || (!s.contentOk && s.movedFrom === undefined)) continue;
      const at = s.movedFrom ?? s.seq;
      const gap = gapBefore.get(s.seq);
      if (s.prev === GENESIS) {
        if (gap && s.movedFrom === undefined)
          problems.push({
            id: s.id,
            seq: s.seq,
            problem: 'deleted',
            detail: `entries seq ${gap[0]}..${gap[1]} before it are missing`,
          });
        continue;
      }
      const pred = byChain.get(s.prev);
      if (!pred) {
        problems.push({
          id: s.id,
          seq: s.seq,
          problem: 'deleted',
          detail:
            gap && s.movedFrom === undefined
              ? `entries seq ${gap[0]}..${gap[1]} before it are missing (chain broken)`
              : 'the entry chained before it is missing (deleted, or its chain was rewritten)',
        });
        continue;
      }
      const predAt = pred.movedFrom ?? pred.seq;
      if (predAt !== at - 1 && s.movedFrom === undefined && pred.movedFrom === undefined) {
        problems.push({
          id: s.id,
          seq: s.seq,
          problem: 'reordered',
          detail: `it was chained after seq ${pred.seq} (${pred.id}), not after the entry before it`,
        });
      }
    }
    for (const i of local?.incidents ?? [])
      problems.push({ id: i.id, seq: i.seq, problem: i.problem, detail: i.detail });
    const lastSeen = seen[seen.length - 1];
    if (end > last) {
      problems.push({
        id: lastSeen?.id ?? '-',
        seq: last,
        problem: 'deleted',
        detail: `entries seq ${last + 1}..${end} at the end of the log are missing`,
      });
    }
    problems.sort((a, b) => a.seq - b.seq);
    return { ok: problems.length === 0, entries: seen.length, problems, verifiedAt: new Date().toISOString() };
  }

  private sealProblem(r: ChainRow, local: LocalLogState | undefined): string | null {
    const final = isFinal(r.status);
    if (r.log_seal === null) {
      if (final) return `the entry is ${r.status} but not sealed`;
      // Unsealed and not final is normal only for a command this service is running now.
      if (local && !local.live.has(r.seq))
        return `the entry says ${r.status} but is not running in the service: its seal was removed (or it was added outside the service)`;
      return null;
    }
    if (!final) return `the entry is sealed but its status says ${r.status}`;
    if (this.sealOf(r.log_chain as string, r) === r.log_seal) return null;
    const hints: string[] = [];
    if (
      r.output_truncated === 0 &&
      r.output_sha256 !== null &&
      createHash('sha256').update(r.output, 'utf8').digest('hex') !== r.output_sha256
    )
      hints.push('the output no longer matches its SHA-256');
    return `its final fields (status, end, duration, error, output, size, SHA-256, truncated, background) do not match its seal${hints.length ? `: ${hints.join('; ')}` : ''}`;
  }

  /** One entry as the export writes it (what the cluster log stream carries); null when there is no such entry. */
  exportRecordOf(id: string): Record<string, unknown> | null {
    const r = this.db.prepare(`${EXPORT_SELECT} WHERE c.id = ?`).get(id) as ExportRow | undefined;
    return r ? exportRecord(r) : null;
  }

  /**
   * Streams the log as JSON lines (one entry each, with its chain and seal) for a SIEM, page by page: the
   * database is never held across an await (better-sqlite3 allows no other statement during an iteration).
   */
  async exportJsonl(res: ServerResponse, afterSeq = 0): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const page = this.db.prepare(`${EXPORT_SELECT} WHERE c.seq > ? ORDER BY c.seq LIMIT 500`);
    let after = afterSeq;
    for (;;) {
      const rows = page.all(after) as ExportRow[];
      if (rows.length === 0 || res.destroyed) break;
      let chunk = '';
      for (const r of rows) chunk += JSON.stringify(exportRecord(r)) + '\n';
      after = (rows[rows.length - 1] as ChainRow).seq;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          res.once('drain', () => resolve());
          res.once('close', () => resolve());
        });
      }
    }
    res.end();
  }
}

type ExportRow = ChainRow & { user_name: string | null; device_name: string | null };

const EXPORT_SELECT = `SELECT c.*, u.name AS user_name, d.name AS device_name FROM commands c
  LEFT JOIN users u ON u.id = c.user_id LEFT JOIN devices d ON d.id = c.device_id`;

/** One JSONL line of the SIEM export: the command log record, plus who ran it and the chain values. */
export function exportRecord(r: ExportRow): Record<string, unknown> {
  return { ...toCommandRecord(r), userId: r.user_id, chainPrev: r.log_prev, chain: r.log_chain, seal: r.log_seal };
}
