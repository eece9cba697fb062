/**
 * LOCAL STAND-IN for the lead's BatchApi (replaced when main is merged): the `/api/v1/batches` routes.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { describeNetError, HttpError, httpsJson } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import { ServiceNodes } from './service-nodes.js';
import { batchList, batchRecord, batchResults, type BatchCreateRequest, type BatchRecord, type BatchResults, type BatchSummary } from '../shared/batch.js';

export class BatchApi {
  private readonly nodes: ServiceNodes;
  constructor(private readonly profile: Profile) {
    this.nodes = new ServiceNodes(profile);
  }

  private json(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<unknown> {
    return this.nodes.use((n) => httpsJson<unknown>(`${httpsBase(n)}${path}`, { method, ca: this.profile.ca, token: this.profile.token, body }), { idempotent: method === 'GET' });
  }

  private raw(path: string): Promise<IncomingMessage> {
    return this.nodes.use(
      (n) =>
        new Promise<IncomingMessage>((resolve, reject) => {
          const url = `${httpsBase(n)}${path}`;
          const req = request(url, { ca: this.profile.ca, headers: { authorization: `Bearer ${this.profile.token}` }, timeout: 60_000 }, (res) => {
            if ((res.statusCode ?? 0) < 400) return resolve(res);
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => {
              let msg = `HTTP ${res.statusCode}`;
              try {
                msg = (JSON.parse(text) as { error?: string }).error ?? msg;
              } catch {
                /* keep HTTP n */
              }
              reject(new HttpError(res.statusCode ?? 0, msg));
            });
          });
          req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
          req.on('error', (e) => reject(describeNetError(e, url)));
          req.end();
        }),
    );
  }

  async create(req: BatchCreateRequest): Promise<BatchRecord> {
    return batchRecord.parse(await this.json('/api/v1/batches', 'POST', req));
  }
  async list(limit = 50): Promise<BatchSummary[]> {
    return batchList.parse(await this.json(`/api/v1/batches?limit=${limit}`)).items;
  }
  async get(id: string): Promise<BatchRecord> {
    return batchRecord.parse(await this.json(`/api/v1/batches/${encodeURIComponent(id)}`));
  }
  async cancel(id: string): Promise<BatchRecord> {
    return batchRecord.parse(await this.json(`/api/v1/batches/${encodeURIComponent(id)}/cancel`, 'POST'));
  }
  private query(o: { device?: string; step?: number }, format?: string): string {
    const q = new URLSearchParams();
    if (o.device) q.set('device', o.device);
    if (o.step !== undefined) q.set('step', String(o.step));
    if (format) q.set('format', format);
    return q.size ? `?${q}` : '';
  }
  async results(id: string, o: { device?: string; step?: number } = {}): Promise<BatchResults> {
    return batchResults.parse(await this.json(`/api/v1/batches/${encodeURIComponent(id)}/results${this.query(o)}`));
  }
  async resultsCsv(id: string, o: { device?: string; step?: number } = {}): Promise<string> {
    const res = await this.raw(`/api/v1/batches/${encodeURIComponent(id)}/results${this.query(o, 'csv')}`);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  /** Streams one device's step file to `file` (via `file.part`); its SHA-256 must be the service's. */
  async downloadFile(id: string, deviceId: string, step: number, file: string): Promise<{ path: string; size: number; sha256: string }> {
    const res = await this.raw(`/api/v1/batches/${encodeURIComponent(id)}/files/${encodeURIComponent(deviceId)}/${step}`);
    const expected = String(res.headers['x-content-sha256'] ?? '');
    const part = `${file}.part`;
    const out = createWriteStream(part);
    const hash = createHash('sha256');
    let size = 0;
    for await (const c of res) {
      hash.update(c as Buffer);
      size += (c as Buffer).length;
      if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
    const sha256 = hash.digest('hex');
    if (expected && sha256 !== expected) {
      rmSync(part, { force: true });
      throw new Error(`${file}: SHA-256 ${sha256} is not the service's ${expected}`);
    }
    renameSync(part, file);
    return { path: file, size, sha256 };
  }
}
