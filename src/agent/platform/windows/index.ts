/**
 * The Windows platform layer: live data from the Win32 API (through koffi, see ffi.ts) and from the files
 * Windows itself stores (the task store's XML, Startup folders' shell links), never from the output of
 * Windows tools. The Linux-shaped locators of the response platform (systemd units, cron lines, XDG
 * startup items) answer `not supported on this platform`: Windows remediation has its own code
 * (commands/support/remediate-windows*.ts).
 */
import { bootTimeId, createUnsupportedPlatform } from '../unsupported.js';
import type { PlatformLayer, PlatformOptions } from '../types.js';
import { collectionSources, loginRecords, systemInfo } from './collection.js';
import { listConnections, streamConnections } from './connections.js';
import { applyIsolation, removeIsolation } from './isolation.js';
import { processImage, stopProcess } from './response-process.js';
import { listDrivers } from './drivers.js';
import { listPersistence } from './persistence.js';
import { listProcesses } from './processes.js';
import { readRegistry } from './registry.js';
import { listScheduledTasks } from './scheduled-tasks.js';
import { listServices } from './services.js';
import { listStartupItems } from './startup-items.js';

export function createWindowsPlatform(options: PlatformOptions): PlatformLayer {
  const refusals = createUnsupportedPlatform('win32', options);
  return {
    ...refusals,
    name: 'win32',
    options,
    listProcesses: (signal) => listProcesses(signal),
    listConnections: (signal) => listConnections(signal),
    streamConnections: (sink, signal) => streamConnections(sink, signal),
    listServices: (signal) => listServices(signal),
    listDrivers: (signal) => listDrivers(signal),
    listScheduledTasks: (signal) => listScheduledTasks(signal),
    listStartupItems: (signal) => listStartupItems(signal),
    listPersistence: (signal) => listPersistence(signal),
    readRegistry: (key, signal) => readRegistry(key, signal),
    bootId: async () => bootTimeId(),
    // response actions: remediate process (response-process.ts), isolate/release (isolation.ts), collect
    // (collection.ts); services, tasks, registry values and files are remediated in
    // commands/support/remediate-windows-*.ts. The Linux-shaped locators (units, cron lines) stay refused.
    processImage: (pid) => processImage(pid),
    stopProcess: (pid, o) => stopProcess(pid, o),
    applyIsolation: (allow) => applyIsolation(allow),
    removeIsolation: (backend) => removeIsolation(backend),
    systemInfo: () => systemInfo(),
    collectionSources: () => collectionSources(),
    loginRecords: () => loginRecords(),
  };
}
