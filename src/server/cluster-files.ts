/**
 * The data folder's cluster files, which the core reads and writes without joining a cluster: `lr-server
 * init` makes DATA/cluster.key, installers and the offline `lr-server` commands read DATA/cluster-urls.json.
 * The cluster code (cluster/cluster-key.ts, cluster/cluster-urls.ts) uses them; the core never imports it.
 *
 * DATA/cluster-urls.json: the public URLs of the cluster's live nodes, as this node last saw them (written
 * by a running node when the set changes). `lr-server enroll-token` and `lr-server user add` run as
 * separate processes on the data folder; they read it to put every node into bundles and profiles, so
 * agents and analysts can fail over. On a single node the file does not exist and only publicUrl is used.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ensureRandomKeyFile } from '../node/files.js';

export function clusterKeyPath(dataDir: string): string {
  return join(dataDir, 'cluster.key');
}

/** Creates DATA/cluster.key when missing (32 random bytes, hex, mode 0600); answers whether it was created. */
export function ensureClusterKey(dataDir: string): boolean {
  return ensureRandomKeyFile(clusterKeyPath(dataDir));
}

const fileSchema = z.object({
  urls: z
    .array(
      z
        .string()
        .url()
        .regex(/^(wss|https):\/\//),
    )
    .max(16),
  updatedAt: z.string(),
});

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
  writeFileSync(tmp, JSON.stringify({ urls: urls.slice(0, 16), updatedAt: new Date().toISOString() }, null, 2) + '\n', {
    mode: 0o600,
  });
  renameSync(tmp, file);
}
