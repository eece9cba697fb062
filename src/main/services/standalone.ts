/**
 * Standalone mode (the first-run default): an embedded lr-server on 127.0.0.1 and an embedded agent for
 * this machine, both in this process, and the admin profile to sign in with.
 *
 * First run: `initDataDir` makes the service's data folder under the app data folder, and the agent is
 * enrolled with a one-time token from the service's own store. Later runs reuse both. The port is chosen
 * free at every start (the service's certificate names the host, not the port), and the files that carry
 * the address (config.json, admin.profile.json, the agent's agent.json) are brought up to date first.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { agentPaths, enroll, pointAgentAt, startAgent, type RunningAgent } from '../../agent/index.js';
import { readJsonFile, writeSecretJson } from '../../node/files.js';
import { Logger } from '../../node/log.js';
import { profileSchema, type Bundle, type Profile } from '../../node/profile.js';
import { DisposableStore } from '../../shared/lifecycle.js';
import {
  CommandSigner,
  dataPaths,
  defaultPublicUrl,
  initDataDir,
  setServiceAddress,
  startService,
  type RunningService,
} from '../../server/index.js';
import type { AppDataPaths } from './app-data.js';

export const EMBEDDED_HOST = '127.0.0.1';

export interface Standalone {
  readonly profile: Profile;
  readonly service: RunningService;
  readonly agent: RunningAgent;
  /** The embedded agent's device id (this machine). */
  readonly deviceId: string;
  stop(): Promise<void>;
}

export interface StandaloneOptions {
  paths: AppDataPaths;
  /** Device name of this machine (default: host name). */
  deviceName?: string;
  /** Root for the agent's configuration readers (default '/'). */
  sysroot?: string;
  /** better-sqlite3 native module for the embedded service's database (see ../native-binding.ts). */
  sqliteNativeBinding?: string | undefined;
  log?: Logger;
}

/**
 * Starts the embedded service, then the agent (it enrolls with, and connects to, that service). Each joins
 * one DisposableStore as it is started, so stop() ends the agent first, then the service, and a failure
 * half-way stops what had started.
 */
export async function startStandalone(options: StandaloneOptions): Promise<Standalone> {
  const { paths } = options;
  const log = options.log ?? new Logger('lr-workstation');
  const port = await freeLoopbackPort();
  const listen = `${EMBEDDED_HOST}:${port}`;
  const publicUrl = defaultPublicUrl(EMBEDDED_HOST, port);
  const servicePaths = dataPaths(paths.service);

  // The data folder carries this run's address before the service reads it.
  if (!existsSync(servicePaths.config)) {
    // A half-made folder from an interrupted first run would make init refuse: start it over.
    rmSync(paths.service, { recursive: true, force: true });
    await initDataDir({ dir: paths.service, listen, publicUrl, sqliteNativeBinding: options.sqliteNativeBinding });
    log.info('standalone: service data folder created', { dir: paths.service });
  } else {
    setServiceAddress(paths.service, listen, publicUrl);
  }
  const profile = readJsonFile(servicePaths.adminProfile, profileSchema, 'admin profile');
  const resources = new DisposableStore();
  const service = await startService(paths.service, new Logger('lr-server (embedded)'), {
    sqliteNativeBinding: options.sqliteNativeBinding,
  });
  resources.defer(() => service.close());

  let agent: RunningAgent;
  try {
    const agentState = agentPaths(paths.agent).state;
    if (existsSync(agentState) && !pointAgentAt(paths.agent, publicUrl)) {
      // Enrolled before the service signed its commands: without the pinned key every command would be
      // refused. The embedded agent is ours to re-enroll (this machine shows up once more, the old entry
      // stays offline).
      log.warn('standalone: re-enrolling the embedded agent (no command-signing key pinned)');
      rmSync(paths.agent, { recursive: true, force: true });
    }
    // Enrolling needs the running service (a one-time token from its store, then the HTTPS enrollment).
    if (!existsSync(agentState))
      await enrollEmbeddedAgent(paths, service, publicUrl, options.deviceName ?? defaultDeviceName());
    agent = await startAgent({
      dataDir: paths.agent,
      sysroot: options.sysroot ?? '/',
      log: new Logger('lr-agent (embedded)'),
    });
    resources.defer(() => agent.stop());
  } catch (e) {
    await resources.dispose();
    throw e;
  }
  return {
    profile,
    service,
    agent,
    deviceId: agent.state.deviceId,
    // Each step's failure is ignored: the next one still runs.
    stop: () => resources.dispose().catch(() => undefined),
  };
}

function defaultDeviceName(): string {
  // The agent CLI accepts letters, digits, . _ - and spaces; a host name normally is just that.
  const name = hostname()
    .replace(/[^\p{L}\p{N}._ -]/gu, '-')
    .slice(0, 128);
  return name || 'this-machine';
}

async function enrollEmbeddedAgent(
  paths: AppDataPaths,
  service: RunningService,
  url: string,
  name: string,
): Promise<void> {
  const token = service.store.createEnrollToken(10 * 60_000);
  const bundle: Bundle = {
    kind: 'lr-enrollment',
    url,
    ca: readFileSync(dataPaths(paths.service).caCert, 'utf8'),
    token: token.token,
    expiresAt: token.expiresAt,
    commandKey: CommandSigner.publicKeyOf(paths.service),
  };
  const bundlePath = path.join(paths.root, 'embedded-agent.bundle.json');
  writeSecretJson(bundlePath, bundle);
  try {
    await enroll(bundlePath, paths.agent, name);
  } finally {
    rmSync(bundlePath, { force: true });
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, EMBEDDED_HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
