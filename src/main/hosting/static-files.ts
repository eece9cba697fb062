/**
 * Maps a request path to a file under the renderer's build folder (out/renderer), refusing anything that
 * could leave it. Used by the browser shell's HTTP server and by Electron's lr-app: protocol.
 *
 * The raw path is checked *before* any URL normalisation: `new URL('/../x', base)` would quietly turn
 * `/../x` and `/%2e%2e/x` into `/x`, hiding the attempt. We refuse such paths outright instead.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type StaticLookup =
  | { readonly kind: 'file'; readonly filePath: string; readonly contentType: string }
  | { readonly kind: 'refused'; readonly status: 400 | 403; readonly reason: string }
  | { readonly kind: 'not-found' };

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(filePath: string): string {
  return CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

/** `rawPath` is the path part of the request target as sent (no query string), e.g. `/assets/x.js`. */
export async function resolveStaticFile(root: string, rawPath: string): Promise<StaticLookup> {
  if (!rawPath.startsWith('/')) return refused(400, 'path must start with /');

  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return refused(400, 'malformed percent-encoding');
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return refused(400, 'forbidden character in path');

  const segments = decoded.split('/');
  if (segments.some((segment) => segment === '..' || segment === '.')) return refused(403, 'path traversal');

  const relative = decoded === '/' ? 'index.html' : decoded.slice(1);
  const rootDir = path.resolve(root);
  const candidate = path.resolve(rootDir, relative);
  if (!isInside(rootDir, candidate)) return refused(403, 'path outside the renderer folder');

  try {
    // Symlinks must not lead out either.
    const [realRoot, realFile] = await Promise.all([fs.realpath(rootDir), fs.realpath(candidate)]);
    if (!isInside(realRoot, realFile)) return refused(403, 'path outside the renderer folder');
    const stat = await fs.stat(realFile);
    if (!stat.isFile()) return { kind: 'not-found' };
    return { kind: 'file', filePath: realFile, contentType: contentTypeOf(realFile) };
  } catch {
    return { kind: 'not-found' };
  }
}

function isInside(dir: string, candidate: string): boolean {
  return candidate.startsWith(dir + path.sep);
}

function refused(status: 400 | 403, reason: string): StaticLookup {
  return { kind: 'refused', status, reason };
}
