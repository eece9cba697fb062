/**
 * The platform layer: every OS-specific read lives behind this interface. Linux is implemented for real;
 * macOS and Windows answer `not supported on this platform` (NotSupportedError) where missing, never a
 * fake result.
 */
import type { Platform } from '../../shared/commands/catalog.js';

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

export interface PlatformLayer extends ResponsePlatform {
  readonly name: Platform;
  readonly options: PlatformOptions;
  listProcesses(signal?: AbortSignal): Promise<ProcessInfo[]>;
  /**
   * The processes of listProcesses handed to `sink` a slice at a time as they are read (awaited:
   * backpressure). Optional: a layer without it is asked for the whole list.
   */
  streamProcesses?(sink: (rows: ProcessInfo[]) => Promise<void>, signal?: AbortSignal): Promise<void>;
  listConnections(signal?: AbortSignal): Promise<ConnectionInfo[]>;
  /**
   * The sockets of listConnections handed to `sink` a few hundred at a time as they are read (awaited:
   * backpressure), so that the first rows can leave before the last table is read.
   */
  streamConnections(sink: (rows: ConnectionInfo[]) => Promise<void>, signal?: AbortSignal): Promise<void>;
  listServices(signal?: AbortSignal): Promise<ServiceInfo[]>;
  listDrivers(signal?: AbortSignal): Promise<DriverInfo[]>;
  listScheduledTasks(signal?: AbortSignal): Promise<ScheduledTaskInfo[]>;
  listStartupItems(signal?: AbortSignal): Promise<StartupItemInfo[]>;
  listPersistence(signal?: AbortSignal): Promise<PersistenceInfo[]>;
  readRegistry(key: string, signal?: AbortSignal): Promise<Record<string, unknown>[]>;
  /** Kernel boot id (Linux: /proc/sys/kernel/random/boot_id), used to tell boots apart. */
  bootId(): Promise<string>;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  /**
   * Linux: the account of the real uid; Windows: the token owner `DOMAIN\\name`, null when the process cannot be
   * opened.
   */
  user: string | null;
  /** Linux uid; null on Windows. */
  uid: number | null;
  state: string;
  /** Windows: the process's session id; null on Linux. */
  sessionId?: number | null;
  // The fields below are null on Windows for a process the agent may not open (it is listed all the same).
  startTime: string | null; // ISO 8601
  cmdline: string | null;
  path: string | null; // exe path; null when unreadable
  rssBytes: number | null;
  cpuTimeMs: number | null;
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
  /** Linux socket inode; null on Windows. */
  inode: number | null;
  /** Linux owner uid; null on Windows. */
  uid: number | null;
}

export interface ServiceInfo {
  name: string;
  kind: 'systemd' | 'sysv' | 'windows';
  state: string; // active/inactive/failed/unknown (Windows: running/stopped/start_pending/...)
  subState: string; // Windows: the service type (own_process, share_process, kernel_driver, ...)
  // enabled/disabled/static/masked/unknown (Windows: the start type auto/delayed-auto/demand/disabled/boot/system)
  enabled: string;
  unitPath: string; // Windows: the service's registry key (HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>)
  execStart: string | null; // Windows: the binary path (ImagePath) as configured
  description: string | null; // Windows: the display name
  /** Windows: the account it runs as (LocalSystem, NT AUTHORITY\\LocalService, ...); absent on Linux. */
  account?: string | null;
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
  kind: 'cron' | 'systemd-timer' | 'at' | 'windows-task';
  source: string; // file path (Windows: the task's XML file under System32\\Tasks)
  user: string | null; // Windows: the principal's UserId (or the author when no principal)
  schedule: string; // Windows: the triggers, summarised
  command: string; // Windows: the Exec actions, command + arguments
  line: number | null; // line number in source (cron)
  /** Windows: the task path (`\\Microsoft\\Windows\\...\\Name`); absent on Linux. */
  name?: string;
  /** Windows: whether the task is enabled (Settings/Enabled); absent on Linux. */
  enabled?: boolean;
  /** Windows: RegistrationInfo/Author; absent on Linux. */
  author?: string | null;
  /** Windows: why the task file could not be read or parsed (the task is listed all the same); absent otherwise. */
  error?: string;
}

export interface StartupItemInfo {
  kind: 'xdg-autostart' | 'rc.local' | 'profile.d' | 'startup-folder';
  path: string;
  name: string;
  exec: string | null; // Windows: the target of a .lnk with its arguments; the file itself otherwise
  owner: string; // Windows: the user whose Startup folder holds it, or `All Users`
  mtime: string;
  /** Windows: why the item (a broken .lnk, an unreadable folder) could not be read; absent otherwise. */
  error?: string;
}

export interface PersistenceInfo {
  // cron, systemd, init, shell-rc, ld-preload, authorized_keys, udev, modules-load, xdg-autostart, ...
  category: string;
  path: string;
  owner: string;
  mode: string | null; // null on Windows (no Unix mode)
  mtime: string | null; // null on Windows when the launched file does not exist
  size: number | null;
  sha256: string | null;
  detail: string | null;
}

// ---------- response actions (remediate/undo, isolate/release, collect) ----------

/** What stopping a process did. */
export interface StopResult {
  /** Pids that were signalled and are gone. */
  stopped: number[];
  /** Pids still alive after SIGKILL (not ours to kill, or stuck in the kernel). */
  survivors: number[];
  /** Whether SIGKILL was needed (the grace after SIGTERM ran out). */
  killed: boolean;
}

/** A unit file (service or timer) and the symlinks that enable or alias it. Device paths. */
export interface UnitLocation {
  name: string;
  path: string;
  links: Array<{ path: string; target: string }>;
}

/** One peer the isolation lets through (the live response service). */
export interface IsolationPeer {
  address: string;
  port: number;
}

export type IsolationBackend = 'nftables' | 'iptables' | 'windows-firewall';

/** A file the investigation package copies (device path), whole or its last `tailBytes`. */
export interface CollectionSource {
  /** Member name in the package (forward slashes). */
  member: string;
  path: string;
  tailBytes?: number;
}

export interface ResponsePlatform {
  /** Host path of a device configuration path (under the sysroot). */
  hostPath(devicePath: string): string;
  /** Executable image of a running process (device path), or null when unreadable or gone. */
  processImage(pid: number): Promise<string | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; the whole tree (descendants) when `tree`. */
  stopProcess(pid: number, opts: { tree: boolean; graceMs?: number }): Promise<StopResult>;
  /** A service or timer unit file by name (`x`, `x.service`, `x.timer`) or device path, with its enablement links. */
  locateUnit(name: string): Promise<UnitLocation | null>;
  /** Stops a unit when the service manager runs on this root; says what was done (or why not). */
  stopUnit(name: string): Promise<string>;
  /** Makes the service manager re-read unit files (no-op without a live one). */
  reloadUnits(): Promise<void>;
  /** The crontab line `line` of `source` (device path), when it is a cron entry. */
  locateCronLine(source: string, line: number): Promise<{ path: string; line: number; text: string } | null>;
  /** A startup item (XDG autostart entry, profile.d item, rc.local) by device path or name. */
  locateStartupItem(target: string): Promise<string | null>;
  /** Drops all traffic except loopback and the given peers (TCP); replaces an earlier isolation. */
  applyIsolation(allow: readonly IsolationPeer[]): Promise<IsolationBackend>;
  /** Removes the isolation rules. */
  removeIsolation(backend: IsolationBackend): Promise<void>;
  /** uname, os-release, uptime, host name, boot id. */
  systemInfo(): Promise<Record<string, unknown>>;
  /** Files of the investigation package: accounts, logs, shell histories, packages, network config. */
  collectionSources(): Promise<{ sources: CollectionSource[]; notes: string[] }>;
  /** Login records (wtmp), or null with no login database. */
  loginRecords(): Promise<Record<string, unknown>[] | null>;
}
