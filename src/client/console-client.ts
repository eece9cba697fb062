/**
 * The analyst's client of the service: REST calls and the console WebSocket (sessions and commands),
 * pinned to the profile's CA. Used by the `lr` CLI and by the workstation's main process.
 * With a cluster profile, calls and the console go to whichever node answers (service-nodes.ts).
 */
import { nowUs, stage } from '../node/stage-trace.js';
import WebSocket from 'ws';
import { EventEmitter } from 'node:events';
import {
  MAX_FRAME_BYTES,
  decodeDataFrame,
  parseFrame,
  toClient,
  type CommandLogRecord,
  type DeviceRecord,
  type JobStatus,
  type SessionInfo,
  type ToClient,
} from '../shared/wire/protocol.js';
import { httpsBase, wssBase, type Profile } from '../node/profile.js';
import { describeNetError, httpsJson } from '../node/https-json.js';
import { unmaskedFrames } from '../node/ws-options.js';
import { ServiceNodes, ServiceRefusal } from './service-nodes.js';

export class ServiceApi {
  private readonly nodes: ServiceNodes;

  constructor(
    private readonly profile: Profile,
    nodes?: ServiceNodes,
  ) {
    this.nodes = nodes ?? new ServiceNodes(profile);
  }

  private get<T>(path: string): Promise<T> {
    return this.nodes.use((url) =>
      httpsJson<T>(`${httpsBase(url)}${path}`, { ca: this.profile.ca, token: this.profile.token }),
    );
  }

  devices(): Promise<DeviceRecord[]> {
    return this.get('/api/v1/devices');
  }

  log(opts: { device?: string; batch?: string; limit?: number } = {}): Promise<CommandLogRecord[]> {
    const q = new URLSearchParams();
    if (opts.device) q.set('device', opts.device);
    if (opts.batch) q.set('batch', opts.batch);
    if (opts.limit) q.set('limit', String(opts.limit));
    return this.get(`/api/v1/log${q.size ? `?${q}` : ''}`);
  }
}

export interface CommandHandlers {
  onStarted?(f: Extract<ToClient, { t: 'command.started' }>): void;
  onRecords?(records: Record<string, unknown>[]): void;
  onText?(text: string): void;
  /** File bytes of a transfer (getfile), at `offset`; delivered in the background too. */
  onData?(offset: number, payload: Buffer): void;
  /** The command's end, also when it ran in the background. */
  onEnd?(outcome: CommandOutcome): void;
}

export interface CommandOutcome {
  commandId: string;
  status: JobStatus;
  error?: string;
  durationMs: number;
  cwd?: string;
  /** True when the command went on in the background (`&` or Ctrl+Z). */
  background: boolean;
}

interface Pending {
  /** When the command frame was sent (stage-trace.ts). */
  sentAt?: number;
  handlers: CommandHandlers;
  resolve(o: CommandOutcome): void;
  reject(e: Error): void;
  commandId?: string;
}

export interface ConsoleEvents {
  /** A background job ended (its output is in `status <id>`). */
  backgroundEnd: [f: Extract<ToClient, { t: 'command.end' }>];
  sessionClosed: [sessionId: string, reason: string];
  trace: [f: Extract<ToClient, { t: 'trace' }>];
  deviceState: [deviceId: string, online: boolean];
  disconnected: [reason: string];
  serviceError: [message: string];
}

export class ConsoleClient extends EventEmitter<ConsoleEvents> {
  private ws!: WebSocket;
  private reqSeq = 0;
  private readonly waiting = new Map<number, { resolve(v: ToClient): void; reject(e: Error): void }>();
  private readonly byReq = new Map<number, Pending>();
  private readonly byCommand = new Map<string, Pending>();
  /** Output handlers of every command still running, foreground or background. */
  private readonly streams = new Map<string, CommandHandlers>();
  user = '';
  role = '';
  /** The service node this console is connected to. */
  url = '';
  /** holdData() calls not yet released: while above 0 the socket is not read. */
  private holds = 0;

  /**
   * Opens the console on the first node that answers (`nodes` remembers which one worked, for the
   * caller's next connection). The console lives on that node: if it dies, the console ends
   * (`disconnected`) and reconnecting is the caller's decision.
   */
  static async connect(profile: Profile, nodes: ServiceNodes = new ServiceNodes(profile)): Promise<ConsoleClient> {
    const c = new ConsoleClient();
    await nodes.use((url) => c.open(profile, url));
    return c;
  }

  /**
   * Stops reading the service's frames until the returned function is called (each hold released once):
   * a download whose disk is slower than the network holds the console, the service's send buffer fills,
   * the service stops acknowledging and the agent stops reading the file. Nothing piles up in memory.
   */
  holdData(): () => void {
    if (this.holds++ === 0) this.ws.pause();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.ws.resume();
    };
  }

  private open(profile: Profile, serviceUrl: string): Promise<void> {
    const url = `${wssBase(serviceUrl)}/api/v1/console`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        ca: profile.ca,
        headers: { authorization: `Bearer ${profile.token}` },
        maxPayload: MAX_FRAME_BYTES * 4,
        handshakeTimeout: 10_000,
        ...unmaskedFrames,
      });
      this.ws = ws;
      let ready = false;
      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        const message =
          status === 401
            ? 'the service refused the API token in the profile (invalid, expired or revoked)'
            : `the service refused the console connection (HTTP ${status})`;
        // A node that cannot serve (5xx, e.g. a proxy in front of a dead node) is not a refusal: try the next.
        reject(status >= 500 ? new Error(message) : new ServiceRefusal(status, message));
        ws.terminate();
      });
      ws.on('error', (e) => {
        if (!ready) reject(Object.assign(describeNetError(e, serviceUrl), { cause: e }));
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          const d = decodeDataFrame(data as Buffer);
          if ('error' in d) this.emit('serviceError', d.error);
          else {
            stage(d.jobId, 'cli.recv');
            this.streams
              .get(d.jobId)
              ?.onData?.(d.offset, Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.length));
          }
          return;
        }
        const parsed = parseFrame(toClient, data.toString());
        if (!parsed.ok) {
          this.emit('serviceError', parsed.error);
          return;
        }
        const f = parsed.value;
        if (f.t === 'hello') {
          this.user = f.user;
          this.role = f.role;
          this.url = serviceUrl;
          ready = true;
          resolve();
          return;
        }
        this.dispatch(f);
      });
      ws.on('close', (code, reason) => {
        const why = reason.toString() || `connection closed (${code})`;
        // A node that closes before its hello failed the attempt (the next node is tried); nothing was open yet.
        if (!ready) {
          reject(new Error(`the service at ${new URL(serviceUrl).host} closed the console connection: ${why}`));
          return;
        }
        for (const w of this.waiting.values()) w.reject(new Error(`disconnected from the service: ${why}`));
        for (const p of new Set([...this.byReq.values(), ...this.byCommand.values()]))
          p.reject(new Error(`disconnected from the service: ${why}`));
        this.waiting.clear();
        this.byReq.clear();
        this.byCommand.clear();
        this.emit('disconnected', why);
      });
    });
  }

  private dispatch(f: ToClient): void {
    switch (f.t) {
      case 'session.opened':
      case 'error': {
        if (f.reqId !== undefined) {
          const w = this.waiting.get(f.reqId);
          if (w) {
            this.waiting.delete(f.reqId);
            if (f.t === 'error') w.reject(new Error(f.message));
            else w.resolve(f);
            return;
          }
          const p = this.byReq.get(f.reqId);
          if (p && f.t === 'error') {
            this.byReq.delete(f.reqId);
            p.reject(new Error(f.message));
            return;
          }
        }
        if (f.t === 'error') this.emit('serviceError', f.message);
        return;
      }
      case 'command.started': {
        const p = f.reqId !== undefined ? this.byReq.get(f.reqId) : undefined;
        if (p) {
          this.byReq.delete(f.reqId as number);
          p.commandId = f.commandId;
          stage(f.commandId, 'client.send', p.sentAt);
          stage(f.commandId, 'client.started');
          this.streams.set(f.commandId, p.handlers);
          p.handlers.onStarted?.(f);
          if (f.background) {
            // `&`: the prompt comes back at once; the end is announced later as a backgroundEnd event.
            p.resolve({ commandId: f.commandId, status: 'running', durationMs: 0, background: true });
          } else this.byCommand.set(f.commandId, p);
        } else {
          // `fg` re-attaches a background job: its frames go to whoever waits on the fg command's successor.
          const fgWaiter = this.fgWaiter;
          if (fgWaiter) {
            this.fgWaiter = undefined;
            fgWaiter.commandId = f.commandId;
            this.byCommand.set(f.commandId, fgWaiter);
            // A transfer brought back keeps its writer (its file records carry the size and the agent's hash);
            // only the start is shown by the new handlers.
            const previous = this.streams.get(f.commandId);
            this.streams.set(
              f.commandId,
              previous?.onData
                ? {
                    ...fgWaiter.handlers,
                    onRecords: previous.onRecords,
                    onData: previous.onData,
                    onEnd: previous.onEnd,
                  }
                : fgWaiter.handlers,
            );
            fgWaiter.handlers.onStarted?.(f);
          }
        }
        return;
      }
      case 'command.records':
        stage(f.commandId, 'client.records');
        this.streams.get(f.commandId)?.onRecords?.(f.records);
        return;
      case 'command.text':
        this.streams.get(f.commandId)?.onText?.(f.text);
        return;
      case 'command.end': {
        stage(f.commandId, 'client.end');
        const outcome: CommandOutcome = {
          commandId: f.commandId,
          status: f.status,
          error: f.error,
          durationMs: f.durationMs,
          cwd: f.cwd,
          background: f.background ?? false,
        };
        const p = this.byCommand.get(f.commandId);
        this.byCommand.delete(f.commandId);
        if (f.status === 'running') {
          // Ctrl+Z: the command goes on in the background; its handlers keep receiving a transfer's data.
          p?.resolve(outcome);
          return;
        }
        const handlers = this.streams.get(f.commandId);
        this.streams.delete(f.commandId);
        handlers?.onEnd?.(outcome);
        if (p) p.resolve(outcome);
        else if (!handlers?.onEnd) this.emit('backgroundEnd', f); // a transfer's owner announces its own end
        return;
      }
      case 'session.closed':
        this.emit('sessionClosed', f.sessionId, f.reason);
        return;
      case 'trace':
        this.emit('trace', f);
        return;
      case 'device.state':
        this.emit('deviceState', f.deviceId, f.online);
        return;
    }
  }

  private fgWaiter: Pending | undefined;

  private sendFrame(frame: unknown): void {
    if (this.ws.readyState !== this.ws.OPEN) throw new Error('not connected to the service');
    this.ws.send(JSON.stringify(frame));
  }

  async openSession(device: string): Promise<SessionInfo> {
    const reqId = ++this.reqSeq;
    const p = new Promise<ToClient>((resolve, reject) => this.waiting.set(reqId, { resolve, reject }));
    this.sendFrame({ t: 'session.open', reqId, device });
    const f = await p;
    if (f.t !== 'session.opened') throw new Error('unexpected answer to session.open');
    return f.session;
  }

  closeSession(sessionId: string): void {
    this.sendFrame({ t: 'session.close', reqId: ++this.reqSeq, sessionId });
  }

  /**
   * Runs one command line; resolves when it ends or goes to the background. `internal`: a probe the console
   * runs for itself (path completion's folder listing): logged and flagged, left out of `jobs`.
   */
  run(
    sessionId: string,
    line: string,
    handlers: CommandHandlers = {},
    opts: { internal?: boolean } = {},
  ): { outcome: Promise<CommandOutcome>; commandId(): string | undefined } {
    const reqId = ++this.reqSeq;
    let pending!: Pending;
    const outcome = new Promise<CommandOutcome>((resolve, reject) => {
      pending = { handlers, resolve, reject, sentAt: nowUs() };
    });
    this.byReq.set(reqId, pending);
    this.sendFrame({ t: 'command', reqId, sessionId, line, ...(opts.internal ? { internal: true } : {}) });
    return { outcome, commandId: () => pending.commandId };
  }

  /**
   * `fg <id>`: runs the fg command, then follows the job it brings to the foreground with `handlers`.
   * The follower is registered before the line is sent, because the job's frames may arrive in the same
   * network read as the end of the fg command itself.
   */
  async runFg(
    sessionId: string,
    line: string,
    handlers: CommandHandlers,
    fgHandlers: CommandHandlers = {},
  ): Promise<CommandOutcome> {
    let follower!: Pending;
    const followed = new Promise<CommandOutcome>((resolve, reject) => {
      follower = { handlers, resolve, reject };
    });
    this.fgWaiter = follower;
    const fg = await this.run(sessionId, line, fgHandlers).outcome;
    if (fg.status !== 'completed') {
      if (this.fgWaiter === follower) this.fgWaiter = undefined;
      return fg;
    }
    return followed;
  }

  cancel(commandId: string): void {
    this.sendFrame({ t: 'cancel', commandId });
  }

  detach(commandId: string): void {
    this.sendFrame({ t: 'detach', commandId });
  }

  /**
   * Stops reading the service socket (flow control of a slow consumer, e.g. the workstation's terminal):
   * frames wait in the socket buffers and the service's own backpressure slows the agent down.
   */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** The console connection is still up (it is gone after a service restart). */
  isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  close(): void {
    this.ws.close(1000, 'bye');
  }
}
