/**
 * `killTree(pid)`: stops a spawned process and everything it started. On Linux the full search of
 * platform/linux/process-tree.ts (group, parent pids, environment marker); on macOS the process group
 * only (the child is spawned detached, so it leads its own group); on Windows the process itself only.
 */
import { killTree as killLinuxTree, type KillTreeOptions } from './platform/linux/process-tree.js';

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

/** Resolves once the tree is gone; returns the pids that could not be killed (empty when all died). */
export async function killTree(pid: number, opts: KillTreeOptions = {}): Promise<number[]> {
  if (process.platform === 'linux') return killLinuxTree(pid, opts);
  if (process.platform === 'win32') {
    // No process groups to signal: this ends the script's own process only (its children are not reached).
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
    return [];
  }
  return killGroup(pid, opts.graceMs ?? 2_000);
}
