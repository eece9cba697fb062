/**
 * Downloads a library file from the service (putfile, run) over HTTPS pinned to the service's CA, with
 * the one-time URL the service put in the job. The body streams to a file (never whole in memory) while
 * its SHA-256 and size are computed; more bytes than the library announced stop the download at once, and
 * fewer fail it when the body ends (a Content-Length of another size is refused before any byte).
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { DigestStream, SizeLimitError } from '../node/digest-stream.js';
import { CommandError, type ServiceEndpoint } from './command.js';
import { describeError } from '../shared/errors.js';

export interface Downloaded {
  sha256: string;
  size: number;
}

/**
 * Where to download from, in order. The URL must point at one of the nodes of the service this agent is
 * enrolled with, nowhere else. In a cluster the job may have been prepared by another node than the one
 * the agent is connected to: every node serves the same library, so the connected node comes first (the
 * path it knows is up, over a TLS session already warm), and the node named in the URL second (it issued
 * the one-time token, which may be known to it alone).
 */
export function downloadTargets(url: string, service: ServiceEndpoint, command: string): URL[] {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new CommandError(`${command}: the service sent an invalid download URL`);
  }
  const nodes = new Set((service.urls ?? [service.url]).concat(service.url).map((u) => new URL(u).host));
  if (target.protocol !== 'https:' || !nodes.has(target.host)) {
    throw new CommandError(
      `${command}: refusing to download from ${target.protocol}//${target.host}: not the service this agent is enrolled with`,
    );
  }
  const current = service.currentUrl?.();
  if (!current) return [target];
  const currentHost = new URL(current).host;
  if (currentHost === target.host || !nodes.has(currentHost)) return [target];
  const rewritten = new URL(target.href);
  rewritten.host = currentHost;
  return [rewritten, target];
}

/** The device's proof for the token at the end of the URL's path (the service checks it against the device key). */
function proofHeaders(target: URL, service: ServiceEndpoint): Record<string, string> {
  const token = decodeURIComponent(target.pathname.split('/').pop() ?? '');
  return {
    'x-lr-device': service.deviceId,
    ...(service.proveDownload ? { 'x-lr-device-proof': service.proveDownload(token) } : {}),
  };
}

function get(target: URL, service: ServiceEndpoint, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(target, {
      method: 'GET',
      ca: service.ca,
      headers: proofHeaders(target, service),
      signal,
      timeout: 30_000,
    });
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

/** The node answered, and not with the file: its one-line reason. */
class Refused extends CommandError {}

/**
 * Streams the file at `url` into `dest` (created, mode 0600). Exactly `size` bytes are accepted (the size
 * the service announced in the job). On any failure the partial file is removed. The caller verifies the
 * returned digest.
 * A node that cannot be reached or refuses (see downloadTargets) sends us to the next candidate; once
 * bytes flow, a failure is final (the one-time token is spent).
 */
export async function downloadFromService(
  url: string,
  dest: string,
  opts: { service: ServiceEndpoint; size: number; signal: AbortSignal; command: string; what: string },
): Promise<Downloaded> {
  const { service, command } = opts;
  const targets = downloadTargets(url, service, command);
  let refusal: CommandError | undefined;
  let unreachable: CommandError | undefined;
  for (const target of targets) {
    let res: IncomingMessage;
    try {
      res = await get(target, service, opts.signal);
      if (res.statusCode !== 200)
        throw new Refused(`${command}: the service refused the download of ${opts.what}: ${await errorBody(res)}`);
    } catch (e) {
      if (opts.signal.aborted) throw e;
      // The first refusal is the meaningful one: a later node may only say it never issued the token.
      if (e instanceof Refused) refusal ??= e;
      else unreachable = new CommandError(`${command}: download of ${opts.what} failed: ${describeError(e)}`);
      continue;
    }
    return receive(res, dest, opts);
  }
  throw refusal ?? unreachable ?? new CommandError(`${command}: download of ${opts.what} failed`);
}

async function receive(
  res: IncomingMessage,
  dest: string,
  opts: { size: number; signal: AbortSignal; command: string; what: string },
): Promise<Downloaded> {
  const { command } = opts;
  const announced = res.headers['content-length'];
  if (announced !== undefined && Number(announced) !== opts.size) {
    res.destroy();
    throw new CommandError(
      `${command}: the service announced ${announced} bytes for ${opts.what}, the library says ${opts.size}`,
    );
  }
  const digest = new DigestStream(opts.size);
  try {
    await pipeline(res, digest, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), { signal: opts.signal });
    if (digest.bytes !== opts.size)
      throw new CommandError(`${command}: ${opts.what}: received ${digest.bytes} bytes, the library says ${opts.size}`);
    return { sha256: digest.sha256(), size: digest.bytes };
  } catch (e) {
    await rm(dest, { force: true });
    if (opts.signal.aborted || e instanceof CommandError) throw e;
    if (e instanceof SizeLimitError)
      throw new CommandError(
        `${command}: ${opts.what} from the service is larger than the library says (${opts.size} bytes)`,
      );
    throw new CommandError(`${command}: download of ${opts.what} failed: ${describeError(e)}`);
  }
}
