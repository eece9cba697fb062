/**
 * Agents of the whole cluster, reachable from any node (issue #10). Two things on NATS:
 *
 * - Presence, in the KV bucket `lr-presence`: key = device id, value = { node, since } of the node its
 *   agent is connected to. Every node watches the bucket and keeps the map in memory (30 000 devices are a
 *   few MB), so "where is this device" is a lookup, never a round trip. An entry counts only while its node
 *   is alive (node-registry.ts): a node killed outright leaves its entries behind until its agents reconnect
 *   elsewhere and overwrite them. When two nodes both believe they hold a device (an old link not yet seen
 *   dead), the newer connection wins: the older node closes its link.
 * - Routing, on core NATS subjects: `lr.agent.<node>` carries frames for the agents connected to <node>
 *   (job.start, job.ack, job.cancel, trace.level), `lr.out.<node>` carries the output of jobs that <node>
 *   started back to it (records, text, file data frames, end, traces). Flow control is the agent's own:
 *   an agent sends at most its credit window (1 MiB of output, 8 MiB of a file) before the job's node
 *   acknowledges what reached its analyst, and those acks travel back on `lr.agent.<node>`. So what is in
 *   flight between two nodes is bounded by the windows of the jobs running, never by the speed of NATS.
 *
 * Every message is checked before use: the agent frames with the same schema as frames from the agent
 * link; output frames by kind and size. NATS is the service's internal network, but a malformed message
 * is dropped and logged, never trusted.
 */
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { headers as natsHeaders, type MsgHdrs, type Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { decodeDataFrame, parseFrame, toAgent, type ToAgent } from '../../shared/protocol.js';
import type { AgentHub, ClusterLink, RemoteOutput } from '../agent-hub.js';
import type { ClusterContext } from './cluster-context.js';
import { NODE_ID } from './cluster-context.js';
import type { NodeRegistry } from './node-registry.js';

const BUCKET = 'lr-presence';
/** Under NATS's default max_payload (1 MiB) with room for headers; bigger batches are split in two. */
const MAX_MESSAGE_BYTES = 1000 * 1024;
const DEVICE_ID = /^[0-9a-z]{4,64}$/;
const JOB_ID = /^[0-9a-z-]{1,64}$/;

const presenceValue = z.object({ node: z.string().regex(NODE_ID), since: z.number().int().nonnegative() }).strict();
type Presence = z.infer<typeof presenceValue>;

const endValue = z
  .object({ status: z.enum(['completed', 'failed', 'cancelled', 'timed_out']), error: z.string().max(4096).optional(), cwd: z.string().max(4096).optional() })
  .strict();
const traceValue = z.object({ sessionId: z.string().max(64), level: z.string().max(16), message: z.string().max(4096), time: z.string().max(64) }).strict();

export class ClusterAgents implements ClusterLink {
  private readonly presence = new Map<string, Presence>();
  private readonly subs: Subscription[] = [];
  private readonly me: string;
  readonly self: string;

  private constructor(
    private readonly ctx: ClusterContext,
    private readonly kv: KV,
    private readonly hub: AgentHub,
    private readonly nodes: NodeRegistry,
  ) {
    this.me = ctx.nodeId;
    this.self = ctx.nodeId;
  }

  /** Opens the presence bucket, loads it, subscribes to this node's subjects and attaches to the hub. */
  static async start(ctx: ClusterContext, hub: AgentHub, nodes: NodeRegistry): Promise<ClusterAgents> {
    const kvm = new Kvm(ctx.js);
    let kv: KV;
    try {
      kv = await kvm.create(BUCKET, { history: 1, replicas: ctx.replicas, description: 'lr agent presence (device → node)' });
    } catch {
      kv = await kvm.open(BUCKET);
    }
    const router = new ClusterAgents(ctx, kv, hub, nodes);
    await router.watch();
    router.subscribe();
    nodes.on('down', (node) => router.nodeDown(node));
    nodes.on('up', (node) => router.nodeUp(node));
    hub.attachCluster(router);
    return router;
  }

  // ---------- presence ----------

  nodeOf(deviceId: string): string | null {
    const p = this.presence.get(deviceId);
    if (!p || p.node === this.me || !this.nodes.isAlive(p.node)) return null;
    return p.node;
  }

  /** Devices online per node as this node sees them (diagnosis, the cluster benchmark). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.presence.values()) if (this.nodes.isAlive(p.node)) out[p.node] = (out[p.node] ?? 0) + 1;
    return out;
  }

  localPresence(deviceId: string, online: boolean, since: number): void {
    if (online) {
      this.presence.set(deviceId, { node: this.me, since });
      this.kv.put(deviceId, JSON.stringify({ node: this.me, since })).catch((e: Error) => this.ctx.log.warn('presence write failed', { deviceId, error: e.message }));
      return;
    }
    const p = this.presence.get(deviceId);
    if (p?.node !== this.me || p.since !== since) return; // it moved: the entry is another node's now
    this.presence.delete(deviceId);
    // Delete only what we wrote: if the agent reconnected elsewhere meanwhile, its new entry stays (and if
    // our delete still lands after it, the watch below makes the holder write it again).
    void this.kv
      .get(deviceId)
      .then((e) => {
        if (e?.operation !== 'PUT') return;
        const v = presenceValue.safeParse(safeJson(e.string()));
        if (v.success && v.data.node === this.me && v.data.since === since) return this.kv.delete(deviceId);
        return undefined;
      })
      .catch((e: Error) => this.ctx.log.warn('presence delete failed', { deviceId, error: e.message }));
  }

  private async watch(): Promise<void> {
    const iter = await this.kv.watch({ key: '>' });
    // The first pass delivers every stored entry; the service listens only once it is loaded.
    let resolveLoaded: () => void = () => undefined;
    const loaded = new Promise<void>((r) => (resolveLoaded = r));
    let pending = iter.getPending?.() ?? 0;
    if (pending === 0) resolveLoaded();
    void (async () => {
      for await (const e of iter) {
        this.seen(e);
        if (pending > 0 && --pending === 0) resolveLoaded();
        if (e.delta === 0) resolveLoaded();
      }
    })().catch((e: Error) => this.ctx.log.warn('presence watch ended', { error: e.message }));
    await Promise.race([loaded, new Promise((r) => setTimeout(r, 10_000))]);
  }

  private seen(e: KvWatchEntry): void {
    const deviceId = e.key;
    if (!DEVICE_ID.test(deviceId)) return;
    const before = this.nodeOf(deviceId);
    const mine = this.hub.localSince(deviceId);
    if (e.operation !== 'PUT') {
      this.presence.delete(deviceId);
      if (mine !== null) this.localPresence(deviceId, true, mine); // still here: say so again
      else if (before !== null) this.hub.remotePresence(deviceId, null);
      return;
    }
    const v = presenceValue.safeParse(safeJson(e.string()));
    if (!v.success) {
      this.ctx.log.warn('malformed presence entry skipped', { deviceId });
      return;
    }
    const p = v.data;
    if (p.node === this.me) {
      if (mine !== null) this.presence.set(deviceId, { node: this.me, since: mine });
      return;
    }
    if (mine !== null) {
      // Two links for one device: the newer one is the agent's current connection.
      if (p.since > mine) {
        this.presence.set(deviceId, p);
        this.hub.dropReplaced(deviceId, p.node);
      } else this.localPresence(deviceId, true, mine);
      return;
    }
    this.presence.set(deviceId, p);
    const after = this.nodeOf(deviceId);
    if (after !== before) this.hub.remotePresence(deviceId, after);
  }

  private nodeDown(node: string): void {
    this.hub.nodeDown(node);
    for (const [deviceId, p] of this.presence) if (p.node === node && this.hub.localSince(deviceId) === null) this.hub.remotePresence(deviceId, null);
  }

  private nodeUp(node: string): void {
    for (const [deviceId, p] of this.presence) if (p.node === node && this.hub.localSince(deviceId) === null) this.hub.remotePresence(deviceId, node);
  }

  // ---------- routing ----------

  toAgent(node: string, deviceId: string, frame: ToAgent): void {
    const h = natsHeaders();
    h.set('from', this.me);
    h.set('dev', deviceId);
    this.ctx.nc.publish(`lr.agent.${node}`, JSON.stringify(frame), { headers: h });
  }

  toJobOwner(node: string, jobId: string, out: RemoteOutput): void {
    const publish = (kind: string, payload: string | Uint8Array) => {
      const h = natsHeaders();
      h.set('from', this.me);
      h.set('job', jobId);
      h.set('k', kind);
      this.ctx.nc.publish(`lr.out.${node}`, payload, { headers: h });
    };
    switch (out.k) {
      case 'data':
        publish('data', out.frame);
        return;
      case 'records':
        for (const part of splitRecords(out.json)) publish('records', part);
        return;
      case 'text':
        for (let i = 0; i < out.text.length || i === 0; i += MAX_MESSAGE_BYTES / 4) publish('text', out.text.slice(i, i + MAX_MESSAGE_BYTES / 4));
        return;
      case 'end':
        publish('end', JSON.stringify({ status: out.status, error: out.error?.slice(0, 4096), cwd: out.cwd }));
        return;
      case 'trace':
        publish('trace', JSON.stringify({ sessionId: out.sessionId, level: out.level, message: out.message.slice(0, 4096), time: out.time }));
        return;
    }
  }

  private subscribe(): void {
    this.subs.push(
      this.ctx.nc.subscribe(`lr.agent.${this.me}`, {
        callback: (err, msg) => {
          if (err) return;
          const from = header(msg.headers, 'from', NODE_ID);
          const dev = header(msg.headers, 'dev', DEVICE_ID);
          if (!from || !dev) return this.drop('agent frame without a valid sender or device');
          const parsed = parseFrame(toAgent, msg.string());
          if (!parsed.ok) return this.drop(`bad agent frame from node ${from}: ${parsed.error}`);
          this.hub.fromOtherNode(from, dev, parsed.value);
        },
      }),
      this.ctx.nc.subscribe(`lr.out.${this.me}`, {
        callback: (err, msg) => {
          if (err) return;
          const from = header(msg.headers, 'from', NODE_ID);
          const job = header(msg.headers, 'job', JOB_ID);
          const kind = msg.headers?.get('k');
          if (!from || !job) return this.drop('job output without a valid sender or job');
          const out = decodeOutput(kind ?? '', msg.data, job);
          if (!out) return this.drop(`malformed job output (${String(kind)}) from node ${from}`);
          this.hub.fromAgentNode(from, job, out);
        },
      }),
    );
  }

  private drop(why: string): void {
    this.ctx.log.warn('cluster message dropped', { why });
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}

function header(h: MsgHdrs | undefined, name: string, re: RegExp): string | null {
  const v = h?.get(name);
  return v && re.test(v) ? v : null;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Output frames of one kind, checked: records must be a JSON array of objects, end and trace their shapes. */
function decodeOutput(kind: string, data: Uint8Array, jobId: string): RemoteOutput | null {
  const text = () => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  switch (kind) {
    case 'data': {
      const d = decodeDataFrame(data);
      // The frame names its job too: it must be the job the message is for.
      return 'error' in d || d.jobId !== jobId ? null : { k: 'data', frame: Buffer.from(data), bytes: d.payload.length };
    }
    case 'records': {
      const json = text();
      const v = safeJson(json);
      if (!Array.isArray(v) || !v.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) return null;
      return { k: 'records', json };
    }
    case 'text':
      return { k: 'text', text: text() };
    case 'end': {
      const v = endValue.safeParse(safeJson(text()));
      return v.success ? { k: 'end', ...v.data } : null;
    }
    case 'trace': {
      const v = traceValue.safeParse(safeJson(text()));
      return v.success ? { k: 'trace', ...v.data } : null;
    }
    default:
      return null;
  }
}

/** A records batch as JSON arrays small enough for one NATS message each (split in halves as needed). */
function splitRecords(json: string): string[] {
  if (Buffer.byteLength(json) <= MAX_MESSAGE_BYTES) return [json];
  const records = JSON.parse(json) as unknown[];
  if (records.length <= 1) return [json]; // one record over 1 MiB cannot come from an agent (frame limit)
  const half = Math.ceil(records.length / 2);
  return [...splitRecords(JSON.stringify(records.slice(0, half))), ...splitRecords(JSON.stringify(records.slice(half)))];
}
