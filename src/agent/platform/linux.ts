/**
 * The Linux platform layer: live data from procfs and the device's own configuration files, never from
 * ps/ss/systemctl output. Configuration readers work under `options.sysroot` (a fixture tree in tests)
 * and report device paths.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { listConnections, streamConnections } from './linux/procfs-connections.js';
import { listProcesses, streamProcesses } from './linux/procfs-processes.js';
import { listDrivers } from './linux/kernel-modules.js';
import { listPersistence } from './linux/persistence.js';
import { listScheduledTasks } from './linux/scheduled-tasks.js';
import { listServices, type RuntimeLookup } from './linux/services.js';
import { listStartupItems } from './linux/startup-items.js';
import { Sysroot } from './linux/sysroot.js';
import * as response from './linux/response.js';
import { systemdRuntime } from './linux/systemd-runtime.js';
import { NotSupportedError, type PlatformLayer, type PlatformOptions } from './types.js';

/** Runtime unit states, only when we look at the live root of a machine booted with systemd. */
async function liveSystemd(root: Sysroot): Promise<RuntimeLookup | null> {
  if (!root.isRealRoot) return null;
  const booted = await fsp.stat('/run/systemd/system').then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!booted) return null;
  return systemdRuntime({ cgroupRoot: '/sys/fs/cgroup', unitsRoot: '/run/systemd/units' });
}

export function createLinuxPlatform(options: PlatformOptions): PlatformLayer {
  const procRoot = options.procRoot ?? '/proc';
  const root = new Sysroot(options.sysroot);
  return {
    name: 'linux',
    options: { ...options, procRoot },
    async listProcesses(signal) {
      return listProcesses(procRoot, await root.accounts(), signal);
    },
    async streamProcesses(sink, signal) {
      return streamProcesses(procRoot, await root.accounts(), sink, signal);
    },
    listConnections(signal) {
      return listConnections(procRoot, signal);
    },
    streamConnections(sink, signal) {
      return streamConnections(procRoot, sink, signal);
    },
    async listServices() {
      return listServices(root, await liveSystemd(root));
    },
    listDrivers(signal) {
      return listDrivers(procRoot, root, signal);
    },
    listScheduledTasks(signal) {
      return listScheduledTasks(root, signal);
    },
    listStartupItems(signal) {
      return listStartupItems(root, signal);
    },
    listPersistence(signal) {
      return listPersistence(root, signal);
    },
    async readRegistry() {
      throw new NotSupportedError('registry');
    },
    async bootId() {
      return (await fsp.readFile(path.join(procRoot, 'sys/kernel/random/boot_id'), 'utf8')).trim();
    },
    // response actions (remediate/undo, isolate/release, collect): see linux/response.ts
    hostPath: (p) => root.host(p),
    processImage: (pid) => response.processImage(procRoot, pid),
    stopProcess: (pid, o) => response.stopProcess(procRoot, pid, o),
    locateUnit: (name) => response.locateUnit(root, name),
    stopUnit: (name) => response.stopUnit(root, name),
    reloadUnits: () => response.reloadUnits(root),
    locateCronLine: (source, line) => response.locateCronLine(root, source, line),
    locateStartupItem: (target) => response.locateStartupItem(root, target),
    applyIsolation: (allow) => response.applyIsolation(allow),
    removeIsolation: (backend) => response.removeIsolation(backend),
    systemInfo: () => response.systemInfo(root, procRoot),
    collectionSources: () => response.collectionSources(root, procRoot),
    loginRecords: () => response.loginRecords(root),
  };
}
