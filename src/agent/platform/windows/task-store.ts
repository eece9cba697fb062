/**
 * A scheduled task's definition file in the task store (`%SystemRoot%\System32\Tasks`), located from what
 * `scheduledtasks` shows: its name (`\Folder\Task`) or its file path. Pure path work apart from
 * `taskCacheId` (the registry): the name rules are unit-tested under Linux.
 */
import { joinKey, type RegistryPath } from './registry-path.js';
import { OpenKey, RegistryCallError, ERROR_FILE_NOT_FOUND } from './registry-win32.js';
import { keyExists } from './registry-write.js';
import { windowsWithin } from './paths.js';

/**
 * Where the Task Scheduler service registers tasks (and whence it loads them at its start, with their
 * triggers and actions): Tree\<task path> (Id, Index, SD), Tasks\{Id} (Path, URI, Triggers, Actions,
 * DynamicInfo...), and an empty {Id} key under the list of its kind (Plain, Boot, Logon, Maintenance).
 */
export const TASK_CACHE = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache';

export interface TaskLocation {
  /** `\Folder\Task`, as `scheduledtasks` names it. */
  name: string;
  /** The definition file (a Windows path). */
  file: string;
}

/**
 * `\LrTest\Updater` or `C:\Windows\System32\Tasks\LrTest\Updater` → both forms; a one-line reason (thrown)
 * for anything that is not a task of the store: `..`, empty components, a path outside the store, the store
 * itself.
 */
export function locateTask(target: string, store: string): TaskLocation {
  const t = target.trim().replace(/\//g, '\\');
  const storeNorm = store.replace(/\//g, '\\').replace(/\\+$/, '');
  let rel: string;
  if (/^[a-z]:\\/i.test(t)) {
    if (!windowsWithin(t, storeNorm)) throw new Error(`${target} is not in the task store (${storeNorm})`);
    rel = t.slice(storeNorm.length);
  } else if (t.startsWith('\\')) rel = t;
  else
    throw new Error(`${target}: give the task's name (\\Folder\\Task, see scheduledtasks) or its file in ${storeNorm}`);
  const parts = rel.split('\\').filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`${target} names the task store itself, not a task`);
  const bad = parts.find((p) => p === '.' || p === '..' || /[<>:"|?*\0]/.test(p));
  if (bad !== undefined) throw new Error(`${target}: ${bad} is not a task name component`);
  return { name: `\\${parts.join('\\')}`, file: `${storeNorm}\\${parts.join('\\')}` };
}

/** Whether a task is one of Windows' own folder (`\Microsoft\...`). */
export function isMicrosoftTask(name: string): boolean {
  return /^\\Microsoft\\/i.test(name);
}

/** The TaskCache id ({GUID}) of a task, or null when the registry has no entry for it (Wine keeps none). */
export function taskCacheId(name: string): string | null {
  let key: OpenKey;
  try {
    key = OpenKey.open('HKLM', `${TASK_CACHE}\\Tree${name}`);
  } catch (e) {
    if (e instanceof RegistryCallError && e.status === ERROR_FILE_NOT_FOUND) return null;
    throw e;
  }
  try {
    const id = key.query('Id');
    return id ? id.bytes.toString('utf16le').replace(/\0+$/, '') : '';
  } finally {
    key.close();
  }
}

const TASK_KIND_LISTS = ['Plain', 'Boot', 'Logon', 'Maintenance'];

const hklm = (subkey: string): RegistryPath => ({
  hive: 'HKLM',
  subkey,
  value: null,
  display: joinKey('HKLM', subkey),
});

/** The TaskCache keys of a task that exist, Tree first; none where Windows keeps none (Wine). */
export function taskCacheKeys(name: string): RegistryPath[] {
  const id = taskCacheId(name);
  if (id === null) return [];
  const keys = [hklm(`${TASK_CACHE}\\Tree${name}`)];
  if (!/^\{[0-9A-Fa-f-]{36}\}$/.test(id)) return keys;
  for (const sub of ['Tasks', ...TASK_KIND_LISTS].map((list) => hklm(`${TASK_CACHE}\\${list}\\${id}`)))
    if (keyExists(sub)) keys.push(sub);
  return keys;
}
