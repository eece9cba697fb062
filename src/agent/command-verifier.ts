/**
 * The agent's check of every job.start before anything runs: the service's Ed25519 signature (key pinned
 * at enrollment, like the CA), the device the job is for, its expiry, replays (each job id once, remembered
 * until the job's expiry), the session, and the role: the command's catalog role must be within the role
 * the service signed for the user, so a compromised relay cannot make an agent run an advanced command for
 * a basic user. Each refusal is one line.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { findCommand, roleAllows } from '../shared/catalog.js';
import { commandSignaturePayload } from '../shared/command-signature.js';
import type { ToAgent } from '../shared/protocol.js';

type JobStart = Extract<ToAgent, { t: 'job.start' }>;

const PREFIX = 'refused by the agent:';
/** Upper bound of remembered job ids (a flood of validly signed jobs cannot exhaust memory either). */
const MAX_SEEN = 200_000;

export class CommandVerifier {
  private readonly key: KeyObject | null;
  private readonly seen = new Map<string, number>();

  constructor(
    publicKeyPem: string | undefined,
    private readonly deviceId: string,
    private readonly now: () => number = Date.now,
  ) {
    let key: KeyObject | null = null;
    if (publicKeyPem) {
      key = createPublicKey(publicKeyPem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('the pinned command-signing key is not an Ed25519 public key');
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
      const payload = commandSignaturePayload({ jobId: f.jobId, sessionId: f.sessionId, deviceId: this.deviceId, command: f.command, params: f.params, cwd: f.cwd, role: f.role, expiresAt: f.expiresAt });
      valid = verify(null, payload, this.key, Buffer.from(f.sig, 'base64'));
    } catch {
      valid = false;
    }
    // Signed for this device only: a signature for another device (or a changed field) does not verify.
    if (!valid) return `${name}: ${PREFIX} bad command signature (not signed by this device's service for this job, session, device, command, parameters and role)`;
    const t = this.now();
    if (t > f.expiresAt) return `${name}: ${PREFIX} command expired at ${new Date(f.expiresAt).toISOString()}`;
    this.forgetExpired(t);
    if (this.seen.has(f.jobId)) return `${name}: ${PREFIX} replayed command (job ${f.jobId} was already received)`;
    const spec = findCommand(f.command);
    if (!spec || spec.side !== 'agent') return `${name}: ${PREFIX} not an agent command`;
    if (!roleAllows(f.role, spec.role)) return `${name}: ${PREFIX} needs the ${spec.role} role, signed for ${f.role}`;
    if (this.seen.size >= MAX_SEEN) return `${name}: ${PREFIX} too many commands in flight`;
    this.seen.set(f.jobId, f.expiresAt);
    return null;
  }

  private lastSweep = 0;

  /** Drops job ids past their expiry (a replay of those is refused as expired), at most once a second. */
  private forgetExpired(t: number): void {
    if (t - this.lastSweep < 1000 && this.seen.size < MAX_SEEN) return;
    this.lastSweep = t;
    for (const [jobId, expiresAt] of this.seen) if (expiresAt < t) this.seen.delete(jobId);
  }
}
