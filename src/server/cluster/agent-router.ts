/**
 * Agents of the whole cluster, reachable from any node. Two things on NATS:
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
 *   Nothing here queues: publish() hands each message to the connection at once (its outbound buffer is
 *   bounded by the same windows) and the subscriptions use callbacks, which the client runs as each
 *   message is parsed, so no message waits in the client for a slow iterator. The job's node acks only
 *   once its analyst's socket drained (pipeline.ts, flushAck): a slow analyst stops the agent itself.
 *   test/integration/cluster-transfer.test.ts measures it (RSS of the nodes, reads of the agent).
 * - Size: nats-server closes a connection that publishes over its max_payload (1 MiB by default) and the
 *   client refuses such a message with an exception, so every message is cut to fit (`maxBody()`): record
 *   batches split between records, text between characters, file data frames into smaller data frames
 *   (offsets kept, so the analyst's side cannot tell). Whatever an agent sends, a node never throws here.
 *
 * Every message is checked before use: the agent frames with the same schema as frames from the agent
 * link; output frames by kind and size. NATS is the service's internal network, but a malformed message
 * is dropped and logged, never trusted.
 *
 * Authenticity (cluster-key.ts): before that, the cluster key's MAC. A presence value is sealed by the
 * node it names (writer = its `node`, version = its `since`); an entry older than the one known for the
 * device from that node (a replay) is dropped, and going offline is a sealed tombstone (delete markers are ignored). A
 * routing message carries the MAC over its subject, sender, device or job and kind, a version
 * `<boot>.<counter>.<time>` (a random id of the sender's process, a counter that only grows, the send
 * time) and the body: a receiver drops a message outside a time window of its own clock, and one whose
 * counter is not above the last it accepted from that sender's process (NATS delivers one publisher's
 * messages in order), so a frame captured and published again is never acted on.
 */
import { type KV, type KvWatchEntry } from '@nats-io/kv';
import { headers as natsHeaders, type MsgHdrs, type Subscription } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { MAC_HEADER, openValue, sealValue, VERSION_HEADER, type MacKind } from './cluster-key.js';
import { decodeDataFrame, encodeDataFrame, parseFrame, toAgent, type ToAgent } from '../../shared/wire/protocol.js';
import type { AgentHub, ClusterLink, RemoteOutput } from '../agent-hub.js';
import type { ClusterContext } from './cluster-context.js';
import { NODE_ID, openBucket } from './cluster-context.js';
import type { NodeRegistry } from './node-registry.js';
import { describeError } from '../../shared/errors.js';

const BUCKET = 'lr-presence';
/** Largest message body sent, with room for headers under NATS's default max_payload (1 MiB). */
const MAX_MESSAGE_BYTES = 1000 * 1024;
/**
 * Room kept for the headers (from, job or dev, k: under 200 bytes) when the server's max_payload is lower
 * than the default: a message's headers and body count together against it.
 */
const HEADER_ROOM = 4 * 1024;
/** A floor for the body size, so a misconfigured server cannot make the splitting loops degenerate. */
const MIN_MESSAGE_BYTES = 16 * 1024;
const DEVICE_ID = /^[0-9a-z]{4,64}$/;
const JOB_ID = /^[0-9a-z-]{1,64}$/;
/** How far a routing message's send time may be from the receiver's clock (covers skew and transit). */
const ROUTE_WINDOW_MS = 2 * 60_000;
/** Sender processes remembered per sender node (a node restarting is a new process). */
const MAX_BOOTS = 8;

const presenceValue = z.object({ node: z.string().regex(NODE_ID), since: z.number().int().nonnegative() }).strict();
type Presence = z.infer<typeof presenceValue>;

const endValue = z
  .object({
    status: z.enum(['completed', 'failed', 'cancelled', 'timed_out', 'refused']),
    error: z.string().max(4096).optional(),
    cwd: z.string().max(4096).optional(),
  })
  .strict();
const traceValue = z
  .object({
    sessionId: z.string().max(64),
    level: z.string().max(16),
    message: z.string().max(4096),
    time: z.string().max(64),
  })
  .strict();

export class ClusterAgents implements ClusterLink {
  private readonly presence = new Map<string, Presence>();
  /**
   * Per device and writer, the newest presence `since` accepted (a replay is older); kept when the entry
   * goes. Per writer, not per device: `since` comes from each node's clock, and a device moving to a node
   * whose clock is behind must not look like a replay.
   */
  private readonly presenceVersions = new Map<string, number>();
  /** This process's id in routing versions, and its counter. */
  private readonly boot = randomBytes(8).toString('hex');
  private counter = 0;
  /** Per sender node (and subject kind), per sender process: the last counter accepted. */
  private readonly lastCounter = new Map<string, Map<string, number>>();
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
    const kv = await openBucket(ctx, BUCKET, {
      history: 1,
      replicas: ctx.replicas,
      description: 'lr agent presence (device → node)',
    });
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
      this.kv
        .put(deviceId, this.sealPresence(deviceId, since, JSON.stringify({ node: this.me, since })))
        .catch((e: Error) => this.ctx.log.warn('presence write failed', { deviceId, error: e.message }));
      return;
    }
    const p = this.presence.get(deviceId);
    if (p?.node !== this.me || p.since !== since) return; // it moved: the entry is another node's now
    this.presence.delete(deviceId);
    // Delete only what we wrote: if the agent reconnected elsewhere meanwhile, its new entry stays (and if
    // our delete still lands after it, the watch below makes the holder write it again).
    void this.kv
      .get(deviceId)
      .then((entry) => {
        if (entry?.operation !== 'PUT') return;
        const sealed = openValue(this.ctx.mac, 'presence', `${BUCKET}/${deviceId}`, entry.value);
        const v = presenceValue.safeParse(
          typeof sealed === 'string' || sealed.data === null ? undefined : safeJson(sealed.data),
        );
        if (v.success && v.data.node === this.me && v.data.since === since)
          return this.kv.put(deviceId, this.sealPresence(deviceId, since, null));
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
      for await (const entry of iter) {
        this.seen(entry);
        if (pending > 0 && --pending === 0) resolveLoaded();
        if (entry.delta === 0) resolveLoaded();
      }
    })().catch((e: Error) => this.ctx.log.warn('presence watch ended', { error: e.message }));
    await Promise.race([loaded, new Promise((r) => setTimeout(r, 10_000))]);
  }

  /** A presence value (or, data null, its tombstone) sealed by this node; `since` is its version. */
  private sealPresence(deviceId: string, since: number, data: string | null): string {
    return sealValue(this.ctx.mac, 'presence', `${BUCKET}/${deviceId}`, {
      writer: this.me,
      version: String(since),
      data,
    });
  }

  private seen(entry: KvWatchEntry): void {
    const deviceId = entry.key;
    if (!DEVICE_ID.test(deviceId)) return this.ctx.drops.drop('presence', 'not a device id');
    const sealed =
      entry.operation === 'PUT'
        ? openValue(this.ctx.mac, 'presence', `${BUCKET}/${deviceId}`, entry.value)
        : 'an unauthenticated delete or purge marker';
    if (typeof sealed === 'string') return this.ctx.drops.drop('presence', sealed);
    const version = Number(sealed.version);
    if (!Number.isSafeInteger(version) || version < 0 || !NODE_ID.test(sealed.writer))
      return this.ctx.drops.drop('presence', 'bad version or writer');
    const vkey = `${deviceId} ${sealed.writer}`;
    if (version < (this.presenceVersions.get(vkey) ?? 0))
      return this.ctx.drops.drop('presence-replay', 'older than the presence known for the device');
    this.presenceVersions.set(vkey, version);
    const before = this.nodeOf(deviceId);
    const mine = this.hub.localSince(deviceId);
    if (sealed.data === null) {
      // Only the holder's own tombstone of the link it announced ends it.
      const known = this.presence.get(deviceId);
      if (known && (known.node !== sealed.writer || known.since !== version)) return;
      this.presence.delete(deviceId);
      if (mine !== null)
        this.localPresence(deviceId, true, mine); // still here: say so again
      else if (before !== null) this.hub.remotePresence(deviceId, null);
      return;
    }
    const v = presenceValue.safeParse(safeJson(sealed.data));
    if (!v.success || v.data.node !== sealed.writer || v.data.since !== version) {
      this.ctx.drops.drop('presence', 'malformed presence entry, or one that another node signed');
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
    for (const [deviceId, p] of this.presence)
      if (p.node === node && this.hub.localSince(deviceId) === null) this.hub.remotePresence(deviceId, null);
  }

  private nodeUp(node: string): void {
    for (const [deviceId, p] of this.presence)
      if (p.node === node && this.hub.localSince(deviceId) === null) this.hub.remotePresence(deviceId, node);
  }

  // ---------- routing ----------

  toAgent(node: string, deviceId: string, frame: ToAgent): void {
    const h = natsHeaders();
    h.set('from', this.me);
    h.set('dev', deviceId);
    // Frames to agents are small (a job.start holds a command line of at most 8 KiB and its parameters).
    this.publish(`lr.agent.${node}`, JSON.stringify(frame), h, 'agent', [deviceId]);
  }

  toJobOwner(node: string, jobId: string, out: RemoteOutput): void {
    const publish = (kind: string, payload: string | Uint8Array) => {
      const h = natsHeaders();
      h.set('from', this.me);
      h.set('job', jobId);
      h.set('k', kind);
      this.publish(`lr.out.${node}`, payload, h, 'out', [jobId, kind]);
    };
    const max = this.maxBody();
    switch (out.type) {
      case 'data':
        // An agent sends 256 KiB payloads, but its link accepts frames up to 1 MiB: a bigger one is cut into
        // frames of the same job at the right offsets (the job's node acks payload bytes, so the agent's
        // window accounting is unchanged).
        for (const part of splitData(out.frame, max)) publish('data', part);
        return;
      case 'records':
        for (const part of splitRecords(out.json, max)) publish('records', part);
        return;
      case 'text':
        for (const part of splitText(out.text, max)) publish('text', part);
        return;
      case 'end':
        publish(
          'end',
          JSON.stringify({ status: out.status, error: out.error?.slice(0, 4096), cwd: out.cwd?.slice(0, 4096) }),
        );
        return;
      case 'trace':
        publish(
          'trace',
          JSON.stringify({
            sessionId: out.sessionId,
            level: out.level,
            message: out.message.slice(0, 4096),
            time: out.time,
          }),
        );
        return;
    }
  }

  /**
   * The largest body this node publishes: the connected server's max_payload (read each time: after a
   * reconnection it may be another server) less room for headers, and never above MAX_MESSAGE_BYTES.
   */
  private maxBody(): number {
    const maxPayload = (this.ctx.nc.info as { max_payload?: number } | undefined)?.max_payload ?? 1024 * 1024;
    return Math.max(MIN_MESSAGE_BYTES, Math.min(MAX_MESSAGE_BYTES, maxPayload - HEADER_ROOM));
  }

  /**
   * publish() throws when the connection is closed (the node is stopping) or a message is over
   * max_payload; called from an agent's socket handler, that would take the whole node down. The message
   * is dropped and logged instead: its job then stalls or fails on its own time limit, nothing else does.
   */
  private publish(subject: string, payload: string | Uint8Array, h: MsgHdrs, kind: MacKind, extra: string[]): void {
    const version = `${this.boot}.${++this.counter}.${Date.now()}`;
    h.set(VERSION_HEADER, version);
    h.set(MAC_HEADER, this.ctx.mac.tag({ kind, where: subject, writer: this.me, version, extra, payload }));
    try {
      this.ctx.nc.publish(subject, payload, { headers: h });
    } catch (e) {
      this.ctx.log.warn('cluster message not sent', {
        subject,
        bytes: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength,
        error: describeError(e),
      });
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
          const bad = this.authentic('agent', msg.subject, from, [dev], msg.headers, msg.data);
          if (bad) return this.ctx.drops.drop('agent', bad, { from });
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
          const bad = this.authentic('out', msg.subject, from, [job, kind ?? ''], msg.headers, msg.data);
          if (bad) return this.ctx.drops.drop('out', bad, { from });
          const out = decodeOutput(kind ?? '', msg.data, job);
          if (!out) return this.drop(`malformed job output (${String(kind)}) from node ${from}`);
          this.hub.fromAgentNode(from, job, out);
        },
      }),
    );
  }

  private drop(why: string): void {
    this.ctx.drops.drop('route', why);
  }

  /**
   * Null when a routing message is authentic and fresh (and then its counter is recorded), else why not.
   * Checked before the body is parsed: nothing a node did not send is even decoded.
   */
  private authentic(
    kind: MacKind,
    subject: string,
    from: string,
    extra: string[],
    h: MsgHdrs | undefined,
    data: Uint8Array,
  ): string | null {
    const version = h?.get(VERSION_HEADER) ?? '';
    const m = /^([0-9a-f]{16})\.([1-9][0-9]{0,15})\.([0-9]{1,16})$/.exec(version);
    if (!m) return 'no valid version';
    if (!this.ctx.mac.check({ kind, where: subject, writer: from, version, extra, payload: data }, h?.get(MAC_HEADER)))
      return 'bad MAC (not sent by a node of this cluster)';
    const [, boot, ctr, time] = m as unknown as [string, string, string, string];
    if (Math.abs(Date.now() - Number(time)) > ROUTE_WINDOW_MS)
      return 'outside the time window (a replay, or a clock far off)';
    const key = `${kind} ${from}`;
    let boots = this.lastCounter.get(key);
    if (!boots) this.lastCounter.set(key, (boots = new Map()));
    const counter = Number(ctr);
    if (counter <= (boots.get(boot) ?? 0)) return 'a message already received (a replay)';
    boots.delete(boot);
    boots.set(boot, counter);
    if (boots.size > MAX_BOOTS) boots.delete(boots.keys().next().value as string);
    return null;
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
      return 'error' in d || d.jobId !== jobId
        ? null
        : { type: 'data', frame: Buffer.from(data), bytes: d.payload.length };
    }
    case 'records': {
      const json = text();
      const v = safeJson(json);
      if (!Array.isArray(v) || !v.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) return null;
      return { type: 'records', json };
    }
    case 'text':
      return { type: 'text', text: text() };
    case 'end': {
      const v = endValue.safeParse(safeJson(text()));
      return v.success ? { type: 'end', ...v.data } : null;
    }
    case 'trace': {
      const v = traceValue.safeParse(safeJson(text()));
      return v.success ? { type: 'trace', ...v.data } : null;
    }
    default:
      return null;
  }
}

/**
 * A records batch as JSON arrays of at most `max` bytes each (split in halves as needed). A single record
 * over `max` cannot come from a genuine agent (it caps a record at 256 K characters, at most 768 KiB): it
 * is replaced by an error record rather than sent (the message would be refused) or dropped in silence.
 * The job's node acks the smaller replacement, so that agent's own window keeps the difference unacked:
 * only the misbehaving agent's job slows down.
 */
function splitRecords(json: string, max: number): string[] {
  if (Buffer.byteLength(json) <= max) return [json];
  const records = JSON.parse(json) as unknown[];
  if (records.length <= 1)
    return [
      JSON.stringify([{ error: `record too large to pass between service nodes (${Buffer.byteLength(json)} bytes)` }]),
    ];
  const half = Math.ceil(records.length / 2);
  return [
    ...splitRecords(JSON.stringify(records.slice(0, half)), max),
    ...splitRecords(JSON.stringify(records.slice(half)), max),
  ];
}

/**
 * Text in parts of at most `max` bytes: max / 3 UTF-16 units each (one unit is at most 3 bytes of UTF-8),
 * never cut between the two halves of a surrogate pair (each half alone would arrive as U+FFFD).
 */
function splitText(text: string, max: number): string[] {
  const step = Math.floor(max / 3);
  if (text.length <= step) return [text];
  const parts: string[] = [];
  for (let i = 0; i < text.length;) {
    let end = Math.min(text.length, i + step);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate stays with its low half
    parts.push(text.slice(i, end));
    i = end;
  }
  return parts;
}

/** A file data frame as frames of the same job of at most `max` bytes each, at their offsets in the file. */
function splitData(frame: Buffer, max: number): Uint8Array[] {
  if (frame.length <= max) return [frame];
  const d = decodeDataFrame(frame);
  if ('error' in d) return []; // the hub decoded it before: cannot happen
  const room = max - (frame.length - d.payload.length);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < d.payload.length; at += room)
    parts.push(encodeDataFrame(d.jobId, d.offset + at, d.payload.subarray(at, at + room)));
  return parts;
}
