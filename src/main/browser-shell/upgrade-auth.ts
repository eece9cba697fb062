/**
 * Who may open the browser shell's API socket. The upgrade request must
 *   - target /ipc,
 *   - carry the run's token (`?token=`; 401 otherwise),
 *   - come from a page of our own origin (`Origin` exactly http://127.0.0.1:PORT, or the dev server's
 *     origin in `npm run dev`; 403 otherwise), which stops other web pages and DNS rebinding,
 *   - name our own host (`Host`; 403 otherwise).
 * Refused upgrades never reach the WebSocket server.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { tokensMatch } from './token.js';

export const IPC_SOCKET_PATH = '/ipc';

export interface UpgradePolicy {
  readonly token: string;
  /** Exact `Origin` header values accepted. */
  readonly allowedOrigins: readonly string[];
  /** Exact `Host` header values accepted. */
  readonly allowedHosts: readonly string[];
}

export type UpgradeDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 400 | 401 | 403 | 404; readonly reason: string };

export function checkUpgrade(request: { url?: string | undefined; headers: IncomingHttpHeaders }, policy: UpgradePolicy): UpgradeDecision {
  let target: URL;
  try {
    target = new URL(request.url ?? '', 'http://127.0.0.1');
  } catch {
    return { ok: false, status: 400, reason: 'bad request target' };
  }
  if (target.pathname !== IPC_SOCKET_PATH) return { ok: false, status: 404, reason: 'no such socket' };
  if (!tokensMatch(target.searchParams.get('token'), policy.token)) return { ok: false, status: 401, reason: 'missing or wrong token' };
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !policy.allowedOrigins.includes(origin)) {
    return { ok: false, status: 403, reason: 'origin not allowed' };
  }
  const host = request.headers.host;
  if (typeof host !== 'string' || !policy.allowedHosts.includes(host)) return { ok: false, status: 403, reason: 'host not allowed' };
  return { ok: true };
}
