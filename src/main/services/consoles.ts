/**
 * Console sessions, one per device tab. Each session has its own ConsoleClient (its own WebSocket to the
 * service), so pausing one flooding console for flow control never stalls another. Output is pushed to the
 * renderer as structured items (records, text, progress...) through an OutputChannel; the renderer turns
 * them into terminal text with src/shared/format.ts at its terminal's width.
 *
 * Main handles here what needs the disk or more than one service command:
 *   - `getfile PATH` and `collect` run as resumable downloads (getfile-runner) into the app data folder's
 *     downloads/, with progress items; the verified file then moves into the evidence store of the active
 *     case (CaseRecorder), with its provenance;
 *   - `... > name.txt` saves the rendered output as evidence too, instead of showing it;
 *   - every command, as shown, becomes an entry of the active case's transcript;
 *   - Tab completion of remote paths lists the folder with `dir <folder> -output json` (that listing is a
 *     real command: it appears in the command log).
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConsoleClient, type CommandHandlers, type CommandOutcome } from '../../client/console-client.js';
import { localNameFor } from '../../client/download.js';
import { runGetfile } from '../../client/getfile-runner.js';
import { transferTarget, type TransferTarget } from '../../client/transfer-target.js';
import type { Logger } from '../../node/log.js';
import { CATALOG, roleAllows, type Platform, type Role } from '../../shared/catalog.js';
import { complete } from '../../shared/completion.js';
import { formatBytes, renderJson, renderTable } from '../../shared/format.js';
import { parseLine, quoteArg } from '../../shared/grammar.js';
import type { CompletionView, ConsoleItem, SessionView } from '../../shared/ipc-contract.js';
import type { SessionInfo, ToClient } from '../../shared/protocol.js';
import { evidenceStoredNotices } from '../cases/evidence-notice.js';
import type { CaseRecorder, EvidenceProvenance } from '../cases/recorder.js';
import type { EventHub } from './events.js';
import { libraryNamesFor } from './library-completion.js';
import { OutputChannel } from './output-channel.js';
import { TranscriptCapture } from './transcript-capture.js';
import type { Connection, Workspace } from './workspace.js';

const CLOSE_CONFIRM_MS = 5_000;
const COMPLETION_TIMEOUT_MS = 10_000;
const MAX_PATH_CANDIDATES = 500;
const PROGRESS_EVERY_MS = 100;
/** Files at least this big get a notice before they are hashed into the evidence store (seconds of work). */
const LARGE_EVIDENCE_BYTES = 64 * 1024 * 1024;

interface Running {
  line: string;
  startedAt: string;
  /** What the console shows for this command, for the case transcript. */
  capture: TranscriptCapture;
  commandId?: string;
  cancelRequested?: boolean;
  detachRequested?: boolean;
}

export class ConsoleSession {
  cwd: string;
  private running: Running | undefined;
  private closed = false;
  private readonly channel: OutputChannel;
  private readonly closedWaiters = new Set<() => void>();
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
    this.commands = CATALOG.filter((c) => roleAllows(role, c.role) && c.platforms.includes(info.platform as Platform)).map((c) => c.name);
    this.channel = new OutputChannel({
      push: (items, weight) => events.publish({ type: 'console.output', sessionId: info.id, weight, items }),
      pauseSource: () => client.pause(),
      resumeSource: () => client.resume(),
    });
    client.on('backgroundEnd', (f) => this.add({ k: 'bgend', commandId: f.commandId, status: f.status, error: f.error, durationMs: f.durationMs }));
    client.on('sessionClosed', (sessionId, reason) => {
      if (sessionId === info.id) this.ended(reason);
    });
    client.on('disconnected', (reason) => this.ended(clustered ? nodeLost(client.url, reason) : `disconnected from the service: ${reason}`));
    client.on('deviceState', (deviceId, online) => {
      if (deviceId === info.deviceId) this.add({ k: 'device', online });
    });
    client.on('trace', (f) => this.add({ k: 'text', text: `[trace ${f.level}] ${f.message}\n` }));
    client.on('serviceError', (message) => this.log.warn('console: service error', { sessionId: info.id, message }));
  }

  get id(): string {
    return this.info.id;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  view(deviceOnline = true): SessionView {
    return { ...this.info, cwd: this.cwd, commands: [...this.commands], deviceOnline };
  }

  ack(chars: number): number {
    this.channel.ack(chars);
    return this.channel.unacknowledged;
  }

  resetFlow(): void {
    this.channel.resetInFlight();
  }

  run(line: string): void {
    if (this.closed) throw new Error('this session is closed: open a new one');
    if (this.running) throw new Error('a command is running: Ctrl+C cancels it, Ctrl+Z sends it to the background');
    let name = '';
    try {
      name = parseLine(line).name;
    } catch {
      // The service refuses it with a one-line error, and logs it.
    }
    const running: Running = { line, startedAt: new Date().toISOString(), capture: new TranscriptCapture() };
    this.running = running;
    const transfer = transferTarget(line);
    const work = transfer ? this.runTransfer(line, transfer, running) : this.runPlain(line, name, running);
    work.catch((e: Error) => this.finish(running, { k: 'end', status: 'failed', error: e.message, durationMs: 0, background: false }));
  }

  cancel(): boolean {
    const running = this.running;
    if (!running) return false;
    if (running.commandId) this.safeSend(() => this.client.cancel(running.commandId as string));
    else running.cancelRequested = true;
    return true;
  }

  detach(): boolean {
    const running = this.running;
    if (!running) return false;
    if (running.commandId) this.safeSend(() => this.client.detach(running.commandId as string));
    else running.detachRequested = true;
    return true;
  }

  /** Ends the session on the service; resolves once the service confirmed (or after a few seconds). */
  async close(): Promise<boolean> {
    if (this.closed) return false;
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
      const entries = await this.quietRecords(`dir ${folder ? `${quoteArg(folder)} ` : ''}-output json`);
      const candidates = entries
        .filter((r) => typeof r.name === 'string' && r.name.startsWith(base) && r.name !== '.' && r.name !== '..')
        .map((r) => `${folder}${String(r.name)}${r.type === 'directory' ? '/' : ''}`)
        .sort()
        .slice(0, MAX_PATH_CANDIDATES)
        .map(quoteArg);
      return { replaceFrom: c.replaceFrom, candidates, kind: 'path' };
    } catch (e) {
      return { replaceFrom: c.replaceFrom, candidates: [], kind: 'path', problem: (e as Error).message };
    }
  }

  /** The session is over (closed by anyone, timed out, or the connection went away). */
  ended(reason: string): void {
    for (const resolve of [...this.closedWaiters]) resolve();
    this.closedWaiters.clear();
    if (this.closed) return;
    this.closed = true;
    this.running = undefined;
    this.add({ k: 'closed', reason });
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
    this.running?.capture.add(item);
    this.channel.add(item);
  }

  private finish(running: Running, end: Extract<ConsoleItem, { k: 'end' }>): void {
    if (this.running !== running) return;
    this.running = undefined;
    if (end.cwd) this.cwd = end.cwd;
    this.record(running, end);
    this.add(end);
  }

  /** The command as the analyst saw it goes into the active case's transcript. */
  private record(running: Running, end: Extract<ConsoleItem, { k: 'end' }>): void {
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
      this.channel.add({ k: 'notice', text: `could not add this command to the case transcript: ${(e as Error).message}`, tone: 'warn' });
    }
  }

  /** Moves a finished file into the evidence store; the console says where it went (or why not). */
  private async keepAsEvidence(file: string, provenance: EvidenceProvenance, what: string): Promise<void> {
    if (!this.recorder) {
      this.add({ k: 'notice', text: `${what}: saved ${file}`, tone: 'info' });
      return;
    }
    try {
      const size = statSync(file).size;
      if (size >= LARGE_EVIDENCE_BYTES) this.add({ k: 'notice', text: `${what}: hashing ${formatBytes(size)} into the evidence store (SHA-256, SHA-1, MD5)…`, tone: 'info' });
      const evidence = await this.recorder.addEvidence(file, provenance);
      for (const notice of evidenceStoredNotices(what, evidence)) this.add(notice);
    } catch (e) {
      this.add({ k: 'notice', text: `${what}: could not store it as evidence (${(e as Error).message}); the file is kept at ${file}`, tone: 'error' });
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
        else this.add({ k: 'started', commandId: f.commandId, name: f.name, background: f.background, output: f.output, tableFields: f.tableFields });
      },
      onRecords: (records) => (redirect ? redirect.records(records) : this.add({ k: 'records', records })),
      onText: (text) => (redirect ? redirect.text(text) : this.add({ k: 'text', text })),
    };
    const outcome: CommandOutcome =
      name === 'fg' ? await this.client.runFg(this.id, line, handlers, { onText: () => undefined }) : await this.client.run(this.id, line, handlers).outcome;
    if (redirect) await this.saveRedirect(redirect, outcome.commandId);
    this.finish(running, endItem(outcome));
  }

  private async saveRedirect(redirect: RedirectCollector, commandId: string): Promise<void> {
    let saved: { file: string; bytes: number };
    try {
      saved = redirect.save(this.folders.saved);
    } catch (e) {
      this.add({ k: 'notice', text: `could not save the output: ${(e as Error).message}`, tone: 'error' });
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

  /** getfile and collect: a verified download, then into the evidence store. */
  private async runTransfer(line: string, transfer: TransferTarget, running: Running): Promise<void> {
    let lastProgress = 0;
    let backgrounded = false;
    let fileRecord: Record<string, unknown> = {};
    const started = (f: Extract<ToClient, { t: 'command.started' }>): void => {
      this.started(running, f);
      if (!backgrounded) this.add({ k: 'started', commandId: f.commandId, name: f.name, background: f.background, output: f.output, tableFields: f.tableFields });
    };
    const what = transfer.line ? 'collect' : 'getfile';
    const result = await runGetfile({
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
        const now = Date.now();
        if (now - lastProgress < PROGRESS_EVERY_MS && p.bytes < p.total) return;
        lastProgress = now;
        if (!backgrounded) this.add({ k: 'progress', bytes: p.bytes, total: p.total, rate: p.rateBytesPerSec, eta: p.etaSec });
      },
      onNotice: (text) => this.add({ k: 'notice', text, tone: 'info' }),
      onBackground: (commandId) => {
        backgrounded = true;
        this.finish(running, { k: 'end', commandId, status: 'running', durationMs: 0, background: true });
      },
    });
    if (result.ok) {
      const d = result.download;
      const text = (key: string): string | undefined => (typeof fileRecord[key] === 'string' ? (fileRecord[key] as string) : undefined);
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
      this.finish(running, { k: 'end', commandId: result.commandId, status: 'completed', durationMs: 0, background: false });
    } else {
      if (backgrounded) this.add({ k: 'notice', text: `${what} ${transfer.path}: ${result.outcome.error ?? result.outcome.status}`, tone: 'error' });
      this.finish(running, endItem(result.outcome));
    }
  }

  /** Runs a command whose output is for main only (path completion); resolves with its records. */
  private quietRecords(line: string): Promise<Record<string, unknown>[]> {
    const records: Record<string, unknown>[] = [];
    const run = this.client.run(this.id, line, {
      onRecords: (batch) => {
        for (const record of batch) records.push(record);
      },
    });
    const timeout = new Promise<never>((_resolve, reject) => {
      setTimeout(() => {
        const id = run.commandId();
        if (id) this.safeSend(() => this.client.cancel(id));
        reject(new Error('the device did not list the folder in time'));
      }, COMPLETION_TIMEOUT_MS).unref();
    });
    return Promise.race([
      run.outcome.then((outcome) => {
        if (outcome.status !== 'completed') throw new Error(outcome.error ?? outcome.status);
        return records;
      }),
      timeout,
    ]);
  }

  private safeSend(send: () => void): void {
    try {
      send();
    } catch (e) {
      this.log.warn('console: send failed', { sessionId: this.id, error: (e as Error).message });
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

function endItem(outcome: CommandOutcome): Extract<ConsoleItem, { k: 'end' }> {
  return {
    k: 'end',
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
function withStartedHook(client: ConsoleClient, onStarted: (f: Extract<ToClient, { t: 'command.started' }>) => void): ConsoleClient {
  const run: ConsoleClient['run'] = (sessionId, line, handlers = {}) =>
    client.run(sessionId, line, {
      ...handlers,
      onStarted: (f) => {
        onStarted(f);
        handlers.onStarted?.(f);
      },
    });
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
    const session = new ConsoleSession(info, client, { downloads: paths.downloads, saved: paths.saved }, this.events, this.log, (gone) => {
      // Keep it a little for the acknowledgements of its last output, then forget it.
      setTimeout(() => {
        if (this.sessions.get(gone.id) === gone) this.sessions.delete(gone.id);
      }, 60_000).unref();
    }, this.recorder, connection.nodes.urls.length > 1);
    this.sessions.set(info.id, session);
    return session.view();
  }

  /** The open sessions; their in-flight output is forgotten (a reloaded page acknowledges nothing). */
  list(): SessionView[] {
    const views: SessionView[] = [];
    for (const session of this.sessions.values()) {
      if (session.isClosed) continue;
      session.resetFlow();
      views.push(session.view());
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
