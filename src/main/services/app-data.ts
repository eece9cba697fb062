/**
 * The workstation's app data folder: the embedded service and agent, and what the analyst keeps locally.
 *
 *   service/     the embedded lr-server's data folder (standalone mode)
 *   agent/       the embedded agent's data folder (this machine)
 *   downloads/   getfile/collect downloads in progress (`.part`); once verified they move into cases/
 *   saved/       console output saved with `> name.txt`, until it moves into cases/
 *   cases/       the local cases database (cases.db) and the evidence store (evidence/<sha256>)
 *   exports/     command log exports (browser shell)
 *   uploads/     library uploads in transit from the renderer (removed once sent)
 *   workstation.json   which service to use (standalone or a profile file)
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { writeDataMarker } from '../../node/data-marker.js';

export const DATA_DIR_ENV = 'LR_DATA_DIR';

export interface AppDataPaths {
  root: string;
  service: string;
  agent: string;
  downloads: string;
  saved: string;
  exports: string;
  uploads: string;
  settings: string;
}

/** `$LR_DATA_DIR`, else the host's choice (Electron's userData), else ~/.local/share/lr-workstation. */
export function chooseDataDir(env: Readonly<Record<string, string | undefined>>, hostDefault?: string): string {
  const fromEnv = env[DATA_DIR_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  if (hostDefault) return path.resolve(hostDefault);
  const xdg = env.XDG_DATA_HOME;
  return path.join(xdg ? path.resolve(xdg) : path.join(homedir(), '.local', 'share'), 'lr-workstation');
}

export function appDataPaths(root: string): AppDataPaths {
  return {
    root,
    service: path.join(root, 'service'),
    agent: path.join(root, 'agent'),
    downloads: path.join(root, 'downloads'),
    saved: path.join(root, 'saved'),
    exports: path.join(root, 'exports'),
    uploads: path.join(root, 'uploads'),
    settings: path.join(root, 'workstation.json'),
  };
}

/**
 * Creates the folders that must exist (private to this user), and marks the app data folder: an agent on
 * this machine (the embedded one or any other) never reads, hashes, collects or changes anything in it
 * (cases, evidence, the embedded service's admin profile and keys).
 */
export function ensureAppData(paths: AppDataPaths): void {
  for (const dir of [paths.root, paths.downloads, paths.saved, paths.exports, paths.uploads])
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(paths.root, 0o700);
  writeDataMarker(paths.root, 'workstation');
}
