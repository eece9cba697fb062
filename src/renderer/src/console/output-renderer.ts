/**
 * Turns a session's console items (pushed by main) into terminal text: tables fitted to the terminal's
 * width (streamed batches after the first print without their header), JSON pretty-printed at the end,
 * progress bars redrawn in place, notices and errors in colour. Everything from the device is escaped
 * (src/shared/format.ts) so it cannot drive the terminal. Pure: no DOM, no xterm.
 */
import type { ConsoleItem } from '../../../shared/ipc-contract.js';
import { escapeControlChars, formatCell, formatDuration, renderJson, renderProgress, renderTable, type TimeCellFormatter } from '../../../shared/format.js';
import { formatInstant } from '../../../shared/time-format.js';

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

interface CommandView {
  output: 'json' | 'table' | undefined;
  tableFields: string[] | undefined;
  headerPrinted: boolean;
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
}

export class OutputRenderer {
  /** `formatTime`: how record times show (the console passes the zone chosen in Settings; default UTC). */
  constructor(private readonly formatTime: TimeCellFormatter = (iso) => formatInstant(iso, 'UTC')) {}

  private command: CommandView | undefined;
  private progressShown = false;
  /** Whether the last character written ended a line (new output starts at column 0). */
  private atLineStart = true;

  /** Renders one item at the terminal's current width. */
  render(item: ConsoleItem, cols: number, effects: RenderEffects): string {
    switch (item.k) {
      case 'started':
        this.command = { output: item.output, tableFields: item.tableFields, headerPrinted: false, json: [], pendingSingle: [] };
        return '';
      case 'text':
        return this.plain(safeText(item.text));
      case 'records':
        return this.records(item.records, cols);
      case 'progress': {
        const line = renderProgress({ bytes: item.bytes, total: item.total, rateBytesPerSec: item.rate, etaSec: item.eta }, Math.max(10, cols - 1));
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
          out += this.line(`${SGR.dim}[${item.commandId ?? '?'}] running in the background (fg ${item.commandId ?? 'ID'} brings it back)${SGR.reset}`);
        } else if (item.status !== 'completed') {
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
        return this.line(`${colour}[${item.commandId}] ${item.status}${error}${SGR.reset} ${SGR.dim}(${formatDuration(item.durationMs)}; status ${item.commandId} shows its output)${SGR.reset}`);
      }
      case 'device':
        effects.deviceOnline = item.online;
        return this.line(
          item.online
            ? `${SGR.green}*** the device is back online ***${SGR.reset}`
            : `${SGR.yellow}${SGR.inverse} the device went offline ${SGR.reset}${SGR.yellow} commands fail until it is back; this console resumes then${SGR.reset}`,
        );
      case 'closed':
        effects.closed = item.reason;
        this.command = undefined;
        return this.line(`${SGR.yellow}session closed: ${escapeControlChars(item.reason)}${SGR.reset}`);
    }
  }

  /** Lines (LF) written so far begin at column 0 again, e.g. after the prompt line was submitted. */
  markLineStart(): void {
    this.atLineStart = true;
    this.progressShown = false;
  }

  private records(records: Record<string, unknown>[], cols: number): string {
    const command = (this.command ??= { output: undefined, tableFields: undefined, headerPrinted: false, json: [], pendingSingle: [] });
    if (command.output === 'json') {
      for (const record of records) command.json.push(record);
      return '';
    }
    if (!command.tableFields && !command.headerPrinted && command.pendingSingle.length === 0 && records.length === 1) {
      // Maybe a single-record answer (fileinfo): wait for the end or a second batch to decide.
      command.pendingSingle.push(records[0] as Record<string, unknown>);
      return '';
    }
    const batch = command.pendingSingle.length > 0 ? [...command.pendingSingle.splice(0), ...records] : records;
    return this.table(batch, cols);
  }

  private table(batch: readonly Record<string, unknown>[], cols: number): string {
    const command = this.command;
    if (!command) return '';
    const table = renderTable(batch, command.tableFields, { maxWidth: Math.max(20, cols - 1), formatTime: this.formatTime });
    if (!table) return '';
    const lines = table.split('\n');
    const shown = command.headerPrinted ? lines.slice(2) : [`${SGR.bold}${lines[0] ?? ''}${SGR.reset}`, `${SGR.dim}${lines[1] ?? ''}${SGR.reset}`, ...lines.slice(2)];
    command.headerPrinted = true;
    return this.plain(`${shown.join('\n')}\n`);
  }

  private finishCommand(): string {
    const command = this.command;
    this.command = undefined;
    if (!command) return this.clearProgress();
    let out = this.clearProgress();
    if (command.output === 'json' && command.json.length > 0) out += this.plain(`${renderJson(command.json)}\n`);
    const single = command.pendingSingle[0];
    if (single) {
      const keys = Object.keys(single);
      const width = Math.min(24, Math.max(...keys.map((k) => k.length)));
      const lines = keys.map((key) => `${SGR.dim}${escapeControlChars(key).padEnd(width)}${SGR.reset}  ${formatCell(single[key], this.formatTime)}`);
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

/** Newlines and tabs are layout; every other control character is shown escaped. */
export function safeText(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split(/([\n\t])/)
    .map((part) => (part === '\n' || part === '\t' ? part : escapeControlChars(part)))
    .join('');
}
