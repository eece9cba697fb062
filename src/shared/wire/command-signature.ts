/**
 * What the service signs on every job it sends to an agent, and how the agent reads it back: a canonical
 * JSON (keys sorted at every level, no whitespace) of the fields that decide what runs where and for whom,
 * behind a domain-separation prefix. Pure data: used by the service (signer) and the agent (verifier).
 */
import type { Role } from '../commands/catalog.js';

/** v2 added the time limit to the signed fields. */
export const COMMAND_SIGNATURE_DOMAIN = 'lr-command-signature:v2\n';
/** Added to a job's time limit to make its expiry: covers queueing and clock skew between service and device. */
export const COMMAND_EXPIRY_MARGIN_MS = 2 * 60_000;
/**
 * The longest time limit an agent honours (24 h): a signed limit above it is clamped. Also keeps the
 * agent's timer below setTimeout's ceiling (2^31-1 ms), above which Node fires it at once.
 */
export const MAX_TIME_LIMIT_MS = 24 * 3600_000;

export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | { [key: string]: CanonicalValue };

/** JSON with object keys sorted (code-unit order) at every depth; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('canonical JSON: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new Error(`canonical JSON: unsupported ${typeof value}`);
}

/** The signed statement of one job. */
export interface SignedCommand {
  jobId: string;
  sessionId: string;
  deviceId: string;
  command: string;
  params: Record<string, string | number | boolean>;
  /** The session's current directory: relative paths resolve against it, so it is signed too. */
  cwd: string;
  /** The role of the user who submitted the command. */
  role: Role;
  /** Epoch milliseconds after which the agent refuses the job. */
  expiresAt: number;
  /** How long the job may run (the agent stops it after that, see MAX_TIME_LIMIT_MS). */
  timeLimitMs: number;
}

/** The exact bytes signed with the service's Ed25519 command-signing key. */
export function commandSignaturePayload(c: SignedCommand): Uint8Array {
  const { jobId, sessionId, deviceId, command, params, cwd, role, expiresAt, timeLimitMs } = c;
  return new TextEncoder().encode(
    COMMAND_SIGNATURE_DOMAIN +
      canonicalJson({ jobId, sessionId, deviceId, command, params, cwd, role, expiresAt, timeLimitMs }),
  );
}
