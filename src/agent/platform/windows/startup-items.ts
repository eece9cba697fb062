/**
 * Windows Startup folders: what Explorer starts at every logon, for all users
 * (`%ProgramData%\Microsoft\Windows\Start Menu\Programs\StartUp`) and for each profile
 * (`<profile>\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`). A shortcut (`.lnk`) is read
 * (MS-SHLLINK, see shell-link.ts) for what it starts; an Internet shortcut (`.url`) for its URL; any other file
 * is started itself. `desktop.ini` (the folder's display settings) is not an item. An item or folder that
 * cannot be read is listed with the reason in `error`, never dropped.
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorCode, fsReason } from '../../fs/fs-errors.js';
import type { StartupItemInfo } from '../types.js';
import { parseShellLink, shellLinkCommand } from './shell-link.js';
import { profilesDir, userProfiles } from './user-profiles.js';
import { describeError } from '../../../shared/errors.js';

/** A Windows Startup item; `error` is present only when the item (or its folder) could not be read. */
export type WindowsStartupRecord = StartupItemInfo & { error?: string };

export interface StartupFolder {
  dir: string;
  /** The user whose folder it is, or `All Users`. */
  owner: string;
}

const STARTUP = ['Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup'];
/** The all-users folder is spelt `StartUp` by Windows (names are compared without regard to case anyway). */
const COMMON_STARTUP = ['Microsoft', 'Windows', 'Start Menu', 'Programs', 'StartUp'];
/** Shortcuts are a few KB; a larger file is not read whole. */
const MAX_LINK_BYTES = 1 << 20;

/** The all-users folder and every profile's (whether or not it exists). */
export async function startupFolders(env: NodeJS.ProcessEnv = process.env): Promise<StartupFolder[]> {
  const programData = env.ProgramData ?? env.PROGRAMDATA ?? env.ALLUSERSPROFILE ?? 'C:\\ProgramData';
  const folders: StartupFolder[] = [{ dir: path.join(programData, ...COMMON_STARTUP), owner: 'All Users' }];
  for (const p of await userProfiles(profilesDir(env)))
    folders.push({ dir: path.join(p.dir, 'AppData', 'Roaming', ...STARTUP), owner: p.user });
  return folders;
}

async function readHead(file: string, limit: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(limit);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, size, limit - size, null);
      if (bytesRead === 0 || size + bytesRead >= limit) return buf.subarray(0, size + bytesRead);
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** What an item starts: a shortcut's target and arguments, a `.url`'s URL, else the file itself. */
async function describe(file: string, dir: string): Promise<{ exec: string | null; error?: string }> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.lnk') {
    const bytes = await readHead(file, MAX_LINK_BYTES);
    try {
      const exec = shellLinkCommand(parseShellLink(bytes), dir);
      return exec ? { exec } : { exec: null, error: 'the shortcut names no target' };
    } catch (err) {
      return { exec: null, error: `not a valid shortcut: ${describeError(err)}` };
    }
  }
  if (ext === '.url') {
    const url = /^\s*URL\s*=\s*(.+?)\s*$/im.exec((await readHead(file, 64 * 1024)).toString('latin1'));
    return { exec: url ? url[1]! : file };
  }
  return { exec: file };
}

/** The items of the given folders (a missing folder has none). */
export async function readStartupFolders(
  folders: readonly StartupFolder[],
  signal?: AbortSignal,
): Promise<WindowsStartupRecord[]> {
  const items: WindowsStartupRecord[] = [];
  for (const folder of folders) {
    signal?.throwIfAborted();
    let names: string[];
    try {
      names = (await readdir(folder.dir)).sort((a, b) => a.localeCompare(b));
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') continue;
      items.push({
        kind: 'startup-folder',
        path: folder.dir,
        name: path.basename(folder.dir),
        exec: null,
        owner: folder.owner,
        mtime: '',
        error: `Startup folder unreadable: ${fsReason(err)}`,
      });
      continue;
    }
    for (const name of names) {
      if (name.toLowerCase() === 'desktop.ini') continue;
      const file = path.join(folder.dir, name);
      const item: WindowsStartupRecord = {
        kind: 'startup-folder',
        path: file,
        name,
        exec: null,
        owner: folder.owner,
        mtime: '',
      };
      try {
        const st = await stat(file);
        if (st.isDirectory()) continue; // Explorer starts the folder's files, not what sub-folders hold
        item.mtime = st.mtime.toISOString();
        Object.assign(item, await describe(file, folder.dir));
      } catch (err) {
        item.error = fsReason(err);
      }
      items.push(item);
    }
  }
  return items;
}

export async function listStartupItems(signal?: AbortSignal): Promise<StartupItemInfo[]> {
  return readStartupFolders(await startupFolders(), signal);
}
