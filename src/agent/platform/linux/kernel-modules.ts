/**
 * Loaded kernel modules from /proc/modules, with the file each was loaded from (looked up in the running
 * kernel's modules.dep), its signer (from the file's appended signature) and its taint flags (sysfs).
 */
import os from 'node:os';
import path from 'node:path';
import { errorCode } from '../../fs/fs-errors.js';
import type { DriverInfo } from '../types.js';
import { moduleSigner } from './module-signature.js';
import { readProcFile } from './procfs-read.js';
import type { Sysroot } from './sysroot.js';

export interface ProcModule {
  name: string;
  size: number;
  refCount: number;
  usedBy: string[];
  state: string;
  /** Taint letters printed after the address, e.g. `OE`, or null. */
  taint: string | null;
}

/** Parses /proc/modules: `name size refcount dep1,dep2,|- state address [(taint)]`. */
export function parseProcModules(text: string): ProcModule[] {
  const modules: ProcModule[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const deps = f[3] as string;
    const taint = /\(([A-Z]+)\)\s*$/.exec(line);
    modules.push({
      name: f[0] as string,
      size: Number(f[1]),
      refCount: Number(f[2]),
      usedBy: deps === '-' ? [] : deps.split(',').filter(Boolean),
      state: f[4] as string,
      taint: taint ? (taint[1] as string) : null,
    });
  }
  return modules;
}

/** Module name as the kernel spells it: file base name without `.ko[.xz|.gz|.zst]`, dashes as underscores. */
export function moduleNameOfFile(file: string): string {
  return path.posix
    .basename(file)
    .replace(/\.ko(\.[a-z]+)?$/, '')
    .replace(/-/g, '_');
}

/** Module name -> device path of its file, from `/lib/modules/RELEASE/modules.dep`. */
export function parseModulesDep(text: string, moduleDir: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const file = line.slice(0, colon);
    const devicePath = file.startsWith('/') ? file : path.posix.join(moduleDir, file);
    const name = moduleNameOfFile(file);
    if (!paths.has(name)) paths.set(name, devicePath);
  }
  return paths;
}

async function sysfsTaint(root: Sysroot, name: string): Promise<string | null> {
  const text = await root.readText(`/sys/module/${name}/taint`).catch(() => null);
  const taint = text?.trim();
  return taint ? taint : null;
}

export async function listDrivers(procRoot: string, root: Sysroot, signal?: AbortSignal): Promise<DriverInfo[]> {
  let text: string;
  try {
    text = readProcFile(path.join(procRoot, 'modules'));
  } catch (err) {
    if (errorCode(err) === 'ENOENT')
      throw new Error(`${procRoot}/modules does not exist (kernel built without loadable modules)`, { cause: err });
    throw err;
  }
  const moduleDir = `/lib/modules/${os.release()}`;
  const depText = await root.readText(`${moduleDir}/modules.dep`).catch(() => null);
  const paths = depText === null ? new Map<string, string>() : parseModulesDep(depText, moduleDir);
  const drivers: DriverInfo[] = [];
  for (const m of parseProcModules(text)) {
    signal?.throwIfAborted();
    const modulePath = paths.get(m.name) ?? null;
    // Unknown (null) when the file is missing, unreadable or compressed in a format we cannot open.
    const signer = modulePath
      ? await root
          .resolve(modulePath)
          .then(
            (p) => moduleSigner(root.host(p)),
            () => null,
          )
          .catch(() => null)
      : null;
    drivers.push({
      name: m.name,
      size: m.size,
      refCount: m.refCount,
      usedBy: m.usedBy,
      state: m.state,
      path: modulePath,
      signer,
      taint: (await sysfsTaint(root, m.name)) ?? m.taint,
    });
  }
  return drivers;
}
