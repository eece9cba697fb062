/**
 * Electron main-process entry (out/main/index.js, package.json "main"). Everything Electron-specific
 * lives in ./electron; the services in ./services are shared with the browser shell (./browser-shell).
 */
import { runElectronApp } from './electron/app.js';

runElectronApp({ outMainDir: import.meta.dirname });
