/**
 * The session ledger shared by the nodes of a cluster, on a JetStream KV bucket. Every
 * decision is made by the NATS servers, never by comparing what two nodes believe:
 *
 * - One session per device: the key `dev.<device>` is written only if it holds no session.
 * - N per user, M per tenant: `user.<user>` and `tenant` hold the set of sessions counted against them
 *   (session id → device id); a node adds its session only if the set has room. Claims are taken in the
 *   order device, user, tenant; a refusal at a later step gives back the earlier ones.
 *
 * Every such decision is a compare-and-set: read, decide, write only if nothing changed since the read,
 * else read again. The condition is on the whole bucket (`Nats-Expected-Last-Sequence` = the stream's last
 * sequence when we read), not on the key's revision (`kv.update(key, value, revision)`): nats-server 2.9
 * checks the per-key revision only against the writes it has already applied, so on a replicated bucket
 * concurrent writes expecting the same revision can all succeed (nats-server#4320, fixed in 2.10; this
 * repository's tests reproduced it on 2.9.10 with 3 replicas), whereas the stream-wide condition is
 * checked by the stream leader against the writes in flight too. The cost is that decisions anywhere in the
 * bucket serialise (a conflict means "somebody wrote something", and we retry): session opens are rare,
 * human-paced events, so that is cheap. Reads go to the stream leader (allow_direct off) so that what we
 * read is at least as new as the sequence the condition names.
 *
 * The lease (why a dead node's sessions do not leak): the bucket has a TTL (stream max_age; nats-server
 * 2.9 has no per-key TTL), so every key the servers have not seen written for `leaseMs` disappears. The
 * node that owns a session rewrites its device key every leaseMs/3, and rewrites the user and tenant sets
 * its sessions are in. The device key refresh is conditional on the key's revision only (the per-key
 * check, cheap, no bucket-wide serialisation): that is safe despite the bug above because nobody else
 * writes a device key while it holds a session (claims are written only to free keys, and this node does
 * not refresh a session it is closing), and a key that expired has no revision to match, so a node that
 * lost its lease cannot take the device back. When a node dies, its device keys expire within leaseMs;
 * its entries in a shared set may outlive it (other nodes keep the set alive), so a set member counts only
 * while its device key still holds that session: members are checked, and the dead ones dropped, whenever
 * a set reaches its limit (the only time an over-count could refuse someone). The expiry is timed by the
 * servers, so node clocks do not matter.
 *
 * Trade-offs: a session in the middle of opening counts against its user before its tenant check, so a
 * race at the limits can refuse an open that a moment later would succeed (never the reverse: the limits
 * are never exceeded). A node that cannot reach NATS for longer than the lease loses its sessions; the
 * refresh reports that through the `onLost` event.
 *
 * Authenticity (cluster-key.ts): every value is sealed with the cluster key's MAC (bucket, key, writer,
 * version); a value that fails the check counts as absent, so a forged claim blocks nobody and a forged
 * set counts no one. What a forger can still do is delete (any client with publish rights can): a freed
 * key lets a second session open, which is why the NATS servers must require credentials.
 */
import {
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { type KV, type KvEntry } from '@nats-io/kv';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../node/log.js';
import { Emitter, type Event } from '../../shared/event.js';
import { openBucket } from './cluster-context.js';
import { MonotonicClock, openValue, sealValue, type ClusterMac, type DropLog } from './cluster-key.js';
import type { OpenResult, SessionClaim, SessionLedger, SessionLimits } from '../session-ledger.js';
import { describeError } from '../../shared/errors.js';

export interface NatsSessionLedgerOptions {
  /** KV bucket shared by all the nodes of the cluster (created if missing). */
  bucket?: string;
  /** Replicas of the bucket (1, 3 or 5); 3 on a 3-server cluster survives the loss of one server. */
  replicas?: number;
  /**
   * Lease length in ms = the bucket TTL: how long a dead node's sessions keep their devices and slots. All
   * nodes must agree (the bucket is created once, with the first node's value).
   */
  leaseMs?: number;
  /** This node's name, stored with its claims (for diagnosis: who holds the device). */
  nodeId: string;
  /** The cluster key's MAC: values are sealed with it, and a value that fails it counts as absent. */
  mac: ClusterMac;
  /** Where refused values are reported (rate-limited); the log below when absent. */
  drops?: DropLog;
  log?: Logger;
}

interface DeviceValue extends SessionClaim {
  node: string;
}

interface Owned {
  claim: SessionClaim;
  node: string;
  /** Revision of the device key as this node last wrote it: the compare-and-set base of the refresh. */
  devRev: number;
  userKey: string;
}

type Members = Record<string, string>;
type AddResult = { ok: true } | { ok: false; count: number };
/** A compare-and-set step: the value to write (null: delete; undefined: no write) and the result. */
type Step<T> = { write: string | null | undefined; result: T };

/** A service (and so a cluster of nodes sharing a bucket) serves one tenant: one tenant set. */
const TENANT_KEY = 'tenant';
/** How long a compare-and-set loop keeps retrying under contention before it gives up with an error. */
const CAS_DEADLINE_MS = 15_000;
/** Refresh writes in flight at once (the client pipelines them; this bounds the burst). */
const REFRESH_CONCURRENCY = 64;

export class NatsSessionLedger implements SessionLedger {
  private readonly owned = new Map<string, Owned>();
  private readonly timer: NodeJS.Timeout;
  /** The refresh in progress, if any: close() waits for it so it cannot rewrite a key being released. */
  private refreshing: Promise<void> | null = null;
  private readonly clock = new MonotonicClock();
  private readonly lost = new Emitter<string>();

  /** A session whose lease was lost (expired while this node could not refresh it), by id. */
  readonly onLost: Event<string> = this.lost.event;

  private constructor(
    private readonly kv: KV,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    readonly leaseMs: number,
    private readonly opts: NatsSessionLedgerOptions,
  ) {
    // Three refreshes per lease: one or two may fail (a NATS leader election, a slow server) and the
    // sessions still live.
    this.timer = setInterval(() => this.refresh(), Math.max(100, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  /** Opens (creating it if needed) the shared bucket on `nc` and starts refreshing this node's leases. */
  static async open(nc: NatsConnection, opts: NatsSessionLedgerOptions): Promise<NatsSessionLedger> {
    const leaseMs = opts.leaseMs ?? 30_000;
    const bucket = opts.bucket ?? 'lr-sessions';
    const js = jetstream(nc);
    const jsm = await js.jetstreamManager();
    // allow_direct off: reads are answered by the stream leader, never by a replica that may lag.
    const bucketOpts = {
      history: 1,
      ttl: leaseMs,
      replicas: opts.replicas ?? 1,
      allow_direct: false,
      description: 'lr live response sessions (leases)',
    };
    const kv = await openBucket({ js }, bucket, bucketOpts);
    const status = await kv.status();
    // The bucket-wide condition needs a last sequence > 0 (the server ignores an expected sequence of 0):
    // a brand-new bucket gets one write. Expiry removes messages but never lowers the last sequence.
    // Several nodes starting at once: the stream another node is creating may not take writes for a moment
    // (no responders while its replicas are placed), so the first write is retried briefly.
    if (status.streamInfo.state.last_seq === 0) {
      const created = sealValue(opts.mac, 'ledger', `${bucket}/created`, {
        writer: opts.nodeId,
        version: String(Date.now()),
        data: new Date().toISOString(),
      });
      await untilStreamAnswers(() => kv.put('created', created));
    }
    // The bucket's TTL is the lease whatever this node was told: refresh against the real one.
    return new NatsSessionLedger(kv, js, jsm, bucket, status.ttl > 0 ? status.ttl : leaseMs, opts);
  }

  /** Stops refreshing (the sessions still open expire after the lease). Does not close the connection. */
  stop(): void {
    clearInterval(this.timer);
  }

  async tryOpen(claim: SessionClaim, limits: SessionLimits): Promise<OpenResult> {
    const devKey = deviceKey(claim.deviceId);
    const value: DeviceValue = { ...claim, node: this.opts.nodeId };
    const dev = await this.cas<SessionClaim | null>(devKey, (entry) => {
      const held = this.read<DeviceValue>(entry);
      return held ? { write: undefined, result: toClaim(held) } : { write: JSON.stringify(value), result: null };
    });
    if (dev.result) return { ok: false, code: 'device_busy', holder: dev.result };
    const devRev = dev.seq;
    const userKey = userKeyOf(claim.userId);
    let userAdded = false;
    try {
      const mine = await this.addMember(userKey, claim, limits.maxSessionsPerUser);
      if (!mine.ok) {
        await this.releaseDevice(devKey, claim.sessionId);
        return { ok: false, code: 'user_limit', count: mine.count, limit: limits.maxSessionsPerUser };
      }
      userAdded = true;
      const tenant = await this.addMember(TENANT_KEY, claim, limits.maxSessionsPerTenant);
      if (!tenant.ok) {
        await this.removeMember(userKey, claim.sessionId);
        await this.releaseDevice(devKey, claim.sessionId);
        return { ok: false, code: 'tenant_limit', count: tenant.count, limit: limits.maxSessionsPerTenant };
      }
    } catch (e) {
      // Give back what was taken; whatever cannot be given back now expires with the lease.
      if (userAdded) await this.removeMember(userKey, claim.sessionId).catch(() => undefined);
      await this.releaseDevice(devKey, claim.sessionId).catch(() => undefined);
      throw e;
    }
    // The revision of the device key as written above: the base of the first lease refresh. (Nobody else
    // writes a key holding a session, so it is still current.)
    this.owned.set(claim.sessionId, { claim: { ...claim }, node: this.opts.nodeId, devRev, userKey });
    return { ok: true };
  }

  async close(sessionId: string): Promise<void> {
    const o = this.owned.get(sessionId);
    if (!o) return;
    // Forget it first: if the release below fails, nothing refreshes the lease and the claim expires.
    this.owned.delete(sessionId);
    // A refresh already running may still rewrite the device key: let it finish before deleting.
    await this.refreshing;
    await this.removeMember(TENANT_KEY, sessionId);
    await this.removeMember(o.userKey, sessionId);
    await this.releaseDevice(deviceKey(o.claim.deviceId), sessionId);
  }

  /**
   * A one-time decision shared by the nodes (e.g. "enrollment token X is being used"): true for exactly one
   * caller cluster-wide, decided like every claim here. The key lives one lease: long enough for what the
   * winner writes (the token marked used) to reach every node's database through the shared state.
   */
  async claimOnce(name: string): Promise<boolean> {
    const key = `once.${Buffer.from(name).toString('base64url')}`;
    const r = await this.cas<boolean>(key, (entry) =>
      this.read(entry) !== null
        ? { write: undefined, result: false }
        : { write: JSON.stringify({ node: this.opts.nodeId, at: new Date().toISOString() }), result: true },
    );
    return r.result;
  }

  /**
   * Frees the devices held by the sessions of a node that died (its heartbeats stopped: node-registry.ts),
   * without waiting for their lease to run out. Each key is deleted only if it still holds that node's
   * session (compare-and-set); several nodes doing it at once is harmless. Their entries in the user and
   * tenant sets no longer count once their device key is gone (see addMember). Answers how many it freed.
   */
  async releaseNode(node: string): Promise<number> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys('dev.>')) keys.push(k);
    let freed = 0;
    for (const key of keys) {
      const r = await this.cas<boolean>(key, (entry) =>
        this.read<DeviceValue>(entry)?.node === node
          ? { write: null, result: true }
          : { write: undefined, result: false },
      );
      if (r.result) freed++;
    }
    return freed;
  }

  async list(): Promise<SessionClaim[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys('dev.>')) keys.push(k);
    const entries = await Promise.all(keys.map((k) => this.kv.get(k)));
    return entries
      .map((entry) => this.read<DeviceValue>(entry))
      .filter((v): v is DeviceValue => v !== null)
      .map(toClaim);
  }

  /** Adds a session to a counted set unless the set is full (of live sessions). */
  private async addMember(key: string, claim: SessionClaim, limit: number): Promise<AddResult> {
    const r = await this.cas<AddResult>(key, async (entry) => {
      const members = this.members(entry);
      if (members[claim.sessionId]) return { write: undefined, result: { ok: true } };
      let ids = Object.keys(members);
      if (ids.length >= limit) {
        // Full, or full of leftovers of dead nodes: keep the members whose device key is still theirs.
        const alive = await Promise.all(ids.map((id) => this.isAlive(id, members[id] as string)));
        ids = ids.filter((_, i) => alive[i]);
        if (ids.length >= limit) return { write: undefined, result: { ok: false, count: ids.length } };
      }
      const next: Members = {};
      for (const id of ids) next[id] = members[id] as string;
      next[claim.sessionId] = claim.deviceId;
      return { write: JSON.stringify(next), result: { ok: true } };
    });
    return r.result;
  }

  private async removeMember(key: string, sessionId: string): Promise<void> {
    await this.cas(key, (entry) => {
      const members = this.members(entry);
      if (!(sessionId in members)) return { write: undefined, result: undefined };
      delete members[sessionId];
      return { write: JSON.stringify(members), result: undefined };
    });
  }

  /** Deletes a device key if it still holds this session (a lease lost and taken by another is left alone). */
  private async releaseDevice(devKey: string, sessionId: string): Promise<void> {
    await this.cas(devKey, (entry) => ({
      write: this.read<DeviceValue>(entry)?.sessionId === sessionId ? null : undefined,
      result: undefined,
    }));
  }

  /**
   * Read-modify-write of one key, conditional on the whole bucket being unchanged since the read (see the
   * top of the file), retried on conflict with a jittered backoff. `step` returns the new value, null to
   * delete the key, or undefined to leave it; `seq` is the sequence of the write made (0 if none).
   */
  private async cas<T>(
    key: string,
    step: (entry: KvEntry | null) => Promise<Step<T>> | Step<T>,
  ): Promise<{ result: T; seq: number }> {
    const deadline = Date.now() + CAS_DEADLINE_MS;
    for (let attempt = 0; ; attempt++) {
      const last = await this.lastSeq();
      const { write, result } = await step(await this.kv.get(key));
      if (write === undefined) return { result, seq: 0 };
      try {
        return { result, seq: await this.writeIfUnchanged(key, write, last) };
      } catch (err) {
        if (!isCasConflict(err)) throw err;
        if (Date.now() > deadline)
          throw new Error(`session ledger: gave up on ${key} after ${attempt + 1} conflicting writes`, { cause: err });
        await sleep(Math.random() * Math.min(100, 2 ** Math.min(attempt, 7)));
      }
    }
  }

  /** The bucket stream's last sequence, from its leader. */
  private async lastSeq(): Promise<number> {
    return (await this.jsm.streams.info(this.streamName)).state.last_seq;
  }

  private get streamName(): string {
    return `KV_${this.bucket}`;
  }

  /** Writes (null: deletes, as KV does, with a DEL marker) only if the stream's last sequence is `last`. */
  private async writeIfUnchanged(key: string, value: string | null, last: number): Promise<number> {
    const h = headers();
    if (value === null) h.set('KV-Operation', 'DEL');
    const pa = await this.js.publish(
      `$KV.${this.bucket}.${key}`,
      value === null ? new Uint8Array(0) : this.seal(key, value),
      { headers: h, expect: { lastSequence: last } },
    );
    return pa.seq;
  }

  private seal(key: string, value: string): string {
    return sealValue(this.opts.mac, 'ledger', `${this.bucket}/${key}`, {
      writer: this.opts.nodeId,
      version: String(this.clock.next()),
      data: value,
    });
  }

  /** A key's checked value, or null when it holds none, a delete marker, or something no node wrote. */
  private read<T>(entry: KvEntry | null): T | null {
    if (entry?.operation !== 'PUT') return null;
    const v = openValue(this.opts.mac, 'ledger', `${this.bucket}/${entry.key}`, entry.value);
    let why = typeof v === 'string' ? v : null;
    if (typeof v !== 'string' && v.data !== null) {
      try {
        const parsed = JSON.parse(v.data) as unknown;
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as T;
        why = 'value is not an object';
      } catch {
        why = 'value is not JSON';
      }
    }
    if (why) this.refused(entry.key, why);
    return null;
  }

  private refused(key: string, why: string): void {
    const fields = { bucket: this.bucket, key: key.split('.')[0] };
    if (this.opts.drops) this.opts.drops.drop('ledger', why, fields);
    else this.opts.log?.warn('cluster entry dropped', { kind: 'ledger', why, ...fields });
  }

  private members(entry: KvEntry | null): Members {
    return this.read<Members>(entry) ?? {};
  }

  /** A member counts while its device key holds that very session (not a later one on the same device). */
  private async isAlive(sessionId: string, deviceId: string): Promise<boolean> {
    return this.read<DeviceValue>(await this.kv.get(deviceKey(deviceId)))?.sessionId === sessionId;
  }

  /** The lease: rewrite this node's device keys and the sets its sessions are counted in. */
  private refresh(): void {
    if (this.refreshing || this.owned.size === 0) return;
    this.refreshing = this.refreshOnce()
      .catch((e: unknown) => this.opts.log?.warn('session lease refresh failed', { error: describeError(e) }))
      .finally(() => {
        this.refreshing = null;
      });
  }

  private async refreshOnce(): Promise<void> {
    await inBatches([...this.owned.entries()], REFRESH_CONCURRENCY, ([id, o]) => this.renewDevice(id, o));
    const sets = new Map<string, Members>();
    for (const [id, o] of this.owned) {
      for (const key of [o.userKey, TENANT_KEY]) {
        const m = sets.get(key) ?? {};
        m[id] = o.claim.deviceId;
        sets.set(key, m);
      }
    }
    await inBatches([...sets.entries()], REFRESH_CONCURRENCY, ([key, ours]) => this.renewSet(key, ours));
  }

  private async renewDevice(sessionId: string, o: Owned): Promise<void> {
    const value: DeviceValue = { ...o.claim, node: o.node };
    try {
      const key = deviceKey(o.claim.deviceId);
      o.devRev = await this.kv.update(key, this.seal(key, JSON.stringify(value)), o.devRev);
    } catch (e) {
      if (!isCasConflict(e)) {
        // NATS unreachable or slow: try again at the next tick; the lease covers two missed ones.
        this.opts.log?.warn('session lease refresh failed', { sessionId, error: describeError(e) });
        return;
      }
      if (!this.owned.has(sessionId)) return; // closed meanwhile
      // The key expired (and maybe someone else holds the device now): the session is gone.
      this.owned.delete(sessionId);
      this.opts.log?.warn('session lease lost', { sessionId, deviceId: o.claim.deviceId });
      this.lost.fire(sessionId);
    }
  }

  /**
   * Rewrites a set so it does not age out while this node still counts sessions in it, putting back any of
   * ours a too-early expiry removed. Conditional like every set write (a blind rewrite could drop a member
   * another node has just added), so it retries on conflict: any write in the bucket is one.
   */
  private async renewSet(key: string, ours: Members): Promise<void> {
    try {
      await this.cas(key, (entry) => {
        const members = this.members(entry);
        for (const [id, dev] of Object.entries(ours)) if (this.owned.has(id)) members[id] = dev;
        return { write: JSON.stringify(members), result: undefined };
      });
    } catch (e) {
      this.opts.log?.warn('session set refresh failed', { key, error: describeError(e) });
    }
  }
}

/** KV keys allow [-/_=.a-zA-Z0-9]; ids come from elsewhere, so encode them (base64url stays within that). */
function deviceKey(deviceId: string): string {
  return `dev.${Buffer.from(deviceId).toString('base64url')}`;
}

function userKeyOf(userId: string): string {
  return `user.${Buffer.from(userId).toString('base64url')}`;
}

function toClaim(v: DeviceValue): SessionClaim {
  return {
    sessionId: v.sessionId,
    deviceId: v.deviceId,
    userId: v.userId,
    userName: v.userName,
    startedAt: v.startedAt,
  };
}

/** The server refused a write because the key's revision was not the one expected (someone wrote first). */
function isCasConflict(e: unknown): boolean {
  return (
    e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
      e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** Retries `fn` while the stream has no responders yet (being created), up to 15 s. */
async function untilStreamAnswers<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const noResponders =
        /no responders/i.test(describeError(e)) ||
        /no responders/i.test(String((e as { cause?: Error }).cause?.message ?? ''));
      if (!noResponders || Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}
