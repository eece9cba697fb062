/**
 * One service node joining a cluster (`lr-server start --nats URL[,URL…]`): the NATS
 * connection, this node's id, and the components that make the nodes one service. service.ts builds the
 * single-node service exactly as before and calls in here at two points: `joinCluster` before anything
 * reads the database (the shared state must be current), `attachAgents` once the hub and sessions exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../../node/files.js';
import { newId } from '../../node/ids.js';
import type { Logger } from '../../node/log.js';
import type { AgentHub } from '../agent-hub.js';
import type { LibrarySharing } from '../library-service.js';
import { LibraryObjects } from './library-objects.js';
import { ClusterFileTokens } from './file-tokens.js';
import { ClusterAgents } from './agent-router.js';
import { ClusterMac } from './cluster-key.js';
import { connectCluster, NODE_ID, type ClusterContext, type NatsSecurity } from './cluster-context.js';
import { refreshAdminProfileUrls, writeClusterUrls } from './cluster-urls.js';
import { NatsSessionLedger } from './nats-session-ledger.js';
import { NodeRegistry } from './node-registry.js';
import { describeError } from '../../shared/errors.js';

/** After a node is seen dead (4 s without heartbeats), how much longer before its session claims are freed. */
const RELEASE_DEAD_NODE_AFTER_MS = 4_000;

export interface ClusterOptions {
  /** NATS URLs (the client fails over between them). */
  nats: string[];
  /** Replicas of shared buckets and streams (default: 3 on a NATS cluster of 3+ servers, else 1). */
  replicas?: number | undefined;
  /** Lease of a session in the shared ledger, ms (tests shorten it). */
  sessionLeaseMs?: number | undefined;
  /** TLS (pinned CA, client certificate) and token for the NATS servers. */
  security?: NatsSecurity | undefined;
}

/** DATA/node-id: made on the first cluster start, kept for the node's life (its key in presence and the log). */
export function nodeIdOf(dataDir: string): string {
  const file = join(dataDir, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (!NODE_ID.test(id)) throw new Error(`${file} does not hold a valid node id`);
    return id;
  }
  const id = `node-${newId(8)}`;
  writeSecretFile(file, id + '\n');
  return id;
}

export class ClusterNode {
  registry: NodeRegistry | null = null;
  agents: ClusterAgents | null = null;
  ledger: NatsSessionLedger | null = null;
  private readonly stops: Array<() => Promise<void> | void> = [];

  private constructor(
    readonly ctx: ClusterContext,
    private readonly dataDir: string,
    private readonly opts: ClusterOptions,
  ) {}

  get nodeId(): string {
    return this.ctx.nodeId;
  }

  static async connect(dataDir: string, opts: ClusterOptions, log: Logger): Promise<ClusterNode> {
    // Before anything touches NATS: a node without the cluster key could neither write nor trust anything.
    const mac = ClusterMac.fromDataDir(dataDir);
    const nodeId = nodeIdOf(dataDir);
    const ctx = await connectCluster(opts.nats, nodeId, log, mac, { replicas: opts.replicas, security: opts.security });
    log.info('joined the NATS cluster', { node: nodeId, replicas: ctx.replicas });
    return new ClusterNode(ctx, dataDir, opts);
  }

  /** Registers something to stop (in reverse order) when the node closes. */
  onStop(fn: () => Promise<void> | void): void {
    this.stops.push(fn);
  }

  /** The session ledger shared by every node (one session per device, limits per user and tenant). */
  async openLedger(): Promise<NatsSessionLedger> {
    this.ledger = await NatsSessionLedger.open(this.ctx.nc, {
      nodeId: this.ctx.nodeId,
      mac: this.ctx.mac,
      drops: this.ctx.drops,
      replicas: this.ctx.replicas,
      leaseMs: this.opts.sessionLeaseMs,
      log: this.ctx.log,
    });
    const ledger = this.ledger;
    this.onStop(() => ledger.stop());
    return ledger;
  }

  /** Library content in the object store, and agent download tokens valid on every node. */
  async librarySharing(): Promise<LibrarySharing> {
    const [content, tokens] = await Promise.all([LibraryObjects.open(this.ctx), ClusterFileTokens.open(this.ctx)]);
    return { content, tokens };
  }

  /** Node heartbeats and agent presence/routing: agents on any node become reachable from this one. */
  async attachAgents(hub: AgentHub, publicUrl: string): Promise<void> {
    const registry = await NodeRegistry.start(this.ctx, publicUrl);
    this.registry = registry;
    const known: string[] = [];
    const urls = () => {
      for (const n of registry.alive()) if (!known.includes(n.publicUrl)) known.push(n.publicUrl);
      writeClusterUrls(this.dataDir, known);
      refreshAdminProfileUrls(this.dataDir, known);
    };
    urls();
    // Rewritten when a node appears, not when one dies: a profile or bundle written while a node is down
    // still lists it (it will be back); a node gone for good leaves the list at this node's next start.
    registry.on('up', urls);
    // The sessions of a node that died hold their devices until their lease runs out (30 s): once the node
    // has been silent a while longer than it takes to call it dead, its claims are freed for everyone.
    registry.on('down', (node) => {
      const timer = setTimeout(() => {
        if (registry.isAlive(node) || !this.ledger) return;
        this.ledger.releaseNode(node).then(
          (freed) =>
            freed > 0 && this.ctx.log.info("freed the devices of a dead node's sessions", { node, sessions: freed }),
          (e: Error) =>
            this.ctx.log.warn("could not free a dead node's sessions (their lease will)", { node, error: e.message }),
        );
      }, RELEASE_DEAD_NODE_AFTER_MS);
      timer.unref();
    });
    this.agents = await ClusterAgents.start(this.ctx, hub, registry);
    const agents = this.agents;
    this.onStop(() => agents.stop());
    this.onStop(() => registry.stop());
  }

  async close(): Promise<void> {
    for (const fn of this.stops.reverse()) {
      try {
        await fn();
      } catch (e) {
        this.ctx.log.warn('cluster component did not stop cleanly', { error: describeError(e) });
      }
    }
    await this.ctx.nc.drain().catch(() => this.ctx.nc.close());
  }
}
