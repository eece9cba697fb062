/**
 * Live response sessions: one per device, limits per user and per tenant, an idle timeout (a running
 * command is activity), and the jobs of each session. Closing a session cancels its running jobs on the
 * agent. Whether a session may open is decided by the SessionLedger (in memory on a single node, shared
 * between nodes in a cluster); the Session objects themselves live on the node that opened them.
 */
import { EventEmitter } from 'node:events';
import type { CommandSpec } from '../shared/commands/catalog.js';
import type { JobStatus, SessionInfo, ToClient } from '../shared/wire/protocol.js';
import type { Limits } from './config.js';
import type { DeviceRow, Store, User } from './store.js';
import type { AgentHub } from './agent-hub.js';
import { newId } from '../node/ids.js';
import { formatInstant } from '../shared/time-format.js';
import { OutputLog } from './output-log.js';
import { LocalSessionLedger, type SessionLedger } from './session-ledger.js';

/** The analyst connection a session talks to (a console WebSocket). */
export interface ConsolePeer {
  readonly user: User;
  send(frame: ToClient): void;
  /** A frame already serialised (a valid ToClient). */
  sendRaw(json: string): void;
  /** A binary data frame of a file transfer (forwarded unchanged from the agent). */
  sendBinary(frame: Buffer): void;
  /** Bytes queued towards the analyst and not yet written to the socket. */
  bufferedAmount(): number;
}

export interface Job {
  id: string;
  session: Session;
  spec: CommandSpec;
  commandLine: string;
  startedAt: number;
  status: JobStatus;
  background: boolean;
  /** The console receiving this job's output; null while in the background. */
  attached: ConsolePeer | null;
  output: OutputLog;
  /** Output frames (serialised) kept for `fg` replay (bounded like the log). */
  replay: string[];
  replayBytes: number;
  timer?: NodeJS.Timeout;
  pendingAck: number;
  ackTimer?: NodeJS.Timeout;
  settle?: () => void;
}

export class Session {
  readonly jobs = new Map<string, Job>();
  lastActivity = Date.now();
  traceLevel = 'off';
  closed = false;

  constructor(
    readonly id: string,
    readonly device: DeviceRow,
    readonly user: User,
    readonly startedAt: string,
    public cwd: string,
    public peer: ConsolePeer,
    /** Opened by a batch run (batch/batch-runner.ts), not by a console. */
    readonly batchId: string | null = null,
  ) {}

  info(): SessionInfo {
    return {
      id: this.id,
      deviceId: this.device.id,
      deviceName: this.device.name,
      platform: this.device.platform,
      createdBy: this.user.name,
      startedAt: this.startedAt,
      cwd: this.cwd,
    };
  }

  runningJobs(): Job[] {
    return [...this.jobs.values()].filter((j) => j.status === 'running' || j.status === 'pending');
  }

  touch(): void {
    this.lastActivity = Date.now();
  }
}

export class SessionError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface SessionEvents {
  closed: [session: Session, reason: string];
}

export class SessionManager extends EventEmitter<SessionEvents> {
  private readonly sessions = new Map<string, Session>();
  private readonly idleTimer: NodeJS.Timeout;
  /**
   * Bumped by closeAllOf for a console: an open still waiting on the ledger when its console goes away
   * must not register a session nobody will ever close (it would hold the device until the idle timeout).
   */
  private readonly peerEpoch = new WeakMap<ConsolePeer, number>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly limits: () => Limits,
    private readonly ledger: SessionLedger = new LocalSessionLedger(),
  ) {
    super();
    const tick = Math.max(200, Math.min(5_000, (limits().idleTimeoutSec * 1000) / 4));
    this.idleTimer = setInterval(() => this.closeIdle(), tick);
    this.idleTimer.unref();
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  private readonly openChecks: Array<(user: User, device: DeviceRow) => { message: string; code: string } | null> = [];

  /** Adds a policy check run before each session opens (e.g. the device group's remediation level). */
  addOpenCheck(check: (user: User, device: DeviceRow) => { message: string; code: string } | null): void {
    this.openChecks.push(check);
  }

  /**
   * Opens a session, enforcing 1 per device, N per user and M per tenant (decided by the ledger, atomically
   * across every node sharing it). The checks that need only this node (device known, policy, agent online)
   * run first, synchronously, as before.
   */
  async open(user: User, deviceRef: string, peer: ConsolePeer, opts: { batchId?: string } = {}): Promise<Session> {
    const found = this.store.findDevice(deviceRef);
    if ('error' in found) throw new SessionError(`connect: ${found.error}`, 'not_found');
    const device = found;
    for (const check of this.openChecks) {
      const refusal = check(user, device);
      if (refusal) throw new SessionError(refusal.message, refusal.code);
    }
    if (!this.hub.isOnline(device.id))
      throw new SessionError(`connect: ${device.name} is offline (last seen ${device.lastSeen ?? 'never'})`, 'offline');
    const l = this.limits();
    const id = newId(12);
    const startedAt = new Date().toISOString();
    const epoch = this.peerEpoch.get(peer) ?? 0;
    const decision = await this.ledger.tryOpen(
      { sessionId: id, deviceId: device.id, userId: user.id, userName: user.name, startedAt },
      { maxSessionsPerUser: l.maxSessionsPerUser, maxSessionsPerTenant: l.maxSessionsPerTenant },
    );
    if (!decision.ok) {
      switch (decision.code) {
        case 'device_busy':
          throw new SessionError(
            `connect: ${device.name} already has a live response session (opened by ${decision.holder.userName} at ${formatInstant(decision.holder.startedAt, 'UTC')}); one session per device`,
            'device_busy',
          );
        case 'user_limit':
          throw new SessionError(
            `connect: you already have ${decision.count} session${decision.count === 1 ? '' : 's'} open (limit ${decision.limit} per user)`,
            'user_limit',
          );
        case 'tenant_limit':
          throw new SessionError(
            `connect: the tenant already has ${decision.count} session${decision.count === 1 ? '' : 's'} open (limit ${decision.limit})`,
            'tenant_limit',
          );
      }
    }
    // The console or the service may have gone while the ledger decided: give the claim back.
    if (this.stopped || (this.peerEpoch.get(peer) ?? 0) !== epoch) {
      this.release(id);
      throw new SessionError(
        this.stopped ? 'connect: the service is shutting down' : 'connect: the console disconnected',
        'unavailable',
      );
    }
    const cwd = device.platform === 'win32' ? 'C:\\' : '/';
    const s = new Session(id, device, user, startedAt, cwd, peer, opts.batchId ?? null);
    this.sessions.set(s.id, s);
    this.store.recordSessionStart(s.id, device.id, user.id, s.startedAt, opts.batchId ?? null);
    return s;
  }

  /**
   * Gives a claim back to the ledger without waiting. The local ledger frees it before returning; a shared
   * ledger that cannot be reached lets the claim expire with its lease, so a failure here is not an error.
   */
  private release(sessionId: string): void {
    this.ledger.close(sessionId).catch(() => undefined);
  }

  close(s: Session, reason: string): void {
    if (s.closed) return;
    s.closed = true;
    for (const job of s.runningJobs())
      this.hub.sendTo(s.device.id, { t: 'job.cancel', jobId: job.id, reason: 'session_closed' });
    if (s.traceLevel !== 'off') this.hub.sendTo(s.device.id, { t: 'trace.level', sessionId: s.id, level: 'off' });
    this.sessions.delete(s.id);
    this.release(s.id);
    this.store.recordSessionEnd(s.id, reason);
    this.emit('closed', s, reason);
  }

  closeAllOf(peer: ConsolePeer, reason: string): void {
    this.peerEpoch.set(peer, (this.peerEpoch.get(peer) ?? 0) + 1);
    for (const s of this.all()) if (s.peer === peer) this.close(s, reason);
  }

  private closeIdle(): void {
    const idleMs = this.limits().idleTimeoutSec * 1000;
    const t = Date.now();
    for (const s of this.all()) {
      if (s.runningJobs().length > 0) {
        s.touch(); // a running command or transfer is activity
        continue;
      }
      if (t - s.lastActivity >= idleMs) this.close(s, `idle for ${Math.round(idleMs / 1000)} s`);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.idleTimer);
    for (const s of this.all()) this.close(s, 'service shutting down');
  }
}
