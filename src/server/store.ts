/**
 * The service's state behind narrow interfaces (users, enrollment, devices, sessions, command log,
 * settings), implemented on SQLite. A multi-node store (NATS JetStream) can implement the same interfaces.
 */
import type { Db } from './db.js';
import type { Role } from '../shared/commands/catalog.js';
import type {
  CommandLogQuery,
  CommandLogRecord,
  CommandLogSummary,
  DeviceInfo,
  JobStatus,
} from '../shared/wire/protocol.js';
import { issueToken, secretMatches, splitToken } from './auth.js';
import { newId } from '../node/ids.js';
import { CommandLogView, type CommandFilter } from './command-log-view.js';
import { nameCandidates } from '../shared/wire/device-name.js';
import { Emitter, type Event } from '../shared/event.js';

export { toCommandRecord, type CommandFilter, type CommandRow } from './command-log-view.js';

export interface User {
  id: string;
  name: string;
  role: Role;
  libraryManager: boolean;
}

export interface DeviceRow {
  id: string;
  name: string;
  hostname: string;
  os: string;
  platform: string;
  agentVersion: string;
  publicKey: string;
  enrolledAt: string;
  lastSeen: string | null;
  isolated: boolean;
}

export interface NewCommand {
  id: string;
  sessionId: string | null;
  userId: string;
  deviceId: string | null;
  commandLine: string;
  name: string;
  status: JobStatus;
  background: boolean;
  error?: string;
  /** A probe the console runs for itself (path completion). */
  internal?: boolean;
}

const now = (): string => new Date().toISOString();

export class Store {
  constructor(private readonly db: Db) {
    this.logView = new CommandLogView(db, 'commands');
  }

  private readonly commandWritten = new Emitter<string>();

  /**
   * After each write to a command row, inside its transaction, with the row's id (log-chain.ts chains and
   * seals it). Any number of listeners, in the order they subscribed; one that throws fails the write.
   */
  readonly onCommandWritten: Event<string> = this.commandWritten.event;

  close(): void {
    this.flushPresence();
    this.db.close();
  }

  // ---------- users and tokens ----------
  createUser(name: string, role: Role, libraryManager: boolean): User {
    if (this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name)) throw new Error(`user ${name} already exists`);
    const user: User = { id: newId(12), name, role, libraryManager };
    this.db
      .prepare('INSERT INTO users (id, name, role, library_manager, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(user.id, name, role, libraryManager ? 1 : 0, now());
    return user;
  }

  /** Issues an API token; only its hash is kept. */
  issueApiToken(userId: string, expiresAt: string | null = null): string {
    const t = issueToken('lr');
    this.db
      .prepare('INSERT INTO api_tokens (id, user_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(t.id, userId, t.secretHash, now(), expiresAt);
    return t.token;
  }

  authenticate(token: string): User | null {
    const parts = splitToken(token, 'lr');
    if (!parts) return null;
    const row = this.db
      .prepare(
        `SELECT t.secret_hash, t.expires_at, t.revoked_at, u.id, u.name, u.role, u.library_manager, u.disabled_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`,
      )
      .get(parts.id) as
      | {
          secret_hash: string;
          expires_at: string | null;
          revoked_at: string | null;
          id: string;
          name: string;
          role: Role;
          library_manager: number;
          disabled_at: string | null;
        }
      | undefined;
    if (!row || !secretMatches(parts.secret, row.secret_hash)) return null;
    if (row.revoked_at || row.disabled_at) return null;
    if (row.expires_at && Date.parse(row.expires_at) < Date.now()) return null;
    return { id: row.id, name: row.name, role: row.role, libraryManager: row.library_manager === 1 };
  }

  getUser(id: string): User | null {
    const r = this.db.prepare('SELECT id, name, role, library_manager FROM users WHERE id = ?').get(id) as
      { id: string; name: string; role: Role; library_manager: number } | undefined;
    return r ? { id: r.id, name: r.name, role: r.role, libraryManager: r.library_manager === 1 } : null;
  }

  // ---------- enrollment ----------
  createEnrollToken(ttlMs: number): { token: string; expiresAt: string } {
    const t = issueToken('lre');
    const expiresAt = new Date(Date.now() + ttlMs).toISOString();
    this.db
      .prepare('INSERT INTO enroll_tokens (id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(t.id, t.secretHash, now(), expiresAt);
    return { token: t.token, expiresAt };
  }

  /** Whether an enrollment token could be used now (enrollDevice checks again, atomically). */
  checkEnrollToken(token: string): { ok: true; tokenId: string } | { ok: false; error: string } {
    const parts = splitToken(token, 'lre');
    if (!parts) return { ok: false, error: 'enrollment token is malformed' };
    const row = this.db
      .prepare('SELECT secret_hash, expires_at, used_at FROM enroll_tokens WHERE id = ?')
      .get(parts.id) as { secret_hash: string; expires_at: string; used_at: string | null } | undefined;
    if (!row || !secretMatches(parts.secret, row.secret_hash))
      return { ok: false, error: 'enrollment token is not valid' };
    if (row.used_at) return { ok: false, error: 'enrollment token was already used' };
    if (Date.parse(row.expires_at) < Date.now()) return { ok: false, error: 'enrollment token has expired' };
    return { ok: true, tokenId: parts.id };
  }

  /**
   * Enrolls a device with a one-time token, atomically: a token is used at most once. The service fixes the
   * device's name here: the requested one, or when another device has it (any case) the first free
   * `NAME-2`, `NAME-3`… (`avoid`: names the cluster refused to hand out, see http.ts).
   */
  enrollDevice(
    token: string,
    info: DeviceInfo,
    publicKey: string,
    avoid: (name: string) => boolean = () => false,
  ): { ok: true; deviceId: string; name: string } | { ok: false; error: string } {
    return this.db.transaction((): { ok: true; deviceId: string; name: string } | { ok: false; error: string } => {
      const check = this.checkEnrollToken(token); // again, inside the transaction that marks it used
      if (!check.ok) return check;
      const deviceId = newId(12);
      const name = this.freeDeviceName(info.name, avoid);
      this.db
        .prepare(
          'INSERT INTO devices (id, name, hostname, os, platform, agent_version, public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(deviceId, name, info.hostname, info.os, info.platform, info.agentVersion, publicKey, now());
      this.db
        .prepare('UPDATE enroll_tokens SET used_at = ?, used_by_device = ? WHERE id = ?')
        .run(now(), deviceId, check.tokenId);
      return { ok: true, deviceId, name };
    })();
  }

  /** The first of `wanted`, `wanted-2`, `wanted-3`… no device holds (without regard to case) and `avoid` accepts. */
  freeDeviceName(wanted: string, avoid: (name: string) => boolean = () => false): string {
    const held = this.db.prepare('SELECT 1 FROM devices WHERE name = ? COLLATE NOCASE').pluck();
    for (const candidate of nameCandidates(wanted)) if (!held.get(candidate) && !avoid(candidate)) return candidate;
    throw new Error('unreachable: names are endless');
  }

  // ---------- devices ----------
  private deviceFromRow(r: Record<string, unknown>): DeviceRow {
    return {
      id: r.id as string,
      name: r.name as string,
      hostname: r.hostname as string,
      os: r.os as string,
      platform: r.platform as string,
      agentVersion: r.agent_version as string,
      publicKey: r.public_key as string,
      enrolledAt: r.enrolled_at as string,
      lastSeen: (r.last_seen as string | null) ?? null,
      isolated: r.isolated === 1,
    };
  }

  getDevice(id: string): DeviceRow | null {
    const r = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r ? this.deviceFromRow(r) : null;
  }

  /** Finds a device by id, else by its name (unique, any case). */
  findDevice(idOrName: string): DeviceRow | { error: string } {
    const byId = this.getDevice(idOrName);
    if (byId) return byId;
    const rows = this.db.prepare('SELECT * FROM devices WHERE name = ? COLLATE NOCASE').all(idOrName) as Record<
      string,
      unknown
    >[];
    if (rows.length === 1) return this.deviceFromRow(rows[0] as Record<string, unknown>);
    // Only while a cluster converges (two nodes renamed at once): the id is always unambiguous.
    if (rows.length > 1) return { error: `${rows.length} devices are named ${idOrName}: use the device id` };
    return { error: `no device ${idOrName}` };
  }

  /** An admin's rename; refused (one line) when another device has the name in any case. */
  renameDevice(id: string, name: string): { ok: true; previous: string } | { ok: false; error: string } {
    return this.db.transaction((): { ok: true; previous: string } | { ok: false; error: string } => {
      const d = this.getDevice(id);
      if (!d) return { ok: false, error: `no device ${id}` };
      const holder = this.db
        .prepare('SELECT id FROM devices WHERE name = ? COLLATE NOCASE AND id <> ?')
        .pluck()
        .get(name, id) as string | undefined;
      if (holder) return { ok: false, error: `the name ${name} is taken by device ${holder}` };
      this.db.prepare('UPDATE devices SET name = ? WHERE id = ?').run(name, id);
      return { ok: true, previous: d.name };
    })();
  }

  listDevices(): DeviceRow[] {
    return (this.db.prepare('SELECT * FROM devices ORDER BY name, id').all() as Record<string, unknown>[]).map((r) =>
      this.deviceFromRow(r),
    );
  }

  /**
   * Presence writes (hello info, last seen) are batched into one transaction every 100 ms: with the
   * command log's synchronous=FULL every transaction is an fsync, and thousands of agents reconnecting
   * after a service restart would otherwise queue thousands of them.
   */
  private readonly presence = new Map<string, { info?: DeviceInfo; seen: string }>();
  private presenceTimer: NodeJS.Timeout | undefined;

  /** The hello's facts (host name, OS, version, isolation); never its name, which the service fixed at enrollment. */
  updateDeviceInfo(id: string, info: DeviceInfo): void {
    this.presence.set(id, { info, seen: now() });
    this.schedulePresenceFlush();
  }

  touchDevice(id: string): void {
    const pending = this.presence.get(id);
    this.presence.set(id, { info: pending?.info, seen: now() });
    this.schedulePresenceFlush();
  }

  /**
   * The isolation state an isolate or release just established. Newer than any hello still waiting in the
   * presence batch: that hello's isolation flag is brought up to date too, or the flush would write the
   * agent's earlier state back over it.
   */
  setIsolated(id: string, isolated: boolean): void {
    const pending = this.presence.get(id);
    if (pending?.info) pending.info = { ...pending.info, isolated };
    this.db.prepare('UPDATE devices SET isolated = ? WHERE id = ?').run(isolated ? 1 : 0, id);
  }

  private schedulePresenceFlush(): void {
    if (this.presenceTimer) return;
    this.presenceTimer = setTimeout(() => this.flushPresence(), 100);
    this.presenceTimer.unref();
  }

  flushPresence(): void {
    clearTimeout(this.presenceTimer);
    this.presenceTimer = undefined;
    if (this.presence.size === 0) return;
    const batch = [...this.presence];
    this.presence.clear();
    const withInfo = this.db.prepare(
      'UPDATE devices SET hostname = ?, os = ?, platform = ?, agent_version = ?, last_seen = ?, isolated = ? WHERE id = ?',
    );
    const seenOnly = this.db.prepare('UPDATE devices SET last_seen = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const [id, p] of batch) {
        if (p.info)
          withInfo.run(
            p.info.hostname,
            p.info.os,
            p.info.platform,
            p.info.agentVersion,
            p.seen,
            p.info.isolated ? 1 : 0,
            id,
          );
        else seenOnly.run(p.seen, id);
      }
    })();
  }

  // ---------- sessions ----------
  /** `batchId`: the session was opened by a batch run (its commands are the batch's in the log). */
  recordSessionStart(
    id: string,
    deviceId: string,
    userId: string,
    startedAt: string,
    batchId: string | null = null,
  ): void {
    this.db
      .prepare('INSERT INTO sessions (id, device_id, user_id, started_at, batch_id) VALUES (?, ?, ?, ?, ?)')
      .run(id, deviceId, userId, startedAt, batchId);
  }

  recordSessionEnd(id: string, reason: string): void {
    this.db
      .prepare('UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL')
      .run(now(), reason, id);
  }

  /**
   * Sessions left open by a crash are closed at start-up, and the commands they were running end `failed`:
   * those `wasRunning` confirms (the log chain's anchor), not an entry an editor set back to running.
   */
  closeDanglingSessions(wasRunning: (seq: number) => boolean = () => true): void {
    this.db
      .prepare("UPDATE sessions SET ended_at = ?, end_reason = 'service restarted' WHERE ended_at IS NULL")
      .run(now());
    this.db.transaction(() => {
      const rows = this.db.prepare("SELECT seq, id FROM commands WHERE status IN ('pending','running')").all() as {
        seq: number;
        id: string;
      }[];
      const fail = this.db.prepare(
        "UPDATE commands SET status = 'failed', error = 'the service restarted while the command ran', ended_at = ? WHERE seq = ?",
      );
      for (const r of rows) {
        if (!wasRunning(r.seq)) continue;
        fail.run(now(), r.seq);
        this.commandWritten.fire(r.id);
      }
    })();
  }

  // ---------- command log ----------
  /** Records a command before it is dispatched (the log is durable first). */
  insertCommand(c: NewCommand): void {
    this.db.transaction(() => {
      this.insertCommandRow(c);
      this.commandWritten.fire(c.id);
    })();
  }

  private insertCommandRow(c: NewCommand): void {
    this.db
      .prepare(
        `INSERT INTO commands (id, session_id, user_id, device_id, command_line, name, status, background, started_at, error, ended_at, duration_ms, internal)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.id,
        c.sessionId,
        c.userId,
        c.deviceId,
        c.commandLine,
        c.name,
        c.status,
        c.background ? 1 : 0,
        now(),
        c.error ?? null,
        c.status === 'refused' ? now() : null,
        c.status === 'refused' ? 0 : null,
        c.internal ? 1 : 0,
      );
  }

  setCommandBackground(id: string, background: boolean): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE commands SET background = ? WHERE id = ?').run(background ? 1 : 0, id);
      this.commandWritten.fire(id);
    })();
  }

  finishCommand(
    id: string,
    r: {
      status: JobStatus;
      error?: string;
      durationMs: number;
      output: string;
      outputSize: number;
      outputSha256: string;
      truncated: boolean;
    },
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE commands SET status = ?, error = ?, ended_at = ?, duration_ms = ?, output = ?, output_size = ?, output_sha256 = ?, output_truncated = ? WHERE id = ?',
        )
        .run(
          r.status,
          r.error ?? null,
          now(),
          r.durationMs,
          r.output,
          r.outputSize,
          r.outputSha256,
          r.truncated ? 1 : 0,
          id,
        );
      this.commandWritten.fire(id);
    })();
  }

  /** The log's read side (command-log-view.ts), over this node's own table. */
  private readonly logView: CommandLogView;

  getCommand(id: string): CommandLogRecord | null {
    return this.logView.getCommand(id);
  }

  listCommands(f: CommandFilter = {}): CommandLogRecord[] {
    return this.logView.listCommands(f);
  }

  /** The log viewer's query: newest first, filtered, one page plus the number of matches (no output). */
  queryCommands(q: CommandLogQuery): { total: number; offset: number; items: CommandLogSummary[] } {
    return this.logView.queryCommands(q);
  }

  /** Users and devices that appear in the command log (the log viewer's filter menus). */
  commandFacets(): { users: string[]; devices: { id: string; name: string }[] } {
    return this.logView.commandFacets();
  }

  // ---------- settings ----------
  getSetting(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  setSetting(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }
}
