/**
 * The agents' side of the service: authenticates each agent link (challenge signed with the device's
 * Ed25519 key), tracks presence, dispatches jobs and routes their output to whoever registered for it.
 */
import { stage } from '../node/stage-trace.js';
import { randomBytes, verify, createPublicKey } from 'node:crypto';
import type { WebSocket } from 'ws';
import { EventEmitter } from 'node:events';
import {
  agentAuthPayload,
  decodeDataFrame,
  fromAgent,
  parseFrame,
  type DeviceInfo,
  type FromAgent,
  type ToAgent,
} from '../shared/wire/protocol.js';
import { Emitter, type Event } from '../shared/event.js';
import type { Store } from './store.js';
import type { Logger } from '../node/log.js';

/** Receives one job's output from its agent. */
export interface JobSink {
  /** A binary data frame of a file transfer, forwarded as is (`frame`), with its payload size. */
  onData(frame: Buffer, payloadBytes: number): void;
  /** A batch of records as JSON (a JSON array of objects, serialised once, reused for the log and the console). */
  onRecords(json: string): void;
  onText(text: string, bytes: number): void;
  onEnd(
    status: 'completed' | 'failed' | 'cancelled' | 'timed_out' | 'refused',
    error: string | undefined,
    cwd: string | undefined,
  ): void;
}

interface AgentLink {
  deviceId: string;
  ws: WebSocket;
  platform: string;
  alive: boolean;
  /** When the agent authenticated (ms): the newer of two links of one device wins across nodes. */
  since: number;
  /** The last frame or pong from the agent (ms): an online device's "last seen", kept in memory (no write). */
  heardAt: number;
  /** Frames dropped because they named a job or session that is not this device's (logged sparingly). */
  dropped: number;
  /** What the hello said (version, target: what self-update offers depends on it). */
  info: DeviceInfo;
}

/** A job's output travelling between nodes (cluster mode): from the agent's node to the job's node. */
export type RemoteOutput =
  | { type: 'data'; frame: Buffer; bytes: number }
  | { type: 'records'; json: string }
  | { type: 'text'; text: string }
  | {
      type: 'end';
      status: 'completed' | 'failed' | 'cancelled' | 'timed_out' | 'refused';
      error?: string | undefined;
      cwd?: string | undefined;
    }
  | { type: 'trace'; sessionId: string; level: string; message: string; time: string };

/**
 * The rest of the cluster as the hub sees it (cluster/agent-router.ts implements it on NATS). On a single
 * node there is none and the hub only knows its own agents.
 */
export interface ClusterLink {
  /** This node's id. */
  readonly self: string;
  /** The other node holding this device's agent now, or null (offline, or connected here). */
  nodeOf(deviceId: string): string | null;
  /** Sends a frame to a device's agent connected to another node. */
  toAgent(node: string, deviceId: string, frame: ToAgent): void;
  /** Sends a job's output back to the node the job came from. */
  toJobOwner(node: string, jobId: string, out: RemoteOutput): void;
  /** This node's agent for a device came online (since: ms) or went away. */
  localPresence(deviceId: string, online: boolean, since: number): void;
}

interface SinkEntry {
  deviceId: string;
  sink: JobSink;
  /** The node the job was sent through (its agent is there), for jobs started here for a remote agent. */
  via?: string;
  /** The node the job came from, for jobs this node runs on its agent on behalf of another node. */
  owner?: string;
}

export interface AgentHubEvents {
  presence: [deviceId: string, online: boolean];
  trace: [sessionId: string, level: string, message: string, time: string];
  /** An agent's update.status (agent-releases-rollout.ts logs it). */
  update: [deviceId: string, report: Extract<FromAgent, { t: 'update.status' }>];
}

const HELLO_TIMEOUT_MS = 10_000;
/** Largest frame accepted from an agent that has not authenticated yet (a hello is well under 2 KB). */
const PRE_AUTH_MAX_BYTES = 16 * 1024;
/**
 * Liveness pings. A stopped agent or service closes its TCP connection and is seen at once; pings only
 * catch silent losses (cable pulled, VM frozen), within two intervals. Every ping costs a TLS write and
 * read per agent, so the interval is what idle CPU scales with at 10 000 agents.
 */
const PING_INTERVAL_MS = 15_000;
/** Sessions with tracing on remembered per device (the session limit per device is far lower). */
const MAX_TRACED_SESSIONS = 64;

export class AgentHub extends EventEmitter<AgentHubEvents> {
  private readonly links = new Map<string, AgentLink>();
  private readonly sinks = new Map<string, SinkEntry>();
  private readonly pinger: NodeJS.Timeout;
  private cluster: ClusterLink | null = null;
  /** Device → the node that last sent it a frame: where its agent's traces go (the session lives there). */
  private readonly controller = new Map<string, string>();
  /**
   * Device → the sessions that turned tracing on for it (a `trace.level` routed to it, from this node or
   * another): the only sessions its agent may send trace lines for. Another device's session id is dropped.
   */
  private readonly traced = new Map<string, Set<string>>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    super();
    this.pinger = setInterval(() => {
      for (const link of this.links.values()) {
        if (!link.alive) {
          link.ws.terminate();
          continue;
        }
        link.alive = false;
        link.ws.ping();
      }
    }, PING_INTERVAL_MS);
    this.pinger.unref();
  }

  private readonly authFailed = new Emitter<string>();

  /**
   * Each failed agent authentication, with the remote address (the service's per-address rate limit, rate-limit.ts).
   */
  readonly onAuthFailed: Event<string> = this.authFailed.event;

  /** Joins a cluster: devices connected to other nodes become reachable through `link`. */
  attachCluster(link: ClusterLink): void {
    this.cluster = link;
    for (const l of this.links.values()) link.localPresence(l.deviceId, true, l.since);
  }

  /** Online here or on another node of the cluster. */
  /** When this node last heard from the device's agent (ISO), if it is connected here. */
  heardFrom(deviceId: string): string | undefined {
    const link = this.links.get(deviceId);
    return link ? new Date(link.heardAt).toISOString() : undefined;
  }

  isOnline(deviceId: string): boolean {
    return this.links.has(deviceId) || this.cluster?.nodeOf(deviceId) != null;
  }

  /** In a cluster: the node the device's agent is connected to (this one included); null when offline or alone. */
  nodeOfDevice(deviceId: string): string | null {
    if (!this.cluster) return null;
    return this.links.has(deviceId) ? this.cluster.self : this.cluster.nodeOf(deviceId);
  }

  /** Connected to this node. */
  isLocal(deviceId: string): boolean {
    return this.links.has(deviceId);
  }

  /** When the device's agent authenticated on this node (ms), or null. */
  localSince(deviceId: string): number | null {
    return this.links.get(deviceId)?.since ?? null;
  }

  /** What the hello of the device's agent connected here said, or null. */
  helloInfo(deviceId: string): DeviceInfo | null {
    return this.links.get(deviceId)?.info ?? null;
  }

  /** The devices whose agents are connected to this node. */
  localDevices(): string[] {
    return [...this.links.keys()];
  }

  /** Agents connected to this node. */
  onlineCount(): number {
    return this.links.size;
  }

  /** Takes a freshly upgraded agent WebSocket through authentication. */
  accept(ws: WebSocket, remote: string): void {
    const nonce = randomBytes(32).toString('base64url');
    let link: AgentLink | null = null;
    const helloTimer = setTimeout(() => {
      this.log.warn('agent did not authenticate in time', { remote });
      ws.close(4001, 'authentication timeout');
    }, HELLO_TIMEOUT_MS);
    send(ws, { t: 'challenge', nonce });

    ws.on('message', (data, isBinary) => {
      if (!link && (data as Buffer).length > PRE_AUTH_MAX_BYTES) {
        // Before its hello an agent has nothing big to say: an unauthenticated peer cannot make the service
        // parse megabytes (deeply nested JSON costs ~0.5 µs per level to parse).
        this.authFailed.fire(remote);
        ws.close(1009, 'authenticate first (hello)');
        return;
      }
      if (link) link.heardAt = Date.now();
      if (isBinary) {
        if (link) this.routeData(link, data as Buffer);
        else send(ws, { t: 'error', message: 'authenticate first (hello)' });
        return;
      }
      const parsed = parseFrame(fromAgent, data.toString());
      if (!parsed.ok) {
        this.log.warn('bad frame from agent', { remote, error: parsed.error });
        send(ws, { t: 'error', message: parsed.error });
        return;
      }
      const frame = parsed.value;
      if (!link) {
        if (frame.t !== 'hello') {
          send(ws, { t: 'error', message: 'authenticate first (hello)' });
          ws.close(4001, 'not authenticated');
          return;
        }
        link = this.authenticate(ws, frame, nonce, remote);
        clearTimeout(helloTimer);
        return;
      }
      this.route(link, frame);
    });
    ws.on('pong', () => {
      if (link) {
        link.alive = true;
        link.heardAt = Date.now();
      }
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (link && this.links.get(link.deviceId) === link) {
        this.links.delete(link.deviceId);
        this.store.touchDevice(link.deviceId);
        this.log.info('agent offline', { deviceId: link.deviceId });
        this.cluster?.localPresence(link.deviceId, false, link.since);
        this.failJobsOf(link.deviceId, (entry) => entry.via === undefined);
        // It may be online on another node already (moved): then it is not offline for the sessions.
        if (!this.isOnline(link.deviceId)) this.emit('presence', link.deviceId, false);
      }
    });
    ws.on('error', () => ws.terminate());
  }

  private authenticate(
    ws: WebSocket,
    hello: Extract<FromAgent, { t: 'hello' }>,
    nonce: string,
    remote: string,
  ): AgentLink | null {
    const device = this.store.getDevice(hello.deviceId);
    let ok = false;
    if (device) {
      try {
        ok = verify(
          null,
          Buffer.from(agentAuthPayload(nonce, hello.deviceId)),
          createPublicKey(device.publicKey),
          Buffer.from(hello.signature, 'base64'),
        );
      } catch {
        ok = false;
      }
    }
    if (!device || !ok) {
      this.log.warn('agent authentication failed', { remote, deviceId: hello.deviceId });
      this.authFailed.fire(remote);
      send(ws, { t: 'error', message: 'authentication failed' });
      ws.close(4003, 'authentication failed');
      return null;
    }
    const previous = this.links.get(device.id);
    if (previous) previous.ws.close(4009, 'replaced by a newer connection');
    const link: AgentLink = {
      deviceId: device.id,
      ws,
      platform: hello.info.platform,
      alive: true,
      since: Date.now(),
      heardAt: Date.now(),
      dropped: 0,
      info: hello.info,
    };
    this.links.set(device.id, link);
    // Host name, OS, version, isolation: the name in the hello is ignored (fixed at enrollment, admins rename).
    this.store.updateDeviceInfo(device.id, hello.info);
    send(ws, { t: 'welcome', deviceId: device.id });
    this.log.info('agent online', { deviceId: device.id, deviceName: device.name, remote });
    // Jobs sent through another node for this device cannot finish: the agent left that node.
    this.failJobsOf(device.id, (entry) => entry.via !== undefined);
    this.cluster?.localPresence(device.id, true, link.since);
    this.emit('presence', device.id, true);
    return link;
  }

  private routeData(link: AgentLink, frame: Buffer): void {
    const d = decodeDataFrame(frame);
    if ('error' in d) {
      send(link.ws, { t: 'error', message: d.error });
      return;
    }
    const entry = this.sinks.get(d.jobId);
    if (!entry || entry.deviceId !== link.deviceId) return this.drop(link, 'data', d.jobId, entry !== undefined);
    stage(d.jobId, 'svc.recv');
    entry.sink.onData(frame, d.payload.length);
  }

  /**
   * A frame naming a job or session that was not routed to this agent (another device's, or one that ended):
   * dropped. Logged for the first few and then every 1000th, so a misbehaving agent cannot flood the log.
   */
  private drop(link: AgentLink, kind: string, ref: string, otherDevice: boolean): void {
    link.dropped++;
    if (link.dropped <= 5 || link.dropped % 1000 === 0) {
      this.log.warn(
        otherDevice
          ? "agent frame dropped: another device's job or session"
          : 'agent frame dropped: no such job or session of this device',
        {
          deviceId: link.deviceId,
          frame: kind,
          ref,
          dropped: link.dropped,
        },
      );
    }
  }

  /** Remembers (or forgets, level off) the session that set the trace level of a device's agent. */
  private noteTraceLevel(deviceId: string, frame: ToAgent): void {
    if (frame.t !== 'trace.level') return;
    let set = this.traced.get(deviceId);
    if (frame.level === 'off') {
      set?.delete(frame.sessionId);
      if (set?.size === 0) this.traced.delete(deviceId);
      return;
    }
    if (!set) this.traced.set(deviceId, (set = new Set()));
    set.delete(frame.sessionId);
    set.add(frame.sessionId);
    if (set.size > MAX_TRACED_SESSIONS) set.delete(set.values().next().value as string);
  }

  /** Whether some device other than this one has the session (for the log line only). */
  private tracedElsewhere(deviceId: string, sessionId: string): boolean {
    for (const [d, set] of this.traced) if (d !== deviceId && set.has(sessionId)) return true;
    return false;
  }

  private route(link: AgentLink, frame: FromAgent): void {
    switch (frame.t) {
      case 'job.records':
      case 'job.text':
      case 'job.end': {
        const entry = this.sinks.get(frame.jobId);
        // A job id belongs to one device: an agent cannot write into another device's jobs.
        if (!entry || entry.deviceId !== link.deviceId)
          return this.drop(link, frame.t, frame.jobId, entry !== undefined);
        stage(frame.jobId, `svc.${frame.t}`);
        if (frame.t === 'job.records') entry.sink.onRecords(JSON.stringify(frame.records));
        else if (frame.t === 'job.text') entry.sink.onText(frame.text, frame.text.length);
        else {
          this.sinks.delete(frame.jobId);
          entry.sink.onEnd(frame.status, frame.error, frame.cwd);
        }
        return;
      }
      case 'trace': {
        // A session's console shows only its own device's trace lines: another agent cannot write into it.
        if (!this.traced.get(link.deviceId)?.has(frame.sessionId))
          return this.drop(link, 'trace', frame.sessionId, this.tracedElsewhere(link.deviceId, frame.sessionId));
        const owner = this.controller.get(link.deviceId);
        if (owner && this.cluster)
          this.cluster.toJobOwner(owner, '-', {
            type: 'trace',
            sessionId: frame.sessionId,
            level: frame.level,
            message: frame.message,
            time: frame.time,
          });
        else this.emit('trace', frame.sessionId, frame.level, frame.message, frame.time);
        return;
      }
      case 'update.status':
        this.emit('update', link.deviceId, frame);
        return;
      case 'error':
        this.log.warn('agent reported an error', { deviceId: link.deviceId, message: frame.message });
        return;
      case 'hello':
        send(link.ws, { t: 'error', message: 'already authenticated' });
        return;
    }
  }

  /** Sends a job to its agent (here or through the node holding it); false when the device is offline. */
  dispatch(deviceId: string, job: Extract<ToAgent, { t: 'job.start' }>, sink: JobSink): boolean {
    const link = this.links.get(deviceId);
    if (link) {
      this.controller.delete(deviceId); // a session on this node drives the device now: its traces stay here
      this.sinks.set(job.jobId, { deviceId, sink });
      send(link.ws, job);
      return true;
    }
    const node = this.cluster?.nodeOf(deviceId);
    if (!node || !this.cluster) return false;
    this.sinks.set(job.jobId, { deviceId, sink, via: node });
    this.cluster.toAgent(node, deviceId, job);
    return true;
  }

  sendTo(deviceId: string, frame: ToAgent): boolean {
    this.noteTraceLevel(deviceId, frame);
    const link = this.links.get(deviceId);
    if (link) {
      send(link.ws, frame);
      return true;
    }
    const node = this.cluster?.nodeOf(deviceId);
    if (!node || !this.cluster) return false;
    this.cluster.toAgent(node, deviceId, frame);
    return true;
  }

  /**
   * A frame another node sends to an agent connected here. A job.start gets a sink that sends the job's
   * output back to that node; when the agent is not here (it moved, or went offline) the job ends at once.
   */
  fromOtherNode(from: string, deviceId: string, frame: ToAgent): void {
    const link = this.links.get(deviceId);
    if (frame.t === 'job.start') {
      if (!link) {
        this.cluster?.toJobOwner(from, frame.jobId, {
          type: 'end',
          status: 'failed',
          error: 'the device went offline (it left the node holding it)',
        });
        return;
      }
      this.controller.set(deviceId, from);
      const out = (o: RemoteOutput) => this.cluster?.toJobOwner(from, frame.jobId, o);
      const proxy: JobSink = {
        onData: (f, bytes) => out({ type: 'data', frame: f, bytes }),
        onRecords: (json) => out({ type: 'records', json }),
        onText: (text) => out({ type: 'text', text }),
        onEnd: (status, error, cwd) => out({ type: 'end', status, error, cwd }),
      };
      this.sinks.set(frame.jobId, { deviceId, sink: proxy, owner: from });
    } else if (frame.t === 'trace.level') {
      this.controller.set(deviceId, from);
      this.noteTraceLevel(deviceId, frame);
    } else if (frame.t === 'job.ack' || frame.t === 'job.cancel') {
      // Only the node a job came from may steer it.
      const entry = this.sinks.get(frame.jobId);
      if (!entry || entry.owner !== from || entry.deviceId !== deviceId) return;
    }
    if (link) send(link.ws, frame);
  }

  /** A job's output coming back from the node holding its agent (only that node may write into it). */
  fromAgentNode(from: string, jobId: string, o: RemoteOutput): void {
    if (o.type === 'trace') {
      this.emit('trace', o.sessionId, o.level, o.message, o.time);
      return;
    }
    const entry = this.sinks.get(jobId);
    if (!entry || entry.via !== from) return;
    switch (o.type) {
      case 'data':
        entry.sink.onData(o.frame, o.bytes);
        return;
      case 'records':
        entry.sink.onRecords(o.json);
        return;
      case 'text':
        entry.sink.onText(o.text, o.text.length);
        return;
      case 'end':
        this.sinks.delete(jobId);
        entry.sink.onEnd(o.status, o.error, o.cwd);
        return;
    }
  }

  /**
   * Another node's view of a device changed (cluster mode): `node` holds it now, or nobody (null). Jobs sent
   * through any other node fail (the agent left it), and sessions here are told whether it is online.
   */
  remotePresence(deviceId: string, node: string | null): void {
    this.failJobsOf(deviceId, (entry) => entry.via !== undefined && entry.via !== node);
    if (!this.links.has(deviceId)) this.emit('presence', deviceId, node !== null);
  }

  /** A node died: the jobs it asked this node's agents to run are cancelled (nobody reads their output). */
  nodeDown(node: string): void {
    for (const [jobId, entry] of this.sinks) {
      if (entry.owner === node) {
        this.sinks.delete(jobId);
        const link = this.links.get(entry.deviceId);
        if (link) send(link.ws, { t: 'job.cancel', jobId, reason: 'session_closed' });
      } else if (entry.via === node) {
        this.sinks.delete(jobId);
        entry.sink.onEnd('failed', `the service node holding the device (${node}) stopped answering`, undefined);
      }
    }
    for (const [deviceId, owner] of this.controller) if (owner === node) this.controller.delete(deviceId);
  }

  /** Closes this node's link of a device that connected more recently to another node. */
  dropReplaced(deviceId: string, node: string): void {
    const link = this.links.get(deviceId);
    if (link) link.ws.close(4009, `replaced by a newer connection on node ${node}`);
  }

  /** Jobs of an agent that went away cannot finish: they fail with a clear reason. */
  private failJobsOf(deviceId: string, which: (entry: SinkEntry) => boolean = () => true): void {
    for (const [jobId, entry] of this.sinks) {
      if (entry.deviceId !== deviceId || !which(entry)) continue;
      this.sinks.delete(jobId);
      entry.sink.onEnd('failed', 'the device went offline while the command ran', undefined);
    }
  }

  /** Forgets a job whose end the service decided itself (e.g. the agent never answered a cancel). */
  forget(jobId: string): void {
    this.sinks.delete(jobId);
  }

  close(): void {
    clearInterval(this.pinger);
    // Forget the links first: their sockets' close events then leave the store alone (it closes next).
    const links = [...this.links.values()];
    this.links.clear();
    for (const link of links) {
      this.store.touchDevice(link.deviceId);
      link.ws.close(1001, 'service shutting down');
    }
  }
}

export function send(ws: WebSocket, frame: unknown, cb?: (err?: Error) => void): void {
  if (ws.readyState !== ws.OPEN) {
    cb?.(new Error('socket closed'));
    return;
  }
  ws.send(JSON.stringify(frame), cb);
}
