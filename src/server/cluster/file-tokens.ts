/**
 * One-time download tokens for agents shared by the nodes of a cluster: the node that prepares
 * a `putfile`/`run`/`analyze` job issues the token, and the node the agent downloads from (maybe another
 * one) redeems it. Same contract as the single node's AgentFileTokens: valid two minutes, usable once.
 *
 * The grant is recorded in the KV bucket `lr-file-tokens` (TTL = the token TTL, so the servers forget it
 * by themselves) under `t.<SHA-256 of the token>`: the bucket never holds a token, so whoever can read
 * it cannot download anything. `issue` stays synchronous for the job preparers: the put goes out in the
 * background, and a redeem on another node waits briefly (APPEAR_MS) for a grant not yet visible.
 *
 * Single use across nodes: a redeem reads the grant and consumes it by writing a "used" mark under
 * `u.<same hash>`, conditional on the bucket stream's last sequence being the one it saw before reading (the
 * `Nats-Expected-Last-Sequence` header, checked by the stream leader against the writes in flight too).
 * Of concurrent redeems, the first write wins; every other one finds the sequence moved, reads again and
 * finds the marker. The per-key condition (`kv.update(key, v, revision)`) is not used: on nats-server 2.9
 * it is checked only against writes already applied, so on a replicated bucket several concurrent writers
 * can all succeed (nats-server#4320; see nats-session-ledger.ts). The cost is that any write to the bucket
 * (another token issued, another redeemed) makes a redeem retry: redeems serialise cluster-wide, a few ms
 * each, which download starts (one per job) afford.
 *
 * The issuing node also keeps the grant in memory, and a redeem there first waits for its own put to be
 * acknowledged: consuming the token before the put lands would let the late put bring it back to life.
 * If that put failed, no other node can know the token, so the issuing node decides alone.
 *
 * Authenticity (cluster-key.ts): grants and used marks are sealed with the cluster key's MAC (bucket,
 * key, writer); a grant that fails it is never honoured, so nobody who can merely publish to NATS can mint
 * a download. The used mark has its own key rather than being a delete marker on the grant's: an
 * authentic grant published again after its use (a replay) does not erase it, and any entry under the
 * mark's key (even a delete marker someone wrote over it) counts as used. A grant's expiry is inside the
 * MAC, so a replay is also useless after two minutes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV, type KvEntry } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import { z } from 'zod';
import {
  AGENT_FILE_TOKEN,
  AGENT_FILE_TOKEN_TTL_MS,
  type AgentFileGrant,
  type FileTokens,
} from '../agent-file-tokens.js';
import { openBucket, type ClusterContext } from './cluster-context.js';
import { openValue, sealValue } from './cluster-key.js';

export const FILE_TOKENS_BUCKET = 'lr-file-tokens';
/** How long a redeem waits for a grant the issuing node may still be writing. */
const APPEAR_MS = 2_000;
const APPEAR_POLL_MS = 100;
/** How long a redeem keeps retrying its conditional write under contention before it gives up (an error). */
const CAS_DEADLINE_MS = 10_000;

/** The grant comes off the network: checked before anything is served under it. */
const grantSchema = z.object({
  name: z.string().min(1).max(255),
  deviceId: z.string().min(1).max(200),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.number().int().positive(),
});

interface Issued {
  grant: AgentFileGrant;
  /** The put of the grant to the bucket: true once acknowledged, false when it failed. */
  shared: Promise<boolean>;
}

export interface ClusterFileTokensOptions {
  /** Bucket name (tests use their own). */
  bucket?: string;
  /** Token lifetime = the bucket's TTL (the bucket is created once, with the first node's value). */
  ttlMs?: number;
}

export class ClusterFileTokens implements FileTokens {
  private readonly issued = new Map<string, Issued>();

  private constructor(
    private readonly ctx: ClusterContext,
    private readonly kv: KV,
    readonly bucket: string,
    readonly ttlMs: number,
  ) {}

  static async open(ctx: ClusterContext, opts: ClusterFileTokensOptions = {}): Promise<ClusterFileTokens> {
    const bucket = opts.bucket ?? FILE_TOKENS_BUCKET;
    const ttlMs = opts.ttlMs ?? AGENT_FILE_TOKEN_TTL_MS;
    // allow_direct off: reads are answered by the stream leader, never by a replica that may lag (a
    // redeem must see the grant as soon as the issuing node's put was acknowledged, and the marker too).
    const bucketOpts = {
      history: 1,
      ttl: ttlMs,
      replicas: ctx.replicas,
      allow_direct: false,
      description: 'lr one-time download grants (by token hash)',
    };
    const kv = await openBucket(ctx, bucket, bucketOpts);
    return new ClusterFileTokens(ctx, kv, bucket, ttlMs);
  }

  issue(grant: Omit<AgentFileGrant, 'expiresAt'>): string {
    this.sweep();
    const token = randomBytes(32).toString('base64url');
    const full: AgentFileGrant = { ...grant, expiresAt: Date.now() + this.ttlMs };
    const key = keyOf(token);
    const sealed = sealValue(this.ctx.mac, 'grant', `${this.bucket}/${key}`, {
      writer: this.ctx.nodeId,
      version: String(full.expiresAt),
      data: JSON.stringify(full),
    });
    const shared = this.kv.put(key, sealed).then(
      () => true,
      (e: Error) => {
        // Only this node can serve that token now; the agent asks the node it is connected to.
        this.ctx.log.warn('download grant not shared with the cluster', {
          name: grant.name,
          deviceId: grant.deviceId,
          error: e.message,
        });
        return false;
      },
    );
    this.issued.set(token, { grant: full, shared });
    return token;
  }

  async redeem(token: string): Promise<AgentFileGrant | null> {
    this.sweep();
    if (!AGENT_FILE_TOKEN.test(token)) return null;
    const mine = this.issued.get(token);
    if (mine) {
      const shared = await mine.shared;
      if (!shared) {
        // Nobody else can know it: decide here (the first redeem after the await takes it).
        if (this.issued.get(token) !== mine) return null;
        this.issued.delete(token);
        return mine.grant.expiresAt > Date.now() ? mine.grant : null;
      }
    }
    try {
      return await this.consume(tokenHash(token));
    } finally {
      if (mine && this.issued.get(token) === mine) this.issued.delete(token);
    }
  }

  /** Reads the grant and writes its used mark if the bucket did not change since the read. */
  private async consume(hash: string): Promise<AgentFileGrant | null> {
    const key = `t.${hash}`;
    const usedKey = `u.${hash}`;
    const appearBy = Date.now() + APPEAR_MS;
    const deadline = Date.now() + CAS_DEADLINE_MS;
    for (let attempt = 0; ;) {
      const last = await this.lastSeq();
      if (await this.kv.get(usedKey)) return null; // used (whatever the entry: see the top)
      const entry = await this.kv.get(key);
      if (!entry) {
        // Not written yet (the issuing node's put in flight), or never, or expired.
        if (Date.now() >= appearBy) return null;
        await sleep(APPEAR_POLL_MS);
        continue;
      }
      if (entry.operation !== 'PUT') return null; // the delete marker: used
      const grant = this.parseGrant(entry);
      if (!grant) return null;
      if (grant.expiresAt <= Date.now()) return null;
      try {
        await this.markUsed(usedKey, last);
        return grant;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
        attempt++;
        if (Date.now() > deadline)
          throw new Error(`download tokens: gave up after ${attempt} conflicting writes`, { cause: err });
        await sleep(Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /** The bucket stream's last sequence, from its leader. */
  private async lastSeq(): Promise<number> {
    return (await this.ctx.jsm.streams.info(`KV_${this.bucket}`)).state.last_seq;
  }

  /** The sealed used mark, only if the stream's last sequence is `last`. */
  private async markUsed(usedKey: string, last: number): Promise<void> {
    const mark = sealValue(this.ctx.mac, 'grant-used', `${this.bucket}/${usedKey}`, {
      writer: this.ctx.nodeId,
      version: String(Date.now()),
      data: '',
    });
    await this.ctx.js.publish(`$KV.${this.bucket}.${usedKey}`, mark, {
      headers: headers(),
      expect: { lastSequence: last },
    });
  }

  /** The grant of an entry, once its MAC and shape check; null (and a report) otherwise. */
  private parseGrant(entry: KvEntry): AgentFileGrant | null {
    const sealed = openValue(this.ctx.mac, 'grant', `${this.bucket}/${entry.key}`, entry.value);
    if (typeof sealed === 'string' || sealed.data === null) {
      this.ctx.drops.drop('grant', typeof sealed === 'string' ? sealed : 'a tombstone', {
        bucket: this.bucket,
        revision: entry.revision,
      });
      return null;
    }
    try {
      const r = grantSchema.safeParse(JSON.parse(sealed.data));
      if (r.success && String(r.data.expiresAt) === sealed.version) return r.data;
    } catch {
      // reported below
    }
    this.ctx.drops.drop('grant', 'malformed download grant', { bucket: this.bucket, revision: entry.revision });
    return null;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, i] of this.issued) if (i.grant.expiresAt <= now) this.issued.delete(token);
  }
}

/** A token's hash: its keys hold that, never the token (KV keys are visible to every node). */
function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The key of a token's grant. */
function keyOf(token: string): string {
  return `t.${tokenHash(token)}`;
}

/** The server refused the conditional write: somebody wrote to the bucket since we read. */
function isCasConflict(e: unknown): boolean {
  return (
    e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
      e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
