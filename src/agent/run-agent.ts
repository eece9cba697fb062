/**
 * Starting an enrolled agent: its folders, the platform layer, the job runner and the link to the service.
 * `lr-agent start` runs it as a process; the workstation's standalone mode runs it in-process for this
 * machine.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeDataMarker } from '../node/data-marker.js';
import { Logger } from '../node/log.js';
import { DisposableStore } from '../shared/lifecycle.js';
import { AGENT_COMMANDS } from './commands/index.js';
import { agentPaths, loadAgentState, type AgentState } from './config.js';
import { JobRunner } from './jobs.js';
import { CommandVerifier } from './command-verifier.js';
import { CurrentNode, runAgentLink } from './link.js';
import type { ServiceEndpoint } from './command.js';
import { serviceUrls } from '../node/profile.js';
import { agentFileProofPayload } from '../shared/wire/protocol.js';
import { createPlatform } from './platform/index.js';
import { cleanWorkFolder } from './work-folder.js';
import { isIsolated, reapplyIsolation } from './isolation.js';
import { protectedPaths } from './protected-paths.js';
import { AgentUpdater, type SupervisorMessage } from './update/updater.js';
import { SUPERVISED_ENV, UPDATE_EXIT_CODE } from './update/layout.js';
import { whenIdle } from './update/when-idle.js';

export interface StartAgentOptions {
  /** The agent's data folder (enrolled: holds agent.json). */
  dataDir: string;
  /** Root of the file system for configuration readers ('/' on a real device; tests use a fixture tree). */
  sysroot?: string;
  log?: Logger;
}

export interface RunningAgent {
  readonly state: AgentState;
  /** Whether the link to the service is up. */
  connected(): boolean;
  /** The service node the link is connected to now (null while offline). */
  currentUrl(): string | null;
  stop(): Promise<void>;
}

/**
 * The agent's composition root. The order matters where commented; everything that must be released joins
 * `resources` right after it is made, and stop() releases it in reverse.
 */
export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const dir = resolve(options.dataDir);
  const state = loadAgentState(dir);
  const paths = agentPaths(dir);
  mkdirSync(paths.work, { recursive: true, mode: 0o700 });
  mkdirSync(paths.quarantine, { recursive: true, mode: 0o700 });
  // No command reads, hashes, collects or changes anything in this folder (protected-paths.ts); the
  // marker tells other agents on this machine the same.
  writeDataMarker(dir, 'agent');
  protectedPaths.addAgentDataDir(dir);
  const log = options.log ?? new Logger('lr-agent');
  const resources = new DisposableStore();
  const platform = createPlatform({ sysroot: resolve(options.sysroot ?? '/') });
  // Before any command runs: putfile without -keep: files put during an earlier boot go now.
  await platform
    .bootId()
    .then((bootId) => cleanWorkFolder(paths.work, bootId))
    .catch((e: Error) => log.warn('working folder cleanup skipped', { error: e.message }));
  await reapplyIsolation(dir, platform, log); // an isolated device stays isolated across agent restarts
  // Which node the link is on: the link (made last, it serves the runner) writes it, commands read it when they run.
  const node = new CurrentNode();
  const deviceKey = createPrivateKey(state.privateKey);
  const service: ServiceEndpoint = {
    url: state.url,
    urls: serviceUrls(state),
    ca: state.ca,
    deviceId: state.deviceId,
    currentUrl: () => node.url,
    proveDownload: (token) =>
      sign(null, Buffer.from(agentFileProofPayload(token, state.deviceId)), deviceKey).toString('base64'),
  };
  // Every job must carry the service's signature (key pinned at enrollment); see command-verifier.ts.
  if (!state.commandKey)
    log.warn('no command-signing key is pinned: every command will be refused until the agent is enrolled again');
  const verifier = new CommandVerifier(state.commandKey, state.deviceId, Date.now, paths.receivedJobs);
  const runner = new JobRunner(
    AGENT_COMMANDS,
    platform,
    log,
    { frame: () => undefined, raw: () => undefined, data: () => undefined },
    { dataDir: dir, service },
    (f) => verifier.check(f),
  );
  // Self-update (update/): only a build run by `lr-agent service` stages one, then exits for its supervisor.
  const supervised = process.env[SUPERVISED_ENV] === '1';
  const updater = new AgentUpdater({
    dataDir: dir,
    serviceKey: state.commandKey,
    service,
    log,
    supervised,
    // Jobs running now (a download, a script) finish first: the restart would end them.
    restartIntoUpdate: () =>
      void whenIdle(() => runner.runningCount(), {
        onWait: (count) => log.info('update staged: restarting once the running jobs end', { running: count }),
      })
        .then(
          (left) =>
            left > 0 &&
            log.warn('update staged: jobs still running after the wait are ended by the restart', { running: left }),
        )
        .then(() => resources.dispose())
        .then(() => process.exit(UPDATE_EXIT_CODE)),
  });
  // Last: the link connects at once and hands the service's jobs to the runner and its offers to the updater.
  const link = runAgentLink(
    state,
    runner,
    log,
    () => isIsolated(dir),
    {
      online: (send) => updater.online(send),
      offline: () => updater.offline(),
      offer: (f, send) => updater.handle(f, send),
    },
    node,
  );
  resources.defer(() => link.stop());
  if (supervised && typeof process.send === 'function') {
    const onMessage = (m: unknown): void => {
      // The supervisor stops this build (Windows has no SIGTERM): the link closes cleanly, then the process ends.
      if ((m as SupervisorMessage | null)?.t === 'stop') void link.stop().then(() => process.exit(0));
      else updater.onSupervisorMessage(m);
    };
    // The supervisor is gone (killed, crashed): this build stops too rather than run unsupervised beside the next one.
    const onDisconnect = (): void => void link.stop().then(() => process.exit(0));
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
    resources.defer(() => {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    });
  }
  return {
    state,
    connected: () => link.connected(),
    currentUrl: () => link.currentUrl(),
    stop: () => resources.dispose(),
  };
}
