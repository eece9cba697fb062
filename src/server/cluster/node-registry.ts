/**
 * Which service nodes are alive, and where analysts and agents can reach them. Each node writes its own
 * key in the KV bucket `lr-nodes` every HEARTBEAT_MS ({ publicUrl, startedAt }) and deletes it when it
 * stops cleanly. Every node watches the bucket and counts a node alive while its heartbeats keep arriving:
 * the time is taken from this node's clock when the heartbeat arrives, never from the writer's, so clock
 * skew between machines does not matter. A node killed outright stops writing and is dead for the others
 * DEAD_AFTER_MS later (a KV watcher is not told when a value ages out, so the bucket's TTL only keeps the
 * bucket small; liveness is decided here).
 *
 * Authenticity (cluster-key.ts): a heartbeat is sealed with the cluster key's MAC by the node it names
 * (writer = key), with the writer's monotonic clock as its version; a clean stop writes a sealed tombstone.
 * A reader drops what fails the MAC, what another node signed, and (a replay) any heartbeat not newer
 * than the last one it accepted from that node; a node it has not heard of yet must have written its
 * heartbeat within FRESH_MS of this node's clock (so an old heartbeat published again cannot bring a dead
 * node back). Unauthenticated delete markers are ignored: a node is only ever dead by its own tombstone or
 * by silence.
 */
import { type KV, type KvWatchEntry } from '@nats-io/kv';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { ClusterContext } from './cluster-context.js';
import { NODE_ID, openBucket } from './cluster-context.js';
import { MonotonicClock, openValue, sealValue } from './cluster-key.js';
import { describeError } from '../../shared/errors.js';

const HEARTBEAT_MS = 1_000;
const DEAD_AFTER_MS = 4_000;
const BUCKET = 'lr-nodes';
/** How far from this node's clock the first heartbeat heard from a node may be (covers clock skew). */
const FRESH_MS = 10 * 60_000;

const nodeValue = z.object({ publicUrl: z.string().url().max(512), startedAt: z.string().max(64) }).strict();
export type NodeInfo = z.infer<typeof nodeValue> & { node: string };

export interface NodeRegistryEvents {
  /** A node was seen for the first time or again after being dead. */
  up: [node: string];
  /** A node stopped cleanly or stopped sending heartbeats. */
  down: [node: string];
}

export class NodeRegistry extends EventEmitter<NodeRegistryEvents> {
  private readonly nodes = new Map<string, { info: NodeInfo; lastHeard: number }>();
  /** Per node, the version of the newest authentic heartbeat or tombstone accepted (kept after it dies). */
  private readonly versions = new Map<string, number>();
  private readonly clock = new MonotonicClock();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  private constructor(
    private readonly ctx: ClusterContext,
    private readonly kv: KV,
    private readonly self: NodeInfo,
  ) {
    super();
  }

  static async start(ctx: ClusterContext, publicUrl: string): Promise<NodeRegistry> {
    const opts = { history: 1, ttl: 60_000, replicas: ctx.replicas, description: 'lr service nodes (heartbeats)' };
    const kv = await openBucket(ctx, BUCKET, opts);
    const self: NodeInfo = { node: ctx.nodeId, publicUrl, startedAt: new Date().toISOString() };
    const reg = new NodeRegistry(ctx, kv, self);
    await reg.beat();
    await reg.watch();
    const beat = setInterval(() => void reg.beat(), HEARTBEAT_MS);
    const sweep = setInterval(() => reg.sweep(), 500);
    beat.unref();
    sweep.unref();
    reg.timers.push(beat, sweep);
    return reg;
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const { node: _node, ...value } = this.self;
    try {
      await this.kv.put(this.self.node, this.seal(JSON.stringify(value)));
    } catch (e) {
      this.ctx.log.warn('cluster heartbeat failed', { error: describeError(e) });
    }
  }

  private async watch(): Promise<void> {
    const iter = await this.kv.watch({ key: '>' });
    void (async () => {
      for await (const entry of iter) this.seen(entry);
    })().catch((e: Error) => this.ctx.log.warn('node watch ended', { error: e.message }));
  }

  private seal(data: string | null): string {
    return sealValue(this.ctx.mac, 'node', `${BUCKET}/${this.self.node}`, {
      writer: this.self.node,
      version: String(this.clock.next()),
      data,
    });
  }

  private seen(entry: KvWatchEntry): void {
    if (!NODE_ID.test(entry.key)) return this.ctx.drops.drop('node', 'not a node id');
    const sealed =
      entry.operation === 'PUT'
        ? openValue(this.ctx.mac, 'node', `${BUCKET}/${entry.key}`, entry.value)
        : 'an unauthenticated delete or purge marker';
    if (typeof sealed === 'string') return this.ctx.drops.drop('node', sealed, { node: entry.key });
    if (sealed.writer !== entry.key)
      return this.ctx.drops.drop('node', 'a heartbeat written by another node', { node: entry.key });
    const version = Number(sealed.version);
    const newest = this.versions.get(entry.key);
    if (!Number.isSafeInteger(version)) return this.ctx.drops.drop('node', 'bad version', { node: entry.key });
    if (newest !== undefined ? version <= newest : Math.abs(Date.now() - version) > FRESH_MS) {
      // Our own last heartbeat, delivered again by a new watcher, is not news either: no log for it.
      if (entry.key !== this.self.node)
        this.ctx.drops.drop('node-replay', 'a heartbeat not newer than the last one heard', { node: entry.key });
      return;
    }
    this.versions.set(entry.key, version);
    if (sealed.data === null) {
      if (this.nodes.delete(entry.key)) this.emit('down', entry.key);
      return;
    }
    let info: z.infer<typeof nodeValue>;
    try {
      info = nodeValue.parse(JSON.parse(sealed.data));
    } catch {
      this.ctx.drops.drop('node', 'malformed node heartbeat', { node: entry.key });
      return;
    }
    // A heartbeat replayed from the bucket at start may be old: only a fresh write proves life. The
    // watcher's first pass delivers stored values with delta > 0; they count as heard now, and a dead
    // node's value then expires by the sweep DEAD_AFTER_MS later.
    const known = this.nodes.has(entry.key);
    this.nodes.set(entry.key, { info: { node: entry.key, ...info }, lastHeard: Date.now() });
    if (!known) this.emit('up', entry.key);
  }

  private sweep(): void {
    const t = Date.now();
    for (const [node, n] of this.nodes) {
      if (node === this.self.node) continue;
      if (t - n.lastHeard > DEAD_AFTER_MS) {
        this.nodes.delete(node);
        this.ctx.log.warn('cluster node stopped answering', { node });
        this.emit('down', node);
      }
    }
  }

  isAlive(node: string): boolean {
    return node === this.self.node || this.nodes.has(node);
  }

  /** The nodes alive now, this one first (their public URLs go into bundles and profiles). */
  alive(): NodeInfo[] {
    const others = [...this.nodes.values()].filter((n) => n.info.node !== this.self.node).map((n) => n.info);
    others.sort((a, b) => a.node.localeCompare(b.node));
    return [this.self, ...others];
  }

  /** Stops the heartbeat and removes this node's key, so the others see it gone at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.kv.put(this.self.node, this.seal(null)).catch(() => undefined);
  }
}
