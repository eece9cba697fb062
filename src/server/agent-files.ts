/**
 * The agent files the service hands to new devices ("enrollment in one line"): DATA/agent-files/
 * holds the current executable per target, named as agentFileName(target) says. The installer scripts
 * carry the SHA-256 of the file they will download; the route serves the file with its SHA-256.
 *
 * A file is only ever published whole: copied to a temporary name in the folder, fsynced, renamed over the
 * old one. A reader holding the old file keeps reading the old inode; the next reader gets the new one.
 * Hashes are computed streaming and cached per (inode, size, mtime): a file replaced (or edited in place)
 * is hashed again, an unchanged one is not.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { AGENT_TARGETS, agentFileName, type AgentTarget } from '../shared/wire/agent-release.js';

export const AGENT_FILES_FOLDER = 'agent-files';

export function agentFilesDir(dataDir: string): string {
  return join(dataDir, AGENT_FILES_FOLDER);
}

export interface AgentFileInfo {
  target: AgentTarget;
  name: string;
  size: number;
  /** Lowercase hex. */
  sha256: string;
  modifiedAt: string;
}

/** The target whose file has this exact name; null for any other name (nothing is looked up on disk for it). */
export function agentTargetOfName(name: string): AgentTarget | null {
  return AGENT_TARGETS.find((t) => agentFileName(t) === name) ?? null;
}

/** The targets an installer for this OS may download. */
export function targetsOfOs(os: 'linux' | 'windows'): AgentTarget[] {
  return AGENT_TARGETS.filter((t) => (os === 'windows' ? t.startsWith('win-') : t.startsWith('linux-')));
}

async function hashHandle(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  // Read from the open handle, not the path: the hash is the one of the inode being served.
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface CacheEntry {
  key: string;
  sha256: string;
}

function cacheKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

export class AgentFiles {
  private readonly cache = new Map<AgentTarget, CacheEntry>();

  constructor(readonly dataDir: string) {}

  get dir(): string {
    return agentFilesDir(this.dataDir);
  }

  /** Opens the current file of a target with its size and SHA-256 (null when there is none). The caller closes it. */
  async open(target: AgentTarget): Promise<{ handle: FileHandle; info: AgentFileInfo } | null> {
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, agentFileName(target)), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        return null;
      }
      const key = cacheKey(st);
      let sha256 = this.cache.get(target)?.key === key ? this.cache.get(target)?.sha256 : undefined;
      if (!sha256) {
        sha256 = await hashHandle(handle);
        // Changed while it was hashed (edited in place): not cached, the next request hashes again.
        if (cacheKey(await handle.stat()) === key) this.cache.set(target, { key, sha256 });
      }
      return {
        handle,
        info: { target, name: agentFileName(target), size: st.size, sha256, modifiedAt: st.mtime.toISOString() },
      };
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  async info(target: AgentTarget): Promise<AgentFileInfo | null> {
    const opened = await this.open(target);
    if (!opened) return null;
    await opened.handle.close();
    return opened.info;
  }

  /** Every target that has a file, in AGENT_TARGETS order. */
  async list(): Promise<AgentFileInfo[]> {
    const out: AgentFileInfo[] = [];
    for (const t of AGENT_TARGETS) {
      const i = await this.info(t);
      if (i) out.push(i);
    }
    return out;
  }
}

/**
 * What the first bytes of a file say it is for, so `--target linux-arm64` on an x64 build (or a text file)
 * is refused before a device downloads it: ELF with its machine (x86-64 = 62, AArch64 = 183), or a PE ("MZ").
 */
export function agentFileFormatProblem(head: Buffer, target: AgentTarget): string | null {
  if (target.startsWith('win-'))
    return head.subarray(0, 2).toString('latin1') === 'MZ' ? null : 'not a Windows executable (no MZ header)';
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return 'not a Linux executable (no ELF header)';
  const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  const expected = target === 'linux-x64' ? 62 : 183;
  if (machine !== expected)
    return `an ELF file for another machine (e_machine ${machine}, ${target} needs ${expected})`;
  return null;
}

/**
 * Makes `srcPath` the current file of `target`: copied under a temporary name in DATA/agent-files (same
 * file system), fsynced, then renamed over the current one (a reader never sees half a file), the folder
 * fsynced too. Refuses a file whose format does not fit the target. Answers the published file's info.
 */
export async function publishAgentFile(dataDir: string, target: AgentTarget, srcPath: string): Promise<AgentFileInfo> {
  const dir = agentFilesDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const src = await open(srcPath, 'r');
  const final = join(dir, agentFileName(target));
  const tmp = join(dir, `.${agentFileName(target)}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    const st = await src.stat();
    if (!st.isFile()) throw new Error(`${srcPath} is not a regular file`);
    if (st.size === 0) throw new Error(`${srcPath} is empty`);
    const head = Buffer.alloc(64);
    await src.read(head, 0, 64, 0);
    const problem = agentFileFormatProblem(head, target);
    if (problem) throw new Error(`${srcPath} is ${problem}: not published as ${agentFileName(target)}`);
    // 0644: the service serves it, nobody runs it here; the folder (in the 0700 data folder) keeps it private.
    const out = await open(tmp, 'wx', 0o644);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of src.createReadStream({ start: 0, autoClose: false })) {
        const b = chunk as Buffer;
        hash.update(b);
        size += b.length;
        for (let done = 0; done < b.length;) done += (await out.write(b, done, b.length - done)).bytesWritten;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, final);
    await syncDir(dir);
    const now = await stat(final);
    return {
      target,
      name: agentFileName(target),
      size,
      sha256: hash.digest('hex'),
      modifiedAt: now.mtime.toISOString(),
    };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await src.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
