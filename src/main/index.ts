/**
 * Electron main-process entry (out/main/index.js, package.json "main"). Everything Electron-specific
 * lives in ./electron; the services in ./services are shared with the browser shell (./browser-shell).
 */
import { runElectronApp } from './electron/app.js';
import { installCrashHandlers } from '../node/crash-handlers.js';

installCrashHandlers('lr-workstation');
runElectronApp({ outMainDir: import.meta.dirname });
