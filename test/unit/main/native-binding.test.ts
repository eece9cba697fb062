import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chooseSqliteBinding,
  SQLITE_BINDING_ENV,
  type SqliteBindingContext,
} from '../../../src/main/native-binding.js';

const NODE: SqliteBindingContext = {
  electronVersion: undefined,
  isPackaged: false,
  resourcesPath: undefined,
  appPath: undefined,
  env: {},
};
const PACKAGED: SqliteBindingContext = {
  electronVersion: '45.3.4',
  isPackaged: true,
  resourcesPath: '/opt/LR Workstation/resources',
  appPath: '/opt/LR Workstation/resources/app.asar',
  env: {},
};
// `electron .` in the project folder: process.resourcesPath is Electron's own, inside node_modules.
const UNPACKAGED: SqliteBindingContext = {
  electronVersion: '45.3.4',
  isPackaged: false,
  resourcesPath: '/src/lr/node_modules/electron/dist/resources',
  appPath: '/src/lr',
  env: {},
};

describe('chooseSqliteBinding', () => {
  it('Node: leaves better-sqlite3 to its own (Node ABI) build, whatever the environment says', () => {
    expect(chooseSqliteBinding(NODE)).toBeUndefined();
    // The override names an Electron-ABI file, which Node cannot load.
    expect(
      chooseSqliteBinding({ ...NODE, resourcesPath: '/opt/lr/resources', env: { [SQLITE_BINDING_ENV]: '/x.node' } }),
    ).toBeUndefined();
  });

  it('the packaged app: the build electron-builder copied into its resources folder', () => {
    expect(chooseSqliteBinding(PACKAGED)).toBe(
      path.join('/opt/LR Workstation/resources', 'native', 'electron', 'better_sqlite3.node'),
    );
  });

  it('the packaged app never loads a module named by its environment', () => {
    expect(chooseSqliteBinding({ ...PACKAGED, env: { [SQLITE_BINDING_ENV]: '/tmp/evil.node' } })).toBe(
      path.join('/opt/LR Workstation/resources', 'native', 'electron', 'better_sqlite3.node'),
    );
  });

  it('an unpackaged `electron .`: the build of npm run electron:native in the project folder, not under Electron’s resources', () => {
    expect(chooseSqliteBinding(UNPACKAGED)).toBe(
      path.join('/src/lr', 'resources', 'native', 'electron', 'better_sqlite3.node'),
    );
  });

  it('an unpackaged run honours LR_ELECTRON_SQLITE_BINDING (a build of your own), made absolute', () => {
    expect(
      chooseSqliteBinding({ ...UNPACKAGED, env: { [SQLITE_BINDING_ENV]: '/dev/build/better_sqlite3.node' } }),
    ).toBe('/dev/build/better_sqlite3.node');
    expect(chooseSqliteBinding({ ...UNPACKAGED, env: { [SQLITE_BINDING_ENV]: 'b/better_sqlite3.node' } })).toBe(
      path.resolve('b/better_sqlite3.node'),
    );
  });

  it('says so in one line rather than loading the Node build in Electron', () => {
    expect(() => chooseSqliteBinding({ ...PACKAGED, resourcesPath: undefined })).toThrow(
      /^the packaged app has no resources folder/,
    );
    expect(() => chooseSqliteBinding({ ...UNPACKAGED, appPath: undefined })).toThrow(
      /^an unpackaged Electron run without an app folder/,
    );
  });
});
