/**
 * Service side of the response actions:
 * - the tenant's hash indicators (table `indicators`): REST `GET /api/v1/indicators` (advanced),
 *   `POST /api/v1/indicators` and `DELETE /api/v1/indicators/:sha256` (admin);
 * - the `analyze` preparer: passes the indicator SHA-256s (bounded) and one-time download URLs of the
 *   library's YARA rule files to the agent, which computes the file's hash itself and decides;
 * - the device's isolation flag: set when an `isolate` / `release` job completes (the agent also reports
 *   it in every hello, so a restart keeps it right).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { roleAllows } from '../shared/commands/catalog.js';
import { httpsBase } from '../node/profile.js';
import type { Db } from './db.js';
import type { LibraryService } from './library-service.js';
import type { Pipeline } from './pipeline.js';
import { readJsonBody, RestError, sendJson } from './rest-io.js';
import type { Store, User } from './store.js';
import { describeError } from '../shared/errors.js';

/** At most this many indicators travel with an analyze job (the job frame is bounded). */
export const MAX_JOB_INDICATORS = 5000;
/** At most this many YARA rule files are fetched by one analyze job. */
const MAX_YARA_FILES = 20;
const SHA256 = /^[0-9a-f]{64}$/;

export interface IndicatorRecord {
  sha256: string;
  description: string;
  addedBy: string;
  addedAt: string;
}

const addBody = z.object({
  sha256: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.string().regex(SHA256, 'a SHA-256 is 64 hex digits')),
  description: z.string().max(500).optional(),
});

export class ResponseActions {
  constructor(
    private readonly db: Db,
    private readonly publicUrl: string,
    private readonly store: Store,
  ) {}

  listIndicators(): IndicatorRecord[] {
    return (
      this.db
        .prepare('SELECT sha256, description, added_by, added_at FROM indicators ORDER BY added_at, sha256')
        .all() as Record<string, string>[]
    ).map((r) => ({
      sha256: r.sha256 as string,
      description: r.description as string,
      addedBy: r.added_by as string,
      addedAt: r.added_at as string,
    }));
  }

  addIndicator(sha256: string, description: string, by: string): { record: IndicatorRecord; created: boolean } {
    const existing = this.db.prepare('SELECT 1 FROM indicators WHERE sha256 = ?').get(sha256);
    const record = { sha256, description, addedBy: by, addedAt: new Date().toISOString() };
    this.db
      .prepare('INSERT OR REPLACE INTO indicators (sha256, description, added_by, added_at) VALUES (?, ?, ?, ?)')
      .run(sha256, description, by, record.addedAt);
    return { record, created: !existing };
  }

  deleteIndicator(sha256: string): boolean {
    return this.db.prepare('DELETE FROM indicators WHERE sha256 = ?').run(sha256).changes > 0;
  }

  setIsolated(deviceId: string, isolated: boolean): void {
    this.store.setIsolated(deviceId, isolated);
  }

  /** Registers the analyze preparer and the isolation hook. */
  attach(pipeline: Pipeline, library: LibraryService): void {
    pipeline.prepare('analyze', ({ session, params }) => {
      const all = (
        this.db.prepare('SELECT sha256 FROM indicators ORDER BY added_at DESC LIMIT ?').all(MAX_JOB_INDICATORS) as {
          sha256: string;
        }[]
      ).map((r) => r.sha256);
      const total = (this.db.prepare('SELECT COUNT(*) AS n FROM indicators').get() as { n: number }).n;
      const rules = library.files
        .list()
        .filter((f) => /\.(yar|yara)$/i.test(f.name))
        .slice(0, MAX_YARA_FILES)
        .map((f) => ({
          name: f.name,
          sha256: f.sha256,
          size: f.size,
          url: `${httpsBase(this.publicUrl)}/api/v1/agent/files/${library.tokens.issue({ name: f.name, deviceId: session.device.id, sha256: f.sha256 })}`,
        }));
      return {
        params: { ...params, _indicators: all.join(','), _indicatorsTotal: total, _yara: JSON.stringify(rules) },
      };
    });
    pipeline.onFinished((job, status) => {
      if (status !== 'completed') return;
      if (job.spec.name === 'isolate') this.setIsolated(job.session.device.id, true);
      if (job.spec.name === 'release') this.setIsolated(job.session.device.id, false);
    });
  }

  /** The indicators' REST routes; false when the request is not one of them. */
  async route(req: IncomingMessage, res: ServerResponse, user: User): Promise<boolean> {
    const rawPath = (req.url ?? '/').split('?', 1)[0] ?? '';
    if (!rawPath.startsWith('/api/v1/indicators')) return false;
    try {
      const method = req.method ?? 'GET';
      if (rawPath === '/api/v1/indicators' && method === 'GET') {
        if (!roleAllows(user.role, 'advanced'))
          throw new RestError(403, `refused: listing indicators needs the advanced role (you are ${user.role})`);
        sendJson(res, 200, this.listIndicators());
        return true;
      }
      if (user.role !== 'admin')
        throw new RestError(403, `refused: managing indicators needs the admin role (you are ${user.role})`);
      if (rawPath === '/api/v1/indicators' && method === 'POST') {
        const body = await readJsonBody(req, addBody);
        const { record, created } = this.addIndicator(body.sha256, body.description ?? '', user.name);
        sendJson(res, created ? 201 : 200, record);
        return true;
      }
      const item = /^\/api\/v1\/indicators\/([^/]+)$/.exec(rawPath);
      if (item && method === 'DELETE') {
        const sha = (item[1] as string).toLowerCase();
        if (!SHA256.test(sha)) throw new RestError(400, 'a SHA-256 is 64 hex digits');
        if (!this.deleteIndicator(sha)) throw new RestError(404, `no indicator ${sha}`);
        sendJson(res, 200, { deleted: sha });
        return true;
      }
      throw new RestError(404, `no route ${method} ${rawPath}`);
    } catch (e) {
      req.resume();
      if (e instanceof RestError) sendJson(res, e.status, { error: e.message });
      else sendJson(res, 400, { error: describeError(e) });
      return true;
    }
  }
}
