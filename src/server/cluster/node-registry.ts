/**
 * Which service nodes are alive, and where analysts and agents can reach them. Each node writes its own
 * key in the KV bucket `lr-nodes` every HEARTBEAT_MS ({ publicUrl, startedAt }) and deletes it when it
 * stops cleanly. Every node watches the bucket and counts a node alive while its heartbeats keep arriving:
 * the time is taken from this node's clock when the heartbeat arrives, never from the writer's, so clock
 * skew between machines does not matter. A node killed outright stops writing and is dead for the others
 * DEAD_AFTER_MS later (a KV watcher is not told when a value ages out, so the bucket's TTL only keeps the
 * bucket small; liveness is decided here).
 */
import { type KV, type KvWatchEntry } from '@nats-io/kv';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { ClusterContext } from './cluster-context.js';
import { NODE_ID, openBucket } from './cluster-context.js';

const HEARTBEAT_MS = 1_000;
const DEAD_AFTER_MS = 4_000;
const BUCKET = 'lr-nodes';

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
      await this.kv.put(this.self.node, JSON.stringify(value));
    } catch (e) {
      this.ctx.log.warn('cluster heartbeat failed', { error: (e as Error).message });
    }
  }

  private async watch(): Promise<void> {
    const iter = await this.kv.watch({ key: '>' });
    void (async () => {
      for await (const e of iter) this.seen(e);
    })().catch((e: Error) => this.ctx.log.warn('node watch ended', { error: e.message }));
  }

  private seen(e: KvWatchEntry): void {
    if (!NODE_ID.test(e.key)) return;
    if (e.operation !== 'PUT') {
      if (this.nodes.delete(e.key)) this.emit('down', e.key);
      return;
    }
    let info: z.infer<typeof nodeValue>;
    try {
      info = nodeValue.parse(JSON.parse(e.string()));
    } catch {
      this.ctx.log.warn('malformed node heartbeat skipped', { node: e.key });
      return;
    }
    // A heartbeat replayed from the bucket at start may be old: only a fresh write proves life. The
    // watcher's first pass delivers stored values with delta > 0; they count as heard now, and a dead
    // node's value then expires by the sweep DEAD_AFTER_MS later.
    const known = this.nodes.has(e.key);
    this.nodes.set(e.key, { info: { node: e.key, ...info }, lastHeard: Date.now() });
    if (!known) this.emit('up', e.key);
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
    await this.kv.delete(this.self.node).catch(() => undefined);
  }
}
