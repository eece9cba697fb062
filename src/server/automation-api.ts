/**
 * The automation API's hooks into the REST handler (http.ts): the routes without an API token (result
 * links, the OpenAPI document), the per-token call limits (api-rate-limit.ts) and the vendor-shaped
 * machine action routes (batch/machine-action-routes.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './rest-io.js';
import type { User } from './store.js';
import { ApiRateLimiter, apiRateClassOf } from './api-rate-limit.js';
import {
  isVendorPath,
  MachineActionRoutes,
  sendVendorError,
  type MachineActionDeps,
} from './batch/machine-action-routes.js';
import { renderOpenApi } from './openapi.js';

export interface AutomationApi {
  /** Routes needing no API token; true when handled. */
  open(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Counts an authenticated call; true when it was refused (answered 429 with Retry-After). */
  limited(req: IncomingMessage, res: ServerResponse, token: string): boolean;
  /** The vendor routes; true when handled. */
  routes(req: IncomingMessage, res: ServerResponse, user: User): Promise<boolean>;
}

export function automationApi(
  deps: MachineActionDeps,
  limiter = new ApiRateLimiter(),
): AutomationApi & { actions: MachineActionRoutes } {
  const actions = new MachineActionRoutes(deps);
  let openapi: string | null = null;
  return {
    actions,
    async open(req, res) {
      const path = new URL(req.url ?? '/', 'https://service').pathname;
      if (req.method === 'GET' && path === '/api/v1/openapi.json') {
        openapi ??= renderOpenApi();
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(openapi)),
          'cache-control': 'no-store',
        });
        res.end(openapi);
        return true;
      }
      return actions.openRoute(req, res);
    },
    limited(req, res, token) {
      const path = new URL(req.url ?? '/', 'https://service').pathname;
      const cls = apiRateClassOf(req.method ?? 'GET', path);
      if (!cls) return false;
      const limits = deps.limits();
      const perMinute = cls === 'start' ? limits.apiCallsPerMinute : limits.apiReadsPerMinute;
      const r = limiter.take(token, cls, perMinute);
      if (r.ok) return false;
      req.resume();
      const message = `too many calls: at most ${perMinute} ${cls === 'start' ? 'calls starting work' : 'machine action reads'} per minute per API token; retry in ${r.retryAfterSec} s`;
      const headers = { 'retry-after': String(r.retryAfterSec) };
      if (isVendorPath(path)) sendVendorError(res, 429, 'TooManyRequests', message, headers);
      else sendJson(res, 429, { error: message }, headers);
      return true;
    },
    routes: (req, res, user) => actions.route(req, res, user),
  };
}
