/**
 * Reading the command log: one entry, a listing, the log viewer's query, its filter menus. Over the node's
 * own `commands` table (Store), or in a cluster over `cluster_commands`, the mirror of every node's log
 * (cluster/log-mirror.ts), which has the same columns.
 */
import type { Db } from './db.js';
import type { CommandLogQuery, CommandLogRecord, CommandLogSummary, JobStatus } from '../shared/wire/protocol.js';

export interface CommandFilter {
  deviceId?: string;
  sessionId?: string;
  /** Only the commands of the sessions a batch run opened (its devices' steps). */
  batchId?: string;
  limit?: number;
  afterSeq?: number;
  /** With `limit`: the newest entries (still oldest first), not the oldest. */
  newest?: boolean;
}

/** The columns of a command log row (`commands`, or the cluster's `cluster_commands`) every reader uses. */
export interface CommandColumns {
  seq: number;
  id: string;
  session_id: string | null;
  device_id: string | null;
  command_line: string;
  name: string;
  status: string;
  background: number;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  error: string | null;
  output: string;
  output_size: number;
  output_sha256: string | null;
  output_truncated: number;
  /** Absent from the cluster's mirror table. */
  internal?: number;
}

/** A row as the log's readers select it: with the user's and the device's names joined in. */
export interface CommandRow extends CommandColumns {
  user_name: string | null;
  device_name: string | null;
}

export function toCommandRecord(r: CommandRow): CommandLogRecord {
  return {
    id: r.id,
    seq: r.seq,
    sessionId: r.session_id,
    user: r.user_name ?? '?',
    deviceId: r.device_id,
    deviceName: r.device_name,
    commandLine: r.command_line,
    name: r.name,
    status: r.status as JobStatus,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    error: r.error,
    output: r.output,
    outputSize: r.output_size,
    outputSha256: r.output_sha256,
    outputTruncated: r.output_truncated === 1,
    background: r.background === 1,
    ...(r.internal === 1 ? { internal: true } : {}),
  };
}

export type CommandLogTable = 'commands' | 'cluster_commands';

export class CommandLogView {
  constructor(
    private readonly db: Db,
    private readonly table: CommandLogTable,
  ) {}

  private get commandSelect(): string {
    return `SELECT c.*, u.name AS user_name, d.name AS device_name FROM ${this.table} c
    LEFT JOIN users u ON u.id = c.user_id LEFT JOIN devices d ON d.id = c.device_id`;
  }

  getCommand(id: string): CommandLogRecord | null {
    const r = this.db.prepare(`${this.commandSelect} WHERE c.id = ?`).get(id) as CommandRow | undefined;
    return r ? toCommandRecord(r) : null;
  }

  listCommands(f: CommandFilter = {}): CommandLogRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.deviceId) (where.push('c.device_id = ?'), args.push(f.deviceId));
    if (f.sessionId) (where.push('c.session_id = ?'), args.push(f.sessionId));
    if (f.batchId) (where.push('c.session_id IN (SELECT id FROM sessions WHERE batch_id = ?)'), args.push(f.batchId));
    if (f.afterSeq !== undefined) (where.push('c.seq > ?'), args.push(f.afterSeq));
    const sql = `${this.commandSelect} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY c.seq ${f.newest ? 'DESC' : ''} LIMIT ?`;
    args.push(Math.min(f.limit ?? 10_000, 100_000));
    const rows = this.db.prepare(sql).all(...args) as CommandRow[];
    return (f.newest ? rows.reverse() : rows).map(toCommandRecord);
  }

  /**
   * The log viewer's query: newest first, filtered, one page plus the number of matches. `text` matches the
   * command line, the error, the id, or the stored output. Never returns the output (see getCommand).
   */
  queryCommands(q: CommandLogQuery): { total: number; offset: number; items: CommandLogSummary[] } {
    // Filters on the commands table alone (no joins), so that counting and skipping stay cheap at 100 000s.
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.deviceId) (where.push('device_id = ?'), args.push(q.deviceId));
    if (q.user) (where.push('user_id IN (SELECT id FROM users WHERE name = ?)'), args.push(q.user));
    if (q.status) (where.push('status = ?'), args.push(q.status));
    if (q.since) (where.push('started_at >= ?'), args.push(q.since));
    if (q.until) (where.push('started_at <= ?'), args.push(q.until));
    if (q.text) {
      // LIKE is case-insensitive for ASCII and much cheaper than lower() + instr(). The output searched is
      // what the log stores (at most the log's per-command limit, 1 MiB by default); the command line and
      // the error are tested first, so the output is read only for rows they do not already match.
      const pattern = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(
        "(command_line LIKE ? ESCAPE '\\' OR error LIKE ? ESCAPE '\\' OR id = ? OR output LIKE ? ESCAPE '\\')",
      );
      args.push(pattern, pattern, q.text, pattern);
    }
    const offset = Math.max(0, Math.floor(q.offset ?? 0));
    const limit = Math.min(Math.max(1, Math.floor(q.limit ?? 200)), 5000);
    let total: number;
    let seqs: number[];
    if (where.length === 0) {
      total = (this.db.prepare(`SELECT count(*) FROM ${this.table}`).pluck().get() as number) ?? 0;
      seqs = this.db
        .prepare(`SELECT seq FROM ${this.table} ORDER BY seq DESC LIMIT ? OFFSET ?`)
        .pluck()
        .all(limit, offset) as number[];
    } else {
      // One scan gives both the number of matches and the page; the next pages of the same filters reuse it
      // while the log is in the same state.
      const key = JSON.stringify([where, args]);
      const state = this.logState();
      let matches = this.matchCache?.key === key && this.matchCache.state === state ? this.matchCache.seqs : undefined;
      if (!matches) {
        matches = this.db
          .prepare(`SELECT seq FROM ${this.table} WHERE ${where.join(' AND ')} ORDER BY seq DESC`)
          .pluck()
          .all(...args) as number[];
        this.matchCache = { key, state, seqs: matches };
      }
      total = matches.length;
      seqs = matches.slice(offset, offset + limit);
    }
    if (seqs.length === 0) return { total, offset, items: [] };
    const rows = this.db
      .prepare(
        `SELECT c.seq, c.id, c.session_id, u.name AS user_name, c.device_id, d.name AS device_name, c.command_line, c.name, c.status,
                c.background, c.started_at, c.ended_at, c.duration_ms, c.error, '' AS output, c.output_size, c.output_sha256, c.output_truncated${this.table === 'commands' ? ', c.internal' : ''}
         FROM ${this.table} c LEFT JOIN users u ON u.id = c.user_id LEFT JOIN devices d ON d.id = c.device_id
         WHERE c.seq IN (SELECT value FROM json_each(?))
         ORDER BY c.seq DESC`,
      )
      .all(JSON.stringify(seqs)) as CommandRow[];
    return {
      total,
      offset,
      items: rows.map((r) => {
        const { output: _output, ...summary } = toCommandRecord(r);
        return summary;
      }),
    };
  }

  private matchCache: { key: string; state: string; seqs: number[] } | undefined;

  /**
   * What a cached match list depends on, read from the indexes. The newest seq alone misses a command that
   * finishes (its status, error and end change, not the newest seq): a `status=completed` filter would not
   * show it. Rows only move forward (pending → running → an end), so between two reads with the same number
   * of rows, the same newest seq and the same numbers of pending and running rows, no row changed.
   */
  private logState(): string {
    const one = (sql: string) => this.db.prepare(sql).pluck().get() as number | null;
    return [
      one(`SELECT max(seq) FROM ${this.table}`),
      one(`SELECT count(*) FROM ${this.table}`),
      one(`SELECT count(*) FROM ${this.table} WHERE status = 'pending'`),
      one(`SELECT count(*) FROM ${this.table} WHERE status = 'running'`),
    ].join(':');
  }

  /** Users and devices that appear in the command log (the log viewer's filter menus). */
  commandFacets(): { users: string[]; devices: { id: string; name: string }[] } {
    const users = (
      this.db
        .prepare(`SELECT DISTINCT u.name AS name FROM ${this.table} c JOIN users u ON u.id = c.user_id ORDER BY u.name`)
        .all() as { name: string }[]
    ).map((r) => r.name);
    const devices = this.db
      .prepare(
        `SELECT d.id AS id, d.name AS name FROM devices d WHERE d.id IN (SELECT DISTINCT device_id FROM ${this.table} WHERE device_id IS NOT NULL) ORDER BY d.name`,
      )
      .all() as { id: string; name: string }[];
    return { users, devices };
  }
}
