/**
 * The session ledger decides whether a live response session may open: one session per device, at most N
 * per user and M per tenant. It is the only shared state of a session that has to be decided atomically,
 * so it sits behind this small interface: the single node keeps it in memory (LocalSessionLedger, the
 * default), a cluster of nodes keeps it in JetStream KV (cluster/nats-session-ledger.ts). Everything else
 * about a session (its console, its jobs) stays in the SessionManager of the node that opened it.
 *
 * Both implementations pass the same contract suite (test/integration/session-ledger-contract.test.ts).
 */

/** What a session holds while it is open; returned as `holder` so a refusal can name who holds a device. */
export interface SessionClaim {
  sessionId: string;
  deviceId: string;
  userId: string;
  /** Display name of the user, for the "already has a session (opened by …)" message on any node. */
  userName: string;
  /** ISO time the session opened. */
  startedAt: string;
}

export interface SessionLimits {
  maxSessionsPerUser: number;
  maxSessionsPerTenant: number;
}

export type OpenRefusal =
  | { ok: false; code: 'device_busy'; holder: SessionClaim }
  /** `count`: sessions the user or tenant already has open (for the message); `limit`: the limit applied. */
  | { ok: false; code: 'user_limit' | 'tenant_limit'; count: number; limit: number };

export type OpenResult = { ok: true } | OpenRefusal;

export interface SessionLedger {
  /**
   * Claims the device for a new session if the device is free and neither limit is reached, atomically
   * (two concurrent claims on one device: exactly one wins). The rules are checked in this order: device,
   * user, tenant (the refusal names the first one broken).
   */
  tryOpen(claim: SessionClaim, limits: SessionLimits): Promise<OpenResult>;
  /** Releases a session's claim; unknown ids are ignored (closing twice is harmless). */
  close(sessionId: string): Promise<void>;
  /** The sessions currently open (on every node sharing the ledger). */
  list(): Promise<SessionClaim[]>;
}

/**
 * One node, in memory: today's semantics exactly. tryOpen checks and records in one synchronous step (no
 * await in between), so concurrent opens on this node are serialised by the event loop; close takes effect
 * before it returns, so a device closed is immediately free again.
 */
export class LocalSessionLedger implements SessionLedger {
  private readonly sessions = new Map<string, SessionClaim>();
  private readonly byDevice = new Map<string, SessionClaim>();

  tryOpen(claim: SessionClaim, limits: SessionLimits): Promise<OpenResult> {
    return Promise.resolve(this.decide(claim, limits));
  }

  private decide(claim: SessionClaim, limits: SessionLimits): OpenResult {
    const holder = this.byDevice.get(claim.deviceId);
    if (holder) return { ok: false, code: 'device_busy', holder: { ...holder } };
    let mine = 0;
    for (const s of this.sessions.values()) if (s.userId === claim.userId) mine++;
    if (mine >= limits.maxSessionsPerUser)
      return { ok: false, code: 'user_limit', count: mine, limit: limits.maxSessionsPerUser };
    if (this.sessions.size >= limits.maxSessionsPerTenant)
      return { ok: false, code: 'tenant_limit', count: this.sessions.size, limit: limits.maxSessionsPerTenant };
    const stored = { ...claim };
    this.sessions.set(claim.sessionId, stored);
    this.byDevice.set(claim.deviceId, stored);
    return { ok: true };
  }

  close(sessionId: string): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (s) {
      this.sessions.delete(sessionId);
      if (this.byDevice.get(s.deviceId) === s) this.byDevice.delete(s.deviceId);
    }
    return Promise.resolve();
  }

  list(): Promise<SessionClaim[]> {
    return Promise.resolve([...this.sessions.values()].map((s) => ({ ...s })));
  }
}
