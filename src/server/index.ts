/**
 * The public surface of the service (src/server): everything another program may use — `lr-server` and the
 * other command lines (src/cli) and the workstation's standalone mode, which embeds the service
 * (src/main/services/standalone.ts). Those programs import this file only (the layering lint rejects a
 * deeper import); inside src/server, files import each other directly. Tests, bench/ and scripts/ may reach
 * further, they test internals.
 *
 * What is here, by use:
 *  - making a data folder and running the service on it (init, start, the cluster options);
 *  - offline work on a data folder while the service may run: enrollment, users and tokens, agent
 *    releases and agent files, installers (data-folder.ts opens and closes the database per task, so no
 *    caller handles it);
 *  - the few types those calls take or return.
 */
export { dataPaths, loadConfig } from './config.js';
export { defaultPublicUrl, initClusterNodeDir, initDataDir } from './init.js';
export { startService, type RunningService } from './service.js';
export type { NatsSecurity } from './cluster/cluster-context.js';
export { CommandSigner } from './command-signing.js';
export {
  openDataFolder,
  setServiceAddress,
  withAgentReleases,
  withUserAdmin,
  type OpenDataFolder,
} from './data-folder.js';
export type { Store } from './store.js';
export { USER_NAME } from './tokens.js';
export { AgentFiles, publishAgentFile, type AgentFileInfo } from './agent-files.js';
export { makeInstaller, NoAgentFileError, type MadeInstaller } from './installers.js';
export type { InstallerOs } from './installer-scripts.js';
