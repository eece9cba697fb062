/**
 * REST routes of batch runs (`/api/v1/batches`), for `lr batch`, the workstation and automation. Any user may
 * start a batch of the commands their role allows and read every batch (as they read the command log); the
 * creator or an admin may cancel one. Answers true when it handled the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { csvTable } from '../../shared/csv.js';
import { deviceCommandRequest } from '../../shared/wire/batch.js';
import type { User } from '../store.js';
import { answerRestError, readJsonBody, RestError, sendJson } from '../rest-io.js';
import type { Logger } from '../../node/log.js';
import type { BatchRunner } from './batch-runner.js';

const ID = '([A-Za-z0-9_-]{1,64})';
const ONE = new RegExp(`^/api/v1/batches/${ID}$`);
const CANCEL = new RegExp(`^/api/v1/batches/${ID}/cancel$`);
const RESULTS = new RegExp(`^/api/v1/batches/${ID}/results$`);
const FILE = new RegExp(`^/api/v1/batches/${ID}/files/${ID}/(\\d{1,3})$`);
const TEXT = new RegExp(`^/api/v1/batches/${ID}/text/${ID}/(\\d{1,3})$`);
const DEVICE_COMMAND = /^\/api\/v1\/devices\/([^/]{1,128})\/commands$/;

/** Resolves when the batch is final or after `ms`. */
function settled(runner: BatchRunner, id: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      runner.off('changed', onChange);
      resolve();
    };
    const onChange = (changed: string): void => {
      if (changed === id && runner.get(id)?.status !== 'running') done();
    };
    const timer = setTimeout(done, ms);
    runner.on('changed', onChange);
    if (runner.get(id)?.status !== 'running') done();
  });
}

function intParam(params: URLSearchParams, name: string, max: number): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RestError(400, `${name} must be an integer from 0 to ${max}`);
  return n;
}

async function route(req: IncomingMessage, res: ServerResponse, user: User, runner: BatchRunner): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'https://service');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const deviceCommand = DEVICE_COMMAND.exec(path);
  if (deviceCommand && method === 'POST') {
    const body = await readJsonBody(req, deviceCommandRequest);
    let device: string;
    try {
      device = decodeURIComponent(deviceCommand[1] as string);
    } catch {
      throw new RestError(400, 'malformed percent-encoding in the path');
    }
    const created = runner.create(user, {
      commands: [body.line],
      target: { devices: [device] },
      concurrency: 1,
      ...(body.expiresInSec ? { expiresInSec: body.expiresInSec } : {}),
      ...(body.comment ? { comment: body.comment } : {}),
    });
    await settled(runner, created.id, body.waitSec * 1000);
    const batch = runner.get(created.id) ?? created;
    if (batch.status === 'running') sendJson(res, 202, { batch });
    else sendJson(res, 200, { batch, results: runner.results(created.id) });
    return true;
  }
  if (!path.startsWith('/api/v1/batches')) return false;
  if (path === '/api/v1/batches') {
    if (method === 'POST') {
      const body = await readJsonBody(req, z.unknown());
      sendJson(res, 201, runner.create(user, body));
      return true;
    }
    if (method === 'GET') {
      sendJson(res, 200, { items: runner.list({ limit: intParam(url.searchParams, 'limit', 1000) ?? 100 }) });
      return true;
    }
  }
  let m = ONE.exec(path);
  if (m && method === 'GET') {
    const rec = runner.get(m[1] as string);
    if (!rec) throw new RestError(404, `no batch ${m[1]}`);
    sendJson(res, 200, rec);
    return true;
  }
  m = CANCEL.exec(path);
  if (m && method === 'POST') {
    req.resume();
    sendJson(res, 200, runner.cancel(m[1] as string, user));
    return true;
  }
  m = RESULTS.exec(path);
  if (m && method === 'GET') {
    const format = url.searchParams.get('format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new RestError(400, 'format must be json or csv');
    const device = url.searchParams.get('device') ?? undefined;
    const step = intParam(url.searchParams, 'step', 100);
    const limit = intParam(url.searchParams, 'limit', 200_000);
    const results = runner.results(m[1] as string, {
      ...(device ? { device } : {}),
      ...(step !== undefined ? { step } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    if (format === 'json') sendJson(res, 200, results);
    else {
      const body = csvTable(results.columns, results.rows);
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
        'content-disposition': `attachment; filename="batch-${m[1]}.csv"`,
      });
      res.end(body);
    }
    return true;
  }
  m = FILE.exec(path);
  if (m && method === 'GET') {
    const f = runner.file(m[1] as string, m[2] as string, Number(m[3]));
    if (!f) throw new RestError(404, `no file kept for step ${m[3]} of device ${m[2]} in batch ${m[1]}`);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(f.size),
      'cache-control': 'no-store',
      'x-content-sha256': f.sha256,
      'content-disposition': `attachment; filename="${encodeURIComponent(f.name)}"`,
    });
    await pipeline(createReadStream(f.path), res);
    return true;
  }
  m = TEXT.exec(path);
  if (m && method === 'GET') {
    const text = runner.text(m[1] as string, m[2] as string, Number(m[3]));
    if (text === null) throw new RestError(404, `no text output for step ${m[3]} of device ${m[2]} in batch ${m[1]}`);
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
    });
    res.end(text);
    return true;
  }
  throw new RestError(404, `no route ${method} ${path}`);
}

/** Errors become one-line JSON answers with their status (a file already streaming is cut instead). */
export async function handleBatchRoute(
  req: IncomingMessage,
  res: ServerResponse,
  user: User,
  runner: BatchRunner,
  log: Logger,
): Promise<boolean> {
  try {
    return await route(req, res, user, runner);
  } catch (e) {
    answerRestError(req, res, e, log, 'batch request');
    return true;
  }
}
