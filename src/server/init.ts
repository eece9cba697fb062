/**
 * Creating a service data folder (what `lr-server init` does, and what the workstation's standalone mode
 * does on its first run): TLS CA and server certificate, config.json, the database with an admin user, and
 * DIR/admin.profile.json holding that admin's API token.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeSecretFile, writeSecretJson } from '../node/files.js';
import type { Profile } from '../node/profile.js';
import { configSchema, dataPaths, parseListen } from './config.js';
import { openDb } from './db.js';
import { Store } from './store.js';
import { createTlsMaterial } from './tls.js';
import { ensureCommandKey } from './command-signing.js';
import { ensureLogKey } from './log-chain.js';

export interface InitOptions {
  /** Data folder to create; must be missing or empty. */
  dir: string;
  /** HOST:PORT the service listens on. */
  listen: string;
  /** Address agents and analysts use (default: wss://LISTEN, with 0.0.0.0/:: replaced by 127.0.0.1). */
  publicUrl?: string | undefined;
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
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: refusing to overwrite an existing service`);
  const publicUrl = options.publicUrl ?? defaultPublicUrl(host, port);
  const config = configSchema.parse({ listen: options.listen, publicUrl });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
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
  const store = new Store(openDb(p.db));
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

export function defaultPublicUrl(host: string, port: number): string {
  const pubHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `wss://${pubHost.includes(':') ? `[${pubHost}]` : pubHost}:${port}`;
}
