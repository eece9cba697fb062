/**
 * Turns what a console shows for one command into its transcript text: the prompt line, text output,
 * records rendered the way the terminal renders them (a table with human units, or JSON), and the
 * console's notices. The capture keeps at most `cap` characters; past that it only counts, so a 20 MB
 * listing costs the transcript one cap's worth of memory. Notices that come after the cut (the footer
 * saying where the full output went) are still kept, at the end, within the cap: they say what is missing.
 */
import { renderJson, renderTable } from '../../shared/commands/format.js';
import type { ConsoleItem } from '../../shared/workstation/ipc-contract.js';

/** Characters of output one transcript entry keeps. */
export const TRANSCRIPT_CAP_CHARS = 1024 * 1024;
/** Characters of notices kept after the cut (a few footer lines; a flood of notices is cut too). */
const TAIL_CAP_CHARS = 4096;

export interface CapturedOutput {
  output: string;
  truncated: boolean;
}

export class TranscriptCapture {
  private readonly parts: string[] = [];
  private chars = 0;
  private truncated = false;
  private output: 'json' | 'table' | undefined;
  private tableFields: string[] | undefined;
  /** Records of the current run of record batches, rendered together (one table, one header). */
  private records: Record<string, unknown>[] = [];
  private recordChars = 0;
  /** Notices after the cut. */
  private tail = '';

  constructor(private readonly cap = TRANSCRIPT_CAP_CHARS) {}

  add(item: ConsoleItem): void {
    switch (item.type) {
      case 'started':
        this.output = item.output;
        this.tableFields = item.tableFields;
        return;
      case 'records':
        for (const record of item.records) {
          if (this.truncated) return;
          // A rough size, to stop collecting once the rendered table would pass the cap anyway.
          this.recordChars += JSON.stringify(record).length;
          if (this.chars + this.recordChars > this.cap) {
            this.flushRecords();
            this.truncated = true;
            return;
          }
          this.records.push(record);
        }
        return;
      case 'text':
        this.flushRecords();
        this.push(item.text);
        return;
      case 'notice':
        this.flushRecords();
        if (this.truncated) {
          if (this.tail.length + item.text.length < TAIL_CAP_CHARS) this.tail += `${item.text}\n`;
        } else this.push(`${item.text}\n`);
        return;
      default:
        return;
    }
  }

  finish(): CapturedOutput {
    this.flushRecords();
    const output = this.parts.join('');
    if (!this.tail) return { output, truncated: this.truncated };
    let cut = Math.max(0, this.cap - this.tail.length - 1);
    const last = output.charCodeAt(cut - 1);
    if (cut < output.length && last >= 0xd800 && last <= 0xdbff) cut -= 1; // never half a surrogate pair
    const kept = output.slice(0, cut);
    return { output: `${kept}${kept.endsWith('\n') || kept === '' ? '' : '\n'}${this.tail}`, truncated: true };
  }

  private flushRecords(): void {
    if (this.records.length === 0) return;
    const rendered =
      this.output === 'json' ? renderJson(this.records) : renderTable(this.records, this.tableFields, { human: true });
    this.records = [];
    this.recordChars = 0;
    this.push(`${rendered}\n`);
  }

  private push(text: string): void {
    if (this.truncated) return;
    const room = this.cap - this.chars;
    if (text.length > room) {
      this.parts.push(text.slice(0, Math.max(0, room)));
      this.chars = this.cap;
      this.truncated = true;
      return;
    }
    this.parts.push(text);
    this.chars += text.length;
  }
}
