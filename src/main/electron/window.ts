/** The workstation window, with every web preference that matters pinned to its safe value. */
import { BrowserWindow } from 'electron';

export interface MainWindowOptions {
  /** Absolute path of out/preload/index.cjs (a single bundled CommonJS file, as sandboxing requires). */
  preloadPath: string;
  /** lr-app://workstation/index.html, or the dev server's URL during development. */
  startUrl: string;
  /** Allow DevTools (development only). */
  devTools: boolean;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 500,
    show: false,
    title: 'LR Workstation',
    backgroundColor: '#0e1116',
    autoHideMenuBar: true,
    webPreferences: {
      preload: options.preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: options.devTools,
    },
  });
  window.once('ready-to-show', () => window.show());
  // A failed load (ERR_ABORTED when a newer navigation replaced it, as in dev) leaves the window to show it;
  // it must not end the app through the crash handler.
  window.loadURL(options.startUrl).catch(() => undefined);
  return window;
}
