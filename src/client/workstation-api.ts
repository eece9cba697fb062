/**
 * REST calls the workstation needs beyond ServiceApi: who am I, the log viewer's query/facets/entry.
 * Pinned to the profile's CA like every client of the service.
 */
import { Agent, request } from 'node:https';
import { describeNetError, HttpError } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import { ServiceNodes } from './service-nodes.js';
import type { Role } from '../shared/commands/catalog.js';
import type { CommandLogQuery, CommandLogRecord, CommandLogSummary } from '../shared/wire/protocol.js';

export interface Me {
  id: string;
  name: string;
  role: Role;
  libraryManager: boolean;
}

export interface LogPageAnswer {
  total: number;
  offset: number;
  items: CommandLogSummary[];
}

const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class WorkstationApi {
  private readonly nodes: ServiceNodes;
  /** Kept-alive connections (pinned to the profile's CA): the log viewer asks a page at every scroll. */
  private readonly agent: Agent;

  constructor(
    private readonly profile: Profile,
    nodes?: ServiceNodes,
  ) {
    this.nodes = nodes ?? new ServiceNodes(profile);
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, ca: profile.ca });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** Every call here is a read: any node that answers will do. */
  private get<T>(path: string, timeoutMs = 30_000): Promise<T> {
    return this.nodes.use((node) => this.getAt<T>(`${httpsBase(node)}${path}`, timeoutMs));
  }

  private getAt<T>(url: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          agent: this.agent,
          ca: this.profile.ca,
          headers: { accept: 'application/json', authorization: `Bearer ${this.profile.token}` },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new Error(`the service answered with something that is not JSON (HTTP ${status})`));
              return;
            }
            if (status >= 400)
              reject(new HttpError(status, (json as { error?: string } | undefined)?.error ?? `HTTP ${status}`));
            else resolve(json as T);
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer from ${new URL(url).host} within ${timeoutMs / 1000} s`)),
      );
      req.on('error', (e) => reject(Object.assign(describeNetError(e, url), { cause: e })));
      req.end();
    });
  }

  me(): Promise<Me> {
    return this.get('/api/v1/me', 10_000);
  }

  queryLog(q: CommandLogQuery): Promise<LogPageAnswer> {
    const params = new URLSearchParams();
    if (q.deviceId) params.set('device', q.deviceId);
    if (q.user) params.set('user', q.user);
    if (q.status) params.set('status', q.status);
    if (q.since) params.set('since', q.since);
    if (q.until) params.set('until', q.until);
    if (q.text) params.set('q', q.text);
    if (q.offset !== undefined) params.set('offset', String(q.offset));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    return this.get(`/api/v1/log/query?${params}`);
  }

  logFacets(): Promise<{ users: string[]; devices: { id: string; name: string }[] }> {
    return this.get('/api/v1/log/facets');
  }

  /** Device groups with their members (admins; others get 403). */
  groups(): Promise<{ name: string; devices: { id: string; name: string }[] }[]> {
    return this.get('/api/v1/groups');
  }

  logEntry(id: string): Promise<CommandLogRecord> {
    return this.get(`/api/v1/log/${encodeURIComponent(id)}`);
  }
}
