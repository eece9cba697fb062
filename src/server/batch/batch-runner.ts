/**
 * Runs batches: each device of a batch gets its own session (opened like an analyst's, under the same limits:
 * one session per device, per user, per tenant, the group's remediation level), runs the batch's command
 * lines in order through the pipeline, and ends its session. At most `concurrency` devices of a batch run at
 * once. A device that is offline, held by another analyst's session, or over a session limit waits in the
 * queue (its note says why) and starts when it can, until the batch's expiry (`offline-expired`).
 *
 * Everything is in the database before it is acted on (batch-store.ts): after a restart the queued devices
 * are picked up again. A device the previous run had started is not run twice: its running step is marked
 * failed ("the service stopped while it ran"), since nothing can tell how far it got on the device.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand, roleAllows } from '../../shared/commands/catalog.js';
import { parseLine } from '../../shared/commands/grammar.js';
import {
  batchCreateRequest,
  type BatchCreate,
  type BatchKind,
  type BatchRecord,
  type BatchResults,
  type BatchStepRecord,
  type BatchSummary,
  type BatchTargetRecord,
  type BatchTargetStatus,
} from '../../shared/wire/batch.js';
import { formatInstant } from '../../shared/time-format.js';
import { newId } from '../../node/ids.js';
import type { Logger } from '../../node/log.js';
import type { Db } from '../db.js';
import type { Store, User } from '../store.js';
import type { AgentHub } from '../agent-hub.js';
import type { Pipeline } from '../pipeline.js';
import { SessionError, type SessionManager } from '../sessions.js';
import type { GroupStore } from '../groups.js';
import { RestError } from '../rest-io.js';
import { BatchStore, type StoredBatch } from './batch-store.js';
import { BatchPeer, type StepOutcome } from './batch-peer.js';
import { selectDevices } from './batch-select.js';
import { describeError } from '../../shared/errors.js';

/** A refusal of a batch request: an HTTP status and one line. */
export class BatchError extends RestError {
  override name = 'BatchError';
}

export interface BatchRunnerDeps {
  db: Db;
  dataDir: string;
  store: Store;
  hub: AgentHub;
  sessions: SessionManager;
  pipeline: Pipeline;
  groups: GroupStore;
  log: Logger;
  /** How often queued work is looked at again without an event (a device freed, an expiry); tests shorten it. */
  tickMs?: number;
}

export interface BatchRunnerEvents {
  changed: [batchId: string];
}

/** A device's work running now (in memory only while it runs). */
interface Running {
  batchId: string;
  deviceId: string;
  peer: BatchPeer | null;
  cancelled: boolean;
}

/** Session refusals that mean "not now" (the device stays queued) rather than "never" (refused). */
const WAIT_CODES = new Set(['offline', 'device_busy', 'user_limit', 'tenant_limit', 'unavailable']);

const MAX_RESULT_ROWS = 200_000;

export class BatchRunner extends EventEmitter<BatchRunnerEvents> {
  private readonly batches: BatchStore;
  private readonly running = new Map<string, Running>(); // key: batchId/deviceId
  private readonly timer: NodeJS.Timeout;
  private scheduled = false;
  private stopped = false;
  private readonly root: string;
  /** Devices refused "not now" (busy, limits) and when to try them again, unless an event frees them first. */
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly d: BatchRunnerDeps) {
    super();
    this.setMaxListeners(0); // one per REST request waiting on its batch (batch-routes.ts)
    this.batches = new BatchStore(d.db);
    this.root = join(d.dataDir, 'batches');
    this.recoverInterrupted();
    d.hub.on('presence', (deviceId, online) => online && this.wake(deviceId));
    d.sessions.on('closed', (s) => s.batchId === null && this.wake(s.device.id)); // a device an analyst held is free
    this.timer = setInterval(() => this.schedule(), d.tickMs ?? 5_000);
    this.timer.unref();
    this.schedule();
  }

  // ---------- requests ----------

  create(user: User, request: unknown, opts: { kind?: BatchKind } = {}): BatchRecord {
    const parsed = batchCreateRequest.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BatchError(
        400,
        `invalid batch: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'bad request'}`,
      );
    }
    const req: BatchCreate = parsed.data;
    for (const line of req.commands) this.checkLine(user, line);
    const devices = selectDevices(req.target, {
      store: this.d.store,
      groups: this.d.groups,
      isOnline: (id) => this.d.hub.isOnline(id),
    });
    const kind = opts.kind ?? 'batch';
    const id = newId(12);
    this.batches.create({
      id,
      kind,
      userId: user.id,
      comment: req.comment ?? null,
      commands: req.commands,
      target: req.target,
      concurrency: req.concurrency,
      expiresAt: new Date(Date.now() + req.expiresInSec * 1000).toISOString(),
      devices: devices.map((dev) => ({ id: dev.id, name: dev.name })),
    });
    this.d.log.info('batch created', {
      batchId: id,
      kind,
      user: user.name,
      devices: devices.length,
      commands: req.commands.length,
    });
    this.schedule();
    return this.get(id) as BatchRecord;
  }

  /** Refuses what could never run in a batch, before anything is queued (one line naming the step). */
  private checkLine(user: User, line: string): void {
    let parsed;
    try {
      parsed = parseLine(line);
    } catch (e) {
      throw new BatchError(400, `${line.slice(0, 80)}: ${describeError(e)}`);
    }
    const spec = findCommand(parsed.name);
    if (!spec) throw new BatchError(400, `${parsed.name}: unknown command (type help in a console for the list)`);
    if (!roleAllows(user.role, spec.role))
      throw new BatchError(
        403,
        `${spec.name}: refused: needs the ${spec.role} role (you are ${user.role}); nothing was started`,
      );
    if (spec.side === 'client') throw new BatchError(400, `${spec.name}: a console command, it cannot run in a batch`);
    if (parsed.background)
      throw new BatchError(
        400,
        `${spec.name}: & has no meaning in a batch (every device runs in the background already)`,
      );
    if (parsed.redirect)
      throw new BatchError(
        400,
        `${spec.name}: > has no meaning in a batch (the results are kept by the service: lr batch results)`,
      );
  }

  get(id: string): BatchRecord | null {
    return this.batches.record(id);
  }

  list(o: { limit?: number; kind?: BatchKind } = {}): BatchSummary[] {
    return this.batches.list({
      limit: Math.min(Math.max(o.limit ?? 100, 1), 1000),
      ...(o.kind ? { kind: o.kind } : {}),
    });
  }

  /** Batches of this kind with work queued or running on the device (one action per machine at a time). */
  activeOnDevice(deviceId: string, kind: BatchKind): string[] {
    return this.batches.activeOnDevice(deviceId, kind);
  }

  /** The creator or an admin: every queued device is cancelled, every running one has its command cancelled. */
  cancel(id: string, user: User): BatchRecord {
    const b = this.batches.get(id);
    if (!b) throw new BatchError(404, `no batch ${id}`);
    if (b.userId !== user.id && user.role !== 'admin')
      throw new BatchError(
        403,
        `refused: only ${this.batches.userName(b.userId)} (who started it) or an admin may cancel batch ${id}`,
      );
    if (b.endedAt) return this.get(id) as BatchRecord;
    this.batches.markCancelled(id, user.name);
    for (const t of this.batches.queued(id)) {
      this.batches.updateTarget(id, t.deviceId, {
        status: 'cancelled',
        note: `cancelled by ${user.name} before it started`,
        ended: true,
        steps: notRun(t.steps, `cancelled by ${user.name}`),
      });
    }
    for (const r of this.running.values()) {
      if (r.batchId !== id) continue;
      r.cancelled = true;
      const commandId = r.peer?.runningCommand();
      if (r.peer && commandId) this.d.pipeline.cancel(r.peer, commandId);
    }
    this.d.log.info('batch cancelled', { batchId: id, by: user.name });
    this.finishIfDone(id);
    return this.get(id) as BatchRecord;
  }

  // ---------- results ----------

  private dirOf(batchId: string, deviceId: string): string {
    return join(this.root, batchId, deviceId);
  }

  /** Every device's records in one table, `device` and `step` first; optionally one device or one step. */
  results(id: string, o: { device?: string; step?: number; limit?: number } = {}): BatchResults {
    const b = this.batches.get(id);
    if (!b) throw new BatchError(404, `no batch ${id}`);
    const limit = Math.min(o.limit ?? MAX_RESULT_ROWS, MAX_RESULT_ROWS);
    const columns = ['device', 'step'];
    const known = new Set(columns);
    const rows: Record<string, unknown>[] = [];
    const truncated: string[] = [];
    const files: BatchResults['files'] = [];
    for (const t of this.batches.targets(id)) {
      if (o.device !== undefined && t.deviceName.toLowerCase() !== o.device.toLowerCase() && t.deviceId !== o.device)
        continue;
      for (const step of t.steps) {
        if (o.step !== undefined && step.index !== o.step) continue;
        if (step.truncated) truncated.push(t.deviceName);
        if (step.file) files.push({ ...step.file, device: t.deviceName, deviceId: t.deviceId, step: step.index });
        const file = join(this.dirOf(id, t.deviceId), `step-${step.index}.jsonl`);
        // Past the limit only the file list is still gathered: no more records are read from disk.
        if (rows.length >= limit || !existsSync(file)) continue;
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          if (!line) continue;
          for (const r of JSON.parse(line) as Record<string, unknown>[]) {
            if (rows.length >= limit) break;
            for (const k of Object.keys(r)) if (!known.has(k)) (known.add(k), columns.push(k));
            rows.push({ device: t.deviceName, step: step.index, ...r });
          }
          if (rows.length >= limit) break;
        }
      }
    }
    if (rows.length >= limit) truncated.push(`(the table stops at ${limit} rows)`);
    return { batchId: id, columns, rows, truncated: [...new Set(truncated)], files };
  }

  /** A file a step pulled, as kept on the service (its SHA-256 was checked against the agent's). */
  file(
    id: string,
    deviceId: string,
    step: number,
  ): { path: string; name: string; size: number; sha256: string } | null {
    const t = this.batches.target(id, deviceId);
    const f = t?.steps[step]?.file;
    if (!t || !f) return null;
    const path = join(this.dirOf(id, t.deviceId), 'files', `step-${step}`, f.name);
    return existsSync(path) ? { path, ...f } : null;
  }

  /** A step's text output (scripts), or null when it printed none. */
  text(id: string, deviceId: string, step: number): string | null {
    const t = this.batches.target(id, deviceId);
    if (!t) return null;
    const path = join(this.dirOf(id, t.deviceId), `step-${step}.txt`);
    return existsSync(path) ? readFileSync(path, 'utf8') : null;
  }

  // ---------- scheduling ----------

  private wake(deviceId: string): void {
    this.retryAt.delete(deviceId);
    this.schedule();
  }

  /** Looks at the queue soon (once per event loop turn, whatever the number of events). */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      try {
        this.pump();
      } catch (e) {
        this.d.log.error('batch scheduling failed', { error: describeError(e) });
      }
    });
  }

  private pump(): void {
    const now = Date.now();
    for (const b of this.batches.open()) {
      if (b.cancelledBy) {
        this.finishIfDone(b.id);
        continue;
      }
      const expired = Date.parse(b.expiresAt) <= now;
      let slots = b.concurrency - [...this.running.values()].filter((r) => r.batchId === b.id).length;
      for (const t of this.batches.queued(b.id)) {
        if (this.running.has(key(b.id, t.deviceId))) continue;
        if (expired) {
          const why = t.note ? `: ${t.note}` : '';
          this.batches.updateTarget(b.id, t.deviceId, {
            status: 'offline-expired',
            note: `the batch expired at ${formatInstant(b.expiresAt, 'UTC')} before the device could run it${why}`,
            ended: true,
            steps: notRun(t.steps, 'the batch expired first'),
          });
          this.emit('changed', b.id);
          continue;
        }
        if (slots <= 0 || (this.retryAt.get(t.deviceId) ?? 0) > now) continue;
        if (!this.d.hub.isOnline(t.deviceId)) {
          const dev = this.d.store.getDevice(t.deviceId);
          const note = `offline (last seen ${dev?.lastSeen ? formatInstant(dev.lastSeen, 'UTC') : 'never'})`;
          if (t.note !== note) this.batches.updateTarget(b.id, t.deviceId, { note });
          continue;
        }
        slots--;
        void this.runTarget(b, t);
      }
      this.finishIfDone(b.id);
    }
  }

  private async runTarget(b: StoredBatch, t: BatchTargetRecord): Promise<void> {
    const k = key(b.id, t.deviceId);
    const r: Running = { batchId: b.id, deviceId: t.deviceId, peer: null, cancelled: false };
    this.running.set(k, r);
    try {
      const user = this.d.store.getUser(b.userId);
      if (!user) {
        this.end(b.id, t, 'refused', `the user who started the batch no longer exists`, notRun(t.steps, 'refused'));
        return;
      }
      const peer = new BatchPeer(user, this.dirOf(b.id, t.deviceId), t.deviceId, (commandId) =>
        this.d.pipeline.cancel(peer, commandId),
      );
      r.peer = peer;
      let session;
      try {
        session = await this.d.sessions.open(user, t.deviceId, peer, { batchId: b.id });
      } catch (e) {
        if (this.stopped) return;
        const message = describeError(e).replace(/^connect: /, '');
        if (e instanceof SessionError && WAIT_CODES.has(e.code)) {
          this.retryAt.set(t.deviceId, Date.now() + (this.d.tickMs ?? 5_000) - 50);
          if (t.note !== message) this.batches.updateTarget(b.id, t.deviceId, { note: message });
          this.emit('changed', b.id);
          return;
        }
        this.end(b.id, t, 'refused', message, notRun(t.steps, `refused: ${message}`));
        return;
      }
      if (r.cancelled || this.batches.get(b.id)?.cancelledBy) {
        this.d.sessions.close(session, `batch ${b.id} cancelled`);
        this.end(b.id, t, 'cancelled', 'cancelled before it started', notRun(t.steps, 'cancelled'));
        return;
      }
      this.batches.updateTarget(b.id, t.deviceId, {
        status: 'running',
        note: null,
        sessionId: session.id,
        started: true,
      });
      this.emit('changed', b.id);
      const steps = t.steps.map((s) => ({ ...s }));
      let status: BatchTargetStatus = 'completed';
      let note: string | null = null;
      let rows = 0;
      for (const step of steps) {
        if (this.stopped) return; // left `running`: the next start says the service stopped while it ran
        if (r.cancelled) {
          status = 'cancelled';
          note = 'cancelled';
          markNotRun(steps, step.index, 'cancelled');
          break;
        }
        step.status = 'running';
        step.startedAt = new Date().toISOString();
        this.batches.updateTarget(b.id, t.deviceId, { steps });
        const done = peer.expect(step.index);
        this.d.pipeline.submit(peer, session, step.line);
        const outcome = await done;
        if (this.stopped) return;
        applyOutcome(step, outcome);
        rows += outcome.rows;
        this.batches.updateTarget(b.id, t.deviceId, { steps, rows });
        this.emit('changed', b.id);
        if (outcome.status !== 'completed') {
          status =
            outcome.status === 'refused'
              ? 'refused'
              : outcome.status === 'cancelled' || r.cancelled
                ? 'cancelled'
                : 'failed';
          note = `step ${step.index + 1} (${step.line.slice(0, 80)}) ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`;
          markNotRun(steps, step.index + 1, `not run: step ${step.index + 1} ${outcome.status}`);
          break;
        }
      }
      if (!session.closed) this.d.sessions.close(session, `batch ${b.id} done on this device`);
      this.end(b.id, { ...t, steps }, status, note, steps, rows);
    } catch (e) {
      if (!this.stopped) {
        this.d.log.error('batch device failed', { batchId: b.id, deviceId: t.deviceId, error: describeError(e) });
        this.end(b.id, t, 'failed', `internal error: ${describeError(e)}`, t.steps);
      }
    } finally {
      this.running.delete(k);
      this.schedule();
    }
  }

  private end(
    batchId: string,
    t: BatchTargetRecord,
    status: BatchTargetStatus,
    note: string | null,
    steps: BatchStepRecord[],
    rows?: number,
  ): void {
    if (this.stopped) return;
    this.batches.updateTarget(batchId, t.deviceId, {
      status,
      note,
      ended: true,
      steps,
      ...(rows !== undefined ? { rows } : {}),
    });
    this.d.log.info('batch device ended', { batchId, deviceId: t.deviceId, status });
    this.emit('changed', batchId);
    this.finishIfDone(batchId);
  }

  private finishIfDone(batchId: string): void {
    if (this.batches.endIfDone(batchId)) {
      const rec = this.batches.record(batchId);
      this.d.log.info('batch ended', { batchId, status: rec?.status, counts: rec?.counts });
      this.emit('changed', batchId);
    }
  }

  /** Devices the previous run had started: their outcome is unknown, so they are failed, never run twice. */
  private recoverInterrupted(): void {
    for (const b of this.batches.open()) {
      for (const t of this.batches.running(b.id)) {
        const steps = t.steps.map((s) =>
          s.status === 'running' || s.status === 'pending'
            ? { ...s, status: 'failed' as const, error: 'the service stopped while it ran' }
            : s,
        );
        this.batches.updateTarget(b.id, t.deviceId, {
          status: 'failed',
          note: 'the service stopped while this device ran the batch (see the command log)',
          ended: true,
          steps: notRun(steps, 'not run: the service stopped'),
        });
      }
      this.batches.endIfDone(b.id);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}

function key(batchId: string, deviceId: string): string {
  return `${batchId}/${deviceId}`;
}

function applyOutcome(step: BatchStepRecord, o: StepOutcome): void {
  step.status = o.status;
  step.endedAt = new Date().toISOString();
  step.durationMs = o.durationMs;
  step.rows = o.rows;
  step.textBytes = o.textBytes;
  step.truncated = o.truncated;
  if (o.commandId) step.commandId = o.commandId;
  if (o.error) step.error = o.error;
  else delete step.error;
  if (o.file) step.file = o.file;
}

/** Steps from `from` on that did not run, with why. */
function markNotRun(steps: BatchStepRecord[], from: number, why: string): void {
  for (const s of steps)
    if (s.index >= from && (s.status === 'not-run' || s.status === 'pending'))
      ((s.status = 'not-run'), (s.error = why));
}

function notRun(steps: BatchStepRecord[], why: string): BatchStepRecord[] {
  return steps.map((s) => (s.status === 'not-run' ? { ...s, error: why } : s));
}
