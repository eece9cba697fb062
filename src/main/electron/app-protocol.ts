/**
 * The packaged renderer is served from `lr-app://workstation/` instead of file://. A file:// page shares
 * its origin with every local file; a private standard scheme gives the renderer a real origin of its own
 * ('self' in the CSP, the origin the IPC sender check compares against), and the same traversal-safe file
 * lookup and security headers as the browser shell.
 */
import { promises as fs } from 'node:fs';
import { protocol } from 'electron';
import { RENDERER_SECURITY_HEADERS } from '../hosting/csp.js';
import { resolveStaticFile } from '../hosting/static-files.js';

export const APP_SCHEME = 'lr-app';
export const APP_ORIGIN = `${APP_SCHEME}://workstation`;

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** Serves `rendererDir` under APP_ORIGIN (after the app is ready). */
export function serveRendererFiles(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return textResponse(404, 'not found');
    const lookup = await resolveStaticFile(rendererDir, url.pathname);
    if (lookup.kind === 'refused') return textResponse(lookup.status, lookup.reason);
    if (lookup.kind === 'not-found') return textResponse(404, 'not found');
    const body = await fs.readFile(lookup.filePath);
    return new Response(body, {
      status: 200,
      headers: { ...RENDERER_SECURITY_HEADERS, 'Content-Type': lookup.contentType },
    });
  });
}

function textResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { ...RENDERER_SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' },
  });
}
