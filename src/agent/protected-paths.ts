/**
 * The folders no command may read, hash, collect, change or write into, whatever the analyst's role: the
 * agent's own data folder (its private key in agent.json, the quarantine, the job journal) and every
 * folder holding a live response data marker (../node/data-marker.ts): a service's data folder (admin
 * profile, TLS and signing keys), another agent's, the workstation's app data folder.
 *
 * A path is judged by what the kernel would open: made absolute with `..` removed, then every symlink
 * resolved (realpath of the longest existing prefix; a dangling link at the end is followed too), so
 * neither `..` nor a link nor a bind of names gets around the check. Both the resolved target and the
 * entry itself (its folder resolved, its own name kept) are checked, so a command that follows a link
 * and one that acts on the link are both covered. Commands that open a file check the open descriptor
 * again (/proc/self/fd), so a link swapped between the check and the open does not get through.
 *
 * A marker counts only when it is a regular file owned by root or by the agent's own user: a local user
 * cannot hide a folder of theirs from the analyst by dropping a marker into it. Markers are looked up on
 * the target and each of its ancestors, with a short cache per folder.
 */
import { lstatSync, promises as fsp, readFileSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { DATA_MARKER, markerKind, type DataFolderKind } from '../node/data-marker.js';
import { CommandError } from './command.js';
import { windowsWithin } from './platform/windows/paths.js';

/** How long a folder's marker (or its absence) is trusted before it is looked at again. */
const MARKER_TTL_MS = 5_000;
const MAX_CACHED_FOLDERS = 20_000;
/** Linux's own limit on symlinks followed while resolving one path. */
const MAX_LINK_HOPS = 40;

const KIND_TEXT: Readonly<Record<DataFolderKind, string>> = {
  service: "a live response service's data folder",
  agent: "a live response agent's data folder",
  workstation: "the live response workstation's data folder",
};

export interface Protection {
  /** The protected folder (real path). */
  folder: string;
  /** What it is, as the refusal says it: "the agent's own data folder". */
  what: string;
}

/**
 * Real path of `p` (absolute, `..` removed, links resolved), also when its end does not exist.
 * Synchronous system calls on purpose: a few microseconds each, where a round trip through libuv's
 * thread pool costs far more on a loaded machine (one check of a missing path, load 19 on 2 cores:
 * ~1.4 ms with the promise API, ~0.26 ms with these).
 */
export async function realPath(p: string): Promise<string> {
  return realPathSync(p, 0);
}

function realPathSync(p: string, hops: number): string {
  const abs = path.resolve(p);
  try {
    return realpathSync.native(abs);
  } catch {
    // Missing (or unsearchable) somewhere: resolve the part that exists, then follow what is left.
  }
  const parent = path.dirname(abs);
  if (parent === abs) return abs;
  const here = path.join(realPathSync(parent, hops), path.basename(abs));
  let link: string;
  try {
    link = readlinkSync(here);
  } catch {
    return here;
  }
  return hops >= MAX_LINK_HOPS ? here : realPathSync(path.resolve(path.dirname(here), link), hops + 1);
}

/** The entry itself: its folder's real path and its own name (a link at the end is not followed). */
function entryPath(p: string): string {
  const abs = path.resolve(p);
  const parent = path.dirname(abs);
  return parent === abs ? abs : path.join(realPathSync(parent, 0), path.basename(abs));
}

function within(p: string, folder: string): boolean {
  // Windows: `\` separators and case-insensitive names (`c:\programdata\LR-AGENT\agent.json` is the key).
  if (path.sep === '\\') return windowsWithin(p, folder);
  return p === folder || p.startsWith(folder === '/' ? '/' : `${folder}/`);
}

export class ProtectedPaths {
  /** Agent data folders as configured -> their real paths. */
  private readonly agentDirs = new Map<string, string>();
  private readonly markers = new Map<string, { at: number; kind: DataFolderKind | null }>();
  private readonly uid = process.getuid?.() ?? -1;

  /** Protects an agent's data folder (every agent started in this process adds its own). */
  addAgentDataDir(dir: string): void {
    if (this.agentDirs.has(dir)) return;
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      real = path.resolve(dir);
    }
    this.agentDirs.set(dir, real);
  }

  /** Why a real path is protected, or null. */
  async protection(real: string): Promise<Protection | null> {
    for (const dir of this.agentDirs.values())
      if (within(real, dir)) return { folder: dir, what: "the agent's own data folder" };
    for (let dir = real; ; dir = path.dirname(dir)) {
      const kind = await this.markerIn(dir);
      if (kind) return { folder: dir, what: KIND_TEXT[kind] };
      if (path.dirname(dir) === dir) return null;
    }
  }

  /** Why a path (as given: relative to nothing, links unresolved) is protected, or null. */
  async protectionOf(p: string): Promise<Protection | null> {
    return (await this.protection(await realPath(p))) ?? (await this.protection(entryPath(p)));
  }

  /** Throws the one-line refusal when `shown` (an absolute path the command is about to use) is protected. */
  async refuse(command: string, shown: string): Promise<void> {
    const real = await realPath(shown);
    const hit = (await this.protection(real)) ?? (await this.protection(entryPath(shown)));
    if (hit) throw refusal(command, shown, real, hit);
  }

  /** The same check on what an open descriptor really is (Linux; a no-op where /proc is missing). */
  async refuseOpened(command: string, fd: number, shown: string): Promise<void> {
    const opened = await fsp.readlink(`/proc/self/fd/${fd}`).catch(() => null);
    if (opened === null || !opened.startsWith('/')) return;
    const real = opened.replace(/ \(deleted\)$/, '');
    const hit = await this.protection(real);
    if (hit) throw refusal(command, shown, real, hit);
  }

  private async markerIn(dir: string): Promise<DataFolderKind | null> {
    const now = Date.now();
    const cached = this.markers.get(dir);
    if (cached && now - cached.at < MARKER_TTL_MS) return cached.kind;
    let kind: DataFolderKind | null = null;
    const file = path.join(dir, DATA_MARKER);
    const st = lstatQuiet(file);
    if (st?.isFile() && (st.uid === 0 || st.uid === this.uid)) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8').slice(0, 4096);
      } catch {
        // unreadable: still a marker
      }
      kind = markerKind(text) ?? 'service';
    }
    if (this.markers.size >= MAX_CACHED_FOLDERS) this.markers.clear();
    this.markers.set(dir, { at: now, kind });
    return kind;
  }
}

function lstatQuiet(file: string): Stats | undefined {
  try {
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR (the "folder" is a file), EACCES
  }
}

function refusal(command: string, shown: string, real: string, hit: Protection): CommandError {
  const via = real === path.resolve(shown) ? '' : ` (it resolves to ${real})`;
  return new CommandError(`${command}: refused: ${shown} is in ${hit.what}${via}`, 'denied');
}

/** The agent's one set of protected folders (shared by every command and the configuration readers). */
export const protectedPaths = new ProtectedPaths();

/** Refuses when `p` is protected; the job's own data folder is always among the protected ones. */
export async function refuseProtected(ctx: { dataDir?: string }, command: string, p: string): Promise<void> {
  if (ctx.dataDir) protectedPaths.addAgentDataDir(ctx.dataDir);
  await protectedPaths.refuse(command, p);
}

/** refuseProtected for an open file: what the descriptor really is. */
export async function refuseProtectedOpen(
  ctx: { dataDir?: string },
  command: string,
  fd: number,
  shown: string,
): Promise<void> {
  if (ctx.dataDir) protectedPaths.addAgentDataDir(ctx.dataDir);
  await protectedPaths.refuseOpened(command, fd, shown);
}
