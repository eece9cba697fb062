/**
 * `node out/main/browser-shell.js [--port N] [--open] [--dev-origin URL ...]`
 *
 * The app data folder is $LR_DATA_DIR (default ~/.local/share/lr-workstation): on first run the standalone
 * mode creates the embedded service and agent there (see ../services/standalone.ts).
 *
 * Starts the browser shell and prints exactly one line to stdout:
 *   LR workstation (browser shell): http://127.0.0.1:PORT/launch?token=...
 * (scripts/start.mjs and the e2e tests read it). The token works once: the first browser to use it gets
 * the session cookie. With --open and a display, also opens the system's Chromium/Chrome as an app window
 * on a private launch page (launch-page.ts), never with the token on its command line; with --dev-origin,
 * on the first dev origin (the dev server proxies /launch and /ipc here). Runs until SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DisposableStore } from '../../shared/lifecycle.js';
import { writeLaunchPage, type LaunchPage } from './launch-page.js';
import { findBrowser, hasDisplay, openAppWindow } from './open-browser.js';
import { chooseDataDir } from '../services/app-data.js';
import { createServices } from '../services/index.js';
import { sqliteBindingOfThisProcess } from '../native-binding.js';
import { LAUNCH_PATH, startBrowserShell } from './server.js';
import { describeError } from '../../shared/errors.js';
import { installCrashHandlers } from '../../node/crash-handlers.js';

export const URL_LINE_PREFIX = 'LR workstation (browser shell): ';

const USAGE = 'usage: browser-shell [--port N] [--open] [--renderer-dir DIR] [--dev-origin http://127.0.0.1:PORT]...';

// This file is bundled as out/main/browser-shell.js, so the renderer and package.json sit at fixed places.
const OUT_MAIN_DIR = import.meta.dirname;
const DEFAULT_RENDERER_DIR = path.resolve(OUT_MAIN_DIR, '../renderer');
const PACKAGE_JSON = path.resolve(OUT_MAIN_DIR, '../../package.json');

async function main(argv: readonly string[]): Promise<void> {
  const args = parseCommandLine(argv);
  if (!args) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }

  // Start-up order; `resources` releases in reverse at SIGINT/SIGTERM: the launch page, then the services
  // (consoles, the embedded service and agent), then the HTTP server, which serves the page until then.
  const resources = new DisposableStore();
  const services = createServices({
    version: readVersion(),
    mode: 'browser-shell',
    platform: process.platform,
    dataDir: chooseDataDir(process.env),
    agentSysroot: process.env.LR_AGENT_SYSROOT,
    // Under Node: undefined (better-sqlite3's own build); the same chooser as the Electron app's.
    sqliteNativeBinding: sqliteBindingOfThisProcess(),
  });
  const shell = await startBrowserShell({
    rendererDir: args.rendererDir,
    port: args.port,
    services,
    devOrigins: args.devOrigins,
  });
  resources.defer(() => shell.close());
  process.stdout.write(`${URL_LINE_PREFIX}${shell.url}\n`);
  // Standalone (embedded service + agent) or the saved profile; the page shows "starting" meanwhile.
  void services.start();
  resources.defer(() => services.stop());

  if (args.open) {
    const launchPage = openIfPossible(`${args.devOrigins[0] ?? shell.origin}${LAUNCH_PATH}`, shell.launchToken);
    if (launchPage) {
      resources.defer(() => launchPage.remove());
      resources.add(shell.onLaunchUsed(() => launchPage.remove()));
    }
  }

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const exitSoon = setTimeout(() => process.exit(0), 5_000);
    void resources
      .dispose()
      .catch(() => undefined)
      .then(() => {
        clearTimeout(exitSoon);
        process.exit(0);
      });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

interface CommandLine {
  port: number;
  open: boolean;
  rendererDir: string;
  devOrigins: string[];
}

function parseCommandLine(argv: readonly string[]): CommandLine | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string', default: '0' },
        open: { type: 'boolean', default: false },
        'renderer-dir': { type: 'string', default: DEFAULT_RENDERER_DIR },
        'dev-origin': { type: 'string', multiple: true, default: [] },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch {
    return undefined;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return undefined;
  const devOrigins = values['dev-origin'];
  if (!devOrigins.every(isLoopbackHttpOrigin)) return undefined;
  return { port, open: values.open, rendererDir: path.resolve(values['renderer-dir']), devOrigins };
}

/** Only an exact loopback origin may be added (what the Vite dev server listens on). */
function isLoopbackHttpOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.origin === value;
  } catch {
    return false;
  }
}

/** Opens the browser on a private launch page that posts the token to `launchUrl`; returns that page. */
function openIfPossible(launchUrl: string, token: string): LaunchPage | undefined {
  if (!hasDisplay(process.env)) {
    process.stderr.write(
      'No display ($DISPLAY/$WAYLAND_DISPLAY unset): open the URL above (it works once) in Chromium or Chrome.\n',
    );
    return undefined;
  }
  const browser = findBrowser(process.env);
  if (!browser) {
    process.stderr.write('No Chromium or Chrome found on PATH: open the URL above (it works once) in a browser.\n');
    return undefined;
  }
  if (process.getuid?.() === 0) {
    process.stderr.write(
      'Running as root: Chromium refuses to start as root without --no-sandbox; if no window appears, open the URL as a normal user.\n',
    );
  }
  const page = writeLaunchPage(launchUrl, token);
  openAppWindow(browser, page.fileUrl);
  return page;
}

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string')
      return pkg.version;
  } catch {
    // fall through
  }
  return '0.0.0';
}

installCrashHandlers('browser shell');
main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`browser shell: ${describeError(error)}\n`);
  process.exit(1);
});
