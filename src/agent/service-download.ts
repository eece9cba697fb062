/**
 * Downloads a library file from the service (putfile, run) over HTTPS pinned to the service's CA, with
 * the one-time URL the service put in the job. The body streams to a file (never whole in memory) while
 * its SHA-256 and size are computed; more bytes than announced stop the download at once.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { DigestStream, SizeLimitError } from '../node/digest-stream.js';
import { CommandError, type ServiceEndpoint } from './command.js';

export interface Downloaded {
  sha256: string;
  size: number;
}

/** The download URL must point at the service this agent is enrolled with, nowhere else. */
function checkOrigin(url: string, service: ServiceEndpoint, command: string): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new CommandError(`${command}: the service sent an invalid download URL`);
  }
  if (target.protocol !== 'https:' || target.host !== new URL(service.url).host) {
    throw new CommandError(`${command}: refusing to download from ${target.protocol}//${target.host}: not the service this agent is enrolled with`);
  }
  return target;
}

function get(target: URL, service: ServiceEndpoint, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'GET', ca: service.ca, headers: { 'x-lr-device': service.deviceId }, signal, timeout: 30_000 });
    req.on('response', resolve);
    req.on('timeout', () => req.destroy(new Error('the service did not answer within 30 s')));
    req.on('error', reject);
    req.end();
  });
}

async function errorBody(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) {
    if (text.length < 2000) text += String(chunk);
  }
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    /* not JSON */
  }
  return `HTTP ${res.statusCode}`;
}

/**
 * Streams the file at `url` into `dest` (created, mode 0600). At most `maxBytes` are accepted. On any
 * failure the partial file is removed. The caller verifies the returned digest.
 */
export async function downloadFromService(url: string, dest: string, opts: { service: ServiceEndpoint; maxBytes: number; signal: AbortSignal; command: string; what: string }): Promise<Downloaded> {
  const { service, command } = opts;
  const target = checkOrigin(url, service, command);
  const digest = new DigestStream(opts.maxBytes);
  try {
    const res = await get(target, service, opts.signal);
    if (res.statusCode !== 200) throw new CommandError(`${command}: the service refused the download of ${opts.what}: ${await errorBody(res)}`);
    await pipeline(res, digest, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), { signal: opts.signal });
    return { sha256: digest.sha256(), size: digest.bytes };
  } catch (e) {
    await rm(dest, { force: true });
    if (opts.signal.aborted || e instanceof CommandError) throw e;
    if (e instanceof SizeLimitError) throw new CommandError(`${command}: ${opts.what} from the service is larger than the library says (${opts.maxBytes} bytes)`);
    throw new CommandError(`${command}: download of ${opts.what} failed: ${(e as Error).message}`);
  }
}
