/**
 * Console sessions, one per device tab. Each session has its own ConsoleClient (its own WebSocket to the
 * service), so pausing one flooding console for flow control never stalls another. Output is pushed to the
 * renderer as structured items (records, text, progress...) through an OutputChannel; the renderer turns
 * them into terminal text with src/shared/commands/format.ts at its terminal's width.
 *
 * Main handles here what needs the disk or more than one service command:
 *   - `getfile PATH` and `collect` run as resumable downloads (getfile-runner) into the app data folder's
 *     downloads/, with progress items; the verified file then moves into the evidence store of the active
 *     case (CaseRecorder), with its provenance;
 *   - `... > name.txt` saves the rendered output as evidence too, instead of showing it;
 *   - every command, as shown, becomes an entry of the active case's transcript;
 *   - Tab completion of remote paths lists the folder with `dir <folder> -output json` (that listing is a
 *     real command: it appears in the command log, flagged internal, and `jobs` leaves it out).
 *
 * Ctrl+C is final: a cancelled transfer is never resumed. While the device is offline there is nothing on
 * it to cancel or to send to the background: Ctrl+C ends the command here at once, Ctrl+Z is refused.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CommandHandlers,
  type CommandOutcome,
  ConsoleClient,
  runGetfile,
  transferTarget,
  type TransferTarget,
} from '../../client/index.js';
import { localNameFor } from '../../node/file-download.js';
import type { Logger } from '../../node/log.js';
import { CATALOG, findCommand, roleAllows, type Platform, type Role } from '../../shared/commands/catalog.js';
import { complete } from '../../shared/commands/completion.js';
import { formatBytes, renderJson, renderTable } from '../../shared/commands/format.js';
import { parseLine, quoteArg } from '../../shared/commands/grammar.js';
import type {
  CompletionView,
  ConsoleItem,
  RestoredSessionView,
  SessionView,
} from '../../shared/workstation/ipc-contract.js';
import type { SessionInfo, ToClient } from '../../shared/wire/protocol.js';
import { evidenceStoredNotices } from '../cases/evidence-notice.js';
import type { CaseRecorder, EvidenceProvenance } from '../cases/recorder.js';
import { ConsoleConfirm } from './console-confirm.js';
import { ReplayBuffer } from './console-replay.js';
import type { EventHub } from './events.js';
import { libraryNamesFor } from './library-completion.js';
import { OutputChannel } from './output-channel.js';
import { OutputOverflow, settleOutput } from './output-overflow.js';
import { quietRecords } from './quiet-command.js';
import { TranscriptCapture } from './transcript-capture.js';
import type { Connection, Workspace } from './workspace.js';
import { describeError } from '../../shared/errors.js';

const CLOSE_CONFIRM_MS = 5_000;
const COMPLETION_TIMEOUT_MS = 10_000;
const MAX_PATH_CANDIDATES = 500;
const PROGRESS_EVERY_MS = 100;
/** Files at least this big get a notice before they are hashed into the evidence store (seconds of work). */
const LARGE_EVIDENCE_BYTES = 64 * 1024 * 1024;

interface BackgroundTransfer {
  /** `fg`: the transfer's progress and end now go to this command. */
  show(running: Running): void;
  /** Back in the background. */
  hide(): void;
}

/** The job ID of an `fg` line ('' when it has none). */
function fgTarget(line: string): string {
  try {
    const parsed = parseLine(line);
    return String(parsed.named.id ?? parsed.positionals[0] ?? '');
  } catch {
    return '';
  }
}

interface Running {
  line: string;
  startedAt: string;
  /** What the console shows for this command, for the case transcript. */
  capture: TranscriptCapture;
  /** Counts the output; past what the console keeps, saves all of it (output-overflow.ts). */
  overflow: OutputOverflow;
  commandId?: string;
  cancelRequested?: boolean;
  detachRequested?: boolean;
  /** A transfer's runner: aborted by Ctrl+C, so that it never starts another attempt. */
  abort?: AbortController;
  /** What running it again does (a getfile's partial download), for the line that says it was cancelled. */
  againHint?: string;
  /** Ended here by Ctrl+C while the device was offline: whatever it still reports is not shown. */
  cancelledHere?: boolean;
  /** Answered by the service alone (help, jobs, library…): the device being offline does not concern it. */
  serviceSide?: boolean;
}

export class ConsoleSession {
  cwd: string;
  private running: Running | undefined;
  private closed = false;
  /** As the service last said (device.state); a session opens on an online device. */
  private deviceOnline = true;
  private readonly channel: OutputChannel;
  private readonly closedWaiters = new Set<() => void>();
  /** remediate, isolate and release ask y/N first (console-confirm.ts). */
  private readonly confirm: ConsoleConfirm;
  /** Transfers of this console running in the background, by command ID (for `fg`). */
  private readonly transfers = new Map<string, BackgroundTransfer>();
  private closeRequested = false;
  /** Recent command lines and output, for a reloaded page. */
  private readonly replay = new ReplayBuffer();
  readonly commands: string[];

  constructor(
    readonly info: SessionInfo,
    private readonly client: ConsoleClient,
    private readonly folders: { downloads: string; saved: string },
    events: EventHub,
    private readonly log: Logger,
    private readonly onGone: (session: ConsoleSession) => void,
    private readonly recorder?: CaseRecorder,
    /** The profile lists several nodes of a cluster: a lost connection says where the next session goes. */
    clustered = false,
  ) {
    this.cwd = info.cwd;
    const role = (client.role || 'basic') as Role;
    this.commands = CATALOG.filter(
      (c) => roleAllows(role, c.role) && c.platforms.includes(info.platform as Platform),
    ).map((c) => c.name);
    this.channel = new OutputChannel({
      push: (items, weight) => {
        this.replay.output(items, weight);
        events.publish({ type: 'console.output', sessionId: info.id, weight, items });
      },
      pauseSource: () => client.pause(),
      resumeSource: () => client.resume(),
    });
    client.on('backgroundEnd', (f) =>
      this.add({ type: 'bgend', commandId: f.commandId, status: f.status, error: f.error, durationMs: f.durationMs }),
    );
    client.on('sessionClosed', (sessionId, reason) => {
      // The service's reason for the analyst's own Disconnect reads "closed by <role>": say it plainly.
      if (sessionId === info.id) this.ended(this.closeRequested ? 'disconnected by the analyst' : reason);
    });
    client.on('disconnected', (reason) =>
      this.ended(clustered ? nodeLost(client.url, reason) : `disconnected from the service: ${reason}`),
    );
    client.on('deviceState', (deviceId, online) => {
      if (deviceId !== info.deviceId) return;
      this.deviceOnline = online;
      this.add({ type: 'device', online });
      if (!online && this.running) {
        this.add({
          type: 'notice',
          text: 'while the device is offline: Ctrl+C cancels this command here at once (nothing more is sent to the device); Ctrl+Z is refused (nothing runs on the device to send to the background)',
          tone: 'warn',
        });
      }
    });
    client.on('trace', (f) => this.add({ type: 'text', text: `[trace ${f.level}] ${f.message}\n` }));
    client.on('serviceError', (message) => this.log.warn('console: service error', { sessionId: info.id, message }));
    this.confirm = new ConsoleConfirm({
      sessionId: info.id,
      deviceName: info.deviceName,
      client,
      add: (item) => this.add(item),
      run: (line) => this.run(line, true),
    });
  }

  get id(): string {
    return this.info.id;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  view(deviceOnline = this.deviceOnline): SessionView {
    return { ...this.info, cwd: this.cwd, commands: [...this.commands], deviceOnline };
  }

  /** The view with what the console showed recently (a reloaded page renders it again). */
  restoredView(): RestoredSessionView {
    const { entries, trimmed } = this.replay.snapshot();
    return { ...this.view(), replay: entries, replayTrimmed: trimmed, running: this.running !== undefined };
  }

  ack(chars: number): number {
    this.channel.ack(chars);
    return this.channel.unacknowledged;
  }

  resetFlow(): void {
    this.channel.resetInFlight();
  }

  run(line: string, confirmed = false): void {
    if (this.closed) throw new Error('this session is closed: open a new one');
    if (this.running) throw new Error('a command is running: Ctrl+C cancels it, Ctrl+Z sends it to the background');
    if (!confirmed && this.confirm.intercept(line)) return;
    let name = '';
    try {
      name = parseLine(line).name;
    } catch {
      // The service refuses it with a one-line error, and logs it.
    }
    const running: Running = {
      line,
      startedAt: new Date().toISOString(),
      capture: new TranscriptCapture(),
      serviceSide: findCommand(name)?.side === 'service',
      overflow: new OutputOverflow(this.folders.saved, name),
    };
    this.running = running;
    this.replay.input(this.cwd, line);
    const transfer = transferTarget(line);
    const fgTransfer = name === 'fg' ? this.transfers.get(fgTarget(line)) : undefined;
    const work = transfer
      ? this.runTransfer(line, transfer, running)
      : fgTransfer
        ? this.runFgTransfer(line, fgTransfer, running)
        : this.runPlain(line, name, running);
    work.catch((e: Error) =>
      this.finish(running, { type: 'end', status: 'failed', error: e.message, durationMs: 0, background: false }),
    );
  }

  cancel(): boolean {
    if (this.confirm.cancel()) return true;
    const running = this.running;
    if (!running) return false;
    running.abort?.abort();
    if (running.commandId) this.safeSend(() => this.client.cancel(running.commandId as string));
    else running.cancelRequested = true;
    if (!this.deviceOnline && !running.serviceSide) {
      running.cancelledHere = true;
      // The service already ended what ran on the device; nothing waits for it any more: the prompt comes back now.
      this.finish(running, {
        type: 'end',
        commandId: running.commandId,
        status: 'cancelled',
        error: `cancelled here while the device is offline: nothing more is sent to it${running.againHint ?? ''}`,
        durationMs: 0,
        background: false,
      });
    }
    return true;
  }

  detach(): boolean {
    const running = this.running;
    if (!running) return false;
    if (!this.deviceOnline && !running.serviceSide) {
      this.add({
        type: 'notice',
        text: 'Ctrl+Z refused: the device is offline, nothing runs on it to send to the background; Ctrl+C cancels here',
        tone: 'warn',
      });
      return false;
    }
    if (running.commandId) this.safeSend(() => this.client.detach(running.commandId as string));
    else running.detachRequested = true;
    return true;
  }

  /** Ends the session on the service; resolves once the service confirmed (or after a few seconds). */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closeRequested = true;
    const confirmed = new Promise<void>((resolve) => {
      this.closedWaiters.add(resolve);
      setTimeout(resolve, CLOSE_CONFIRM_MS).unref();
    });
    this.safeSend(() => this.client.closeSession(this.id));
    await confirmed;
    this.ended('disconnected by the analyst');
    return true;
  }

  async complete(line: string, cursor: number, library?: readonly string[]): Promise<CompletionView> {
    const c = complete(line, cursor, { commands: this.commands, library });
    if (c.kind !== 'path') return { replaceFrom: c.replaceFrom, candidates: c.candidates, kind: c.kind };
    const typed = c.pathPrefix ?? '';
    const slash = typed.lastIndexOf('/');
    const folder = slash >= 0 ? typed.slice(0, slash + 1) : '';
    const base = slash >= 0 ? typed.slice(slash + 1) : typed;
    try {
      const entries = await quietRecords(
        this.client,
        this.id,
        `dir ${folder ? `${quoteArg(folder)} ` : ''}-output json`,
        {
          timeoutMs: COMPLETION_TIMEOUT_MS,
          timeoutMessage: 'the device did not list the folder in time',
          internal: true,
        },
      );
      const candidates = entries
        .filter((r) => typeof r.name === 'string' && r.name.startsWith(base) && r.name !== '.' && r.name !== '..')
        .map((r) => `${folder}${String(r.name)}${r.type === 'directory' ? '/' : ''}`)
        .sort()
        .slice(0, MAX_PATH_CANDIDATES)
        .map(quoteArg);
      return { replaceFrom: c.replaceFrom, candidates, kind: 'path' };
    } catch (e) {
      return { replaceFrom: c.replaceFrom, candidates: [], kind: 'path', problem: describeError(e) };
    }
  }

  /** The session is over (closed by anyone, timed out, or the connection went away). */
  ended(reason: string): void {
    for (const resolve of [...this.closedWaiters]) resolve();
    this.closedWaiters.clear();
    if (this.closed) return;
    this.closed = true;
    this.running?.overflow.discard();
    this.running = undefined;
    this.confirm.reset();
    this.add({ type: 'closed', reason });
    this.channel.flush();
    try {
      this.client.close();
    } catch {
      // already gone
    }
    this.onGone(this);
  }

  // ---------------------------------------------------------------------------------------------------

  private add(item: ConsoleItem): void {
    // A batch of records is serialised once: its JSON gives both its flow-control weight and the overflow's
    // counts (20 MB of findfile rows were stringified twice here).
    const json = item.type === 'records' ? JSON.stringify(item.records) : undefined;
    this.running?.capture.add(item);
    this.running?.overflow.add(item, json);
    this.channel.add(item, json === undefined ? undefined : Math.max(1, json.length));
  }

  private finish(running: Running, end: Extract<ConsoleItem, { type: 'end' }>): void {
    if (this.running !== running) return;
    this.running = undefined;
    if (end.cwd) this.cwd = end.cwd;
    this.record(running, end);
    this.add(end);
  }

  /** The command as the analyst saw it goes into the active case's transcript. */
  private record(running: Running, end: Extract<ConsoleItem, { type: 'end' }>): void {
    if (!this.recorder) return;
    const { output, truncated } = running.capture.finish();
    const suffix = end.background && end.status === 'running' ? '[continues in the background]\n' : '';
    try {
      this.recorder.addTranscript({
        sessionId: this.id,
        deviceId: this.info.deviceId,
        deviceName: this.info.deviceName,
        commandId: end.commandId ?? running.commandId,
        line: running.line,
        output: truncated ? output : output + suffix,
        outputTruncated: truncated,
        status: end.status,
        error: end.error,
        analyst: this.info.createdBy,
        startedAt: running.startedAt,
        endedAt: new Date().toISOString(),
      });
    } catch (e) {
      this.channel.add({
        type: 'notice',
        text: `could not add this command to the case transcript: ${describeError(e)}`,
        tone: 'warn',
      });
    }
  }

  /** Moves a finished file into the evidence store; the console says where it went (or why not). */
  private async keepAsEvidence(file: string, provenance: EvidenceProvenance, what: string): Promise<void> {
    if (!this.recorder) {
      this.add({ type: 'notice', text: `${what}: saved ${file}`, tone: 'info' });
      return;
    }
    try {
      const size = statSync(file).size;
      if (size >= LARGE_EVIDENCE_BYTES)
        this.add({
          type: 'notice',
          text: `${what}: hashing ${formatBytes(size)} into the evidence store (SHA-256, SHA-1, MD5)…`,
          tone: 'info',
        });
      const evidence = await this.recorder.addEvidence(file, provenance);
      for (const notice of evidenceStoredNotices(what, evidence)) this.add(notice);
    } catch (e) {
      this.add({
        type: 'notice',
        text: `${what}: could not store it as evidence (${describeError(e)}); the file is kept at ${file}`,
        tone: 'error',
      });
    }
  }

  private started(running: Running, f: Extract<ToClient, { t: 'command.started' }>): void {
    running.commandId = f.commandId;
    if (running.cancelRequested) this.safeSend(() => this.client.cancel(f.commandId));
    else if (running.detachRequested) this.safeSend(() => this.client.detach(f.commandId));
  }

  private async runPlain(line: string, name: string, running: Running): Promise<void> {
    let redirect: RedirectCollector | undefined;
    const handlers: CommandHandlers = {
      onStarted: (f) => {
        this.started(running, f);
        if (f.redirect) redirect = new RedirectCollector(f.redirect, f.output, f.tableFields);
        else
          this.add({
            type: 'started',
            commandId: f.commandId,
            name: f.name,
            background: f.background,
            output: f.output,
            tableFields: f.tableFields,
          });
      },
      onRecords: (records) => {
        if (running.cancelledHere) return;
        if (redirect) redirect.records(records);
        else this.add({ type: 'records', records });
      },
      onText: (text) => {
        if (running.cancelledHere) return;
        if (redirect) redirect.text(text);
        else this.add({ type: 'text', text });
      },
    };
    const outcome: CommandOutcome =
      name === 'fg'
        ? await this.client.runFg(this.id, line, handlers, { onText: () => undefined })
        : await this.client.run(this.id, line, handlers).outcome;
    if (redirect) await this.saveRedirect(redirect, outcome.commandId);
    const recorder = this.recorder;
    // Ended here already (Ctrl+C while the device was offline): its output is not shown, so nothing to settle.
    if (running.cancelledHere) running.overflow.discard();
    else
      await settleOutput({
        overflow: running.overflow,
        line,
        platform: this.info.platform,
        status: outcome.status,
        background: outcome.background === true,
        store:
          recorder &&
          ((file, name) =>
            recorder.addEvidence(file, {
              kind: 'output',
              name,
              deviceId: this.info.deviceId,
              deviceName: this.info.deviceName,
              originalPath: '',
              commandId: outcome.commandId,
              analyst: this.info.createdBy,
              fileTimes: {},
            })),
        notice: (text, tone) => this.add({ type: 'notice', text, tone }),
      });
    this.finish(running, endItem(outcome));
  }

  private async saveRedirect(redirect: RedirectCollector, commandId: string): Promise<void> {
    let saved: { file: string; bytes: number };
    try {
      saved = redirect.save(this.folders.saved);
    } catch (e) {
      this.add({ type: 'notice', text: `could not save the output: ${describeError(e)}`, tone: 'error' });
      return;
    }
    const provenance: EvidenceProvenance = {
      kind: 'output',
      name: redirect.name,
      deviceId: this.info.deviceId,
      deviceName: this.info.deviceName,
      originalPath: '',
      commandId,
      analyst: this.info.createdBy,
      fileTimes: {},
    };
    await this.keepAsEvidence(saved.file, provenance, `output of ${redirect.name}`);
  }

  /**
   * getfile and collect: a verified download, then into the evidence store. In the background (`&`, Ctrl+Z)
   * it goes on without showing progress; `fg ID` shows it again in whichever command brought it back.
   */
  private async runTransfer(line: string, transfer: TransferTarget, running: Running): Promise<void> {
    let lastProgress = 0;
    /** The console command that shows this transfer: the getfile line, then `fg ID`; none in the background. */
    let shownIn: Running | undefined = running;
    let backgroundId: string | undefined;
    let fileRecord: Record<string, unknown> = {};
    const abort = new AbortController();
    const againHint = transfer.line
      ? undefined
      : `; getfile ${quoteArg(transfer.path)} again resumes the partial download, -restart starts from zero`;
    const show = (r: Running): void => {
      shownIn = r;
      r.abort = abort;
      r.againHint = againHint;
      r.serviceSide = false; // `fg` (a service command) now shows a transfer from the device
    };
    show(running);
    const started = (f: Extract<ToClient, { t: 'command.started' }>): void => {
      if (!shownIn) return;
      this.started(shownIn, f);
      this.add({
        type: 'started',
        commandId: f.commandId,
        name: f.name,
        background: f.background,
        output: f.output,
        tableFields: f.tableFields,
      });
    };
    const what = transfer.line ? 'collect' : 'getfile';
    const result = await runGetfile({
      signal: abort.signal,
      restart: transfer.restart,
      client: withStartedHook(this.client, started),
      sessionId: this.id,
      deviceId: this.info.deviceId,
      path: transfer.path,
      auto: transfer.auto,
      line: transfer.line,
      outDir: this.folders.downloads,
      suffix: transfer.background ? ' &' : '',
      onFileRecord: (record) => (fileRecord = record),
      onProgress: (p) => {
        if (!shownIn || abort.signal.aborted) return;
        const now = Date.now();
        if (now - lastProgress < PROGRESS_EVERY_MS && p.bytes < p.total) return;
        lastProgress = now;
        this.add({ type: 'progress', bytes: p.bytes, total: p.total, rate: p.rateBytesPerSec, eta: p.etaSec });
      },
      onNotice: (text) => {
        if (!shownIn?.cancelledHere) this.add({ type: 'notice', text, tone: 'info' });
      },
      onBackground: (commandId) => {
        const from = shownIn;
        shownIn = undefined;
        backgroundId = commandId;
        this.transfers.set(commandId, {
          show: (r) => show(r),
          hide: () => (shownIn = undefined),
        });
        if (from) this.finish(from, { type: 'end', commandId, status: 'running', durationMs: 0, background: true });
      },
    });
    if (backgroundId) this.transfers.delete(backgroundId);
    const to = shownIn as Running | undefined;
    if (result.ok) {
      const d = result.download;
      const text = (key: string): string | undefined =>
        typeof fileRecord[key] === 'string' ? (fileRecord[key] as string) : undefined;
      const originalPath = text('path') ?? (transfer.line ? '' : transfer.path);
      await this.keepAsEvidence(
        d.file,
        {
          kind: transfer.line ? 'collect' : 'getfile',
          name: path.posix.basename(transfer.line ? transfer.path : originalPath) || transfer.path,
          deviceId: this.info.deviceId,
          deviceName: this.info.deviceName,
          originalPath,
          commandId: result.commandId,
          analyst: this.info.createdBy,
          fileTimes: { mtime: text('mtime'), atime: text('atime'), ctime: text('ctime'), btime: text('btime') },
          expectedSha256: d.sha256,
        },
        `${what} ${transfer.path}`,
      );
      if (to)
        this.finish(to, {
          type: 'end',
          commandId: result.commandId,
          status: 'completed',
          durationMs: 0,
          background: false,
        });
    } else if (to) {
      this.finish(to, endItem(result.outcome));
    } else {
      this.add({
        type: 'notice',
        text: `${what} ${transfer.path}: ${withoutPrefix(result.outcome.error ?? result.outcome.status, what)}`,
        tone: 'error',
      });
    }
  }

  /**
   * `fg ID` of a transfer this console runs in the background: the service re-attaches it (its records keep
   * going to the transfer's writer) and this command shows its progress until it ends or goes back (Ctrl+Z).
   */
  private async runFgTransfer(line: string, transfer: BackgroundTransfer, running: Running): Promise<void> {
    const outcome = await this.client.runFg(
      this.id,
      line,
      {
        onStarted: (f) => {
          this.started(running, f);
          transfer.show(running);
        },
      },
      { onText: () => undefined },
    );
    // Back in the background (Ctrl+Z) or refused: this command ends here; otherwise the transfer's own end
    // (verified, stored as evidence) ends it.
    const attached = running.abort !== undefined;
    if (!attached || outcome.status === 'running') {
      if (attached) transfer.hide();
      this.finish(running, endItem(outcome));
    }
  }

  private safeSend(send: () => void): void {
    try {
      send();
    } catch (e) {
      this.log.warn('console: send failed', { sessionId: this.id, error: describeError(e) });
    }
  }
}

/**
 * The console's node went away (e.g. it died): the session cannot move with it (docs/cluster.md), but the
 * workstation's next calls go to another node. The other nodes free a dead node's session claims within
 * seconds (at worst its lease, 30 s); until then the device refuses a new session, which the analyst should
 * expect rather than discover.
 */
function nodeLost(url: string, reason: string): string {
  let node = url;
  try {
    node = new URL(url).host;
  } catch {
    // keep the URL as it is
  }
  return `disconnected from the service node ${node} (${reason}); a new session goes to another node of the cluster (if that node died, this device stays busy for a few seconds more)`;
}

/** `getfile: cancelled` → `cancelled`: the console already says which command it was. */
export function withoutPrefix(message: string, name: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

function endItem(outcome: CommandOutcome): Extract<ConsoleItem, { type: 'end' }> {
  return {
    type: 'end',
    commandId: outcome.commandId,
    status: outcome.status,
    error: outcome.error,
    durationMs: outcome.durationMs,
    cwd: outcome.cwd,
    background: outcome.background,
  };
}

/**
 * The same client, except that `run` also reports each command's start to `onStarted` (getfile-runner
 * runs its commands itself; the console needs their ids for Ctrl+C and Ctrl+Z).
 */
function withStartedHook(
  client: ConsoleClient,
  onStarted: (f: Extract<ToClient, { t: 'command.started' }>) => void,
): ConsoleClient {
  const run: ConsoleClient['run'] = (sessionId, line, handlers = {}, opts = {}) =>
    client.run(
      sessionId,
      line,
      {
        ...handlers,
        onStarted: (f) => {
          onStarted(f);
          handlers.onStarted?.(f);
        },
      },
      opts,
    );
  return new Proxy(client, {
    get(target, property) {
      if (property === 'run') return run;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `> name.txt`: the rendered output goes to a file in saved/ instead of the terminal. */
class RedirectCollector {
  private readonly parts: string[] = [];
  private readonly collected: Record<string, unknown>[] = [];

  constructor(
    readonly name: string,
    private readonly output: 'json' | 'table' | undefined,
    private readonly tableFields: string[] | undefined,
  ) {}

  text(text: string): void {
    this.parts.push(text);
  }

  records(records: Record<string, unknown>[]): void {
    for (const record of records) this.collected.push(record);
  }

  save(dir: string): { file: string; bytes: number } {
    let content = this.parts.join('');
    if (this.collected.length > 0) {
      content += `${this.output === 'json' ? renderJson(this.collected) : renderTable(this.collected, this.tableFields)}\n`;
    }
    const base = localNameFor(this.name);
    let file = path.join(dir, base);
    for (let i = 1; existsSync(file); i += 1) file = path.join(dir, `${base}.${i}`);
    writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
    return { file, bytes: Buffer.byteLength(content) };
  }
}

export class ConsoleService {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly workspace: Workspace,
    private readonly events: EventHub,
    private readonly log: Logger,
    private readonly recorder?: CaseRecorder,
  ) {
    workspace.onChange(() => this.closeAll('the workstation connected to another service'));
  }

  async open(device: string): Promise<SessionView> {
    const connection: Connection = this.workspace.current();
    const paths = this.workspace.paths;
    if (!paths) throw new Error('no app data folder');
    const client = await ConsoleClient.connect(connection.profile, connection.nodes);
    let info: SessionInfo;
    try {
      info = await client.openSession(device);
    } catch (e) {
      client.close();
      throw e;
    }
    const session = new ConsoleSession(
      info,
      client,
      { downloads: paths.downloads, saved: paths.saved },
      this.events,
      this.log,
      (gone) => {
        // Keep it a little for the acknowledgements of its last output, then forget it.
        setTimeout(() => {
          if (this.sessions.get(gone.id) === gone) this.sessions.delete(gone.id);
        }, 60_000).unref();
      },
      this.recorder,
      connection.nodes.urls.length > 1,
    );
    this.sessions.set(info.id, session);
    return session.view();
  }

  /** The open sessions; their in-flight output is forgotten (a reloaded page acknowledges nothing). */
  list(): RestoredSessionView[] {
    const views: RestoredSessionView[] = [];
    for (const session of this.sessions.values()) {
      if (session.isClosed) continue;
      session.resetFlow();
      views.push(session.restoredView());
    }
    return views;
  }

  async close(sessionId: string): Promise<boolean> {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    return session.close();
  }

  run(sessionId: string, line: string): void {
    this.get(sessionId).run(line);
  }

  cancel(sessionId: string): boolean {
    return this.get(sessionId).cancel();
  }

  detach(sessionId: string): boolean {
    return this.get(sessionId).detach();
  }

  ack(sessionId: string, chars: number): number {
    return this.sessions.get(sessionId)?.ack(chars) ?? 0;
  }

  async complete(sessionId: string, line: string, cursor: number): Promise<CompletionView> {
    return this.get(sessionId).complete(line, cursor, await libraryNamesFor(this.workspace, line, cursor));
  }

  closeAll(reason: string): void {
    for (const session of [...this.sessions.values()]) session.ended(reason);
  }

  private get(sessionId: string): ConsoleSession {
    const session = this.sessions.get(sessionId);
    if (!session || session.isClosed) throw new Error(`no open session ${sessionId}`);
    return session;
  }
}
