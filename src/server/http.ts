/** REST routes (JSON over HTTPS): enrollment, devices, command log, whoami. Bodies are size-limited. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { enrollRequest, type DeviceRecord } from '../shared/protocol.js';
import type { Store, User } from './store.js';
import type { AgentHub } from './agent-hub.js';
import type { Logger } from '../node/log.js';

const MAX_JSON_BODY = 64 * 1024;

export function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h || !h.startsWith('Bearer ')) return null;
  return h.slice(7).trim();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), 'cache-control': 'no-store' });
  res.end(s);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_JSON_BODY) {
        reject(new Error(`request body too large (max ${MAX_JSON_BODY} bytes)`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

export function deviceRecord(d: ReturnType<Store['listDevices']>[number], online: boolean): DeviceRecord {
  return { id: d.id, name: d.name, hostname: d.hostname, os: d.os, platform: d.platform, agentVersion: d.agentVersion, online, lastSeen: d.lastSeen, isolated: d.isolated, enrolledAt: d.enrolledAt };
}

export function createRestHandler(store: Store, hub: AgentHub, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://service');
    try {
      if (req.method === 'POST' && url.pathname === '/api/v1/enroll') {
        const body = enrollRequest.safeParse(await readJson(req));
        if (!body.success) return json(res, 400, { error: `invalid enrollment request: ${body.error.issues[0]?.path.join('.')}: ${body.error.issues[0]?.message}` });
        const r = store.enrollDevice(body.data.token, body.data.info, body.data.publicKey);
        if (!r.ok) {
          log.warn('enrollment refused', { reason: r.error });
          return json(res, 403, { error: r.error });
        }
        log.info('device enrolled', { deviceId: r.deviceId, name: body.data.info.name });
        return json(res, 200, { deviceId: r.deviceId });
      }
      const token = bearer(req);
      const user: User | null = token ? store.authenticate(token) : null;
      if (!user) return json(res, 401, { error: 'not authenticated: missing, invalid, expired or revoked API token' });

      if (req.method === 'GET' && url.pathname === '/api/v1/me') return json(res, 200, user);
      if (req.method === 'GET' && url.pathname === '/api/v1/devices') {
        return json(res, 200, store.listDevices().map((d) => deviceRecord(d, hub.isOnline(d.id))));
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/log') {
        const deviceRef = url.searchParams.get('device');
        let deviceId: string | undefined;
        if (deviceRef) {
          const d = store.findDevice(deviceRef);
          if ('error' in d) return json(res, 404, { error: d.error });
          deviceId = d.id;
        }
        const limit = Number(url.searchParams.get('limit') ?? '10000');
        const afterSeq = url.searchParams.has('after') ? Number(url.searchParams.get('after')) : undefined;
        if (!Number.isInteger(limit) || limit < 1 || (afterSeq !== undefined && !Number.isInteger(afterSeq))) return json(res, 400, { error: 'limit and after must be integers' });
        return json(res, 200, store.listCommands({ deviceId, limit, afterSeq }));
      }
      return json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (e) {
      return json(res, 400, { error: (e as Error).message });
    }
  };
}
