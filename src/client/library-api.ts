/**
 * The analyst's client of the library, publishers and settings REST routes, pinned to the profile's CA.
 * Uploads stream the file from disk into the request (never read whole), with progress; the answer is
 * read even when the service refuses half-way (413), so the user sees the service's one-line reason.
 * With a cluster profile, reads go to any node that answers; changes move to another node only when
 * they surely never reached the first (service-nodes.ts), so nothing is applied twice.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { describeNetError, HttpError, httpsJson, validated } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import { ServiceNodes } from './service-nodes.js';
import {
  libraryRecordSchema,
  publisherRecordSchema,
  tenantSettingsSchema,
  uploadResultSchema,
  type LibraryRecord,
  type PublisherRecord,
  type TenantSettingsRecord,
  type UploadResult,
} from '../shared/wire/library-records.js';

export interface UploadOptions {
  name: string;
  description?: string;
  parametersDescription?: string;
  parametersExample?: string;
  overwrite?: boolean;
  signature?: string;
  publisher?: string;
  onProgress?(sent: number, total: number): void;
}

const MAX_ANSWER = 64 * 1024;

function readAnswer(res: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (text.length < MAX_ANSWER) text += c;
    });
    res.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch {
        reject(new Error(`the service answered with something that is not JSON (HTTP ${res.statusCode})`));
      }
    });
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete)
        reject(new Error(`the connection closed before the service's answer was complete (HTTP ${res.statusCode})`));
    });
  });
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class LibraryApi {
  private readonly nodes: ServiceNodes;

  constructor(
    private readonly profile: Profile,
    nodes?: ServiceNodes,
  ) {
    this.nodes = nodes ?? new ServiceNodes(profile);
  }

  private request(path: string, method: Method, body?: unknown): Promise<unknown> {
    return this.nodes.use(
      (node) =>
        httpsJson<unknown>(`${httpsBase(node)}${path}`, {
          method,
          ca: this.profile.ca,
          token: this.profile.token,
          body,
        }),
      { idempotent: method === 'GET' },
    );
  }

  private call<T>(schema: z.ZodType<T>, path: string, method: Method = 'GET', body?: unknown): Promise<T> {
    return this.request(path, method, body).then((v) => validated(schema, v, path));
  }

  list(): Promise<LibraryRecord[]> {
    return this.call(libraryRecordSchema.array(), '/api/v1/library');
  }

  async delete(name: string): Promise<void> {
    await this.request(`/api/v1/library/${encodeURIComponent(name)}`, 'DELETE');
  }

  publishers(): Promise<PublisherRecord[]> {
    return this.call(publisherRecordSchema.array(), '/api/v1/publishers');
  }

  addPublisher(name: string, publicKey: string): Promise<PublisherRecord> {
    return this.call(publisherRecordSchema, '/api/v1/publishers', 'POST', { name, publicKey });
  }

  async deletePublisher(name: string): Promise<void> {
    await this.request(`/api/v1/publishers/${encodeURIComponent(name)}`, 'DELETE');
  }

  settings(): Promise<TenantSettingsRecord> {
    return this.call(tenantSettingsSchema, '/api/v1/settings');
  }

  /** Changes tenant settings (admins): any of unsignedScripts, liveResponse, liveResponseServers, limits. */
  updateSettings(update: {
    unsignedScripts?: boolean;
    liveResponse?: boolean;
    liveResponseServers?: boolean;
    limits?: Record<string, number>;
  }): Promise<TenantSettingsRecord> {
    return this.call(tenantSettingsSchema, '/api/v1/settings', 'PUT', update);
  }

  setUnsignedScripts(allowed: boolean): Promise<TenantSettingsRecord> {
    return this.call(tenantSettingsSchema, '/api/v1/settings', 'PUT', { unsignedScripts: allowed });
  }

  /** Streams `file` to the library as `opts.name`. */
  async upload(file: string, opts: UploadOptions): Promise<UploadResult> {
    const st = await stat(file);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    return this.nodes.use((node) => this.uploadTo(httpsBase(node), file, st.size, opts), { idempotent: false });
  }

  private uploadTo(base: string, file: string, total: number, opts: UploadOptions): Promise<UploadResult> {
    const query = new URLSearchParams();
    if (opts.description) query.set('description', opts.description);
    if (opts.parametersDescription) query.set('parametersDescription', opts.parametersDescription);
    if (opts.parametersExample) query.set('parametersExample', opts.parametersExample);
    if (opts.overwrite) query.set('overwrite', 'true');
    if (opts.signature) query.set('signature', opts.signature);
    if (opts.publisher) query.set('publisher', opts.publisher);
    const url = new URL(base);
    const options: RequestOptions = {
      method: 'PUT',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || 443,
      // An explicit path (not a URL) so that the name reaches the service exactly as given.
      path: `/api/v1/library/${encodeURIComponent(opts.name)}${query.size ? `?${query}` : ''}`,
      ca: this.profile.ca,
      headers: {
        authorization: `Bearer ${this.profile.token}`,
        'content-type': 'application/octet-stream',
        'content-length': String(total),
        accept: 'application/json',
      },
    };
    return new Promise<UploadResult>((resolve, reject) => {
      const source = createReadStream(file);
      const req = request(options);
      let answered = false;
      let sent = 0;
      source.on('data', (chunk) => {
        sent += chunk.length;
        opts.onProgress?.(sent, total);
      });
      source.on('error', (e) => {
        req.destroy();
        reject(new Error(`cannot read ${file}: ${e.message}`));
      });
      req.on('response', (res) => {
        answered = true;
        if ((res.statusCode ?? 0) >= 400) source.unpipe(req); // refused: stop sending, read the reason
        readAnswer(res).then(
          (body) => {
            source.destroy();
            req.destroy();
            const status = res.statusCode ?? 0;
            if (status >= 400)
              reject(new HttpError(status, (body as { error?: string } | undefined)?.error ?? `HTTP ${status}`));
            else {
              try {
                resolve(validated(uploadResultSchema, body, 'the upload'));
              } catch (e) {
                reject(e as Error);
              }
            }
          },
          (e: Error) => reject(e),
        );
      });
      req.on('error', (e) => {
        source.destroy(); // the file is read again from the start if another node is tried
        // A refusal may close the connection while we still write: the answer, when it came, is what counts.
        if (!answered) reject(Object.assign(describeNetError(e, base), { cause: e }));
      });
      source.pipe(req);
    });
  }
}
