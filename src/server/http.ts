/** REST routes (JSON over HTTPS): enrollment, devices, command log, whoami. Bodies are size-limited. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  enrollRequest,
  JOB_STATUSES,
  type CommandLogQuery,
  type DeviceRecord,
  type JobStatus,
} from '../shared/wire/protocol.js';
import type { Store, User } from './store.js';
import type { AgentHub } from './agent-hub.js';
import type { Logger } from '../node/log.js';
import { handleLibraryRoute } from './library-routes.js';
import type { LibraryService } from './library-service.js';
import type { ResponseActions } from './response-actions.js';
import type { CommandLogSource } from './command-log-source.js';
import type { AuthLimiter } from './rate-limit.js';
import { deviceNameProblem, nameKey } from '../shared/wire/device-name.js';
import type { AutomationApi } from './automation-api.js';
import { describeError } from '../shared/errors.js';

const MAX_JSON_BODY = 64 * 1024;

export function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h || !h.startsWith('Bearer ')) return null;
  return h.slice(7).trim();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(s),
    'cache-control': 'no-store',
  });
  res.end(s);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_JSON_BODY) {
        reject(new Error(`request body too large (max ${MAX_JSON_BODY} bytes)`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** `heard`: when this node last heard from the online device's agent, newer than the stored last seen. */
export function deviceRecord(
  d: ReturnType<Store['listDevices']>[number],
  online: boolean,
  node?: string | null,
  heard?: string,
): DeviceRecord {
  const r: DeviceRecord = {
    id: d.id,
    name: d.name,
    hostname: d.hostname,
    os: d.os,
    platform: d.platform,
    agentVersion: d.agentVersion,
    online,
    lastSeen: heard ?? d.lastSeen,
    isolated: d.isolated,
    enrolledAt: d.enrolledAt,
  };
  if (node) r.node = node;
  return r;
}

/**
 * What the REST handler needs besides the store and the hub, all required: the composition root
 * (service.ts) gives each one, a single node's own where a cluster would share it (the enrollment claims,
 * the command log), so leaving one out does not compile.
 */
export interface RestExtras {
  /** The command-signing public key, returned to enrolling agents (they pin it). */
  commandKey: string;
  /** Failed authentications per remote address (rate-limit.ts). */
  authLimiter: AuthLimiter;
  /** Access control's admin routes, tried before the ones below (admin-routes.ts); true when handled. */
  routes: (req: IncomingMessage, res: ServerResponse, user: User) => Promise<boolean>;
  /** Who else must agree before an enrollment token is used and a device name handed out. */
  enrollment: EnrollmentClaims;
  /** The command log the log routes read: this node's, or in a cluster the whole cluster's (command-log-source.ts). */
  commandLog: CommandLogSource;
  /** Agent self-update's download route (agent-releases-rollout.ts); true when handled. */
  agentReleases: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Batch runs (batch/batch-routes.ts); true when handled. */
  batches: (req: IncomingMessage, res: ServerResponse, user: User) => Promise<boolean>;
  /**
   * Agent files and installers (agent-files-routes.ts): they take an enrollment token too, so they run before the API
   * token check.
   */
  agentFiles: (req: IncomingMessage, res: ServerResponse, token: string | null, remote: string) => Promise<boolean>;
  /**
   * The automation API (automation-api.ts): result links and the OpenAPI document, per-token call limits, machine
   * actions.
   */
  automation: AutomationApi;
}

/** An enrollment's claim on its token and on a device name, checked locally by the store first. */
export type EnrollmentClaim = { claimed: false } | { claimed: true; avoid?: (name: string) => boolean };

export interface EnrollmentClaims {
  /**
   * Claims the enrollment token `tokenId` for this enrollment, then a device name near `wanted` (`avoid`: names
   * enrollDevice must pass over).
   */
  claim(store: Store, tokenId: string, wanted: string): Promise<EnrollmentClaim>;
}

/** A single node: its store alone decides (the token is used and the name taken in one transaction). */
export const singleNodeEnrollment: EnrollmentClaims = { claim: () => Promise.resolve({ claimed: true }) };

/**
 * In a cluster: `claimOnce` decides once for all nodes (true for one caller only), so two nodes cannot both
 * enroll a device with one token, nor under one name.
 */
export function clusterEnrollment(claimOnce: (name: string) => Promise<boolean>): EnrollmentClaims {
  return {
    async claim(store, tokenId, wanted) {
      if (!(await claimOnce(`enroll:${tokenId}`))) return { claimed: false };
      return { claimed: true, avoid: await claimDeviceName(store, wanted, claimOnce) };
    },
  };
}

/**
 * In a cluster two nodes could each find a name free in their own copy of the devices and enroll two
 * devices under it: the name is first claimed once for the whole cluster. A claim is never given back, so
 * a name once handed out (the device renamed since) is skipped by later enrollments like a taken one.
 * Answers the names enrollDevice must pass over.
 */
async function claimDeviceName(
  store: Store,
  wanted: string,
  claimOnce: (name: string) => Promise<boolean>,
): Promise<(name: string) => boolean> {
  const refused = new Set<string>();
  const avoid = (n: string) => refused.has(nameKey(n));
  for (let i = 0; i < 50; i++) {
    const candidate = store.freeDeviceName(wanted, avoid);
    // enrollDevice walks the same names in the same order: it takes this one (unless it went meanwhile).
    if (await claimOnce(`device-name:${nameKey(candidate)}`)) return avoid;
    refused.add(nameKey(candidate));
  }
  throw new Error(`no free device name near ${wanted} after 50 tries: pass another --name`);
}

export function createRestHandler(
  store: Store,
  hub: AgentHub,
  log: Logger,
  library: LibraryService,
  responses: ResponseActions,
  extras: RestExtras,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://service');
    const remote = req.socket.remoteAddress ?? '?';
    try {
      if (extras.authLimiter.blocked(remote)) {
        req.resume();
        res.setHeader('retry-after', String(extras.authLimiter.retryAfterSec(remote)));
        return json(res, 429, { error: 'too many failed authentications from this address: try again later' });
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/enroll') {
        const body = enrollRequest.safeParse(await readJson(req));
        if (!body.success)
          return json(res, 400, {
            error: `invalid enrollment request: ${body.error.issues[0]?.path.join('.')}: ${body.error.issues[0]?.message}`,
          });
        const nameProblem = deviceNameProblem(body.data.info.name);
        if (nameProblem) return json(res, 400, { error: nameProblem });
        const check = store.checkEnrollToken(body.data.token);
        const claim = check.ok ? await extras.enrollment.claim(store, check.tokenId, body.data.info.name) : null;
        const r: { ok: true; deviceId: string; name: string } | { ok: false; error: string } = !check.ok
          ? check
          : !claim?.claimed
            ? { ok: false, error: 'enrollment token was already used' }
            : store.enrollDevice(body.data.token, body.data.info, body.data.publicKey, claim.avoid);
        if (!r.ok) {
          extras.authLimiter.failed(remote);
          log.warn('enrollment refused', { reason: r.error, remote });
          return json(res, 403, { error: r.error });
        }
        const requested = body.data.info.name;
        if (r.name !== requested)
          log.info('device name taken: enrolled under another', {
            deviceId: r.deviceId,
            requested,
            deviceName: r.name,
          });
        log.info('device enrolled', { deviceId: r.deviceId, deviceName: r.name });
        return json(res, 200, {
          deviceId: r.deviceId,
          name: r.name,
          ...(r.name !== requested ? { requestedName: requested } : {}),
          commandKey: extras.commandKey,
        });
      }
      const token = bearer(req);
      if (await extras.agentFiles(req, res, token, remote)) return;
      const user: User | null = token ? store.authenticate(token) : null;
      if (token && !user) extras.authLimiter.failed(remote);
      if (await extras.agentReleases(req, res)) return; // agent release downloads (one-time token)
      if (await extras.automation.open(req, res)) return; // result links (one-time token), openapi.json
      if (await handleLibraryRoute(req, res, user, library)) return; // library, publishers, settings, agent downloads
      if (!user) return json(res, 401, { error: 'not authenticated: missing, invalid, expired or revoked API token' });
      if (extras.automation.limited(req, res, token as string)) return; // per-token calls per minute (429)
      if (await extras.automation.routes(req, res, user)) return; // runliveresponse, machineactions

      if (await responses.route(req, res, user)) return; // indicators
      if (await extras.routes(req, res, user)) return; // users, groups, log verify/export
      if (await extras.batches(req, res, user)) return; // batch runs
      if (req.method === 'GET' && url.pathname === '/api/v1/me') return json(res, 200, user);
      if (req.method === 'GET' && url.pathname === '/api/v1/devices') {
        return json(
          res,
          200,
          store
            .listDevices()
            .map((d) => deviceRecord(d, hub.isOnline(d.id), hub.nodeOfDevice(d.id), hub.heardFrom(d.id))),
        );
      }
      const logView = extras.commandLog.view;
      if (req.method === 'GET' && url.pathname.startsWith('/api/v1/log')) await extras.commandLog.ready();
      if (req.method === 'GET' && url.pathname === '/api/v1/log/query')
        return json(res, 200, queryLog(store, logView, url.searchParams));
      if (req.method === 'GET' && url.pathname === '/api/v1/log/facets') return json(res, 200, logView.commandFacets());
      const logEntry = /^\/api\/v1\/log\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
      if (req.method === 'GET' && logEntry) {
        const record = logView.getCommand(logEntry[1] as string);
        return record ? json(res, 200, record) : json(res, 404, { error: `no command ${logEntry[1]} in the log` });
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/log') {
        const deviceRef = url.searchParams.get('device');
        let deviceId: string | undefined;
        if (deviceRef) {
          const d = store.findDevice(deviceRef);
          if ('error' in d) return json(res, 404, { error: d.error });
          deviceId = d.id;
        }
        const limit = Number(url.searchParams.get('limit') ?? '10000');
        const afterSeq = url.searchParams.has('after') ? Number(url.searchParams.get('after')) : undefined;
        if (!Number.isInteger(limit) || limit < 1 || (afterSeq !== undefined && !Number.isInteger(afterSeq)))
          return json(res, 400, { error: 'limit and after must be integers' });
        // Without `after`, a limit keeps the newest entries (`lr log --limit 20`: the last 20 commands).
        const batchId = url.searchParams.get('batch') ?? undefined;
        return json(
          res,
          200,
          logView.listCommands({
            deviceId,
            ...(batchId ? { batchId } : {}),
            limit,
            afterSeq,
            newest: afterSeq === undefined,
          }),
        );
      }
      return json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (e) {
      return json(res, 400, { error: describeError(e) });
    }
  };
}

/**
 * `GET /api/v1/log/query?device=&user=&status=&since=&until=&q=&offset=&limit=`: newest first, one page
 * (limit ≤ 5000) and the number of matches; entries without their output.
 */
function queryLog(
  store: Store,
  logView: Pick<Store, 'queryCommands'>,
  params: URLSearchParams,
): ReturnType<Store['queryCommands']> {
  const q: CommandLogQuery = {};
  const device = params.get('device');
  if (device) {
    const d = store.findDevice(device);
    if ('error' in d) return { total: 0, offset: 0, items: [] };
    q.deviceId = d.id;
  }
  const user = params.get('user');
  if (user) q.user = user;
  const status = params.get('status');
  if (status) {
    if (!(JOB_STATUSES as readonly string[]).includes(status))
      throw new Error(`status must be one of ${JOB_STATUSES.join(', ')}`);
    q.status = status as JobStatus;
  }
  for (const key of ['since', 'until'] as const) {
    const value = params.get(key);
    if (value) {
      if (Number.isNaN(Date.parse(value))) throw new Error(`${key} must be an ISO date-time`);
      q[key] = new Date(value).toISOString();
    }
  }
  const text = params.get('q');
  if (text) q.text = text.slice(0, 500);
  for (const key of ['offset', 'limit'] as const) {
    const value = params.get(key);
    if (value !== null) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a non-negative integer`);
      q[key] = n;
    }
  }
  return logView.queryCommands(q);
}
