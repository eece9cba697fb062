/**
 * What a Windows file keeps besides its bytes and times, read before `remediate` quarantines it and put back
 * by `undo`: its attributes (GetFileAttributesExW / SetFileAttributesW), its creation time (read with the
 * attributes, set with SetFileTime on a handle opened for FILE_WRITE_ATTRIBUTES with backup semantics) and
 * its security descriptor as SDDL (owner and DACL, through acl.ts). The caller reads each value back once
 * all are set (readAttributesAndCreation, readSddl), so that undo reports a difference instead of claiming it.
 */
import { FILE_ATTRIBUTE } from './file-attributes.js';
import { fileTimeToMs, lastError, msToFileTime, Win32Error, win32 } from './ffi.js';
import { readDaclSddl, setSecurityFromSddl } from './acl.js';
import { isBadHandle } from './toolhelp.js';
import { describeError } from '../../../shared/errors.js';

const FILE_WRITE_ATTRIBUTES = 0x100;
const FILE_SHARE_ALL = 0x7;
const OPEN_EXISTING = 3;
const FILE_FLAG_BACKUP_SEMANTICS = 0x02000000;
const FILE_ATTRIBUTE_NORMAL = 0x80;
const FILE_ATTRIBUTE_TEMPORARY = 0x100;
const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED = 0x2000;
/** WIN32_FILE_ATTRIBUTE_DATA: attributes, creation, last access, last write (FILETIMEs), size high/low. */
const ATTRIBUTE_DATA_SIZE = 36;

/** The attributes SetFileAttributesW sets (the others, directory, reparse point, sparse..., follow the file). */
export const SETTABLE_ATTRIBUTES =
  FILE_ATTRIBUTE.READONLY |
  FILE_ATTRIBUTE.HIDDEN |
  FILE_ATTRIBUTE.SYSTEM |
  FILE_ATTRIBUTE.ARCHIVE |
  FILE_ATTRIBUTE_TEMPORARY |
  FILE_ATTRIBUTE_NOT_CONTENT_INDEXED |
  FILE_ATTRIBUTE.OFFLINE;
/**
 * The attributes that stop a file from being written, moved by copy, or shown: cleared before a file is quarantined.
 */
export const BLOCKING_ATTRIBUTES = FILE_ATTRIBUTE.READONLY | FILE_ATTRIBUTE.HIDDEN | FILE_ATTRIBUTE.SYSTEM;

type Handle = unknown;

interface FileApi {
  GetFileAttributesExW(name: string, level: number, info: Buffer): boolean;
  SetFileAttributesW(name: string, attributes: number): boolean;
  CreateFileW(
    name: string,
    access: number,
    share: number,
    sa: null,
    disposition: number,
    flags: number,
    template: null,
  ): Handle;
  SetFileTime(h: Handle, creation: Buffer | null, access: Buffer | null, write: Buffer | null): boolean;
  CloseHandle(h: Handle): boolean;
}

let api: FileApi | null = null;

function fileApi(): FileApi {
  if (api) return api;
  const k32 = win32('kernel32.dll');
  api = {
    GetFileAttributesExW: k32.func('bool __stdcall GetFileAttributesExW(str16 name, int level, _Out_ uint8_t *info)'),
    SetFileAttributesW: k32.func('bool __stdcall SetFileAttributesW(str16 name, uint32 attributes)'),
    CreateFileW: k32.func(
      'void * __stdcall CreateFileW(str16 name, uint32 access, uint32 share, void *sa, uint32 disposition, uint32 flags, void *template)',
    ),
    SetFileTime: k32.func('bool __stdcall SetFileTime(void *h, uint8_t *creation, uint8_t *access, uint8_t *write)'),
    CloseHandle: k32.func('bool __stdcall CloseHandle(void *h)'),
  } as FileApi;
  return api;
}

export interface WindowsFileExtras {
  attributes: number;
  birthtimeMs: number;
  /** Owner and DACL as SDDL, or null when they could not be read. */
  sddl: string | null;
  /** Why the security descriptor could not be read. */
  sddlError?: string;
}

/** Attributes and creation time of `path` (Win32Error when they cannot be read). */
export function readAttributesAndCreation(path: string): { attributes: number; birthtimeMs: number } {
  const info = Buffer.alloc(ATTRIBUTE_DATA_SIZE);
  if (!fileApi().GetFileAttributesExW(path, 0, info))
    throw new Win32Error(`GetFileAttributesExW(${path})`, lastError());
  return { attributes: info.readUInt32LE(0), birthtimeMs: fileTimeToMs(info.readBigUInt64LE(4)) };
}

/** Everything undo puts back besides bytes and times; the security descriptor is best-effort (null + reason). */
export function readFileExtras(path: string): WindowsFileExtras {
  const base = readAttributesAndCreation(path);
  try {
    return { ...base, sddl: readDaclSddl(path, true) };
  } catch (e) {
    return { ...base, sddl: null, sddlError: describeError(e) };
  }
}

/** Sets the settable attributes of `path` to those of `attributes`. */
export function setAttributes(path: string, attributes: number): void {
  const wanted = attributes & SETTABLE_ATTRIBUTES;
  if (!fileApi().SetFileAttributesW(path, wanted === 0 ? FILE_ATTRIBUTE_NORMAL : wanted))
    throw new Win32Error(`SetFileAttributesW(${path})`, lastError());
}

/** Sets the creation time of `path` (file or folder). */
export function setCreationTime(path: string, birthtimeMs: number): void {
  const a = fileApi();
  const h = a.CreateFileW(
    path,
    FILE_WRITE_ATTRIBUTES,
    FILE_SHARE_ALL,
    null,
    OPEN_EXISTING,
    FILE_FLAG_BACKUP_SEMANTICS,
    null,
  );
  if (isBadHandle(h)) throw new Win32Error(`CreateFileW(${path})`, lastError());
  try {
    const ft = Buffer.alloc(8);
    ft.writeBigUInt64LE(msToFileTime(birthtimeMs));
    if (!a.SetFileTime(h, ft, null, null)) throw new Win32Error(`SetFileTime(${path})`, lastError());
  } finally {
    a.CloseHandle(h);
  }
}

/** Puts back owner (when the SDDL has one) and DACL. */
export function setSddl(path: string, sddl: string): void {
  setSecurityFromSddl(path, sddl);
}

/** The security descriptor of `path` in the form `recorded` has (with its owner when it has one). */
export function readSddl(path: string, recorded: string): string {
  return readDaclSddl(path, recorded.startsWith('O:'));
}
