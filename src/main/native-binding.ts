/**
 * Which better-sqlite3 native binding to load.
 *
 * Tests and the Node programs run under Node, the packaged app under Electron, and the two have different
 * native ABIs: rebuilding node_modules for one breaks the other. So node_modules keeps the Node build, and
 * an Electron-ABI build of better_sqlite3.node is made separately (at packaging time, on a machine that can
 * fetch Electron's headers) into resources/native/electron/, which electron-builder copies to
 * <resourcesPath>/native/electron/ (see electron-builder.yml, extraResources). better-sqlite3 accepts that
 * file through its `nativeBinding` option; we pass it only when running inside Electron.
 */
import path from 'node:path';

/** Overrides the Electron-ABI binding path, e.g. for an unpackaged `electron .` run during development. */
export const SQLITE_BINDING_ENV = 'LR_ELECTRON_SQLITE_BINDING';

export interface SqliteBindingContext {
  /** `process.versions.electron`: set only inside Electron. */
  electronVersion: string | undefined;
  /** `process.resourcesPath` inside Electron. */
  resourcesPath: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

/** Path to pass as better-sqlite3's `nativeBinding`, or undefined to let it load its own (Node) build. */
export function chooseSqliteBinding({ electronVersion, resourcesPath, env }: SqliteBindingContext): string | undefined {
  if (!electronVersion) return undefined;
  const override = env[SQLITE_BINDING_ENV];
  if (override) return override;
  if (!resourcesPath) return undefined;
  return path.join(resourcesPath, 'native', 'electron', 'better_sqlite3.node');
}
