/**
 * Windows investigation package (collect): the files it copies whole — event logs
 * (`%SystemRoot%\System32\winevt\Logs\*.evtx`), the task store's definitions (`%SystemRoot%\System32\Tasks`),
 * the Startup folders' items, `drivers\etc\hosts` — and the prefetch folder's listing (names, sizes, times:
 * not the files). A source that is missing is named in a note ("not found"), never silently left out.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorCode, fsReason } from '../../fs/fs-errors.js';
import type { CollectionSource } from '../types.js';
import { MAX_TASK_FILE_BYTES, taskStoreDir } from './scheduled-tasks.js';
import { startupFolders } from './startup-items.js';

/** An event log larger than this is not copied: a cut .evtx (its tail) cannot be opened by any reader. */
export const MAX_EVTX_BYTES = 64 * 1024 * 1024;
/** All event logs together: a server can keep gigabytes of them, the package is built on the device. */
export const MAX_EVTX_TOTAL_BYTES = 256 * 1024 * 1024;
/** A Startup folder item is usually a shortcut; a program dropped there is copied up to this size. */
const MAX_STARTUP_ITEM_BYTES = 64 * 1024 * 1024;
/** Task store files and folders looked at, at most (a store has a few hundred). */
const MAX_TASK_ENTRIES = 10_000;

export function systemRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SystemRoot ?? env.SYSTEMROOT ?? env.windir ?? env.WINDIR ?? 'C:\\Windows';
}

/**
 * Why a Windows file could not be read, in the words an analyst expects. Pure. libuv turns
 * ERROR_SHARING_VIOLATION and ERROR_LOCK_VIOLATION into EBUSY, ERROR_ACCESS_DENIED into EPERM or EACCES.
 */
export function windowsReadReason(err: unknown): string {
  switch (errorCode(err)) {
    case 'EBUSY':
      return 'locked by another process';
    case 'EPERM':
    case 'EACCES':
      return 'access denied';
    case 'ENOENT':
      return 'not found';
    default:
      return fsReason(err);
  }
}

/** A zip member name from a device file name: no folder separators, no control characters. Pure. */
export function memberPart(name: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = name.replace(/[\\/\x00-\x1f]/g, '_');
  return safe === '' || safe === '.' || safe === '..' ? '_' : safe;
}

export interface EvtxFile {
  name: string;
  size: number;
}

/** The logs an investigation reads first: they get the budget before the others. */
const FIRST_LOGS = [
  'Security.evtx',
  'System.evtx',
  'Application.evtx',
  'Microsoft-Windows-Sysmon%4Operational.evtx',
  'Microsoft-Windows-PowerShell%4Operational.evtx',
  'Windows PowerShell.evtx',
  'Microsoft-Windows-TaskScheduler%4Operational.evtx',
  'Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx',
  'Microsoft-Windows-Windows Defender%4Operational.evtx',
].map((n) => n.toLowerCase());

/**
 * Which event logs are copied whole and which are left out (too large, or over the budget), with notes:
 * the logs of FIRST_LOGS first, then the others smallest first (so that one huge log does not crowd out
 * many small ones). Pure.
 */
export function planEventLogs(
  dir: string,
  files: readonly EvtxFile[],
): { sources: CollectionSource[]; notes: string[] } {
  const sources: CollectionSource[] = [];
  const notes: string[] = [];
  let total = 0;
  const rank = (f: EvtxFile) => {
    const i = FIRST_LOGS.indexOf(f.name.toLowerCase());
    return i < 0 ? FIRST_LOGS.length : i;
  };
  for (const f of [...files].sort((a, b) => rank(a) - rank(b) || a.size - b.size || a.name.localeCompare(b.name))) {
    const full = path.win32.join(dir, f.name);
    if (f.size > MAX_EVTX_BYTES) {
      notes.push(
        `${full}: not collected: ${f.size} bytes, larger than ${MAX_EVTX_BYTES} (a cut event log cannot be read)`,
      );
      continue;
    }
    if (total + f.size > MAX_EVTX_TOTAL_BYTES) {
      notes.push(`${full}: not collected: the event logs' budget of ${MAX_EVTX_TOTAL_BYTES} bytes is spent`);
      continue;
    }
    total += f.size;
    // tailBytes at the cap: a log that grew past it since stat is cut, and the manifest says so
    sources.push({ member: `logs/evtx/${memberPart(f.name)}`, path: full, tailBytes: MAX_EVTX_BYTES });
  }
  return { sources, notes };
}

async function readdirOrNote(dir: string, what: string, notes: string[]): Promise<Dirent[] | null> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = errorCode(err);
    notes.push(
      `${what} (${dir}): ${code === 'ENOENT' || code === 'ENOTDIR' ? 'not found' : `not collected: ${windowsReadReason(err)}`}`,
    );
    return null;
  }
}

async function eventLogs(notes: string[]): Promise<CollectionSource[]> {
  const dir = path.join(systemRoot(), 'System32', 'winevt', 'Logs');
  const entries = await readdirOrNote(dir, 'event logs', notes);
  if (!entries) return [];
  const files: EvtxFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !/\.evtx$/i.test(entry.name)) continue;
    const st = await stat(path.join(dir, entry.name)).catch((err: unknown) => err);
    if (st instanceof Error || !st)
      notes.push(`${path.join(dir, entry.name)}: not collected: ${windowsReadReason(st)}`);
    else files.push({ name: entry.name, size: (st as { size: number }).size });
  }
  if (files.length === 0) notes.push(`event logs (${dir}): no .evtx file`);
  const plan = planEventLogs(dir, files);
  notes.push(...plan.notes);
  return plan.sources;
}

/** Every file of the task store, its folders kept in the member name (`tasks/Microsoft/Windows/...`). */
async function taskStore(notes: string[]): Promise<CollectionSource[]> {
  const root = taskStoreDir();
  const sources: CollectionSource[] = [];
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    const entries = await readdirOrNote(dir, rel.length === 0 ? 'task store' : 'task folder', notes);
    for (const entry of entries ?? []) {
      if (sources.length >= MAX_TASK_ENTRIES) return;
      const parts = [...rel, memberPart(entry.name)];
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), parts);
      else if (entry.isFile())
        sources.push({
          member: `tasks/${parts.join('/')}`,
          path: path.join(dir, entry.name),
          tailBytes: MAX_TASK_FILE_BYTES,
        });
    }
  };
  await walk(root, []);
  if (sources.length >= MAX_TASK_ENTRIES) notes.push(`task store (${root}): only its first ${MAX_TASK_ENTRIES} files`);
  return sources;
}

/** The items of the all-users and every profile's Startup folder (a profile without one has none). */
async function startupItems(notes: string[]): Promise<CollectionSource[]> {
  const sources: CollectionSource[] = [];
  let folders: Awaited<ReturnType<typeof startupFolders>>;
  try {
    folders = await startupFolders();
  } catch (err) {
    notes.push(`Startup folders: the profiles folder cannot be listed: ${windowsReadReason(err)}`);
    return sources;
  }
  for (const folder of folders) {
    let entries: Dirent[];
    try {
      entries = await readdir(folder.dir, { withFileTypes: true });
    } catch (err) {
      if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ENOTDIR')
        notes.push(`Startup folder ${folder.dir}: not collected: ${windowsReadReason(err)}`);
      continue;
    }
    for (const entry of entries) {
      if (entry.isFile())
        sources.push({
          member: `startup/${memberPart(folder.owner)}/${memberPart(entry.name)}`,
          path: path.join(folder.dir, entry.name),
          tailBytes: MAX_STARTUP_ITEM_BYTES,
        });
    }
  }
  return sources;
}

export async function windowsCollectionSources(): Promise<{ sources: CollectionSource[]; notes: string[] }> {
  const notes: string[] = [];
  const sources: CollectionSource[] = [];
  const hosts = path.join(systemRoot(), 'System32', 'drivers', 'etc', 'hosts');
  if (
    await stat(hosts).then(
      (s) => s.isFile(),
      () => false,
    )
  )
    sources.push({ member: 'network/hosts', path: hosts });
  else notes.push(`${hosts}: not found`);
  sources.push(...(await eventLogs(notes)));
  sources.push(...(await taskStore(notes)));
  sources.push(...(await startupItems(notes)));
  return { sources, notes };
}

export interface PrefetchEntry {
  name: string;
  size: number | null;
  /** Last write: when the program last ran (Windows rewrites the .pf file at each run). */
  mtime: string | null;
  /** Creation: about when the program first ran. */
  created: string | null;
  error?: string;
}

/** The prefetch folder's files (names, sizes, times), not their content. Throws `not found` without the folder. */
export async function prefetchListing(signal?: AbortSignal): Promise<PrefetchEntry[]> {
  const dir = path.join(systemRoot(), 'Prefetch');
  let names: string[];
  try {
    names = (await readdir(dir)).sort((a, b) => a.localeCompare(b));
  } catch (err) {
    throw new Error(`${dir}: ${windowsReadReason(err)}`, { cause: err });
  }
  const out: PrefetchEntry[] = [];
  for (const [i, name] of names.entries()) {
    if (i % 256 === 255) signal?.throwIfAborted();
    try {
      const st = await stat(path.join(dir, name));
      if (!st.isFile()) continue;
      out.push({ name, size: st.size, mtime: st.mtime.toISOString(), created: st.birthtime.toISOString() });
    } catch (err) {
      out.push({ name, size: null, mtime: null, created: null, error: windowsReadReason(err) });
    }
  }
  return out;
}
