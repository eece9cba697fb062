/**
 * The main-process services, independent of how they are hosted. Electron (src/main/electron) and the
 * browser shell (src/main/browser-shell) both build one `Services` object and expose it through the
 * validated IPC wrapper. Nothing here imports `electron`: hosts pass what they know through `HostInfo`.
 */
import type { HostMode } from '../../shared/ipc-contract.js';
import { createAppInfoService, type AppInfoService } from './app-info.js';
import { createEchoService, type EchoService } from './echo.js';
import { createEventHub, type EventHub } from './events.js';

export interface HostInfo {
  version: string;
  mode: HostMode;
  platform: string;
  /**
   * Path of the Electron-ABI better-sqlite3 binding (see ../native-binding.ts), undefined under Node.
   * Not used yet: the embedded service will pass it to `new Database(file, { nativeBinding })`.
   */
  sqliteNativeBinding?: string | undefined;
}

export interface Services {
  readonly appInfo: AppInfoService;
  readonly echo: EchoService;
  readonly events: EventHub;
  // Later: devices, sessions, consoles, log, library, cases (the embedded service's clients).
}

export function createServices(host: HostInfo): Services {
  return {
    appInfo: createAppInfoService(host),
    echo: createEchoService(),
    events: createEventHub(),
  };
}
