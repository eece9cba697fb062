/**
 * The marker file each live response program writes into its data folder (`.lr-data-folder`): the
 * service's (`lr-server init` and `start`), the agent's (`lr-agent enroll` and `start`) and the
 * workstation's app data folder. An agent on the same machine refuses to read, hash, collect, change or
 * write anything under a folder holding one (src/agent/protected-paths.ts), so a session cannot pull an
 * admin profile, a TLS or signing key, or another agent's private key off the device.
 */
import { lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DATA_MARKER = '.lr-data-folder';

export type DataFolderKind = 'service' | 'agent' | 'workstation';

function markerText(kind: DataFolderKind): string {
  return (
    JSON.stringify({
      kind: `lr-${kind}`,
      note: 'live response data folder: lr-agent never reads, hashes, collects, changes or writes anything under it',
    }) + '\n'
  );
}

/** Writes (or rewrites, when missing or different) the marker of a data folder that exists. */
export function writeDataMarker(dir: string, kind: DataFolderKind): void {
  const file = join(dir, DATA_MARKER);
  const text = markerText(kind);
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st?.isFile() && readFileSync(file, 'utf8') === text) return;
  // Renamed into place: a symlink or anything else under that name is replaced, never written through.
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}

/** The kind a marker's text names (`lr-service` -> 'service'); null for a text that is not a marker. */
export function markerKind(text: string): DataFolderKind | null {
  const m = /"kind"\s*:\s*"lr-(service|agent|workstation)"/.exec(text);
  return m ? (m[1] as DataFolderKind) : null;
}
