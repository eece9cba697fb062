/** HTTPS JSON requests pinned to one CA (the service's own): no system CAs, no "accept any certificate". */
import { request } from 'node:https';
import type { z } from 'zod';

export interface HttpsJsonOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  ca: string;
  token?: string;
  body?: unknown;
  timeoutMs?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const MAX_RESPONSE = 64 * 1024 * 1024;

export function httpsJson<T>(url: string, opts: HttpsJsonOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        headers: {
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE) {
            req.destroy(new Error('response too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON: reported below */
          }
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const msg = (json as { error?: string } | undefined)?.error ?? `HTTP ${status}`;
            reject(new HttpError(status, msg));
          } else if (json === undefined && text) {
            reject(new Error(`service answered with something that is not JSON (HTTP ${status})`));
          } else {
            resolve(json as T);
          }
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${new URL(url).host} within ${(opts.timeoutMs ?? 30_000) / 1000} s`)),
    );
    req.on('error', (e) => reject(describeNetError(e, url)));
    if (body) req.write(body);
    req.end();
  });
}

/** Turns socket/TLS errors into one line an analyst understands. */
export function describeNetError(e: Error, url: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const host = new URL(url).host;
  // The original error stays as the cause: clients that fail over (service-nodes.ts) read its code.
  const err = (message: string) => new Error(message, { cause: e });
  if (code === 'ECONNREFUSED') return err(`cannot reach the service at ${host}: connection refused`);
  if (code === 'ENOTFOUND') return err(`cannot reach the service at ${host}: unknown host`);
  if (code === 'ETIMEDOUT') return err(`cannot reach the service at ${host}: timed out`);
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code))
    return err(`the service at ${host} did not present a certificate from the pinned CA (${code})`);
  return err(`cannot reach the service at ${host}: ${e.message}`);
}

/** A service answer checked against its schema; one line naming the first problem otherwise. */
export function validated<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new Error(
      `the service answered ${what} in an unexpected form: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`.trim(),
    );
  return r.data;
}
