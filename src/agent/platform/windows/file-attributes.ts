/**
 * A file's Windows attributes (GetFileAttributesW), shown where Linux shows the permission bits: `dir` and
 * `fileinfo` put them in `mode` as PowerShell's Mode column writes them (`darhsl`: directory, archive,
 * read-only, hidden, system, reparse point; `-` for each one not set), so `-a-h--` reads the way Windows
 * administrators already read it.
 */
import type { Stats } from 'node:fs';
import { win32 } from './ffi.js';

export const FILE_ATTRIBUTE = {
  READONLY: 0x1,
  HIDDEN: 0x2,
  SYSTEM: 0x4,
  DIRECTORY: 0x10,
  ARCHIVE: 0x20,
  SPARSE_FILE: 0x200,
  REPARSE_POINT: 0x400,
  OFFLINE: 0x1000,
  RECALL_ON_OPEN: 0x40000,
  RECALL_ON_DATA_ACCESS: 0x400000,
} as const;

/** Files whose content is elsewhere (OneDrive and other cloud placeholders, HSM-offline files). */
const CONTENT_ELSEWHERE = FILE_ATTRIBUTE.OFFLINE | FILE_ATTRIBUTE.RECALL_ON_OPEN | FILE_ATTRIBUTE.RECALL_ON_DATA_ACCESS;

/**
 * Why a file's content must not be read, from its attributes, or null. Pure. Reading a cloud placeholder
 * makes Windows download it from its provider (network traffic from the endpoint, a changed file, and a
 * hang if the provider is unreachable): evidence collection must not do that behind the analyst's back.
 */
export function contentReadProblem(attributes: number | null): string | null {
  if (attributes === null || (attributes & CONTENT_ELSEWHERE) === 0) return null;
  return 'its content is not on this device (a cloud placeholder or offline file): reading it would fetch it from its provider';
}

const INVALID_FILE_ATTRIBUTES = 0xffffffff;

/** PowerShell's Mode string of an attribute mask. Pure. */
export function attributeString(attributes: number): string {
  const flag = (bit: number, letter: string): string => (attributes & bit ? letter : '-');
  return (
    flag(FILE_ATTRIBUTE.DIRECTORY, 'd') +
    flag(FILE_ATTRIBUTE.ARCHIVE, 'a') +
    flag(FILE_ATTRIBUTE.READONLY, 'r') +
    flag(FILE_ATTRIBUTE.HIDDEN, 'h') +
    flag(FILE_ATTRIBUTE.SYSTEM, 's') +
    flag(FILE_ATTRIBUTE.REPARSE_POINT, 'l')
  );
}

/** What stat alone tells (directory, read-only, link), when the attributes cannot be read. Pure. */
export function attributesFromStat(st: Pick<Stats, 'mode' | 'isDirectory' | 'isSymbolicLink'>): number {
  let a = 0;
  if (st.isDirectory()) a |= FILE_ATTRIBUTE.DIRECTORY;
  if (st.isSymbolicLink()) a |= FILE_ATTRIBUTE.REPARSE_POINT;
  if ((st.mode & 0o200) === 0) a |= FILE_ATTRIBUTE.READONLY;
  return a;
}

let getFileAttributes: ((path: string) => number) | null = null;

/** The attribute mask of a path (a link's own attributes: not followed), or null when it cannot be read. */
export function fileAttributes(path: string): number | null {
  getFileAttributes ??= win32('kernel32.dll').func('uint32 __stdcall GetFileAttributesW(str16 path)') as (
    path: string,
  ) => number;
  const a = getFileAttributes(path) >>> 0;
  return a === INVALID_FILE_ATTRIBUTES ? null : a;
}

/** fileAttributes, null also when koffi cannot be loaded. */
export function fileAttributesOrNull(path: string): number | null {
  try {
    return fileAttributes(path);
  } catch {
    return null;
  }
}

/** `mode` of a Windows file: its attributes, or what stat tells when they cannot be read. */
export function windowsMode(path: string, st: Stats): string {
  return attributeString(fileAttributesOrNull(path) ?? attributesFromStat(st));
}
