/** The common description of a file from its stat, as dir and fileinfo show it. */
import type { Stats } from 'node:fs';
import type { AccountNames } from './accounts.js';
import { fileTypeFromMode, modeString, type FileType } from './file-mode.js';

export interface StatFacts {
  type: FileType;
  size: number;
  mode: string;
  owner: string;
  group: string;
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

/** Birth time when the file system records it (statx); Node reports 0 otherwise. */
export function birthTime(st: Stats): string | null {
  return st.birthtimeMs > 0 ? st.birthtime.toISOString() : null;
}
