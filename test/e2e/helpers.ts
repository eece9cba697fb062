/**
 * Shared plumbing of the browser-shell end-to-end tests: the build check, the shell as a real child
 * process (stopped by PID), Debian's Chromium through playwright-core, raw WebSocket and HTTP clients.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const RESULTS_DIR = path.join(ROOT, 'test-results');
const BUILD_OUTPUTS = ['out/main/browser-shell.js', 'out/preload/index.cjs', 'out/renderer/index.html'];

export const SHELL_URL_LINE =
  /^LR workstation \(browser shell\): (http:\/\/127\.0\.0\.1:(\d+)\/launch\?token=([A-Za-z0-9_-]{43}))$/;

/** `npm test` builds first; a lone `vitest run --project e2e` builds here if out/ is missing. */
export function ensureBuilt(): void {
  if (BUILD_OUTPUTS.every((file) => existsSync(path.join(ROOT, file)))) return;
  const build = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) throw new Error(`electron-vite build failed (${build.status})`);
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Lines printed to stdout so far. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM by PID, SIGKILL if still there after a grace period; resolves when it has exited. */
  stop(): Promise<void>;
}

export function startProcess(args: readonly string[], env: NodeJS.ProcessEnv = process.env): RunningProcess {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<(line: string) => void>();
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    for (const waiter of [...waiters]) waiter(line);
  });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return {
    child,
    stdout,
    stderr,
    waitForLine(pattern, timeoutMs = 30_000) {
      const seen = stdout.map((line) => pattern.exec(line)).find((match) => match !== null);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(onLine);
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms; stdout: ${stdout.join(' | ')}; stderr: ${stderr.join(' | ')}`,
            ),
          );
        }, timeoutMs);
        const onLine = (line: string): void => {
          const match = pattern.exec(line);
          if (!match) return;
          clearTimeout(timer);
          waiters.delete(onLine);
          resolve(match);
        };
        waiters.add(onLine);
        void exited.then(() => {
          if (!waiters.has(onLine)) return;
          clearTimeout(timer);
          waiters.delete(onLine);
          reject(
            new Error(`process exited (${child.exitCode}) before printing ${pattern}; stderr: ${stderr.join(' | ')}`),
          );
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export interface ShellProcess extends RunningProcess {
  /** The one-time launch URL. */
  readonly url: string;
  readonly port: number;
  /** The one-time launch token. */
  readonly launchToken: string;
  readonly origin: string;
}

/** `node out/main/browser-shell.js --port 0`, once it has printed its URL line. */
export async function startShell(): Promise<ShellProcess> {
  // Its own app data folder (the standalone mode creates an embedded service there), removed at stop.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lr-shell-e2e-'));
  const running = startProcess([path.join(ROOT, 'out/main/browser-shell.js'), '--port', '0'], {
    ...process.env,
    LR_DATA_DIR: dataDir,
    LR_LOG_LEVEL: 'warn',
  });
  const match = await running.waitForLine(SHELL_URL_LINE);
  const [, url, port, launchToken] = match as unknown as [string, string, string, string];
  return {
    ...running,
    url,
    port: Number(port),
    launchToken,
    origin: `http://127.0.0.1:${port}`,
    async stop() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---------------------------------------------------------------------------------------------------------
// Raw clients
// ---------------------------------------------------------------------------------------------------------

export type UpgradeOutcome = { opened: true; socket: WebSocket } | { opened: false; status: number };

/** Tries to open the API socket; reports the HTTP status when the server refuses the upgrade. */
export function tryOpenSocket(
  url: string,
  origin?: string,
  headers: Record<string, string> = {},
): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { ...(origin ? { origin } : {}), headers });
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ opened: false, status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
  });
}

export interface Frame {
  id?: unknown;
  ok?: boolean;
  result?: unknown;
  error?: { code: string; message: string };
  event?: string;
  payload?: unknown;
}

/** Collects every frame of a socket, so tests can wait for the answer to a given id. */
export class SocketClient {
  readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  /** Sends raw text (or binary) and waits for the next answer frame with this id (null: unattributable). */
  async send(data: string | Buffer, id: unknown, timeoutMs = 10_000): Promise<Frame> {
    const start = this.frames.length;
    this.socket.send(data);
    return this.waitFor((frame, index) => index >= start && 'ok' in frame && frame.id === id, timeoutMs);
  }

  call(id: number, channel: string, payload: unknown): Promise<Frame> {
    return this.send(JSON.stringify({ id, channel, payload }), id);
  }

  waitFor(predicate: (frame: Frame, index: number) => boolean, timeoutMs = 10_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.frames.findIndex(predicate);
        const frame = this.frames[index];
        if (!frame) return false;
        clearTimeout(timer);
        this.waiters.delete(onFrame);
        resolve(frame);
        return true;
      };
      const onFrame = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(onFrame);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(onFrame);
    });
  }
}

export interface RawResponse {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** GET with the path sent exactly as given (no client-side normalisation of `..`), and any headers (Host…). */
export function rawGet(
  port: number,
  requestPath: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<RawResponse> {
  return rawRequest(port, 'GET', requestPath, headers);
}

/** Any request from a non-browser client: it sends whatever Origin, Host or Cookie it likes. */
export function rawRequest(
  port: number,
  method: string,
  requestPath: string,
  headers: http.OutgoingHttpHeaders = {},
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: requestPath, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, headers: response.headers }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * The browser shell's session cookie as the page's browser holds it (HttpOnly: only the browser sees it), as a `Cookie`
 * header.
 */
export async function sessionCookieOf(page: Page): Promise<string> {
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name.startsWith('lr_shell_'));
  if (!session)
    throw new Error(`no session cookie in the browser (has: ${cookies.map((cookie) => cookie.name).join(', ')})`);
  return `${session.name}=${session.value}`;
}

// ---------------------------------------------------------------------------------------------------------
// UI latency probe (used by the flood e2e test and bench/console.ts)
// ---------------------------------------------------------------------------------------------------------

/**
 * Clicks a tab and answers, in ms, the time from the click's pointerdown (its input timestamp) to the frame
 * after the tab became selected (aria-selected="true"), measured in the page.
 */
export async function clickTabLatency(page: Page, testId: string): Promise<number> {
  // Armed first and not awaited (evaluate would wait for the promise): it resolves after the click below.
  await page.evaluate(`void (window.__lrClickLatency = new Promise((resolve) => {
    const tab = document.querySelector('[data-testid="${testId}"]');
    let downAt;
    tab.addEventListener('pointerdown', (e) => { downAt = e.timeStamp; }, { once: true, capture: true });
    const observer = new MutationObserver(() => {
      if (tab.getAttribute('aria-selected') !== 'true') return;
      observer.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - downAt));
    });
    observer.observe(tab, { attributes: true, attributeFilter: ['aria-selected'] });
  }))`);
  await page.getByTestId(testId).click();
  return (await page.evaluate('window.__lrClickLatency')) as number;
}
