/**
 * Which node of the service an analyst's client talks to. A profile may list several nodes of one
 * cluster (same CA, same users and tokens): a call goes to the node that answered last, and a node that
 * cannot be reached sends it to the next one. A refusal (401, 403, any 4xx) is an answer: every node
 * would say the same, so it is not retried elsewhere.
 */
import { HttpError } from '../node/https-json.js';
import { serviceUrls } from '../node/profile.js';

/** The service answered and said no (e.g. the console WebSocket upgrade refused with 401). */
export class ServiceRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceRefusal';
  }
}

/**
 * What a failed call tells about the node:
 * - `answered`: the service decided (4xx): the same everywhere, do not retry;
 * - `unreached`: the request never reached the service (connection refused, unknown host, TLS failure):
 *   safe to send anywhere else, even a change;
 * - `uncertain`: it may have arrived (reset or timeout mid-request, 5xx): another node is fine for a read,
 *   but a change could be applied twice.
 */
export type FailureKind = 'answered' | 'unreached' | 'uncertain';

const UNREACHED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
]);
/** describeNetError's one-line messages (it keeps no error code) for the failures above. */
const UNREACHED_MESSAGE =
  /: (connection refused|unknown host|timed out)$|did not present a certificate from the pinned CA/;

function errorCode(e: unknown): string | undefined {
  const own = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof own === 'string') return own;
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function failureKind(e: unknown): FailureKind {
  if (e instanceof ServiceRefusal) return 'answered';
  if (e instanceof HttpError) return e.status >= 500 ? 'uncertain' : 'answered';
  const code = errorCode(e);
  if (code && (UNREACHED_CODES.has(code) || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))) return 'unreached';
  if (e instanceof Error && UNREACHED_MESSAGE.test(e.message)) return 'unreached';
  return 'uncertain';
}

export interface UseOptions {
  /**
   * True for reads and for connecting: any failure but an answer moves on to the next node. False for
   * changes (POST, PUT, DELETE): only a request that surely never arrived is sent elsewhere.
   */
  idempotent: boolean;
}

export class ServiceNodes {
  readonly urls: readonly string[];
  /** Index in `urls` of the node tried first: the one that answered last. */
  private preferred = 0;

  constructor(profile: { url: string; urls?: readonly string[] }) {
    this.urls = serviceUrls(profile);
  }

  /** The nodes in the order the next call tries them. */
  order(): string[] {
    return this.urls.map((_, i) => this.urls[(this.preferred + i) % this.urls.length] as string);
  }

  /** The node the next call goes to first. */
  current(): string {
    return this.order()[0] as string;
  }

  /**
   * Runs `attempt` against the nodes in order until one answers (see UseOptions). With one node the
   * error is the node's own; with several, the failures of each, in one line.
   */
  async use<T>(attempt: (url: string) => Promise<T>, opts: UseOptions = { idempotent: true }): Promise<T> {
    const failures: Error[] = [];
    for (const url of this.order()) {
      try {
        const value = await attempt(url);
        this.preferred = this.urls.indexOf(url);
        return value;
      } catch (e) {
        // Cancelled by the caller: not this node's failure, and not to be tried again elsewhere.
        if (e instanceof Error && e.name === 'AbortError') throw e;
        const kind = failureKind(e);
        if (kind === 'answered') {
          this.preferred = this.urls.indexOf(url); // it is up: keep using it
          throw e;
        }
        // This node failed: the next call starts with the one after it, whatever happens now.
        if (this.urls[this.preferred] === url) this.preferred = (this.preferred + 1) % this.urls.length;
        failures.push(e as Error);
        if (kind === 'uncertain' && !opts.idempotent) break;
      }
    }
    if (failures.length === 1) throw failures[0] as Error;
    throw new Error(`no node of the service answered: ${failures.map((f) => f.message).join('; ')}`);
  }
}
