/**
 * Windows services, from the service control manager (see scm.ts): every Win32 service (own or shared
 * process, user services), whatever its state. Drivers are listed by `drivers`.
 */
import type { ServiceInfo } from '../types.js';
import { listScmEntries, type ScmEntry } from './scm.js';
import {
  SERVICE_RUNNING,
  SERVICE_WIN32,
  serviceRegistryKey,
  serviceStateName,
  serviceTypeName,
  startTypeName,
} from './services-names.js';

/** A service record with what only Windows has. */
export interface WindowsServiceInfo extends ServiceInfo {
  /** Process id of a running service (shared services share it); null when not running. */
  pid: number | null;
  /** The service's description text (SERVICE_CONFIG_DESCRIPTION); `description` holds its display name. */
  serviceDescription: string | null;
}

export function serviceRecord(entry: ScmEntry): WindowsServiceInfo {
  const c = entry.config;
  return {
    name: entry.name,
    kind: 'windows',
    state: serviceStateName(entry.state),
    subState: serviceTypeName(entry.type),
    // Unknown when the configuration could not be read (access denied): the entry is still shown.
    enabled: c ? startTypeName(c.startType, c.delayedAutoStart) : 'unknown',
    unitPath: serviceRegistryKey(entry.name),
    execStart: c ? c.binaryPath || null : null,
    description: entry.displayName || null,
    account: c ? c.account || null : null,
    pid: entry.state === SERVICE_RUNNING && entry.pid > 0 ? entry.pid : null,
    serviceDescription: c?.description ?? null,
  };
}

export async function listServices(signal?: AbortSignal): Promise<ServiceInfo[]> {
  const entries = await listScmEntries(SERVICE_WIN32, signal);
  return entries.map(serviceRecord).sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}
