/**
 * Processes from procfs: /proc/PID/stat (name, state, ppid, CPU times, start), status (effective uid and
 * resident memory, as ps reports them), cmdline, and the exe link. A process that exits while we read
 * it is skipped: a listing is a snapshot, not a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AccountNames } from '../../fs/accounts.js';
import { isGone } from '../../fs/fs-errors.js';
import type { ProcessInfo } from '../types.js';
import { listPids, readProcFile, readProcRecord } from './procfs-read.js';

/** USER_HZ: what stat's times count in. 100 on every Linux ABI we run on. */
export const CLOCK_TICKS_PER_SECOND = 100;

const STATE_NAMES: Readonly<Record<string, string>> = {
  R: 'running',
  S: 'sleeping',
  D: 'disk-sleep',
  Z: 'zombie',
  T: 'stopped',
  t: 'tracing-stop',
  X: 'dead',
  x: 'dead',
  I: 'idle',
  P: 'parked',
  W: 'paging',
  K: 'wakekill',
};

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  starttime: number;
}

/** Parses /proc/PID/stat. The name sits in parentheses and may itself contain `)` or spaces. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // Fields after the name, numbered from field 3 (state) as in proc(5).
  const rest = text.slice(close + 2).split(' ');
  const field = (n: number): number => Number(rest[n - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    starttime: field(22),
  };
}

/** Effective uid and VmRSS (bytes) from /proc/PID/status. Kernel threads have no VmRSS: 0. */
export function parseProcStatus(text: string): { uid: number; rssBytes: number } {
  const uidLine = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  const rssLine = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  return {
    uid: uidLine ? Number(uidLine[2]) : -1,
    rssBytes: rssLine ? Number(rssLine[1]) * 1024 : 0,
  };
}

/** Boot time in seconds since the epoch (`btime` in /proc/stat). */
export function readBootTime(procRoot: string): number {
  const m = /^btime\s+(\d+)/m.exec(readProcFile(path.join(procRoot, 'stat')));
  if (!m) throw new Error(`${procRoot}/stat has no btime line`);
  return Number(m[1]);
}

function readExe(dir: string): string | null {
  try {
    return fs.readlinkSync(`${dir}/exe`);
  } catch {
    // EACCES (another user's process without privileges) or ENOENT (kernel thread, zombie).
    return null;
  }
}

function readOne(procRoot: string, pid: number, bootTime: number, accounts: AccountNames): ProcessInfo | null {
  const dir = `${procRoot}/${pid}`;
  let stat: ProcStat | null;
  let status: { uid: number; rssBytes: number };
  try {
    stat = parseProcStat(readProcRecord(`${dir}/stat`));
    status = parseProcStatus(readProcRecord(`${dir}/status`));
  } catch {
    // Gone (ENOENT/ESRCH) or hidden from us (hidepid=1: EACCES): not part of what we can list.
    return null;
  }
  if (!stat) return null;
  let cmdline = '';
  try {
    cmdline = readProcRecord(`${dir}/cmdline`, 'utf8');
  } catch (err) {
    if (isGone(err)) return null;
  }
  const startMs = (bootTime + stat.starttime / CLOCK_TICKS_PER_SECOND) * 1000;
  return {
    pid,
    ppid: stat.ppid,
    name: stat.comm,
    user: status.uid >= 0 ? accounts.user(status.uid) : '?',
    uid: status.uid,
    state: STATE_NAMES[stat.state] ?? stat.state,
    startTime: new Date(Math.round(startMs)).toISOString(),
    cmdline: cmdline.replace(/\0+$/, '').replace(/\0/g, ' '),
    path: readExe(dir),
    rssBytes: status.rssBytes,
    cpuTimeMs: Math.round(((stat.utime + stat.stime) * 1000) / CLOCK_TICKS_PER_SECOND),
  };
}

/** Processes handed to the sink at a time: a slice of reads between two turns of the event loop. */
const SLICE_PIDS = 200;

/**
 * Every process visible in procRoot, by ascending pid, handed to `sink` a slice at a time as it is read
 * (awaited: it applies the backpressure), so that the first records are on their way to the service and
 * the console while the rest of procfs is read.
 */
export async function streamProcesses(
  procRoot: string,
  accounts: AccountNames,
  sink: (rows: ProcessInfo[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const bootTime = readBootTime(procRoot);
  // No trailing slash: paths are built by concatenation in the hot loop (as path.join would give them).
  const root = procRoot.length > 1 ? procRoot.replace(/\/+$/, '') : procRoot;
  const pids = listPids(procRoot);
  for (let i = 0; i < pids.length; i += SLICE_PIDS) {
    signal?.throwIfAborted();
    const rows: ProcessInfo[] = [];
    const end = Math.min(pids.length, i + SLICE_PIDS);
    for (let j = i; j < end; j++) {
      const p = readOne(root, pids[j] as number, bootTime, accounts);
      if (p) rows.push(p);
    }
    if (rows.length > 0) await sink(rows);
    // A turn of the event loop between slices: other jobs and the link keep moving.
    if (end < pids.length) await yieldToLoop();
  }
  signal?.throwIfAborted();
}

/** Every process visible in procRoot, by ascending pid. */
export async function listProcesses(
  procRoot: string,
  accounts: AccountNames,
  signal?: AbortSignal,
): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  await streamProcesses(
    procRoot,
    accounts,
    async (rows) => {
      for (const r of rows) out.push(r);
    },
    signal,
  );
  return out;
}
