/**
 * One console tab's terminal: an xterm.js Terminal with the line editor, the output renderer and the
 * flow-control acknowledgements. Lives outside React and outside the zustand store (see registry.ts); the
 * store only hears about metadata changes (online, closed, directory) through `onMeta`.
 *
 * After the session closes (idle timeout, service restart, ended by another analyst) the tab stays: its
 * scrollback and history are kept and `connect` opens a new session on the same device in the same
 * terminal, then goes back to the folder it was in with a real `cd` (as `lr shell` does).
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { displayWidth, escapeControlChars } from '../../../shared/format.js';
import { quoteArg } from '../../../shared/grammar.js';
import type { ConsoleItem, SessionView } from '../../../shared/ipc-contract.js';
import { call } from '../api/call.js';
import { lr } from '../api/transport.js';
import { registerEvidenceLinks } from './evidence-links.js';
import { loadHistory, remember } from './history.js';
import { commonPrefix, edit, EMPTY_LINE, parseKeys, redraw, type Key, type LineState } from './line-editor.js';
import { OutputRenderer, SGR, type RenderEffects } from './output-renderer.js';

/** Acknowledge in units of this many characters (VS Code's CharCountAckSize). */
export const ACK_UNIT = 5_000;
const ACK_IDLE_MS = 40;
const SCROLLBACK_LINES = 10_000;

export interface TerminalMeta {
  online?: boolean;
  /** Why the session ended; '' once `connect` opened a new one. */
  closed?: string;
  cwd?: string;
  running?: boolean;
}

type State = 'idle' | 'submitting' | 'running' | 'closed';

export class ConsoleTerminal {
  readonly element: HTMLDivElement;
  readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly renderer = new OutputRenderer();
  private state: State = 'idle';
  private line: LineState = EMPTY_LINE;
  private cursorRow = 0;
  private cwd: string;
  private history: string[];
  private historyIndex: number;
  private historyDraft = '';
  private completing = false;
  private ackPending = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  /** For tests and diagnostics: lines and records written so far. */
  linesWritten = 0;
  recordsWritten = 0;
  charsWritten = 0;

  /** The tab's key for the registry and the store: the id of the session the tab was opened with. */
  readonly tabId: string;
  private session: SessionView;

  constructor(
    session: SessionView,
    private readonly onMeta: (meta: TerminalMeta) => void,
    /** `connect` opened `next` in this tab: its output is to come here from now on. */
    private readonly onSession: (previousId: string, next: SessionView) => void = () => undefined,
  ) {
    this.tabId = session.id;
    this.session = session;
    this.cwd = session.cwd;
    this.history = loadHistory(session.deviceId);
    this.historyIndex = this.history.length;
    this.element = document.createElement('div');
    this.element.className = 'terminal-host';
    // xterm measures its font when opened: open it in the document (parked), the tab's slot adopts it.
    parking().appendChild(this.element);
    this.term = new Terminal({
      convertEol: true,
      scrollback: SCROLLBACK_LINES,
      cursorBlink: true,
      fontFamily: "ui-monospace, 'SFMono-Regular', 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      fontSize: 13,
      allowProposedApi: false,
      theme: {
        background: '#0a0d12',
        foreground: '#d7dde4',
        cursor: '#5fd4c2',
        selectionBackground: '#264f4a',
        black: '#0a0d12',
        blue: '#6cb6ff',
        cyan: '#5fd4c2',
        green: '#7fd962',
        red: '#f07178',
        yellow: '#e6b450',
      },
    });
    this.term.loadAddon(this.fitAddon);
    this.term.open(this.element);
    registerEvidenceLinks(this.term);
    this.term.onData((data) => this.onInput(data));
    this.write(
      `${SGR.dim}Connected to ${escapeControlChars(session.deviceName)} (${session.platform}), session ${session.id} opened by ${escapeControlChars(session.createdBy)}.\n` +
        `Type help for commands; Tab completes; Ctrl+C cancels on the device; Ctrl+Z sends a command to the background.${SGR.reset}\n`,
    );
    this.write(this.promptAndLine());
  }

  /** Fits the terminal to its container (only while it is displayed). */
  fit(): void {
    if (this.disposed || this.element.offsetParent === null || this.element.clientWidth === 0) return;
    try {
      this.fitAddon.fit();
    } catch {
      // not laid out yet
    }
  }

  focus(): void {
    this.term.focus();
  }

  /** Output items pushed by main; `weight` is acknowledged once xterm has parsed what they render to. */
  receive(items: readonly ConsoleItem[], weight: number): void {
    if (this.disposed) {
      this.acknowledge(weight);
      return;
    }
    const cols = this.term.cols;
    const wasIdle = this.state === 'idle';
    let out = wasIdle ? this.wipeInput() : '';
    let promptNeeded = wasIdle;
    for (const item of items) {
      if (item.k === 'records') this.recordsWritten += item.records.length;
      const effects: RenderEffects = {};
      out += this.renderer.render(item, cols, effects);
      if (effects.promptBack) {
        if (effects.promptBack.cwd) this.cwd = effects.promptBack.cwd;
        this.state = 'idle';
        promptNeeded = true;
        this.onMeta({ cwd: this.cwd, running: false });
      }
      if (effects.deviceOnline !== undefined) this.onMeta({ online: effects.deviceOnline });
      if (effects.closed !== undefined) {
        this.state = 'closed';
        promptNeeded = true;
        out += `${SGR.dim}type connect to open a new session on ${escapeControlChars(this.session.deviceName)}${SGR.reset}\n`;
        this.onMeta({ closed: effects.closed, running: false });
      }
    }
    if (promptNeeded && (this.state === 'idle' || this.state === 'closed')) out += this.promptAndLine();
    this.write(out, weight);
  }

  /** Text of the whole buffer (scrollback included), wrapped rows joined: what tests read. */
  text(): string {
    const buffer = this.term.buffer.active;
    const rows: string[] = [];
    for (let i = 0; i < buffer.length; i += 1) {
      const line = buffer.getLine(i);
      if (!line) continue;
      const text = line.translateToString(true);
      if (line.isWrapped && rows.length > 0) rows[rows.length - 1] += text;
      else rows.push(text);
    }
    while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
    return rows.join('\n');
  }

  /** The session this tab talks to now (a new one after `connect`). */
  get sessionId(): string {
    return this.session.id;
  }

  get isRunning(): boolean {
    return this.state === 'running' || this.state === 'submitting';
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sendAck();
    this.term.dispose();
    this.element.remove();
  }

  // ---------------------------------------------------------------------------------------------------

  private write(text: string, weight = 0): void {
    if (text === '') {
      if (weight > 0) this.acknowledge(weight);
      return;
    }
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.linesWritten += 1;
    this.charsWritten += text.length;
    this.term.write(text, weight > 0 ? () => this.acknowledge(weight) : undefined);
  }

  private acknowledge(weight: number): void {
    this.ackPending += weight;
    if (this.ackPending >= ACK_UNIT) this.sendAck();
    else this.ackTimer ??= setTimeout(() => this.sendAck(), ACK_IDLE_MS);
  }

  private sendAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const chars = this.ackPending;
    this.ackPending = 0;
    if (chars > 0) void lr.invoke('lr:sessions.ack', { sessionId: this.session.id, chars });
  }

  private prompt(): { text: string; width: number } {
    const device = escapeControlChars(this.session.deviceName);
    const cwd = escapeControlChars(this.cwd);
    return { text: `${SGR.green}${device}${SGR.reset}:${SGR.blue}${cwd}${SGR.reset}> `, width: displayWidth(`${device}:${cwd}> `) };
  }

  private promptAndLine(): string {
    const prompt = this.prompt();
    const drawn = redraw(prompt.text, prompt.width, this.line, this.term.cols, 0);
    this.cursorRow = drawn.cursorRow;
    return drawn.out;
  }

  /** Removes the prompt and the input line from the screen (output is about to appear where they were). */
  private wipeInput(): string {
    const up = this.cursorRow > 0 ? `\x1b[${this.cursorRow}A` : '';
    this.cursorRow = 0;
    return `${up}\r\x1b[J`;
  }

  private redrawLine(): void {
    const prompt = this.prompt();
    const drawn = redraw(prompt.text, prompt.width, this.line, this.term.cols, this.cursorRow);
    this.cursorRow = drawn.cursorRow;
    this.write(drawn.out);
  }

  private onInput(data: string): void {
    for (const key of parseKeys(data)) this.onKey(key);
  }

  private onKey(key: Key): void {
    if (this.state === 'closed' && key.kind === 'tab') return;
    if (this.state === 'running' || this.state === 'submitting') {
      if (key.kind === 'interrupt') {
        this.write(`${SGR.dim}^C (cancelling on the device)${SGR.reset}\n`);
        this.renderer.markLineStart();
        void lr.invoke('lr:sessions.cancel', { sessionId: this.session.id });
      } else if (key.kind === 'suspend') {
        this.write(`${SGR.dim}^Z${SGR.reset}\n`);
        this.renderer.markLineStart();
        void lr.invoke('lr:sessions.detach', { sessionId: this.session.id });
      }
      return;
    }
    switch (key.kind) {
      case 'enter':
        void this.submit();
        return;
      case 'interrupt':
        this.write(`${this.endOfInput()}^C\n`);
        this.line = EMPTY_LINE;
        this.cursorRow = 0;
        this.write(this.promptAndLine());
        return;
      case 'suspend':
        return;
      case 'clear':
        this.term.clear();
        this.cursorRow = 0;
        this.write(`\x1b[H\x1b[2J${this.promptAndLine()}`);
        return;
      case 'up':
      case 'down':
        this.browseHistory(key.kind === 'up' ? -1 : 1);
        return;
      case 'tab':
        void this.completeLine();
        return;
      default: {
        const next = edit(this.line, key);
        if (next === this.line) return;
        this.line = next;
        this.redrawLine();
      }
    }
  }

  /** Moves the cursor after the input (so that what follows starts on a fresh line). */
  private endOfInput(): string {
    const prompt = this.prompt();
    const end = redraw(prompt.text, prompt.width, { text: this.line.text, cursor: this.line.text.length }, this.term.cols, this.cursorRow);
    this.cursorRow = 0;
    return end.out;
  }

  private browseHistory(step: -1 | 1): void {
    if (this.history.length === 0) return;
    if (this.historyIndex === this.history.length) this.historyDraft = this.line.text;
    const index = Math.max(0, Math.min(this.history.length, this.historyIndex + step));
    if (index === this.historyIndex) return;
    this.historyIndex = index;
    const text = index === this.history.length ? this.historyDraft : (this.history[index] ?? '');
    this.line = { text, cursor: text.length };
    this.redrawLine();
  }

  private async submit(): Promise<void> {
    const text = this.line.text.trim();
    this.write(`${this.endOfInput()}\n`);
    this.line = EMPTY_LINE;
    this.renderer.markLineStart();
    if (text === '') {
      this.write(this.promptAndLine());
      return;
    }
    this.history = remember(this.session.deviceId, this.history, text);
    this.historyIndex = this.history.length;
    const name = (text.split(/\s+/, 1)[0] ?? '').toLowerCase();
    if (name === 'cls') {
      this.term.clear();
      this.write(`\x1b[H\x1b[2J${this.promptAndLine()}`);
      return;
    }
    if (name === 'connect') {
      if (this.state === 'closed') await this.reconnect();
      else this.write(`${SGR.dim}already connected to ${escapeControlChars(this.session.deviceName)}${SGR.reset}\n${this.promptAndLine()}`);
      return;
    }
    if (this.state === 'closed') {
      this.write(`${SGR.dim}no session: type connect to open a new session on ${escapeControlChars(this.session.deviceName)}${SGR.reset}\n${this.promptAndLine()}`);
      return;
    }
    this.state = 'submitting';
    this.onMeta({ running: true });
    try {
      await call('lr:sessions.run', { sessionId: this.session.id, line: text });
      if (this.state === 'submitting') this.state = 'running';
    } catch (e) {
      if (this.state !== 'submitting') return;
      this.state = 'idle';
      this.onMeta({ running: false });
      this.write(`${SGR.red}${escapeControlChars(e instanceof Error ? e.message : String(e))}${SGR.reset}\n${this.promptAndLine()}`);
    }
  }

  /** `connect` after a close: a new session on the same device, then back to the folder this tab was in. */
  private async reconnect(): Promise<void> {
    this.state = 'submitting';
    this.onMeta({ running: true });
    let next: SessionView;
    try {
      next = await call('lr:sessions.open', { device: this.session.deviceId });
    } catch (e) {
      this.state = 'closed';
      this.onMeta({ running: false });
      // The service's refusal already reads "connect: …"; the IPC channel's name is noise here.
      const message = (e instanceof Error ? e.message : String(e)).replace(/^lr:sessions\.open: /, '');
      const text = message.startsWith('connect:') ? message : `connect failed: ${message}`;
      this.write(`${SGR.red}${escapeControlChars(text)}${SGR.reset}\n${this.promptAndLine()}`);
      return;
    }
    // What is left to acknowledge belongs to the old session.
    this.sendAck();
    const previous = this.session;
    const folder = this.cwd;
    this.session = next;
    this.cwd = next.cwd;
    this.onSession(previous.id, next);
    this.onMeta({ closed: '', online: next.deviceOnline, cwd: next.cwd });
    this.write(`${SGR.dim}Connected to ${escapeControlChars(next.deviceName)}, session ${next.id} opened by ${escapeControlChars(next.createdBy)}.${SGR.reset}\n`);
    this.renderer.markLineStart();
    if (folder === next.cwd) {
      this.state = 'idle';
      this.onMeta({ running: false });
      this.write(this.promptAndLine());
      return;
    }
    // A real `cd`, shown and logged as the analyst's own would be; its end brings the prompt back.
    this.write(`${SGR.dim}cd ${escapeControlChars(quoteArg(folder))}${SGR.reset}\n`);
    this.renderer.markLineStart();
    try {
      await call('lr:sessions.run', { sessionId: next.id, line: `cd ${quoteArg(folder)}` });
      if (this.state === 'submitting') this.state = 'running';
    } catch (e) {
      if (this.state !== 'submitting') return;
      this.state = 'idle';
      this.onMeta({ running: false });
      this.write(`${SGR.red}could not return to ${escapeControlChars(folder)}: ${escapeControlChars(e instanceof Error ? e.message : String(e))}${SGR.reset}\n${this.promptAndLine()}`);
    }
  }

  private async completeLine(): Promise<void> {
    if (this.completing) return;
    this.completing = true;
    const before = this.line;
    try {
      const result = await call('lr:sessions.complete', { sessionId: this.session.id, line: before.text, cursor: before.cursor });
      if (this.line !== before || this.state !== 'idle') return;
      const typed = before.text.slice(result.replaceFrom, before.cursor);
      const apply = (replacement: string): void => {
        const text = before.text.slice(0, result.replaceFrom) + replacement + before.text.slice(before.cursor);
        this.line = { text, cursor: result.replaceFrom + replacement.length };
        this.redrawLine();
      };
      if (result.candidates.length === 1) {
        const only = result.candidates[0] as string;
        const isFolder = /\/["']?$/.test(only);
        apply(isFolder ? only : `${only} `);
        return;
      }
      if (result.candidates.length === 0) {
        if (result.problem) this.showAboveInput(`${SGR.dim}${escapeControlChars(result.problem)}${SGR.reset}`);
        else this.term.write('\x07');
        return;
      }
      const prefix = commonPrefix(result.candidates);
      if (prefix.length > typed.length) {
        apply(prefix);
        return;
      }
      this.showAboveInput(columns(result.candidates.map(escapeControlChars), this.term.cols));
    } catch (e) {
      this.showAboveInput(`${SGR.red}${escapeControlChars(e instanceof Error ? e.message : String(e))}${SGR.reset}`);
    } finally {
      this.completing = false;
    }
  }

  /** Prints lines under the input, then the prompt and the line again. */
  private showAboveInput(text: string): void {
    this.write(`${this.endOfInput()}\n${text}\n`);
    this.cursorRow = 0;
    this.write(this.promptAndLine());
  }
}

function parking(): HTMLElement {
  let element = document.getElementById('terminal-parking');
  if (!element) {
    element = document.createElement('div');
    element.id = 'terminal-parking';
    element.setAttribute('aria-hidden', 'true');
    element.style.cssText = 'position:fixed;left:-10000px;top:0;width:900px;height:500px;overflow:hidden;';
    document.body.appendChild(element);
  }
  return element;
}

/** Completion candidates in columns, like a shell does. */
function columns(values: readonly string[], cols: number): string {
  const width = Math.min(Math.max(...values.map((v) => displayWidth(v))) + 2, Math.max(10, cols));
  const perRow = Math.max(1, Math.floor(cols / width));
  const rows: string[] = [];
  for (let i = 0; i < values.length; i += perRow) {
    rows.push(
      values
        .slice(i, i + perRow)
        .map((v) => v + ' '.repeat(Math.max(0, width - displayWidth(v))))
        .join('')
        .trimEnd(),
    );
  }
  return rows.join('\n');
}
