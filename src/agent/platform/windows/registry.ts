/**
 * Windows registry: `registry KEY` lists a key's subkeys and values, `registry KEY\\VALUE` one value
 * (path syntax: registry-path.ts; data decoding: registry-data.ts). Read through the Win32 API in the
 * 64-bit view, never through reg.exe.
 *
 * One record per subkey and per value, the same fields for both so that they share a table:
 * `{ key, kind: 'subkey' | 'value', name, type, size, data, value, lastWrite }` (subkeys: type, size, data
 * and value null; values: lastWrite null, Windows keeps it per key only).
 */
import { decodeValue, type DecodedValue } from './registry-data.js';
import { joinKey, parseRegistryPath, RegistryError, type HiveName, type RegistryPath } from './registry-path.js';
import { ERROR_FILE_NOT_FOUND, OpenKey, RegistryCallError, requireWindows, type RawValue } from './registry-win32.js';

export type RegistryRecord = {
  /** The key that holds the entry: `HKLM\SOFTWARE\Microsoft`. */
  key: string;
  kind: 'subkey' | 'value';
  /** Subkey name, or value name ('' is the key's default value). */
  name: string;
  /** REG_SZ, REG_DWORD, ... (null for a subkey). */
  type: string | null;
  /** Data size in bytes (null for a subkey). */
  size: number | null;
  /** The data on one line, as regedit shows it (null for a subkey). */
  data: string | null;
  /** The data typed: string, number, list of strings, or hex for binary data (null for a subkey). */
  value: DecodedValue['value'] | null;
  /** When the subkey was last written (ISO 8601; null for a value). */
  lastWrite: string | null;
};

/** Enumerations hand the event loop back this often, so a key with 100,000 subkeys does not stall the agent. */
const CHUNK = 500;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Opens `subkey` of `hive`; Win32 failures become one-line errors naming the key. */
function openKey(hive: HiveName, subkey: string): OpenKey {
  try {
    return OpenKey.open(hive, subkey);
  } catch (err) {
    throw asRegistryError(err, joinKey(hive, subkey));
  }
}

function asRegistryError(err: unknown, shown: string): unknown {
  if (err instanceof RegistryCallError)
    return new RegistryError(shown, err.status === ERROR_FILE_NOT_FOUND ? 'not found' : err.message);
  return err;
}

function valueRecord(key: string, raw: RawValue): RegistryRecord {
  const d = decodeValue(raw.type, raw.bytes);
  return {
    key,
    kind: 'value',
    name: raw.name,
    type: d.type,
    size: raw.bytes.length,
    data: d.data,
    value: d.value,
    lastWrite: null,
  };
}

/** The subkeys of a key (`HKLM\SOFTWARE`), with their last write times. */
export async function listSubkeys(key: string | RegistryPath, signal?: AbortSignal): Promise<RegistryRecord[]> {
  const p = typeof key === 'string' ? parseRegistryPath(key) : key;
  const k = openKey(p.hive, p.subkey);
  try {
    return await subkeysOf(k, p.display, signal);
  } finally {
    k.close();
  }
}

/** The values of a key, decoded. */
export async function listValues(key: string | RegistryPath, signal?: AbortSignal): Promise<RegistryRecord[]> {
  const p = typeof key === 'string' ? parseRegistryPath(key) : key;
  const k = openKey(p.hive, p.subkey);
  try {
    return await valuesOf(k, p.display, signal);
  } finally {
    k.close();
  }
}

/** One value of a key, or null when the key or the value does not exist. */
export function readValue(hive: HiveName, subkey: string, name: string): RegistryRecord | null {
  let k: OpenKey;
  try {
    k = OpenKey.open(hive, subkey);
  } catch (err) {
    if (err instanceof RegistryCallError && err.status === ERROR_FILE_NOT_FOUND) return null;
    throw asRegistryError(err, joinKey(hive, subkey));
  }
  try {
    const raw = k.query(name);
    return raw ? valueRecord(joinKey(hive, subkey), raw) : null;
  } catch (err) {
    throw asRegistryError(err, joinKey(hive, subkey));
  } finally {
    k.close();
  }
}

async function subkeysOf(k: OpenKey, shown: string, signal?: AbortSignal): Promise<RegistryRecord[]> {
  const records: RegistryRecord[] = [];
  try {
    const info = k.info();
    for (let i = 0; ; i++) {
      if (i % CHUNK === CHUNK - 1) {
        await yieldToLoop();
        signal?.throwIfAborted();
      }
      const s = k.subkey(i, info.maxSubkeyName);
      if (!s) break;
      records.push({
        key: shown,
        kind: 'subkey',
        name: s.name,
        type: null,
        size: null,
        data: null,
        value: null,
        lastWrite: s.lastWrite,
      });
    }
  } catch (err) {
    throw asRegistryError(err, shown);
  }
  return records;
}

async function valuesOf(k: OpenKey, shown: string, signal?: AbortSignal): Promise<RegistryRecord[]> {
  const records: RegistryRecord[] = [];
  try {
    const info = k.info();
    for (let i = 0; ; i++) {
      if (i % CHUNK === CHUNK - 1) {
        await yieldToLoop();
        signal?.throwIfAborted();
      }
      const v = k.value(i, info.maxValueName, info.maxValueBytes);
      if (!v) break;
      records.push(valueRecord(shown, v));
    }
  } catch (err) {
    throw asRegistryError(err, shown);
  }
  return records;
}

/** `registry KEY` (subkeys, then values) or `registry KEY\\VALUE` (that value). */
export async function readRegistry(key: string, signal?: AbortSignal): Promise<RegistryRecord[]> {
  requireWindows('registry');
  const p = parseRegistryPath(key);
  const k = openKey(p.hive, p.subkey);
  try {
    if (p.value !== null) {
      let raw: RawValue | null;
      try {
        raw = k.query(p.value);
      } catch (err) {
        throw asRegistryError(err, p.display);
      }
      if (!raw)
        throw new RegistryError(
          `${p.display}\\\\${p.value}`,
          p.value === '' ? 'the key has no default value' : 'value not found',
        );
      return [valueRecord(p.display, raw)];
    }
    return [...(await subkeysOf(k, p.display, signal)), ...(await valuesOf(k, p.display, signal))];
  } finally {
    k.close();
  }
}
