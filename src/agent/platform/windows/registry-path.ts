/**
 * Registry paths as the analyst types them, read into a hive, a subkey and an optional value name. Pure:
 * unit-tested under Linux.
 *
 * - Hives by full or short name, any case: HKEY_LOCAL_MACHINE/HKLM, HKEY_CURRENT_USER/HKCU, HKEY_USERS/HKU,
 *   HKEY_CLASSES_ROOT/HKCR, HKEY_CURRENT_CONFIG/HKCC. A leading `Computer\` (regedit's address bar) is dropped.
 * - `\` separates keys. Key names may hold `/` (`HKCR\MIME\Database\Content Type\text/html`), so `/` is a
 *   separator only in a path without any backslash (`HKLM/SOFTWARE/Microsoft`).
 * - A double separator (`\\`, or `//` in a slash path) starts the value name, which runs to the end of the
 *   text (value names, unlike key names, may hold backslashes): `HKLM\SOFTWARE\X\\Name`. Nothing after it
 *   (`HKLM\SOFTWARE\X\\`) names the key's default value.
 */

/** A predefined root key, by its short name. */
export type HiveName = 'HKLM' | 'HKCU' | 'HKU' | 'HKCR' | 'HKCC';

/** The predefined handles (winreg.h; sign-extended on 64-bit Windows, hence negative as intptr). */
export const HIVE_HANDLES: Readonly<Record<HiveName, number>> = {
  HKCR: -0x80000000,
  HKCU: -0x7fffffff,
  HKLM: -0x7ffffffe,
  HKU: -0x7ffffffd,
  HKCC: -0x7ffffffb,
};

const HIVE_NAMES: Readonly<Record<string, HiveName>> = {
  HKLM: 'HKLM',
  HKEY_LOCAL_MACHINE: 'HKLM',
  HKCU: 'HKCU',
  HKEY_CURRENT_USER: 'HKCU',
  HKU: 'HKU',
  HKEY_USERS: 'HKU',
  HKCR: 'HKCR',
  HKEY_CLASSES_ROOT: 'HKCR',
  HKCC: 'HKCC',
  HKEY_CURRENT_CONFIG: 'HKCC',
};

/** Windows' limits: a key name of 255 characters, a value name of 16,383. */
export const MAX_KEY_NAME = 255;
export const MAX_VALUE_NAME = 16_383;
/** A path deeper than Windows allows (512 levels) is not a registry path. */
const MAX_DEPTH = 512;

export interface RegistryPath {
  hive: HiveName;
  /** Subkey below the hive, `\`-separated, '' for the hive itself. */
  subkey: string;
  /** Value name ('' = the default value), or null for the whole key. */
  value: string | null;
  /** The key as records and errors show it: `HKLM\SOFTWARE\Microsoft`. */
  display: string;
}

/** A registry path that cannot be read, with the key it names as the analyst wrote it. */
export class RegistryError extends Error {
  constructor(
    /** The key (or key\\value) the error is about, shown before the reason. */
    readonly path: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'RegistryError';
  }
}

export function parseRegistryPath(input: string): RegistryPath {
  let text = input.trim();
  const shown = text === '' ? '(empty)' : text;
  if (text === '') throw new RegistryError(shown, 'no key given (e.g. HKLM\\SOFTWARE)');
  const sep = text.includes('\\') ? '\\' : '/';
  text = text.replace(/^computer[\\/]+/i, '');
  let keyPart = text;
  let value: string | null = null;
  const split = text.indexOf(sep + sep);
  if (split >= 0) {
    keyPart = text.slice(0, split);
    value = text.slice(split + 2);
  }
  const parts = keyPart.split(sep).filter((p) => p !== '');
  const hiveWord = parts.shift() ?? '';
  const hive = HIVE_NAMES[hiveWord.toUpperCase()];
  if (!hive)
    throw new RegistryError(
      shown,
      `unknown hive ${hiveWord === '' ? '(none)' : hiveWord} (HKLM, HKCU, HKU, HKCR or HKCC)`,
    );
  if (parts.length > MAX_DEPTH) throw new RegistryError(shown, `key path too deep (more than ${MAX_DEPTH} levels)`);
  const long = parts.find((p) => p.length > MAX_KEY_NAME);
  if (long !== undefined)
    throw new RegistryError(shown, `key name longer than ${MAX_KEY_NAME} characters: ${long.slice(0, 40)}…`);
  if (value !== null && value.length > MAX_VALUE_NAME)
    throw new RegistryError(shown, `value name longer than ${MAX_VALUE_NAME} characters`);
  const subkey = parts.join('\\');
  return { hive, subkey, value, display: joinKey(hive, subkey) };
}

/** `HKLM` + `SOFTWARE\X` → `HKLM\SOFTWARE\X`. */
export function joinKey(key: string, name: string): string {
  return name === '' ? key : `${key}\\${name}`;
}
