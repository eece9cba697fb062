/**
 * Windows: what the investigation package (collect) holds beyond the platform's listings — system facts,
 * the files it copies (collect-files.ts) — and the login records (none: Windows keeps logons in the
 * Security event log, which the package holds as logs/evtx/Security.evtx when it can be read). The registry
 * exports, installed programs and prefetch listing are added by commands/collect.ts (collect-registry.ts,
 * collect-files.ts).
 */
import os from 'node:os';
import { bootTimeId } from '../unsupported.js';
import type { CollectionSource } from '../types.js';
import { systemRoot, windowsCollectionSources } from './collect-files.js';
import { readValue, type RegistryRecord } from './registry.js';

const NT_CURRENT_VERSION = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion';

function text(r: RegistryRecord | null): string | number | null {
  return r && (typeof r.value === 'string' || typeof r.value === 'number') ? r.value : null;
}

export async function systemInfo(): Promise<Record<string, unknown>> {
  const nt = (name: string) => {
    try {
      return text(readValue('HKLM', NT_CURRENT_VERSION, name));
    } catch {
      return null;
    }
  };
  return {
    hostname: os.hostname(),
    uname: { sysname: os.type(), release: os.release(), version: os.version(), machine: os.machine() },
    windows: {
      productName: nt('ProductName'),
      displayVersion: nt('DisplayVersion'),
      currentBuild: nt('CurrentBuild'),
      // seconds since 1970, as Windows stores it
      installDate: nt('InstallDate'),
      systemRoot: systemRoot(),
    },
    uptimeSeconds: os.uptime(),
    bootId: bootTimeId(),
    memoryBytes: { total: os.totalmem(), free: os.freemem() },
    cpus: os.cpus().length,
    collectedAt: new Date().toISOString(),
  };
}

export async function collectionSources(): Promise<{ sources: CollectionSource[]; notes: string[] }> {
  return windowsCollectionSources();
}

/** Windows has no wtmp: logons are events 4624/4634 of the Security event log. */
export async function loginRecords(): Promise<Record<string, unknown>[] | null> {
  return null;
}
