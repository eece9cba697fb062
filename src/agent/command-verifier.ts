/**
 * The agent's check of every job.start before anything runs: the service's Ed25519 signature (key pinned
 * at enrollment, like the CA), the device the job is for, its expiry, replays (each job id once, remembered
 * until the job's expiry), the session, and the role: the command's catalog role must be within the role
 * the service signed for the user, so a compromised relay cannot make an agent run an advanced command for
 * a basic user. Each refusal is one line.
 *
 * The job ids received are also appended to a journal in the agent's data folder (`received-jobs.log`,
 * "JOBID EXPIRES_AT_MS" per line) and read back at start: a signed job.start captured on the wire and
 * replayed after the agent restarted is still refused until its expiry (up to the longest time limit,
 * 30 minutes, plus a margin). The journal is compacted to the live ids now and then.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../node/files.js';
import { findCommand, roleAllows } from '../shared/commands/catalog.js';
import { commandSignaturePayload } from '../shared/wire/command-signature.js';
import type { ToAgent } from '../shared/wire/protocol.js';

type JobStart = Extract<ToAgent, { t: 'job.start' }>;

const PREFIX = 'refused by the agent:';
/** Upper bound of remembered job ids (a flood of validly signed jobs cannot exhaust memory either). */
const MAX_SEEN = 200_000;
/** The journal is rewritten with the live ids when it holds this many more lines than that. */
const COMPACT_SLACK = 1_000;
const JOURNAL_LINE = /^([A-Za-z0-9_-]{1,64}) (\d{1,16})$/;

export class CommandVerifier {
  private readonly key: KeyObject | null;
  private readonly seen = new Map<string, number>();
  private journalLines = 0;

  /** `journal`: the file remembering received job ids across restarts (none: memory only, e.g. tests). */
  constructor(
    publicKeyPem: string | undefined,
    private readonly deviceId: string,
    private readonly now: () => number = Date.now,
    private readonly journal?: string,
  ) {
    if (journal) this.loadJournal(journal);
    let key: KeyObject | null = null;
    if (publicKeyPem) {
      key = createPublicKey(publicKeyPem);
      if (key.asymmetricKeyType !== 'ed25519')
        throw new Error('the pinned command-signing key is not an Ed25519 public key');
    }
    this.key = key;
  }

  /** null when the job may run; otherwise the one-line refusal (sent back as job.end failed). */
  check(f: JobStart): string | null {
    const name = f.command.slice(0, 64);
    if (!this.key) return `${name}: ${PREFIX} no command-signing key is pinned on this device (re-enroll the agent)`;
    if (!f.sig || !f.role || f.expiresAt === undefined) return `${name}: ${PREFIX} unsigned command`;
    let valid = false;
    try {
      const payload = commandSignaturePayload({
        jobId: f.jobId,
        sessionId: f.sessionId,
        deviceId: this.deviceId,
        command: f.command,
        params: f.params,
        cwd: f.cwd,
        role: f.role,
        expiresAt: f.expiresAt,
        timeLimitMs: f.timeLimitMs,
      });
      valid = verify(null, payload, this.key, Buffer.from(f.sig, 'base64'));
    } catch {
      valid = false;
    }
    // Signed for this device only: a signature for another device (or a changed field) does not verify.
    if (!valid)
      return `${name}: ${PREFIX} bad command signature (not signed by this device's service for this job, session, device, command, parameters, role, expiry and time limit)`;
    const t = this.now();
    if (t > f.expiresAt) return `${name}: ${PREFIX} command expired at ${new Date(f.expiresAt).toISOString()}`;
    this.forgetExpired(t);
    if (this.seen.has(f.jobId)) return `${name}: ${PREFIX} replayed command (job ${f.jobId} was already received)`;
    const spec = findCommand(f.command);
    if (!spec || spec.side !== 'agent') return `${name}: ${PREFIX} not an agent command`;
    if (!roleAllows(f.role, spec.role)) return `${name}: ${PREFIX} needs the ${spec.role} role, signed for ${f.role}`;
    if (this.seen.size >= MAX_SEEN) return `${name}: ${PREFIX} too many commands in flight`;
    this.seen.set(f.jobId, f.expiresAt);
    this.remember(f.jobId, f.expiresAt);
    return null;
  }

  /** Reads the journal back (unexpired ids only; unreadable lines are skipped) and compacts it. */
  private loadJournal(file: string): void {
    if (!existsSync(file)) return;
    const t = this.now();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = JOURNAL_LINE.exec(line);
      if (!m) continue;
      const expiresAt = Number(m[2]);
      if (expiresAt >= t && this.seen.size < MAX_SEEN) this.seen.set(m[1] as string, expiresAt);
    }
    this.compact();
  }

  /** Appended before the job runs; a failure to write is not a reason to refuse (the memory still holds it). */
  private remember(jobId: string, expiresAt: number): void {
    if (!this.journal) return;
    try {
      appendFileSync(this.journal, `${jobId} ${expiresAt}\n`, { mode: 0o600 });
      this.journalLines += 1;
      if (this.journalLines > this.seen.size + COMPACT_SLACK) this.compact();
    } catch {
      // a full or read-only disk: replays after a restart are then only refused as expired
    }
  }

  private compact(): void {
    if (!this.journal) return;
    try {
      writeFileAtomic(this.journal, [...this.seen].map(([id, at]) => `${id} ${at}\n`).join(''));
      this.journalLines = this.seen.size;
    } catch {
      // kept as it is; retried at the next compaction
    }
  }

  private lastSweep = 0;

  /** Drops job ids past their expiry (a replay of those is refused as expired), at most once a second. */
  private forgetExpired(t: number): void {
    if (t - this.lastSweep < 1000 && this.seen.size < MAX_SEEN) return;
    this.lastSweep = t;
    for (const [jobId, expiresAt] of this.seen) if (expiresAt < t) this.seen.delete(jobId);
  }
}
