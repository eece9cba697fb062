/**
 * One-time download tokens for agents (putfile, run): 32 random bytes (base64url), kept in memory only,
 * valid two minutes, usable once, bound to one device and to the SHA-256 the job was prepared with (a
 * file replaced in the library meanwhile is not served under the old job's token).
 * The token is delivered over the device's authenticated link; to redeem it the device also signs it with
 * its device key (the key of its link, checked in library-routes.ts), so a token seen by anyone else is useless.
 *
 * `FileTokens` is what the library uses; this class is the single node's. A cluster of nodes
 * uses cluster/file-tokens.ts, where a token issued on one node is redeemed once on any node: that is why
 * `redeem` is asynchronous here too.
 */
import { randomBytes } from 'node:crypto';

export const AGENT_FILE_TOKEN_TTL_MS = 2 * 60_000;

export interface AgentFileGrant {
  name: string;
  deviceId: string;
  sha256: string;
  expiresAt: number;
}

/** The shape of a token (32 bytes, base64url): anything else is refused without a look-up. */
export const AGENT_FILE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface FileTokens {
  /** A fresh token for `grant`; synchronous, since job preparers are. */
  issue(grant: Omit<AgentFileGrant, 'expiresAt'>): string;
  /** Consumes a token: the grant, or null when unknown, used or expired. */
  redeem(token: string): Promise<AgentFileGrant | null>;
}

export class AgentFileTokens implements FileTokens {
  private readonly grants = new Map<string, AgentFileGrant>();

  constructor(private readonly ttlMs = AGENT_FILE_TOKEN_TTL_MS) {}

  issue(grant: Omit<AgentFileGrant, 'expiresAt'>): string {
    this.sweep();
    const token = randomBytes(32).toString('base64url');
    this.grants.set(token, { ...grant, expiresAt: Date.now() + this.ttlMs });
    return token;
  }

  /** Consumes a token: the grant, or null when unknown, used or expired. */
  async redeem(token: string): Promise<AgentFileGrant | null> {
    this.sweep();
    if (!AGENT_FILE_TOKEN.test(token)) return null;
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
