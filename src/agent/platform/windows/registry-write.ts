/**
 * The registry writes `remediate registry` / `undo` need (advapi32): one value taken away with its exact type
 * and bytes, and written back the same. Always the 64-bit view (KEY_WOW64_64KEY), like the `registry`
 * command: the 32-bit programs' view is reached by its real path (`HKLM\Software\Wow6432Node\...`), so the
 * path the analyst copies from `registry` or `persistence` is the one changed. Keys are never deleted here.
 * The Reg* functions return their error code (they do not set the thread's last error).
 */
import { win32 } from './ffi.js';
import { parseRegistryPath, HIVE_HANDLES, type RegistryPath } from './registry-path.js';
import { ERROR_FILE_NOT_FOUND, OpenKey, RegistryCallError } from './registry-win32.js';

const KEY_QUERY_VALUE = 0x0001;
const KEY_SET_VALUE = 0x0002;
const KEY_WOW64_64KEY = 0x0100;
/** Registry value types end at REG_QWORD (11); larger numbers are not types Windows writes. */
const MAX_REG_TYPE = 11;

/** A value as the quarantine keeps it (entry.registryValues). */
export interface SavedValue {
  /** The key as `registry` shows it: `HKLM\Software\...`. */
  key: string;
  /** The value name ('' = the key's default value). */
  name: string;
  type: number;
  /** The raw data, lower-case hex ('' for no bytes). */
  dataHex: string;
}

/** Raw bytes → lower-case hex (the quarantine's JSON form). */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Hex → bytes; anything but an even count of hex digits is refused (a damaged quarantine entry). */
export function hexToBytes(hex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex data: ${hex.slice(0, 40)}`);
  return Buffer.from(hex, 'hex');
}

/** The `KEY\\VALUE` path of a saved value, as the analyst gives it. */
export function valuePath(v: Pick<SavedValue, 'key' | 'name'>): string {
  return `${v.key}\\\\${v.name}`;
}

/** A saved value's key, read back into a hive and a subkey. */
export function savedKey(v: Pick<SavedValue, 'key'>): RegistryPath {
  return parseRegistryPath(v.key);
}

interface Api {
  open(root: number, sub: string, options: number, sam: number, out: number[]): number;
  set(h: number, name: string, reserved: number, type: number, data: Buffer | null, cb: number): number;
  del(h: number, name: string): number;
  close(h: number): number;
}

let api: Api | null = null;

function reg(): Api {
  if (api) return api;
  const lib = win32('advapi32.dll');
  api = {
    open: lib.func('int32 __stdcall RegOpenKeyExW(intptr hKey, str16 lpSubKey, uint32 ulOptions, uint32 samDesired, _Out_ intptr *phkResult)'),
    set: lib.func('int32 __stdcall RegSetValueExW(intptr hKey, str16 lpValueName, uint32 Reserved, uint32 dwType, const uint8 *lpData, uint32 cbData)'),
    del: lib.func('int32 __stdcall RegDeleteValueW(intptr hKey, str16 lpValueName)'),
    close: lib.func('int32 __stdcall RegCloseKey(intptr hKey)'),
  } as unknown as Api;
  return api;
}

function check(call: string, status: number): void {
  if (status !== 0) throw new RegistryCallError(call, status);
}

/** Runs `fn` with the key opened for query + set (64-bit view); closes it whatever happens. */
function withWritableKey<T>(p: RegistryPath, fn: (h: number) => T): T {
  const out = [0];
  check('RegOpenKeyExW', reg().open(HIVE_HANDLES[p.hive], p.subkey, 0, KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY, out));
  const h = out[0]!;
  try {
    return fn(h);
  } finally {
    reg().close(h);
  }
}

/** The value now, as it would be saved; null when the key or the value does not exist. */
export function readSavedValue(p: RegistryPath & { value: string }): SavedValue | null {
  let key: OpenKey;
  try {
    key = OpenKey.open(p.hive, p.subkey);
  } catch (e) {
    if (e instanceof RegistryCallError && e.status === ERROR_FILE_NOT_FOUND) return null;
    throw e;
  }
  try {
    const v = key.query(p.value);
    return v ? { key: p.display, name: p.value, type: v.type, dataHex: bytesToHex(v.bytes) } : null;
  } finally {
    key.close();
  }
}

/**
 * Deletes the value, which must still be exactly `saved` (type and bytes, read again through the handle
 * that deletes it): a value changed since it was saved is refused rather than lost.
 */
export function deleteSavedValue(saved: SavedValue): void {
  const p = savedKey(saved);
  withWritableKey(p, (h) => {
    const now = readSavedValue({ ...p, value: saved.name });
    if (!now || now.type !== saved.type || now.dataHex !== saved.dataHex) throw new Error(`${valuePath(saved)} changed while it was being saved: nothing was deleted`);
    check('RegDeleteValueW', reg().del(h, saved.name));
  });
}

/** Writes the value back with its exact type and bytes; refused when the value exists again. */
export function writeSavedValue(saved: SavedValue): void {
  if (!Number.isInteger(saved.type) || saved.type < 0 || saved.type > MAX_REG_TYPE) throw new Error(`${valuePath(saved)}: type ${saved.type} is not a registry type`);
  const bytes = hexToBytes(saved.dataHex);
  const p = savedKey(saved);
  withWritableKey(p, (h) => {
    if (readSavedValue({ ...p, value: saved.name })) throw new Error(`${valuePath(saved)} exists again: remove it first (nothing was restored)`);
    check('RegSetValueExW', reg().set(h, saved.name, 0, saved.type, bytes.length > 0 ? bytes : null, bytes.length));
  });
}
