/**
 * Calls per API token per minute on the automation routes, as the vendor limits its API: starting work
 * (`runliveresponse`, `POST /api/v1/batches`, `POST /api/v1/devices/{device}/commands`) is limited to
 * `limits.apiCallsPerMinute` (10, the vendor's
 * figure), reading machine actions and their result links to `limits.apiReadsPerMinute` (100, the
 * vendor's figure for those routes). A sliding window: the 11th call within any 60 seconds is answered 429
 * with Retry-After (the seconds until the oldest call leaves the window). Refused calls do not count.
 * Other routes (the console, the inventory, our batch reads that `lr batch` and the workstation poll)
 * are not limited here. Per node: in a cluster each node counts its own calls.
 */
import { createHash } from 'node:crypto';

export const API_RATE_WINDOW_MS = 60_000;
/** Tokens remembered at most (the least recently used are forgotten first). */
const MAX_TOKENS = 10_000;

export type ApiRateClass = 'start' | 'read';

/** Which budget a request draws on, or null when it is not limited. */
export function apiRateClassOf(method: string, path: string): ApiRateClass | null {
  if (
    method === 'POST' &&
    (path === '/api/v1/batches' ||
      /^\/api\/v1\/(machines\/[^/]+\/runliveresponse|devices\/[^/]+\/commands)$/i.test(path))
  )
    return 'start';
  if (/^\/api\/v1\/machineactions(\/|$)/i.test(path)) return 'read';
  return null;
}

export class ApiRateLimiter {
  /** Per token and class: the times of the calls inside the window, oldest first. */
  private readonly calls = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Counts one call of `token` (its id: never the secret) in `cls` when under `perMinute`; else answers
   * the seconds to wait (the call is not counted).
   */
  take(token: string, cls: ApiRateClass, perMinute: number): { ok: true } | { ok: false; retryAfterSec: number } {
    const key = `${cls}:${createHash('sha256').update(token).digest('hex')}`;
    const t = this.now();
    const times = (this.calls.get(key) ?? []).filter((c) => c > t - API_RATE_WINDOW_MS);
    this.calls.delete(key); // re-inserted below: the map's order is least recently used first
    if (times.length >= perMinute) {
      this.calls.set(key, times);
      const oldest = times[times.length - perMinute] as number;
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((oldest + API_RATE_WINDOW_MS - t) / 1000)) };
    }
    times.push(t);
    if (this.calls.size >= MAX_TOKENS) {
      const lru = this.calls.keys().next().value;
      if (lru !== undefined) this.calls.delete(lru);
    }
    this.calls.set(key, times);
    return { ok: true };
  }
}
