/**
 * Known Linux persistence locations, each existing file listed with owner, mode, mtime, size, SHA-256
 * and a one-line detail of what it does. Locations that do not exist are absent; ones we cannot read
 * are listed with no hash and `permission denied`, because "there is something here we could not
 * open" is itself a finding.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { AccountNames } from '../../fs/accounts.js';
import { modeString, fileTypeFromMode } from '../../fs/file-mode.js';
import { isDenied, fsReason } from '../../fs/fs-errors.js';
import { hashFile, openForReading } from '../../fs/hash.js';
import { protectedPaths } from '../../protected-paths.js';
import type { PersistenceInfo } from '../types.js';
import { details, type DetailOf } from './persistence-details.js';
import { atJobFiles, cronPeriodScripts, crontabFiles } from './scheduled-tasks.js';
import { autostartDirs } from './startup-items.js';
import type { Home, Sysroot } from './sysroot.js';
import { NON_VENDOR_UNIT_DIRS, SYSTEM_UNIT_DIRS } from './systemd-units.js';

/** Files above this are listed without a hash (a persistence file that big is itself the detail). */
export const MAX_HASH_BYTES = 64 * 1024 * 1024;
/** Files up to this size are read once into memory for both the hash and the detail. */
const INLINE_BYTES = 1024 * 1024;

interface Candidate {
  category: string;
  path: string;
  detail: DetailOf | null;
}

/** Collects candidate paths; the first category to claim a path keeps it. */
class Candidates {
  readonly list: Candidate[] = [];
  private readonly seen = new Set<string>();
  /** Folders we could not list or search: reported once each, as such. */
  readonly deniedDirs: Array<{ category: string; path: string }> = [];

  denyDir(category: string, dir: string): void {
    if (!this.deniedDirs.some((d) => d.path === dir)) this.deniedDirs.push({ category, path: dir });
  }

  add(category: string, devicePath: string, detail: DetailOf | null = null): void {
    const p = path.posix.normalize(devicePath);
    if (this.seen.has(p)) return;
    this.seen.add(p);
    this.list.push({ category, path: p, detail });
  }

  /** Every non-folder entry of a device folder (optionally filtered by name). */
  async addFolder(
    root: Sysroot,
    category: string,
    dir: string,
    detail: DetailOf | null,
    accept: (name: string) => boolean = () => true,
  ): Promise<void> {
    try {
      for (const entry of await root.list(dir))
        if (!entry.dirent.isDirectory() && accept(entry.name)) this.add(category, entry.path, detail);
    } catch (err) {
      if (isDenied(err)) this.denyDir(category, dir);
    }
  }
}

const HOME_SHELL_FILES = [
  '.bashrc',
  '.profile',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.zlogin',
];
const SYSTEM_SHELL_FILES = [
  '/etc/profile',
  '/etc/bash.bashrc',
  '/etc/zsh/zshrc',
  '/etc/zsh/zprofile',
  '/etc/zsh/zshenv',
  '/etc/environment',
];

/**
 * Unit files (and `*.wants` links, drop-ins) under a non-vendor unit folder, one level of sub-folders
 * deep. Sub-folders that are symlinks are not entered: they are listed as entries instead.
 */
async function addUnitTree(root: Sysroot, c: Candidates, dir: string): Promise<void> {
  let entries;
  try {
    entries = await root.list(dir);
  } catch (err) {
    if (isDenied(err)) c.denyDir('systemd', dir);
    return;
  }
  for (const entry of entries) {
    if (entry.dirent.isDirectory()) {
      await c.addFolder(root, 'systemd', entry.path, details.unit());
    } else {
      c.add(entry.name.endsWith('.timer') ? 'systemd-timer' : 'systemd', entry.path, details.unit());
    }
  }
}

/** Paths named by sshd_config's AuthorizedKeysFile for one home (tokens %h %u %U %%; relative = under home). */
export function authorizedKeysPaths(values: readonly string[], home: Home, uid: number | null): string[] {
  const paths: string[] = [];
  for (const value of values) {
    for (const token of value.split(/\s+/)) {
      if (token === '' || token === 'none') continue;
      if (token.includes('%u') && home.user === null) continue;
      if (token.includes('%U') && uid === null) continue;
      const expanded = token.replace(/%(.)/g, (_, c: string) =>
        c === 'h' ? home.path : c === 'u' ? (home.user as string) : c === 'U' ? String(uid) : c === '%' ? '%' : `%${c}`,
      );
      paths.push(expanded.startsWith('/') ? expanded : path.posix.join(home.path, expanded));
    }
  }
  return paths;
}

async function sshdAuthorizedKeysFiles(root: Sysroot): Promise<string[]> {
  const texts = [await root.readText('/etc/ssh/sshd_config').catch(() => null)];
  for (const entry of await root.listQuiet('/etc/ssh/sshd_config.d'))
    if (entry.name.endsWith('.conf')) texts.push(await root.readText(entry.path).catch(() => null));
  const values: string[] = [];
  for (const text of texts) {
    for (const m of (text ?? '').matchAll(/^\s*AuthorizedKeysFile\s+(.+)$/gim)) values.push((m[1] as string).trim());
  }
  return values;
}

async function gather(root: Sysroot, accounts: AccountNames): Promise<Candidates> {
  const c = new Candidates();
  const homes = await root.homes();

  // cron and at
  for (const f of await crontabFiles(root)) c.add('cron', f.path, details.crontab(f.format));
  for (const s of await cronPeriodScripts(root)) c.add('cron', s.path, details.cronPeriod(s.period));
  // The spools are often mode 1730/1770: say so rather than show them empty.
  for (const [category, spool] of [
    ['cron', '/var/spool/cron/crontabs'],
    ['at', '/var/spool/cron/atjobs'],
    ['at', '/var/spool/at'],
  ] as const) {
    await root.list(spool).catch((err: unknown) => {
      if (isDenied(err)) c.denyDir(category, spool);
    });
  }
  for (const f of await atJobFiles(root)) c.add('at', f, details.atJob());

  // systemd: administrator folders (system and per user), then timers from anywhere
  for (const dir of NON_VENDOR_UNIT_DIRS) await addUnitTree(root, c, dir);
  await addUnitTree(root, c, '/etc/systemd/user');
  for (const home of homes) await addUnitTree(root, c, path.posix.join(home.path, '.config/systemd/user'));
  const visited = new Set<string>();
  for (const dir of SYSTEM_UNIT_DIRS) {
    // /lib is often a link to /usr/lib: list each real folder once.
    const real = await root.resolve(dir).catch(() => null);
    if (real === null || visited.has(real)) continue;
    visited.add(real);
    await c.addFolder(root, 'systemd-timer', dir, details.unit(), (n) => n.endsWith('.timer'));
  }

  // init scripts
  await c.addFolder(root, 'init', '/etc/init.d', details.initScript());
  c.add('init', '/etc/rc.local', details.rcLocal());

  // shell start-up files
  for (const f of SYSTEM_SHELL_FILES) c.add('shell-rc', f, details.shellRc());
  await c.addFolder(root, 'shell-rc', '/etc/profile.d', details.shellRc());
  for (const home of homes)
    for (const f of HOME_SHELL_FILES) c.add('shell-rc', path.posix.join(home.path, f), details.shellRc());

  // dynamic linker preload
  c.add('ld-preload', '/etc/ld.so.preload', details.ldPreload());

  // SSH keys: the default files, plus whatever sshd_config names
  const keyFiles = await sshdAuthorizedKeysFiles(root);
  const uids = new Map(accounts.passwd.map((entry) => [entry.name, entry.uid]));
  for (const home of homes) {
    for (const f of ['.ssh/authorized_keys', '.ssh/authorized_keys2'])
      c.add('authorized_keys', path.posix.join(home.path, f), details.authorizedKeys());
    const uid = home.user === null ? null : (uids.get(home.user) ?? null);
    for (const p of authorizedKeysPaths(keyFiles, home, uid)) c.add('authorized_keys', p, details.authorizedKeys());
  }

  // udev and kernel modules loaded at boot
  await c.addFolder(root, 'udev', '/etc/udev/rules.d', details.udevRules());
  await c.addFolder(root, 'modules-load', '/etc/modules-load.d', details.modulesLoad());
  c.add('modules-load', '/etc/modules', details.modulesLoad());

  // desktop session autostart
  for (const dir of await autostartDirs(root)) await c.addFolder(root, 'xdg-autostart', dir, details.desktop());
  return c;
}

/** Reads a regular file once: hash and detail from the same bytes (streamed when large). */
async function hashAndDetail(
  hostPath: string,
  devicePath: string,
  st: Stats,
  detailOf: DetailOf | null,
): Promise<{ sha256: string | null; detail: string | null }> {
  if (st.size > MAX_HASH_BYTES) return { sha256: null, detail: `${st.size} bytes: larger than 64 MiB, not hashed` };
  if (st.size > INLINE_BYTES) return { sha256: (await hashFile(hostPath, ['sha256'])).sha256, detail: null };
  const handle = await openForReading(hostPath);
  let bytes: Buffer;
  try {
    bytes = await handle.readFile();
  } finally {
    await handle.close();
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { sha256, detail: detailOf ? detailOf(bytes.toString('utf8'), devicePath) : null };
}

/** The record of one candidate, null when it does not exist, 'denied' when its folder cannot be searched. */
async function describe(
  root: Sysroot,
  accounts: AccountNames,
  c: Candidate,
): Promise<PersistenceInfo | null | 'denied'> {
  let lst: Stats;
  try {
    lst = await fsp.lstat(root.host(c.path));
  } catch (err) {
    return isDenied(err) ? 'denied' : null;
  }
  const base = {
    category: c.category,
    path: c.path,
    owner: accounts.user(lst.uid),
    mode: modeString(lst.mode),
    mtime: lst.mtime.toISOString(),
    size: lst.size,
  };
  let target = c.path;
  let prefix = '';
  let st = lst;
  if (lst.isSymbolicLink()) {
    // Resolved inside the sysroot, so the link is judged by what the device would run.
    const link = await fsp.readlink(root.host(c.path));
    if (link === '/dev/null') return { ...base, sha256: null, detail: 'symlink to /dev/null (masked)' };
    const resolved = await root.resolve(c.path).catch(() => null);
    const stTarget = resolved === null ? null : await fsp.stat(root.host(resolved)).catch(() => null);
    if (resolved === null || stTarget === null)
      return { ...base, sha256: null, detail: `symlink to ${link} (dangling)` };
    target = resolved;
    st = stTarget;
    prefix = `symlink to ${link}; `;
  }
  if (!st.isFile()) {
    // Never open FIFOs or devices: a planted FIFO would hang the read.
    return { ...base, sha256: null, detail: `${prefix}not a regular file (${fileTypeFromMode(st.mode)})` };
  }
  // A home's authorized_keys linked to the agent's key must not bring that key back as a detail.
  const guarded = await protectedPaths.protectionOf(root.host(target));
  if (guarded) return { ...base, sha256: null, detail: `${prefix}not read: it is in ${guarded.what}` };
  try {
    const { sha256, detail } = await hashAndDetail(root.host(target), target, st, c.detail);
    const text = prefix + (detail ?? '');
    return { ...base, sha256, detail: text === '' ? null : text.replace(/; $/, '') };
  } catch (err) {
    return { ...base, sha256: null, detail: prefix + (isDenied(err) ? 'permission denied' : fsReason(err)) };
  }
}

/**
 * The folder that actually stops us: for /root/.ssh/x with /root mode 700, that is /root (the first
 * folder from the top that we can see but not search), so one record stands for everything below it.
 */
async function blockingFolder(root: Sysroot, devicePath: string): Promise<string> {
  let p = devicePath;
  for (;;) {
    const parent = path.posix.dirname(p);
    if (parent === p) return p;
    const visible = await fsp.lstat(root.host(p)).then(
      () => true,
      (err: unknown) => !isDenied(err),
    );
    if (visible) return p;
    p = parent;
  }
}

export async function listPersistence(root: Sysroot, signal?: AbortSignal): Promise<PersistenceInfo[]> {
  const accounts = await root.accounts();
  const candidates = await gather(root, accounts);
  const records: PersistenceInfo[] = [];
  for (const c of candidates.list) {
    signal?.throwIfAborted();
    const r = await describe(root, accounts, c);
    // We cannot tell whether the file exists: report the folder we could not search (once), not every name.
    if (r === 'denied') candidates.denyDir(c.category, path.posix.dirname(c.path));
    else if (r) records.push(r);
  }
  const reported = new Set<string>();
  for (const d of candidates.deniedDirs) {
    const blocked = await blockingFolder(root, d.path);
    if (reported.has(blocked)) continue;
    reported.add(blocked);
    const st = await root.lstat(blocked).catch(() => null);
    records.push({
      category: d.category,
      path: blocked,
      owner: st ? accounts.user(st.uid) : '?',
      mode: st ? modeString(st.mode) : '?',
      mtime: st ? st.mtime.toISOString() : '',
      size: st?.size ?? 0,
      sha256: null,
      detail: 'permission denied',
    });
  }
  return records;
}
