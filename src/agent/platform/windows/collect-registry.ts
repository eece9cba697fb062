/**
 * Windows investigation package (collect): registry exports as JSON, read with the agent's own registry
 * readers (registry.ts), never with reg.exe — Run/RunOnce (HKLM and every user hive loaded under HKU, both
 * views), services (HKLM\SYSTEM\CurrentControlSet\Services, with each service's Parameters), Image File
 * Execution Options (both views), and the installed programs (the Uninstall keys of HKLM, both views, and of
 * each loaded user hive). A key that does not exist is listed with `error: 'not found'`; one that cannot be
 * read with its reason.
 */
import { listSubkeys, listValues, type RegistryRecord } from './registry.js';
import { RegistryError } from './registry-path.js';
import { describeError } from '../../../shared/errors.js';

/** One exported key: its values, or why they could not be read. */
export interface KeyExport {
  key: string;
  /** When the key was last written, where its parent's listing told it. */
  lastWrite?: string | null;
  values?: RegistryRecord[];
  /** Subkeys exported with it (a service's Parameters). */
  subkeys?: KeyExport[];
  error?: string;
}

export interface InstalledProgram {
  /** The Uninstall subkey: `HKLM\SOFTWARE\...\Uninstall\{GUID}`. */
  key: string;
  /** HKLM, or `HKU\<SID>` for a per-user installation. */
  hive: string;
  /** `64-bit` or `32-bit` (Wow6432Node). */
  view: '64-bit' | '32-bit';
  displayName: string | null;
  displayVersion: string | null;
  publisher: string | null;
  installDate: string | null;
  installLocation: string | null;
  uninstallString: string | null;
  lastWrite: string | null;
}

const VIEWS: Array<{ branch: string; view: '64-bit' | '32-bit' }> = [
  { branch: 'SOFTWARE', view: '64-bit' },
  { branch: 'SOFTWARE\\Wow6432Node', view: '32-bit' },
];
const CURRENT_VERSION = 'Microsoft\\Windows\\CurrentVersion';
const SERVICES = 'HKLM\\SYSTEM\\CurrentControlSet\\Services';
/** Keys read between two turns of the event loop (and two looks at the AbortSignal). */
const CHUNK = 50;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const notFound = (err: unknown) => err instanceof RegistryError && err.message === 'not found';

async function exportKey(key: string, signal?: AbortSignal, lastWrite?: string | null): Promise<KeyExport> {
  const base: KeyExport = lastWrite === undefined ? { key } : { key, lastWrite };
  try {
    return { ...base, values: await listValues(key, signal) };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { ...base, error: notFound(err) ? 'not found' : describeError(err) };
  }
}

/** A key's subkeys, each exported; `[]` plus an error record when the key itself cannot be listed. */
async function exportSubkeys(
  key: string,
  signal: AbortSignal | undefined,
  withParameters: boolean,
): Promise<KeyExport[]> {
  let subkeys: RegistryRecord[];
  try {
    subkeys = await listSubkeys(key, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    return [{ key, error: notFound(err) ? 'not found' : describeError(err) }];
  }
  const out: KeyExport[] = [];
  for (const [i, s] of subkeys.entries()) {
    if (i % CHUNK === CHUNK - 1) {
      await yieldToLoop();
      signal?.throwIfAborted();
    }
    const exported = await exportKey(`${key}\\${s.name}`, signal, s.lastWrite);
    if (withParameters) {
      const p = await exportKey(`${key}\\${s.name}\\Parameters`, signal);
      if (p.error !== 'not found') exported.subkeys = [p];
    }
    out.push(exported);
  }
  return out;
}

/** The user hives loaded under HKU (`S-1-5-21-...`, not their `_Classes` companions). */
export function userHiveSids(names: readonly string[]): string[] {
  return names.filter((n) => /^S-\d/i.test(n) && !/_Classes$/i.test(n)).sort((a, b) => a.localeCompare(b));
}

async function loadedUserSids(): Promise<string[]> {
  return userHiveSids((await listSubkeys('HKU')).map((r) => r.name));
}

/** HKLM and every loaded user hive, as registry paths of their root. */
async function hives(): Promise<string[]> {
  return ['HKLM', ...(await loadedUserSids()).map((sid) => `HKU\\${sid}`)];
}

export async function exportRunKeys(signal?: AbortSignal): Promise<KeyExport[]> {
  const out: KeyExport[] = [];
  for (const hive of await hives()) {
    for (const { branch } of VIEWS) {
      for (const leaf of ['Run', 'RunOnce'])
        out.push(await exportKey(`${hive}\\${branch}\\${CURRENT_VERSION}\\${leaf}`, signal));
    }
    out.push(await exportKey(`${hive}\\SOFTWARE\\${CURRENT_VERSION}\\Policies\\Explorer\\Run`, signal));
  }
  return out;
}

export async function exportServices(signal?: AbortSignal): Promise<KeyExport[]> {
  return exportSubkeys(SERVICES, signal, true);
}

export async function exportIfeo(signal?: AbortSignal): Promise<KeyExport[]> {
  const out: KeyExport[] = [];
  for (const { branch } of VIEWS)
    out.push(
      ...(await exportSubkeys(
        `HKLM\\${branch}\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options`,
        signal,
        false,
      )),
    );
  return out;
}

/** A value's text, looked up without regard to case (as Windows does), or null. Pure. */
export function valueText(values: readonly RegistryRecord[], name: string): string | null {
  const v = values.find((r) => r.name.toLowerCase() === name.toLowerCase());
  if (!v) return null;
  if (typeof v.value === 'string') return v.value;
  if (typeof v.value === 'number') return String(v.value);
  if (Array.isArray(v.value)) return v.value.join(' ');
  return v.data;
}

/** One Uninstall subkey as an installed program. Pure. */
export function installedProgram(
  key: string,
  hive: string,
  view: '64-bit' | '32-bit',
  values: readonly RegistryRecord[],
  lastWrite: string | null,
): InstalledProgram {
  return {
    key,
    hive,
    view,
    displayName: valueText(values, 'DisplayName'),
    displayVersion: valueText(values, 'DisplayVersion'),
    publisher: valueText(values, 'Publisher'),
    installDate: valueText(values, 'InstallDate'),
    installLocation: valueText(values, 'InstallLocation'),
    uninstallString: valueText(values, 'UninstallString'),
    lastWrite,
  };
}

/** Installed programs: every Uninstall subkey (with or without DisplayName: an entry without one is still there). */
export async function installedPrograms(
  signal?: AbortSignal,
): Promise<Array<InstalledProgram | { key: string; error: string }>> {
  const out: Array<InstalledProgram | { key: string; error: string }> = [];
  for (const hive of await hives()) {
    for (const { branch, view } of VIEWS) {
      const key = `${hive}\\${branch}\\${CURRENT_VERSION}\\Uninstall`;
      for (const exported of await exportSubkeys(key, signal, false)) {
        if (exported.error === 'not found' && exported.key === key) continue; // no Uninstall key in this view: nothing installed there
        if (exported.error) out.push({ key: exported.key, error: exported.error });
        else out.push(installedProgram(exported.key, hive, view, exported.values ?? [], exported.lastWrite ?? null));
      }
    }
  }
  return out;
}
