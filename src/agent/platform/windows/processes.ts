/**
 * Windows processes: every process of one Toolhelp snapshot (pid, parent, image name), each completed with
 * what Windows lets the agent read about it (processes-read.ts). A process the agent may not open is still
 * listed, with null where it could read nothing: hiding it would hide exactly what an analyst looks for.
 */
import { NotSupportedError, type ProcessInfo } from '../types.js';
import { ProcessReader } from './processes-read.js';
import { processSnapshot } from './toolhelp.js';

/** A Windows process record: ProcessInfo, null where Windows refused to tell (uid always null). */
export type WindowsProcessInfo = ProcessInfo;

/**
 * Longest stretch of reading (ms) before the event loop gets a turn: each process costs a handful of
 * system calls, a few ms under load (tens under Wine), and the agent keeps its connection alive meanwhile.
 */
const SLICE_MS = 20;

export async function listWindowsProcesses(signal?: AbortSignal): Promise<WindowsProcessInfo[]> {
  if (process.platform !== 'win32') throw new NotSupportedError('processes');
  const reader = new ProcessReader();
  const list: WindowsProcessInfo[] = [];
  const snapshot = processSnapshot();
  let sliceStart = performance.now();
  for (const { pid, ppid, name } of snapshot) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    signal?.throwIfAborted();
    const d = reader.read(pid);
    // The fields in the order of the Linux records.
    list.push({
      pid,
      ppid,
      name,
      user: d.user,
      uid: null,
      state: 'running',
      sessionId: d.sessionId,
      startTime: d.startTime,
      cmdline: d.cmdline,
      path: d.path,
      rssBytes: d.rssBytes,
      cpuTimeMs: d.cpuTimeMs,
    });
  }
  signal?.throwIfAborted();
  return list;
}

export const listProcesses = listWindowsProcesses;
