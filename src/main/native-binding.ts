/**
 * Which better-sqlite3 native module the workstation process loads: the one chooser behind every
 * `new Database` of that process (the case store's and the embedded service's; see services/index.ts).
 *
 * Tests and the Node programs (lr-server, lr, the browser shell) run under Node, the desktop app under
 * Electron, and the two have different native ABIs: rebuilding node_modules for one breaks the other. So
 * node_modules keeps the Node build, and `npm run electron:native` (scripts/electron-native.mjs) builds an
 * Electron-ABI better_sqlite3.node into resources/native/electron/ (outside node_modules). From there:
 * - Node: nothing to choose, better-sqlite3 loads its own build.
 * - The packaged app: electron-builder copied the folder to <resourcesPath>/native/electron/
 *   (electron-builder.yml, extraResources).
 * - An unpackaged `electron .` (npm start): <app folder>/resources/native/electron/, or the file named by
 *   LR_ELECTRON_SQLITE_BINDING. A packaged app ignores that variable: it never loads native code named by
 *   its environment (as it never loads a page named by ELECTRON_RENDERER_URL).
 */
import path from 'node:path';

/** Names an Electron-ABI better_sqlite3.node for an unpackaged run (a build of your own). */
export const SQLITE_BINDING_ENV = 'LR_ELECTRON_SQLITE_BINDING';

/** Where the Electron-ABI build lives, under the app folder (unpackaged) or the resources folder (packaged). */
export const ELECTRON_NATIVE_DIR = path.join('native', 'electron');
export const SQLITE_BINDING_FILE = 'better_sqlite3.node';

export interface SqliteBindingContext {
  /** `process.versions.electron`: set only inside Electron. */
  electronVersion: string | undefined;
  /** Electron's `app.isPackaged`. */
  isPackaged: boolean;
  /** `process.resourcesPath` inside Electron (in an unpackaged run: Electron's own, not ours). */
  resourcesPath: string | undefined;
  /** Electron's `app.getAppPath()`: the project folder in an unpackaged run. */
  appPath: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

/** Path to pass as better-sqlite3's `nativeBinding`, or undefined to let it load its own (Node) build. */
export function chooseSqliteBinding({
  electronVersion,
  isPackaged,
  resourcesPath,
  appPath,
  env,
}: SqliteBindingContext): string | undefined {
  if (!electronVersion) return undefined;
  if (isPackaged) {
    if (!resourcesPath) throw new Error('the packaged app has no resources folder: cannot find its SQLite module');
    return path.join(resourcesPath, ELECTRON_NATIVE_DIR, SQLITE_BINDING_FILE);
  }
  const override = env[SQLITE_BINDING_ENV];
  if (override) return path.resolve(override);
  if (!appPath) throw new Error('an unpackaged Electron run without an app folder: cannot find its SQLite module');
  return path.join(appPath, 'resources', ELECTRON_NATIVE_DIR, SQLITE_BINDING_FILE);
}

/** What Electron's `app` tells about this run (absent under Node). */
export interface ElectronAppFacts {
  isPackaged: boolean;
  appPath: string;
}

/** `chooseSqliteBinding` for this process: what the hosts (Electron, the browser shell) pass to createServices. */
export function sqliteBindingOfThisProcess(electronApp?: ElectronAppFacts): string | undefined {
  return chooseSqliteBinding({
    electronVersion: process.versions.electron,
    isPackaged: electronApp?.isPackaged ?? false,
    resourcesPath: (process as { resourcesPath?: string }).resourcesPath,
    appPath: electronApp?.appPath,
    env: process.env,
  });
}
