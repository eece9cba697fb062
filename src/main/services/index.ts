/**
 * The main-process services, independent of how they are hosted. Electron (src/main/electron) and the
 * browser shell (src/main/browser-shell) both build one `Services` object and expose it through the
 * validated IPC wrapper. Nothing here imports `electron`: hosts pass what they know through `HostInfo`.
 */
import path from 'node:path';
import { Logger } from '../../node/log.js';
import { DisposableStore } from '../../shared/lifecycle.js';
import type { HostMode } from '../../shared/workstation/ipc-contract.js';
import { createAppInfoService, type AppInfoService } from './app-info.js';
import { BatchService } from './batches.js';
import { CasesService } from './cases.js';
import { CommandLogService, type ExportTarget } from './command-log.js';
import { ConsoleService } from './consoles.js';
import { DeviceService } from './devices.js';
import { createEchoService, type EchoService } from './echo.js';
import { createEventHub, type EventHub } from './events.js';
import { LibraryPageService } from './library.js';
import { PreferencesService } from './preferences.js';
import { TenantSettingsService } from './tenant-settings.js';
import { InstallerService } from './installers.js';
import { Workspace } from './workspace.js';

export interface HostInfo {
  version: string;
  mode: HostMode;
  platform: string;
  /**
   * Path of the Electron-ABI better-sqlite3 binding (chooseSqliteBinding in ../native-binding.ts), undefined
   * under Node. Every database of this process opens with it: the case store's and the embedded service's.
   */
  sqliteNativeBinding?: string | undefined;
  /** The app data folder (see app-data.ts); without one the workspace never starts (IPC unit tests). */
  dataDir?: string | undefined;
  /** Configuration root of the embedded agent (tests); default '/'. */
  agentSysroot?: string | undefined;
  /** Electron: a save dialog for exports. Default: write into the app data folder's exports/. */
  pickExportFile?: ExportTarget | undefined;
}

export interface Services {
  readonly appInfo: AppInfoService;
  readonly echo: EchoService;
  readonly events: EventHub;
  readonly workspace: Workspace;
  readonly devices: DeviceService;
  readonly consoles: ConsoleService;
  readonly commandLog: CommandLogService;
  readonly library: LibraryPageService;
  readonly tenantSettings: TenantSettingsService;
  /** "Add a device": installer scripts made by the service (admins). */
  readonly installers: InstallerService;
  /** The analyst's display preferences (the time zone). */
  readonly preferences: PreferencesService;
  /** Cases, notes, transcripts and the evidence store: local, usable with no service. */
  readonly cases: CasesService;
  /** Batches (one command line over many devices): run, watch, export, and keep in the active case. */
  readonly batches: BatchService;
  /** Brings up the saved connection (standalone by default). Never throws: failures show in the status. */
  start(): Promise<void>;
  /** Closes the consoles, stops polling, stops the connection (embedded service and agent), closes the cases. */
  stop(): Promise<void>;
}

/**
 * The composition root of the main-process services. The order below is the start-up order; every resource
 * joins `resources` right after it is made, so stop() releases them in exactly the reverse order.
 */
export function createServices(host: HostInfo): Services {
  const resources = new DisposableStore();
  const events = createEventHub();
  const log = new Logger('lr-workstation');
  // The case store first, closed last: consoles and batches write commands and pulled files into it until
  // they have stopped.
  const cases = new CasesService({
    dir: host.dataDir ? path.join(host.dataDir, 'cases') : undefined,
    exportsDir: host.dataDir ? path.join(host.dataDir, 'exports') : undefined,
    events,
    log,
    nativeBinding: host.sqliteNativeBinding,
  });
  resources.defer(() => cases.close());
  // The connection (the embedded service and agent, or a remote profile): every service below uses it, so it
  // stops after them.
  const workspace = new Workspace({
    dataDir: host.dataDir,
    events,
    sysroot: host.agentSysroot,
    sqliteNativeBinding: host.sqliteNativeBinding,
    log,
  });
  resources.defer(() => workspace.stop());
  const devices = new DeviceService(workspace, events, log);
  resources.defer(() => devices.stopPolling());
  // Consoles record every command and every pulled file into the active case. They close first at shutdown,
  // saying why, while the connection is still up.
  const consoles = new ConsoleService(workspace, events, log, host.dataDir ? cases : undefined);
  resources.defer(() => consoles.closeAll('the workstation is shutting down'));
  return {
    appInfo: createAppInfoService(host),
    echo: createEchoService(),
    events,
    workspace,
    devices,
    consoles,
    commandLog: new CommandLogService(workspace, host.pickExportFile),
    library: new LibraryPageService(workspace, events),
    tenantSettings: new TenantSettingsService(workspace),
    installers: new InstallerService(workspace),
    preferences: new PreferencesService(host.dataDir, log),
    cases,
    batches: new BatchService(workspace, host.dataDir ? cases : undefined, log, host.pickExportFile),
    start: () => workspace.start(),
    stop: () => resources.dispose(),
  };
}
