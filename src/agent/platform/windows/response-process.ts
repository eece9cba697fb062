/**
 * Windows: a process's image and stopping a process (tree) for remediate. A process is ended with
 * TerminateProcess (Windows has no SIGTERM a console-less process would honour: the end is immediate, which
 * StopResult reports as `killed`), then awaited with WaitForSingleObject polled without blocking the event
 * loop. Each process is opened once and its creation time checked against the snapshot's before it is
 * terminated, so a pid reused meanwhile by another process is never ended in its place.
 */
import type { LibraryHandle } from 'koffi';
import type { StopResult } from '../types.js';
import { fileTimeToMs, lastError, Win32Error, win32 } from './ffi.js';
import { treeChildrenFirst } from './quarantine-tree.js';
import { isBadHandle, processSnapshot } from './toolhelp.js';

const PROCESS_TERMINATE = 0x0001;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const SYNCHRONIZE = 0x00100000;
const WAIT_OBJECT_0 = 0;
const WAIT_TIMEOUT = 0x102;
const ERROR_INVALID_PARAMETER = 87;
const MAX_PATH_CHARS = 32_767;

type Handle = unknown;

interface StopApi {
  OpenProcess(access: number, inherit: boolean, pid: number): Handle;
  CloseHandle(h: Handle): boolean;
  TerminateProcess(h: Handle, code: number): boolean;
  WaitForSingleObject(h: Handle, ms: number): number;
  GetProcessTimes(h: Handle, creation: Buffer, exit: Buffer, kernel: Buffer, user: Buffer): boolean;
  QueryFullProcessImageNameW(h: Handle, flags: number, buf: Buffer, size: number[]): boolean;
}

let api: StopApi | null = null;

function stopApi(): StopApi {
  if (api) return api;
  const k32: LibraryHandle = win32('kernel32.dll');
  api = {
    OpenProcess: k32.func('void * __stdcall OpenProcess(uint32 access, bool inherit, uint32 pid)'),
    CloseHandle: k32.func('bool __stdcall CloseHandle(void *h)'),
    TerminateProcess: k32.func('bool __stdcall TerminateProcess(void *h, uint32 code)'),
    WaitForSingleObject: k32.func('uint32 __stdcall WaitForSingleObject(void *h, uint32 ms)'),
    GetProcessTimes: k32.func(
      'bool __stdcall GetProcessTimes(void *h, _Out_ uint8_t *creation, _Out_ uint8_t *exit, _Out_ uint8_t *kernel, _Out_ uint8_t *user)',
    ),
    QueryFullProcessImageNameW: k32.func(
      'bool __stdcall QueryFullProcessImageNameW(void *h, uint32 flags, _Out_ uint8_t *buf, _Inout_ uint32 *size)',
    ),
  } as StopApi;
  return api;
}

/** Runs `f` on a handle of `pid` opened with `access`; null when the process cannot be opened (gone, denied). */
function withProcess<T>(pid: number, access: number, f: (h: Handle) => T): T | null {
  const a = stopApi();
  const h = a.OpenProcess(access, false, pid);
  if (isBadHandle(h)) return null;
  try {
    return f(h);
  } finally {
    a.CloseHandle(h);
  }
}

function creationMs(h: Handle): number | null {
  const b = [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)] as const;
  if (!stopApi().GetProcessTimes(h, ...b)) return null;
  return Math.floor(fileTimeToMs(b[0].readBigUInt64LE(0)));
}

/** The creation time (ms since the epoch) of a running process, or null when it cannot be read. */
export function processCreationMs(pid: number): number | null {
  return withProcess(pid, PROCESS_QUERY_LIMITED_INFORMATION, creationMs);
}

export async function processImage(pid: number): Promise<string | null> {
  return withProcess(pid, PROCESS_QUERY_LIMITED_INFORMATION, (h) => {
    const buf = Buffer.alloc(MAX_PATH_CHARS * 2 + 2);
    const size = [MAX_PATH_CHARS];
    return stopApi().QueryFullProcessImageNameW(h, 0, buf, size) ? buf.toString('utf16le', 0, size[0]! * 2) : null;
  });
}

/** Whether a process handle is signalled (exited) within `ms`, polled every 25 ms so the event loop keeps turning. */
async function waitExit(h: Handle, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const r = stopApi().WaitForSingleObject(h, 0);
    if (r === WAIT_OBJECT_0) return true;
    if (r !== WAIT_TIMEOUT) throw new Win32Error('WaitForSingleObject', lastError());
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

type Outcome = 'stopped' | 'gone' | 'survived';

/** Terminates `pid` if it is still the process created at `expectedMs` (null: not checked). */
async function terminate(pid: number, expectedMs: number | null, graceMs: number): Promise<Outcome> {
  const a = stopApi();
  const h = a.OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, false, pid);
  if (isBadHandle(h)) {
    const code = lastError();
    // ERROR_INVALID_PARAMETER: no such pid (it exited); anything else (access denied) leaves it alive.
    if (code === ERROR_INVALID_PARAMETER) return 'gone';
    throw new Win32Error(`OpenProcess(${pid})`, code);
  }
  try {
    if (expectedMs !== null && creationMs(h) !== expectedMs) return 'gone'; // the pid now belongs to another process
    if (!a.TerminateProcess(h, 1)) {
      const code = lastError();
      if (await waitExit(h, 0)) return 'stopped'; // it was exiting already (ERROR_ACCESS_DENIED on a dying process)
      throw new Win32Error(`TerminateProcess(${pid})`, code);
    }
    return (await waitExit(h, graceMs)) ? 'stopped' : 'survived';
  } finally {
    a.CloseHandle(h);
  }
}

/**
 * Terminates `pid` (with `tree`, its descendants first, from one Toolhelp snapshot) and waits up to
 * `graceMs` for each to be gone. A process that cannot be opened or terminated is a survivor.
 */
export async function stopProcess(pid: number, opts: { tree: boolean; graceMs?: number }): Promise<StopResult> {
  const graceMs = opts.graceMs ?? 5000;
  const snapshot = processSnapshot();
  if (!snapshot.some((p) => p.pid === pid)) throw new Error(`no process ${pid}`);
  const created = new Map<number, number | null>();
  for (const p of snapshot) if (opts.tree || p.pid === pid) created.set(p.pid, processCreationMs(p.pid));
  const order = opts.tree
    ? treeChildrenFirst(
        pid,
        snapshot.map((p) => ({ pid: p.pid, ppid: p.ppid, createdMs: created.get(p.pid) ?? null })),
      )
    : [pid];
  const result: StopResult = { stopped: [], survivors: [], killed: true };
  for (const target of order) {
    let outcome: Outcome;
    try {
      outcome = await terminate(target, created.get(target) ?? null, graceMs);
    } catch {
      outcome = 'survived';
    }
    if (outcome === 'stopped') result.stopped.push(target);
    else if (outcome === 'survived') result.survivors.push(target);
  }
  return result;
}
