/** What the status line shows: build version, host mode and OS. */
import type { HostMode, IpcResponse } from '../../shared/workstation/ipc-contract.js';

export type AppInfo = IpcResponse<'lr:app.info'>;

export interface AppInfoService {
  info(): AppInfo;
}

export function createAppInfoService(host: { version: string; mode: HostMode; platform: string }): AppInfoService {
  const info: AppInfo = { version: host.version, mode: host.mode, platform: host.platform };
  return { info: () => ({ ...info }) };
}
