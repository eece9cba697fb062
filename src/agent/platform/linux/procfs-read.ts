/**
 * Small synchronous procfs reads. Measured on our 2-core machines with ~1 100 processes: open+read+close
 * with a reused buffer takes ~20 µs per file, readFileSync ~45 µs (it fstat()s and reads in steps), and
 * the promise API ~3x the synchronous total (every read is a thread-pool round trip). Callers therefore
 * read synchronously in slices and yield to the event loop between slices (see `slices`).
 */
import fs from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

let buffer = Buffer.allocUnsafe(64 * 1024);

/** Whole content of a (procfs) file as latin1/utf8 text. Throws Node's error (ENOENT, ESRCH, EACCES). */
export function readProcFile(file: string, encoding: BufferEncoding = 'latin1'): string {
  return read(file, encoding, false);
}

/**
 * readProcFile for the files the kernel prints in one piece: /proc/PID/{stat,statm,status,comm} (one
 * seq_file record, its buffer grown until the record fits) and /proc/PID/{cmdline,environ} (copied
 * until the count asked for is reached or the area ends). For them a read shorter than asked is the
 * end, as procps's file2str takes it: one read(2) fewer per file, three per process in a listing. Not
 * for tables (/proc/net/tcp, mounts...): those come a page per read.
 */
export function readProcRecord(file: string, encoding: BufferEncoding = 'latin1'): string {
  return read(file, encoding, true);
}

function read(file: string, encoding: BufferEncoding, shortReadIsEnd: boolean): string {
  const fd = fs.openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        // cmdline and environ can exceed the buffer (ARG_MAX is 2 MiB): grow and keep reading.
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const room = buffer.length - length;
      const n = fs.readSync(fd, buffer, length, room, null);
      length += n;
      if (n === 0 || (shortReadIsEnd && n < room)) break;
    }
    return buffer.toString(encoding, 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a (procfs) file piece by piece, as latin1 text: `each` gets text that ends at a line end (the
 * last piece: whatever follows the last one) and may return a promise, which is awaited before the next
 * read. Procfs tables such as /proc/net/tcp come a page per read, so a caller can start on the first
 * lines of a long table before the kernel has printed the rest. Throws Node's error (ENOENT, ...).
 */
export async function readProcPieces(file: string, each: (text: string) => Promise<void> | void): Promise<void> {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let rest = '';
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const text = rest + chunk.toString('latin1', 0, n);
      const end = text.lastIndexOf('\n') + 1;
      rest = text.slice(end);
      if (end === 0) continue;
      const pending = each(end === text.length ? text : text.slice(0, end));
      if (pending) await pending;
    }
    if (rest) {
      const pending = each(rest);
      if (pending) await pending;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Numeric entries of a procfs folder (the pids), ascending. */
export function listPids(procRoot: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync(procRoot)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

/**
 * Runs `work` over `items` synchronously in slices of `sliceSize`, yielding to the event loop between
 * slices (so other jobs and the link keep moving) and stopping when the signal aborts.
 */
export async function slices<T>(
  items: readonly T[],
  sliceSize: number,
  signal: AbortSignal | undefined,
  work: (item: T) => void,
): Promise<void> {
  for (let i = 0; i < items.length; i += sliceSize) {
    signal?.throwIfAborted();
    const end = Math.min(items.length, i + sliceSize);
    for (let j = i; j < end; j++) work(items[j] as T);
    if (end < items.length) await yieldToLoop();
  }
}
