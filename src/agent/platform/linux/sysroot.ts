/**
 * Access to the device's configuration files under a sysroot (`/` on a device, a fixture tree in tests,
 * a mounted image in a lab). Records always carry *device* paths; symlinks are resolved as the device
 * would resolve them (an absolute target points inside the sysroot, never at the host), and folder
 * listings never follow a symlink out of the folder.
 */
import type { Dirent, Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AccountNames } from '../../fs/accounts.js';
import { isGone } from '../../fs/fs-errors.js';
import { protectedPaths } from '../../protected-paths.js';

const MAX_SYMLINKS = 40; // Linux's own limit

export interface DirEntry {
  name: string;
  /** Device path of the entry. */
  path: string;
  /** Type of the entry itself (symlinks are not followed). */
  dirent: Dirent;
}

export interface Home {
  /** Account owning the home, or null for a /home/* folder without a passwd entry. */
  user: string | null;
  /** Device path of the home folder. */
  path: string;
}

function loopError(p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ELOOP: too many levels of symbolic links, '${p}'`), { code: 'ELOOP' });
}

export class Sysroot {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get isRealRoot(): boolean {
    return this.root === '/';
  }

  /** Host path of a device path (`/etc/passwd` -> `<sysroot>/etc/passwd`). */
  host(devicePath: string): string {
    // Normalised from `/` first, so a `..` in a configured path (a passwd home, an sshd_config entry)
    // cannot climb out of the sysroot.
    const clean = path.posix.normalize(`/${devicePath}`);
    return this.isRealRoot ? clean : path.join(this.root, clean);
  }

  /** Device path of a host path under the sysroot. */
  device(hostPath: string): string {
    if (this.isRealRoot) return hostPath;
    const rel = path.relative(this.root, hostPath);
    return '/' + rel.split(path.sep).join('/');
  }

  /**
   * Resolves every symlink of a device path the way the device would, staying inside the sysroot.
   * Returns the resolved *device* path. Throws ENOENT for a dangling link and ELOOP for a loop.
   */
  async resolve(devicePath: string): Promise<string> {
    if (this.isRealRoot) return fsp.realpath(devicePath);
    const pending = path.posix.normalize(devicePath).split('/').filter(Boolean);
    let resolved = '/';
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '.') continue;
      if (part === '..') {
        resolved = path.posix.dirname(resolved);
        continue;
      }
      const next = path.posix.join(resolved, part);
      const st = await fsp.lstat(this.host(next));
      if (!st.isSymbolicLink()) {
        resolved = next;
        continue;
      }
      if (++hops > MAX_SYMLINKS) throw loopError(devicePath);
      const target = await fsp.readlink(this.host(next));
      pending.unshift(...target.split('/').filter(Boolean));
      if (target.startsWith('/')) resolved = '/';
    }
    return resolved;
  }

  /**
   * Text of a device file (symlinks resolved inside the sysroot), or null when it does not exist. A file
   * in a protected folder (../../protected-paths.ts) reads as missing: no reader hands its text out.
   */
  async readText(devicePath: string): Promise<string | null> {
    try {
      const host = this.host(await this.resolve(devicePath));
      if (await protectedPaths.protectionOf(host)) return null;
      return await fsp.readFile(host, 'utf8');
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
  }

  /** stat() of a device path with symlinks resolved inside the sysroot, or null when missing. */
  async stat(devicePath: string): Promise<Stats | null> {
    try {
      return await fsp.stat(this.host(await this.resolve(devicePath)));
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
  }

  /** lstat() of a device path (the entry itself), or null when missing. */
  async lstat(devicePath: string): Promise<Stats | null> {
    try {
      return await fsp.lstat(this.host(devicePath));
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
  }

  /**
   * Entries of a device folder, sorted by name. The folder itself may be reached through symlinks
   * (resolved inside the sysroot); its entries are reported as they are, never followed.
   * A missing folder lists as empty; other errors (EACCES) are thrown.
   */
  async list(deviceDir: string): Promise<DirEntry[]> {
    let dirents: Dirent[];
    try {
      dirents = await fsp.readdir(this.host(await this.resolve(deviceDir)), { withFileTypes: true });
    } catch (err) {
      if (isGone(err)) return [];
      throw err;
    }
    return dirents
      .map((d) => ({ name: d.name, path: path.posix.join(deviceDir, d.name), dirent: d }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Like list(), but an unreadable folder lists as empty too. */
  async listQuiet(deviceDir: string): Promise<DirEntry[]> {
    return this.list(deviceDir).catch(() => []);
  }

  accounts(): Promise<AccountNames> {
    return AccountNames.load(this.root);
  }

  /**
   * Home folders worth inspecting: every passwd home (service accounts included: a key planted in
   * /var/www/.ssh is a classic), /root, and each folder under /home. Only existing folders, deduplicated.
   */
  async homes(): Promise<Home[]> {
    const accounts = await this.accounts();
    const candidates: Home[] = accounts.passwd.map((entry) => ({ user: entry.name, path: entry.home }));
    candidates.push({ user: 'root', path: '/root' });
    for (const entry of await this.listQuiet('/home')) {
      if (entry.dirent.isDirectory()) candidates.push({ user: null, path: entry.path });
    }
    const seen = new Map<string, Home>();
    for (const c of candidates) {
      if (!c.path.startsWith('/')) continue;
      const p = path.posix.normalize(c.path);
      if (seen.has(p)) continue;
      const st = await this.stat(p).catch(() => null);
      if (st?.isDirectory()) seen.set(p, { user: c.user, path: p });
    }
    return [...seen.values()];
  }
}
