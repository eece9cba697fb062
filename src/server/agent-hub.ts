/**
 * The agents' side of the service: authenticates each agent link (challenge signed with the device's
 * Ed25519 key), tracks presence, dispatches jobs and routes their output to whoever registered for it.
 */
import { randomBytes, verify, createPublicKey } from 'node:crypto';
import type { WebSocket } from 'ws';
import { EventEmitter } from 'node:events';
import { agentAuthPayload, decodeDataFrame, fromAgent, parseFrame, type FromAgent, type ToAgent } from '../shared/protocol.js';
import type { Store } from './store.js';
import type { Logger } from '../node/log.js';


/** Receives one job's output from its agent. */
export interface JobSink {
  /** A binary data frame of a file transfer, forwarded as is (`frame`), with its payload size. */
  onData(frame: Buffer, payloadBytes: number): void;
  /** A batch of records and its JSON (serialised once, reused for the log and the console). */
  onRecords(records: Record<string, unknown>[], json: string): void;
  onText(text: string, bytes: number): void;
  onEnd(status: 'completed' | 'failed' | 'cancelled' | 'timed_out', error: string | undefined, cwd: string | undefined): void;
}

interface AgentLink {
  deviceId: string;
  ws: WebSocket;
  platform: string;
  alive: boolean;
}

export interface AgentHubEvents {
  presence: [deviceId: string, online: boolean];
  trace: [sessionId: string, level: string, message: string, time: string];
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

export class AgentHub extends EventEmitter<AgentHubEvents> {
  private readonly links = new Map<string, AgentLink>();
  private readonly sinks = new Map<string, { deviceId: string; sink: JobSink }>();
  private readonly pinger: NodeJS.Timeout;

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

  /** Told of each failed agent authentication (the service's per-address rate limit, rate-limit.ts). */
  onAuthFailed: (remote: string) => void = () => undefined;

  isOnline(deviceId: string): boolean {
    return this.links.has(deviceId);
  }

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
        this.onAuthFailed(remote);
        ws.close(1009, 'authenticate first (hello)');
        return;
      }
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
      if (link) link.alive = true;
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (link && this.links.get(link.deviceId) === link) {
        this.links.delete(link.deviceId);
        this.store.touchDevice(link.deviceId);
        this.log.info('agent offline', { deviceId: link.deviceId });
        this.failJobsOf(link.deviceId);
        this.emit('presence', link.deviceId, false);
      }
    });
    ws.on('error', () => ws.terminate());
  }

  private authenticate(ws: WebSocket, hello: Extract<FromAgent, { t: 'hello' }>, nonce: string, remote: string): AgentLink | null {
    const device = this.store.getDevice(hello.deviceId);
    let ok = false;
    if (device) {
      try {
        ok = verify(null, Buffer.from(agentAuthPayload(nonce, hello.deviceId)), createPublicKey(device.publicKey), Buffer.from(hello.signature, 'base64'));
      } catch {
        ok = false;
      }
    }
    if (!device || !ok) {
      this.log.warn('agent authentication failed', { remote, deviceId: hello.deviceId });
      this.onAuthFailed(remote);
      send(ws, { t: 'error', message: 'authentication failed' });
      ws.close(4003, 'authentication failed');
      return null;
    }
    const previous = this.links.get(device.id);
    if (previous) previous.ws.close(4009, 'replaced by a newer connection');
    const link: AgentLink = { deviceId: device.id, ws, platform: hello.info.platform, alive: true };
    this.links.set(device.id, link);
    this.store.updateDeviceInfo(device.id, hello.info);
    send(ws, { t: 'welcome', deviceId: device.id });
    this.log.info('agent online', { deviceId: device.id, deviceName: hello.info.name, remote });
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
    if (!entry || entry.deviceId !== link.deviceId) return;
    entry.sink.onData(frame, d.payload.length);
  }

  private route(link: AgentLink, frame: FromAgent): void {
    switch (frame.t) {
      case 'job.records':
      case 'job.text':
      case 'job.end': {
        const entry = this.sinks.get(frame.jobId);
        // A job id belongs to one device: an agent cannot write into another device's jobs.
        if (!entry || entry.deviceId !== link.deviceId) return;
        if (frame.t === 'job.records') entry.sink.onRecords(frame.records, JSON.stringify(frame.records));
        else if (frame.t === 'job.text') entry.sink.onText(frame.text, frame.text.length);
        else {
          this.sinks.delete(frame.jobId);
          entry.sink.onEnd(frame.status, frame.error, frame.cwd);
        }
        return;
      }
      case 'trace':
        this.emit('trace', frame.sessionId, frame.level, frame.message, frame.time);
        return;
      case 'error':
        this.log.warn('agent reported an error', { deviceId: link.deviceId, message: frame.message });
        return;
      case 'hello':
        send(link.ws, { t: 'error', message: 'already authenticated' });
        return;
    }
  }

  /** Sends a job to its agent; false when the device is offline. */
  dispatch(deviceId: string, job: Extract<ToAgent, { t: 'job.start' }>, sink: JobSink): boolean {
    const link = this.links.get(deviceId);
    if (!link) return false;
    this.sinks.set(job.jobId, { deviceId, sink });
    send(link.ws, job);
    return true;
  }

  sendTo(deviceId: string, frame: ToAgent): boolean {
    const link = this.links.get(deviceId);
    if (!link) return false;
    send(link.ws, frame);
    return true;
  }

  /** Jobs of an agent that went away cannot finish: they fail with a clear reason. */
  private failJobsOf(deviceId: string): void {
    for (const [jobId, entry] of this.sinks) {
      if (entry.deviceId !== deviceId) continue;
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
