/**
 * The public surface of the analyst's client (src/client): everything another program may use — the `lr`
 * command line (src/cli) and the workstation's main process (src/main/services). Those programs import
 * this file only (the layering lint rejects a deeper import); inside src/client, files import each other
 * directly. Tests, bench/ and scripts/ may reach further.
 *
 * What is here, by use: the REST and console clients of the service (one per area of the API, each pinned
 * to the profile's CA), the choice of node in a cluster, and the file transfers run from the analyst's
 * side (getfile/collect written to disk, resumed after a device went offline).
 */
export { ConsoleClient, ServiceApi, type CommandHandlers, type CommandOutcome } from './console-client.js';
export { WorkstationApi, type Me } from './workstation-api.js';
export { LibraryApi } from './library-api.js';
export { BatchApi } from './batch-api.js';
export { failureKind, ServiceNodes, type UseOptions } from './service-nodes.js';
export { runGetfile } from './getfile-runner.js';
export { throttle, transferTarget, type TransferTarget } from './transfer-target.js';
