/**
 * HTTPS calls to the automation API as an automation platform makes them: a bearer token (or none, for a
 * result link), JSON in, status, headers and raw bytes out.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { profileSchema, type Profile } from '../../src/node/profile.js';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

export function profileOf(file: string): Profile {
  return profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** `path` is sent as given; `token: null` sends no Authorization header. A full URL is fetched as is. */
export function api(
  profile: Profile,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = profile.token,
): Promise<ApiAnswer> {
  const base = new URL(profile.url.replace(/^wss:/, 'https:'));
  const url = /^https:/.test(path) ? new URL(path) : null;
  const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method,
        hostname: url?.hostname ?? base.hostname,
        port: url?.port ?? base.port,
        path: url ? url.pathname + url.search : path,
        ca: profile.ca,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          let json: unknown;
          if (String(res.headers['content-type'] ?? '').startsWith('application/json'))
            json = JSON.parse(bytes.toString('utf8'));
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, json });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A vendor command body. */
export const vendorCommand = {
  runScript: (name: string, args?: string) => ({
    type: 'RunScript',
    params: [{ key: 'ScriptName', value: name }, ...(args === undefined ? [] : [{ key: 'Args', value: args }])],
  }),
  getFile: (path: string) => ({ type: 'GetFile', params: [{ key: 'Path', value: path }] }),
  putFile: (name: string) => ({ type: 'PutFile', params: [{ key: 'FileName', value: name }] }),
};
