/**
 * Kills a whole process tree on Linux: what `run` does on cancel and time limit, so that a cancelled
 * script leaves nothing behind. A script's processes are found three ways, because each alone misses some:
 * - its process group (the script is spawned as a group leader; background jobs of a non-interactive
 *   shell stay in it);
 * - descendants by parent pid (children that called setsid or setpgid left the group);
 * - an environment marker inherited by every descendant (`LR_RUN_ID=...`): it finds processes that left
 *   the group AND were orphaned (re-parented to init, e.g. `setsid -f`, double fork), as long as they
 *   kept their environment. A process that both daemonised and wiped its environment escapes: only a
 *   cgroup would catch it, and the agent may run as an ordinary user without one.
 * Sequence: SIGTERM to everything found, a grace period while re-scanning (new children are found
 * too), then SIGKILL until no member is alive. Pids are remembered with their start time, so a pid reused
 * by an unrelated process is never signalled.
 */
import { listPids, readProcFile } from './procfs-read.js';

export interface KillTreeOptions {
  procRoot?: string;
  /** `NAME=value` present in the environment of every process of the tree (see above). */
  envMarker?: string;
  /** Time between SIGTERM and SIGKILL. */
  graceMs?: number;
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  startTime: string;
}

/** Fields of /proc/PID/stat after the command name (which may itself hold spaces and parentheses). */
function readStat(procRoot: string, pid: number): ProcStat | null {
  let text: string;
  try {
    text = readProcFile(`${procRoot}/${pid}/stat`);
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  // priority nice num_threads itrealvalue starttime ...
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    state: fields[0] ?? '?',
    startTime: fields[19] ?? '',
  };
}

function hasMarker(procRoot: string, pid: number, marker: string): boolean {
  try {
    return readProcFile(`${procRoot}/${pid}/environ`).split('\0').includes(marker);
  } catch {
    return false; // another user's process (EACCES) or gone
  }
}

/** Live (non-zombie) processes of the tree rooted at `root`, keyed by pid, valued by start time. */
export function findTree(root: number, opts: KillTreeOptions = {}): Map<number, string> {
  const procRoot = opts.procRoot ?? '/proc';
  const all: ProcStat[] = [];
  for (const pid of listPids(procRoot)) {
    const st = readStat(procRoot, pid);
    if (st && st.state !== 'Z' && st.state !== 'X') all.push(st);
  }
  const members = new Map<number, string>();
  const children = new Map<number, ProcStat[]>();
  for (const st of all) {
    const list = children.get(st.ppid);
    if (list) list.push(st);
    else children.set(st.ppid, [st]);
  }
  const add = (st: ProcStat) => members.set(st.pid, st.startTime);
  for (const st of all) {
    if (st.pid === root || st.pgid === root) add(st);
    else if (opts.envMarker && st.pid !== process.pid && hasMarker(procRoot, st.pid, opts.envMarker)) add(st);
  }
  // Descendants (by parent pid) of everything found so far.
  const queue = [...members.keys()];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const child of children.get(pid) ?? []) {
      if (members.has(child.pid) || child.pid === process.pid) continue;
      add(child);
      queue.push(child.pid);
    }
  }
  members.delete(process.pid); // never the agent itself
  return members;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone (ESRCH) or not ours (EPERM): nothing more we can do for that one */
  }
}

function stillAlive(procRoot: string, pid: number, startTime: string): boolean {
  const st = readStat(procRoot, pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Terminates the tree rooted at `root` (a process group leader). Resolves when none of its processes is
 * alive any more, or returns the pids that survived SIGKILL (not ours to kill, or stuck in the kernel).
 */
export async function killTree(root: number, opts: KillTreeOptions = {}): Promise<number[]> {
  const procRoot = opts.procRoot ?? '/proc';
  const graceMs = opts.graceMs ?? 2_000;
  const known = new Map<number, string>();
  const rescan = () => {
    for (const [pid, start] of findTree(root, opts)) known.set(pid, start);
    for (const [pid, start] of known) if (!stillAlive(procRoot, pid, start)) known.delete(pid);
  };

  rescan();
  signal(-root, 'SIGTERM');
  for (const pid of known.keys()) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(50);
    const before = new Set(known.keys());
    rescan();
    if (known.size === 0) return [];
    for (const pid of known.keys()) if (!before.has(pid)) signal(pid, 'SIGTERM'); // started meanwhile
  }
  for (let round = 0; round < 40; round++) {
    signal(-root, 'SIGKILL');
    for (const pid of known.keys()) signal(pid, 'SIGKILL');
    await sleep(50);
    rescan();
    if (known.size === 0) return [];
  }
  return [...known.keys()];
}
