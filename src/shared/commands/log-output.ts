/**
 * A command's output as the command log stores it, shown again as the console showed it. The service keeps
 * text as it came and each batch of records as one JSON array per line; this splits the two apart again and
 * renders records the console's way: a table with the command's columns (src/shared/commands/format.ts renderTable),
 * pretty JSON for `-output json`, `field  value` lines for a single record. Pure: no DOM, no Node.
 */
import { findCommand, tableFieldsFor } from './catalog.js';
import { escapeControlChars, formatCell, renderJson, renderTable, type TimeCellFormatter } from './format.js';
import { parseLine } from './grammar.js';

export type LogOutputPart = { kind: 'text'; text: string } | { kind: 'fields'; fields: [string, string][] };
type StoredPart = { kind: 'text'; text: string } | { kind: 'records'; records: Record<string, unknown>[] };

function recordBatch(line: string): Record<string, unknown>[] | undefined {
  if (!line.startsWith('[{') || !line.endsWith('}]')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (Array.isArray(value) && value.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r)))
      return value as Record<string, unknown>[];
  } catch {
    // a text line that only looks like a batch (or the cut end of a truncated log)
  }
  return undefined;
}

/** Text runs and record batches, in order; consecutive batches are merged (one table, as streamed). */
export function splitLogOutput(output: string): StoredPart[] {
  const parts: StoredPart[] = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const last = parts[parts.length - 1];
    // A batch is a whole line ending in a newline: the last piece (no newline after it) is text.
    const batch = i < lines.length - 1 ? recordBatch(line) : undefined;
    if (batch) {
      if (last?.kind === 'records') last.records.push(...batch);
      else parts.push({ kind: 'records', records: batch });
      continue;
    }
    const text = i < lines.length - 1 ? `${line}\n` : line;
    if (text === '') continue;
    if (last?.kind === 'text') last.text += text;
    else parts.push({ kind: 'text', text });
  }
  return parts;
}

function commandShape(commandLine: string): { output: 'json' | 'table' | undefined; columns: string[] | undefined } {
  try {
    const parsed = parseLine(commandLine);
    const spec = findCommand(parsed.name);
    return { output: parsed.output, columns: spec ? tableFieldsFor(spec, parsed.output) : undefined };
  } catch {
    return { output: undefined, columns: undefined };
  }
}

/**
 * The parts of a logged output ready to show: text (control characters made visible, layout kept), tables
 * (never cut: the viewer scrolls sideways), pretty JSON, or the fields of a single record.
 */
export function renderLogOutput(commandLine: string, output: string, formatTime?: TimeCellFormatter): LogOutputPart[] {
  const { output: format, columns } = commandShape(commandLine);
  const parts = splitLogOutput(output);
  const batches = parts.filter((p) => p.kind === 'records');
  return parts.map((part): LogOutputPart => {
    if (part.kind === 'text')
      return {
        kind: 'text',
        text: part.text
          .replace(/\r\n/g, '\n')
          .split(/([\n\t])/)
          .map((s) => (s === '\n' || s === '\t' ? s : escapeControlChars(s)))
          .join(''),
      };
    if (format === 'json') return { kind: 'text', text: `${renderJson(part.records)}\n` };
    const only = part.records[0];
    if (batches.length === 1 && part.records.length === 1 && only && !columns) {
      return {
        kind: 'fields',
        fields: Object.keys(only).map((key) => [escapeControlChars(key), formatCell(only[key], formatTime)]),
      };
    }
    // The console's headers and units (memory in MiB, durations), times in the analyst's zone.
    return { kind: 'text', text: `${renderTable(part.records, columns, { human: true, formatTime })}\n` };
  });
}

/** The whole output as one plain text (the detail panel's download): what the parts show, in order. */
export function logOutputText(parts: readonly LogOutputPart[]): string {
  return parts
    .map((p) => {
      if (p.kind !== 'fields') return p.text;
      const width = Math.min(24, Math.max(0, ...p.fields.map(([k]) => k.length)));
      return `${p.fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
    })
    .join('');
}
