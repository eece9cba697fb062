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
import { Terminal, type IMarker } from '@xterm/xterm';
import { SearchAddon, type ISearchOptions } from '@xterm/addon-search';
import { WebglAddon } from '@xterm/addon-webgl';
import { displayWidth, escapeControlChars } from '../../../shared/commands/format.js';
import { quoteArg } from '../../../shared/commands/grammar.js';
import type { ConsoleItem, ReplayEntry, SessionView } from '../../../shared/workstation/ipc-contract.js';
import { call } from '../api/call.js';
import { lr } from '../api/transport.js';
import { registerEvidenceLinks } from './evidence-links.js';
import { loadHistory, remember } from './history.js';
import { consoleKeyAction, describeTypeahead, SHORTCUTS_LINE } from './keys.js';
import { commonPrefix, edit, EMPTY_LINE, parseKeys, redraw, type Key, type LineState } from './line-editor.js';
import { OutputRenderer, SGR, type RenderEffects } from './output-renderer.js';
import { writePieces } from './write-pieces.js';
import { showInstant } from '../components/time.js';
import { describeError } from '../../../shared/errors.js';

/** Acknowledge in units of this many characters (VS Code's CharCountAckSize). */
export const ACK_UNIT = 5_000;
const ACK_IDLE_MS = 40;
const SCROLLBACK_LINES = 10_000;
/** Keys typed ahead while a command runs, at most (a paste of a page is more than type-ahead). */
const TYPEAHEAD_MAX_KEYS = 2_000;
/** Bracketed paste (DECSET 2004, turned on below): xterm wraps what is pasted in these. */
const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';
const SEARCH_OPTIONS: ISearchOptions = {
  decorations: {
    matchBackground: '#3a3a1e',
    matchOverviewRuler: '#e6b450',
    activeMatchBackground: '#7a5c12',
    activeMatchColorOverviewRuler: '#ffd866',
  },
};

export interface TerminalMeta {
  online?: boolean;
  /** Why the session ended; '' once `connect` opened a new one. */
  closed?: string;
  cwd?: string;
  running?: boolean;
  /** Keys typed ahead, readable ('' when none). */
  typeahead?: string;
  /** A short note for the line under the terminal. */
  note?: string;
  searching?: boolean;
}

/** The console's settings that live outside it (the store's "Tab moves focus"). */
export interface ConsoleKeyOptions {
  tabMovesFocus(): boolean;
  toggleTabMovesFocus(): void;
}

type State = 'idle' | 'submitting' | 'running' | 'closed';

export class ConsoleTerminal {
  readonly element: HTMLDivElement;
  readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly renderer = new OutputRenderer(showInstant);
  private readonly searchAddon = new SearchAddon();
  private readonly searchListeners = new Set<(result: { index: number; count: number }) => void>();
  private readonly searchRequests = new Set<() => void>();
  /** Keys typed while a command runs: replayed, in order, once the prompt is back. */
  private typeahead: Key[] = [];
  private state: State = 'idle';
  /** main asks y/N before a response action (its console-confirm.ts): shown instead of the prompt. */
  private question: string | undefined;
  private line: LineState = EMPTY_LINE;
  private cursorRow = 0;
  private cwd: string;
  /** The device is online (device.state): Ctrl+C says whether it cancels on the device or here. */
  private deviceOnline: boolean;
  /** Ctrl+C was pressed during the running command (its late progress is not drawn). */
  private interrupted = false;
  private history: string[];
  private historyIndex: number;
  private historyDraft = '';
  private completing = false;
  private ackPending = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  /** xterm's WebGL renderer draws this terminal (see terminalRenderer). */
  private webgl = false;
  /** Where the last table starts in the buffer (xterm moves it through scrolling and reflow). */
  private tableMarker: IMarker | undefined;
  private closedReason = '';
  /** Ctrl+Shift+V / Shift+Insert was pressed: the paste that follows goes in as one line. */
  private linePaste = false;
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
    private readonly keyOptions: ConsoleKeyOptions = {
      tabMovesFocus: () => false,
      toggleTabMovesFocus: () => undefined,
    },
    /** After a reload: what the console showed before it (main kept it), drawn instead of the greeting. */
    restored?: { replay: readonly ReplayEntry[]; trimmed: boolean; running: boolean },
  ) {
    this.tabId = session.id;
    this.session = session;
    this.cwd = session.cwd;
    this.deviceOnline = session.deviceOnline;
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
      // The search addon highlights every match with decorations, a proposed API of xterm.
      allowProposedApi: true,
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
    this.term.loadAddon(this.searchAddon);
    this.searchAddon.onDidChangeResults(({ resultIndex, resultCount }) => {
      for (const listener of this.searchListeners) listener({ index: resultIndex, count: resultCount });
    });
    this.term.open(this.element);
    if (terminalRenderer() === 'webgl') this.useWebgl();
    this.element.dataset.renderer = this.webgl ? 'webgl' : 'dom';
    registerEvidenceLinks(this.term);
    this.term.onData((data) => this.onInput(data));
    this.term.onResize(() => this.redrawLastTable());
    this.term.attachCustomKeyEventHandler((event) => this.onShortcut(event));
    // Bracketed paste: a paste is told apart from typing (parseKeys drops the markers).
    this.term.write('\x1b[?2004h');
    if (restored) {
      this.replay(restored.replay, restored.trimmed, restored.running);
      return;
    }
    this.write(
      `${SGR.dim}Connected to ${escapeControlChars(session.deviceName)} (${session.platform}), session ${session.id} opened by ${escapeControlChars(session.createdBy)}.\n` +
        `Type help for commands; Tab completes; Ctrl+C cancels on the device; Ctrl+Z sends a command to the background.${SGR.reset}\n`,
    );
    this.write(`${SGR.dim}${SHORTCUTS_LINE}.${SGR.reset}\n`);
    this.write(this.promptAndLine());
  }

  /**
   * xterm's WebGL renderer; the DOM renderer stays when WebGL is unavailable, or comes back when its context is lost.
   */
  private useWebgl(): void {
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        webgl.dispose();
        this.webgl = false;
        this.element.dataset.renderer = 'dom';
      });
      this.term.loadAddon(webgl);
      this.webgl = true;
    } catch {
      // No WebGL2 context here after all: the DOM renderer draws.
    }
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
    let tableAt: number | undefined;
    for (const item of items) {
      // After ^C, progress already on its way would draw a second bar under the ^C line.
      if (item.type === 'progress' && this.interrupted) continue;
      if (item.type === 'records') this.recordsWritten += item.records.length;
      const effects: RenderEffects = {};
      const before = out.length;
      out += this.renderer.render(item, cols, effects);
      if (effects.tableAt !== undefined) tableAt = before + effects.tableAt;
      if (effects.promptBack) {
        this.question = effects.question;
        if (effects.promptBack.cwd) this.cwd = effects.promptBack.cwd;
        this.state = 'idle';
        this.interrupted = false;
        promptNeeded = true;
        this.onMeta({ cwd: this.cwd, running: false });
      }
      if (effects.deviceOnline !== undefined) {
        this.deviceOnline = effects.deviceOnline;
        this.onMeta({ online: effects.deviceOnline });
      }
      if (effects.closed !== undefined) {
        this.state = 'closed';
        this.question = undefined;
        this.closedReason = effects.closed;
        promptNeeded = true;
        out += `${SGR.dim}type connect to open a new session on ${escapeControlChars(this.session.deviceName)}${SGR.reset}\n`;
        this.onMeta({ closed: effects.closed, running: false });
      }
    }
    if (promptNeeded && (this.state === 'idle' || this.state === 'closed')) out += this.promptAndLine();
    if (tableAt !== undefined) {
      this.write(out.slice(0, tableAt));
      this.term.write('', () => this.markTable());
      out = out.slice(tableAt);
    }
    this.write(out, weight);
    this.afterPromptBack();
  }

  // --- copy, paste, search -----------------------------------------------------------------------------

  /**
   * Copies the selection to the clipboard; nothing goes to the device. A copy event within the key's user
   * gesture (xterm puts its selection in it) needs no permission: Electron's session denies every one. The
   * asynchronous clipboard API is the fallback.
   */
  copySelection(): void {
    const text = this.term.getSelection();
    if (text === '') return;
    const copied = (): void => {
      this.term.clearSelection();
      this.onMeta({ note: `copied ${text.length.toLocaleString('en')} characters` });
    };
    let done = false;
    try {
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the one permission-free copy from a key handler
      done = document.execCommand('copy');
    } catch {
      done = false;
    }
    if (done) {
      copied();
      return;
    }
    navigator.clipboard
      .writeText(text)
      .then(copied, (e: unknown) => this.onMeta({ note: `could not copy: ${describeError(e)}` }));
  }

  /**
   * Ctrl+Shift+V / Shift+Insert: the browser's own paste follows the key (no permission needed) and arrives
   * bracketed in onData, where it becomes one line. If none arrives, the clipboard API is asked instead.
   */
  private pasteAsLine(): void {
    this.linePaste = true;
    setTimeout(() => {
      if (!this.linePaste) return;
      this.linePaste = false;
      navigator.clipboard.readText().then(
        (text) => this.insertPasted(text),
        (e: unknown) => this.onMeta({ note: `could not paste: ${describeError(e)}` }),
      );
    }, 0);
  }

  /** Pasted text goes into the line editor as one line: a pasted newline never runs a command. */
  private insertPasted(text: string): void {
    const line = text.replace(/\r\n|\r|\n/g, ' ').replace(/[\x00-\x1f\x7f]/g, '');
    if (line === '') {
      this.onMeta({ note: 'nothing to paste: the clipboard holds no text' });
      return;
    }
    this.onInput(line);
  }

  /** Next (or previous) match of `text` in the scrollback; false when there is none. */
  find(text: string, direction: 'next' | 'previous', incremental = false): boolean {
    if (text === '') {
      this.searchAddon.clearDecorations();
      return false;
    }
    return direction === 'next'
      ? this.searchAddon.findNext(text, { ...SEARCH_OPTIONS, incremental })
      : this.searchAddon.findPrevious(text, SEARCH_OPTIONS);
  }

  onSearchResults(listener: (result: { index: number; count: number }) => void): () => void {
    this.searchListeners.add(listener);
    return () => this.searchListeners.delete(listener);
  }

  /** Ctrl+F: opens the search bar, or gives it the focus again if it is open. */
  openSearch(): void {
    this.onMeta({ searching: true });
    for (const listener of this.searchRequests) listener();
  }

  onSearchRequest(listener: () => void): () => void {
    this.searchRequests.add(listener);
    return () => this.searchRequests.delete(listener);
  }

  /** Escape in the search bar: the highlights go, the focus comes back to the terminal. */
  closeSearch(): void {
    this.searchAddon.clearDecorations();
    this.onMeta({ searching: false });
    this.focus();
  }

  /** For tests (the test hook): selects the first occurrence of `text` in the buffer with xterm's select API. */
  selectFirst(text: string): boolean {
    const buffer = this.term.buffer.active;
    for (let row = 0; row < buffer.length; row += 1) {
      const column = buffer.getLine(row)?.translateToString(true).indexOf(text) ?? -1;
      if (column >= 0) {
        this.term.select(column, row, text.length);
        return true;
      }
    }
    return false;
  }

  get selection(): string {
    return this.term.getSelection();
  }

  /**
   * Keys the console handles itself before xterm sees them; false keeps them from the terminal. For Tab
   * while "Tab moves focus" is on nothing is prevented: the browser moves the focus.
   */
  private onShortcut(event: KeyboardEvent): boolean {
    const action = consoleKeyAction(event, this.term.hasSelection(), this.keyOptions.tabMovesFocus());
    switch (action.kind) {
      case 'terminal':
        return true;
      case 'leave':
        return false;
      case 'copy':
        event.preventDefault();
        this.copySelection();
        return false;
      case 'paste':
        // Not prevented: the browser's paste (Ctrl+Shift+V is "paste as plain text") is what brings the text.
        this.pasteAsLine();
        return false;
      case 'search':
        event.preventDefault();
        this.openSearch();
        return false;
      case 'toggleTabFocus':
        event.preventDefault();
        this.keyOptions.toggleTabMovesFocus();
        return false;
      default:
        // Tab shortcuts: the Consoles page handles them.
        return false;
    }
  }

  private markTable(): void {
    this.tableMarker?.dispose();
    this.tableMarker = this.disposed ? undefined : this.term.registerMarker(0);
  }

  /**
   * At a new width, the last table is drawn again in place (its long cells wrap at the new width) when
   * the console is idle, nothing but the prompt came after it, and it starts on the screen (lines in the
   * scrollback cannot be rewritten).
   */
  private redrawLastTable(): void {
    const marker = this.tableMarker;
    if (this.state !== 'idle' || !marker || marker.isDisposed || marker.line < 0) return;
    const row = marker.line - this.term.buffer.active.baseY;
    if (row < 0) return;
    const table = this.renderer.redrawLastTable(this.term.cols);
    if (table === undefined) return;
    this.cursorRow = 0;
    this.write(`\x1b[${row + 1};1H\x1b[J${table}${this.promptAndLine()}`);
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
    // xterm parses one write at a time and yields to the page only between writes: a 200 000-character
    // batch in one write kept clicks waiting ~150 ms. Pieces of a few dozen KB let it yield every ~12 ms,
    // and each acknowledges its share of the weight once parsed, so main sends the next batch while this
    // one is still being parsed.
    for (const piece of writePieces(text, weight))
      this.term.write(piece.text, piece.weight > 0 ? () => this.acknowledge(piece.weight) : undefined);
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

  private prompt(folder = this.cwd): { text: string; width: number } {
    if (this.question !== undefined)
      return {
        text: `${SGR.yellow}${escapeControlChars(this.question)}${SGR.reset}`,
        width: displayWidth(escapeControlChars(this.question)),
      };
    const device = escapeControlChars(this.session.deviceName);
    const cwd = escapeControlChars(folder);
    return {
      text: `${SGR.green}${device}${SGR.reset}:${SGR.blue}${cwd}${SGR.reset}> `,
      width: displayWidth(`${device}:${cwd}> `),
    };
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
    if (this.linePaste && data.startsWith(PASTE_START)) {
      this.linePaste = false;
      this.insertPasted(data.slice(PASTE_START.length, data.endsWith(PASTE_END) ? -PASTE_END.length : undefined));
      return;
    }
    for (const key of parseKeys(data)) this.onKey(key);
  }

  private onKey(key: Key): void {
    if (this.state === 'closed' && key.kind === 'tab') return;
    if (this.state === 'running' || this.state === 'submitting') {
      if (key.kind !== 'interrupt' && key.kind !== 'suspend') {
        this.typeAhead(key);
        return;
      }
      if (key.kind === 'interrupt') this.dropTypeahead('Ctrl+C');
      if (key.kind === 'interrupt') {
        // While the device is offline main ends the command here and says so (nothing reaches the device).
        this.write(
          `${this.renderer.endLine()}${SGR.dim}^C${this.deviceOnline ? ' (cancelling on the device)' : ''}${SGR.reset}\n`,
        );
        this.interrupted = true;
        this.renderer.markLineStart();
        void lr.invoke('lr:sessions.cancel', { sessionId: this.session.id });
      } else if (key.kind === 'suspend') {
        this.write(`${this.renderer.endLine()}${SGR.dim}^Z${SGR.reset}\n`);
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
        if (this.question !== undefined) void this.answer('');
        else this.write(this.promptAndLine());
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
    const end = redraw(
      prompt.text,
      prompt.width,
      { text: this.line.text, cursor: this.line.text.length },
      this.term.cols,
      this.cursorRow,
    );
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
    if (this.question !== undefined) return this.answer(text);
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
      else
        this.write(
          `${SGR.dim}already connected to ${escapeControlChars(this.session.deviceName)}${SGR.reset}\n${this.promptAndLine()}`,
        );
      return;
    }
    if (this.state === 'closed') {
      this.write(
        `${SGR.yellow}not sent: this session is closed (${escapeControlChars(this.closedReason)}); its output stays readable here. ` +
          `Type connect to open a new session on ${escapeControlChars(this.session.deviceName)}, or close the tab.${SGR.reset}\n${this.promptAndLine()}`,
      );
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
      this.write(`${SGR.red}${escapeControlChars(describeError(e))}${SGR.reset}\n${this.promptAndLine()}`);
      this.afterPromptBack();
    }
  }

  // --- type-ahead ------------------------------------------------------------------------------------------

  /** A key typed while a command runs: kept (shown under the terminal) and typed once the prompt is back. */
  private typeAhead(key: Key): void {
    if (this.typeahead.length >= TYPEAHEAD_MAX_KEYS) {
      this.onMeta({ note: `type-ahead is full (${TYPEAHEAD_MAX_KEYS} keys): this key was not kept` });
      return;
    }
    this.typeahead.push(key);
    this.onMeta({ typeahead: describeTypeahead(this.typeahead) });
  }

  private dropTypeahead(why: string): void {
    if (this.typeahead.length === 0) return;
    const text = describeTypeahead(this.typeahead);
    this.typeahead = [];
    this.onMeta({ typeahead: '' });
    this.write(`${SGR.dim}typed ahead, not sent (${why}): ${escapeControlChars(text)}${SGR.reset}\n`);
    this.renderer.markLineStart();
  }

  /** The prompt is back (or the session closed): what was typed ahead is typed now, in order. */
  private afterPromptBack(): void {
    if (this.typeahead.length === 0) return;
    if (this.state === 'closed') {
      const text = describeTypeahead(this.typeahead);
      this.typeahead = [];
      this.onMeta({ typeahead: '' });
      this.write(
        `${SGR.dim}typed ahead, not sent (the session closed): ${escapeControlChars(text)}${SGR.reset}\n${this.promptAndLine()}`,
      );
      return;
    }
    if (this.state !== 'idle') return;
    const keys = this.typeahead;
    this.typeahead = [];
    // An Enter among them submits a command: the keys after it go back to the type-ahead.
    for (const key of keys) this.onKey(key);
    this.onMeta({ typeahead: describeTypeahead(this.typeahead) });
  }

  // --- after a reload ------------------------------------------------------------------------------------

  /** Draws what the console showed before the reload: command lines with their prompt, then their output. */
  private replay(entries: readonly ReplayEntry[], trimmed: boolean, running: boolean): void {
    const cols = this.term.cols;
    let out =
      `${SGR.dim}Session ${this.session.id} on ${escapeControlChars(this.session.deviceName)}, restored after a reload of the page: ` +
      `${trimmed ? 'its most recent output' : 'its output so far'} (the Log and the case transcript keep every command).${SGR.reset}\n`;
    for (const entry of entries) {
      if (entry.type === 'input') {
        out += `${this.prompt(entry.cwd).text}${escapeControlChars(entry.line)}\n`;
        this.renderer.markLineStart();
        continue;
      }
      for (const item of entry.items) {
        const effects: RenderEffects = {};
        out += this.renderer.render(item, cols, effects);
        if (effects.promptBack?.cwd) this.cwd = effects.promptBack.cwd;
      }
    }
    this.state = running ? 'running' : 'idle';
    if (!running) out += this.promptAndLine();
    this.write(out);
  }

  /** The answer to main's y/N: a line goes as typed, Enter alone and Ctrl+C as a cancel (both mean no). */
  private async answer(text: string): Promise<void> {
    this.question = undefined;
    this.state = 'submitting';
    this.onMeta({ running: true });
    try {
      if (text === '') await call('lr:sessions.cancel', { sessionId: this.session.id });
      else await call('lr:sessions.run', { sessionId: this.session.id, line: text });
      if (this.state === 'submitting') this.state = 'running';
    } catch (e) {
      if (this.state !== 'submitting') return;
      this.state = 'idle';
      this.onMeta({ running: false });
      this.write(`${SGR.red}${escapeControlChars(describeError(e))}${SGR.reset}\n${this.promptAndLine()}`);
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
      // The service's refusal already reads "connect: …" (call() removed the IPC channel's name).
      const message = describeError(e);
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
    this.deviceOnline = next.deviceOnline;
    this.onMeta({ closed: '', online: next.deviceOnline, cwd: next.cwd });
    this.write(
      `${SGR.dim}Connected to ${escapeControlChars(next.deviceName)}, session ${next.id} opened by ${escapeControlChars(next.createdBy)}.${SGR.reset}\n`,
    );
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
      this.write(
        `${SGR.red}could not return to ${escapeControlChars(folder)}: ${escapeControlChars(describeError(e))}${SGR.reset}\n${this.promptAndLine()}`,
      );
    }
  }

  private async completeLine(): Promise<void> {
    if (this.completing) return;
    this.completing = true;
    const before = this.line;
    try {
      const result = await call('lr:sessions.complete', {
        sessionId: this.session.id,
        line: before.text,
        cursor: before.cursor,
      });
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
      this.showAboveInput(`${SGR.red}${escapeControlChars(describeError(e))}${SGR.reset}`);
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

/**
 * Which xterm renderer the consoles use: WebGL when the page has a hardware WebGL2 context, the DOM
 * renderer otherwise. Measured with `npm run bench -- console` on headless Debian Chromium, whose only GL is
 * software (SwiftShader): there WebGL gained no clear render time (1.56× its peer against the DOM's 2.21×,
 * back to back on a loaded machine) and made the page miss the 200 ms click bar (worst click 460 ms
 * against 234 ms, frame gaps up to 750 ms), every frame being rasterised on the CPUs that also parse. On a
 * GPU xterm's WebGL renderer takes the drawing off the CPU.
 * Tests may pick one with window.__lrTerminalRenderer (with the test hooks on).
 */
function terminalRenderer(): 'dom' | 'webgl' {
  const chosen = window.__lrTestHooks === true ? window.__lrTerminalRenderer : undefined;
  return chosen ?? (hardwareWebgl() ? 'webgl' : 'dom');
}

let hardwareGl: boolean | undefined;

/** Whether WebGL2 is there and drawn by a GPU (not SwiftShader, llvmpipe or another software rasteriser). */
function hardwareWebgl(): boolean {
  if (hardwareGl !== undefined) return hardwareGl;
  hardwareGl = false;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return hardwareGl;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    hardwareGl = renderer !== '' && !/swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  } catch {
    hardwareGl = false;
  }
  return hardwareGl;
}

declare global {
  interface Window {
    __lrTerminalRenderer?: 'dom' | 'webgl';
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
