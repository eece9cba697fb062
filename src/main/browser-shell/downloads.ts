/**
 * Files the browser shell hands to the browser as downloads (the Electron app shows them in a folder; a
 * browser cannot reach the app data folder): today the case exports. GET /downloads/case-export/NAME
 * answers only with the shell's session cookie (the same one /ipc needs), only for a name the case
 * exporter makes (no path: nothing outside the exports folder can be named), as an attachment.
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RENDERER_SECURITY_HEADERS } from '../hosting/csp.js';
import type { CasesService } from '../services/cases.js';
import type { ShellSessions } from './shell-session.js';

export const CASE_EXPORT_DOWNLOAD_PATH = '/downloads/case-export/';

export function isDownloadPath(rawPath: string): boolean {
  return rawPath.startsWith('/downloads/');
}

export function serveDownload(
  request: IncomingMessage,
  response: ServerResponse,
  rawPath: string,
  sessions: ShellSessions,
  cases: CasesService,
): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return sendText(response, 405, 'method not allowed');
  }
  if (!sessions.hasSession(request.headers.cookie))
    return sendText(response, 403, 'no session: open the workstation from its launch link first');
  if (!rawPath.startsWith(CASE_EXPORT_DOWNLOAD_PATH)) return sendText(response, 404, 'not found');
  const file = cases.exportFile(rawPath.slice(CASE_EXPORT_DOWNLOAD_PATH.length));
  if (!file) return sendText(response, 404, 'no such case export');
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return sendText(response, 404, 'no such case export');
  }
  response.writeHead(200, {
    ...RENDERER_SECURITY_HEADERS,
    'Content-Type': 'application/zip',
    'Content-Length': String(size),
    'Content-Disposition': `attachment; filename="${file.slice(file.lastIndexOf('/') + 1)}"`,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => response.destroy());
  stream.pipe(response);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, {
    ...RENDERER_SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  response.end(`${status} ${text}\n`);
}
