/**
 * The local fixed drives (GetLogicalDrives, GetDriveTypeW: DRIVE_FIXED only: no removable media, network
 * mappings, CD-ROMs or RAM disks), which `findfile` walks when no -path is given.
 *
 * Under Wine, one drive (Z: by default) maps the host's whole root file system `/`: it is the Linux host
 * rather than the Windows installation (which also lies inside it, as C:), so it is set apart, as
 * `hostRoot`, and walked only when asked for by -path. Wine is recognised by ntdll's `wine_get_version`,
 * and a drive's host folder by kernel32's `wine_get_unix_file_name`; neither exists on Windows.
 */
import { ffi, win32 } from './ffi.js';

const DRIVE_FIXED = 3;

export interface FixedDrives {
  /** Roots to walk, `C:\` first. */
  roots: string[];
  /** Fixed drives that are Wine's mapping of the host's `/` (not walked by default). */
  hostRoot: string[];
}

/** Drive roots of a GetLogicalDrives() mask. Pure. */
export function driveRoots(mask: number): string[] {
  const roots: string[] = [];
  for (let i = 0; i < 26; i++) if ((mask >>> i) & 1) roots.push(`${String.fromCharCode(65 + i)}:\\`);
  return roots;
}

let api: { logicalDrives: () => number; driveType: (root: string) => number } | null = null;

export function listFixedDrives(): FixedDrives {
  const k = win32('kernel32.dll');
  api ??= {
    logicalDrives: k.func('uint32 __stdcall GetLogicalDrives()') as () => number,
    driveType: k.func('uint32 __stdcall GetDriveTypeW(str16 root)') as (root: string) => number,
  };
  const fixed = driveRoots(api.logicalDrives()).filter((root) => api!.driveType(root) === DRIVE_FIXED);
  const roots: string[] = [];
  const hostRoot: string[] = [];
  for (const root of fixed) (wineHostFolder(root) === '/' ? hostRoot : roots).push(root);
  return { roots, hostRoot };
}

let wine: { unixName: (dos: string) => unknown; free: (p: unknown) => void } | null | undefined;

/** Under Wine, the host folder a Windows path maps to; null on Windows (or when Wine cannot say). */
export function wineHostFolder(windowsPath: string): string | null {
  if (wine === undefined) {
    wine = null;
    try {
      win32('ntdll.dll').func('const char * __cdecl wine_get_version()');
      const k = win32('kernel32.dll');
      const heap = (k.func('void * __stdcall GetProcessHeap()') as () => unknown)();
      const heapFree = k.func('bool __stdcall HeapFree(void *heap, uint32 flags, void *mem)') as (
        h: unknown,
        f: number,
        p: unknown,
      ) => boolean;
      wine = {
        unixName: k.func('void * __cdecl wine_get_unix_file_name(str16 dos)') as (dos: string) => unknown,
        free: (p) => heapFree(heap, 0, p),
      };
    } catch {
      // not Wine: the exports do not exist
    }
  }
  if (!wine) return null;
  const p = wine.unixName(windowsPath);
  if (!p) return null;
  try {
    return ffi().decode(p, 'char', -1) as string;
  } finally {
    wine.free(p);
  }
}
