/**
 * The analyst's client of the batch routes (`/api/v1/batches`), pinned to the profile's CA: `lr batch` and
 * the workstation. Answers are validated against the contract (shared/wire/batch.ts). Pulled files are streamed
 * to disk and checked against the SHA-256 the service announces (which it checked against the agent's).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { z } from 'zod';
import {
  batchList,
  batchRecord,
  batchResults,
  deviceCommandAnswer,
  type DeviceCommandAnswer,
  type BatchCreateRequest,
  type BatchRecord,
  type BatchResults,
  type BatchSummary,
} from '../shared/wire/batch.js';
import { describeNetError, HttpError, httpsJson, validated } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import { ServiceNodes } from './service-nodes.js';

type Method = 'GET' | 'POST';

export class BatchApi {
  private readonly nodes: ServiceNodes;

  constructor(
    private readonly profile: Profile,
    nodes?: ServiceNodes,
  ) {
    this.nodes = nodes ?? new ServiceNodes(profile);
  }

  private call<T>(schema: z.ZodType<T>, path: string, method: Method = 'GET', body?: unknown): Promise<T> {
    return this.nodes
      .use(
        (node) =>
          httpsJson<unknown>(`${httpsBase(node)}${path}`, {
            method,
            ca: this.profile.ca,
            token: this.profile.token,
            body,
          }),
        { idempotent: method === 'GET' },
      )
      .then((v) => validated(schema, v, path));
  }

  create(request: BatchCreateRequest): Promise<BatchRecord> {
    return this.call(batchRecord, '/api/v1/batches', 'POST', request);
  }

  /** One console command line on one device; answers with the results when it ends within `waitSec`. */
  command(
    device: string,
    line: string,
    o: { waitSec?: number; expiresInSec?: number; comment?: string } = {},
  ): Promise<DeviceCommandAnswer> {
    return this.call(deviceCommandAnswer, `/api/v1/devices/${encodeURIComponent(device)}/commands`, 'POST', {
      line,
      ...o,
    });
  }

  list(limit = 100): Promise<BatchSummary[]> {
    return this.call(batchList, `/api/v1/batches?limit=${limit}`).then((r) => r.items);
  }

  get(id: string): Promise<BatchRecord> {
    return this.call(batchRecord, `/api/v1/batches/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<BatchRecord> {
    return this.call(batchRecord, `/api/v1/batches/${encodeURIComponent(id)}/cancel`, 'POST', {});
  }

  /** `limit`: at most this many rows (the table says when it was cut: `truncated`). */
  results(id: string, o: { device?: string; step?: number; limit?: number } = {}): Promise<BatchResults> {
    return this.call(batchResults, `/api/v1/batches/${encodeURIComponent(id)}/results${query(o)}`);
  }

  /** The merged table as CSV, as the service renders it (RFC 4180, formulas defused). */
  resultsCsv(id: string, o: { device?: string; step?: number } = {}): Promise<string> {
    const q = query({ ...o, format: 'csv' });
    return this.nodes.use(
      (node) => this.fetchText(`${httpsBase(node)}/api/v1/batches/${encodeURIComponent(id)}/results${q}`),
      { idempotent: true },
    );
  }

  /** A step's text output (scripts). */
  text(id: string, deviceId: string, step: number): Promise<string> {
    return this.nodes.use(
      (node) =>
        this.fetchText(
          `${httpsBase(node)}/api/v1/batches/${encodeURIComponent(id)}/text/${encodeURIComponent(deviceId)}/${step}`,
        ),
      { idempotent: true },
    );
  }

  /**
   * Downloads a file a step pulled to `dest` (written to `dest.part` first), checks its SHA-256 against
   * `expectedSha256` (from the batch record), and answers the hash. A mismatch deletes the file.
   * Aborting `signal` stops the request and deletes the partial file; the download fails with an AbortError.
   */
  downloadFile(
    id: string,
    deviceId: string,
    step: number,
    dest: string,
    expectedSha256: string,
    signal?: AbortSignal,
  ): Promise<{ sha256: string; size: number }> {
    const path = `/api/v1/batches/${encodeURIComponent(id)}/files/${encodeURIComponent(deviceId)}/${step}`;
    return this.nodes.use((node) => this.fetchFile(`${httpsBase(node)}${path}`, dest, expectedSha256, signal), {
      idempotent: true,
    });
  }

  private fetchText(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { ca: this.profile.ca, headers: { authorization: `Bearer ${this.profile.token}` }, timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) reject(new HttpError(status, errorOf(text, status)));
            else resolve(text);
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${new URL(url).host} within 60 s`)));
      req.on('error', (e) => reject(describeNetError(e, url)));
      req.end();
    });
  }

  private fetchFile(
    url: string,
    dest: string,
    expectedSha256: string,
    signal?: AbortSignal,
  ): Promise<{ sha256: string; size: number }> {
    const part = `${dest}.part`;
    return new Promise<{ sha256: string; size: number }>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(dest));
        return;
      }
      let out: ReturnType<typeof createWriteStream> | undefined;
      const onAbort = (): void => {
        const cancelled = abortError(dest);
        reject(cancelled);
        req.destroy(cancelled);
        // The partial file goes once its stream has closed (a write may still be under way).
        if (out && !out.closed) out.destroy().once('close', () => rmSync(part, { force: true }));
        else rmSync(part, { force: true });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle =
        <A extends unknown[]>(f: (...args: A) => void) =>
        (...args: A): void => {
          signal?.removeEventListener('abort', onAbort);
          f(...args);
        };
      resolve = settle(resolve);
      reject = settle(reject);
      const req = request(
        url,
        { ca: this.profile.ca, headers: { authorization: `Bearer ${this.profile.token}` }, timeout: 60_000 },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => reject(new HttpError(status, errorOf(Buffer.concat(chunks).toString('utf8'), status))));
            return;
          }
          out = createWriteStream(part, { mode: 0o600 });
          const hash = createHash('sha256');
          let size = 0;
          res.on('data', (c: Buffer) => {
            hash.update(c);
            size += c.length;
          });
          res.on('error', (e) => reject(describeNetError(e, url)));
          res.pipe(out);
          out.on('finish', () => {
            const sha256 = hash.digest('hex');
            if (!res.complete) {
              rmSync(part, { force: true });
              reject(new Error(`the download of ${dest} was cut after ${size} bytes`));
            } else if (sha256 !== expectedSha256) {
              rmSync(part, { force: true });
              reject(
                new Error(
                  `SHA-256 mismatch for ${dest}: expected ${expectedSha256}, received bytes hash to ${sha256}; the file was discarded`,
                ),
              );
            } else {
              renameSync(part, dest);
              resolve({ sha256, size });
            }
          });
          out.on('error', (e) => reject(new Error(`cannot write ${dest}: ${e.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${new URL(url).host} within 60 s`)));
      req.on('error', (e) => reject(describeNetError(e, url)));
      req.end();
    });
  }
}

/** A cancelled download: ServiceNodes does not try it on another node. */
function abortError(dest: string): Error {
  const e = new Error(`the download of ${dest} was cancelled`);
  e.name = 'AbortError';
  return e;
}

function query(o: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined) q.set(k, String(v));
  return q.size ? `?${q}` : '';
}

function errorOf(text: string, status: number): string {
  try {
    return (JSON.parse(text) as { error?: string }).error ?? `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
}
