/**
 * A scheduled task's definition file in the task store (`%SystemRoot%\System32\Tasks`), located from what
 * `scheduledtasks` shows: its name (`\Folder\Task`) or its file path. Pure path work apart from
 * `taskCacheId` (the registry): the name rules are unit-tested under Linux.
 */
import { OpenKey, RegistryCallError, ERROR_FILE_NOT_FOUND } from './registry-win32.js';
import { windowsWithin } from './paths.js';

/** Where the Task Scheduler service indexes the store (Tree\<task path> → Id → Tasks\{Id}). */
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
  else throw new Error(`${target}: give the task's name (\\Folder\\Task, see scheduledtasks) or its file in ${storeNorm}`);
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
