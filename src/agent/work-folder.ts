/**
 * The agent's working folder (DATA/work): files put there by `putfile`. A file put without `-keep` is
 * removed at the device's next boot; boots are told apart by the kernel's boot id, recorded per file in
 * a manifest (DATA/work/.manifest.json: {name: {keep, bootId}}). The agent cleans up when it starts.
 * Library names never start with a dot, so the manifest and `.part` files cannot clash with them.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { libraryNameProblem } from '../shared/commands/library-rules.js';
import { writeFileAtomicAsync } from '../node/files.js';
import { errorCode } from './fs/fs-errors.js';

export const MANIFEST_FILE = '.manifest.json';
/** Downloads in progress are `.NAME.RANDOM.part`; any left by a crash are removed at start-up. */
export const PART_SUFFIX = '.part';

const manifestSchema = z.record(z.string().max(256), z.object({ keep: z.boolean(), bootId: z.string().max(128) }));
export type WorkManifest = z.infer<typeof manifestSchema>;

export async function readManifest(workDir: string): Promise<WorkManifest> {
  let text: string;
  try {
    text = await readFile(join(workDir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return {};
    throw e;
  }
  // A damaged manifest must not stop the agent or putfile: without it nothing is removed (the safe side).
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  const parsed = manifestSchema.safeParse(json);
  return parsed.success ? parsed.data : {};
}

async function writeManifest(workDir: string, manifest: WorkManifest): Promise<void> {
  await writeFileAtomicAsync(join(workDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

// Manifest updates are read-modify-write: serialise them within the agent.
let queue: Promise<unknown> = Promise.resolve();
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

/** Records a file put into the working folder (and whether it survives the next boot). */
export function recordPut(workDir: string, name: string, keep: boolean, bootId: string): Promise<void> {
  return serialised(async () => {
    const manifest = await readManifest(workDir);
    manifest[name] = { keep, bootId };
    await writeManifest(workDir, manifest);
  });
}

/**
 * Start-up cleanup: removes the files put without `-keep` during an earlier boot, and stale partial
 * downloads. Returns the names removed.
 */
export function cleanWorkFolder(workDir: string, currentBootId: string): Promise<string[]> {
  return serialised(async () => {
    const manifest = await readManifest(workDir);
    const removed: string[] = [];
    for (const [name, entry] of Object.entries(manifest)) {
      if (entry.keep || entry.bootId === currentBootId) continue;
      // The manifest is ours, but never let an entry reach outside the folder.
      if (libraryNameProblem(name) === null) await rm(join(workDir, name), { force: true });
      delete manifest[name];
      removed.push(name);
    }
    if (removed.length > 0) await writeManifest(workDir, manifest);
    const entries = await readdir(workDir).catch(() => [] as string[]);
    for (const entry of entries)
      if (entry.startsWith('.') && entry.endsWith(PART_SUFFIX)) await rm(join(workDir, entry), { force: true });
    return removed;
  });
}
