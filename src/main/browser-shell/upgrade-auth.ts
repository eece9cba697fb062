/**
 * Who may open the browser shell's API socket. The upgrade request must
 *   - target /ipc,
 *   - carry this run's session cookie (set once, in exchange for the one-time launch token: see
 *     shell-session.ts; 401 otherwise),
 *   - come from a page of our own origin (`Origin` exactly http://127.0.0.1:PORT, or the dev server's
 *     origin in `npm run dev`; 403 otherwise), which stops other web pages,
 *   - name our own host (`Host`; 403 otherwise), which stops DNS rebinding.
 * Refused upgrades never reach the WebSocket server.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const IPC_SOCKET_PATH = '/ipc';

export interface UpgradePolicy {
  /** True when the request's `Cookie` header carries a live session. */
  readonly hasSession: (cookieHeader: string | undefined) => boolean;
  /** Exact `Origin` header values accepted. */
  readonly allowedOrigins: readonly string[];
  /** Exact `Host` header values accepted. */
  readonly allowedHosts: readonly string[];
}

export type UpgradeDecision =
  { readonly ok: true } | { readonly ok: false; readonly status: 400 | 401 | 403 | 404; readonly reason: string };

export function checkUpgrade(
  request: { url?: string | undefined; headers: IncomingHttpHeaders },
  policy: UpgradePolicy,
): UpgradeDecision {
  let target: URL;
  try {
    target = new URL(request.url ?? '', 'http://127.0.0.1');
  } catch {
    return { ok: false, status: 400, reason: 'bad request target' };
  }
  if (!isAllowedHost(request.headers, policy.allowedHosts))
    return { ok: false, status: 403, reason: 'host not allowed' };
  if (target.pathname !== IPC_SOCKET_PATH) return { ok: false, status: 404, reason: 'no such socket' };
  if (!policy.hasSession(request.headers.cookie))
    return { ok: false, status: 401, reason: 'no session: open the launch link first' };
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !policy.allowedOrigins.includes(origin)) {
    return { ok: false, status: 403, reason: 'origin not allowed' };
  }
  return { ok: true };
}

/** The `Host` check shared by every request (static files, the launch link, /ipc). */
export function isAllowedHost(headers: IncomingHttpHeaders, allowedHosts: readonly string[]): boolean {
  const host = headers.host;
  return typeof host === 'string' && allowedHosts.includes(host);
}
