/**
 * What programs other than the running service do with its data folder: the offline commands of `lr-server`
 * (enroll-token, user …, agent-release …) and the workstation's embedded service. Each task opens the
 * database, does its work and closes it again, so a running service on the same folder is not disturbed
 * (SQLite's WAL lets both in); the service sees the change at its next poll.
 */
import { readFileSync } from 'node:fs';
import { readJsonFile, writeSecretFile, writeSecretJson } from '../node/files.js';
import { profileSchema } from '../node/profile.js';
import { AgentReleases } from './agent-releases.js';
import { clusterUrlsOf } from './cluster-files.js';
import { configSchema, dataPaths, loadConfig } from './config.js';
import { openDb } from './db.js';
import { GroupStore } from './groups.js';
import { Store } from './store.js';
import { UserAdmin } from './tokens.js';

/** The store of a data folder and the addresses written into the bundles and profiles made from it. */
export interface OpenDataFolder {
  /** Closed by the caller (store.close()). */
  store: Store;
  /** The service's public URL (config.json). */
  url: string;
  /** The service's CA certificate (PEM), pinned by agents and analysts. */
  ca: string;
  /** In a cluster, every node (this one first) so clients and agents fail over; else just `url`. */
  urls: string[];
}

export function openDataFolder(dir: string): OpenDataFolder {
  const config = loadConfig(dir);
  const p = dataPaths(dir);
  return {
    store: new Store(openDb(p.db)),
    url: config.publicUrl,
    ca: readFileSync(p.caCert, 'utf8'),
    urls: clusterUrlsOf(dir, config.publicUrl),
  };
}

/** Runs `task` on the users and API tokens of the data folder `dir` (`lr-server user list|revoke|token`). */
export function withUserAdmin<T>(dir: string, task: (admin: UserAdmin) => T): T {
  const db = openDb(dataPaths(dir).db);
  try {
    return task(new UserAdmin(db));
  } finally {
    db.close();
  }
}

/** Runs `task` on the agent releases and device groups of the data folder `dir` (`lr-server agent-release …`). */
export async function withAgentReleases<T>(
  dir: string,
  task: (releases: AgentReleases, groups: GroupStore) => T | Promise<T>,
): Promise<T> {
  const db = openDb(dataPaths(dir).db);
  try {
    return await task(new AgentReleases(db, dir), new GroupStore(db));
  } finally {
    db.close();
  }
}

/**
 * Points an existing data folder at a new address: config.json and the admin profile (the embedded service's port
 * changes at every run).
 */
export function setServiceAddress(dir: string, listen: string, publicUrl: string): void {
  const p = dataPaths(dir);
  const config = readJsonFile(p.config, configSchema, 'service config');
  writeSecretFile(p.config, JSON.stringify({ ...config, listen, publicUrl }, null, 2) + '\n');
  const profile = readJsonFile(p.adminProfile, profileSchema, 'admin profile');
  writeSecretJson(p.adminProfile, { ...profile, url: publicUrl });
}
