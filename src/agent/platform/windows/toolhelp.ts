/**
 * The process list of a Toolhelp snapshot (CreateToolhelp32Snapshot + Process32FirstW/NextW): pid, parent
 * pid and image name of every process, readable without opening any process, so that a process the agent
 * may not open (access denied, protected) is still listed.
 */
import type { LibraryHandle } from 'koffi';
import { ffi, lastError, Win32Error, win32 } from './ffi.js';

export interface SnapshotProcess {
  pid: number;
  ppid: number;
  /** The image's file name (`svchost.exe`), as Windows keeps it for the process. */
  name: string;
}

/** PROCESSENTRY32W on 64-bit Windows: dwSize, cntUsage, th32ProcessID, (pad), th32DefaultHeapID... */
export const PROCESSENTRY32W_SIZE = 568;
const PID_OFFSET = 8;
const PPID_OFFSET = 32;
const EXE_FILE_OFFSET = 44;
const EXE_FILE_BYTES = 260 * 2;

const TH32CS_SNAPPROCESS = 0x2;
const INVALID_HANDLE_VALUE = -1n;
const ERROR_NO_MORE_FILES = 18;

/** The fields of one PROCESSENTRY32W (64-bit layout) as Process32FirstW/NextW filled them. */
export function decodeProcessEntry(entry: Buffer): SnapshotProcess {
  const name = entry.toString('utf16le', EXE_FILE_OFFSET, EXE_FILE_OFFSET + EXE_FILE_BYTES);
  const nul = name.indexOf('\0');
  return {
    pid: entry.readUInt32LE(PID_OFFSET),
    ppid: entry.readUInt32LE(PPID_OFFSET),
    name: nul < 0 ? name : name.slice(0, nul),
  };
}

interface ToolhelpApi {
  CreateToolhelp32Snapshot(flags: number, pid: number): unknown;
  Process32FirstW(snapshot: unknown, entry: Buffer): boolean;
  Process32NextW(snapshot: unknown, entry: Buffer): boolean;
  CloseHandle(handle: unknown): boolean;
}

let api: ToolhelpApi | null = null;

function toolhelp(): ToolhelpApi {
  if (api) return api;
  const k32: LibraryHandle = win32('kernel32.dll');
  api = {
    CreateToolhelp32Snapshot: k32.func('void * __stdcall CreateToolhelp32Snapshot(uint32 flags, uint32 pid)'),
    Process32FirstW: k32.func('bool __stdcall Process32FirstW(void *snapshot, _Inout_ uint8_t *entry)'),
    Process32NextW: k32.func('bool __stdcall Process32NextW(void *snapshot, _Inout_ uint8_t *entry)'),
    CloseHandle: k32.func('bool __stdcall CloseHandle(void *h)'),
  } as ToolhelpApi;
  return api;
}

/** Whether a HANDLE returned by koffi is null or INVALID_HANDLE_VALUE (-1). */
export function isBadHandle(handle: unknown): boolean {
  if (handle === null || handle === undefined) return true;
  // koffi gives pointers as external objects; their address tells INVALID_HANDLE_VALUE apart.
  const address = BigInt.asIntN(64, BigInt(ffi().address(handle)));
  return address === 0n || address === INVALID_HANDLE_VALUE;
}

/** Every process of one snapshot, in the order Windows lists them (a consistent picture of one instant). */
export function processSnapshot(): SnapshotProcess[] {
  const { CreateToolhelp32Snapshot, Process32FirstW, Process32NextW, CloseHandle } = toolhelp();
  const snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (isBadHandle(snapshot)) throw new Win32Error('CreateToolhelp32Snapshot', lastError());
  try {
    const entry = Buffer.alloc(PROCESSENTRY32W_SIZE);
    entry.writeUInt32LE(PROCESSENTRY32W_SIZE, 0);
    const list: SnapshotProcess[] = [];
    for (let ok = Process32FirstW(snapshot, entry); ok; ok = Process32NextW(snapshot, entry))
      list.push(decodeProcessEntry(entry));
    const code = lastError();
    if (code !== ERROR_NO_MORE_FILES && code !== 0) throw new Win32Error('Process32NextW', code);
    return list;
  } finally {
    CloseHandle(snapshot);
  }
}
