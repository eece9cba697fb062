/**
 * Runs jobs sent by the service: validates parameters with the command's schema, streams records and
 * text in batches under a credit window (the service acks what it has passed on; the job pauses when
 * too much is in flight), honours cancel and the time limit through an AbortSignal.
 */
import { stage } from '../node/stage-trace.js';
import type { z } from 'zod';
import {
  DATA_HEADER_MAX_BYTES,
  JOB_WINDOW_BYTES,
  MAX_CHUNK_CHARS,
  TRANSFER_WINDOW_BYTES,
  dataFrameHeader,
  type FromAgent,
  type ToAgent,
} from '../shared/wire/protocol.js';
import { MAX_TIME_LIMIT_MS } from '../shared/wire/command-signature.js';
import type { Logger, LogLevel } from '../node/log.js';
import { levelAllows } from '../node/log.js';
import { CommandError, type AgentCommand, type JobContext, type JobRecord, type TraceLevel } from './command.js';
import type { PlatformLayer } from './platform/types.js';
import { NotSupportedError } from './platform/types.js';
import { posix, win32 } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { describeError } from '../shared/errors.js';

type AbortReason = 'cancelled' | 'timed_out' | 'session_closed' | 'link_lost';

const FLUSH_BYTES = 128 * 1024;
const FLUSH_RECORDS = 1000;
const FLUSH_MS = 25;
/** The agent enforces the time limit too (slightly later than the service) in case the service is gone. */
const AGENT_LIMIT_GRACE_MS = 5_000;

/** How the runner reaches the service: JSON frames and binary data frames (sent as given, not copied). */
export interface AgentSender {
  frame(f: FromAgent): void;
  /** A frame already serialised (it must be a valid FromAgent). */
  raw(json: string): void;
  /** A whole binary data frame (protocol.ts: header then payload). */
  data(frame: Buffer): void;
}

/**
 * Chunks allocated by dataChunk(): their memory starts DATA_HEADER_MAX_BYTES before them, free for the frame header.
 */
const withHeadroom = new WeakSet<Buffer>();

/**
 * A buffer for `length` bytes of file data with room for the data frame header just before it: a command
 * that reads its file into it and sends it with sendData() has its frame assembled in place, without the copy
 * of every payload byte that gluing header and payload together costs (a whole file's worth per transfer).
 */
export function dataChunk(length: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(DATA_HEADER_MAX_BYTES + length);
  const chunk = whole.subarray(DATA_HEADER_MAX_BYTES);
  withHeadroom.add(chunk);
  return chunk;
}

/** The data frame for `chunk` at `offset`: written in place in the chunk's headroom when it has one, else a copy. */
function dataFrame(jobId: string, offset: number, chunk: Buffer): Buffer {
  const header = dataFrameHeader(jobId, offset);
  if (!withHeadroom.has(chunk) || chunk.byteOffset < header.length) return Buffer.concat([header, chunk]);
  const frame = Buffer.from(chunk.buffer, chunk.byteOffset - header.length, header.length + chunk.length);
  frame.set(header, 0);
  return frame;
}

class JobStream {
  private records: string[] = [];
  private recordBytes = 0;
  private unacked = 0;
  private window = JOB_WINDOW_BYTES;
  private waiters: (() => void)[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly jobId: string,
    private readonly sender: () => AgentSender,
    private readonly signal: AbortSignal,
  ) {}

  private send(f: FromAgent): void {
    this.sender().frame(f);
  }

  async data(offset: number, chunk: Buffer): Promise<void> {
    this.flushRecords();
    this.window = TRANSFER_WINDOW_BYTES; // a transfer keeps more in flight than text output
    this.unacked += chunk.length;
    const frame = dataFrame(this.jobId, offset, chunk);
    stage(this.jobId, 'agent.send');
    this.sender().data(frame);
    stage(this.jobId, 'agent.sent');
    await this.room();
  }

  async emit(record: JobRecord): Promise<void> {
    this.add(record);
    if (this.records.length > 0) this.arm();
    await this.room();
  }

  /**
   * Like emit() for each record in turn (same batches, same window), without a promise per record. After
   * each batch it lets the event loop turn (a TLS socket takes one write per turn: otherwise the batches
   * would leave together at the end) or, when the window is full, waits for room. Stops early when the
   * job is aborted.
   */
  async emitMany(records: readonly JobRecord[]): Promise<void> {
    for (const record of records) {
      if (this.signal.aborted) return;
      if (this.add(record)) await (this.unacked > this.window ? this.room() : yieldToLoop());
    }
    if (this.records.length > 0) this.arm();
  }

  /** Queues one record, sending the batch when it is full; true when a batch was sent. */
  private add(record: JobRecord): boolean {
    // Serialised once: the frame is assembled from these strings.
    let json = JSON.stringify(record);
    if (json.length > MAX_CHUNK_CHARS)
      json = JSON.stringify({ error: `record too large to send (${json.length} characters)` });
    let sent = false;
    if (this.recordBytes + json.length > FLUSH_BYTES) sent = this.flushRecords();
    this.records.push(json);
    this.recordBytes += json.length + 1;
    if (this.records.length >= FLUSH_RECORDS) sent = this.flushRecords() || sent;
    return sent;
  }

  async text(chunk: string): Promise<void> {
    this.flushRecords();
    for (let i = 0; i < chunk.length; i += MAX_CHUNK_CHARS) {
      const part = chunk.slice(i, i + MAX_CHUNK_CHARS);
      this.unacked += part.length;
      this.send({ t: 'job.text', jobId: this.jobId, text: part });
      await this.room();
    }
  }

  private arm(): void {
    if (!this.timer) this.timer = setTimeout(() => this.flushRecords(), FLUSH_MS);
  }

  /** Sends the queued records as one batch; false when there were none. */
  flushRecords(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.records.length === 0) return false;
    const batch = this.records.join(',');
    this.records = [];
    this.unacked += batch.length + 2;
    this.recordBytes = 0;
    // Same bytes as JSON.stringify({ t, jobId, records }) without serialising every record twice.
    this.sender().raw(`{"t":"job.records","jobId":${JSON.stringify(this.jobId)},"records":[${batch}]}`);
    return true;
  }

  /** Resolves when fewer than a window's worth of bytes await acknowledgement (or the job is aborted). */
  private room(): Promise<void> {
    if (this.unacked <= this.window || this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  ack(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes);
    if (this.unacked <= this.window) this.release();
  }

  release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

interface RunningJob {
  controller: AbortController;
  stream: JobStream;
  sessionId: string;
}

export class JobRunner {
  private readonly running = new Map<string, RunningJob>();
  private readonly traceLevels = new Map<string, TraceLevel>();

  constructor(
    private readonly commands: ReadonlyMap<string, AgentCommand>,
    private readonly platform: PlatformLayer,
    private readonly log: Logger,
    private sender: AgentSender,
    /** Where file commands find the agent's data folder and the service (see JobContext). */
    private readonly environment: Pick<JobContext, 'dataDir' | 'service'> = {},
    /** Checks a job.start before anything runs (command-verifier.ts): null to run, else the one-line refusal. */
    private readonly verify: (f: Extract<ToAgent, { t: 'job.start' }>) => string | null = () =>
      'refused by the agent: no command verifier',
  ) {
    // Trace lines of a session go to that session's console at the level it asked for.
    log.tap((level, msg, fields) => {
      const sessionId = fields.sessionId;
      if (typeof sessionId !== 'string') return;
      const wanted = this.traceLevels.get(sessionId);
      if (!wanted || wanted === 'off' || !levelAllows(wanted, level)) return;
      this.sender.frame({ t: 'trace', sessionId, level, message: msg.slice(0, 4000), time: new Date().toISOString() });
    });
  }

  setSender(sender: AgentSender): void {
    this.sender = sender;
  }

  handle(frame: ToAgent): void {
    switch (frame.t) {
      case 'job.start':
        void this.start(frame);
        return;
      case 'job.cancel':
        this.running.get(frame.jobId)?.controller.abort(frame.reason);
        return;
      case 'job.ack':
        this.running.get(frame.jobId)?.stream.ack(frame.bytes);
        return;
      case 'trace.level':
        if (frame.level === 'off') this.traceLevels.delete(frame.sessionId);
        else this.traceLevels.set(frame.sessionId, frame.level);
        this.log.info(`trace level ${frame.level}`, { sessionId: frame.sessionId });
        return;
      default:
        return;
    }
  }

  /** The link to the service dropped: nothing can be delivered, so running jobs stop. */
  linkLost(): void {
    for (const j of this.running.values()) j.controller.abort('link_lost');
    this.traceLevels.clear();
  }

  runningCount(): number {
    return this.running.size;
  }

  private async start(f: Extract<ToAgent, { t: 'job.start' }>): Promise<void> {
    const end = (
      status: 'completed' | 'failed' | 'cancelled' | 'timed_out' | 'refused',
      error?: string,
      cwd?: string,
    ) =>
      this.sender.frame({
        t: 'job.end',
        jobId: f.jobId,
        status,
        error: error?.replace(/\s*\n\s*/g, ' ').slice(0, 4000),
        cwd,
      });
    if (this.running.has(f.jobId)) return; // a duplicate of a running job: never a second run, never a second end
    stage(f.jobId, 'agent.start');
    const refusal = this.verify(f);
    stage(f.jobId, 'agent.verified');
    if (refusal) {
      this.log.warn('command refused', { jobId: f.jobId, command: f.command.slice(0, 64), reason: refusal });
      return end('failed', refusal);
    }
    const cmd = this.commands.get(f.command);
    if (!cmd) return end('failed', `${f.command}: not implemented by this agent (version too old?)`);
    const parsed = cmd.schema.safeParse(f.params);
    if (!parsed.success) {
      // A usage error: refused (exit 2 in lr), in the console's words rather than the schema library's.
      return end('refused', `${f.command}: ${describeParamIssue(parsed.error.issues[0])}`);
    }
    const controller = new AbortController();
    const stream = new JobStream(f.jobId, () => this.sender, controller.signal);
    controller.signal.addEventListener('abort', () => stream.release());
    this.running.set(f.jobId, { controller, stream, sessionId: f.sessionId });
    // The limit is signed (command-verifier.ts); clamped all the same, since setTimeout fires at once above 2^31-1 ms.
    const limit = setTimeout(() => controller.abort('timed_out'), agentTimeLimitMs(f.timeLimitMs));
    const log = this.log;
    const pathApi = this.platform.name === 'win32' ? win32 : posix;
    const ctx: JobContext = {
      cwd: f.cwd,
      signal: controller.signal,
      emit: (r) => stream.emit(r),
      emitMany: (rs) => stream.emitMany(rs),
      text: (t) => stream.text(t),
      sendData: (offset, chunk) => stream.data(offset, chunk),
      trace: (level: Exclude<LogLevel, never>, message: string) =>
        log[level](`${f.command}: ${message}`, { sessionId: f.sessionId, jobId: f.jobId }),
      platform: this.platform,
      resolvePath: (p) => pathApi.resolve(f.cwd, p),
      jobId: f.jobId,
      ...this.environment,
    };
    log.debug(`job ${f.jobId} start: ${f.command}`, { sessionId: f.sessionId, jobId: f.jobId });
    const t0 = Date.now();
    try {
      stage(f.jobId, 'agent.run');
      const result = await cmd.run(ctx, parsed.data);
      stage(f.jobId, 'agent.ran');
      stream.flushRecords();
      const reason = controller.signal.reason as AbortReason | undefined;
      if (controller.signal.aborted)
        end(reason === 'timed_out' ? 'timed_out' : 'cancelled', abortMessage(f.command, reason));
      else end('completed', undefined, result?.cwd);
      stage(f.jobId, 'agent.ended');
    } catch (e) {
      stream.flushRecords();
      const reason = controller.signal.reason as AbortReason | undefined;
      if (controller.signal.aborted)
        end(reason === 'timed_out' ? 'timed_out' : 'cancelled', abortMessage(f.command, reason));
      else if (e instanceof CommandError || e instanceof NotSupportedError)
        end(
          e instanceof CommandError && e.code === 'refused' ? 'refused' : 'failed',
          e.message.startsWith(`${f.command}:`) ? e.message : `${f.command}: ${e.message}`,
        );
      else {
        log.error(`job ${f.jobId} crashed`, { sessionId: f.sessionId, error: (e as Error).stack ?? String(e) });
        end('failed', `${f.command}: ${describeError(e)}`);
      }
    } finally {
      clearTimeout(limit);
      this.running.delete(f.jobId);
      log.debug(`job ${f.jobId} end after ${Date.now() - t0} ms`, { sessionId: f.sessionId, jobId: f.jobId });
    }
  }
}

/** When the agent stops a job itself: its signed time limit, at most MAX_TIME_LIMIT_MS, plus a grace period. */
export function agentTimeLimitMs(timeLimitMs: number): number {
  return Math.min(timeLimitMs, MAX_TIME_LIMIT_MS) + AGENT_LIMIT_GRACE_MS;
}

function abortMessage(command: string, reason: AbortReason | undefined): string {
  switch (reason) {
    case 'timed_out':
      return `${command}: timed out (time limit reached); stopped on the device`;
    case 'session_closed':
      return `${command}: cancelled because the session closed`;
    case 'link_lost':
      return `${command}: cancelled because the connection to the service was lost`;
    default:
      return `${command}: cancelled`;
  }
}

/** One parameter problem as a sentence in the console's words: "-pid must be 1 or more". */
export function describeParamIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid parameters';
  const name = issue.path.length ? `-${issue.path.map(String).join('.')}` : 'the parameters';
  switch (issue.code) {
    case 'too_small':
      return `${name} must be ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}${issue.origin === 'number' || issue.origin === 'int' ? '' : ' long'}`;
    case 'too_big':
      return `${name} must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}${issue.origin === 'number' || issue.origin === 'int' ? '' : ' long'}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `${name} is required`
        : `${name} must be ${issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `${name} must be one of ${issue.values.map(String).join(', ')}`;
    default:
      return `${name} is not valid`;
  }
}
