/**
 * Wires access control into a running service: the command log's hash chain,
 * device groups (a session on a device whose group has no remediation level is refused), token revocation
 * (open consoles of a revoked token end), the per-address limit on failed authentications, and the admin
 * REST routes. The composition root (service.ts) calls `attachLogChain` before anything writes the log,
 * then `attachAccessControl`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from './db.js';
import type { Store, User } from './store.js';
import type { AgentHub } from './agent-hub.js';
import type { SessionManager } from './sessions.js';
import type { Logger } from '../node/log.js';
import { LogChain } from './log-chain.js';
import { GroupStore } from './groups.js';
import { TokenWatcher, UserAdmin } from './tokens.js';
import { AuthLimiter } from './rate-limit.js';
import { handleAdminRoute } from './admin-routes.js';
import type { CommandLogSource } from './command-log-source.js';

/**
 * Chains every command log write from now on; checks the log against its anchor (DATA/log-chain.head);
 * entries of a log that predates the chain are adopted once. Then call Store.closeDanglingSessions with
 * `chain.wasRunning`.
 */
export function attachLogChain(store: Store, db: Db, dataDir: string, log: Logger): LogChain {
  const chain = LogChain.open(db, dataDir, (e) =>
    log.error('the command log anchor cannot be written', { error: e.message }),
  );
  store.onCommandWritten((id) => chain.written(id));
  const { adopted, warnings } = chain.start();
  if (adopted > 0) log.info('command log entries written before the hash chain were chained', { entries: adopted });
  for (const w of warnings) log.warn(`command log: ${w}`);
  return chain;
}

export interface AccessControl {
  groups: GroupStore;
  users: UserAdmin;
  watcher: TokenWatcher;
  limiter: AuthLimiter;
  /** The admin REST routes (admin-routes.ts); true when handled. */
  routes: (req: IncomingMessage, res: ServerResponse, user: User) => Promise<boolean>;
  stop(): void;
}

export function attachAccessControl(o: {
  db: Db;
  store: Store;
  hub: AgentHub;
  sessions: SessionManager;
  commandLog: CommandLogSource;
  log: Logger;
}): AccessControl {
  const groups = new GroupStore(o.db);
  o.sessions.addOpenCheck((_user, device) => {
    const message = groups.sessionRefusal(device);
    return message ? { message, code: 'no_remediation_level' } : null;
  });

  const users = new UserAdmin(o.db);
  const watcher = new TokenWatcher(o.db, o.sessions, o.log);
  const limiter = new AuthLimiter();
  o.hub.onAuthFailed((remote) => limiter.failed(remote));

  const deps = { store: o.store, groups, users, watcher, log: o.log, commandLog: o.commandLog };
  const routes = (req: IncomingMessage, res: ServerResponse, user: User) => handleAdminRoute(req, res, user, deps);
  return { groups, users, watcher, limiter, routes, stop: () => watcher.stop() };
}
