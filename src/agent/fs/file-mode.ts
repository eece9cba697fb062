/**
 * File type and `ls -l`-style mode strings from a numeric st_mode. The S_IF* values are the POSIX ones
 * (Node reports them the same way on every platform), so this needs no OS-specific constants.
 */

export type FileType =
  'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

const S_IFMT = 0o170000;
const TYPE_BY_BITS: ReadonlyMap<number, { type: FileType; letter: string }> = new Map([
  [0o100000, { type: 'file', letter: '-' }],
  [0o040000, { type: 'directory', letter: 'd' }],
  [0o120000, { type: 'symlink', letter: 'l' }],
  [0o010000, { type: 'fifo', letter: 'p' }],
  [0o140000, { type: 'socket', letter: 's' }],
  [0o020000, { type: 'char-device', letter: 'c' }],
  [0o060000, { type: 'block-device', letter: 'b' }],
]);

export function fileTypeFromMode(mode: number): FileType {
  return TYPE_BY_BITS.get(mode & S_IFMT)?.type ?? 'unknown';
}

/** `-rw-r--r--`, `drwxrwxrwt`, `-rwsr-xr-x` ... exactly as ls prints them (without the ACL marker). */
export function modeString(mode: number): string {
  const letter = TYPE_BY_BITS.get(mode & S_IFMT)?.letter ?? '?';
  const triplet = (shift: number, special: boolean, specialSet: string, specialUnset: string): string => {
    const bits = (mode >> shift) & 7;
    const r = bits & 4 ? 'r' : '-';
    const w = bits & 2 ? 'w' : '-';
    const canExec = (bits & 1) !== 0;
    const x = special ? (canExec ? specialSet : specialUnset) : canExec ? 'x' : '-';
    return r + w + x;
  };
  return (
    letter +
    triplet(6, (mode & 0o4000) !== 0, 's', 'S') +
    triplet(3, (mode & 0o2000) !== 0, 's', 'S') +
    triplet(0, (mode & 0o1000) !== 0, 't', 'T')
  );
}

/** The same type names from a directory entry (readdir's d_type, no stat needed). */
export function fileTypeOfEntry(entry: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): FileType {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice()) return 'char-device';
  if (entry.isBlockDevice()) return 'block-device';
  return 'unknown';
}
