import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseSqliteBinding, SQLITE_BINDING_ENV } from '../../../src/main/native-binding.js';

describe('chooseSqliteBinding', () => {
  it('leaves better-sqlite3 to its own (Node ABI) build when not running in Electron', () => {
    expect(chooseSqliteBinding({ electronVersion: undefined, resourcesPath: '/opt/lr/resources', env: {} })).toBeUndefined();
    // Even with the override set: it names an Electron-ABI file, which Node cannot load.
    expect(chooseSqliteBinding({ electronVersion: undefined, resourcesPath: undefined, env: { [SQLITE_BINDING_ENV]: '/x.node' } })).toBeUndefined();
  });

  it('points at the Electron-ABI build in the resources folder when running in Electron', () => {
    expect(chooseSqliteBinding({ electronVersion: '45.3.4', resourcesPath: '/opt/lr/resources', env: {} })).toBe(
      path.join('/opt/lr/resources', 'native', 'electron', 'better_sqlite3.node'),
    );
  });

  it('prefers an explicit override in Electron (unpackaged development runs)', () => {
    expect(
      chooseSqliteBinding({ electronVersion: '45.3.4', resourcesPath: '/opt/lr/resources', env: { [SQLITE_BINDING_ENV]: '/dev/build/better_sqlite3.node' } }),
    ).toBe('/dev/build/better_sqlite3.node');
  });

  it('has nothing to offer in Electron without a resources path', () => {
    expect(chooseSqliteBinding({ electronVersion: '45.3.4', resourcesPath: undefined, env: {} })).toBeUndefined();
  });
});
