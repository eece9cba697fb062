/**
 * The process tree `remediate process PID -auto` stops, from one Toolhelp snapshot (pure: unit-tested under
 * Linux). Windows keeps a process's parent pid after the parent has exited, and pids are reused: a process
 * whose recorded parent pid is the tree's may be an unrelated process started later by a new owner of that
 * pid, or (worse) an older process whose parent pid merely matches. A child counts only when it was created
 * at or after its parent, so that a pid reused by an older process never pulls it into the tree.
 */

export interface TreeProcess {
  pid: number;
  ppid: number;
  /** Creation time in ms since the epoch, or null when it could not be read. */
  createdMs: number | null;
}

/**
 * `root` and its descendants, deepest first (children before their parent), so that a parent never sees a
 * child die and restart it. A descendant whose creation time is unknown, or earlier than its parent's, is
 * left out (pid reuse: see above); the root is always last.
 */
export function treeChildrenFirst(root: number, processes: readonly TreeProcess[]): number[] {
  const byParent = new Map<number, TreeProcess[]>();
  for (const p of processes) {
    if (p.pid === p.ppid) continue; // pid 0 is its own parent
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const created = new Map(processes.map((p) => [p.pid, p.createdMs]));
  const order: number[] = [];
  const seen = new Set<number>([root]);
  const visit = (pid: number, parentCreated: number | null): void => {
    for (const child of byParent.get(pid) ?? []) {
      if (seen.has(child.pid)) continue;
      if (parentCreated === null || child.createdMs === null || child.createdMs < parentCreated) continue;
      seen.add(child.pid);
      visit(child.pid, child.createdMs);
      order.push(child.pid);
    }
  };
  visit(root, created.get(root) ?? null);
  order.push(root);
  return order;
}

/** The pids from `pid` up its parent chain (the agent and whoever started it), as one snapshot shows them. */
export function ancestorChain(pid: number, processes: readonly Pick<TreeProcess, 'pid' | 'ppid'>[]): Set<number> {
  const parent = new Map(processes.map((p) => [p.pid, p.ppid]));
  const out = new Set<number>([pid]);
  for (let p = parent.get(pid); p !== undefined && p !== 0 && !out.has(p) && out.size < 64; p = parent.get(p))
    out.add(p);
  return out;
}
