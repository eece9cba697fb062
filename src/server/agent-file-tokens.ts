/**
 * One-time download tokens for agents (putfile, run): 32 random bytes (base64url), kept in memory only,
 * valid two minutes, usable once, bound to one device and to the SHA-256 the job was prepared with (a
 * file replaced in the library meanwhile is not served under the old job's token).
 * The token is delivered over the device's authenticated link, so holding it proves the job.
 */
import { randomBytes } from 'node:crypto';

export const AGENT_FILE_TOKEN_TTL_MS = 2 * 60_000;

export interface AgentFileGrant {
  name: string;
  deviceId: string;
  sha256: string;
  expiresAt: number;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export class AgentFileTokens {
  private readonly grants = new Map<string, AgentFileGrant>();

  constructor(private readonly ttlMs = AGENT_FILE_TOKEN_TTL_MS) {}

  issue(grant: Omit<AgentFileGrant, 'expiresAt'>): string {
    this.sweep();
    const token = randomBytes(32).toString('base64url');
    this.grants.set(token, { ...grant, expiresAt: Date.now() + this.ttlMs });
    return token;
  }

  /** Consumes a token: the grant, or null when unknown, used or expired. */
  redeem(token: string): AgentFileGrant | null {
    this.sweep();
    if (!TOKEN.test(token)) return null;
    const grant = this.grants.get(token);
    if (!grant) return null;
    this.grants.delete(token);
    return grant;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, grant] of this.grants) if (grant.expiresAt <= now) this.grants.delete(token);
  }
}
