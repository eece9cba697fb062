/**
 * Batch runs in the database (tables `batches`, `batch_targets`): what to run, on which devices, and where
 * each device's work stands, step by step. Every change is written before it is acted on, so a service
 * restart finds the queued work again (batch-runner.ts resumes it).
 */
import type { Db } from '../db.js';
import {
  batchStatusOf,
  emptyCounts,
  type BatchKind,
  type BatchRecord,
  type BatchSelector,
  type BatchStepRecord,
  type BatchSummary,
  type BatchTargetRecord,
  type BatchTargetStatus,
} from '../../shared/wire/batch.js';

interface BatchRow {
  id: string;
  kind: BatchKind;
  user_id: string;
  created_at: string;
  comment: string | null;
  commands: string;
  target: string;
  concurrency: number;
  expires_at: string;
  cancelled_by: string | null;
  ended_at: string | null;
  created_by: string | null;
}

interface TargetRow {
  batch_id: string;
  device_id: string;
  device_name: string;
  ord: number;
  status: BatchTargetStatus;
  note: string | null;
  session_id: string | null;
  started_at: string | null;
  ended_at: string | null;
  rows: number;
  steps: string;
}

/** A batch as the runner works with it. */
export interface StoredBatch {
  id: string;
  kind: BatchKind;
  userId: string;
  createdAt: string;
  comment: string | null;
  commands: string[];
  target: BatchSelector | Record<string, unknown>;
  concurrency: number;
  expiresAt: string;
  cancelledBy: string | null;
  endedAt: string | null;
}

export interface NewBatch {
  id: string;
  kind: BatchKind;
  userId: string;
  comment: string | null;
  commands: string[];
  target: Record<string, unknown>;
  concurrency: number;
  expiresAt: string;
  devices: { id: string; name: string }[];
}

const now = (): string => new Date().toISOString();

function toBatch(r: BatchRow): StoredBatch {
  return {
    id: r.id,
    kind: r.kind,
    userId: r.user_id,
    createdAt: r.created_at,
    comment: r.comment,
    commands: JSON.parse(r.commands) as string[],
    target: JSON.parse(r.target) as Record<string, unknown>,
    concurrency: r.concurrency,
    expiresAt: r.expires_at,
    cancelledBy: r.cancelled_by,
    endedAt: r.ended_at,
  };
}

function toTarget(r: TargetRow): BatchTargetRecord {
  const t: BatchTargetRecord = {
    deviceId: r.device_id,
    deviceName: r.device_name,
    status: r.status,
    rows: r.rows,
    steps: JSON.parse(r.steps) as BatchStepRecord[],
  };
  if (r.note) t.note = r.note;
  if (r.session_id) t.sessionId = r.session_id;
  if (r.started_at) t.startedAt = r.started_at;
  if (r.ended_at) t.endedAt = r.ended_at;
  if (r.started_at && r.ended_at) t.durationMs = Date.parse(r.ended_at) - Date.parse(r.started_at);
  return t;
}

export class BatchStore {
  constructor(private readonly db: Db) {}

  /** The batch and one queued row per device, in one transaction. */
  create(b: NewBatch): void {
    const steps = JSON.stringify(
      b.commands.map((line, index): BatchStepRecord => ({
        index,
        line,
        status: 'not-run',
        rows: 0,
        textBytes: 0,
        truncated: false,
      })),
    );
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO batches (id, kind, user_id, created_at, comment, commands, target, concurrency, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          b.id,
          b.kind,
          b.userId,
          now(),
          b.comment,
          JSON.stringify(b.commands),
          JSON.stringify(b.target),
          b.concurrency,
          b.expiresAt,
        );
      const ins = this.db.prepare(
        "INSERT INTO batch_targets (batch_id, device_id, device_name, ord, status, steps) VALUES (?, ?, ?, ?, 'queued', ?)",
      );
      b.devices.forEach((d, i) => ins.run(b.id, d.id, d.name, i, steps));
    })();
  }

  get(id: string): StoredBatch | null {
    const r = this.db
      .prepare('SELECT b.*, u.name AS created_by FROM batches b LEFT JOIN users u ON u.id = b.user_id WHERE b.id = ?')
      .get(id) as BatchRow | undefined;
    return r ? toBatch(r) : null;
  }

  /** Batches with work not final yet (the runner's to-do list at start-up and on each wake-up). */
  open(): StoredBatch[] {
    return (
      this.db
        .prepare('SELECT b.*, NULL AS created_by FROM batches b WHERE ended_at IS NULL ORDER BY created_at')
        .all() as BatchRow[]
    ).map(toBatch);
  }

  targets(batchId: string): BatchTargetRecord[] {
    return (
      this.db.prepare('SELECT * FROM batch_targets WHERE batch_id = ? ORDER BY ord').all(batchId) as TargetRow[]
    ).map(toTarget);
  }

  target(batchId: string, deviceId: string): BatchTargetRecord | null {
    const r = this.db
      .prepare('SELECT * FROM batch_targets WHERE batch_id = ? AND device_id = ?')
      .get(batchId, deviceId) as TargetRow | undefined;
    return r ? toTarget(r) : null;
  }

  /** Queued devices of open batches (oldest batch first): what the runner may start. */
  queued(batchId: string): BatchTargetRecord[] {
    return (
      this.db
        .prepare("SELECT * FROM batch_targets WHERE batch_id = ? AND status = 'queued' ORDER BY ord")
        .all(batchId) as TargetRow[]
    ).map(toTarget);
  }

  /** Devices of this batch marked running (after a restart: work the previous run had started). */
  running(batchId: string): BatchTargetRecord[] {
    return (
      this.db
        .prepare("SELECT * FROM batch_targets WHERE batch_id = ? AND status = 'running' ORDER BY ord")
        .all(batchId) as TargetRow[]
    ).map(toTarget);
  }

  /** The batches of this kind with work queued or running on this device (oldest first). */
  activeOnDevice(deviceId: string, kind: BatchKind): string[] {
    return this.db
      .prepare(
        "SELECT t.batch_id FROM batch_targets t JOIN batches b ON b.id = t.batch_id WHERE t.device_id = ? AND b.kind = ? AND t.status IN ('queued', 'running') ORDER BY b.created_at",
      )
      .pluck()
      .all(deviceId, kind) as string[];
  }

  /** Updates one device's work; `started`/`ended` stamp the times once. */
  updateTarget(
    batchId: string,
    deviceId: string,
    u: {
      status?: BatchTargetStatus;
      note?: string | null;
      sessionId?: string | null;
      started?: boolean;
      ended?: boolean;
      rows?: number;
      steps?: BatchStepRecord[];
    },
  ): void {
    const sets: string[] = [];
    const args: unknown[] = [];
    if (u.status !== undefined) (sets.push('status = ?'), args.push(u.status));
    if (u.note !== undefined) (sets.push('note = ?'), args.push(u.note));
    if (u.sessionId !== undefined) (sets.push('session_id = ?'), args.push(u.sessionId));
    if (u.started) (sets.push('started_at = ?'), args.push(now()));
    if (u.ended) (sets.push('ended_at = ?'), args.push(now()));
    if (u.rows !== undefined) (sets.push('rows = ?'), args.push(u.rows));
    if (u.steps !== undefined) (sets.push('steps = ?'), args.push(JSON.stringify(u.steps)));
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE batch_targets SET ${sets.join(', ')} WHERE batch_id = ? AND device_id = ?`)
      .run(...args, batchId, deviceId);
  }

  markCancelled(batchId: string, by: string): void {
    this.db.prepare('UPDATE batches SET cancelled_by = ? WHERE id = ? AND cancelled_by IS NULL').run(by, batchId);
  }

  /** Ends the batch when none of its devices has work left; answers whether it ended now. */
  endIfDone(batchId: string): boolean {
    const left = this.db
      .prepare("SELECT COUNT(*) FROM batch_targets WHERE batch_id = ? AND status IN ('queued', 'running')")
      .pluck()
      .get(batchId) as number;
    if (left > 0) return false;
    return (
      this.db.prepare('UPDATE batches SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(now(), batchId).changes >
      0
    );
  }

  counts(batchId: string): ReturnType<typeof emptyCounts> {
    const counts = emptyCounts();
    for (const r of this.db
      .prepare('SELECT status, COUNT(*) AS n FROM batch_targets WHERE batch_id = ? GROUP BY status')
      .all(batchId) as { status: BatchTargetStatus; n: number }[])
      counts[r.status] = r.n;
    return counts;
  }

  summary(b: StoredBatch, createdBy: string): BatchSummary {
    const counts = this.counts(b.id);
    const s: BatchSummary = {
      id: b.id,
      kind: b.kind,
      status: batchStatusOf(counts, b.cancelledBy !== null),
      createdBy,
      createdAt: b.createdAt,
      commands: b.commands,
      target: b.target,
      concurrency: b.concurrency,
      expiresAt: b.expiresAt,
      counts,
    };
    if (b.endedAt) s.endedAt = b.endedAt;
    if (b.cancelledBy) s.cancelledBy = b.cancelledBy;
    if (b.comment) s.comment = b.comment;
    return s;
  }

  record(id: string): BatchRecord | null {
    const b = this.get(id);
    if (!b) return null;
    return { ...this.summary(b, this.userName(b.userId)), targets: this.targets(id) };
  }

  /** Newest first. */
  list(o: { limit: number; kind?: BatchKind }): BatchSummary[] {
    const rows = (
      o.kind
        ? this.db
            .prepare(
              'SELECT b.*, u.name AS created_by FROM batches b LEFT JOIN users u ON u.id = b.user_id WHERE kind = ? ORDER BY created_at DESC LIMIT ?',
            )
            .all(o.kind, o.limit)
        : this.db
            .prepare(
              'SELECT b.*, u.name AS created_by FROM batches b LEFT JOIN users u ON u.id = b.user_id ORDER BY created_at DESC LIMIT ?',
            )
            .all(o.limit)
    ) as BatchRow[];
    return rows.map((r) => this.summary(toBatch(r), r.created_by ?? r.user_id));
  }

  userName(userId: string): string {
    return (this.db.prepare('SELECT name FROM users WHERE id = ?').pluck().get(userId) as string | undefined) ?? userId;
  }
}
