/**
 * The registry through advapi32 (RegOpenKeyExW, RegQueryInfoKeyW, RegEnumKeyExW, RegEnumValueW,
 * RegQueryValueExW, RegCloseKey), always in the 64-bit view. The Reg* functions return their error code
 * (they do not set the thread's last error).
 */
import { NotSupportedError } from '../types.js';
import { ffi, fileTimeToIso, win32, win32ErrorText } from './ffi.js';
import { HIVE_HANDLES, type HiveName } from './registry-path.js';

const KEY_READ = 0x20019;
const KEY_WOW64_64KEY = 0x0100;
export const ERROR_FILE_NOT_FOUND = 2;
export const ERROR_ACCESS_DENIED = 5;
const ERROR_MORE_DATA = 234;
const ERROR_NO_MORE_ITEMS = 259;

type Status = number;
interface FileTime {
  low: number;
  high: number;
}

interface Api {
  open(root: number, sub: string, options: number, sam: number, out: number[]): Status;
  info(
    h: number,
    cls: null,
    ccls: null,
    res: null,
    subkeys: number[],
    maxSub: number[],
    maxCls: number[],
    values: number[],
    maxValueName: number[],
    maxValue: number[],
    sec: number[],
    lastWrite: FileTime,
  ): Status;
  enumKey(
    h: number,
    index: number,
    name: Buffer,
    cch: number[],
    res: null,
    cls: null,
    ccls: null,
    lastWrite: FileTime,
  ): Status;
  enumValue(
    h: number,
    index: number,
    name: Buffer,
    cch: number[],
    res: null,
    type: number[],
    data: Buffer | null,
    cb: number[],
  ): Status;
  query(h: number, name: string, res: null, type: number[], data: Buffer | null, cb: number[]): Status;
  close(h: number): Status;
}

let api: Api | null = null;

function reg(): Api {
  if (api) return api;
  const koffi = ffi();
  // declared once: `api` is built once per process
  koffi.struct('LR_REG_FILETIME', { low: 'uint32', high: 'uint32' });
  const lib = win32('advapi32.dll');
  api = {
    open: lib.func(
      'int32 __stdcall RegOpenKeyExW(intptr hKey, str16 lpSubKey, uint32 ulOptions, uint32 samDesired, _Out_ intptr *phkResult)',
    ),
    info: lib.func(
      'int32 __stdcall RegQueryInfoKeyW(intptr hKey, void *lpClass, void *lpcchClass, void *lpReserved, _Out_ uint32 *lpcSubKeys, _Out_ uint32 *lpcbMaxSubKeyLen, _Out_ uint32 *lpcbMaxClassLen, _Out_ uint32 *lpcValues, _Out_ uint32 *lpcbMaxValueNameLen, _Out_ uint32 *lpcbMaxValueLen, _Out_ uint32 *lpcbSecurityDescriptor, _Out_ LR_REG_FILETIME *lpftLastWriteTime)',
    ),
    enumKey: lib.func(
      'int32 __stdcall RegEnumKeyExW(intptr hKey, uint32 dwIndex, _Out_ uint8 *lpName, _Inout_ uint32 *lpcchName, void *lpReserved, void *lpClass, void *lpcchClass, _Out_ LR_REG_FILETIME *lpftLastWriteTime)',
    ),
    enumValue: lib.func(
      'int32 __stdcall RegEnumValueW(intptr hKey, uint32 dwIndex, _Out_ uint8 *lpValueName, _Inout_ uint32 *lpcchValueName, void *lpReserved, _Out_ uint32 *lpType, _Out_ uint8 *lpData, _Inout_ uint32 *lpcbData)',
    ),
    query: lib.func(
      'int32 __stdcall RegQueryValueExW(intptr hKey, str16 lpValueName, void *lpReserved, _Out_ uint32 *lpType, _Out_ uint8 *lpData, _Inout_ uint32 *lpcbData)',
    ),
    close: lib.func('int32 __stdcall RegCloseKey(intptr hKey)'),
  } as unknown as Api;
  return api;
}

/**
 * The Windows layer built on another OS (tests of the platform factory): the command is refused as a whole,
 * as the skeleton did, rather than answered with one failure per location.
 */
export function requireWindows(what: string): void {
  if (process.platform !== 'win32') throw new NotSupportedError(what);
}

/** A failed Reg* call, with its Win32 code (2 = not found, 5 = access denied). */
export class RegistryCallError extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
  ) {
    super(win32ErrorText(status));
    this.name = 'RegistryCallError';
  }
}

function check(call: string, status: Status): void {
  if (status !== 0) throw new RegistryCallError(call, status);
}

export interface KeyInfo {
  subkeys: number;
  values: number;
  /** Longest subkey name, in characters. */
  maxSubkeyName: number;
  /** Longest value name, in characters. */
  maxValueName: number;
  /** Largest value data, in bytes. */
  maxValueBytes: number;
  lastWrite: string | null;
}

export interface RawSubkey {
  name: string;
  lastWrite: string | null;
}

export interface RawValue {
  name: string;
  type: number;
  bytes: Buffer;
}

/** An open key; close it (try/finally). */
export class OpenKey {
  private constructor(private handle: number) {}

  static open(hive: HiveName, subkey: string): OpenKey {
    const out = [0];
    check('RegOpenKeyExW', reg().open(HIVE_HANDLES[hive], subkey, 0, KEY_READ | KEY_WOW64_64KEY, out));
    return new OpenKey(out[0]!);
  }

  info(): KeyInfo {
    const [subkeys, maxSub, maxCls, values, maxName, maxValue, sec] = [[0], [0], [0], [0], [0], [0], [0]];
    const lastWrite = { low: 0, high: 0 };
    check(
      'RegQueryInfoKeyW',
      reg().info(this.handle, null, null, null, subkeys, maxSub, maxCls, values, maxName, maxValue, sec, lastWrite),
    );
    return {
      subkeys: subkeys[0]!,
      values: values[0]!,
      maxSubkeyName: maxSub[0]!,
      maxValueName: maxName[0]!,
      maxValueBytes: maxValue[0]!,
      lastWrite: fileTimeToIso(lastWrite.low, lastWrite.high),
    };
  }

  /** Subkey `index`, or null past the last one. */
  subkey(index: number, maxName: number): RawSubkey | null {
    // Key names are at most 255 characters; the buffer holds that whatever the key said before.
    const size = Math.max(maxName, 255) + 1;
    const name = Buffer.alloc(size * 2);
    const cch = [size];
    const lastWrite = { low: 0, high: 0 };
    const status = reg().enumKey(this.handle, index, name, cch, null, null, null, lastWrite);
    if (status === ERROR_NO_MORE_ITEMS) return null;
    check('RegEnumKeyExW', status);
    return { name: name.toString('utf16le', 0, cch[0]! * 2), lastWrite: fileTimeToIso(lastWrite.low, lastWrite.high) };
  }

  /** Value `index` with its data, or null past the last one (buffers grow when the value grew meanwhile). */
  value(index: number, maxName: number, maxBytes: number): RawValue | null {
    let nameChars = maxName + 1;
    let dataBytes = Math.max(maxBytes, 16);
    for (let attempt = 0; ; attempt++) {
      const name = Buffer.alloc(nameChars * 2);
      const data = Buffer.alloc(dataBytes);
      const cch = [nameChars];
      const cb = [dataBytes];
      const type = [0];
      const status = reg().enumValue(this.handle, index, name, cch, null, type, data, cb);
      if (status === ERROR_NO_MORE_ITEMS) return null;
      if (status === ERROR_MORE_DATA && attempt < 4) {
        nameChars = Math.max(nameChars * 2, 16_384);
        dataBytes = Math.max(dataBytes * 2, cb[0]!);
        continue;
      }
      check('RegEnumValueW', status);
      return { name: name.toString('utf16le', 0, cch[0]! * 2), type: type[0]!, bytes: data.subarray(0, cb[0]!) };
    }
  }

  /** One value by name ('' = the default value); null when it does not exist. */
  query(name: string): RawValue | null {
    const size = [0];
    const type = [0];
    let status = reg().query(this.handle, name, null, type, null, size);
    if (status === ERROR_FILE_NOT_FOUND) return null;
    check('RegQueryValueExW', status);
    for (let attempt = 0; ; attempt++) {
      const data = Buffer.alloc(Math.max(size[0]!, 16));
      const cb = [data.length];
      status = reg().query(this.handle, name, null, type, data, cb);
      if (status === ERROR_FILE_NOT_FOUND) return null;
      if (status === ERROR_MORE_DATA && attempt < 4) {
        size[0] = Math.max(cb[0]!, data.length * 2);
        continue;
      }
      check('RegQueryValueExW', status);
      return { name, type: type[0]!, bytes: data.subarray(0, cb[0]!) };
    }
  }

  close(): void {
    if (this.handle === 0) return;
    reg().close(this.handle);
    this.handle = 0;
  }
}
