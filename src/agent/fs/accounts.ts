/**
 * User and group names from a POSIX account database (sysroot/etc/passwd and sysroot/etc/group).
 * Read directly rather than through getpwuid: Node has no binding for it, and tests point the agent at a
 * fixture sysroot. Parsed files are cached and re-read only when they change (one stat per load).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    entries.push({ name: f[0] ?? '', uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return entries;
}

/** gid -> group name from /etc/group lines `name:x:gid:members`. */
export function parseGroup(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = Number(f[2]);
    if (f.length < 3 || !Number.isInteger(gid) || names.has(gid)) continue;
    names.set(gid, f[0] ?? '');
  }
  return names;
}

interface CacheEntry<T> {
  key: string;
  value: T;
}
const fileCache = new Map<string, CacheEntry<unknown>>();

/** Parses a file once per (inode, size, mtime); a missing or unreadable file parses as empty text. */
async function readParsed<T>(file: string, parse: (text: string) => T): Promise<T> {
  let key = 'missing';
  try {
    const st = await fsp.stat(file);
    key = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    // Missing database: names fall back to numbers.
  }
  const hit = fileCache.get(file) as CacheEntry<T> | undefined;
  if (hit && hit.key === key) return hit.value;
  let text = '';
  if (key !== 'missing') text = await fsp.readFile(file, 'utf8').catch(() => '');
  const value = parse(text);
  fileCache.set(file, { key, value });
  return value;
}

export class AccountNames {
  private readonly users = new Map<number, string>();

  private constructor(
    readonly passwd: readonly PasswdEntry[],
    private readonly groups: ReadonlyMap<number, string>,
  ) {
    // First entry wins for a duplicated uid, as getpwuid does.
    for (const entry of passwd) if (!this.users.has(entry.uid)) this.users.set(entry.uid, entry.name);
  }

  static async load(sysroot: string): Promise<AccountNames> {
    const [passwd, groups] = await Promise.all([
      readParsed(path.join(sysroot, 'etc/passwd'), parsePasswd),
      readParsed(path.join(sysroot, 'etc/group'), parseGroup),
    ]);
    return new AccountNames(passwd, groups);
  }

  /** User name of a uid, or the uid as a string when it has no entry (as ls does). */
  user(uid: number): string {
    return this.users.get(uid) ?? String(uid);
  }

  group(gid: number): string {
    return this.groups.get(gid) ?? String(gid);
  }
}
