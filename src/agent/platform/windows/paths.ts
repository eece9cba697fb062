/**
 * Windows paths as an analyst types them, judged and resolved without touching the disk (pure: unit-tested
 * under Linux). Every file command of a Windows agent passes its path through `windowsPathProblem` (the
 * path as typed, then resolved) and `resolveWindowsPath` before any file system call.
 *
 * Accepted: `C:\x`, `C:/x`, `c:\X` (names are case-insensitive on Windows; the case typed is kept),
 * `x\y` and `..` against the session's folder, `\x` (root of the session's drive), `D:` (the session's
 * folder when it is on D:, else `D:\`) and `D:x`.
 *
 * Refused, because they reach something other than a file of a local drive, or because Windows would
 * silently open something else than what is shown:
 * - UNC paths (`\\server\share\x`: a network access from the endpoint, with the machine's credentials);
 * - device and namespace paths (`\\.\PhysicalDrive0`, `\\?\C:\…`, `\\?\GLOBALROOT\…`, `\??\…`): raw
 *   disks, volume shadow copies, named pipes, and paths that skip Win32's normalisation;
 * - reserved device names in any component (`NUL`, `CON`, `PRN`, `AUX`, `COM1`-`COM9`, `LPT1`-`LPT9`,
 *   their superscript-digit forms, `CONIN$`, `CONOUT$`), with or without an extension, any case, with
 *   trailing dots or spaces: Win32 opens the device, whatever folder they are written in;
 * - alternate data streams (`file.txt:stream`, `x::$DATA`): any colon other than the drive's;
 * - characters no Windows file name holds (`< > " | ? *`, control characters);
 * - over-long paths (more than 32 767 characters) and components (more than 255).
 * `..` above a drive's root stays at the root, as Windows itself resolves it.
 */

/** Longest path the Win32 API handles at all (UNICODE_STRING's limit, in UTF-16 units). */
export const MAX_WINDOWS_PATH = 32_767;
/** Longest file name NTFS, FAT and ReFS store. */
export const MAX_WINDOWS_COMPONENT = 255;

const RESERVED = new Set(['CON', 'PRN', 'AUX', 'NUL', 'CONIN$', 'CONOUT$', 'CLOCK$']);
for (let i = 1; i <= 9; i++) {
  RESERVED.add(`COM${i}`);
  RESERVED.add(`LPT${i}`);
}
// Win32 also treats COM¹ COM² COM³ and LPT¹ LPT² LPT³ as devices.
for (const sup of ['\u00b9', '\u00b2', '\u00b3']) {
  RESERVED.add(`COM${sup}`);
  RESERVED.add(`LPT${sup}`);
}

/** Characters never valid in a Windows file name (besides `\ / :`, handled as separators and the drive). */
const INVALID_CHAR = /[<>"|?*\u0000-\u001f]/;

/** The reserved device name a component stands for (`nul.txt`, `Con `, `COM1.tar.gz`), or null. */
export function reservedDeviceName(component: string): string | null {
  // Win32 drops trailing dots and spaces, then the extension: `NUL.txt`, `nul .`, `CON.a.b` are all devices.
  const stem = component
    .replace(/[. ]+$/, '')
    .split('.')[0]!
    .replace(/ +$/, '')
    .toUpperCase();
  return RESERVED.has(stem) ? stem : null;
}

function isSeparator(c: string | undefined): boolean {
  return c === '\\' || c === '/';
}

function hasDrive(p: string): boolean {
  return /^[A-Za-z]:/.test(p);
}

/**
 * Why a path (as typed, or resolved) cannot be used on a Windows agent, as a short phrase naming the rule
 * broken; null when it may be used. Pure.
 */
export function windowsPathProblem(p: string): string | null {
  if (p.length === 0) return 'empty path';
  if (p.length > MAX_WINDOWS_PATH)
    return `path of ${p.length} characters (Windows handles at most ${MAX_WINDOWS_PATH})`;
  if (p.includes('\u0000')) return 'NUL character in path';
  if (isSeparator(p[0]) && isSeparator(p[1])) {
    const kind = p[2];
    if ((kind === '?' || kind === '.') && (isSeparator(p[3]) || p.length === 3))
      return 'device or namespace path (\\\\.\\ or \\\\?\\): only paths on a local drive are served';
    return 'UNC (network) path: only paths on a local drive are served';
  }
  if (/^[\\/]\?\?[\\/]/.test(p)) return 'NT object path (\\??\\): only paths on a local drive are served';
  if (/^[^A-Za-z]:/.test(p)) return `"${p.slice(0, 2)}" is not a drive`;
  const rest = hasDrive(p) ? p.slice(2) : p;
  if (rest.includes(':')) return 'alternate data stream (a colon after the drive): not served';
  const bad = INVALID_CHAR.exec(rest);
  if (bad) return `character ${JSON.stringify(bad[0])} is not valid in a Windows path`;
  for (const component of rest.split(/[\\/]/)) {
    if (component.length > MAX_WINDOWS_COMPONENT)
      return `a name of ${component.length} characters (at most ${MAX_WINDOWS_COMPONENT})`;
    if (component === '.' || component === '..' || component === '') continue;
    const device = reservedDeviceName(component);
    if (device) return `"${component}" is the reserved device name ${device}`;
  }
  return null;
}

/** `C:\a\b` → { drive: 'C:', parts: ['a', 'b'] } for an absolute path with a drive (slashes of both kinds). */
function splitAbsolute(p: string): { drive: string; parts: string[] } {
  return {
    drive: `${p[0]!.toUpperCase()}:`,
    parts: p
      .slice(2)
      .split(/[\\/]+/)
      .filter((x) => x !== ''),
  };
}

/** Applies `.` and `..` (never above the root) and strips trailing dots and spaces, as Win32 does. */
function normalise(parts: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      out.pop();
      continue;
    }
    // `dir.` and `file.txt ` name `dir` and `file.txt` for Win32; show the name that is opened.
    const trimmed = part.replace(/[. ]+$/, '');
    if (trimmed !== '') out.push(trimmed);
  }
  return out;
}

function join(drive: string, parts: readonly string[]): string {
  return `${drive}\\${parts.join('\\')}`;
}

/**
 * The absolute path (`D:\x\y`, backslashes, drive letter upper-case) that `input` names for a session whose
 * folder is `cwd` (itself absolute with a drive; the service starts Windows sessions at `C:\`). Call
 * `windowsPathProblem` on the input first: this does not judge it.
 */
export function resolveWindowsPath(cwd: string, input: string): string {
  const base = hasDrive(cwd) ? splitAbsolute(cwd) : { drive: 'C:', parts: [] };
  const baseParts = normalise(base.parts);
  if (hasDrive(input)) {
    const drive = `${input[0]!.toUpperCase()}:`;
    const rest = input.slice(2);
    if (isSeparator(rest[0])) return join(drive, normalise(rest.split(/[\\/]+/)));
    // `D:` or `D:x`: relative to the session's folder when it is on that drive, else to the drive's root.
    const from = drive === base.drive ? baseParts : [];
    return join(drive, normalise([...from, ...rest.split(/[\\/]+/)]));
  }
  if (isSeparator(input[0])) return join(base.drive, normalise(input.split(/[\\/]+/)));
  return join(base.drive, normalise([...baseParts, ...input.split(/[\\/]+/)]));
}

/** The drive root (`C:\`) of an absolute Windows path. */
export function driveRoot(p: string): string {
  return `${p[0]!.toUpperCase()}:\\`;
}

/** Whether `p` is `folder` or inside it, compared as Windows does (case-insensitive, either slash). */
export function windowsWithin(p: string, folder: string): boolean {
  const a = p.replace(/\//g, '\\').toLowerCase();
  const f = folder.replace(/\//g, '\\').replace(/\\+$/, '').toLowerCase();
  return a === f || a.startsWith(`${f}\\`);
}
