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
  REPARSE_POINT: 0x400,
} as const;

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
  getFileAttributes ??= win32('kernel32.dll').func('uint32 __stdcall GetFileAttributesW(str16 path)') as (path: string) => number;
  const a = getFileAttributes(path) >>> 0;
  return a === INVALID_FILE_ATTRIBUTES ? null : a;
}

/** `mode` of a Windows file: its attributes, or what stat tells when they cannot be read. */
export function windowsMode(path: string, st: Stats): string {
  let attributes: number | null = null;
  try {
    attributes = fileAttributes(path);
  } catch {
    // koffi unavailable: stat's view below
  }
  return attributeString(attributes ?? attributesFromStat(st));
}
