/**
 * `killTree(pid)`: stops a spawned process and everything it started. On Linux the full search of
 * platform/linux/process-tree.ts (group, parent pids, environment marker); elsewhere the process group
 * only (the child is spawned detached, so it leads its own group).
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
export function killTree(pid: number, opts: KillTreeOptions = {}): Promise<number[]> {
  if (process.platform === 'linux') return killLinuxTree(pid, opts);
  return killGroup(pid, opts.graceMs ?? 2_000);
}
