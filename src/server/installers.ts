/**
 * Makes an installer ("enrollment in one line"): checks that the service holds an agent file for
 * the OS, then issues a one-time enrollment token with its normal expiry, builds the enrollment bundle as
 * `lr-server enroll-token` does, and the script text (installer-scripts.ts). Used by
 * `lr-server enroll-token --installer` (offline, on the data folder) and by POST /api/v1/installers/:os
 * (the workstation's "Add a device", admins only).
 */
import { readFileSync } from 'node:fs';
import type { Bundle } from '../node/profile.js';
import { agentFileName } from '../shared/wire/agent-release.js';
import { AgentFiles, targetsOfOs, type AgentFileInfo } from './agent-files.js';
import { clusterUrlsOf } from './cluster-files.js';
import { CommandSigner } from './command-signing.js';
import { dataPaths, loadConfig } from './config.js';
import { installerScript, type Installer, type InstallerOs } from './installer-scripts.js';
import type { Store } from './store.js';

export interface MadeInstaller extends Installer {
  os: InstallerOs;
  expiresAt: string;
  /** The agent files the script may download, with the SHA-256 it checks. */
  files: AgentFileInfo[];
}

export class NoAgentFileError extends Error {
  constructor(os: InstallerOs) {
    const targets = targetsOfOs(os);
    super(
      `the service has no agent file for ${os} yet (${targets.map(agentFileName).join(', ')}): add one with lr-server agent-files add FILE --target ${targets[0]} --data DIR`,
    );
    this.name = 'NoAgentFileError';
  }
}

export async function makeInstaller(
  dataDir: string,
  store: Store,
  os: InstallerOs,
  ttlMs: number,
  files = new AgentFiles(dataDir),
): Promise<MadeInstaller> {
  const present: AgentFileInfo[] = [];
  for (const t of targetsOfOs(os)) {
    const info = await files.info(t);
    if (info) present.push(info);
  }
  // Refused before a token exists: no unused token is left behind.
  if (present.length === 0) throw new NoAgentFileError(os);
  const config = loadConfig(dataDir);
  const ca = readFileSync(dataPaths(dataDir).caCert, 'utf8');
  const urls = clusterUrlsOf(dataDir, config.publicUrl);
  const t = store.createEnrollToken(ttlMs);
  const bundle: Bundle = {
    kind: 'lr-enrollment',
    url: config.publicUrl,
    ca,
    token: t.token,
    expiresAt: t.expiresAt,
    commandKey: CommandSigner.publicKeyOf(dataDir),
    ...(urls.length > 1 ? { urls } : {}),
  };
  const script = installerScript({
    os,
    serviceUrl: config.publicUrl,
    ca,
    bundleJson: JSON.stringify(bundle),
    token: t.token,
    expiresAt: t.expiresAt,
    files: present,
  });
  return { ...script, os, expiresAt: t.expiresAt, files: present };
}
