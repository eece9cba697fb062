/**
 * What file a Windows command line launches, resolved the way Windows would: environment variables
 * expanded, a quoted program taken as it is, an unquoted one with spaces tried word by word as
 * CreateProcess does (`C:\Program Files\A B\x.exe -q` → `C:\Program.exe`, `C:\Program Files\A.exe`, ...),
 * `.exe` added to a program without extension, a bare name searched in System32, the Windows folder and
 * PATH, the kernel's forms of service paths (`\SystemRoot\...`, `\??\C:\...`, `system32\drivers\x.sys`)
 * made plain. When the program is a launcher (cmd /c, rundll32, regsvr32, powershell -File, wscript,
 * cscript, mshta), the file it is told to run is the one reported, and the launcher is noted.
 *
 * Pure: the file system is asked through `isFile`, so it is unit-tested under Linux.
 */

export interface ResolveContext {
  /** Environment variables (any case; looked up case-insensitively). */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether a Windows path names an existing regular file. */
  isFile(path: string): boolean;
}

export interface Launch {
  /** The file that runs: existing when `found`, otherwise the best reading of the command. */
  path: string;
  found: boolean;
  /** The launcher that runs it (cmd.exe, rundll32.exe, ...), or null when the program is the file itself. */
  via: string | null;
}

/** `%SystemRoot%\x` → `C:\Windows\x`; unknown variables stay as they are, as Windows leaves them. */
export function expandEnvironment(text: string, env: ResolveContext['env']): string {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && !lower.has(k.toLowerCase())) lower.set(k.toLowerCase(), v);
  return text.replace(/%([^%\s][^%]*)%/g, (whole, name: string) => lower.get(name.toLowerCase()) ?? whole);
}

/** Splits arguments: spaces separate, double quotes group (no escapes: Windows paths hold no quotes). */
export function splitArguments(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let inQuotes = false;
  let started = false;
  for (const ch of text) {
    if (ch === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if (!inQuotes && (ch === ' ' || ch === '\t')) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

function envOf(ctx: ResolveContext, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(ctx.env)) if (k.toLowerCase() === wanted && v !== undefined) return v;
  return undefined;
}

function systemRoot(ctx: ResolveContext): string {
  return envOf(ctx, 'SystemRoot') ?? envOf(ctx, 'windir') ?? 'C:\\Windows';
}

const isAbsolute = (p: string) => /^[a-z]:\\/i.test(p) || p.startsWith('\\\\');
const hasExtension = (p: string) => /\.[^.\\/]+$/.test(p);
const baseName = (p: string) => p.slice(p.lastIndexOf('\\') + 1);

/** The kernel's spellings of a path (service ImagePath, driver paths) as a plain Win32 path. */
export function plainPath(p: string, ctx: ResolveContext): string {
  let s = p.replace(/\//g, '\\');
  if (/^\\\?\?\\/.test(s) || /^\\\\\?\\/.test(s)) s = s.slice(4);
  if (/^\\systemroot\\/i.test(s)) s = systemRoot(ctx) + s.slice('\\SystemRoot'.length);
  // `system32\drivers\x.sys`: relative to the Windows folder (how the service manager reads it)
  else if (/^system32\\/i.test(s)) s = `${systemRoot(ctx)}\\${s}`;
  // `\Windows\x.exe`: on the system drive
  else if (/^\\[^\\]/.test(s)) s = (envOf(ctx, 'SystemDrive') ?? 'C:') + s;
  return s;
}

/** The folders a bare program name is searched in (after the application's own folder). */
export function searchFolders(ctx: ResolveContext): string[] {
  const root = systemRoot(ctx);
  const path = (envOf(ctx, 'PATH') ?? '')
    .split(';')
    .map((d) => d.trim().replace(/\\+$/, ''))
    .filter((d) => d !== '');
  const folders = [`${root}\\System32`, `${root}\\System`, root, ...path];
  return folders.filter((d, i) => folders.findIndex((folder) => folder.toLowerCase() === d.toLowerCase()) === i);
}

/** An existing file for a program name, trying `defaultExtension` when it has none; null when none exists. */
function locate(name: string, ctx: ResolveContext, defaultExtension: string): string | null {
  const p = plainPath(name, ctx);
  const tries = (base: string) => (hasExtension(base) ? [base] : [base, base + defaultExtension]);
  if (isAbsolute(p)) return tries(p).find((t) => ctx.isFile(t)) ?? null;
  const dirs = p.includes('\\') ? [systemRoot(ctx), ...searchFolders(ctx)] : searchFolders(ctx);
  for (const d of dirs) for (const t of tries(`${d}\\${p}`)) if (ctx.isFile(t)) return t;
  return null;
}

/** The best reading of a program that does not exist: absolute as written, with its default extension. */
function unresolved(name: string, ctx: ResolveContext, defaultExtension: string): string {
  const p = plainPath(name, ctx);
  return hasExtension(p) ? p : p + defaultExtension;
}

interface Program {
  program: string;
  found: boolean;
  rest: string;
}

/** The program of a command line and the text after it, as CreateProcess reads an unquoted path with spaces. */
function programOf(command: string, ctx: ResolveContext, defaultExtension = '.exe'): Program {
  const text = command.trim();
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    const name = end < 0 ? text.slice(1) : text.slice(1, end);
    const rest = end < 0 ? '' : text.slice(end + 1).trim();
    const found = locate(name, ctx, defaultExtension);
    return { program: found ?? unresolved(name, ctx, defaultExtension), found: found !== null, rest };
  }
  const words = text.split(/[ \t]+/);
  for (let n = 1; n <= words.length; n++) {
    const found = locate(words.slice(0, n).join(' '), ctx, defaultExtension);
    if (found) return { program: found, found: true, rest: words.slice(n).join(' ') };
  }
  return { program: unresolved(words[0] ?? '', ctx, defaultExtension), found: false, rest: words.slice(1).join(' ') };
}

const LAUNCHERS = new Set(['cmd', 'rundll32', 'regsvr32', 'powershell', 'pwsh', 'wscript', 'cscript', 'mshta']);

/** The launcher's payload (text that names the file it runs), or null when it runs no file of its own. */
function payloadOf(launcher: string, rest: string): { text: string; extension: string } | null {
  const args = splitArguments(rest);
  switch (launcher) {
    case 'cmd': {
      const i = rest.search(/(^|\s)\/[ck](\s|$)/i);
      return i < 0 ? null : { text: rest.slice(i).trim().slice(2).trim(), extension: '.exe' };
    }
    case 'rundll32': {
      // rundll32 "C:\a b\x.dll",Entry args
      const m = /^\s*(?:"([^"]+)"|([^,\s]+))/.exec(rest);
      const dll = m?.[1] ?? m?.[2];
      return dll ? { text: `"${dll}"`, extension: '.dll' } : null;
    }
    case 'regsvr32': {
      const dll = args.find((a) => !a.startsWith('/') && !a.startsWith('-'));
      return dll ? { text: `"${dll}"`, extension: '.dll' } : null;
    }
    case 'powershell':
    case 'pwsh': {
      const i = args.findIndex((a) => /^-f(ile)?$/i.test(a));
      const file = i >= 0 ? args[i + 1] : undefined;
      return file ? { text: `"${file}"`, extension: '.ps1' } : null;
    }
    case 'wscript':
    case 'cscript':
    case 'mshta': {
      const file = args.find((a) => !a.startsWith('/') && !a.startsWith('-'));
      if (!file || /^[a-z]+:(?!\\)/i.test(file)) return null; // a URL or `javascript:` runs no file on disk
      return { text: `"${file}"`, extension: launcher === 'mshta' ? '.hta' : '' };
    }
    default:
      return null;
  }
}

/** The file a command line launches (one launcher deep, twice for `cmd /c rundll32 ...`). */
export function resolveLaunch(command: string, ctx: ResolveContext): Launch {
  const expanded = expandEnvironment(command, ctx.env);
  let p = programOf(expanded, ctx);
  let via: string | null = null;
  for (let depth = 0; depth < 2; depth++) {
    const launcher = baseName(p.program)
      .toLowerCase()
      .replace(/\.(exe|com)$/, '');
    if (!LAUNCHERS.has(launcher)) break;
    const payload = payloadOf(launcher, p.rest);
    if (!payload) break;
    let inner = programOf(payload.text, ctx, payload.extension);
    // cmd /c "x.bat arg": quotes around the whole command, which cmd takes off
    const whole = /^"([^"]*)"$/.exec(payload.text)?.[1];
    if (!inner.found && launcher === 'cmd' && whole !== undefined) inner = programOf(whole, ctx, payload.extension);
    via = via ?? baseName(p.program);
    p = inner;
  }
  return { path: p.program, found: p.found, via };
}

/** The comma-separated programs of Winlogon's Userinit; the space- or comma-separated DLLs of AppInit_DLLs. */
export function splitList(text: string, separators: RegExp): string[] {
  return text
    .split(separators)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
