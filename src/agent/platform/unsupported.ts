/**
 * Shared body of the platform layers that are not implemented yet: every capability answers
 * `<capability>: not supported on this platform`, never a made-up result.
 */
import os from 'node:os';
import type { Platform } from '../../shared/commands/catalog.js';
import { NotSupportedError, type PlatformLayer, type PlatformOptions } from './types.js';

function refuse(capability: string): Promise<never> {
  return Promise.reject(new NotSupportedError(capability));
}

/**
 * Boot identity without a native API: the boot time, to the minute (os.uptime() is whole seconds on
 * these systems, so the value is stable for a boot and changes at the next one).
 */
export function bootTimeId(): string {
  const bootMs = Date.now() - os.uptime() * 1000;
  return `boot-${new Date(Math.floor(bootMs / 60_000) * 60_000).toISOString()}`;
}

export function createUnsupportedPlatform(name: Platform, options: PlatformOptions): PlatformLayer {
  return {
    name,
    options,
    listProcesses: () => refuse('processes'),
    listConnections: () => refuse('connections'),
    streamConnections: () => refuse('connections'),
    listServices: () => refuse('services'),
    listDrivers: () => refuse('drivers'),
    listScheduledTasks: () => refuse('scheduledtasks'),
    listStartupItems: () => refuse('startupfolders'),
    listPersistence: () => refuse('persistence'),
    readRegistry: () => refuse('registry'),
    bootId: async () => bootTimeId(),
    hostPath: (p) => p,
    processImage: () => refuse('remediate process'),
    stopProcess: () => refuse('remediate process'),
    locateUnit: () => refuse('remediate service'),
    stopUnit: () => refuse('remediate service'),
    reloadUnits: () => refuse('remediate service'),
    locateCronLine: () => refuse('remediate scheduledtask'),
    locateStartupItem: () => refuse('remediate startupfolder'),
    applyIsolation: () => refuse('isolate'),
    removeIsolation: () => refuse('release'),
    systemInfo: () => refuse('collect'),
    collectionSources: () => refuse('collect'),
    loginRecords: () => refuse('collect'),
  };
}
