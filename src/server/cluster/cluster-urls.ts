/**
 * DATA/cluster-urls.json: the public URLs of the cluster's live nodes, as this node last saw them (written
 * by a running node when the set changes). `lr-server enroll-token` and `lr-server user add` run as
 * separate processes on the data folder; they read it to put every node into bundles and profiles, so
 * agents and analysts can fail over. On a single node the file does not exist and only publicUrl is used.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeSecretJson } from '../../node/files.js';
import { profileSchema } from '../../node/profile.js';
import { dataPaths } from '../config.js';

const fileSchema = z.object({ urls: z.array(z.string().url().regex(/^(wss|https):\/\//)).max(16), updatedAt: z.string() });

export function clusterUrlsPath(dataDir: string): string {
  return join(dataDir, 'cluster-urls.json');
}

/** This node's URL first, then the other live nodes' (as last written), without duplicates. */
export function clusterUrlsOf(dataDir: string, publicUrl: string): string[] {
  const file = clusterUrlsPath(dataDir);
  let others: string[] = [];
  if (existsSync(file)) {
    try {
      others = fileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).urls;
    } catch {
      others = []; // a damaged file only costs the failover list, never the command
    }
  }
  return [...new Set([publicUrl, ...others])].slice(0, 16);
}

export function writeClusterUrls(dataDir: string, urls: string[]): void {
  const file = clusterUrlsPath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ urls: urls.slice(0, 16), updatedAt: new Date().toISOString() }, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

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
