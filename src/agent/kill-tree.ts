/**
 * `killTree(pid)`: stops a spawned process and everything it started. On Linux the full search of
 * platform/linux/process-tree.ts (group, parent pids, environment marker); on macOS the process group
 * only (the child is spawned detached, so it leads its own group); on Windows, a process `trackTree`
 * put in a Job Object right after its spawn is ended with its whole job (every process it started, even
 * orphans); any other Windows process is ended alone.
 */
import { killTree as killLinuxTree, type KillTreeOptions } from './platform/linux/process-tree.js';
// Importing it loads no FFI: koffi is loaded on the first Win32 call, made on Windows only.
import { createKillOnCloseJob, type ProcessJob } from './platform/windows/job-object.js';
import { describeError } from '../shared/errors.js';

export type { KillTreeOptions };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killGroup(pid: number, graceMs: number): Promise<number[]> {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return [];
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pid)) await sleep(50);
  if (groupAlive(pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  return [];
}

function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}

/** Jobs of the Windows processes `trackTree` follows, by pid. */
const jobs = new Map<number, ProcessJob>();

/** How long a terminated job may take to empty before its survivors are reported. */
const JOB_EMPTY_WAIT_MS = 5_000;

async function killJob(job: ProcessJob): Promise<number[]> {
  const deadline = Date.now() + JOB_EMPTY_WAIT_MS;
  // Terminated again while anything is left: a process still being created when the job was terminated
  // can be passed over (Wine skips a process whose first thread is not running yet).
  while (job.activeProcesses() > 0) {
    if (Date.now() > deadline) return job.processIds();
    job.terminate(1);
    await sleep(20);
  }
  return [];
}

/**
 * Resolves once the tree is gone; returns the pids that could not be killed (empty when all died). Rejects
 * when a Windows job could not be terminated (the process itself was killed).
 */
export async function killTree(pid: number, opts: KillTreeOptions = {}): Promise<number[]> {
  if (process.platform === 'linux') return killLinuxTree(pid, opts);
  if (process.platform === 'win32') {
    const job = jobs.get(pid);
    if (job) {
      try {
        return await killJob(job);
      } catch (e) {
        killProcess(pid); // the job failed: at least the process itself, and say why
        throw e;
      }
    }
    // Not tracked (or the job could not be made): the process itself only, its children are not reached.
    killProcess(pid);
    return [];
  }
  return killGroup(pid, opts.graceMs ?? 2_000);
}

/** A spawned process whose tree `killTree` can end; `release()` once it is done with. */
export interface TrackedTree {
  /** How the tree is held: `job` (Windows Job Object) or `search` (found when killed: Linux, macOS). */
  readonly how: 'job' | 'search';
  /** Why the tree could not be put in a job (Windows only): `killTree` then ends the process alone. */
  readonly problem: string | null;
  /** Ends the tree (releases nothing). */
  kill(): Promise<number[]>;
  /** Forgets the process; on Windows closes its job, which kills whatever of the tree still runs. */
  release(): void;
}

/**
 * Starts following the tree of a process spawned a moment ago. On Windows it is put into a new Job
 * Object at once (synchronously, in the same tick as the spawn), so its children join it as they start.
 */
export function trackTree(pid: number, opts: KillTreeOptions = {}): TrackedTree {
  if (process.platform !== 'win32') {
    return { how: 'search', problem: null, kill: () => killTree(pid, opts), release: () => undefined };
  }
  let job: ProcessJob | null = null;
  try {
    job = createKillOnCloseJob();
    job.assign(pid);
    jobs.set(pid, job);
  } catch (e) {
    job?.close();
    const problem = describeError(e);
    return { how: 'search', problem, kill: () => killTree(pid, opts), release: () => undefined };
  }
  const held = job;
  return {
    how: 'job',
    problem: null,
    kill: () => killTree(pid, opts),
    release() {
      if (jobs.get(pid) === held) jobs.delete(pid);
      held.close();
    },
  };
}
