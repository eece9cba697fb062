/**
 * Users and their API tokens: listing, revocation and expiry (what `lr-server user list|revoke|token` does
 * offline on the data folder, and `GET /api/v1/users`, `POST /api/v1/users/:name/revoke` online), and the
 * watcher that ends the console connections (and their sessions) of a token once it is revoked or expires
 * or its user is disabled: it checks the tokens of the open consoles every 250 ms with one query on the
 * primary key, so a revocation written by another process (the offline CLI) takes effect within a second;
 * a revocation made through the REST API takes effect at once.
 */
import type { WebSocket } from 'ws';
import type { Db } from './db.js';
import type { Role } from '../shared/commands/catalog.js';
import { issueToken, splitToken } from './auth.js';
import type { ConsolePeer, SessionManager } from './sessions.js';
import type { Logger } from '../node/log.js';
import { describeError } from '../shared/errors.js';

export const USER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface UserSummary {
  name: string;
  role: Role;
  libraryManager: boolean;
  createdAt: string;
  disabledAt: string | null;
  /** Tokens neither revoked nor expired. */
  activeTokens: number;
  /** Latest expiry among active tokens (null: one never expires, or none is active). */
  tokenExpiresAt: string | null;
  revokedTokens: number;
}

export class UserAdmin {
  constructor(private readonly db: Db) {}

  list(): UserSummary[] {
    const nowIso = new Date().toISOString();
    const rows = this.db
      .prepare(
        `SELECT u.name, u.role, u.library_manager, u.created_at, u.disabled_at,
           sum(CASE WHEN t.id IS NOT NULL AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) THEN 1 ELSE 0 END) AS active,
           sum(CASE WHEN t.revoked_at IS NOT NULL THEN 1 ELSE 0 END) AS revoked,
           max(CASE WHEN t.revoked_at IS NULL AND t.expires_at IS NULL THEN 1 ELSE 0 END) AS forever,
           max(CASE WHEN t.revoked_at IS NULL AND t.expires_at > ? THEN t.expires_at END) AS expires
         FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id GROUP BY u.id ORDER BY u.name`,
      )
      .all(nowIso, nowIso) as {
      name: string;
      role: Role;
      library_manager: number;
      created_at: string;
      disabled_at: string | null;
      active: number;
      revoked: number;
      forever: number;
      expires: string | null;
    }[];
    return rows.map((r) => ({
      name: r.name,
      role: r.role,
      libraryManager: r.library_manager === 1,
      createdAt: r.created_at,
      disabledAt: r.disabled_at,
      activeTokens: r.active,
      tokenExpiresAt: r.forever === 1 ? null : r.expires,
      revokedTokens: r.revoked,
    }));
  }

  userId(name: string): string | null {
    return (this.db.prepare('SELECT id FROM users WHERE name = ?').pluck().get(name) as string | undefined) ?? null;
  }

  /** Issues a new API token for a user (only its hash is kept); expiresAt null: until revoked. */
  issue(name: string, expiresAt: string | null): string {
    const id = this.userId(name);
    if (!id) throw new Error(`no user ${name}`);
    const t = issueToken('lr');
    this.db
      .prepare('INSERT INTO api_tokens (id, user_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(t.id, id, t.secretHash, new Date().toISOString(), expiresAt);
    return t.token;
  }

  /** Revokes every token of a user that is not revoked yet; answers how many. */
  revoke(name: string): number {
    const id = this.userId(name);
    if (!id) throw new Error(`no user ${name}`);
    return this.db
      .prepare('UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL')
      .run(new Date().toISOString(), id).changes;
  }
}

interface Tracked {
  tokenId: string;
  ws: WebSocket;
  peer: ConsolePeer;
}

const CHECK_EVERY_MS = 250;

/** Ends the consoles whose token is no longer valid (see the file comment). */
export class TokenWatcher {
  private readonly consoles = new Set<Tracked>();
  private readonly timer: NodeJS.Timeout;
  private readonly query;

  constructor(
    db: Db,
    private readonly sessions: SessionManager,
    private readonly log: Logger,
  ) {
    this.query = db
      .prepare(
        `SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.id IN (SELECT value FROM json_each(?))
           AND (t.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL OR (t.expires_at IS NOT NULL AND t.expires_at <= ?))`,
      )
      .pluck();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Follows one authenticated console connection until it closes. */
  track(token: string, ws: WebSocket, peer: ConsolePeer): void {
    const parts = splitToken(token, 'lr');
    if (!parts) return;
    const entry: Tracked = { tokenId: parts.id, ws, peer };
    this.consoles.add(entry);
    ws.once('close', () => this.consoles.delete(entry));
  }

  /** Checks now (after a revocation through the REST API); also runs every 250 ms. */
  check(): void {
    if (this.consoles.size === 0) return;
    const ids = [...new Set([...this.consoles].map((c) => c.tokenId))];
    let invalid: string[];
    try {
      invalid = this.query.all(JSON.stringify(ids), new Date().toISOString()) as string[];
    } catch (e) {
      this.log.error('token check failed', { error: describeError(e) });
      return;
    }
    if (invalid.length === 0) return;
    const gone = new Set(invalid);
    for (const c of [...this.consoles]) {
      if (!gone.has(c.tokenId)) continue;
      this.consoles.delete(c);
      this.log.warn('console closed: its API token was revoked or expired', {
        user: c.peer.user.name,
        tokenId: c.tokenId,
      });
      this.sessions.closeAllOf(c.peer, 'API token revoked or expired');
      c.ws.close(4401, 'API token revoked or expired');
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
