/**
 * User profile folders (`C:\Users\<name>`), from the profiles folder itself: the folders under it, less the
 * junctions Windows keeps for old software (`All Users`, `Default User`) which would list a folder twice.
 * `Default` is kept: it is the template new profiles are copied from.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export interface UserProfile {
  /** The profile folder's name (the account's name, as Windows named the folder). */
  user: string;
  dir: string;
}

/** `C:\Users`: the parent of the Public profile, else `<SystemDrive>\Users`. */
export function profilesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PUBLIC) return path.dirname(env.PUBLIC);
  return path.join(`${env.SystemDrive ?? env.SYSTEMDRIVE ?? 'C:'}\\`, 'Users');
}

export async function userProfiles(dir: string): Promise<UserProfile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.isSymbolicLink())
    .map((entry) => ({ user: entry.name, dir: path.join(dir, entry.name) }))
    .sort((a, b) => a.user.localeCompare(b.user));
}
