/**
 * Download links of machine action results (`GetLiveResponseResultDownloadLink`): the link is the
 * credential, as the vendor's is, so it is served without an API token. 32 random bytes (base64url);
 * only their SHA-256 is kept, in memory, so a copy of this node's memory or logs cannot replay a link.
 * A link is valid 30 minutes and serves once; a used one is remembered until it would have expired, so a
 * second use is told "already used" (410) rather than "unknown" (404).
 * One node's memory: in a cluster the link must be fetched from the node that issued it (docs/api.md).
 */
import { createHash, randomBytes } from 'node:crypto';

export const RESULT_LINK_TTL_MS = 30 * 60_000;
/** The shape of a link token: anything else is refused without a look-up. */
export const RESULT_LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Links kept at most (the oldest are forgotten first): bounds memory whatever callers do. */
const MAX_LINKS = 10_000;

/** What a link serves: one command's result of one machine action. */
export interface ResultGrant {
  actionId: string;
  deviceId: string;
  step: number;
  type: 'RunScript' | 'GetFile' | 'PutFile';
}

interface Entry {
  grant: ResultGrant;
  expiresAt: number;
  used: boolean;
}

export type Redeemed = { ok: true; grant: ResultGrant } | { ok: false; status: 404 | 410; error: string };

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export class ResultLinks {
  private readonly links = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = RESULT_LINK_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh token for `grant`. */
  issue(grant: ResultGrant): string {
    this.sweep();
    if (this.links.size >= MAX_LINKS) {
      const oldest = this.links.keys().next().value;
      if (oldest !== undefined) this.links.delete(oldest);
    }
    const token = randomBytes(32).toString('base64url');
    this.links.set(hashOf(token), { grant, expiresAt: this.now() + this.ttlMs, used: false });
    return token;
  }

  /** Spends a token: its grant, or why not (unknown or expired: 404; used already: 410). */
  redeem(token: string): Redeemed {
    this.sweep();
    const entry = RESULT_LINK_TOKEN.test(token) ? this.links.get(hashOf(token)) : undefined;
    if (!entry)
      return {
        ok: false,
        status: 404,
        error: 'no such result link: it is unknown or expired (links last 30 minutes; ask for a new one)',
      };
    if (entry.used)
      return {
        ok: false,
        status: 410,
        error: 'this result link was already used: links serve once (ask for a new one)',
      };
    entry.used = true;
    return { ok: true, grant: entry.grant };
  }

  private sweep(): void {
    const now = this.now();
    for (const [hash, entry] of this.links) if (entry.expiresAt <= now) this.links.delete(hash);
  }
}
