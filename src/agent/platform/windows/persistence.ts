/**
 * Windows persistence: the locations an analyst checks first, each entry with the file it launches
 * (resolved as Windows would, persistence-command.ts) and that file's mtime, size and SHA-256.
 *
 * - run-key / runonce-key: Run, RunOnce and Policies\Explorer\Run of HKLM and of every user hive loaded
 *   under HKU (the agent's own HKCU among them), in both registry views (Wow6432Node);
 * - winlogon: Winlogon's Shell and Userinit (machine and per user), one record per program listed;
 * - ifeo-debugger: Image File Execution Options\<program>\Debugger (both views);
 * - appinit-dlls: AppInit_DLLs (both views), one record per DLL, with LoadAppInit_DLLs;
 * - service: services whose binary (or svchost ServiceDll) is outside the Windows and Program Files folders;
 * - scheduled-task: tasks outside \Microsoft\, and Microsoft's whose program is outside those folders;
 * - startup-folder: every item of the users' and All Users' Startup folders.
 *
 * Windows-specific fields: `owner` is the account the entry runs for (the hive's user, `All Users` for
 * machine-wide keys, the service account, the task's principal), `mode` is null, and `mtime`, `size` and
 * `sha256` are null when the launched file does not exist. `detail` says where the entry was found and the
 * command as stored: `HKLM\...\Run\Updater = "C:\Users\Public\dropper.exe" -q`.
 */
import { promises as fsp, statSync } from 'node:fs';
import { hashFile } from '../../fs/hash.js';
import { fsReason } from '../../fs/fs-errors.js';
import { protectedPaths } from '../../protected-paths.js';
import { NotSupportedError, type PersistenceInfo } from '../types.js';
import { resolveLaunch, splitList, type ResolveContext } from './persistence-command.js';
import { serviceEntry, startupEntry, taskEntry, type Entry } from './persistence-sources.js';
import { listSubkeys, listValues, readValue, type RegistryRecord } from './registry.js';
import { RegistryError, type HiveName } from './registry-path.js';
import { requireWindows } from './registry-win32.js';
import { listScheduledTasks } from './scheduled-tasks.js';
import { listServices } from './services.js';
import { listStartupItems } from './startup-items.js';

/** Files above this are listed without a hash (as on Linux). */
const MAX_HASH_BYTES = 64 * 1024 * 1024;

const CURRENT_VERSION = 'Software\\Microsoft\\Windows\\CurrentVersion';
const NT_CURRENT_VERSION = 'Software\\Microsoft\\Windows NT\\CurrentVersion';
const PROFILE_LIST = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';

/** The software branches of a hive: the 64-bit view and the 32-bit programs' one. */
const VIEWS = ['Software', 'Software\\Wow6432Node'];

/** Accounts of the well-known SIDs whose hives Windows loads itself. */
const WELL_KNOWN: Readonly<Record<string, string>> = {
  'S-1-5-18': 'SYSTEM',
  'S-1-5-19': 'LOCAL SERVICE',
  'S-1-5-20': 'NETWORK SERVICE',
  '.DEFAULT': 'SYSTEM',
};

/** A user hive loaded under HKU. */
interface UserHive {
  sid: string;
  /** `HKU\<sid>`, with ` (HKCU)` for the agent's own user. */
  shown: string;
  owner: string;
  ctx: ResolveContext;
}

/** A Windows path that exists as a regular file (Node on Windows reads Windows paths). */
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function textOf(r: RegistryRecord | null): string | null {
  if (!r) return null;
  if (typeof r.value === 'string') return r.value;
  if (Array.isArray(r.value)) return r.value.join(' ');
  return null;
}

const machineContext = (): ResolveContext => ({ env: process.env, isFile });

/** Every user hive loaded under HKU, with its profile's environment. */
async function userHives(): Promise<UserHive[]> {
  const names = (await listSubkeys('HKU')).map((r) => r.name);
  const sids = names.filter((n) => /^S-\d/i.test(n) && !/_Classes$/i.test(n));
  // .DEFAULT is S-1-5-18's hive under another name; list it only when that name is missing
  if (names.some((n) => n.toUpperCase() === '.DEFAULT') && !sids.includes('S-1-5-18')) sids.push('.DEFAULT');
  const ownProfile = (process.env.USERPROFILE ?? '').toLowerCase();
  const hives: UserHive[] = [];
  for (const sid of sids) {
    const raw = textOf(readValue('HKLM', `${PROFILE_LIST}\\${sid}`, 'ProfileImagePath'));
    const profile = raw === null ? null : resolveLaunchPath(raw);
    const owner = WELL_KNOWN[sid.toUpperCase()] ?? (profile ? profile.slice(profile.lastIndexOf('\\') + 1) : sid);
    const env: Record<string, string | undefined> = { ...process.env, USERNAME: owner };
    if (profile) {
      Object.assign(env, {
        USERPROFILE: profile,
        APPDATA: `${profile}\\AppData\\Roaming`,
        LOCALAPPDATA: `${profile}\\AppData\\Local`,
        TEMP: `${profile}\\AppData\\Local\\Temp`,
        TMP: `${profile}\\AppData\\Local\\Temp`,
      });
    }
    // the user's own variables (HKU\<sid>\Environment) win, as at their logon
    for (const v of await listValues(`HKU\\${sid}\\Environment`).catch(() => []))
      if (typeof v.value === 'string') env[v.name] = v.value;
    const own = profile !== null && profile.toLowerCase() === ownProfile;
    hives.push({ sid, shown: `HKU\\${sid}${own ? ' (HKCU)' : ''}`, owner, ctx: { env, isFile } });
  }
  return hives;
}

/** ProfileImagePath is REG_EXPAND_SZ: expanded with the machine's environment. */
function resolveLaunchPath(raw: string): string {
  return raw.replace(/%([^%]+)%/g, (whole, name: string) => {
    const hit = Object.entries(process.env).find(([k]) => k.toLowerCase() === name.toLowerCase());
    return hit?.[1] ?? whole;
  });
}

/** The values of a key as entries; a missing key has none. */
async function valuesAsEntries(
  hive: HiveName | string,
  subkey: string,
  shown: string,
  category: string,
  owner: string,
  ctx: ResolveContext,
  out: Entry[],
): Promise<void> {
  let values: RegistryRecord[];
  try {
    values = await listValues(`${hive}\\${subkey}`);
  } catch (err) {
    if (err instanceof RegistryError && err.message === 'not found') return;
    throw err;
  }
  for (const v of values) {
    const command = textOf(v);
    if (command === null || command.trim() === '') continue;
    out.push({ category, location: `${shown}\\${subkey}\\${v.name}`, command, owner, ctx });
  }
}

async function runKeys(users: UserHive[], out: Entry[]): Promise<void> {
  const hives: Array<{ path: string; shown: string; owner: string; ctx: ResolveContext }> = [
    { path: 'HKLM', shown: 'HKLM', owner: 'All Users', ctx: machineContext() },
    ...users.map((u) => ({ path: `HKU\\${u.sid}`, shown: u.shown, owner: u.owner, ctx: u.ctx })),
  ];
  for (const h of hives) {
    for (const view of VIEWS) {
      await valuesAsEntries(
        h.path,
        `${view}\\Microsoft\\Windows\\CurrentVersion\\Run`,
        h.shown,
        'run-key',
        h.owner,
        h.ctx,
        out,
      );
      await valuesAsEntries(
        h.path,
        `${view}\\Microsoft\\Windows\\CurrentVersion\\RunOnce`,
        h.shown,
        'runonce-key',
        h.owner,
        h.ctx,
        out,
      );
    }
    await valuesAsEntries(
      h.path,
      `${CURRENT_VERSION}\\Policies\\Explorer\\Run`,
      h.shown,
      'run-key',
      h.owner,
      h.ctx,
      out,
    );
  }
}

async function winlogon(users: UserHive[], out: Entry[]): Promise<void> {
  const places: Array<{ hive: HiveName; subkey: string; shown: string; owner: string; ctx: ResolveContext }> = [];
  for (const view of VIEWS)
    places.push({
      hive: 'HKLM',
      subkey: `${view}\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon`,
      shown: 'HKLM',
      owner: 'All Users',
      ctx: machineContext(),
    });
  for (const u of users)
    places.push({
      hive: 'HKU',
      subkey: `${u.sid}\\${NT_CURRENT_VERSION}\\Winlogon`,
      shown: 'HKU',
      owner: u.owner,
      ctx: u.ctx,
    });
  for (const p of places) {
    for (const name of ['Shell', 'Userinit']) {
      const raw = textOf(readValue(p.hive, p.subkey, name));
      if (raw === null) continue;
      for (const program of splitList(raw, /,/))
        out.push({
          category: 'winlogon',
          location: `${p.shown}\\${p.subkey}\\${name}`,
          command: program,
          owner: p.owner,
          ctx: p.ctx,
        });
    }
  }
}

async function ifeoDebuggers(out: Entry[]): Promise<void> {
  for (const view of VIEWS) {
    const subkey = `${view}\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options`;
    let programs: RegistryRecord[];
    try {
      programs = await listSubkeys(`HKLM\\${subkey}`);
    } catch (err) {
      if (err instanceof RegistryError && err.message === 'not found') continue;
      throw err;
    }
    for (const [i, p] of programs.entries()) {
      if (i % 100 === 99) await yieldToLoop();
      const dbg = textOf(readValue('HKLM', `${subkey}\\${p.name}`, 'Debugger'));
      if (dbg !== null && dbg.trim() !== '')
        out.push({
          category: 'ifeo-debugger',
          location: `HKLM\\${subkey}\\${p.name}\\Debugger`,
          command: dbg,
          owner: 'All Users',
          ctx: machineContext(),
        });
    }
  }
}

async function appInitDlls(out: Entry[]): Promise<void> {
  for (const view of VIEWS) {
    const subkey = `${view}\\Microsoft\\Windows NT\\CurrentVersion\\Windows`;
    const dlls = textOf(readValue('HKLM', subkey, 'AppInit_DLLs'));
    if (dlls === null || dlls.trim() === '') continue;
    const load = readValue('HKLM', subkey, 'LoadAppInit_DLLs')?.value ?? 0;
    for (const dll of splitList(dlls, /[\s,]+/)) {
      const ctx = machineContext();
      out.push({
        category: 'appinit-dlls',
        location: `HKLM\\${subkey}\\AppInit_DLLs (LoadAppInit_DLLs = ${String(load)})`,
        command: dll,
        owner: 'All Users',
        ctx,
        launch: resolveLaunch(`"${dll}"`, ctx),
      });
    }
  }
}

/** Tolerates the areas another part of the agent does not implement yet. */
async function optional<T>(read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof NotSupportedError) return [];
    throw err;
  }
}

async function services(out: Entry[], signal?: AbortSignal): Promise<void> {
  const ctx = machineContext();
  const serviceDll = (key: string) =>
    textOf(readValue('HKLM', `${key}\\Parameters`, 'ServiceDll')) ?? textOf(readValue('HKLM', key, 'ServiceDll'));
  for (const s of await optional(() => listServices(signal))) {
    const entry = serviceEntry(s, ctx, serviceDll);
    if (entry) out.push(entry);
  }
}

async function scheduledTasks(out: Entry[], signal?: AbortSignal): Promise<void> {
  const ctx = machineContext();
  for (const t of await optional(() => listScheduledTasks(signal))) {
    const entry = taskEntry(t, ctx);
    if (entry) out.push(entry);
  }
}

async function startupFolders(out: Entry[], signal?: AbortSignal): Promise<void> {
  const ctx = machineContext();
  for (const s of await optional(() => listStartupItems(signal))) out.push(startupEntry(s, ctx));
}

/** The record of an entry: its launched file looked at (never opened when it is in a protected folder). */
async function describe(entry: Entry): Promise<PersistenceInfo> {
  const launch = entry.launch ?? resolveLaunch(entry.command, entry.ctx);
  const notes: string[] = [];
  if (launch.via) notes.push(`via ${launch.via}`);
  let facts: { mtime: string | null; size: number | null; sha256: string | null } = {
    mtime: null,
    size: null,
    sha256: null,
  };
  if (!launch.found) notes.push('file not found');
  else {
    try {
      const st = await fsp.stat(launch.path);
      facts = { mtime: st.mtime.toISOString(), size: st.size, sha256: null };
      const guarded = await protectedPaths.protectionOf(launch.path).catch(() => null);
      if (guarded) notes.push(`not read: it is in ${guarded.what}`);
      else if (st.size > MAX_HASH_BYTES) notes.push(`${st.size} bytes: larger than 64 MiB, not hashed`);
      else facts.sha256 = (await hashFile(launch.path, ['sha256'])).sha256;
    } catch (err) {
      notes.push(fsReason(err));
    }
  }
  // a Startup folder file runs itself: its place is all there is to say
  const where =
    entry.command === entry.location || entry.command === `"${entry.location}"`
      ? entry.location
      : `${entry.location} = ${entry.command}`;
  const detail = `${where}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
  // mode has no Windows meaning; mtime/size are null without a file
  return { category: entry.category, path: launch.path, owner: entry.owner, mode: null, ...facts, detail };
}

/**
 * Image File Execution Options may be one key seen from both registry views (it is under Wine): the same
 * debugger read through Software and Software\Wow6432Node is listed once. Other keys are separate per view
 * and their entries are all kept.
 */
function sharedViewsOnce(entries: Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    if (entry.category !== 'ifeo-debugger') return true;
    const id = `${entry.category}\0${entry.location.replace(/\\Software\\Wow6432Node\\/i, '\\Software\\').toLowerCase()}\0${entry.command}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** A source that failed as a whole (access denied to a key...) is itself a finding: one record says so. */
function failure(category: string, where: string, err: unknown): PersistenceInfo {
  const reason = err instanceof RegistryError ? `${err.path}: ${err.message}` : fsReason(err);
  return { category, path: where, owner: '?', mode: null, mtime: null, size: null, sha256: null, detail: reason };
}

export async function listPersistence(signal?: AbortSignal): Promise<PersistenceInfo[]> {
  requireWindows('persistence');
  const records: PersistenceInfo[] = [];
  const entries: Entry[] = [];
  let users: UserHive[] = [];
  try {
    users = await userHives();
  } catch (err) {
    records.push(failure('run-key', 'HKU', err));
  }
  const sources: Array<[string, string, () => Promise<void>]> = [
    ['run-key', 'Run keys', () => runKeys(users, entries)],
    ['winlogon', 'Winlogon', () => winlogon(users, entries)],
    ['ifeo-debugger', 'Image File Execution Options', () => ifeoDebuggers(entries)],
    ['appinit-dlls', 'AppInit_DLLs', () => appInitDlls(entries)],
    ['service', 'services', () => services(entries, signal)],
    ['scheduled-task', 'scheduled tasks', () => scheduledTasks(entries, signal)],
    ['startup-folder', 'Startup folders', () => startupFolders(entries, signal)],
  ];
  for (const [category, where, read] of sources) {
    signal?.throwIfAborted();
    try {
      await read();
    } catch (err) {
      if (signal?.aborted) throw err;
      records.push(failure(category, where, err));
    }
  }
  for (const entry of sharedViewsOnce(entries)) {
    signal?.throwIfAborted();
    records.push(await describe(entry));
  }
  return records;
}
