/**
 * The browser shell: the same main-process services as the Electron app, hosted by a plain Node process
 * and served to a system browser. It
 *   - serves the built renderer (out/renderer) on 127.0.0.1 with the renderer's CSP as a header,
 *   - trades the run's one-time launch token (GET /launch?token=… or a POST from the launch page) for a
 *     session cookie (see shell-session.ts),
 *   - carries the typed API over a WebSocket at /ipc, open only with that cookie and only from our own
 *     origin (see upgrade-auth.ts),
 *   - answers only requests naming our own `Host` (DNS rebinding), static files and the launch link included,
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
import { Emitter, type Event } from '../../shared/event.js';
import { MAX_SOCKET_FRAME_BYTES } from '../../shared/workstation/ipc-contract.js';
import { RENDERER_SECURITY_HEADERS } from '../hosting/csp.js';
import { resolveStaticFile } from '../hosting/static-files.js';
import { createValidatedHandlers } from '../ipc/validated.js';
import { createServices, type Services } from '../services/index.js';
import { isDownloadPath, serveDownload } from './downloads.js';
import { isTrustedSocketSender, serveSocket, type SocketSender } from './socket-session.js';
import { createShellSessions, type ShellSessions } from './shell-session.js';
import { checkUpgrade, IPC_SOCKET_PATH, isAllowedHost, type UpgradePolicy } from './upgrade-auth.js';

export const BROWSER_SHELL_HOST = '127.0.0.1';
/** Where the launch token is traded for the session cookie. */
export const LAUNCH_PATH = '/launch';
/** A launch form carries one 43-character token; anything much larger is not one. */
const MAX_LAUNCH_BODY_BYTES = 1024;

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
  /** `http://127.0.0.1:PORT/launch?token=...`: what the user opens, once. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  /** One-time: the first valid use trades it for the session cookie, later uses are refused. */
  readonly launchToken: string;
  /** The session cookie's name (`lr_shell_PORT`). */
  readonly cookieName: string;
  readonly services: Services;
  /** Fires once, when the launch token has been used (the launch page can go). */
  readonly onLaunchUsed: Event<void>;
  close(): Promise<void>;
}

export async function startBrowserShell(options: BrowserShellOptions): Promise<BrowserShell> {
  const services =
    options.services ??
    createServices({ version: options.version ?? '0.0.0', mode: 'browser-shell', platform: process.platform });
  const dispatcher = createValidatedHandlers<SocketSender>(services, { isTrusted: isTrustedSocketSender });
  const mode = services.appInfo.info().mode;
  const launchUsed = new Emitter<void>();

  // Filled in once the port is known (the cookie name carries it); until then no host is allowed.
  let access: { policy: UpgradePolicy; sessions?: ShellSessions } = {
    policy: { hasSession: () => false, allowedOrigins: [], allowedHosts: [] },
  };

  const server = http.createServer((request, response) => {
    const { policy, sessions } = access;
    if (!sessions || !isAllowedHost(request.headers, policy.allowedHosts))
      return sendText(response, 403, 'host not allowed');
    if (pathOf(request) === LAUNCH_PATH) return void serveLaunch(request, response, sessions, () => launchUsed.fire());
    if (isDownloadPath(pathOf(request)))
      return serveDownload(request, response, pathOf(request), sessions, services.cases);
    void serveStatic(request, response, options.rendererDir);
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT_BYTES, perMessageDeflate: false });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const decision = checkUpgrade(request, access.policy);
    if (!decision.ok) {
      refuseUpgrade(socket, decision.status);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) =>
      serveSocket(ws, { dispatcher, events: services.events, mode }),
    );
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
  const shellSessions = createShellSessions(port);
  access = {
    sessions: shellSessions,
    policy: {
      hasSession: shellSessions.hasSession,
      allowedOrigins: [origin, ...devOrigins],
      allowedHosts: [`${BROWSER_SHELL_HOST}:${port}`, ...devOrigins.map((devOrigin) => new URL(devOrigin).host)],
    },
  };

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}${LAUNCH_PATH}?token=${shellSessions.launchToken}`,
    origin,
    port,
    launchToken: shellSessions.launchToken,
    cookieName: shellSessions.cookieName,
    services,
    onLaunchUsed: launchUsed.event,
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

/** The path exactly as sent: static-files.ts refuses traversal before anything normalises it away. */
function pathOf(request: IncomingMessage): string {
  return (request.url ?? '/').split(/[?#]/, 1)[0] ?? '/';
}

/**
 * GET /launch?token=… (the printed URL) or POST /launch with `token=…` (the launch page, which keeps the
 * token out of the browser's command line and history). Success: the session cookie and a redirect to
 * the app; a wrong or used token: 403 with one line saying so.
 */
async function serveLaunch(
  request: IncomingMessage,
  response: ServerResponse,
  sessions: ShellSessions,
  onUsed: () => void,
): Promise<void> {
  let given: string | null;
  if (request.method === 'GET') {
    given = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('token');
  } else if (request.method === 'POST') {
    const body = await readSmallBody(request, MAX_LAUNCH_BODY_BYTES);
    if (body === undefined) return sendText(response, 413, `launch form larger than ${MAX_LAUNCH_BODY_BYTES} bytes`);
    given = new URLSearchParams(body).get('token');
  } else {
    response.setHeader('Allow', 'GET, POST');
    return sendText(response, 405, 'method not allowed');
  }
  const outcome = sessions.exchange(given);
  if (!outcome.ok) return sendText(response, 403, outcome.reason);
  onUsed();
  response.writeHead(303, {
    ...RENDERER_SECURITY_HEADERS,
    'Set-Cookie': outcome.setCookie,
    // Relative: in `npm run dev` the dev server's proxy forwards /launch and the app is its page.
    Location: '/',
    'Cache-Control': 'no-store',
  });
  response.end();
}

/** The request body as text, or undefined when it exceeds `limit` bytes (the rest is not read). */
function readSmallBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => resolve(undefined));
  });
}

/**
 * The built renderer. It needs no session: it is the same public build for everyone (and readable in
 * out/renderer by any local user); everything that matters goes through /ipc, which does.
 */
async function serveStatic(request: IncomingMessage, response: ServerResponse, rendererDir: string): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return sendText(response, 405, 'method not allowed');
  }
  const rawPath = pathOf(request);
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
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  );
}
