/**
 * Wires access control into a running service: command signing, the command log's hash chain,
 * device groups (a session on a device whose group has no remediation level is refused), token revocation
 * (open consoles of a revoked token end), the per-address limit on failed authentications, and the admin
 * REST routes. service.ts calls `attachLogChain` before anything writes the log (in cluster mode then
 * `attachLogStream`), then `attachAccessControl`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from './db.js';
import type { Store, User } from './store.js';
import type { AgentHub } from './agent-hub.js';
import type { SessionManager } from './sessions.js';
import type { Pipeline } from './pipeline.js';
import type { Logger } from '../node/log.js';
import { CommandSigner } from './command-signing.js';
import { LogChain } from './log-chain.js';
import { GroupStore } from './groups.js';
import { TokenWatcher, UserAdmin } from './tokens.js';
import { AuthLimiter } from './rate-limit.js';
import { handleAdminRoute } from './admin-routes.js';
import type { RestExtras } from './http.js';
import type { CommandLogStream } from './cluster/log-stream.js';

/**
 * Chains every command log write from now on; checks the log against its anchor (DATA/log-chain.head);
 * entries of a log that predates the chain are adopted once. Then call Store.closeDanglingSessions with
 * `chain.wasRunning`.
 */
export function attachLogChain(store: Store, db: Db, dataDir: string, log: Logger): LogChain {
  const chain = LogChain.open(db, dataDir, (e) => log.error('the command log anchor cannot be written', { error: e.message }));
  store.onCommandWritten((id) => chain.written(id));
  const { adopted, warnings } = chain.start();
  if (adopted > 0) log.info('command log entries written before the hash chain were chained', { entries: adopted });
  for (const w of warnings) log.warn(`command log: ${w}`);
  return chain;
}

/**
 * Cluster mode: every command log write is also queued for the cluster log stream, in the
 * same transaction as the chain. Call it right after `attachLogChain`, before anything writes the log
 * (closeDanglingSessions included), so no write of this run escapes the stream.
 */
export function attachLogStream(store: Store, chain: LogChain, logStream: CommandLogStream): void {
  store.onCommandWritten((id) => {
    chain.written(id);
    logStream.written(id);
  });
}

export interface AccessControl {
  signer: CommandSigner;
  groups: GroupStore;
  users: UserAdmin;
  watcher: TokenWatcher;
  limiter: AuthLimiter;
  restExtras: RestExtras;
  stop(): void;
}

export function attachAccessControl(o: { dataDir: string; db: Db; store: Store; hub: AgentHub; sessions: SessionManager; pipeline: Pipeline; chain: LogChain; log: Logger; logStream?: CommandLogStream }): AccessControl {
  const signer = CommandSigner.load(o.dataDir);
  // The agent checks the signature, its device id, the expiry, replays and the user's role (command-verifier.ts).
  o.pipeline.signJobsWith((frame, session) => signer.sign(frame, session.device.id, session.user.role));

  const groups = new GroupStore(o.db);
  o.sessions.addOpenCheck((_user, device) => {
    const message = groups.sessionRefusal(device);
    return message ? { message, code: 'no_remediation_level' } : null;
  });

  const users = new UserAdmin(o.db);
  const watcher = new TokenWatcher(o.db, o.sessions, o.log);
  const limiter = new AuthLimiter();
  o.hub.onAuthFailed = (remote) => limiter.failed(remote);

  const deps = { store: o.store, groups, chain: o.chain, users, watcher, log: o.log, ...(o.logStream ? { logStream: o.logStream } : {}) };
  const restExtras: RestExtras = {
    commandKey: signer.publicKeyPem,
    authLimiter: limiter,
    routes: (req: IncomingMessage, res: ServerResponse, user: User) => handleAdminRoute(req, res, user, deps),
  };
  return { signer, groups, users, watcher, limiter, restExtras, stop: () => watcher.stop() };
}
