/**
 * Helpers for the library, putfile and run tests: raw HTTPS requests to the service (to reach it with
 * what the CLI would refuse first), Ed25519 keys, and a /proc scan for processes a test left behind.
 */
import { request } from 'node:https';
import { readFileSync, readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { profileSchema, type Profile } from '../../src/node/profile.js';

export function loadProfile(file: string): Profile {
  return profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export interface RawAnswer {
  status: number;
  body: { error?: string } & Record<string, unknown>;
}

/**
 * Sends one request exactly as given (the path is not normalised, so `..` reaches the service), with the
 * profile's token and pinned CA. `body` may be a stream (sent chunked unless `contentLength` is set).
 */
export function rawRequest(
  profile: Profile,
  method: string,
  path: string,
  body?: Buffer | Readable,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const url = new URL(profile.url.replace(/^wss:/, 'https:'));
  return new Promise((resolve, reject) => {
    const req = request({
      method,
      hostname: url.hostname,
      port: url.port,
      path,
      ca: profile.ca,
      headers: { authorization: `Bearer ${profile.token}`, ...headers },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        if (body && 'unpipe' in body) (body as Readable).destroy();
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as RawAnswer['body']) : {} });
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** Pids (and command lines) of live processes whose argv contains `marker`. */
export function processesWith(marker: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    // A zombie has an empty cmdline: it is dead, only not yet reaped by its (possibly non-reaping) parent.
    if (cmdline.split('\0').includes(marker))
      found.push({ pid: Number(name), cmdline: cmdline.replace(/\0/g, ' ').trim() });
  }
  return found;
}
