/**
 * Turns a session's console items (pushed by main) into terminal text: tables fitted to the terminal's
 * width (streamed batches after the first print without their header), JSON pretty-printed at the end,
 * progress bars redrawn in place, notices and errors in colour. Everything from the device is escaped
 * (src/shared/commands/format.ts) so it cannot drive the terminal. Pure: no DOM, no xterm.
 */
import type { ConsoleItem } from '../../../shared/workstation/ipc-contract.js';
import {
  escapeControlChars,
  formatCell,
  formatDuration,
  planTable,
  renderJson,
  renderProgress,
  renderTableHeader,
  renderTableRows,
  type TableLayout,
  type TableOptions,
  type TimeCellFormatter,
} from '../../../shared/commands/format.js';
import { cachedTimeCell } from '../../../shared/workstation/time-cell-cache.js';
import { formatInstant } from '../../../shared/time-format.js';
import { assertNever } from '../../../shared/assert-never.js';

export const SGR = {
  reset: '\x1b[0m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  cyan: '\x1b[36m',
  bold: '\x1b[1m',
  inverse: '\x1b[7m',
} as const;

/** Rows of the last table kept to redraw it at a new width (a longer table cannot be all on screen anyway). */
export const REDRAW_MAX_ROWS = 1_000;

interface CommandView {
  output: 'json' | 'table' | undefined;
  tableFields: string[] | undefined;
  /** Planned from the first batch; later batches of a stream use it, so the columns never jump. */
  layout: TableLayout | undefined;
  json: Record<string, unknown>[];
  /** Single records without table columns print as `field: value` lines (fileinfo, status). */
  pendingSingle: Record<string, unknown>[];
}

/** What rendering an item means for the console around it. */
export interface RenderEffects {
  /** The foreground command is over: show the prompt (with this directory, when it changed). */
  promptBack?: { cwd?: string | undefined };
  deviceOnline?: boolean;
  closed?: string;
  /** A background job ended: reprint the prompt if the console is idle. */
  backgroundNotice?: boolean;
  /** A y/N to answer: this prompt replaces the usual one until the next line is sent. */
  question?: string;
  /** A table's header starts at this index of the returned text (for redrawing it on resize). */
  tableAt?: number;
}

/** The last table shown, while nothing but the prompt came after it. */
interface LastTable {
  tableFields: string[] | undefined;
  records: Record<string, unknown>[];
}

export class OutputRenderer {
  /** `formatTime`: how record times show (the console passes the zone chosen in Settings; default UTC). */
  constructor(private readonly formatTime: TimeCellFormatter = (iso) => formatInstant(iso, 'UTC')) {
    this.tableTime = cachedTimeCell(formatTime);
  }

  /** Table times, cached by second; a new one per command (a zone changed in Settings applies from the next). */
  private tableTime: TimeCellFormatter;

  private tableOptions(cols: number): TableOptions {
    return { maxWidth: Math.max(20, cols - 1), human: true, numberWidth: 7, formatTime: this.tableTime };
  }

  private command: CommandView | undefined;
  private lastTable: LastTable | undefined;
  private progressShown = false;
  /** Whether the last character written ended a line (new output starts at column 0). */
  private atLineStart = true;

  /** Renders one item at the terminal's current width. */
  render(item: ConsoleItem, cols: number, effects: RenderEffects): string {
    const out = this.renderItem(item, cols, effects);
    // Anything shown after a table (a notice, the next command) ends its chance of a redraw.
    if (out !== '' && item.type !== 'records' && item.type !== 'end') this.lastTable = undefined;
    return out;
  }

  /**
   * The last table again at `cols` (all its rows, planned afresh), or undefined when something else was
   * shown after it, or it was too long to keep. The terminal erases the old one and writes this in its place.
   */
  redrawLastTable(cols: number): string | undefined {
    const last = this.lastTable;
    if (!last || this.command) return undefined;
    const layout = planTable(last.records, last.tableFields, this.tableOptions(cols));
    if (!layout) return undefined;
    const [header, rule] = renderTableHeader(layout);
    const lines = [
      `${SGR.bold}${header}${SGR.reset}`,
      `${SGR.dim}${rule}${SGR.reset}`,
      ...renderTableRows(layout, last.records),
    ];
    this.atLineStart = true;
    return `${lines.join('\n')}\n`;
  }

  private renderItem(item: ConsoleItem, cols: number, effects: RenderEffects): string {
    switch (item.type) {
      case 'started':
        this.tableTime = cachedTimeCell(this.formatTime);
        this.command = {
          output: item.output,
          tableFields: item.tableFields,
          layout: undefined,
          json: [],
          pendingSingle: [],
        };
        this.lastTable = undefined;
        return '';
      case 'text':
        return this.plain(safeText(item.text));
      case 'records':
        return this.records(item.records, cols, effects);
      case 'progress': {
        const line = renderProgress(
          { bytes: item.bytes, total: item.total, rateBytesPerSec: item.rate, etaSec: item.eta },
          Math.max(10, cols - 1),
        );
        const out = `${this.progressShown ? '\r\x1b[2K' : this.lineBreakIfNeeded()}${SGR.cyan}${line}${SGR.reset}`;
        this.progressShown = true;
        this.atLineStart = false;
        return out;
      }
      case 'notice': {
        const colour = item.tone === 'error' ? SGR.red : item.tone === 'warn' ? SGR.yellow : SGR.cyan;
        return this.line(`${colour}${escapeControlChars(item.text)}${SGR.reset}`);
      }
      case 'end': {
        let out = this.finishCommand();
        if (item.background && item.status === 'running') {
          this.lastTable = undefined;
          out += this.line(
            `${SGR.dim}[${item.commandId ?? '?'}] running in the background (fg ${item.commandId ?? 'ID'} brings it back)${SGR.reset}`,
          );
        } else if (item.status !== 'completed') {
          this.lastTable = undefined;
          out += this.line(`${SGR.red}${escapeControlChars(item.error ?? item.status)}${SGR.reset}`);
        }
        out += this.lineBreakIfNeeded();
        effects.promptBack = { cwd: item.cwd };
        return out;
      }
      case 'bgend': {
        effects.backgroundNotice = true;
        const colour = item.status === 'completed' ? SGR.green : SGR.red;
        const error = item.error ? `: ${escapeControlChars(item.error)}` : '';
        return this.line(
          `${colour}[${item.commandId}] ${item.status}${error}${SGR.reset} ${SGR.dim}(${formatDuration(item.durationMs)}; status ${item.commandId} shows its output)${SGR.reset}`,
        );
      }
      case 'question':
        effects.promptBack = {};
        effects.question = item.prompt;
        return (
          this.finishCommand() +
          item.lines.map((l) => this.line(`${SGR.yellow}${escapeControlChars(l)}${SGR.reset}`)).join('')
        );
      case 'device':
        effects.deviceOnline = item.online;
        return this.line(
          item.online
            ? `${SGR.green}*** the device is back online ***${SGR.reset}`
            : `${SGR.yellow}${SGR.inverse} the device went offline ${SGR.reset}${SGR.yellow} commands fail until it is back; Ctrl+C ends a running one here, and nothing runs again by itself${SGR.reset}`,
        );
      case 'closed':
        effects.closed = item.reason;
        this.command = undefined;
        return this.line(`${SGR.yellow}session closed: ${escapeControlChars(item.reason)}${SGR.reset}`);
      default:
        return assertNever(item, 'console item');
    }
  }

  /**
   * Ends the line in progress (a progress bar stays as it was, on its own line): for text the terminal writes itself
   * (^C).
   */
  endLine(): string {
    return this.clearProgress() + this.lineBreakIfNeeded();
  }

  /** Lines (LF) written so far begin at column 0 again, e.g. after the prompt line was submitted. */
  markLineStart(): void {
    // The terminal wrote something of its own (a submitted line, ^C): the last table is no longer last.
    this.lastTable = undefined;
    this.atLineStart = true;
    this.progressShown = false;
  }

  private records(records: Record<string, unknown>[], cols: number, effects: RenderEffects): string {
    const command = (this.command ??= {
      output: undefined,
      tableFields: undefined,
      layout: undefined,
      json: [],
      pendingSingle: [],
    });
    if (command.output === 'json') {
      for (const record of records) command.json.push(record);
      return '';
    }
    if (!command.tableFields && !command.layout && command.pendingSingle.length === 0 && records.length === 1) {
      // Maybe a single-record answer (fileinfo): wait for the end or a second batch to decide.
      command.pendingSingle.push(records[0] as Record<string, unknown>);
      return '';
    }
    const batch = command.pendingSingle.length > 0 ? [...command.pendingSingle.splice(0), ...records] : records;
    return this.table(batch, cols, effects);
  }

  private table(batch: readonly Record<string, unknown>[], cols: number, effects: RenderEffects): string {
    const command = this.command;
    if (!command) return '';
    const prefix = this.clearProgress();
    let lines: string[];
    if (command.layout) {
      lines = renderTableRows(command.layout, batch);
    } else {
      const layout = planTable(batch, command.tableFields, this.tableOptions(cols));
      if (!layout) return prefix;
      command.layout = layout;
      const [header, rule] = renderTableHeader(layout);
      lines = [`${SGR.bold}${header}${SGR.reset}`, `${SGR.dim}${rule}${SGR.reset}`, ...renderTableRows(layout, batch)];
      this.lastTable = { tableFields: command.tableFields, records: [] };
      effects.tableAt = prefix.length;
    }
    const last = this.lastTable;
    if (last) {
      if (last.records.length + batch.length > REDRAW_MAX_ROWS) this.lastTable = undefined;
      else for (const record of batch) last.records.push(record);
    }
    if (lines.length === 0) return prefix;
    this.atLineStart = true;
    return `${prefix}${lines.join('\n')}\n`;
  }

  private finishCommand(): string {
    const command = this.command;
    this.command = undefined;
    if (!command) return this.clearProgress();
    let out = this.clearProgress();
    if (command.output === 'json' && command.json.length > 0) out += this.plain(`${renderJson(command.json)}\n`);
    const single = command.pendingSingle[0];
    if (single) {
      this.lastTable = undefined;
      const keys = Object.keys(single);
      const width = Math.min(24, Math.max(...keys.map((k) => k.length)));
      const lines = keys.map(
        (key) =>
          `${SGR.dim}${escapeControlChars(key).padEnd(width)}${SGR.reset}  ${formatCell(single[key], this.formatTime)}`,
      );
      out += this.plain(`${lines.join('\n')}\n`);
    }
    return out;
  }

  private clearProgress(): string {
    if (!this.progressShown) return '';
    this.progressShown = false;
    this.atLineStart = true;
    return '\r\n';
  }

  private lineBreakIfNeeded(): string {
    if (this.atLineStart) return '';
    this.atLineStart = true;
    return '\n';
  }

  private line(text: string): string {
    const out = `${this.clearProgress()}${this.lineBreakIfNeeded()}${text}\n`;
    this.atLineStart = true;
    return out;
  }

  private plain(text: string): string {
    if (text === '') return '';
    const out = this.clearProgress() + text;
    this.atLineStart = text.endsWith('\n');
    return out;
  }
}

/**
 * Console tables: human units, room for a 7-digit pid in a stream's later batches, and one column of the
 * terminal left free (xterm wraps a line that fills the last column).
 */

/** Newlines and tabs are layout; every other control character is shown escaped. */
export function safeText(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split(/([\n\t])/)
    .map((part) => (part === '\n' || part === '\t' ? part : escapeControlChars(part)))
    .join('');
}
