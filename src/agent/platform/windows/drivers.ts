/**
 * Windows drivers: the kernel modules loaded now (EnumDeviceDrivers, psapi) joined with the kernel and
 * file-system drivers the service control manager knows (their state, start type and ImagePath), by file
 * name. A driver registered with the SCM but not loaded is listed too, `stopped` (a registered boot/auto
 * driver that is not loaded is worth a look); a loaded module the SCM does not know (ntoskrnl.exe, hal.dll,
 * a driver loaded without a service...) is listed under its file name.
 *
 * Under Wine EnumDeviceDrivers returns no module at all: every record then comes from the SCM and
 * `loaded` is null (unknown), `state` is the SCM's.
 *
 * Size and signer come from the driver's PE file (see drivers-pe.ts): size is SizeOfImage (0 when the file
 * cannot be read), signer the embedded Authenticode signature's name, not verified.
 */
import type { DriverInfo } from '../types.js';
import { ffi, lastError, win32, Win32Error } from './ffi.js';
import { baseNameOf, defaultDriverPath, resolveDriverPath } from './drivers-paths.js';
import { peFacts } from './drivers-pe.js';
import { listScmEntries, type ScmEntry } from './scm.js';
import { SERVICE_DRIVER, serviceStateName, serviceTypeName, startTypeName } from './services-names.js';

/** A driver record with what only Windows has. */
export interface WindowsDriverInfo extends DriverInfo {
  /** Start type of its SCM entry (boot, system, auto, demand, disabled); null for a module the SCM does not know. */
  startType: string | null;
  /** kernel_driver, file_system_driver...; null for a module the SCM does not know. */
  serviceType: string | null;
  /** Display name of its SCM entry. */
  displayName: string | null;
  /** In the kernel's loaded-module list now; null when that list is not available (Wine gives none). */
  loaded: boolean | null;
}

export interface LoadedModule {
  /** File name as the kernel reports it (ntoskrnl.exe). */
  baseName: string;
  /** Full file name as the kernel reports it (\SystemRoot\system32\ntoskrnl.exe). */
  fileName: string;
}

const MAX_PATH_CHARS = 1024;

interface PsapiApi {
  EnumDeviceDrivers(bases: BigUint64Array, cb: number, needed: number[]): boolean;
  GetDeviceDriverBaseNameW(base: bigint, name: Uint16Array, size: number): number;
  GetDeviceDriverFileNameW(base: bigint, name: Uint16Array, size: number): number;
}

let psapi: PsapiApi | null = null;

function psapiApi(): PsapiApi {
  if (psapi) return psapi;
  ffi();
  const lib = win32('psapi.dll');
  psapi = {
    EnumDeviceDrivers: lib.func(
      'bool __stdcall EnumDeviceDrivers(_Out_ uint64_t *bases, uint32 cb, _Out_ uint32 *needed)',
    ),
    GetDeviceDriverBaseNameW: lib.func(
      'uint32 __stdcall GetDeviceDriverBaseNameW(uintptr_t base, _Out_ uint16_t *name, uint32 size)',
    ),
    GetDeviceDriverFileNameW: lib.func(
      'uint32 __stdcall GetDeviceDriverFileNameW(uintptr_t base, _Out_ uint16_t *name, uint32 size)',
    ),
  } as PsapiApi;
  return psapi;
}

function utf16(buf: Uint16Array, length: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset, length * 2).toString('utf16le');
}

/** The kernel's loaded modules (the ones whose names can be read: an unprivileged caller may get none). */
export function loadedModules(): LoadedModule[] {
  const a = psapiApi();
  let bases = new BigUint64Array(512);
  const needed = [0];
  for (;;) {
    if (!a.EnumDeviceDrivers(bases, bases.byteLength, needed)) throw new Win32Error('EnumDeviceDrivers', lastError());
    if ((needed[0] ?? 0) <= bases.byteLength) break;
    bases = new BigUint64Array(Math.ceil((needed[0] ?? 0) / 8) + 64);
  }
  const modules: LoadedModule[] = [];
  const name = new Uint16Array(MAX_PATH_CHARS);
  for (const base of bases.subarray(0, (needed[0] ?? 0) / 8)) {
    if (base === 0n) continue; // addresses hidden from a caller without SeDebugPrivilege-level access
    const baseLength = a.GetDeviceDriverBaseNameW(base, name, MAX_PATH_CHARS);
    if (baseLength === 0) continue;
    const baseName = utf16(name, baseLength);
    const fileLength = a.GetDeviceDriverFileNameW(base, name, MAX_PATH_CHARS);
    modules.push({ baseName, fileName: fileLength > 0 ? utf16(name, fileLength) : baseName });
  }
  return modules;
}

/** Windows folder of this system (C:\Windows). */
function systemRoot(): string {
  return process.env.SystemRoot ?? process.env.windir ?? 'C:\\Windows';
}

type DraftDriver = Omit<WindowsDriverInfo, 'size' | 'signer'>;

/**
 * Joins the loaded modules with the SCM's driver entries (pure: unit-tested). `modules` is null when the
 * kernel's list is not available.
 */
export function joinDrivers(modules: LoadedModule[] | null, entries: ScmEntry[], root: string): DraftDriver[] {
  const drafts: DraftDriver[] = [];
  const byFile = new Map<string, DraftDriver>();
  for (const entry of entries) {
    const c = entry.config;
    const path = c?.binaryPath ? resolveDriverPath(c.binaryPath, root) : defaultDriverPath(entry.name, root);
    const draft: DraftDriver = {
      name: entry.name,
      refCount: 0,
      usedBy: [],
      state: serviceStateName(entry.state),
      path,
      taint: null,
      startType: c ? startTypeName(c.startType) : null,
      serviceType: serviceTypeName(entry.type),
      displayName: entry.displayName || null,
      loaded: modules ? false : null,
    };
    drafts.push(draft);
    if (!byFile.has(baseNameOf(path))) byFile.set(baseNameOf(path), draft);
  }
  for (const m of modules ?? []) {
    const path = resolveDriverPath(m.fileName, root);
    const known = byFile.get(baseNameOf(m.baseName));
    if (known) {
      known.loaded = true;
      known.state = 'running'; // loaded in the kernel, whatever the SCM's bookkeeping says
      known.path = path;
      continue;
    }
    drafts.push({
      name: m.baseName,
      refCount: 0,
      usedBy: [],
      state: 'running',
      path,
      taint: null,
      startType: null,
      serviceType: null,
      displayName: null,
      loaded: true,
    });
  }
  return drafts;
}

export async function listDrivers(signal?: AbortSignal): Promise<DriverInfo[]> {
  const entries = await listScmEntries(SERVICE_DRIVER, signal);
  // No list (the call failed, or Wine's empty one): the records say `loaded: null`, not `false`.
  const modules = (() => {
    try {
      return loadedModules();
    } catch {
      return [];
    }
  })();
  const drafts = joinDrivers(modules.length > 0 ? modules : null, entries, systemRoot());
  const drivers: WindowsDriverInfo[] = [];
  for (const d of drafts) {
    signal?.throwIfAborted();
    const facts = d.path ? await peFacts(d.path) : null;
    const { name, refCount, usedBy, state, path, taint, ...windowsOnly } = d;
    // size 0 and signer null: the file could not be read (missing, access denied, not a PE image).
    drivers.push({
      name,
      size: facts?.size ?? 0,
      refCount,
      usedBy,
      state,
      path,
      signer: facts?.signer ?? null,
      taint,
      ...windowsOnly,
    });
  }
  return drivers.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}
