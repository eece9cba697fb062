/**
 * systemd unit files read from disk, the way systemd itself resolves them, so services and timers can
 * be listed without a running systemd (a container, an image mounted under a sysroot): the first unit
 * directory holding a name wins, drop-ins (`NAME.d/*.conf`) are applied in file-name order, a unit
 * symlinked to /dev/null or empty is masked, and enablement comes from the `*.wants`/`*.requires`
 * symlinks under /etc/systemd/system.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Sysroot } from './sysroot.js';

/** System unit directories, highest precedence first (systemd.unit(5), without generator folders). */
export const SYSTEM_UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/lib/systemd/system',
  '/usr/lib/systemd/system',
] as const;

/** Where an administrator (or an intruder) puts units, as opposed to the package manager's folders. */
export const NON_VENDOR_UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system'] as const;

/** Directive values by section then key, in order of appearance. */
export type UnitSections = Map<string, Map<string, string[]>>;

/** Keys that accumulate (an empty assignment clears them); every other key keeps its last value. */
const LIST_KEYS = new Set([
  'ExecStart',
  'ExecStartPre',
  'ExecStartPost',
  'ExecStop',
  'ExecReload',
  'OnCalendar',
  'OnBootSec',
  'OnStartupSec',
  'OnActiveSec',
  'OnUnitActiveSec',
  'OnUnitInactiveSec',
  'WantedBy',
  'RequiredBy',
  'Alias',
  'Also',
  'UpheldBy',
]);

/** Parses unit-file text (systemd.syntax(7)) into `sections`, applying it over what is already there. */
export function parseUnitText(text: string, sections: UnitSections = new Map()): UnitSections {
  let current: Map<string, string[]> | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // A trailing backslash continues the value on the next line (comment lines in between are skipped).
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = (lines[++i] as string).trim();
      if (next.startsWith('#') || next.startsWith(';')) continue;
      line = `${line.slice(0, -1).trimEnd()} ${next}`;
    }
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = section[1] as string;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || current === null) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (LIST_KEYS.has(key)) {
      const values = current.get(key) ?? [];
      current.set(key, value === '' ? [] : [...values, value]);
    } else {
      current.set(key, [value]);
    }
  }
  return sections;
}

export function directive(sections: UnitSections, section: string, key: string): string | null {
  const values = sections.get(section)?.get(key);
  return values && values.length > 0 ? (values[values.length - 1] as string) : null;
}

export function directives(sections: UnitSections, section: string, key: string): string[] {
  return sections.get(section)?.get(key) ?? [];
}

export interface UnitFile {
  /** Unit name, e.g. `ssh.service`. */
  name: string;
  /** Device path of the file that defines it (the highest-precedence one). */
  path: string;
  masked: boolean;
  /** For a symlink to a unit of another name: that name (an alias). */
  aliasOf: string | null;
  /** Main file plus drop-ins; empty when masked or unreadable. */
  sections: UnitSections;
  /** Set when the unit file could not be read (permission denied...). */
  error: string | null;
}

/** Units with the given suffix (`.service`, `.timer`) across the unit directories, by name. */
export async function loadUnits(
  root: Sysroot,
  suffix: string,
  dirs: readonly string[] = SYSTEM_UNIT_DIRS,
): Promise<Map<string, UnitFile>> {
  const found = new Map<string, string>(); // name -> device path
  for (const dir of dirs) {
    for (const entry of await root.listQuiet(dir)) {
      if (!entry.name.endsWith(suffix) || found.has(entry.name)) continue;
      if (entry.dirent.isFile() || entry.dirent.isSymbolicLink()) found.set(entry.name, entry.path);
    }
  }
  const units = new Map<string, UnitFile>();
  for (const [name, unitPath] of found) units.set(name, await loadUnit(root, name, unitPath, dirs));
  return units;
}

async function loadUnit(root: Sysroot, name: string, unitPath: string, dirs: readonly string[]): Promise<UnitFile> {
  const unit: UnitFile = { name, path: unitPath, masked: false, aliasOf: null, sections: new Map(), error: null };
  try {
    // Masking is a symlink to /dev/null: judged from the link text, /dev need not exist under a sysroot.
    const link = await fsp.readlink(root.host(unitPath)).catch(() => null);
    if (link === '/dev/null') return { ...unit, masked: true };
    const resolved = await root.resolve(unitPath).catch(() => null);
    if (resolved === '/dev/null') return { ...unit, masked: true };
    if (resolved && path.posix.basename(resolved) !== name) unit.aliasOf = path.posix.basename(resolved);
    const text = await root.readText(unitPath);
    if (text === null) return { ...unit, error: 'dangling symlink' };
    if (text.trim() === '') return { ...unit, masked: true };
    parseUnitText(text, unit.sections);
    for (const dropIn of await dropInFiles(root, name, dirs)) {
      const extra = await root.readText(dropIn).catch(() => null);
      if (extra !== null) parseUnitText(extra, unit.sections);
    }
  } catch (err) {
    unit.error = err instanceof Error && 'code' in err && err.code === 'EACCES' ? 'permission denied' : String(err);
  }
  return unit;
}

/**
 * `NAME.d/*.conf` (and the template's `PREFIX@.service.d`) across all dirs; a file name in an earlier dir hides later
 * ones.
 */
async function dropInFiles(root: Sysroot, name: string, dirs: readonly string[]): Promise<string[]> {
  const folders = [`${name}.d`];
  const at = name.indexOf('@');
  if (at > 0 && !name.includes('@.')) folders.unshift(`${name.slice(0, at + 1)}${name.slice(name.lastIndexOf('.'))}.d`);
  const byFile = new Map<string, string>();
  for (const folder of folders) {
    for (const dir of dirs) {
      for (const entry of await root.listQuiet(path.posix.join(dir, folder))) {
        if (entry.name.endsWith('.conf') && !byFile.has(entry.name)) byFile.set(entry.name, entry.path);
      }
    }
  }
  return [...byFile.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
}

/**
 * Names pulled in by `*.wants`/`*.requires`/`*.upholds` symlinks under /etc/systemd/system (what
 * `systemctl enable` creates). Instances (`getty@tty1.service`) also mark their template enabled.
 */
export async function enabledUnitNames(root: Sysroot): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of await root.listQuiet('/etc/systemd/system')) {
    if (!/\.(wants|requires|upholds)$/.test(dir.name) || !dir.dirent.isDirectory()) continue;
    for (const link of await root.listQuiet(dir.path)) {
      names.add(link.name);
      const at = link.name.indexOf('@');
      if (at > 0) names.add(`${link.name.slice(0, at + 1)}${link.name.slice(link.name.lastIndexOf('.'))}`);
    }
  }
  return names;
}

/** enabled / disabled / static / masked / alias, as `systemctl is-enabled` would say from the files alone. */
export function enablementOf(unit: UnitFile, enabled: ReadonlySet<string>): string {
  if (unit.masked) return 'masked';
  if (enabled.has(unit.name)) return 'enabled';
  if (unit.aliasOf) return enabled.has(unit.aliasOf) ? 'enabled' : 'alias';
  if (unit.error) return 'unknown';
  const install = unit.sections.get('Install');
  const installs =
    install && ['WantedBy', 'RequiredBy', 'Alias', 'Also', 'UpheldBy'].some((k) => (install.get(k) ?? []).length > 0);
  return installs ? 'disabled' : 'static';
}
