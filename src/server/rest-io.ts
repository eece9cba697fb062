/** Small helpers for REST handlers: JSON answers and size-limited JSON bodies validated with zod. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Logger } from '../node/log.js';

const MAX_JSON_BODY = 64 * 1024;

export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const s = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(s)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(s);
}

/** Reads a JSON body (at most 64 KiB) and validates it; RestError 400/413 otherwise. */
export async function readJsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY) throw new RestError(413, `request body too large (max ${MAX_JSON_BODY} bytes)`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RestError(400, 'request body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RestError(
      400,
      `invalid request: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'bad body'}`,
    );
  }
  return parsed.data;
}

/**
 * A route handler's failure as its answer: a RestError as one-line JSON with its status, anything else as a
 * logged 500; when the answer had already started (a file streaming) the connection is cut instead. The
 * unread body is drained so the socket can carry the answer.
 */
export function answerRestError(
  req: IncomingMessage,
  res: ServerResponse,
  e: unknown,
  log: Logger,
  what: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  req.resume();
  if (e instanceof RestError) sendJson(res, e.status, { error: e.message });
  else {
    log.error(`${what} failed`, { error: (e as Error).stack ?? String(e) });
    sendJson(res, 500, { error: 'internal error (see the service log)' });
  }
}
