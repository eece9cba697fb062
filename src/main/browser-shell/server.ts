/**
 * The browser shell: the same main-process services as the Electron app, hosted by a plain Node process
 * and served to a system browser. It
 *   - serves the built renderer (out/renderer) on 127.0.0.1 with the renderer's CSP as a header,
 *   - carries the typed API over a WebSocket at /ipc, open only to holders of the run's random token and
 *     only from our own origin (see upgrade-auth.ts),
 *   - validates every call with the same wrapper as Electron (src/main/ipc/validated.ts).
 *
 * `services` is injectable: the workstation's standalone mode will pass services backed by the embedded
 * lr-server here; tests pass their own.
 */
import { createReadStream } from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_SOCKET_FRAME_BYTES } from '../../shared/ipc-contract.js';
import { RENDERER_SECURITY_HEADERS } from '../hosting/csp.js';
import { resolveStaticFile } from '../hosting/static-files.js';
import { createValidatedHandlers } from '../ipc/validated.js';
import { createServices, type Services } from '../services/index.js';
import { isTrustedSocketSender, serveSocket, type SocketSender } from './socket-session.js';
import { createToken } from './token.js';
import { checkUpgrade, IPC_SOCKET_PATH, type UpgradePolicy } from './upgrade-auth.js';

export const BROWSER_SHELL_HOST = '127.0.0.1';

/**
 * Frames above MAX_SOCKET_FRAME_BYTES get a `bad-frame` answer from socket-session.ts; ws itself closes
 * the socket (code 1009) only above this much larger bound, which caps memory per frame.
 */
const HARD_FRAME_LIMIT_BYTES = 16 * MAX_SOCKET_FRAME_BYTES;

export interface BrowserShellOptions {
  /** Folder with the built renderer (index.html, assets/). */
  rendererDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Services to expose; default: a fresh set in 'browser-shell' mode. */
  services?: Services;
  /** Used only when `services` is not given. */
  version?: string;
  /**
   * Extra origins allowed to open /ipc, e.g. the Vite dev server whose proxy forwards /ipc here during
   * `npm run dev`. Each must be an exact `http://127.0.0.1:PORT`-style origin.
   */
  devOrigins?: readonly string[];
}

export interface BrowserShell {
  /** `http://127.0.0.1:PORT/?token=...`: what the user opens. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  readonly services: Services;
  close(): Promise<void>;
}

export async function startBrowserShell(options: BrowserShellOptions): Promise<BrowserShell> {
  const services =
    options.services ??
    createServices({ version: options.version ?? '0.0.0', mode: 'browser-shell', platform: process.platform });
  const token = createToken();
  const dispatcher = createValidatedHandlers<SocketSender>(services, { isTrusted: isTrustedSocketSender });
  const mode = services.appInfo.info().mode;

  // Filled in once the port is known; requests cannot arrive before listen() completes.
  let policy: UpgradePolicy = { token, allowedOrigins: [], allowedHosts: [] };

  const server = http.createServer((request, response) => {
    void serveStatic(request, response, options.rendererDir, policy.allowedHosts);
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT_BYTES, perMessageDeflate: false });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const decision = checkUpgrade(request, policy);
    if (!decision.ok) {
      refuseUpgrade(socket, decision.status);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => serveSocket(ws, { dispatcher, events: services.events, mode }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, BROWSER_SHELL_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const origin = `http://${BROWSER_SHELL_HOST}:${port}`;
  const devOrigins = options.devOrigins ?? [];
  policy = {
    token,
    allowedOrigins: [origin, ...devOrigins],
    allowedHosts: [`${BROWSER_SHELL_HOST}:${port}`, ...devOrigins.map((devOrigin) => new URL(devOrigin).host)],
  };

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    services,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function serveStatic(request: IncomingMessage, response: ServerResponse, rendererDir: string, allowedHosts: readonly string[]): Promise<void> {
  if (!allowedHosts.includes(request.headers.host ?? '')) return sendText(response, 403, 'host not allowed');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return sendText(response, 405, 'method not allowed');
  }
  // The path exactly as sent: static-files.ts refuses traversal before anything normalises it away.
  const rawPath = (request.url ?? '/').split(/[?#]/, 1)[0] ?? '/';
  if (rawPath === IPC_SOCKET_PATH) return sendText(response, 426, 'WebSocket upgrade required');

  const lookup = await resolveStaticFile(rendererDir, rawPath);
  if (lookup.kind === 'refused') return sendText(response, lookup.status, lookup.reason);
  if (lookup.kind === 'not-found') return sendText(response, 404, 'not found');

  response.writeHead(200, {
    ...RENDERER_SECURITY_HEADERS,
    'Content-Type': lookup.contentType,
    // Local and cheap to re-read; a stale index.html after a rebuild would be more confusing.
    'Cache-Control': 'no-store',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const stream = createReadStream(lookup.filePath);
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

function refuseUpgrade(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
