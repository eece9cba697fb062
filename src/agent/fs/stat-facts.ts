/** The common description of a file from its stat, as dir and fileinfo show it. */
import type { Stats } from 'node:fs';
import { windowsMode } from '../platform/windows/file-attributes.js';
import { fileOwner } from '../platform/windows/file-owner.js';
import type { AccountNames } from './accounts.js';
import { fileTypeFromMode, modeString, type FileType } from './file-mode.js';

export interface StatFacts {
  type: FileType;
  size: number;
  /** POSIX: `-rwxr-xr-x`; Windows: the attributes as PowerShell's Mode column (`-a-h--`, see file-attributes.ts). */
  mode: string;
  /**
   * POSIX: the user name (or uid); Windows: `DOMAIN\\name` of the owner SID (the SID when unnamed), null when
   * unreadable.
   */
  owner: string | null;
  /** POSIX: the group name (or gid); Windows: null (no file group). */
  group: string | null;
  mtime: string;
}

export function statFacts(st: Stats, accounts: AccountNames): StatFacts {
  return {
    type: fileTypeFromMode(st.mode),
    size: st.size,
    mode: modeString(st.mode),
    owner: accounts.user(st.uid),
    group: accounts.group(st.gid),
    mtime: st.mtime.toISOString(),
  };
}

/**
 * statFacts on Windows: `file` is the path `st` was taken from (its attributes and owner are read by path).
 * `withOwner: false` leaves the owner null without asking Windows (dir's time budget for owners).
 */
export function windowsStatFacts(file: string, st: Stats, withOwner = true): StatFacts {
  return {
    type: fileTypeFromMode(st.mode),
    size: st.size,
    mode: windowsMode(file, st),
    owner: withOwner ? fileOwner(file) : null,
    group: null,
    mtime: st.mtime.toISOString(),
  };
}

/** Birth time when the file system records it (statx); Node reports 0 otherwise. */
export function birthTime(st: Stats): string | null {
  return st.birthtimeMs > 0 ? st.birthtime.toISOString() : null;
}
