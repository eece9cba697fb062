#!/usr/bin/env node
/**
 * `npm start` (node scripts/start.mjs) and `npm run dev` (node scripts/start.mjs --dev).
 *
 * npm start
 *   1. Builds out/ first when it is missing (electron-vite build).
 *   2. If the Electron binary is installed (node_modules/electron/path.txt names a file that exists under
 *      node_modules/electron/dist), launches it on this folder: package.json "main" is out/main/index.js.
 *      We never `require('electron')` to find out: on a missing binary that starts a download.
 *   3. Otherwise prints one line saying so and runs the browser shell (out/main/browser-shell.js --open):
 *      it opens the system Chromium/Chrome when there is a display (on a private launch page: the token is
 *      never on a command line), and its URL line is forwarded as is (its token works once).
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
const ELECTRON_VITE = path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js');
const BROWSER_SHELL = path.join(ROOT, 'out/main/browser-shell.js');
const BUILD_OUTPUTS = ['out/main/index.js', 'out/main/browser-shell.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
const URL_LINE = /^LR workstation \(browser shell\): (http:\/\/127\.0\.0\.1:(\d+)\/launch\?token=([A-Za-z0-9_-]+))$/;

const NO_ELECTRON_LINE =
  'Electron is not available on this machine (its binary is not installed); serving the workstation to your browser instead.';

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

  const electron = electronBinary();
  if (electron) {
    if (dev) return runToEnd(process.execPath, [ELECTRON_VITE, 'dev']);
    await ensureBuilt();
    return runToEnd(electron, [ROOT]);
  }

  process.stdout.write(`${NO_ELECTRON_LINE}\n`);
  if (dev) return devWithBrowserShell();
  await ensureBuilt();
  return runToEnd(process.execPath, [BROWSER_SHELL, '--open']);
}

/** The Electron executable when it is really installed, else undefined. */
function electronBinary() {
  const pathFile = path.join(ROOT, 'node_modules/electron/path.txt');
  if (!existsSync(pathFile)) return undefined;
  const relative = readFileSync(pathFile, 'utf8').trim();
  if (!relative) return undefined;
  const binary = path.join(ROOT, 'node_modules/electron/dist', relative);
  return existsSync(binary) ? binary : undefined;
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
        proxy: { '/launch': { target: shellTarget }, '/ipc': { target: shellTarget.replace('http:', 'ws:'), ws: true } },
      },
    }),
  );
  await server.listen();

  // Started once Vite listens: with --open it opens the browser on its launch page for Vite's origin.
  const shell = spawnTracked(process.execPath, [BROWSER_SHELL, '--port', String(shellPort), '--dev-origin', viteOrigin, '--open'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
