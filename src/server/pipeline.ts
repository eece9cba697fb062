/**
 * The command pipeline, shared by every client (console, CLI, REST): parse → authorize → record durably
 * in the command log → dispatch to the agent as a job (or answer in the service) → stream output back
 * with backpressure → complete with a status. Every refusal is one line and is logged too.
 */
import { nowUs, stage } from '../node/stage-trace.js';
import {
  CATALOG,
  findCommand,
  platformRefusal,
  roleAllows,
  tableFieldsFor,
  type CommandSpec,
} from '../shared/commands/catalog.js';
import { parseLine } from '../shared/commands/grammar.js';
import { bindParams } from '../shared/commands/bind.js';
import type { ParsedLine, BoundParams } from '../shared/commands/grammar-types.js';
import { TRANSFER_WINDOW_BYTES, type JobStatus, type ToAgent, type ToClient } from '../shared/wire/protocol.js';
import { newId } from '../node/ids.js';
import type { Limits } from './config.js';
import type { AgentHub, JobSink } from './agent-hub.js';
import type { Store } from './store.js';
import { OutputLog } from './output-log.js';
import type { ConsolePeer, Job, Session, SessionManager } from './sessions.js';
import { runServiceCommand } from './service-commands.js';
import { escapeControlChars } from '../shared/commands/format.js';
import { describeError } from '../shared/errors.js';

/**
 * Errors are shown as one line: device- or user-supplied text inside them cannot break it or drive a terminal.
 * Unlike format's oneLine, spaces inside a line are kept as they are (a path in the message may hold several).
 */
function consoleLine(message: string): string {
  return escapeControlChars(message.replace(/\s*\n\s*/g, ' ')).slice(0, 1000);
}

/** Unacknowledged bytes queued towards a console above which the agent is not acked (it then pauses). */
/** Path completion's listing: `dir [folder] -output json`, in the foreground, not redirected. */
export function isCompletionProbe(spec: CommandSpec, parsed: ParsedLine): boolean {
  return spec.name === 'dir' && parsed.output === 'json' && !parsed.background && !parsed.redirect;
}

const CONSOLE_HIGH_WATER = 512 * 1024;
/**
 * A file transfer's console may fall this far behind before acks to the agent wait: half the transfer window,
 * so that the console's socket never runs dry while an ack waits for the next check (the 512 KiB of text
 * output would drain in a fraction of the 20 ms between checks at disk speed, and the transfer would stall).
 */
const TRANSFER_CONSOLE_HIGH_WATER = TRANSFER_WINDOW_BYTES / 2;
/** How often a held-back ack checks the console's socket again: sooner for a transfer, which is waiting on it. */
const ACK_RETRY_MS = 20;
const TRANSFER_ACK_RETRY_MS = 5;
/** Grace given to an agent to confirm a cancel before the service ends the job itself. */
const CANCEL_GRACE_MS = 10_000;

type JobStartFrame = Extract<ToAgent, { t: 'job.start' }>;

export interface SubmitResult {
  commandId: string;
  status: JobStatus;
}

/**
 * Prepares an agent command before dispatch: may refuse it (one-line message) or add service-side
 * parameters the agent needs (e.g. a library file's hash, signature and a one-time download token).
 * Extra parameter names start with `_` so they can never come from a command line.
 */
export type JobPreparer = (ctx: {
  user: Session['user'];
  session: Session;
  jobId: string;
  params: BoundParams;
}) => { refuse: string } | { params: BoundParams };

export class Pipeline {
  private readonly preparers = new Map<string, JobPreparer>();
  private readonly finishers: Array<(job: Job, status: JobStatus) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly sessions: SessionManager,
    private readonly limits: () => Limits,
    /** Signs every job.start before it leaves for the agent (command-signing.ts). */
    private readonly signJob: (frame: JobStartFrame, session: Session) => JobStartFrame,
  ) {}

  /** Registers the preparer of one agent command (see JobPreparer). */
  prepare(command: string, preparer: JobPreparer): void {
    this.preparers.set(command, preparer);
  }

  /** Called when a command ends (any status), after it is recorded (e.g. isolate sets the device's flag). */
  onFinished(fn: (job: Job, status: JobStatus) => void): void {
    this.finishers.push(fn);
  }

  /** Records a refusal in the command log and tells the console, in one line. */
  refuse(
    peer: ConsolePeer,
    session: Session | null,
    line: string,
    name: string,
    rawMessage: string,
    reqId?: number,
  ): SubmitResult {
    const id = newId();
    const message = consoleLine(rawMessage);
    name = name.slice(0, 64);
    this.store.insertCommand({
      id,
      sessionId: session?.id ?? null,
      userId: peer.user.id,
      deviceId: session?.device.id ?? null,
      commandLine: line,
      name: name || '?',
      status: 'refused',
      background: false,
      error: message,
    });
    peer.send({ t: 'command.started', reqId, commandId: id, name: name || '?', background: false });
    peer.send({ t: 'command.end', commandId: id, status: 'refused', error: message, durationMs: 0 });
    return { commandId: id, status: 'refused' };
  }

  /**
   * `internal`: the console runs this for itself (path completion). Only a plain folder listing may be, so
   * that nothing that changes the device or reads a file can be hidden from `jobs` by a client.
   */
  submit(peer: ConsolePeer, session: Session, line: string, reqId?: number, internal = false): SubmitResult {
    const submittedAt = nowUs();
    session.touch();
    let parsed: ParsedLine;
    try {
      parsed = parseLine(line);
    } catch (e) {
      return this.refuse(peer, session, line, line.trim().split(/\s+/)[0] ?? '', describeError(e), reqId);
    }
    const spec = findCommand(parsed.name);
    if (!spec)
      return this.refuse(
        peer,
        session,
        line,
        parsed.name,
        `${parsed.name}: unknown command (type help for the list)`,
        reqId,
      );
    if (!roleAllows(peer.user.role, spec.role)) {
      return this.refuse(
        peer,
        session,
        line,
        spec.name,
        `${spec.name}: refused: needs the ${spec.role} role (you are ${peer.user.role})`,
        reqId,
      );
    }
    const notHere = platformRefusal(spec, session.device.platform);
    if (notHere) return this.refuse(peer, session, line, spec.name, notHere, reqId);
    let params: BoundParams;
    try {
      params = bindParams(spec, parsed);
    } catch (e) {
      return this.refuse(peer, session, line, spec.name, describeError(e), reqId);
    }
    if (spec.side === 'client') {
      return this.refuse(
        peer,
        session,
        line,
        spec.name,
        `${spec.name}: handled by the console itself, not by the service`,
        reqId,
      );
    }
    if (internal && !isCompletionProbe(spec, parsed)) {
      return this.refuse(
        peer,
        session,
        line,
        spec.name,
        `${spec.name}: only a folder listing (dir … -output json) can run as the console's internal probe`,
        reqId,
      );
    }

    const preparer = spec.side === 'agent' ? this.preparers.get(spec.name) : undefined;
    const jobId = newId();
    if (preparer) {
      const prepared = preparer({ user: peer.user, session, jobId, params });
      if ('refuse' in prepared) return this.refuse(peer, session, line, spec.name, prepared.refuse, reqId);
      params = prepared.params;
    }

    const job = this.newJob(jobId, session, spec, line, parsed.background, peer);
    stage(job.id, 'svc.submit', submittedAt);
    stage(job.id, 'svc.checked');
    // An agent command is logged `running` before it is dispatched: one durable write before the device sees it,
    // not two (a dispatch that fails ends it `failed` at once, in the same way).
    this.store.insertCommand({
      id: job.id,
      sessionId: session.id,
      userId: peer.user.id,
      deviceId: session.device.id,
      commandLine: line,
      name: spec.name,
      status: spec.side === 'agent' ? 'running' : 'pending',
      background: parsed.background,
      internal,
    });
    stage(job.id, 'svc.logged');
    peer.send({
      t: 'command.started',
      reqId,
      commandId: job.id,
      name: spec.name,
      background: parsed.background,
      output: parsed.output,
      redirect: parsed.redirect,
      fields: spec.fields ? [...spec.fields] : undefined,
      tableFields: tableFieldsFor(spec, parsed.output),
    });

    if (spec.side === 'service') {
      session.jobs.set(job.id, job);
      job.status = 'running';
      const ctx = {
        store: this.store,
        hub: this.hub,
        sessions: this.sessions,
        pipeline: this,
        peer,
        session,
        job,
        params,
        parsed,
      };
      runServiceCommand(spec.name, ctx)
        .then((r) => this.finish(job, r.status, r.error, undefined))
        .catch((e: Error) => this.finish(job, 'failed', `${spec.name}: ${e.message}`, undefined));
      return { commandId: job.id, status: 'running' };
    }
    return this.dispatch(job, params);
  }

  private newJob(
    id: string,
    session: Session,
    spec: CommandSpec,
    line: string,
    background: boolean,
    peer: ConsolePeer,
  ): Job {
    return {
      id,
      session,
      spec,
      commandLine: line,
      startedAt: Date.now(),
      status: 'pending',
      background,
      attached: background ? null : peer,
      output: new OutputLog(this.limits().logOutputBytes),
      replay: [],
      replayBytes: 0,
      pendingAck: 0,
    };
  }

  timeLimitMs(spec: CommandSpec): number {
    const l = this.limits();
    // Whole milliseconds: the job.start frame carries an integer.
    return Math.max(1, Math.round((spec.timeLimitMinutes > 10 ? l.longCommandTimeoutSec : l.commandTimeoutSec) * 1000));
  }

  private dispatch(job: Job, params: BoundParams): SubmitResult {
    const { session } = job;
    const limit = this.timeLimitMs(job.spec);
    const sink: JobSink = {
      onData: (frame, bytes) => {
        job.session.touch();
        job.session.peer.sendBinary(frame);
        stage(job.id, 'svc.sent');
        job.pendingAck += bytes;
        this.flushAck(job);
      },
      onRecords: (json) => {
        // The log keeps each batch as one JSON array per line; the console frame reuses the same JSON.
        job.output.append(json + '\n');
        this.deliver(job, `{"t":"command.records","commandId":"${job.id}","records":${json}}`, json.length);
      },
      onText: (text, bytes) => {
        job.output.append(text);
        this.deliver(job, JSON.stringify({ t: 'command.text', commandId: job.id, text } satisfies ToClient), bytes);
      },
      onEnd: (status, error, cwd) => {
        if (cwd && status === 'completed') session.cwd = cwd;
        this.finish(job, status, error, cwd);
      },
    };
    session.jobs.set(job.id, job);
    const frame: JobStartFrame = {
      t: 'job.start',
      jobId: job.id,
      sessionId: session.id,
      command: job.spec.name,
      params,
      cwd: session.cwd,
      timeLimitMs: limit,
    };
    const signed = this.signJob(frame, session);
    stage(job.id, 'svc.signed');
    const sent = this.hub.dispatch(session.device.id, signed, sink);
    stage(job.id, 'svc.dispatched');
    if (!sent) {
      this.finish(job, 'failed', `${job.spec.name}: ${session.device.name} is offline`, undefined);
      return { commandId: job.id, status: 'failed' };
    }
    job.status = 'running';
    job.timer = setTimeout(() => this.expire(job), limit);
    return { commandId: job.id, status: 'running' };
  }

  /** Time limit reached: cancel on the agent; if it never confirms, end the job here. */
  private expire(job: Job): void {
    if (job.status !== 'running') return;
    this.hub.sendTo(job.session.device.id, { t: 'job.cancel', jobId: job.id, reason: 'timed_out' });
    job.timer = setTimeout(() => {
      this.hub.forget(job.id);
      this.finish(
        job,
        'timed_out',
        `${job.spec.name}: timed out after ${Math.round(this.timeLimitMs(job.spec) / 1000)} s (the agent did not confirm the cancel)`,
        undefined,
      );
    }, CANCEL_GRACE_MS);
  }

  cancel(peer: ConsolePeer, commandId: string): void {
    const job = this.findJob(commandId);
    if (!job || job.session.user.id !== peer.user.id) {
      peer.send({ t: 'error', code: 'not_found', message: `cancel: no running command ${commandId} in your sessions` });
      return;
    }
    if (job.status !== 'running') return;
    if (job.spec.side === 'service') return; // service commands finish at once
    this.hub.sendTo(job.session.device.id, { t: 'job.cancel', jobId: job.id, reason: 'cancelled' });
    clearTimeout(job.timer);
    job.timer = setTimeout(() => {
      this.hub.forget(job.id);
      this.finish(job, 'cancelled', `${job.spec.name}: cancelled (the agent did not confirm)`, undefined);
    }, CANCEL_GRACE_MS);
  }

  /** Ctrl+Z: the job goes on in the background. */
  detach(peer: ConsolePeer, commandId: string): void {
    const job = this.findJob(commandId);
    if (!job || job.attached !== peer) return;
    job.attached = null;
    job.background = true;
    this.store.setCommandBackground(job.id, true);
    this.flushAck(job);
    peer.send({
      t: 'command.end',
      commandId: job.id,
      status: job.status,
      durationMs: Date.now() - job.startedAt,
      background: true,
    });
  }

  /** `fg`: replays what the job printed so far and streams the rest to this console. */
  attach(peer: ConsolePeer, job: Job, reqId?: number): void {
    job.attached = peer;
    job.background = false;
    this.store.setCommandBackground(job.id, false);
    peer.send({
      t: 'command.started',
      reqId,
      commandId: job.id,
      name: job.spec.name,
      background: false,
      fields: job.spec.fields ? [...job.spec.fields] : undefined,
      tableFields: tableFieldsFor(job.spec, undefined),
    });
    for (const f of job.replay) peer.sendRaw(f);
  }

  findJob(commandId: string): Job | undefined {
    for (const s of this.sessions.all()) {
      const j = s.jobs.get(commandId);
      if (j) return j;
    }
    return undefined;
  }

  /** Sends output to the attached console and acknowledges the agent once the console keeps up. */
  private deliver(job: Job, frame: string, bytes: number): void {
    job.session.touch();
    if (job.replayBytes < this.limits().logOutputBytes) {
      job.replay.push(frame);
      job.replayBytes += bytes;
    }
    // A file transfer's records go to its console even in the background: the client writes the file.
    const to = job.attached ?? (job.spec.streamsFile && !job.session.closed ? job.session.peer : null);
    to?.sendRaw(frame);
    job.pendingAck += bytes;
    this.flushAck(job);
  }

  /** Acks the agent once the session's console drains (the console's socket is the slow hop to wait for). */
  private flushAck(job: Job): void {
    if (job.ackTimer || job.pendingAck === 0) return;
    const peer = job.attached ?? (job.spec.streamsFile ? job.session.peer : null);
    const transfer = job.spec.streamsFile === true;
    if (peer && peer.bufferedAmount() > (transfer ? TRANSFER_CONSOLE_HIGH_WATER : CONSOLE_HIGH_WATER)) {
      job.ackTimer = setTimeout(
        () => {
          job.ackTimer = undefined;
          this.flushAck(job);
        },
        transfer ? TRANSFER_ACK_RETRY_MS : ACK_RETRY_MS,
      );
      return;
    }
    this.hub.sendTo(job.session.device.id, { t: 'job.ack', jobId: job.id, bytes: job.pendingAck });
    job.pendingAck = 0;
  }

  finish(job: Job, status: JobStatus, rawError: string | undefined, cwd: string | undefined): void {
    if (job.status !== 'running' && job.status !== 'pending') return;
    const error = rawError === undefined ? undefined : consoleLine(rawError);
    clearTimeout(job.timer);
    clearTimeout(job.ackTimer);
    job.status = status;
    const durationMs = Date.now() - job.startedAt;
    stage(job.id, 'svc.finish');
    this.store.finishCommand(job.id, {
      status,
      error,
      durationMs,
      output: job.output.text(),
      outputSize: job.output.size,
      outputSha256: job.output.digest(),
      truncated: job.output.truncated,
    });
    stage(job.id, 'svc.sealed');
    job.session.touch();
    const end: ToClient = {
      t: 'command.end',
      commandId: job.id,
      status,
      error,
      durationMs,
      cwd: cwd ?? job.session.cwd,
      background: job.background || undefined,
    };
    if (job.attached) job.attached.send(end);
    else if (!job.session.closed) job.session.peer.send(end); // a background job's end is announced to its console
    stage(job.id, 'svc.end-sent');
    job.replay = [];
    for (const fn of this.finishers) {
      try {
        fn(job, status);
      } catch {
        /* a hook never breaks the pipeline */
      }
    }
  }

  /** Lists the catalog entries this user may run on this session's device. */
  availableCommands(session: Session): CommandSpec[] {
    return CATALOG.filter(
      (c) => roleAllows(session.user.role, c.role) && c.platforms.includes(session.device.platform as 'linux'),
    );
  }
}
