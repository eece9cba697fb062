/**
 * Creating a service data folder (what `lr-server init` does, and what the workstation's standalone mode
 * does on its first run): TLS CA and server certificate, config.json, the database with an admin user, and
 * DIR/admin.profile.json holding that admin's API token (0600, in a 0700 folder), and the data marker that
 * makes agents on this machine refuse to touch the folder (../node/data-marker.ts).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeDataMarker } from '../node/data-marker.js';
import { readJsonFile, writeSecretFile, writeSecretJson } from '../node/files.js';
import { profileSchema, type Profile } from '../node/profile.js';
import { configSchema, dataPaths, parseListen } from './config.js';
import { openDb } from './db.js';
import { Store } from './store.js';
import { createServerCertFromCa, createTlsMaterial } from './tls.js';
import { commandKeyPath, ensureCommandKey } from './command-signing.js';
import { ensureLogKey, logKeyPath } from './log-chain.js';
import { clusterKeyPath, ensureClusterKey } from './cluster-files.js';

export interface InitOptions {
  /** Data folder to create; must be missing or empty. */
  dir: string;
  /** HOST:PORT the service listens on. */
  listen: string;
  /** Address agents and analysts use (default: wss://LISTEN, with 0.0.0.0/:: replaced by 127.0.0.1). */
  publicUrl?: string | undefined;
  /** better-sqlite3 native module for the database (see db.ts): the workstation's embedded service only. */
  sqliteNativeBinding?: string | undefined;
}

export interface InitResult {
  dir: string;
  publicUrl: string;
  adminProfilePath: string;
  adminProfile: Profile;
}

/** Throws (one line) when `dir` already holds something: an existing service is never overwritten. */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.dir);
  const { host, port } = parseListen(options.listen);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(`${dir} is not empty: refusing to overwrite an existing service`);
  const publicUrl = options.publicUrl ?? defaultPublicUrl(host, port);
  const config = configSchema.parse({ listen: options.listen, publicUrl });
  makePrivateDataDir(dir);
  const p = dataPaths(dir);
  const tls = await createTlsMaterial([host, new URL(publicUrl).hostname.replace(/^\[|\]$/g, '')]);
  mkdirSync(resolve(dir, 'tls'), { recursive: true, mode: 0o700 });
  writeFileSync(p.caCert, tls.caCert, { mode: 0o644 });
  writeFileSync(p.cert, tls.cert, { mode: 0o644 });
  writeSecretFile(p.caKey, tls.caKey);
  writeSecretFile(p.key, tls.key);
  writeFileSync(p.config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  ensureCommandKey(dir); // Ed25519 key signing every command sent to agents (command-signing.ts)
  ensureLogKey(dir); // HMAC key of the command log's hash chain (log-chain.ts)
  ensureClusterKey(dir); // HMAC key of everything the nodes of a cluster share through NATS (cluster-key.ts)
  const store = new Store(openDb(p.db, { nativeBinding: options.sqliteNativeBinding }));
  let token: string;
  try {
    const admin = store.createUser('admin', 'admin', true);
    token = store.issueApiToken(admin.id);
  } finally {
    store.close();
  }
  const adminProfile: Profile = { kind: 'lr-profile', url: publicUrl, ca: tls.caCert, user: 'admin', token };
  writeSecretJson(p.adminProfile, adminProfile);
  return { dir, publicUrl, adminProfilePath: p.adminProfile, adminProfile };
}

/**
 * The data folder, private to the service's user (0700 even when it existed, empty, with a wider mode),
 * with its marker: agents on this machine never read, hash, collect or change anything in it.
 */
export function makePrivateDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeDataMarker(dir, 'service');
}

/** At every start: the folder 0700, the admin profile 0600, the marker present (older folders get them). */
export function keepDataDirPrivate(dir: string): void {
  chmodSync(dir, 0o700);
  const profile = dataPaths(dir).adminProfile;
  if (existsSync(profile)) chmodSync(profile, 0o600);
  writeDataMarker(dir, 'service');
}

export function defaultPublicUrl(host: string, port: number): string {
  const pubHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `wss://${pubHost.includes(':') ? `[${pubHost}]` : pubHost}:${port}`;
}

/**
 * A data folder for another node of a cluster: it shares the seed node's CA (and gets its own
 * server certificate signed by it), its command-signing key, its command log key and its cluster key (which
 * authenticates everything the nodes write to NATS), so agents, analysts and the log verifier see one
 * service. Its database starts empty: users, devices and settings come from
 * the cluster when the node starts with --nats. The seed's admin profile is copied with this node's URL.
 * The secrets are copied from folder to folder (same machine, or a folder the operator carried over); they
 * never travel over NATS.
 */
export async function initClusterNodeDir(
  options: InitOptions & { from: string },
): Promise<{ dir: string; publicUrl: string; adminProfilePath: string | null }> {
  const dir = resolve(options.dir);
  const seed = resolve(options.from);
  const { host, port } = parseListen(options.listen);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(`${dir} is not empty: refusing to overwrite an existing service`);
  const sp = dataPaths(seed);
  for (const f of [sp.caCert, sp.caKey, commandKeyPath(seed), logKeyPath(seed)]) {
    if (!existsSync(f)) throw new Error(`${seed} is not a service data folder (missing ${f})`);
  }
  // A seed folder made before the cluster key existed gets one now: the first node and its joiners share it.
  ensureClusterKey(seed);
  const publicUrl = options.publicUrl ?? defaultPublicUrl(host, port);
  const config = configSchema.parse({ listen: options.listen, publicUrl });
  makePrivateDataDir(dir);
  mkdirSync(resolve(dir, 'tls'), { recursive: true, mode: 0o700 });
  const p = dataPaths(dir);
  const caCert = readFileSync(sp.caCert, 'utf8');
  const server = await createServerCertFromCa(caCert, readFileSync(sp.caKey, 'utf8'), [
    host,
    new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''),
  ]);
  writeFileSync(p.caCert, caCert, { mode: 0o644 });
  copyFileSync(sp.caKey, p.caKey);
  writeFileSync(p.cert, server.cert, { mode: 0o644 });
  writeSecretFile(p.key, server.key);
  copyFileSync(commandKeyPath(seed), commandKeyPath(dir));
  copyFileSync(logKeyPath(seed), logKeyPath(dir));
  copyFileSync(clusterKeyPath(seed), clusterKeyPath(dir));
  writeFileSync(p.config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  openDb(p.db).close(); // the schema, no rows: the cluster's state arrives at start
  // Marks a joining node: it never seeds the cluster's shared state with its (empty) database.
  writeFileSync(joinedMarkerPath(dir), `${seed}\n`, { mode: 0o600 });
  let adminProfilePath: string | null = null;
  if (existsSync(sp.adminProfile)) {
    const seedProfile = readJsonFile(sp.adminProfile, profileSchema, 'admin profile');
    writeSecretJson(p.adminProfile, { ...seedProfile, url: publicUrl } satisfies Profile);
    adminProfilePath = p.adminProfile;
  }
  return { dir, publicUrl, adminProfilePath };
}

/** DATA/cluster-joined: present in a node made with `init --cluster-from` (holds the seed folder's path). */
export function joinedMarkerPath(dataDir: string): string {
  return resolve(dataDir, 'cluster-joined');
}
