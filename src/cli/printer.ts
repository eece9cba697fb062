/**
 * Prints one command's output on a terminal or a pipe: text as it comes; records as a table (the
 * catalog's table columns) or, with `-output json`, exactly the JSON records. Text from the device is
 * escaped so it cannot drive the analyst's terminal.
 */
import { escapeControlChars, renderJson, renderTable } from '../shared/format.js';

export interface PrinterOptions {
  output?: 'json' | 'table';
  tableFields?: readonly string[];
  /** Streaming: print each batch as it arrives (interactive shell); otherwise print all at the end. */
  streaming: boolean;
  write(s: string): void;
  width?: number;
}

export class Printer {
  private readonly records: Record<string, unknown>[] = [];
  private headerPrinted = false;

  constructor(private readonly o: PrinterOptions) {}

  text(t: string): void {
    // Newlines and tabs are layout; every other control character is shown escaped.
    const safe = t
      .replace(/\r\n/g, '\n')
      .split(/([\n\t])/)
      .map((part) => (part === '\n' || part === '\t' ? part : escapeControlChars(part)))
      .join('');
    this.o.write(safe);
  }

  add(batch: Record<string, unknown>[]): void {
    if (this.o.output === 'json' || !this.o.streaming) {
      for (const record of batch) this.records.push(record);
      return;
    }
    const table = renderTable(batch, this.o.tableFields, { maxWidth: this.o.width });
    if (!table) return;
    // Later batches of a stream (findfile) print without repeating the header.
    const lines = table.split('\n');
    this.o.write((this.headerPrinted ? lines.slice(2) : lines).join('\n') + '\n');
    this.headerPrinted = true;
  }

  end(): void {
    if (this.o.output === 'json') {
      this.o.write(renderJson(this.records) + '\n');
      return;
    }
    if (this.records.length) this.o.write(renderTable(this.records, this.o.tableFields, { maxWidth: this.o.width }) + '\n');
  }
}
