/**
 * What starts with a session or the boot without being a service: XDG autostart entries (system-wide
 * and per user), /etc/rc.local, and the /etc/profile.d scripts every login shell sources.
 */
import path from 'node:path';
import type { AccountNames } from '../../fs/accounts.js';
import type { StartupItemInfo } from '../types.js';
import { parseDesktopEntry } from './desktop-entry.js';
import type { Sysroot } from './sysroot.js';

/** System-wide and per-user autostart folders (per-user ones for every home). */
export async function autostartDirs(root: Sysroot): Promise<string[]> {
  const dirs = ['/etc/xdg/autostart'];
  for (const home of await root.homes()) dirs.push(path.posix.join(home.path, '.config/autostart'));
  return dirs;
}

/** Commands of a shell script without comments, blank lines and the customary `exit 0`. */
export function scriptCommands(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && l !== 'exit 0')
    .join('; ');
}

async function item(
  root: Sysroot,
  accounts: AccountNames,
  kind: StartupItemInfo['kind'],
  devicePath: string,
  describe: (text: string | null) => { name: string; exec: string | null },
): Promise<StartupItemInfo | null> {
  const st = await root.lstat(devicePath).catch(() => null);
  if (!st) return null;
  const text = await root.readText(devicePath).catch(() => null);
  const { name, exec } = describe(text);
  return { kind, path: devicePath, name, exec, owner: accounts.user(st.uid), mtime: st.mtime.toISOString() };
}

export async function listStartupItems(root: Sysroot, signal?: AbortSignal): Promise<StartupItemInfo[]> {
  const accounts = await root.accounts();
  const items: StartupItemInfo[] = [];
  const add = (i: StartupItemInfo | null): void => {
    if (i) items.push(i);
  };
  for (const dir of await autostartDirs(root)) {
    signal?.throwIfAborted();
    for (const entry of await root.listQuiet(dir)) {
      if (!entry.name.endsWith('.desktop') || entry.dirent.isDirectory()) continue;
      add(
        await item(root, accounts, 'xdg-autostart', entry.path, (text) => {
          const d = parseDesktopEntry(text ?? '');
          const name = d.name ?? entry.name.replace(/\.desktop$/, '');
          return { name: d.disabled ? `${name} (disabled)` : name, exec: d.exec };
        }),
      );
    }
  }
  add(
    await item(root, accounts, 'rc.local', '/etc/rc.local', (text) => ({
      name: 'rc.local',
      exec: text === null ? null : scriptCommands(text) || null,
    })),
  );
  for (const entry of await root.listQuiet('/etc/profile.d')) {
    if (entry.dirent.isDirectory()) continue;
    add(await item(root, accounts, 'profile.d', entry.path, () => ({ name: entry.name, exec: entry.path })));
  }
  return items;
}
