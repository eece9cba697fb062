/**
 * The platform layer: every OS-specific read lives behind this interface. Linux is implemented for real;
 * macOS and Windows answer `not supported on this platform` (NotSupportedError) where missing, never a
 * fake result.
 */
import type { Platform } from '../../shared/catalog.js';

export class NotSupportedError extends Error {
  constructor(what: string) {
    super(`${what}: not supported on this platform`);
    this.name = 'NotSupportedError';
  }
}

export interface PlatformOptions {
  /**
   * Root of the file system for the configuration readers (persistence, services, scheduledtasks,
   * startupfolders, drivers' module paths). `/` on a real device; a fixture tree in tests.
   * Paths in records are always device paths (without this prefix).
   */
  sysroot: string;
  /** Root of procfs (default /proc). */
  procRoot?: string;
}

export interface PlatformLayer {
  readonly name: Platform;
  readonly options: PlatformOptions;
  listProcesses(signal?: AbortSignal): Promise<ProcessInfo[]>;
  listConnections(signal?: AbortSignal): Promise<ConnectionInfo[]>;
  listServices(signal?: AbortSignal): Promise<ServiceInfo[]>;
  listDrivers(signal?: AbortSignal): Promise<DriverInfo[]>;
  listScheduledTasks(signal?: AbortSignal): Promise<ScheduledTaskInfo[]>;
  listStartupItems(signal?: AbortSignal): Promise<StartupItemInfo[]>;
  listPersistence(signal?: AbortSignal): Promise<PersistenceInfo[]>;
  readRegistry(key: string): Promise<Record<string, unknown>[]>;
  /** Kernel boot id (Linux: /proc/sys/kernel/random/boot_id), used to tell boots apart. */
  bootId(): Promise<string>;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  user: string;
  uid: number;
  state: string;
  startTime: string; // ISO 8601
  cmdline: string;
  path: string | null; // exe path; null when unreadable
  rssBytes: number;
  cpuTimeMs: number;
}

export interface ConnectionInfo {
  protocol: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string; // LISTEN, ESTABLISHED, ... (UDP: UNCONN or ESTABLISHED)
  pid: number | null;
  processName: string | null;
  inode: number;
  uid: number;
}

export interface ServiceInfo {
  name: string;
  kind: 'systemd' | 'sysv';
  state: string; // active/inactive/failed/unknown
  subState: string;
  enabled: string; // enabled/disabled/static/masked/unknown
  unitPath: string;
  execStart: string | null;
  description: string | null;
}

export interface DriverInfo {
  name: string;
  size: number;
  refCount: number;
  usedBy: string[];
  state: string;
  path: string | null;
  signer: string | null;
  taint: string | null;
}

export interface ScheduledTaskInfo {
  kind: 'cron' | 'systemd-timer' | 'at';
  source: string; // file path
  user: string | null;
  schedule: string;
  command: string;
  line: number | null; // line number in source (cron)
}

export interface StartupItemInfo {
  kind: 'xdg-autostart' | 'rc.local' | 'profile.d';
  path: string;
  name: string;
  exec: string | null;
  owner: string;
  mtime: string;
}

export interface PersistenceInfo {
  category: string; // cron, systemd, init, shell-rc, ld-preload, authorized_keys, udev, modules-load, xdg-autostart, ...
  path: string;
  owner: string;
  mode: string;
  mtime: string;
  size: number;
  sha256: string | null;
  detail: string | null;
}
