/**
 * The command log viewer's side in main: pages of the service's log (newest first, filtered), one entry
 * with its output, the filter menus, and exports (CSV or JSON) of everything matching the filters.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExportResult, LogFacets, LogFilter, LogPage } from '../../shared/workstation/ipc-contract.js';
import type { CommandLogQuery, CommandLogRecord, CommandLogSummary } from '../../shared/wire/protocol.js';
import type { Workspace } from './workspace.js';
import { csvTable } from '../../shared/csv.js';

const EXPORT_PAGE = 5_000;
/** The browser shell hands exports up to this size back to the page for a download. */
const MAX_INLINE_EXPORT_CHARS = 64 * 1024 * 1024;

export const CSV_COLUMNS = [
  'id',
  'startedAt',
  'endedAt',
  'durationMs',
  'user',
  'deviceName',
  'deviceId',
  'sessionId',
  'status',
  'commandLine',
  'error',
  'outputSize',
  'outputSha256',
  'background',
] as const;

/** Where an export goes: Electron asks the user (undefined: cancelled); the browser shell picks exports/. */
export type ExportTarget = (suggestedName: string) => Promise<string | undefined>;

export class CommandLogService {
  constructor(
    private readonly workspace: Workspace,
    /** Electron passes a save dialog; undefined: write into the app data folder's exports/. */
    private readonly pickExportFile?: ExportTarget,
  ) {}

  async query(q: LogFilter & { offset: number; limit: number }): Promise<LogPage> {
    return this.workspace.current().rest.queryLog({ ...toServiceFilter(q), offset: q.offset, limit: q.limit });
  }

  get(id: string): Promise<CommandLogRecord> {
    return this.workspace.current().rest.logEntry(id);
  }

  facets(): Promise<LogFacets> {
    return this.workspace.current().rest.logFacets();
  }

  async export(format: 'csv' | 'json', filter: LogFilter): Promise<ExportResult> {
    const rest = this.workspace.current().rest;
    const rows: CommandLogSummary[] = [];
    for (let offset = 0; ; offset += EXPORT_PAGE) {
      const page = await rest.queryLog({ ...toServiceFilter(filter), offset, limit: EXPORT_PAGE });
      rows.push(...page.items);
      if (page.items.length < EXPORT_PAGE || rows.length >= page.total) break;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const fileName = `command-log-${stamp}.${format}`;
    const content = format === 'csv' ? toCsv(rows) : `${JSON.stringify(rows, null, 2)}\n`;
    return deliverExport(this.workspace, this.pickExportFile, fileName, content, rows.length);
  }
}

/**
 * Writes an export where the host wants it: Electron's save dialog (`pick`), else the app data folder's
 * exports/, the content then also handed back to the page for a download (the browser shell).
 */
export async function deliverExport(
  workspace: Workspace,
  pick: ExportTarget | undefined,
  fileName: string,
  content: string,
  count: number,
): Promise<ExportResult> {
  if (pick) {
    const file = await pick(fileName);
    if (!file) return { fileName, count };
    writeFileSync(file, content, { mode: 0o600 });
    return { path: file, fileName, count };
  }
  const paths = workspace.paths;
  if (!paths) throw new Error('no app data folder');
  const file = path.join(paths.exports, fileName);
  writeFileSync(file, content, { mode: 0o600 });
  return { path: file, fileName, count, ...(content.length <= MAX_INLINE_EXPORT_CHARS ? { content } : {}) };
}

function toServiceFilter(filter: LogFilter): CommandLogQuery {
  const q: CommandLogQuery = {};
  if (filter.device) q.deviceId = filter.device;
  if (filter.user) q.user = filter.user;
  if (filter.status) q.status = filter.status;
  if (filter.since) q.since = filter.since;
  if (filter.until) q.until = filter.until;
  if (filter.text) q.text = filter.text;
  return q;
}

/** RFC 4180: one header line, one line per command (newlines inside fields are quoted, not raw). */
export function toCsv(rows: readonly CommandLogSummary[]): string {
  return csvTable(CSV_COLUMNS, rows as unknown as Record<string, unknown>[]);
}
