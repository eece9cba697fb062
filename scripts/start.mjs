#!/usr/bin/env node
/**
 * `npm start` (node scripts/start.mjs) and `npm run dev` (node scripts/start.mjs --dev).
 *
 * npm start
 *   1. Finds Electron: ELECTRON_OVERRIDE_DIST_PATH (a local Electron, as Electron's own package honours it),
 *      else node_modules/electron/dist (path.txt names the executable). We never `require('electron')`:
 *      on a missing binary that downloads it with no bound in time and no way to fall back.
 *   2. No binary: runs Electron's own installer (node_modules/electron/install.js; its progress bar shows
 *      on stderr), bounded by LR_ELECTRON_INSTALL_TIMEOUT_S (default 300 s). Offline it fails within
 *      seconds, and says why in one line (scripts/electron-install-errors.cjs).
 *   3. Electron needs better-sqlite3 built for its ABI (src/main/native-binding.ts): when
 *      resources/native/electron holds no build for this Electron, runs scripts/electron-native.mjs
 *      (`npm run electron:native`) first. LR_ELECTRON_SQLITE_BINDING (a build of your own) skips it.
 *   4. Builds out/ when it is missing (electron-vite build) and launches Electron on this folder:
 *      package.json "main" is out/main/index.js.
 *   5. When any of that fails: one line saying why, then the browser shell (out/main/browser-shell.js
 *      --open): it opens the system Chromium/Chrome when there is a display (on a private launch page: the
 *      token is never on a command line), and its URL line is forwarded as is (its token works once).
 *
 * npm run dev (hot reload of the renderer)
 *   - With Electron: `electron-vite dev` (Vite dev server + Electron, HMR built in).
 *   - Without: rebuilds out/ (main and preload changes need a restart), then
 *       a. picks free loopback ports for Vite and the shell,
 *       b. starts Vite in this process (its Node API, with electron.vite.config.ts's renderer config) and
 *          proxies /launch and /ipc to the shell, so the page keeps talking to the origin it was loaded from,
 *       c. starts the browser shell with `--dev-origin http://127.0.0.1:<vite port> --open`: the API socket
 *          accepts pages served by Vite, and the browser opens on a launch page for Vite's origin,
 *       d. prints `LR workstation (dev, hot reload): http://127.0.0.1:<vite port>/launch?token=...` (works
 *          once: it is for when no browser could be opened).
 *     Editing anything under src/renderer then hot-reloads the page (React Fast Refresh).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '..');
const ELECTRON_PACKAGE = path.join(ROOT, 'node_modules/electron');
const ELECTRON_INSTALL = path.join(ELECTRON_PACKAGE, 'install.js');
const INSTALL_ERRORS = path.join(ROOT, 'scripts/electron-install-errors.cjs');
const ELECTRON_NATIVE = path.join(ROOT, 'scripts/electron-native.mjs');
const ELECTRON_VITE = path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js');
const BROWSER_SHELL = path.join(ROOT, 'out/main/browser-shell.js');
const BUILD_OUTPUTS = [
  'out/main/index.js',
  'out/main/browser-shell.js',
  'out/preload/index.cjs',
  'out/renderer/index.html',
];
const URL_LINE = /^LR workstation \(browser shell\): (http:\/\/127\.0\.0\.1:(\d+)\/launch\?token=([A-Za-z0-9_-]+))$/;

/** Environment variables of src/main/native-binding.ts and of this script. */
const SQLITE_BINDING_ENV = 'LR_ELECTRON_SQLITE_BINDING';
const INSTALL_TIMEOUT_ENV = 'LR_ELECTRON_INSTALL_TIMEOUT_S';
const DEFAULT_INSTALL_TIMEOUT_S = 300;

const fallbackLine = (why) =>
  `Electron is not available on this machine (${why}); serving the workstation to your browser instead.`;

const dev = process.argv.includes('--dev');
const children = new Set();
let shuttingDown = false;

main().catch((error) => {
  process.stderr.write(`start: ${error instanceof Error ? error.message : String(error)}\n`);
  stopAll('SIGTERM');
  process.exitCode = 1;
});

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      shuttingDown = true;
      if (children.size === 0) process.exit(0);
      stopAll(signal);
      // Exit once the children are gone (see `spawnTracked`), or after a grace period.
      setTimeout(() => process.exit(0), 3000).unref();
    });
  }

  let why;
  const electron = await electronToRun();
  if ('binary' in electron) {
    why = await ensureElectronNative();
    if (!why) {
      if (dev) return runToEnd(process.execPath, [ELECTRON_VITE, 'dev']);
      await ensureBuilt();
      return runToEnd(electron.binary, [ROOT]);
    }
  } else {
    why = electron.why;
  }

  process.stdout.write(`${fallbackLine(why)}\n`);
  if (dev) return devWithBrowserShell();
  await ensureBuilt();
  return runToEnd(process.execPath, [BROWSER_SHELL, '--open']);
}

/** The Electron executable to launch, installing it when missing: `{ binary }`, or `{ why }` not. */
async function electronToRun() {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    // As node_modules/electron/index.js reads it: path.txt's name inside that folder.
    const binary = path.resolve(override, electronPathTxt() ?? platformExecutable());
    return existsSync(binary)
      ? { binary }
      : { why: `ELECTRON_OVERRIDE_DIST_PATH names no Electron: ${binary} does not exist` };
  }
  const installed = installedElectron();
  if (installed) return { binary: installed };
  if (!existsSync(ELECTRON_INSTALL)) return { why: 'its npm package is not installed (npm install)' };
  const failure = await installElectron();
  if (failure) return { why: `its binary could not be installed: ${failure}` };
  return installedElectron()
    ? { binary: installedElectron() }
    : { why: 'its installer left no binary in node_modules/electron/dist' };
}

function electronPathTxt() {
  const pathFile = path.join(ELECTRON_PACKAGE, 'path.txt');
  return existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() || undefined : undefined;
}

/** What node_modules/electron/install.js writes into path.txt on this platform. */
function platformExecutable() {
  if (process.platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  return process.platform === 'win32' ? 'electron.exe' : 'electron';
}

/** The executable in node_modules/electron/dist when the binary is installed, else undefined. */
function installedElectron() {
  const relative = electronPathTxt();
  if (!relative) return undefined;
  const binary = path.join(ELECTRON_PACKAGE, 'dist', relative);
  return existsSync(binary) ? binary : undefined;
}

/**
 * Runs Electron's own installer (it downloads the binary of node_modules/electron's version, honouring
 * ELECTRON_MIRROR, electron_config_cache and the like). Undefined on success, else why not (one line).
 */
async function installElectron() {
  const timeoutS =
    Number(process.env[INSTALL_TIMEOUT_ENV]) > 0 ? Number(process.env[INSTALL_TIMEOUT_ENV]) : DEFAULT_INSTALL_TIMEOUT_S;
  const { version } = JSON.parse(readFileSync(path.join(ELECTRON_PACKAGE, 'package.json'), 'utf8'));
  process.stderr.write(
    `Electron ${version}'s binary is not installed: downloading it with node_modules/electron/install.js (at most ${timeoutS} s)...\n`,
  );
  // Its stdout goes to our stderr (our stdout carries only the lines other tools read), its stderr (the
  // progress bar) to ours, and its error report to a pipe (fd 3, see electron-install-errors.cjs).
  const child = spawnTracked(process.execPath, ['--require', INSTALL_ERRORS, ELECTRON_INSTALL], {
    stdio: ['ignore', 2, 'inherit', 'pipe'],
  });
  let report = '';
  child.stdio[3].setEncoding('utf8').on('data', (text) => (report += text));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, timeoutS * 1000);
  const code = await new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  clearTimeout(timer);
  if (timedOut) return `the download did not finish within ${timeoutS} s (${INSTALL_TIMEOUT_ENV} sets the bound)`;
  if (code === 0) return undefined;
  const firstLine = report
    .split('\n')
    .find((line) => line.trim())
    ?.trim();
  return firstLine ?? `its installer failed (exit code ${code})`;
}

/**
 * Makes sure Electron has a better-sqlite3 built for its ABI (scripts/electron-native.mjs). Undefined when
 * it has, else why not (one line).
 */
async function ensureElectronNative() {
  const own = process.env[SQLITE_BINDING_ENV];
  if (own) return existsSync(own) ? undefined : `${SQLITE_BINDING_ENV} names no file: ${own}`;
  const { nativeBuildIsCurrent } = await import('./electron-native.mjs');
  if (nativeBuildIsCurrent()) return undefined;
  process.stderr.write('Electron needs better-sqlite3 built for its ABI: running npm run electron:native...\n');
  const child = spawnTracked(process.execPath, [ELECTRON_NATIVE], { stdio: ['ignore', 2, 'pipe'] });
  let last = '';
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    process.stderr.write(`${line}\n`);
    if (line.trim()) last = line.trim();
  });
  const code = await new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  if (code === 0) return undefined;
  return `its SQLite module could not be built: ${last.replace(/^electron:native: /, '') || `exit code ${code}`}`;
}

async function ensureBuilt({ always = false } = {}) {
  if (!always && BUILD_OUTPUTS.every((file) => existsSync(path.join(ROOT, file)))) return;
  process.stderr.write('Building the workstation (electron-vite build)...\n');
  // Build logs go to stderr: stdout carries only the lines other tools read.
  const code = await waitForExit(spawnTracked(process.execPath, [ELECTRON_VITE, 'build'], { stdio: ['ignore', 2, 2] }));
  if (code !== 0) throw new Error(`build failed (exit code ${code})`);
}

/** Runs one child with our stdout/stderr and exits with its exit code. */
async function runToEnd(command, args) {
  const code = await waitForExit(spawnTracked(command, args, { stdio: ['ignore', 'inherit', 'inherit'] }));
  process.exit(shuttingDown ? 0 : code);
}

async function devWithBrowserShell() {
  await ensureBuilt({ always: true });
  const vitePort = await freeLoopbackPort();
  const shellPort = await freeLoopbackPort();
  const viteOrigin = `http://127.0.0.1:${vitePort}`;

  // Loaded only here: `npm start` must not need vite at run time.
  const { resolveConfig } = await import('electron-vite');
  const { createServer, mergeConfig } = await import('vite');
  const resolved = await resolveConfig({ root: ROOT }, 'serve', 'development');
  const rendererConfig = resolved.config?.renderer;
  if (!rendererConfig) throw new Error('electron.vite.config.ts has no renderer config');

  const shellTarget = `http://127.0.0.1:${shellPort}`;
  const server = await createServer(
    mergeConfig(rendererConfig, {
      configFile: false,
      clearScreen: false,
      server: {
        host: '127.0.0.1',
        port: vitePort,
        strictPort: true,
        // The launch link (it sets the session cookie) and the API socket live in the shell.
        proxy: {
          '/launch': { target: shellTarget },
          '/ipc': { target: shellTarget.replace('http:', 'ws:'), ws: true },
        },
      },
    }),
  );
  await server.listen();

  // Started once Vite listens: with --open it opens the browser on its launch page for Vite's origin.
  const shell = spawnTracked(
    process.execPath,
    [BROWSER_SHELL, '--port', String(shellPort), '--dev-origin', viteOrigin, '--open'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  void waitForExit(shell).then((code) => {
    if (!shuttingDown) {
      process.stderr.write(`browser shell exited (code ${code})\n`);
      stopAll('SIGTERM');
      process.exit(1);
    }
  });
  const { token } = await readUrlLine(shell);
  // One-time, like the shell's own URL: the first browser to open it gets the session.
  process.stdout.write(`LR workstation (dev, hot reload): ${viteOrigin}/launch?token=${token}\n`);
}

/** Reads the shell's URL line; everything the shell prints is forwarded to our stdout. */
function readUrlLine(child) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    let found = false;
    lines.on('line', (line) => {
      const match = URL_LINE.exec(line);
      if (match && !found) {
        found = true;
        resolve({ url: match[1], port: Number(match[2]), token: match[3] });
        return;
      }
      process.stdout.write(`${line}\n`);
    });
    lines.on('close', () => {
      if (!found) reject(new Error('the browser shell ended without printing its URL'));
    });
  });
}

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function spawnTracked(command, args, options) {
  const child = spawn(command, args, { cwd: ROOT, ...options });
  children.add(child);
  child.once('exit', () => {
    children.delete(child);
    if (shuttingDown && children.size === 0) process.exit(0);
  });
  return child;
}

function waitForExit(child) {
  return new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Stops our own children, by PID. */
function stopAll(signal) {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}
