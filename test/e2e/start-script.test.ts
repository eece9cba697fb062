/**
 * `npm start` on a machine without the Electron binary (this one): one line saying so, then the browser
 * shell's URL line; the URL shows the app shell in Chromium. With a display, `npm start` opens Debian's
 * Chromium itself, and the launch token must appear on no process's command line. Skipped where Electron
 * is installed (the name says so).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  launchChromium,
  rawGet,
  rawRequest,
  ROOT,
  screenshot,
  sessionCookieOf,
  SHELL_URL_LINE,
  startProcess,
  tryOpenSocket,
  type RunningProcess,
} from './helpers.js';

const NO_ELECTRON_LINE =
  'Electron is not available on this machine (its binary is not installed); serving the workstation to your browser instead.';

function electronInstalled(): boolean {
  const pathFile = path.join(ROOT, 'node_modules/electron/path.txt');
  return existsSync(pathFile) && existsSync(path.join(ROOT, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim()));
}

const ELECTRON = electronInstalled();

describe.skipIf(ELECTRON)(`npm start without Electron${ELECTRON ? ' (skipped: Electron is installed here, so npm start opens it)' : ''}`, () => {
  let start: RunningProcess;
  let browser: Browser;
  // The standalone mode's app data folder (embedded service and agent): a temporary one, not ~/.local/share.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lr-start-e2e-'));

  beforeAll(async () => {
    ensureBuilt();
    const env: NodeJS.ProcessEnv = { ...process.env, LR_DATA_DIR: dataDir, LR_LOG_LEVEL: 'warn' };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    start = startProcess([path.join(ROOT, 'scripts/start.mjs')], env);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await start?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says Electron is missing, prints the URL, serves the shell, and stops with its children', async (context) => {
    const match = await start.waitForLine(SHELL_URL_LINE);
    const url = match[1] ?? '';
    expect(start.stdout).toEqual([NO_ELECTRON_LINE, match[0]]);

    const page = await browser.newPage();
    context.onTestFailed(async () => {
      await screenshot(page, 'failed-npm-start');
    });
    await page.goto(url);
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('status-mode').textContent()).toBe('browser-shell');
    await page.close();

    await start.stop();
    // The browser shell went down with it: nothing answers on its port any more.
    await expect(fetch(new URL('/', url))).rejects.toThrow();
  });
});

/** Every process's command line and environment, as root sees them (`ps` shows the command lines to anyone). */
function processTexts(): { pid: string; cmdline: string; environ: string }[] {
  const texts = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let environ = '';
      try {
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        // gone, or a kernel thread
      }
      texts.push({ pid, cmdline, environ });
    } catch {
      // the process ended meanwhile
    }
  }
  return texts;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(electronInstalled())(`npm start with a display opens Chromium without the token on its command line${electronInstalled() ? ' (skipped: Electron is installed here, so npm start opens it)' : ''}`, () => {
  let start: RunningProcess;
  // Debian's Chromium behind a `chromium` found first on PATH: headless (no X server here), --no-sandbox
  // (we are root), its own profile, and a DevTools port so the test can look at the page it opened.
  const work = mkdtempSync(path.join(tmpdir(), 'lr-start-open-e2e-'));
  const dataDir = path.join(work, 'data');
  const profile = path.join(work, 'profile');
  let cdp: Browser | undefined;

  beforeAll(() => {
    ensureBuilt();
    const bin = path.join(work, 'bin');
    const wrapper = path.join(bin, 'chromium');
    mkdirSync(bin);
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec /usr/bin/chromium --headless=new --no-sandbox --disable-gpu --no-first-run --disable-breakpad --user-data-dir=${profile} --remote-debugging-port=0 "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, LR_DATA_DIR: dataDir, LR_LOG_LEVEL: 'warn', DISPLAY: ':99', PATH: `${bin}:${process.env.PATH ?? ''}` };
    delete env.WAYLAND_DISPLAY;
    start = startProcess([path.join(ROOT, 'scripts/start.mjs')], env);
  });

  afterAll(async () => {
    if (cdp) {
      // Chromium was started detached by the shell: close it through DevTools, then end what is left of it.
      await (await cdp.newBrowserCDPSession()).send('Browser.close').catch(() => undefined);
      await cdp.close().catch(() => undefined);
    }
    for (const { pid, cmdline } of processTexts()) {
      if (cmdline.includes(profile)) process.kill(Number(pid), 'SIGKILL');
    }
    await start?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('the browser gets a launch page, the token is on no command line, and it works once', async (context) => {
    const match = await start.waitForLine(SHELL_URL_LINE);
    const [, url = '', port = '', token = ''] = match;
    const origin = `http://127.0.0.1:${port}`;

    // Chromium started, opened the launch page, traded the token and shows the app.
    const devtoolsPort = await waitFor('Chromium to start', () => {
      const file = path.join(profile, 'DevToolsActivePort');
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n')[0] || undefined : undefined;
    });
    cdp = await chromium.connectOverCDP(`http://127.0.0.1:${devtoolsPort}`);
    const browserContext = cdp.contexts()[0];
    if (!browserContext) throw new Error('no browser context over DevTools');
    const page: Page = await waitFor('the app page', () => browserContext.pages().find((candidate) => candidate.url() === `${origin}/`));
    context.onTestFailed(async () => {
      await screenshot(page, 'failed-npm-start-open');
    });
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('status-mode').textContent()).toBe('browser-shell');

    // The command lines are real (Chromium was given a file URL) and none holds the token; nor does any
    // environment.
    const processes = processTexts();
    expect(processes.filter((p) => p.cmdline.includes(profile)).length, 'the Chromium processes opened by npm start').toBeGreaterThan(0);
    expect(processes.filter((p) => p.cmdline.includes(token)).map((p) => p.cmdline)).toEqual([]);
    expect(processes.filter((p) => p.environ.includes(token)).map((p) => p.pid)).toEqual([]);
    const browserProcess = processes.find((p) => p.cmdline.includes(profile) && p.cmdline.includes('--app=file://'));
    expect(browserProcess, 'Chromium opened on the launch page').toBeDefined();
    // The launch page (mode 0600 in a 0700 folder) is gone once used.
    const launchFile = /--app=file:\/\/(\S+)/.exec(browserProcess?.cmdline ?? '')?.[1] ?? '';
    expect(launchFile).toMatch(/launch\.html$/);
    expect(existsSync(path.dirname(launchFile))).toBe(false);

    // The printed URL's token was the one the browser used: it is dead for anyone else, with any Origin.
    for (const sentOrigin of [origin, 'null']) {
      const reuse = await rawGet(Number(port), new URL(url).pathname + new URL(url).search, { origin: sentOrigin });
      expect(reuse.status).toBe(403);
      expect(reuse.body).toMatch(/^403 this launch link was already used \(it works once\)/);
      expect(reuse.headers['set-cookie']).toBeUndefined();
      const post = await rawRequest(Number(port), 'POST', '/launch', { origin: sentOrigin, 'content-type': 'application/x-www-form-urlencoded' }, `token=${token}`);
      expect(post.status).toBe(403);
    }
    // /ipc wants the browser's session cookie: not the token, not nothing.
    const ipc = `ws://127.0.0.1:${port}/ipc`;
    expect(await tryOpenSocket(ipc, origin)).toEqual({ opened: false, status: 401 });
    expect(await tryOpenSocket(`${ipc}?token=${token}`, origin)).toEqual({ opened: false, status: 401 });
    const cookie = await sessionCookieOf(page);
    expect(cookie).not.toContain(token);
    const withCookie = await tryOpenSocket(ipc, origin, { cookie });
    expect(withCookie.opened).toBe(true);
    if (withCookie.opened) withCookie.socket.close();
  });
});
