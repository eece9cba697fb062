/**
 * The service's composition root: the only place that builds the service, and the only file of the core that
 * imports the cluster code (cluster/ implements the interfaces the core defines: the session ledger, the
 * command log source, the library's content sync and download tokens, the agent hub's cluster link).
 * HTTPS + WebSockets on one port, the store, agents, sessions, pipeline.
 *
 * Start-up reads top to bottom. Every resource is added to one DisposableStore right after it is made;
 * close() (or a start that fails half way) releases them in reverse, so the order below IS the shutdown
 * order read backwards: the batch runner stops before the sessions close under it, the sessions and the hub
 * before the sockets are drained, the sockets before the log stream flushes, and the database last.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Logger } from '../node/log.js';
import { DisposableStore } from '../shared/lifecycle.js';
import { dataPaths, loadConfig, parseListen, type ServiceConfig } from './config.js';
import { joinedMarkerPath, keepDataDirPrivate } from './init.js';
import { openDb } from './db.js';
import { Store } from './store.js';
import { AgentHub } from './agent-hub.js';
import { SessionManager } from './sessions.js';
import { LocalSessionLedger } from './session-ledger.js';
import { Pipeline } from './pipeline.js';
import { acceptConsole } from './console-link.js';
import { bearer, clusterEnrollment, createRestHandler, singleNodeEnrollment } from './http.js';
import { agentFilesRoute } from './agent-files-routes.js';
import { publishAgentFile } from './agent-files.js';
import { LibraryService, singleNodeLibrary } from './library-service.js';
import { TenantSettings } from './tenant-settings.js';
import { ResponseActions } from './response-actions.js';
import { CommandSigner } from './command-signing.js';
import { attachAccessControl, attachLogChain } from './access-control.js';
import { nodeCommandLog } from './command-log-source.js';
import { AgentReleases } from './agent-releases.js';
import { AgentRollout } from './agent-releases-rollout.js';
import { BatchRunner } from './batch/batch-runner.js';
import { handleBatchRoute } from './batch/batch-routes.js';
import { automationApi } from './automation-api.js';
import { ServiceSockets } from './service-sockets.js';
import { CommandLogStream } from './cluster/log-stream.js';
import { ClusterLogMirror } from './cluster/log-mirror.js';
import { clusterCommandLog } from './cluster/log-verify.js';
import { ClusterNode } from './cluster/cluster-node.js';
import type { NatsSecurity } from './cluster/cluster-context.js';
import { removeStateCapture, StateReplication } from './cluster/state-replication.js';

export interface RunningService {
  port: number;
  host: string;
  config: ServiceConfig;
  store: Store;
  hub: AgentHub;
  /** In a cluster: this node's id; null on a single node. */
  nodeId: string | null;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Join a cluster of nodes through NATS JetStream; absent: the single node, as always. */
  nats?: string[] | undefined;
  natsReplicas?: number | undefined;
  /** Session lease in the shared ledger (ms); tests shorten it. */
  sessionLeaseMs?: number | undefined;
  natsSecurity?: NatsSecurity | undefined;
  /** better-sqlite3 native module for the database (see db.ts): the workstation's embedded service only. */
  sqliteNativeBinding?: string | undefined;
  /** How often the batch runner looks at its queue without an event (ms); tests shorten it. */
  batchTickMs?: number | undefined;
}

export async function startService(
  dataDir: string,
  log = new Logger('lr-server'),
  opts: ServiceOptions = {},
): Promise<RunningService> {
  const disposables = new DisposableStore();
  try {
    return await compose(disposables, dataDir, log, opts);
  } catch (e) {
    await disposables.dispose().catch(() => undefined); // what was made before the failure is released
    throw e;
  }
}

async function compose(
  disposables: DisposableStore,
  dataDir: string,
  log: Logger,
  opts: ServiceOptions,
): Promise<RunningService> {
  const config = loadConfig(dataDir);
  const paths = dataPaths(dataDir);
  keepDataDirPrivate(dataDir); // folders made before the marker (or with a wider mode) are brought in line

  // The database: closed last of all.
  const db = openDb(paths.db, { nativeBinding: opts.sqliteNativeBinding });
  const store = new Store(db);
  disposables.defer(() => store.close());
  // Limits in force: config.json overridden at run time by the admins' tenant settings.
  const tenant = new TenantSettings(store, config.limits);
  const limits = () => tenant.limits();
  // The command log's hash chain, before anything writes the log; its anchor is written at close, after
  // everything that may still write the log has stopped.
  const chain = attachLogChain(store, db, dataDir, log);
  disposables.defer(() => chain.close());

  // The cluster (absent on a single node). Closed after what runs on it (below) and before the chain.
  const cluster = opts.nats
    ? await ClusterNode.connect(
        dataDir,
        {
          nats: opts.nats,
          replicas: opts.natsReplicas,
          sessionLeaseMs: opts.sessionLeaseMs,
          security: opts.natsSecurity,
        },
        log,
      )
    : null;
  if (cluster) disposables.defer(() => cluster.close());
  // In a cluster the shared tables (users, tokens, devices, settings, groups, library records…) are made
  // current from the cluster before anything reads them, and kept so; a single node never captures writes.
  const replication = cluster
    ? await StateReplication.start(cluster.ctx, db, {
        onApplied: (table) => table === 'settings' && tenant.reload(),
        seed: !existsSync(joinedMarkerPath(dataDir)),
      })
    : (removeStateCapture(db), null);
  if (replication) disposables.defer(() => replication.stop());
  // In a cluster every command log write also goes (through a durable outbox) to the LR_LOG stream, where
  // any node verifies and exports the whole cluster's log. It follows the chain's own write event (it
  // publishes what the chain sealed). Open before the first write below.
  const logStream = cluster ? await CommandLogStream.open(cluster.ctx, db, chain) : null;
  if (logStream) {
    disposables.defer(async () => {
      // What is still in the outbox is published at the next start: wait a little, never forever.
      await Promise.race([logStream.flushed(), new Promise((r) => setTimeout(r, 2_000))]);
      await logStream.stop();
    });
  }
  // …and every node's entries come back from the stream into a local read model for the log viewer.
  const logMirror = cluster ? ClusterLogMirror.start(cluster.ctx, db) : null;
  if (logMirror) disposables.defer(() => logMirror.stop());
  const commandLog =
    logStream && logMirror ? clusterCommandLog(db, logStream, logMirror) : nodeCommandLog(store, chain);
  store.closeDanglingSessions((seq) => chain.wasRunning(seq)); // a command whose seal was removed is not one

  // The network front, listening only at the end: made here so that it is drained after the sessions and
  // the hub have closed (consoles hear their sessions end before the socket closes), and before the log
  // stream flushes and the database closes (closing sockets still write to the store).
  const sockets = disposables.add(new ServiceSockets({ cert: readFileSync(paths.cert), key: readFileSync(paths.key) }));

  const hub = new AgentHub(store, log);
  disposables.defer(() => hub.close());
  // The ledger decides who may open a session: in memory here, or shared by every node of a cluster
  // (stopped with the cluster).
  const clusterLedger = cluster ? await cluster.openLedger() : null;
  const sessions = new SessionManager(store, hub, limits, clusterLedger ?? new LocalSessionLedger());
  disposables.defer(() => sessions.stop());
  // A session whose lease the cluster lost (this node could not reach NATS for a whole lease) ends here too.
  clusterLedger?.onLost((sessionId) => {
    const s = sessions.get(sessionId);
    if (s) sessions.close(s, 'the cluster lost this session (the node could not reach NATS)');
  });
  sessions.on('closed', (s, reason) => {
    log.info('session closed', { sessionId: s.id, reason });
    s.peer.send({ t: 'session.closed', sessionId: s.id, reason });
  });
  hub.on('trace', (sessionId, level, message, time) => {
    sessions.get(sessionId)?.peer.send({ t: 'trace', sessionId, level, message, time });
  });
  hub.on('presence', (deviceId, online) => {
    for (const s of sessions.all()) if (s.device.id === deviceId) s.peer.send({ t: 'device.state', deviceId, online });
  });

  // The agent checks the signature, its device id, the expiry, replays and the user's role (command-verifier.ts).
  const signer = CommandSigner.load(dataDir);
  const pipeline = new Pipeline(store, hub, sessions, limits, (frame, session) =>
    signer.sign(frame, session.device.id, session.user.role),
  );
  // In a cluster: library content in the object store, download tokens valid on every node.
  const librarySharing = cluster ? await cluster.librarySharing() : singleNodeLibrary();
  const library = new LibraryService(db, dataDir, store, limits, config.publicUrl, log, tenant, librarySharing);
  library.attach(pipeline); // putfile/run preparers and the `library` console command
  const responses = new ResponseActions(db, config.publicUrl, store);
  responses.attach(pipeline, library); // analyze preparer (indicators, YARA rules), isolation flag
  // getfile: the tenant's size limit travels with the job so the agent refuses before sending a byte.
  pipeline.prepare('getfile', ({ params }) => ({ params: { ...params, _maxBytes: limits().getfileBytes } }));

  const access = attachAccessControl({ db, store, hub, sessions, commandLog, log });
  disposables.defer(() => access.stop());
  // Agents on any node become reachable from this one (stopped with the cluster).
  if (cluster) await cluster.attachAgents(hub, config.publicUrl);
  sessions.addOpenCheck((_user, device) => tenant.refusal(device.name, access.groups.tags(device.id)));
  // Agent self-update: offers to connected agents, their reports into the command log, the download route.
  const rollout = new AgentRollout(
    new AgentReleases(db, dataDir),
    hub,
    store,
    access.groups,
    config.publicUrl,
    log,
    (r, file) => publishAgentFile(dataDir, r.target, file),
  );
  disposables.defer(() => rollout.stop());
  // Batch runs: sessions opened by the service itself, under the same limits; queued work resumes here.
  // Stopped before the sessions close under it: what it runs stays `running`, failed at the next start.
  const batches = new BatchRunner({
    db,
    dataDir,
    store,
    hub,
    sessions,
    pipeline,
    groups: access.groups,
    log,
    tickMs: opts.batchTickMs,
  });
  disposables.defer(() => batches.stop());

  const rest = createRestHandler(store, hub, log, library, responses, {
    commandKey: signer.publicKeyPem,
    authLimiter: access.limiter,
    routes: access.routes,
    // Enrollment tokens and device names: one use cluster-wide.
    enrollment: clusterLedger ? clusterEnrollment((name) => clusterLedger.claimOnce(name)) : singleNodeEnrollment,
    commandLog,
    // installers and the files they download
    agentFiles: agentFilesRoute({ dataDir, store, log, limiter: access.limiter }),
    agentReleases: (req, res) => rollout.route(req, res),
    batches: (req, res, user) => handleBatchRoute(req, res, user, batches, log),
    // The vendor-shaped machine actions on the same engine, their result links, per-token call limits, openapi.json.
    automation: automationApi({ engine: batches, store, limits, publicUrl: config.publicUrl, log }),
  });

  const { host, port } = parseListen(config.listen);
  const actual = await sockets.listen(host, port, {
    request: rest,
    upgrade: (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'https://service').pathname;
      const reject = (code: number, msg: string) => {
        socket.end(`HTTP/1.1 ${code} ${msg}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      };
      const remote = req.socket.remoteAddress ?? '?';
      if (access.limiter.blocked(remote)) return reject(429, 'Too Many Requests');
      if (path === '/api/v1/agent') {
        sockets.agentWss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, req.socket.remoteAddress ?? '?'));
        return;
      }
      if (path === '/api/v1/console') {
        const token = bearer(req);
        const user = token ? store.authenticate(token) : null;
        if (!token || !user) {
          access.limiter.failed(remote);
          return reject(401, 'Unauthorized');
        }
        sockets.consoleWss.handleUpgrade(req, socket, head, (ws) =>
          access.watcher.track(token, ws, acceptConsole(ws, user, sessions, pipeline, log)),
        );
        return;
      }
      reject(404, 'Not Found');
    },
  });
  log.info('service listening', { host, port: actual });

  return {
    port: actual,
    host,
    config,
    store,
    hub,
    nodeId: cluster?.nodeId ?? null,
    close: () => disposables.dispose(),
  };
}
