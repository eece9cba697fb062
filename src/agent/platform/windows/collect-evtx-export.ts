/**
 * A live event log cannot be copied: the event log service holds its .evtx file open without sharing it.
 * The Event Log API can still export the channel to a new file (EvtExportLog, wevtapi.dll), which is what
 * `collect` falls back to for such a file — an API call, not a Windows tool. The channel's name is the file's
 * name without `.evtx`, with `%4` standing for `/` (`Microsoft-Windows-PowerShell%4Operational.evtx`).
 */
import { lastError, win32, Win32Error } from './ffi.js';

/** EvtExportLog's flag: the path names a channel (not a log file, not a query). */
const EVT_EXPORT_LOG_CHANNEL_PATH = 1;
const ERROR_CALL_NOT_IMPLEMENTED = 120;

/** The channel an .evtx file of winevt\Logs belongs to, by the file naming Windows uses. Pure. */
export function channelOfLogFile(fileName: string): string {
  return fileName.replace(/\.evtx$/i, '').replace(/%4/g, '/');
}

type ExportLog = (session: null, path: string, query: string, target: string, flags: number) => boolean;
let exportLog: ExportLog | null = null;

/**
 * Exports every event of `channel` to `target` (a file that must not exist yet). Synchronous: the export is
 * bounded by the log's own size (tens of MB at most for the logs collect copies), and a failure's reason
 * comes from GetLastError of this thread.
 */
export function exportEventLog(channel: string, target: string): void {
  exportLog ??= win32('wevtapi.dll').func(
    'bool __stdcall EvtExportLog(void *session, str16 path, str16 query, str16 target, uint32 flags)',
  ) as ExportLog;
  if (exportLog(null, channel, '*', target, EVT_EXPORT_LOG_CHANNEL_PATH)) return;
  const code = lastError();
  // Wine's wevtapi answers ERROR_CALL_NOT_IMPLEMENTED (ffi.ts has no words for it)
  if (code === ERROR_CALL_NOT_IMPLEMENTED) throw new Error('EvtExportLog failed: not implemented on this system');
  throw new Win32Error('EvtExportLog', code);
}
