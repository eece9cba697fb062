/**
 * getfile: streams a file to the analyst in binary data frames under the transfer window (never whole in
 * memory), computing its SHA-256 while reading. Resumes from `-offset N`: the first N bytes are hashed
 * locally (not sent), so the final hash always covers the whole file. The file is described from the open
 * handle, and a file that changes while it is read fails the transfer rather than producing a mixed copy.
 * A file whose size reads 0 may be a pseudo-file (`/proc/PID/maps`, `/proc/cpuinfo`: the kernel makes the
 * content up on read): it is read to end of file into memory, up to a cap, and sent as that snapshot.
 * On Windows the path is judged and resolved first (fs/device-path.ts); `mode` holds the attributes and
 * `owner` the owner's account.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { DATA_CHUNK_BYTES } from '../../shared/wire/protocol.js';
import { formatBytes } from '../../shared/commands/format.js';
import { CommandError, defineCommand } from '../command.js';
import { dataChunk } from '../jobs.js';
import { stage } from '../../node/stage-trace.js';
import { AccountNames } from '../fs/accounts.js';
import { devicePath, isWindows } from '../fs/device-path.js';
import { fileTypeFromMode, modeString } from '../fs/file-mode.js';
import { fsReason } from '../fs/fs-errors.js';
import { openForReading } from '../fs/hash.js';
import {
  contentReadProblem,
  FILE_ATTRIBUTE,
  fileAttributesOrNull,
  windowsMode,
} from '../platform/windows/file-attributes.js';
import { fileOwner } from '../platform/windows/file-owner.js';
import { refuseProtected, refuseProtectedOpen } from '../protected-paths.js';

/** The reference console's getfile limit; the service passes the tenant's limit as `_maxBytes`. */
export const DEFAULT_MAX_GETFILE_BYTES = 3 * 1024 ** 3;
/** Allocated space may trail the size by a block of tail packing before a file counts as sparse. */
const SPARSE_SLACK_BYTES = 64 * 1024;
/** Most a size-0 (pseudo) file is read to: held in memory whole, since its size is known only at EOF. */
export const PSEUDO_FILE_CAP_BYTES = 32 * 1024 * 1024;

/** Reads a file that says it is empty to its real end: its bytes, or why not (longer than `cap`, aborted). */
async function readToEnd(
  handle: FileHandle,
  cap: number,
  signal: AbortSignal,
): Promise<Buffer | 'too-big' | 'aborted'> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    if (signal.aborted) return 'aborted';
    const buf = Buffer.allocUnsafe(64 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, total);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > cap) return 'too-big';
    chunks.push(buf.subarray(0, bytesRead));
  }
}

/** Reads `length` bytes at `position` into `buf` (default: a fresh buffer); shorter at end of file. */
async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
  buf: Buffer = Buffer.allocUnsafe(length),
): Promise<Buffer> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

export const getfileCommand = defineCommand({
  spec: commandSpec('getfile'),
  schema: paramsSchema(commandSpec('getfile')).extend({
    offset: z.coerce.number().int().nonnegative().optional(),
    _maxBytes: z.coerce.number().int().positive().optional(),
  }),
  async run(ctx, params) {
    const target = devicePath(ctx, 'getfile', params.path);
    const fail = (reason: string): CommandError => new CommandError(`getfile: ${target}: ${reason}`);
    // Exact sizes: rounded, a file one byte over would read "3.0 GiB is over the limit of 3.0 GiB".
    const overLimit = (size: number, max: number): CommandError =>
      new CommandError(
        `getfile: ${target}: ${formatBytes(size)} (${size} bytes) is over the getfile limit of ${formatBytes(max)} (${max} bytes)`,
        'refused',
      );
    await refuseProtected(ctx, 'getfile', target);
    const byPath = await fsp.stat(target).catch((err: unknown) => {
      throw fail(fsReason(err));
    });
    if (byPath.isDirectory()) throw fail('is a directory');
    if (!byPath.isFile())
      throw fail(`not a regular file (${fileTypeFromMode(byPath.mode)}): only regular files can be downloaded`);
    const max = params._maxBytes ?? DEFAULT_MAX_GETFILE_BYTES;
    if (byPath.size > max) throw overLimit(byPath.size, max);
    const windows = isWindows(ctx);
    // Windows: judged by attributes before the open (reading a cloud placeholder downloads it); only a file
    // marked sparse can be sparse (a compressed file also has less allocated than its size, and is read).
    const attributes = windows ? fileAttributesOrNull(target) : null;
    const elsewhere = contentReadProblem(attributes);
    if (elsewhere) throw new CommandError(`getfile: ${target}: ${elsewhere}; not downloaded`, 'refused');
    const maybeSparse = !windows || attributes === null || (attributes & FILE_ATTRIBUTE.SPARSE_FILE) !== 0;

    const handle = await openForReading(target).catch((err: unknown) => {
      throw fail(fsReason(err));
    });
    try {
      await refuseProtectedOpen(ctx, 'getfile', handle.fd, target);
      const st = await handle.stat();
      if (!st.isFile()) throw fail(`not a regular file (${fileTypeFromMode(st.mode)})`);
      if (st.size > max) throw overLimit(st.size, max);
      if (maybeSparse && st.blocks * 512 + SPARSE_SLACK_BYTES < st.size) {
        throw fail(
          `sparse file (${formatBytes(st.blocks * 512)} allocated for ${formatBytes(st.size)}): not downloaded; use fileinfo, or collect it with a script`,
        );
      }
      let snapshot: Buffer | null = null;
      if (st.size === 0) {
        const cap = Math.min(max, PSEUDO_FILE_CAP_BYTES);
        const read = await readToEnd(handle, cap, ctx.signal).catch((err: unknown) => {
          throw fail(fsReason(err));
        });
        if (read === 'aborted') return;
        if (read === 'too-big')
          throw fail(`its size reads 0 (a pseudo-file) but its content is over ${formatBytes(cap)}: not downloaded`);
        snapshot = read;
      }
      const size = snapshot?.length ?? st.size;
      const offset = params.offset ?? 0;
      if (offset > size) throw fail(`cannot resume at byte ${offset}: the file has only ${size} bytes (it changed?)`);
      const accounts = windows ? null : await AccountNames.load(ctx.platform.options.sysroot);
      await ctx.emit({
        type: 'file',
        path: target,
        size,
        mode: windows ? windowsMode(target, st) : modeString(st.mode),
        owner: accounts ? accounts.user(st.uid) : fileOwner(target),
        mtime: st.mtime.toISOString(),
        atime: st.atime.toISOString(),
        ctime: st.ctime.toISOString(),
        offset,
      });
      ctx.trace(
        'info',
        `sending ${target} (${size} bytes${snapshot ? ', read to its end: its size reads 0' : ''}) from byte ${offset}`,
      );

      const hash = createHash('sha256');
      const jobId = ctx.jobId ?? '';
      if (snapshot) {
        // A snapshot: the bytes hashed are the bytes sent, whatever the kernel would answer next time.
        hash.update(snapshot.subarray(0, offset));
        for (let pos = offset; pos < size; pos += DATA_CHUNK_BYTES) {
          if (ctx.signal.aborted) return;
          const chunk = snapshot.subarray(pos, Math.min(size, pos + DATA_CHUNK_BYTES));
          hash.update(chunk);
          await ctx.sendData(pos, chunk);
        }
        await ctx.emit({ type: 'file-end', path: target, size, sha256: hash.digest('hex') });
        return;
      }
      // Resume: hash what the analyst already has, without sending it.
      for (let pos = 0; pos < offset;) {
        if (ctx.signal.aborted) return;
        const chunk = await readAt(handle, pos, Math.min(4 * DATA_CHUNK_BYTES, offset - pos));
        if (chunk.length === 0) throw fail('the file shrank while it was read');
        hash.update(chunk);
        pos += chunk.length;
      }
      // One read ahead: the next chunk comes off the disk while this one is hashed and waits for the window.
      // Each chunk has room for the frame header before it: the frame is assembled without copying the bytes.
      const readChunk = (at: number): Promise<Buffer> => {
        const length = Math.min(DATA_CHUNK_BYTES, st.size - at);
        stage(jobId, 'agent.read');
        return readAt(handle, at, length, dataChunk(length));
      };
      let pos = offset;
      let next: Promise<Buffer> | null = pos < st.size ? readChunk(pos) : null;
      try {
        while (next) {
          const chunk = await next;
          next = null;
          stage(jobId, 'agent.hash');
          if (chunk.length === 0) throw fail('the file shrank while it was read');
          if (ctx.signal.aborted) return;
          const at = pos;
          pos += chunk.length;
          if (pos < st.size) next = readChunk(pos);
          hash.update(chunk);
          await ctx.sendData(at, chunk);
        }
      } finally {
        // Never leave a read running on the handle the caller is about to close.
        await next?.catch(() => undefined);
      }
      const after = await handle.stat();
      if (after.size !== st.size || after.mtimeMs !== st.mtimeMs)
        throw fail('the file changed while it was read; run getfile again');
      await ctx.emit({ type: 'file-end', path: target, size: st.size, sha256: hash.digest('hex') });
    } finally {
      await handle.close();
    }
  },
});
