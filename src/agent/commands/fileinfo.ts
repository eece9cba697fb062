/**
 * fileinfo: what a file is (magic), its metadata, and its MD5/SHA-1/SHA-256 from one streamed read.
 * The file is opened once and described from that open handle (fstat), so the metadata and the hashes
 * are of the same file even if the path is swapped meanwhile. Above 30 GB the hashes are skipped.
 * A PE file (.exe, .dll, .sys: on any OS) also gets its header facts and version strings (pe-info.ts). On
 * Windows `mode` holds the attributes (`-a-h--`), owner is the owner's account (`DOMAIN\name`) and
 * group is null.
 */
import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand } from '../command.js';
import { AccountNames } from '../fs/accounts.js';
import { devicePath, isWindows } from '../fs/device-path.js';
import { fileTypeFromMode } from '../fs/file-mode.js';
import { fsReason } from '../fs/fs-errors.js';
import { hashHandle, openForReading } from '../fs/hash.js';
import { describeMagic, MAGIC_BYTES } from '../fs/magic.js';
import { birthTime, statFacts, windowsStatFacts } from '../fs/stat-facts.js';
import { contentReadProblem, fileAttributesOrNull } from '../platform/windows/file-attributes.js';
import { readPeInfo, type PeInfo } from '../platform/windows/pe-info.js';
import { refuseProtected, refuseProtectedOpen } from '../protected-paths.js';

/** The reference console's fileinfo hashing limit (30 GB). */
export const MAX_HASH_BYTES = 30 * 1024 ** 3;

async function readHead(handle: FileHandle): Promise<Buffer> {
  const head = Buffer.alloc(MAGIC_BYTES);
  const { bytesRead } = await handle.read(head, 0, MAGIC_BYTES, 0);
  return head.subarray(0, bytesRead);
}

/** The PE facts of an open file whose first bytes are `head`, or null (not a PE, or unreadable headers). */
async function peInfoOf(handle: FileHandle, head: Buffer, size: number): Promise<PeInfo | null> {
  if (head[0] !== 0x4d || head[1] !== 0x5a) return null; // MZ
  const read = async (offset: number, length: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  };
  return readPeInfo(read, size).catch(() => null);
}

export const fileinfoCommand = defineCommand({
  spec: commandSpec('fileinfo'),
  schema: paramsSchema(commandSpec('fileinfo')),
  async run(ctx, params) {
    const target = devicePath(ctx, 'fileinfo', params.path);
    const fail = (reason: string): CommandError => new CommandError(`fileinfo: ${target}: ${reason}`);
    await refuseProtected(ctx, 'fileinfo', target);
    // Checked by path before opening: opening a device or FIFO can block or have side effects.
    const byPath = await fsp.stat(target).catch((err: unknown) => {
      throw fail(fsReason(err));
    });
    if (byPath.isDirectory()) throw fail('is a directory');
    if (!byPath.isFile()) throw fail(`not a regular file (${fileTypeFromMode(byPath.mode)})`);
    // Windows: a cloud placeholder's content is never read (reading downloads it): metadata only.
    const elsewhere = isWindows(ctx) ? contentReadProblem(fileAttributesOrNull(target)) : null;
    const link = await fsp
      .lstat(target)
      .then((l) => (l.isSymbolicLink() ? fsp.readlink(target) : null))
      .catch(() => null);

    const handle = await openForReading(target).catch((err: unknown) => {
      throw fail(fsReason(err));
    });
    try {
      await refuseProtectedOpen(ctx, 'fileinfo', handle.fd, target);
      const st: Stats = await handle.stat();
      if (!st.isFile()) throw fail(`not a regular file (${fileTypeFromMode(st.mode)})`);
      // Before hashing: the hash stream closes the handle when it ends.
      const pe = elsewhere ? null : await peInfoOf(handle, await readHead(handle), st.size);
      let hashes: { md5: string | null; sha1: string | null; sha256: string | null } = {
        md5: null,
        sha1: null,
        sha256: null,
      };
      let head: Buffer;
      let note: string | null = null;
      if (elsewhere) {
        head = Buffer.alloc(0);
        note = `${elsewhere}: not read, not hashed`;
      } else if (st.size > MAX_HASH_BYTES) {
        head = await readHead(handle);
        note = 'larger than 30 GB: not hashed';
      } else {
        const parts: Buffer[] = [];
        let headBytes = 0;
        const started = Date.now();
        hashes = await hashHandle(handle, ['md5', 'sha1', 'sha256'], {
          signal: ctx.signal,
          onChunk: (chunk) => {
            if (headBytes >= MAGIC_BYTES) return;
            parts.push(chunk.subarray(0, MAGIC_BYTES - headBytes));
            headBytes += Math.min(chunk.length, MAGIC_BYTES - headBytes);
          },
        }).catch((err: unknown) => {
          if (ctx.signal.aborted) throw err;
          throw fail(fsReason(err));
        });
        head = Buffer.concat(parts);
        ctx.trace('debug', `hashed ${st.size} bytes in ${Date.now() - started} ms`);
      }
      const magic = elsewhere
        ? { ...describeMagic(head, 0), type: 'unknown (content not on this device)' }
        : describeMagic(head, st.size);
      const facts = isWindows(ctx)
        ? windowsStatFacts(target, st)
        : statFacts(st, await AccountNames.load(ctx.platform.options.sysroot));
      await ctx.emit({
        path: target,
        size: facts.size,
        type: magic.type,
        mode: facts.mode,
        owner: facts.owner,
        group: facts.group,
        mtime: facts.mtime,
        atime: st.atime.toISOString(),
        ctime: st.ctime.toISOString(),
        birthtime: birthTime(st),
        ...hashes,
        architecture: magic.architecture,
        elfClass: magic.elfClass,
        endianness: magic.endianness,
        linkTarget: link,
        note,
        ...pe,
      });
    } finally {
      await handle.close();
    }
  },
});
