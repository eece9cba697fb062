/**
 * Windows scheduled tasks, from the task store itself: every file under `%SystemRoot%\System32\Tasks` is a
 * task definition (XML), every folder a task folder. Windows tools (schtasks) are never run. A file or folder
 * that cannot be read or parsed is still listed, with the reason in `error`, so that nothing is silently
 * dropped. Last and next run times live in the registry's TaskCache, not in the store: not shown.
 */
import type { Dirent } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fsReason } from '../../fs/fs-errors.js';
import type { ScheduledTaskInfo } from '../types.js';
import { sidNamer } from './account-names.js';
import { accountName, parseTaskXml, type AccountNamer } from './task-xml.js';
import { describeError } from '../../../shared/errors.js';

/** A Windows task record; `error` is present only when the definition could not be read or parsed. */
export type WindowsTaskRecord = ScheduledTaskInfo & { error?: string };

/** Task definitions are a few KB; anything this large is not one (and is not read whole). */
export const MAX_TASK_FILE_BYTES = 1 << 20;
/** Files read between two looks at the AbortSignal (and two turns of the event loop). */
const CHUNK = 64;

export function taskStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const systemRoot = env.SystemRoot ?? env.SYSTEMROOT ?? env.windir ?? env.WINDIR ?? 'C:\\Windows';
  return path.join(systemRoot, 'System32', 'Tasks');
}

async function readBounded(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_TASK_FILE_BYTES + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, size, buf.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > MAX_TASK_FILE_BYTES)
        throw new Error(`larger than ${MAX_TASK_FILE_BYTES} bytes: not a task definition`);
    }
    return buf.subarray(0, size);
  } finally {
    await fh.close();
  }
}

/** A task that could not be read: what it would do is unknown, so `enabled` is left out rather than guessed. */
function failed(source: string, name: string, error: string): WindowsTaskRecord {
  return {
    kind: 'windows-task',
    source,
    name,
    user: null,
    schedule: 'unreadable',
    command: '',
    author: null,
    line: null,
    error,
  };
}

/** One task file as a record (a parse failure becomes a record with `error`). */
export async function readTask(
  file: string,
  name: string,
  names: AccountNamer = accountName,
): Promise<WindowsTaskRecord> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(file);
  } catch (err) {
    return failed(file, name, fsReason(err));
  }
  try {
    const t = parseTaskXml(bytes, names);
    return {
      kind: 'windows-task',
      source: file,
      name,
      user: t.user ?? t.author,
      schedule: t.schedule,
      command: t.command,
      enabled: t.enabled,
      author: t.author,
      line: null,
    };
  } catch (err) {
    return failed(file, name, `not a valid task definition: ${describeError(err)}`);
  }
}

/**
 * Every task under `root` (the task store), folders walked depth-first, names as the Task Scheduler shows them
 * (`\Folder\Name`). An unreadable root throws; an unreadable sub-folder is one record with `error`.
 */
export async function readTaskStore(
  root: string,
  signal?: AbortSignal,
  names: AccountNamer = accountName,
): Promise<WindowsTaskRecord[]> {
  const records: WindowsTaskRecord[] = [];
  let sinceYield = 0;
  const walk = async (dir: string, folder: string, entries: Dirent[]): Promise<void> => {
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const name = `${folder}\\${entry.name}`;
      if (entry.isDirectory()) {
        let sub: Dirent[];
        try {
          sub = await readdir(file, { withFileTypes: true });
        } catch (err) {
          records.push(failed(file, name, `task folder unreadable: ${fsReason(err)}`));
          continue;
        }
        await walk(file, name, sub);
      } else {
        if (++sinceYield >= CHUNK) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
        signal?.throwIfAborted();
        records.push(await readTask(file, name, names));
      }
    }
  };
  await walk(root, '', await readdir(root, { withFileTypes: true }));
  return records;
}

export async function listScheduledTasks(signal?: AbortSignal): Promise<ScheduledTaskInfo[]> {
  const lookup = sidNamer();
  // Well-known SIDs by their usual names; other SIDs (user accounts) as Windows names them.
  return readTaskStore(taskStoreDir(), signal, (id) => {
    const known = accountName(id);
    return known !== id ? known : lookup(id);
  });
}
