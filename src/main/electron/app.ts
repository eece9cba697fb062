/**
 * Electron app lifecycle: hardening, the lr-app: protocol, the services and their IPC, one window.
 * The only business here is wiring; the services know nothing about Electron.
 */
import path from 'node:path';
import { app, BrowserWindow, dialog } from 'electron';
import { DisposableStore } from '../../shared/lifecycle.js';
import { sqliteBindingOfThisProcess } from '../native-binding.js';
import { originOf } from '../ipc/trusted-sender.js';
import { chooseDataDir } from '../services/app-data.js';
import { createServices } from '../services/index.js';
import { APP_ORIGIN, registerAppScheme, serveRendererFiles } from './app-protocol.js';
import { registerIpc } from './ipc.js';
import { denyAllPermissions, hardenApp } from './security.js';
import { createMainWindow } from './window.js';

export interface ElectronAppPaths {
  /** out/main: the folder of the bundled main process. */
  outMainDir: string;
}

export function runElectronApp({ outMainDir }: ElectronAppPaths): void {
  hardenApp();
  registerAppScheme();

  // The dev server URL is honoured only in an unpackaged run: a packaged app never loads a page named by
  // its environment.
  const devServerUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
  const devOrigin = devServerUrl ? originOf(devServerUrl) : undefined;
  const appOrigin = devOrigin ?? APP_ORIGIN;
  const startUrl = devServerUrl ?? `${APP_ORIGIN}/index.html`;

  // What the app started, released in reverse order before it quits.
  const resources = new DisposableStore();
  void app.whenReady().then(() => {
    denyAllPermissions();
    serveRendererFiles(path.resolve(outMainDir, '../renderer'));

    const services = createServices({
      version: app.getVersion(),
      mode: 'electron',
      platform: process.platform,
      // The Electron-ABI better-sqlite3 (npm run electron:native; packaged: <resources>/native/electron).
      sqliteNativeBinding: sqliteBindingOfThisProcess({ isPackaged: app.isPackaged, appPath: app.getAppPath() }),
      // LR_DATA_DIR wins (tests), else Electron's userData folder.
      dataDir: chooseDataDir(process.env, app.getPath('userData')),
      pickExportFile: async (suggestedName) => {
        const window = BrowserWindow.getFocusedWindow();
        const options = { defaultPath: suggestedName, title: 'Export the command log' };
        const choice = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
        return choice.canceled ? undefined : choice.filePath;
      },
    });
    const ipc = registerIpc(services, appOrigin);
    // Brings up the connection (standalone: the embedded service and agent); the window shows "starting".
    void services.start();
    resources.defer(() => services.stop());
    // Quitting waits for the services to stop (the embedded service closes its database), then quits for real.
    let stopped = false;
    app.on('before-quit', (event) => {
      if (stopped) return;
      event.preventDefault();
      stopped = true;
      void resources
        .dispose()
        .catch(() => undefined)
        .finally(() => app.quit());
    });

    const openWindow = (): void => {
      const window = createMainWindow({
        preloadPath: path.resolve(outMainDir, '../preload/index.cjs'),
        startUrl,
        devTools: !app.isPackaged,
      });
      ipc.attach(window.webContents);
    };
    openWindow();

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
