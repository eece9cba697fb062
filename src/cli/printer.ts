/**
 * Prints one command's output on a terminal or a pipe: text as it comes; records as a table (the
 * catalog's table columns) or, with `-output json`, exactly the JSON records. Text from the device is
 * escaped so it cannot drive the analyst's terminal.
 */
import {
  escapeControlChars,
  planTable,
  renderJson,
  renderTable,
  renderTableHeader,
  renderTableRows,
  type TableLayout,
} from '../shared/commands/format.js';

/**
 * What a verified download prints. By default `SHA256  FILE` (the line sha256sum -c reads); with
 * `-output json|table`, the device's `file` and `file-end` records, every field or the table columns,
 * the last one carrying `savedAs`: where the file was written once its SHA-256 matched.
 */
export function renderTransfer(
  done: { records: readonly Record<string, unknown>[]; download: { file: string; sha256: string } },
  output: 'json' | 'table' | undefined,
  tableFields: readonly string[] | undefined,
  width?: number,
): string {
  if (output === undefined) return `${done.download.sha256}  ${escapeControlChars(done.download.file)}\n`;
  const records = done.records.map((r) => (r.type === 'file-end' ? { ...r, savedAs: done.download.file } : r));
  return (output === 'json' ? renderJson(records) : renderTable(records, tableFields, { maxWidth: width })) + '\n';
}

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
  /** A stream's layout, planned from its first batch: later batches keep its columns. */
  private layout: TableLayout | undefined;

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
    const first = this.layout === undefined;
    this.layout ??= planTable(batch, this.o.tableFields, { maxWidth: this.o.width });
    if (!this.layout) return;
    const lines = [...(first ? renderTableHeader(this.layout) : []), ...renderTableRows(this.layout, batch)];
    if (lines.length > 0) this.o.write(lines.join('\n') + '\n');
  }

  end(): void {
    if (this.o.output === 'json') {
      this.o.write(renderJson(this.records) + '\n');
      return;
    }
    if (this.records.length)
      this.o.write(renderTable(this.records, this.o.tableFields, { maxWidth: this.o.width }) + '\n');
  }
}
