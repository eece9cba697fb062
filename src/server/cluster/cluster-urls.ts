/**
 * The cluster's node URLs in this node's data folder: DATA/cluster-urls.json (its format is the core's,
 * cluster-files.ts) and the admin profile's `urls`, rewritten by a running node when the set changes.
 */
import { existsSync } from 'node:fs';
import { readJsonFile, writeSecretJson } from '../../node/files.js';
import { profileSchema } from '../../node/profile.js';
import { dataPaths } from '../config.js';

export { clusterUrlsOf, clusterUrlsPath, writeClusterUrls } from '../cluster-files.js';

/**
 * DATA/admin.profile.json (written by `init`, before the cluster existed) gets the cluster's URLs too, so
 * the admin's clients fail over like everyone's. Only its `urls` change; a profile that is not this node's
 * (another URL first) or that does not parse is left alone.
 */
export function refreshAdminProfileUrls(dataDir: string, urls: string[]): void {
  const file = dataPaths(dataDir).adminProfile;
  if (!existsSync(file)) return;
  let profile;
  try {
    profile = readJsonFile(file, profileSchema, 'admin profile');
  } catch {
    return;
  }
  if (profile.url !== urls[0]) return;
  const { urls: before, ...rest } = profile;
  const next = urls.length > 1 ? { ...rest, urls: urls.slice(0, 16) } : rest;
  if (JSON.stringify(before ?? []) === JSON.stringify(urls.length > 1 ? urls.slice(0, 16) : [])) return;
  writeSecretJson(file, next);
}
