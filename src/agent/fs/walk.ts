/**
 * A depth-first walk of one file system that never follows symlinks, built for speed: on our 2-core
 * machines, over 500 000 files in 27 500 folders with a warm cache, synchronous readdir(withFileTypes)
 * took ~1.0 s (find: ~0.95 s) while the promise API took ~2.5 s whatever the concurrency (4 to 32), its
 * per-call thread-pool round trip costing more than the syscalls. So the walk runs synchronously in
 * slices of a few milliseconds and yields to the event loop between slices, where it hands what it
 * found to the caller (which may wait for backpressure) and checks for cancellation.
 */
import fs, { type Dirent } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { errorCode } from './fs-errors.js';

export interface WalkOptions<T> {
  /** Absolute folder to start from (the caller has checked it is a folder). */
  root: string;
  /** Absolute folders never entered (unless they are the root itself). */
  skip: ReadonlySet<string>;
  signal: AbortSignal;
  /**
   * Called for every entry, synchronously; a non-undefined result is collected. Gets the folder and the
   * entry rather than a joined path: building 500 000 path strings nobody wants costs more than the test.
   */
  visit(dir: string, entry: Dirent): T | undefined;
  /** Receives what was collected, at the end of each slice and at the end. */
  flush(found: T[]): Promise<void>;
  /** Longest synchronous stretch, in ms. */
  sliceMs?: number;
  /** Joins a folder and a name (default: with `/`; Windows walks join with a backslash). */
  join?: (dir: string, name: string) => string;
}

export interface WalkSummary {
  directories: number;
  /** Folders that exist but could not be listed (permission denied, I/O error). */
  unreadable: number;
  /** Folders not entered because they are another file system's mount point. */
  otherFileSystems: number;
}

/** Inside a folder, the clock is read every this many entries (a power of two), not for each one. */
const ENTRIES_PER_CLOCK_CHECK = 64;

export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** childPath for Windows folders: `C:\` + `x` → `C:\x`, `C:\a` + `x` → `C:\a\x`. */
export function windowsChildPath(dir: string, name: string): string {
  return dir.endsWith('\\') ? `${dir}${name}` : `${dir}\\${name}`;
}

export async function walkTree<T>(options: WalkOptions<T>): Promise<WalkSummary> {
  const { root, skip, signal, visit, flush } = options;
  const sliceMs = options.sliceMs ?? 15;
  const join = options.join ?? childPath;
  const summary: WalkSummary = { directories: 0, unreadable: 0, otherFileSystems: 0 };
  signal.throwIfAborted();
  const rootDev = fs.statSync(root).dev;
  const stack: string[] = [root];
  let found: T[] = [];
  let sliceStart = performance.now();
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    if (dir !== root) {
      // A sub-folder on another device is a mount point: one file system only, like find -xdev.
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(dir, { throwIfNoEntry: false });
      } catch {
        summary.unreadable++; // parent readable but not searchable
        continue;
      }
      if (!st || !st.isDirectory()) continue;
      if (st.dev !== rootDev) {
        summary.otherFileSystems++;
        continue;
      }
    }
    let entries: Dirent[] | null = null;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
      summary.directories++;
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') summary.unreadable++;
    }
    if (entries) {
      const subdirs: string[] = [];
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as Dirent;
        const hit = visit(dir, entry);
        if (hit !== undefined) found.push(hit);
        if (entry.isDirectory()) {
          const p = join(dir, entry.name);
          if (!skip.has(p)) subdirs.push(p);
        }
        // Inside a folder too: one folder may hold millions of entries, and visit() may be slow on each.
        if (
          (i & (ENTRIES_PER_CLOCK_CHECK - 1)) === ENTRIES_PER_CLOCK_CHECK - 1 &&
          performance.now() - sliceStart >= sliceMs
        )
          await endSlice();
      }
      // Pushed in reverse so sub-folders are entered in the order readdir gave them.
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
    }
    if (performance.now() - sliceStart >= sliceMs) await endSlice();
  }
  if (found.length > 0) await flush(found);
  return summary;

  /** Hands over what was found, lets the event loop run (other jobs, the link, cancel) and checks for abort. */
  async function endSlice(): Promise<void> {
    if (found.length > 0) {
      const batch = found;
      found = [];
      await flush(batch);
    }
    signal.throwIfAborted();
    await yieldToLoop();
    signal.throwIfAborted();
    sliceStart = performance.now();
  }
}
