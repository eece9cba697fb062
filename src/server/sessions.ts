/**
 * Live response sessions: one per device, limits per user and per tenant, an idle timeout (a running
 * command is activity), and the jobs of each session. Closing a session cancels its running jobs on the
 * agent.
 */
import { EventEmitter } from 'node:events';
import type { CommandSpec } from '../shared/catalog.js';
import type { JobStatus, SessionInfo, ToClient } from '../shared/protocol.js';
import type { Limits } from './config.js';
import type { DeviceRow, Store, User } from './store.js';
import type { AgentHub } from './agent-hub.js';
import { newId } from '../node/ids.js';
import { OutputLog } from './output-log.js';

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
  ) {}

  info(): SessionInfo {
    return { id: this.id, deviceId: this.device.id, deviceName: this.device.name, platform: this.device.platform, createdBy: this.user.name, startedAt: this.startedAt, cwd: this.cwd };
  }

  runningJobs(): Job[] {
    return [...this.jobs.values()].filter((j) => j.status === 'running' || j.status === 'pending');
  }

  touch(): void {
    this.lastActivity = Date.now();
  }
}

export class SessionError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

export interface SessionEvents {
  closed: [session: Session, reason: string];
}

export class SessionManager extends EventEmitter<SessionEvents> {
  private readonly sessions = new Map<string, Session>();
  private readonly byDevice = new Map<string, Session>();
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly limits: () => Limits,
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

  /** Opens a session, enforcing 1 per device, N per user and M per tenant. */
  open(user: User, deviceRef: string, peer: ConsolePeer): Session {
    const found = this.store.findDevice(deviceRef);
    if ('error' in found) throw new SessionError(`connect: ${found.error}`, 'not_found');
    const device = found;
    for (const check of this.openChecks) {
      const refusal = check(user, device);
      if (refusal) throw new SessionError(refusal.message, refusal.code);
    }
    if (!this.hub.isOnline(device.id)) throw new SessionError(`connect: ${device.name} is offline (last seen ${device.lastSeen ?? 'never'})`, 'offline');
    const existing = this.byDevice.get(device.id);
    if (existing) {
      throw new SessionError(`connect: ${device.name} already has a live response session (opened by ${existing.user.name} at ${existing.startedAt}); one session per device`, 'device_busy');
    }
    const l = this.limits();
    const mine = this.all().filter((s) => s.user.id === user.id).length;
    if (mine >= l.maxSessionsPerUser) throw new SessionError(`connect: you already have ${mine} sessions open (limit ${l.maxSessionsPerUser} per user)`, 'user_limit');
    if (this.sessions.size >= l.maxSessionsPerTenant) throw new SessionError(`connect: the tenant already has ${this.sessions.size} sessions open (limit ${l.maxSessionsPerTenant})`, 'tenant_limit');
    const cwd = device.platform === 'win32' ? 'C:\\' : '/';
    const s = new Session(newId(12), device, user, new Date().toISOString(), cwd, peer);
    this.sessions.set(s.id, s);
    this.byDevice.set(device.id, s);
    this.store.recordSessionStart(s.id, device.id, user.id, s.startedAt);
    return s;
  }

  close(s: Session, reason: string): void {
    if (s.closed) return;
    s.closed = true;
    for (const job of s.runningJobs()) this.hub.sendTo(s.device.id, { t: 'job.cancel', jobId: job.id, reason: 'session_closed' });
    if (s.traceLevel !== 'off') this.hub.sendTo(s.device.id, { t: 'trace.level', sessionId: s.id, level: 'off' });
    this.sessions.delete(s.id);
    if (this.byDevice.get(s.device.id) === s) this.byDevice.delete(s.device.id);
    this.store.recordSessionEnd(s.id, reason);
    this.emit('closed', s, reason);
  }

  closeAllOf(peer: ConsolePeer, reason: string): void {
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
    clearInterval(this.idleTimer);
    for (const s of this.all()) this.close(s, 'service shutting down');
  }
}
