/**
 * The Win32 API through koffi (FFI). The agent never parses the output of Windows tools: it calls the APIs
 * Windows itself offers (Toolhelp, IP Helper, the registry, the service control manager...).
 *
 * koffi is loaded lazily, on first use, so that the Linux agent never loads it. On Windows, npm installs its
 * prebuilt binary (`@koromix/koffi-win32-x64`) next to it. The single executable (`npm run package:agent`)
 * has no node_modules: it carries that binary as the asset KOFFI_ASSET, loaded through ../../sea.ts. koffi's
 * own JS (index.cjs) only finds that binary and adds deprecated aliases (lib.stdcall, koffi.resolve...) the
 * agent does not use, so the binary's exports are the module.
 *
 * Conventions for the modules of this folder:
 * - declare each function once, with `__stdcall` and the W (UTF-16) variant, through `win32()`;
 * - strings cross as `str16` (koffi converts JS strings to UTF-16 and back);
 * - a failed call throws `Win32Error` (its code and a one-line message), never returns a half result.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import { isSeaBuild, loadEmbeddedNativeModule } from '../../sea.js';

export type Koffi = typeof KoffiModule;

let koffi: Koffi | null = null;

/** The SEA asset holding koffi's Windows binary (scripts/package-agent.mjs embeds it under this name). */
export const KOFFI_ASSET = 'koffi-win32-x64.node';

/** The koffi module (loaded on first call). */
export function ffi(): Koffi {
  if (koffi) return koffi;
  if (process.platform !== 'win32') throw new Error('the Win32 API is only available on Windows');
  if (isSeaBuild()) koffi = loadEmbeddedNativeModule(KOFFI_ASSET) as Koffi;
  else koffi = createRequire(import.meta.url)('koffi') as Koffi;
  return koffi;
}

const libraries = new Map<string, KoffiModule.LibraryHandle>();

/** A system DLL (kernel32.dll, advapi32.dll, iphlpapi.dll, psapi.dll, ntdll.dll...), loaded once. */
export function win32(dll: string): KoffiModule.LibraryHandle {
  let lib = libraries.get(dll);
  if (!lib) {
    lib = ffi().load(dll);
    libraries.set(dll, lib);
  }
  return lib;
}

/** A Win32 error code with its meaning, as one line. */
export class Win32Error extends Error {
  constructor(
    readonly call: string,
    readonly code: number,
  ) {
    super(`${call} failed: ${win32ErrorText(code)}`);
    this.name = 'Win32Error';
  }
}

/** The few Win32 error codes an analyst meets, in words (others as their number). */
const ERROR_TEXT: Readonly<Record<number, string>> = {
  2: 'not found',
  3: 'path not found',
  5: 'access denied',
  6: 'invalid handle',
  32: 'in use by another process',
  87: 'invalid parameter',
  124: 'invalid level (not supported here)',
  122: 'buffer too small',
  161: 'bad path name',
  206: 'file name too long',
  234: 'more data',
  259: 'no more items',
  1053: 'the service did not respond in time',
  1060: 'no such service',
  1062: 'the service is not running',
  1072: 'the service is marked for deletion',
  1063: 'not started by the service control manager',
  1066: 'the service failed (service-specific error)',
  1073: 'the service already exists',
};

export function win32ErrorText(code: number): string {
  return ERROR_TEXT[code] ?? `Windows error ${code}`;
}

let getLastError: (() => number) | null = null;

/** GetLastError() of the calling thread (koffi keeps it intact right after a call). */
export function lastError(): number {
  getLastError ??= win32('kernel32.dll').func('uint32 __stdcall GetLastError()') as () => number;
  return getLastError();
}

/** FILETIME of 1970-01-01 (100 ns units since 1601-01-01). */
const EPOCH_FILETIME = 116444736000000000n;

/**
 * A FILETIME (100 ns since 1601) as ms since the epoch (fractional: sub-ms precision kept as far as a double holds it).
 */
export function fileTimeToMs(ft: bigint): number {
  const since = ft - EPOCH_FILETIME;
  return Number(since / 10_000n) + Number(since % 10_000n) / 10_000;
}

/** ms since the epoch (as fileTimeToMs gives it) as a FILETIME. */
export function msToFileTime(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 10_000n + BigInt(Math.round((ms - whole) * 10_000)) + EPOCH_FILETIME;
}

/** A FILETIME given as its two 32-bit halves as an ISO 8601 string; null for zero. */
export function fileTimeToIso(low: number, high: number): string | null {
  const ticks = BigInt(high >>> 0) * 4294967296n + BigInt(low >>> 0);
  if (ticks === 0n) return null;
  return new Date(Math.floor(fileTimeToMs(ticks))).toISOString();
}
