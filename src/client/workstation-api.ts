/**
 * REST calls the workstation needs beyond ServiceApi: who am I, the log viewer's query/facets/entry.
 * Pinned to the profile's CA like every client of the service.
 */
import { httpsJson } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import type { Role } from '../shared/catalog.js';
import type { CommandLogQuery, CommandLogRecord, CommandLogSummary } from '../shared/protocol.js';

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

export class WorkstationApi {
  private readonly base: string;

  constructor(private readonly profile: Profile) {
    this.base = httpsBase(profile.url);
  }

  private get<T>(path: string, timeoutMs?: number): Promise<T> {
    return httpsJson<T>(`${this.base}${path}`, { ca: this.profile.ca, token: this.profile.token, timeoutMs });
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

  logEntry(id: string): Promise<CommandLogRecord> {
    return this.get(`/api/v1/log/${encodeURIComponent(id)}`);
  }
}
