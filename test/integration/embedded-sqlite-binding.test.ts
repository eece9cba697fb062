// Inside Electron the embedded service's database must load the Electron-ABI better-sqlite3 that
// chooseSqliteBinding picks, like the case store does: with Node's own build the desktop app would fail at
// its first database. Under Node we cannot load an Electron-ABI file, so the "Electron build" here is a
// copy of Node's build at the place an unpackaged `electron .` looks for it: the copy is a distinct file,
// and /proc/self/maps tells whether this process loaded it.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sqliteBindingOfThisProcess } from '../../src/main/native-binding.js';
import { createServices, type Services } from '../../src/main/services/index.js';

const work = mkdtempSync(path.join(tmpdir(), 'lr-embedded-binding-'));
let services: Services | undefined;

function nodeBuildOfBetterSqlite3(): string {
  const pkg = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
  return path.join(path.dirname(pkg), 'build', 'Release', 'better_sqlite3.node');
}

function loadedByThisProcess(file: string): boolean {
  return readFileSync('/proc/self/maps', 'utf8').includes(file);
}

function servicesFor(appPath: string, dataDir: string): Services {
  return createServices({
    version: '0.0.0-test',
    mode: 'electron',
    platform: process.platform,
    dataDir,
    // What src/main/electron/app.ts passes in an unpackaged `electron .` run.
    sqliteNativeBinding: sqliteBindingOfThisProcess({ isPackaged: false, appPath }),
  });
}

describe.runIf(process.platform === 'linux')('the embedded service opens SQLite through the binding chooser', () => {
  beforeAll(() => {
    // As inside Electron (the chooser reads process.versions.electron).
    Object.defineProperty(process.versions, 'electron', { value: '45.3.4', configurable: true, enumerable: true });
  });

  afterEach(async () => {
    await services?.stop();
    services = undefined;
  });

  afterAll(() => {
    Reflect.deleteProperty(process.versions, 'electron');
    rmSync(work, { recursive: true, force: true });
  });

  it('loads the chosen build (the project folder’s resources/native/electron), not better-sqlite3’s own', async () => {
    const dataDir = path.join(work, 'data');
    // First run (the service's data folder is made) then a second one (the service only starts): each from
    // its own app folder, so each run's copy tells whether that run's database loaded it.
    for (const run of ['first-run', 'second-run']) {
      const appPath = path.join(work, run);
      const built = path.join(appPath, 'resources', 'native', 'electron', 'better_sqlite3.node');
      mkdirSync(path.dirname(built), { recursive: true });
      copyFileSync(nodeBuildOfBetterSqlite3(), built);

      services = servicesFor(appPath, dataDir);
      expect(loadedByThisProcess(built)).toBe(false);
      await services.start();
      expect(services.workspace.status()).toMatchObject({ state: 'ready', mode: 'standalone' });
      // The cases database opens only when a case is used: what loaded the file is the embedded service.
      expect(loadedByThisProcess(built), run).toBe(true);
      await services.stop();
      services = undefined;
    }
  });

  it('without the Electron build the service fails, naming the file, instead of loading Node’s build', async () => {
    const appPath = path.join(work, 'app-without-build');
    mkdirSync(appPath, { recursive: true });
    services = servicesFor(appPath, path.join(work, 'data-2'));
    await services.start();
    const status = services.workspace.status();
    expect(status.state).toBe('failed');
    expect(status.error).toBe(
      `the SQLite native module ${path.join(appPath, 'resources', 'native', 'electron', 'better_sqlite3.node')} is missing`,
    );
  });
});
