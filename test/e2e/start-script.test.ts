/**
 * `npm start` (scripts/start.mjs) as a user runs it:
 * - with a local Electron (ELECTRON_OVERRIDE_DIST_PATH; here a stand-in executable that records its
 *   arguments, folder and environment, then exits) it launches it on the project folder;
 * - with no Electron binary it runs Electron's own installer, bounded in time; when that fails (offline,
 *   here: a mirror on a closed loopback port) one line says why within 5 s, then the browser shell's URL
 *   line; the URL shows the app shell in Chromium. With a display, `npm start` opens Debian's Chromium
 *   itself, and the launch token must appear on no process's command line;
 * - when the Electron-ABI better-sqlite3 cannot be built (no headers offline), it says so and falls back.
 * The fallback tests are skipped where Electron is installed (npm start would launch it).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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

const FALLBACK_LINE =
  /^Electron is not available on this machine \((.+)\); serving the workstation to your browser instead\.$/;
const ELECTRON_VERSION = (
  JSON.parse(readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }
).version;
const NATIVE_MODULE = path.join(ROOT, 'resources/native/electron/better_sqlite3.node');

const ELECTRON_HERE = electronInstalled();

function electronInstalled(): boolean {
  const pathFile = path.join(ROOT, 'node_modules/electron/path.txt');
  return (
    existsSync(pathFile) &&
    existsSync(path.join(ROOT, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim()))
  );
}

/** A loopback port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The environment of an `npm start` whose Electron download fails the way it does offline, but on any
 * machine: Electron's installer fetches from a mirror on a closed port (ELECTRON_MIRROR is its own setting),
 * into an empty cache; never from GitHub into node_modules.
 */
async function offlineEnv(work: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LR_DATA_DIR: path.join(work, 'data'),
    LR_LOG_LEVEL: 'warn',
    ELECTRON_MIRROR: `http://127.0.0.1:${await closedPort()}/`,
    electron_config_cache: path.join(work, 'electron-cache'),
  };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  delete env.ELECTRON_OVERRIDE_DIST_PATH;
  delete env.LR_ELECTRON_SQLITE_BINDING;
  return { ...env, ...extra };
}

/** A stand-in Electron: records its arguments, its folder and its environment, then exits 0. */
function standInElectron(dir: string): { dist: string; record: string } {
  const dist = path.join(dir, 'electron-dist');
  const record = path.join(dir, 'electron-ran');
  mkdirSync(dist, { recursive: true });
  const executable = path.join(dist, 'electron');
  writeFileSync(
    executable,
    `#!/bin/sh\n{ echo "cwd=$(pwd)"; for a in "$@"; do echo "arg=$a"; done; env | sed 's/^/env=/'; } > '${record}'\nexit 0\n`,
  );
  chmodSync(executable, 0o755);
  return { dist, record };
}

/** Its exit code; rejects after `timeoutMs` (the caller then stops it). */
function waitForExit(start: RunningProcess, timeoutMs = 60_000): Promise<number | null> {
  if (start.child.exitCode !== null) return Promise.resolve(start.child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms; stderr: ${start.stderr.join(' | ')}`)),
      timeoutMs,
    );
    start.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe.runIf(process.platform !== 'win32')('npm start with a local Electron (ELECTRON_OVERRIDE_DIST_PATH)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'lr-start-electron-e2e-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('launches it on the project folder, with the SQLite module it was given', async () => {
    ensureBuilt();
    const { dist, record } = standInElectron(work);
    // A build of one's own (LR_ELECTRON_SQLITE_BINDING) spares the Electron-ABI build, which needs headers.
    const binding = path.join(work, 'better_sqlite3.node');
    writeFileSync(binding, 'stand-in');
    const start = startProcess(
      [path.join(ROOT, 'scripts/start.mjs')],
      await offlineEnv(work, { ELECTRON_OVERRIDE_DIST_PATH: dist, LR_ELECTRON_SQLITE_BINDING: binding }),
    );
    try {
      const fellBack = start.waitForLine(FALLBACK_LINE, 60_000).then(([line]) => {
        throw new Error(`npm start fell back: ${line}`);
      });
      expect(await Promise.race([waitForExit(start), fellBack])).toBe(0);
    } finally {
      await start.stop();
    }
    const lines = readFileSync(record, 'utf8').split('\n');
    expect(lines.filter((line) => line.startsWith('arg='))).toEqual([`arg=${ROOT}`]);
    expect(lines).toContain(`cwd=${ROOT}`);
    expect(lines).toContain(`env=LR_ELECTRON_SQLITE_BINDING=${binding}`);
    expect(start.stdout.filter((line) => FALLBACK_LINE.test(line) || SHELL_URL_LINE.test(line))).toEqual([]);
    // No download was attempted: the local Electron was used as it is.
    expect(start.stderr.join('\n')).not.toContain('install.js');
  });

  it('says in one line that ELECTRON_OVERRIDE_DIST_PATH names no Electron, and falls back', async () => {
    ensureBuilt();
    const empty = path.join(work, 'empty-dist');
    mkdirSync(empty, { recursive: true });
    const start = startProcess(
      [path.join(ROOT, 'scripts/start.mjs')],
      await offlineEnv(work, { ELECTRON_OVERRIDE_DIST_PATH: empty }),
    );
    try {
      const [, why] = await start.waitForLine(FALLBACK_LINE);
      expect(why).toBe(`ELECTRON_OVERRIDE_DIST_PATH names no Electron: ${path.join(empty, 'electron')} does not exist`);
      await start.waitForLine(SHELL_URL_LINE);
    } finally {
      await start.stop();
    }
  });

  it.skipIf(existsSync(NATIVE_MODULE))(
    `when the Electron-ABI better-sqlite3 cannot be built (no headers), says so and falls back; Electron never runs${existsSync(NATIVE_MODULE) ? ' (skipped: an Electron-ABI better-sqlite3 is already built here)' : ''}`,
    async () => {
      ensureBuilt();
      const { dist, record } = standInElectron(path.join(work, 'no-native'));
      const headersPort = await closedPort();
      const env = await offlineEnv(work, {
        ELECTRON_OVERRIDE_DIST_PATH: dist,
        LR_ELECTRON_HEADERS_URL: `http://127.0.0.1:${headersPort}/headers`,
        // node-gyp's header cache: empty, so the headers must be fetched.
        XDG_CACHE_HOME: path.join(work, 'cache'),
      });
      const start = startProcess([path.join(ROOT, 'scripts/start.mjs')], env);
      try {
        const [, why] = await start.waitForLine(FALLBACK_LINE, 60_000);
        expect(why).toMatch(
          new RegExp(
            `^its SQLite module could not be built: better-sqlite3 could not be built for Electron ${ELECTRON_VERSION.replaceAll('.', '\\.')}: ` +
              `Electron's headers could not be downloaded from http://127\\.0\\.0\\.1:${headersPort}/headers/v${ELECTRON_VERSION}/node-v${ELECTRON_VERSION}-headers\\.tar\\.gz `,
          ),
        );
        await start.waitForLine(SHELL_URL_LINE);
      } finally {
        await start.stop();
      }
      expect(existsSync(record)).toBe(false);
      expect(existsSync(NATIVE_MODULE)).toBe(false);
    },
  );
});

describe('npm run electron:native without the network', () => {
  it.skipIf(existsSync(NATIVE_MODULE))(
    `fails with one clear line and leaves node_modules’ Node build alone${existsSync(NATIVE_MODULE) ? ' (skipped: an Electron-ABI better-sqlite3 is already built here)' : ''}`,
    async () => {
      const work = mkdtempSync(path.join(tmpdir(), 'lr-electron-native-e2e-'));
      const nodeBuild = path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
      const before = statSync(nodeBuild);
      const headersPort = await closedPort();
      const run = startProcess([path.join(ROOT, 'scripts/electron-native.mjs')], {
        ...process.env,
        LR_ELECTRON_HEADERS_URL: `http://127.0.0.1:${headersPort}/headers`,
        XDG_CACHE_HOME: path.join(work, 'cache'),
        // npm's nodedir (here: Debian's Node headers) must not stand in for Electron's headers.
        npm_config_nodedir: '/usr',
      });
      try {
        expect(await waitForExit(run)).toBe(1);
      } finally {
        await run.stop();
        rmSync(work, { recursive: true, force: true });
      }
      expect(run.stdout).toEqual([]);
      // A line saying what it does, then one saying why it could not.
      expect(run.stderr).toHaveLength(2);
      expect(run.stderr[1]).toMatch(
        /^electron:native: better-sqlite3 could not be built for Electron [\d.]+: Electron's headers could not be downloaded from http:\/\/127\.0\.0\.1:\d+\/headers\/.*\(log: resources\/native\/electron\/build\.log\)$/,
      );
      expect(existsSync(NATIVE_MODULE)).toBe(false);
      const after = statSync(nodeBuild);
      expect([after.mtimeMs, after.size, after.ino]).toEqual([before.mtimeMs, before.size, before.ino]);
    },
  );
});

describe('the Electron-ABI check of npm run electron:native', () => {
  it('refuses a module Node can load (built against Node’s headers)', () => {
    const nodeBuild = path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
    const script = pathToFileURL(path.join(ROOT, 'scripts/electron-native.mjs')).href;
    const probe = spawnSync(
      process.execPath,
      ['-e', `import(${JSON.stringify(script)}).then((m) => m.checkElectronAbi(${JSON.stringify(nodeBuild)}))`],
      {
        encoding: 'utf8',
      },
    );
    const abi = readFileSync(path.join(ROOT, 'node_modules/electron/abi_version'), 'utf8').trim();
    expect(probe.status).toBe(1);
    expect(probe.stderr).toContain(
      `${nodeBuild} was built for Node's ABI (${process.versions.modules}), not Electron's (${abi})`,
    );
  });
});

describe.skipIf(ELECTRON_HERE)(
  `npm start without Electron${ELECTRON_HERE ? ' (skipped: Electron is installed here, so npm start opens it)' : ''}`,
  () => {
    let start: RunningProcess;
    let browser: Browser;
    let startedAt = 0;
    // The standalone mode's app data folder (embedded service and agent): a temporary one, not ~/.local/share.
    const work = mkdtempSync(path.join(tmpdir(), 'lr-start-e2e-'));

    beforeAll(async () => {
      ensureBuilt();
      const env = await offlineEnv(work);
      startedAt = Date.now();
      start = startProcess([path.join(ROOT, 'scripts/start.mjs')], env);
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await start?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it("tries Electron's installer, says in one line within 5 s why it failed, serves the shell, and stops with its children", async (context) => {
      const [fallback = '', why] = await start.waitForLine(FALLBACK_LINE);
      const elapsedMs = Date.now() - startedAt;
      expect(elapsedMs, 'the fallback line within 5 s').toBeLessThan(5_000);
      // The installer ran (its download was refused): what it said is on that one line.
      expect(start.stderr[0]).toMatch(
        /^Electron [\d.]+'s binary is not installed: downloading it with node_modules\/electron\/install\.js \(at most 300 s\)\.\.\.$/,
      );
      expect(why).toMatch(
        /^its binary could not be installed: TypeError: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+ for http:\/\/127\.0\.0\.1:\d+\/v[\d.]+\/electron-v[\d.]+-[a-z0-9]+-[a-z0-9]+\.zip$/,
      );
      // Its stack stays out of the terminal.
      expect(start.stderr.filter((line) => /^\s+at /.test(line))).toEqual([]);

      const match = await start.waitForLine(SHELL_URL_LINE);
      const url = match[1] ?? '';
      expect(start.stdout).toEqual([fallback, match[0]]);

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
  },
);

describe.skipIf(ELECTRON_HERE)(
  `npm start bounds Electron's download in time${ELECTRON_HERE ? ' (skipped: Electron is installed here, so npm start opens it)' : ''}`,
  () => {
    const work = mkdtempSync(path.join(tmpdir(), 'lr-start-slow-e2e-'));
    // A mirror that accepts the connection and never answers.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      rmSync(work, { recursive: true, force: true });
    });

    it('stops the installer after LR_ELECTRON_INSTALL_TIMEOUT_S and falls back', async () => {
      ensureBuilt();
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as net.AddressInfo;
      const env = await offlineEnv(work, {
        ELECTRON_MIRROR: `http://127.0.0.1:${port}/`,
        LR_ELECTRON_INSTALL_TIMEOUT_S: '2',
      });
      const startedAt = Date.now();
      const start = startProcess([path.join(ROOT, 'scripts/start.mjs')], env);
      try {
        const [, why] = await start.waitForLine(FALLBACK_LINE);
        const elapsedMs = Date.now() - startedAt;
        expect(why).toBe(
          'its binary could not be installed: the download did not finish within 2 s (LR_ELECTRON_INSTALL_TIMEOUT_S sets the bound)',
        );
        expect(elapsedMs).toBeGreaterThanOrEqual(2_000);
        expect(elapsedMs).toBeLessThan(10_000);
        expect(sockets.size, 'the installer did reach the mirror').toBeGreaterThan(0);
        await start.waitForLine(SHELL_URL_LINE);
      } finally {
        await start.stop();
      }
    });
  },
);

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

describe.skipIf(ELECTRON_HERE)(
  `npm start with a display opens Chromium without the token on its command line${ELECTRON_HERE ? ' (skipped: Electron is installed here, so npm start opens it)' : ''}`,
  () => {
    let start: RunningProcess;
    // Debian's Chromium behind a `chromium` found first on PATH: headless (no X server here), --no-sandbox
    // (we are root), its own profile, and a DevTools port so the test can look at the page it opened.
    const work = mkdtempSync(path.join(tmpdir(), 'lr-start-open-e2e-'));
    const dataDir = path.join(work, 'data');
    const profile = path.join(work, 'profile');
    let cdp: Browser | undefined;

    beforeAll(async () => {
      ensureBuilt();
      const bin = path.join(work, 'bin');
      const wrapper = path.join(bin, 'chromium');
      mkdirSync(bin);
      writeFileSync(
        wrapper,
        `#!/bin/sh\nexec /usr/bin/chromium --headless=new --no-sandbox --disable-gpu --no-first-run --disable-breakpad --user-data-dir=${profile} --remote-debugging-port=0 "$@"\n`,
      );
      chmodSync(wrapper, 0o755);
      const env: NodeJS.ProcessEnv = {
        ...(await offlineEnv(work)),
        LR_DATA_DIR: dataDir,
        DISPLAY: ':99',
        PATH: `${bin}:${process.env.PATH ?? ''}`,
      };
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
      const page: Page = await waitFor('the app page', () =>
        browserContext.pages().find((candidate) => candidate.url() === `${origin}/`),
      );
      context.onTestFailed(async () => {
        await screenshot(page, 'failed-npm-start-open');
      });
      await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('status-mode').textContent()).toBe('browser-shell');

      // The command lines are real (Chromium was given a file URL) and none holds the token; nor does any
      // environment.
      const processes = processTexts();
      expect(
        processes.filter((p) => p.cmdline.includes(profile)).length,
        'the Chromium processes opened by npm start',
      ).toBeGreaterThan(0);
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
        const post = await rawRequest(
          Number(port),
          'POST',
          '/launch',
          { origin: sentOrigin, 'content-type': 'application/x-www-form-urlencoded' },
          `token=${token}`,
        );
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
  },
);
