/**
 * What the console cannot keep of one command's output, said in a footer and saved in full.
 *
 * The terminal keeps its last CONSOLE_SCROLLBACK_LINES lines, a case transcript the first
 * TRANSCRIPT_CAP_CHARS characters, the service's command log the first `logOutputBytes` (1 MiB unless an
 * administrator changed it) of the records as JSON lines. A findfile of 172 000 rows passes all three:
 * without a word, an analyst scrolling up or searching the case would take the part for the whole.
 *
 * So each command's output is counted as it streams. Below the limits it is only held (bounded: the limits
 * themselves bound it); the moment one is passed, what was held and everything after goes to a file in
 * the app data folder (a table with the command's columns, raw values, or JSON lines for `-output json`).
 * At the end the console stores that file as evidence in the active case and prints a footer (what was
 * cut where, then the evidence name).
 * Commands whose output fits leave nothing behind.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { planTable, renderTableHeader, renderTableRows, type TableLayout } from '../../shared/commands/format.js';
import type { ConsoleItem } from '../../shared/workstation/ipc-contract.js';
import { cachedTimeCell } from '../../shared/workstation/time-cell-cache.js';
import { formatInstant } from '../../shared/time-format.js';
import { noMatchNotice } from './no-match.js';
import { TRANSCRIPT_CAP_CHARS } from './transcript-capture.js';
import { describeError } from '../../shared/errors.js';

/** Lines the console's terminal keeps (its xterm scrollback, src/renderer/src/console/console-terminal.ts). */
export const CONSOLE_SCROLLBACK_LINES = 10_000;
/** The service's default `logOutputBytes` (src/server/config.ts); its administrators may change it. */
export const LOG_OUTPUT_DEFAULT_BYTES = 1024 * 1024;

export interface OverflowLimits {
  /** Lines of output (rows and text lines) from which the terminal may lose the beginning. */
  lines: number;
  /** Characters a transcript keeps. */
  transcriptChars: number;
  /** Bytes the command log keeps (as the service counts them: records as JSON lines). */
  logBytes: number;
}

/**
 * A margin under the scrollback: the prompt, notices and wrapped paths take lines too, so an output of
 * 9 500 rows can already push its own beginning out of 10 000 lines.
 */
export const DEFAULT_LIMITS: OverflowLimits = {
  lines: Math.floor(CONSOLE_SCROLLBACK_LINES * 0.9),
  transcriptChars: TRANSCRIPT_CAP_CHARS,
  logBytes: LOG_OUTPUT_DEFAULT_BYTES,
};

export interface Overflow {
  /** The full output, ready to be stored as evidence. */
  file: string;
  /** Its display name, e.g. `findfile-output.txt`. */
  name: string;
  rows: number;
  textLines: number;
  /** What was cut where, as sentences for the footer. */
  cuts: string[];
}

export class OutputOverflow {
  rows = 0;
  textLines = 0;
  private chars = 0;
  private logBytes = 0;
  private output: 'json' | 'table' | undefined;
  private tableFields: string[] | undefined;
  /** Items held until a limit is passed (then written to the file and dropped). */
  private held: ({ type: 'records'; records: Record<string, unknown>[] } | { type: 'text'; text: string })[] = [];
  private fd: number | undefined;
  private file: string | undefined;
  private layout: TableLayout | undefined;
  private failed: string | undefined;
  /** Times in UTC, as the CLI prints them; cached by second (a findfile's 150 000 rows share a few seconds). */
  private readonly formatTime = cachedTimeCell((iso) => formatInstant(iso, 'UTC'));

  constructor(
    private readonly dir: string,
    /** Command name, for the file name. */
    private readonly command: string,
    private readonly limits: OverflowLimits = DEFAULT_LIMITS,
  ) {}

  /** `recordsJson`: JSON.stringify(item.records) of a records item, when the caller has it already. */
  add(item: ConsoleItem, recordsJson?: string): void {
    switch (item.type) {
      case 'started':
        this.output = item.output;
        this.tableFields = item.tableFields;
        return;
      case 'records': {
        const n = item.records.length;
        this.rows += n;
        if (n > 0) {
          // The array's JSON is its records' JSON joined by commas, in brackets: take those n + 1 out
          // (and count one newline per record for the log's JSON lines).
          const json = recordsJson ?? JSON.stringify(item.records);
          this.logBytes += Buffer.byteLength(json) - 1;
          this.chars += json.length - n - 1;
        }
        this.keep({ type: 'records', records: item.records });
        return;
      }
      case 'text': {
        for (let i = item.text.indexOf('\n'); i !== -1; i = item.text.indexOf('\n', i + 1)) this.textLines += 1;
        this.logBytes += Buffer.byteLength(item.text);
        this.chars += item.text.length;
        this.keep({ type: 'text', text: item.text });
        return;
      }
      default:
        return;
    }
  }

  /** Whether the output passed a limit (its full copy is being written). */
  get spilled(): boolean {
    return this.file !== undefined;
  }

  /**
   * Ends the count: the full output when a limit was passed (the caller stores it, then removes nothing:
   * the evidence store moves the file), undefined otherwise. Throws when the file could not be written.
   */
  finish(): Overflow | undefined {
    this.held = [];
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.failed !== undefined) {
      if (this.file) rmSync(this.file, { force: true });
      throw new Error(this.failed);
    }
    if (!this.file) return undefined;
    const lines = this.rows + this.textLines;
    const cuts: string[] = [];
    if (lines > this.limits.lines)
      cuts.push(`the console keeps the last ${CONSOLE_SCROLLBACK_LINES.toLocaleString('en')} lines`);
    if (this.chars > this.limits.transcriptChars)
      cuts.push(`the case transcript the first ${kib(this.limits.transcriptChars)}`);
    if (this.logBytes > this.limits.logBytes)
      cuts.push(
        `the command log the first ${kib(this.limits.logBytes)} (its default limit; full size and SHA-256 always)`,
      );
    return { file: this.file, name: path.basename(this.file), rows: this.rows, textLines: this.textLines, cuts };
  }

  /** Removes a started file (the command's output is not to be kept after all, e.g. the session closed). */
  discard(): void {
    this.held = [];
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.file) rmSync(this.file, { force: true });
    this.file = undefined;
  }

  private over(): boolean {
    return (
      this.rows + this.textLines > this.limits.lines ||
      this.chars > this.limits.transcriptChars ||
      this.logBytes > this.limits.logBytes
    );
  }

  private keep(item: { type: 'records'; records: Record<string, unknown>[] } | { type: 'text'; text: string }): void {
    if (this.failed !== undefined) return;
    if (this.fd === undefined) {
      this.held.push(item);
      if (!this.over()) return;
      try {
        this.open();
      } catch (e) {
        this.failed = `could not save the full output: ${describeError(e)}`;
        this.held = [];
        return;
      }
      const held = this.held;
      this.held = [];
      // The layout comes from all the rows held so far: thousands of rows, representative widths.
      const rows: Record<string, unknown>[] = [];
      for (const h of held) if (h.type === 'records') for (const r of h.records) rows.push(r);
      if (this.output !== 'json') this.layout = planTable(rows, this.tableFields, { formatTime: this.formatTime });
      if (this.layout) this.write(`${renderTableHeader(this.layout).join('\n')}\n`);
      for (const h of held) this.writeItem(h);
      return;
    }
    this.writeItem(item);
  }

  private open(): void {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const ext = this.output === 'json' ? 'jsonl' : 'txt';
    const base = `${this.command.replace(/[^A-Za-z0-9_-]/g, '') || 'output'}-${stamp}-full-output`;
    let file = path.join(this.dir, `${base}.${ext}`);
    for (let i = 1; ; i += 1) {
      try {
        this.fd = openSync(file, 'wx', 0o600);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 100) throw e;
        file = path.join(this.dir, `${base}-${i}.${ext}`);
      }
    }
    this.file = file;
  }

  private writeItem(
    item: { type: 'records'; records: Record<string, unknown>[] } | { type: 'text'; text: string },
  ): void {
    if (item.type === 'text') {
      this.write(item.text);
      return;
    }
    if (this.output === 'json') {
      let s = '';
      for (const r of item.records) s += `${JSON.stringify(r)}\n`;
      this.write(s);
      return;
    }
    this.layout ??= planTable(item.records, this.tableFields, { formatTime: this.formatTime });
    if (!this.layout) return;
    const lines = renderTableRows(this.layout, item.records);
    if (lines.length > 0) this.write(`${lines.join('\n')}\n`);
  }

  private write(text: string): void {
    if (this.fd === undefined || this.failed !== undefined) return;
    try {
      writeSync(this.fd, text);
    } catch (e) {
      this.failed = `could not save the full output: ${describeError(e)}`;
    }
  }
}

function kib(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${Math.round(n / 1024).toLocaleString('en')} KiB`;
}

/** `172,000 rows: the console keeps the last 10,000 lines; the case transcript the first 1 MiB; …`. */
export function overflowFooter(o: Overflow): string {
  const amount = o.rows > 0 ? `${o.rows.toLocaleString('en')} rows` : `${o.textLines.toLocaleString('en')} lines`;
  return `${amount} of output: ${o.cuts.join('; ')}`;
}

export interface SettleOptions {
  overflow: OutputOverflow;
  /** The command line, for the "no match" notice. */
  line: string;
  platform: string;
  status: string;
  background: boolean;
  /** Stores the full output as evidence in the active case; absent: the file stays where it is. */
  store?:
    | ((
        file: string,
        name: string,
      ) => Promise<{ name: string; sha256: string; id?: string; caseId?: string; caseTitle?: string }>)
    | undefined;
  notice: (text: string, tone: 'info' | 'warn' | 'error') => void;
}

/**
 * After a command's output, before its prompt: the footer of an output the console could not keep (with
 * the full copy stored as evidence), or the notice of a search that found nothing.
 */
export async function settleOutput(o: SettleOptions): Promise<void> {
  if (o.background) {
    // Its output goes on in the background (status ID shows it); nothing more was shown here.
    o.overflow.discard();
    return;
  }
  let full: Overflow | undefined;
  try {
    full = o.overflow.finish();
  } catch (e) {
    o.notice(
      `${o.overflow.rows.toLocaleString('en')} rows of output: more than the console keeps, and ${describeError(e)}`,
      'error',
    );
    return;
  }
  if (!full) {
    if (o.status === 'completed' && o.overflow.rows === 0) {
      const none = noMatchNotice(o.line, o.platform);
      if (none) o.notice(none, 'info');
    }
    return;
  }
  o.notice(overflowFooter(full), 'warn');
  if (!o.store) {
    o.notice(`the full output was saved at ${full.file}`, 'warn');
    return;
  }
  try {
    const evidence = await o.store(full.file, full.name);
    const inCase = evidence.caseTitle === undefined ? 'the active case' : `the active case "${evidence.caseTitle}"`;
    o.notice(`the full output was saved as evidence ${evidence.name} in ${inCase} (sha256 ${evidence.sha256})`, 'warn');
    // The same reference line as a pulled file's (evidence-notice.ts): the terminal makes it a link to the item.
    if (evidence.caseId !== undefined && evidence.id !== undefined)
      o.notice(`  open it in Cases: evidence/${evidence.caseId}/${evidence.id}`, 'info');
  } catch (e) {
    o.notice(
      `the full output could not be stored as evidence (${describeError(e)}); it is kept at ${full.file}`,
      'error',
    );
  }
}
