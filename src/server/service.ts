/** Assembles and runs the service: HTTPS + WebSockets on one port, the store, agents, sessions, pipeline. */
import { createServer } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES } from '../shared/protocol.js';
import { Logger } from '../node/log.js';
import { dataPaths, loadConfig, parseListen, type ServiceConfig } from './config.js';
import { joinedMarkerPath, keepDataDirPrivate } from './init.js';
import { openDb } from './db.js';
import { Store } from './store.js';
import { AgentHub } from './agent-hub.js';
import { SessionManager } from './sessions.js';
import { Pipeline } from './pipeline.js';
import { acceptConsole } from './console-link.js';
import { bearer, createRestHandler } from './http.js';
import { agentFilesRoute } from './agent-files-routes.js';
import { publishAgentFile } from './agent-files.js';
import { LibraryService } from './library-service.js';
import { TenantSettings } from './tenant-settings.js';
import { ResponseActions } from './response-actions.js';
import { attachAccessControl, attachLogChain, attachLogStream } from './access-control.js';
import { CommandLogStream } from './cluster/log-stream.js';
import { ClusterLogMirror } from './cluster/log-mirror.js';
import { CommandLogView } from './command-log-view.js';
import { ClusterNode } from './cluster/cluster-node.js';
import type { NatsSecurity } from './cluster/cluster-context.js';
import { removeStateCapture, StateReplication } from './cluster/state-replication.js';
import { AgentReleases } from './agent-releases.js';
import { AgentRollout } from './agent-releases-rollout.js';
import { BatchRunner } from './batch/batch-runner.js';
import { handleBatchRoute } from './batch/batch-routes.js';
import { automationApi } from './automation-api.js';

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

export async function startService(dataDir: string, log = new Logger('lr-server'), opts: ServiceOptions = {}): Promise<RunningService> {
  const config = loadConfig(dataDir);
  const paths = dataPaths(dataDir);
  keepDataDirPrivate(dataDir); // folders made before the marker (or with a wider mode) are brought in line
  const cluster = opts.nats ? await ClusterNode.connect(dataDir, { nats: opts.nats, replicas: opts.natsReplicas, sessionLeaseMs: opts.sessionLeaseMs, security: opts.natsSecurity }, log) : null;
  const db = openDb(paths.db, { nativeBinding: opts.sqliteNativeBinding });
  const store = new Store(db);
  // Limits in force: config.json overridden at run time by the admins' tenant settings.
  const tenant = new TenantSettings(store, config.limits);
  // In a cluster the shared tables (users, tokens, devices, settings, groups, library records…) are made
  // current from the cluster before anything reads them, and kept so; a single node never captures writes.
  const replication = cluster
    ? await StateReplication.start(cluster.ctx, db, { onApplied: (table) => table === 'settings' && tenant.reload(), seed: !existsSync(joinedMarkerPath(dataDir)) })
    : (removeStateCapture(db), null);
  const chain = attachLogChain(store, db, dataDir, log); // before anything writes the command log
  // In a cluster every command log write also goes (through a durable outbox) to the LR_LOG stream, where
  // any node verifies and exports the whole cluster's log. Open before the first write below.
  const logStream = cluster ? await CommandLogStream.open(cluster.ctx, db, chain) : undefined;
  if (logStream) attachLogStream(store, chain, logStream);
  // …and every node's entries come back from the stream into a local read model for the log viewer.
  const logMirror = cluster ? ClusterLogMirror.start(cluster.ctx, db) : undefined;
  store.closeDanglingSessions((seq) => chain.wasRunning(seq)); // a command whose seal was removed is not one
  const hub = new AgentHub(store, log);
  const limits = () => tenant.limits();
  // The ledger decides who may open a session: in memory here, or shared by every node of a cluster. A
  // session whose lease the cluster lost (this node could not reach NATS for a whole lease) ends here too.
  const ledger = cluster
    ? await cluster.openLedger((sessionId) => {
        const s = sessions.get(sessionId);
        if (s) sessions.close(s, 'the cluster lost this session (the node could not reach NATS)');
      })
    : undefined;
  const sessions = new SessionManager(store, hub, limits, ledger);
  const pipeline = new Pipeline(store, hub, sessions, limits);
  const library = new LibraryService(db, dataDir, store, limits, config.publicUrl, log);
  library.attach(pipeline); // putfile/run preparers and the `library` console command
  library.tenant = tenant; // the settings route answers for every tenant setting
  if (cluster) await cluster.attachLibrary(library); // content in the object store, tokens valid on every node
  const responses = new ResponseActions(db, config.publicUrl, store);
  responses.attach(pipeline, library); // analyze preparer (indicators, YARA rules), isolation flag
  // getfile: the tenant's size limit travels with the job so the agent refuses before sending a byte.
  pipeline.prepare('getfile', ({ params }) => ({ params: { ...params, _maxBytes: limits().getfileBytes } }));
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

  const access = attachAccessControl({ dataDir, db, store, hub, sessions, pipeline, chain, log, ...(logStream ? { logStream } : {}) });
  if (cluster) await cluster.attachAgents(hub, config.publicUrl);
  if (ledger) access.restExtras.claimOnce = (name) => ledger.claimOnce(name); // enrollment tokens: one use cluster-wide
  if (logStream && logMirror) {
    access.restExtras.logView = new CommandLogView(db, 'cluster_commands');
    // What this node just wrote is published and mirrored before a log read answers (a few ms), never
    // waited on for long: a NATS outage serves what the view holds.
    access.restExtras.logViewReady = () =>
      Promise.race([logStream.flushed().then(() => logMirror.caughtUp(2_000)), new Promise<void>((r) => setTimeout(r, 2_000))]).catch(() => undefined);
  }
  access.restExtras.agentFiles = agentFilesRoute({ dataDir, store, log, limiter: access.limiter }); // installers and the files they download
  sessions.addOpenCheck((_user, device) => tenant.refusal(device.name, access.groups.tags(device.id)));
  // Agent self-update: offers to connected agents, their reports into the command log, the download route.
  const rollout = new AgentRollout(new AgentReleases(db, dataDir), hub, store, access.groups, config.publicUrl, log, (r, file) => publishAgentFile(dataDir, r.target, file));
  access.restExtras.agentReleases = (req, res) => rollout.route(req, res);
  // Batch runs: sessions opened by the service itself, under the same limits; queued work resumes here.
  const batches = new BatchRunner({ db, dataDir, store, hub, sessions, pipeline, groups: access.groups, log, tickMs: opts.batchTickMs });
  access.restExtras.batches = (req, res, user) => handleBatchRoute(req, res, user, batches, log);
  // The vendor-shaped machine actions on the same engine, their result links, per-token call limits, openapi.json.
  access.restExtras.automation = automationApi({ engine: batches, store, limits, publicUrl: config.publicUrl, log });
  const rest = createRestHandler(store, hub, log, library, responses, access.restExtras);
  const server = createServer({ cert: readFileSync(paths.cert), key: readFileSync(paths.key), minVersion: 'TLSv1.2' }, (req, res) => void rest(req, res));
  // One agent message per event loop turn: a TLS socket takes one write per turn, so without it the
  // records of a burst read from an agent reached the console only after the whole burst was handled.
  const agentWss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, allowSynchronousEvents: false });
  const consoleWss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'https://service').pathname;
    const reject = (code: number, msg: string) => {
      socket.end(`HTTP/1.1 ${code} ${msg}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const remote = req.socket.remoteAddress ?? '?';
    if (access.limiter.blocked(remote)) return reject(429, 'Too Many Requests');
    if (path === '/api/v1/agent') {
      agentWss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, req.socket.remoteAddress ?? '?'));
      return;
    }
    if (path === '/api/v1/console') {
      const token = bearer(req);
      const user = token ? store.authenticate(token) : null;
      if (!token || !user) {
        access.limiter.failed(remote);
        return reject(401, 'Unauthorized');
      }
      consoleWss.handleUpgrade(req, socket, head, (ws) => access.watcher.track(token, ws, acceptConsole(ws, user, sessions, pipeline, log)));
      return;
    }
    reject(404, 'Not Found');
  });
  server.on('clientError', (_e, socket) => socket.destroy());

  const { host, port } = parseListen(config.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  log.info('service listening', { host, port: actual });

  return {
    port: actual,
    host,
    config,
    store,
    hub,
    nodeId: cluster?.nodeId ?? null,
    close: async () => {
      access.stop();
      rollout.stop();
      batches.stop(); // before the sessions close under it: what it runs stays `running`, failed at the next start
      sessions.stop();
      hub.close();
      for (const ws of consoleWss.clients) ws.close(1001, 'service shutting down');
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      // Sockets still closing write to the store from their close handlers (sessions ended, jobs failed):
      // let them finish before the database closes (matters when the service runs in-process).
      for (const ws of [...agentWss.clients, ...consoleWss.clients]) ws.terminate();
      for (let i = 0; i < 50 && agentWss.clients.size + consoleWss.clients.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
      logMirror?.stop();
      if (logStream) {
        // What is still in the outbox is published at the next start: wait a little, never forever.
        await Promise.race([logStream.flushed(), new Promise((r) => setTimeout(r, 2_000))]);
        await logStream.stop();
      }
      await replication?.stop();
      await cluster?.close();
      await chain.close();
      store.close();
    },
  };
}
