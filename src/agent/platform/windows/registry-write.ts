/**
 * The registry writes `remediate registry` / `undo` need (advapi32): one value taken away with its exact type
 * and bytes, and written back the same. Always the 64-bit view (KEY_WOW64_64KEY), like the `registry`
 * command: the 32-bit programs' view is reached by its real path (`HKLM\Software\Wow6432Node\...`), so the
 * path the analyst copies from `registry` or `persistence` is the one changed. A key is deleted only as a
 * scheduled task's TaskCache entry, once its values are saved, and only when it has no subkeys.
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

/**
 * `type` of a saved entry that stands for a key itself (which may hold no value: TaskCache\Logon\{id}):
 * remediate deleted it, undo creates it again before writing its values. No registry type is negative.
 */
export const KEY_ITSELF = -1;

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
  create(
    root: number,
    sub: string,
    reserved: number,
    cls: null,
    options: number,
    sam: number,
    sec: null,
    out: number[],
    disposition: number[],
  ): number;
  deleteKey(root: number, sub: string, sam: number, reserved: number): number;
  set(h: number, name: string, reserved: number, type: number, data: Buffer | null, cb: number): number;
  del(h: number, name: string): number;
  close(h: number): number;
}

let api: Api | null = null;

function reg(): Api {
  if (api) return api;
  const lib = win32('advapi32.dll');
  api = {
    open: lib.func(
      'int32 __stdcall RegOpenKeyExW(intptr hKey, str16 lpSubKey, uint32 ulOptions, uint32 samDesired, _Out_ intptr *phkResult)',
    ),
    create: lib.func(
      'int32 __stdcall RegCreateKeyExW(intptr hKey, str16 lpSubKey, uint32 Reserved, str16 lpClass, uint32 dwOptions, uint32 samDesired, void *lpSecurityAttributes, _Out_ intptr *phkResult, _Out_ uint32 *lpdwDisposition)',
    ),
    deleteKey: lib.func(
      'int32 __stdcall RegDeleteKeyExW(intptr hKey, str16 lpSubKey, uint32 samDesired, uint32 Reserved)',
    ),
    set: lib.func(
      'int32 __stdcall RegSetValueExW(intptr hKey, str16 lpValueName, uint32 Reserved, uint32 dwType, const uint8 *lpData, uint32 cbData)',
    ),
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
  check(
    'RegOpenKeyExW',
    reg().open(HIVE_HANDLES[p.hive], p.subkey, 0, KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY, out),
  );
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
    if (!now || now.type !== saved.type || now.dataHex !== saved.dataHex)
      throw new Error(`${valuePath(saved)} changed while it was being saved: nothing was deleted`);
    check('RegDeleteValueW', reg().del(h, saved.name));
  });
}

/** Writes the value back with its exact type and bytes; refused when the value exists again with other data. */
export function writeSavedValue(saved: SavedValue): void {
  if (saved.type === KEY_ITSELF) return createKey(savedKey(saved));
  if (!Number.isInteger(saved.type) || saved.type < 0 || saved.type > MAX_REG_TYPE)
    throw new Error(`${valuePath(saved)}: type ${saved.type} is not a registry type`);
  const bytes = hexToBytes(saved.dataHex);
  const p = savedKey(saved);
  withWritableKey(p, (h) => {
    const now = readSavedValue({ ...p, value: saved.name });
    // already back (an undo interrupted before)
    if (now && now.type === saved.type && now.dataHex === saved.dataHex) return;
    if (now) throw new Error(`${valuePath(saved)} exists again with other data: remove it first`);
    check('RegSetValueExW', reg().set(h, saved.name, 0, saved.type, bytes.length > 0 ? bytes : null, bytes.length));
  });
}

/** Whether the key exists (64-bit view). */
export function keyExists(p: RegistryPath): boolean {
  try {
    OpenKey.open(p.hive, p.subkey).close();
    return true;
  } catch (e) {
    if (e instanceof RegistryCallError && e.status === ERROR_FILE_NOT_FOUND) return false;
    throw e;
  }
}

/**
 * A key as it would be saved: the key itself (KEY_ITSELF) then every value with its type and bytes; null when
 * the key does not exist. Refused when it has subkeys (a key is never deleted with what is below it).
 */
export function readSavedKey(p: RegistryPath): SavedValue[] | null {
  if (!keyExists(p)) return null;
  const key = OpenKey.open(p.hive, p.subkey);
  try {
    const info = key.info();
    if (info.subkeys > 0) throw new Error(`${p.display} has subkeys: not deleted`);
    const out: SavedValue[] = [{ key: p.display, name: '', type: KEY_ITSELF, dataHex: '' }];
    for (let i = 0; ; i++) {
      const v = key.value(i, info.maxValueName, info.maxValueBytes);
      if (!v) break;
      out.push({ key: p.display, name: v.name, type: v.type, dataHex: bytesToHex(v.bytes) });
    }
    return out;
  } finally {
    key.close();
  }
}

/** Creates the key (its missing parents too); an existing key is left as it is. */
export function createKey(p: RegistryPath): void {
  const out = [0];
  check(
    'RegCreateKeyExW',
    reg().create(HIVE_HANDLES[p.hive], p.subkey, 0, null, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, null, out, [0]),
  );
  reg().close(out[0]!);
}

/** Deletes a key that holds no subkey (RegDeleteKeyExW refuses one that does). A missing key is not an error. */
export function deleteKey(p: RegistryPath): void {
  const status = reg().deleteKey(HIVE_HANDLES[p.hive], p.subkey, KEY_WOW64_64KEY, 0);
  if (status !== ERROR_FILE_NOT_FOUND) check('RegDeleteKeyExW', status);
}
