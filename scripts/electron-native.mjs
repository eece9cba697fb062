#!/usr/bin/env node
/**
 * `npm run electron:native`: builds better-sqlite3's native module for the installed Electron's ABI into
 * resources/native/electron/better_sqlite3.node, outside node_modules (whose Node-ABI build the tests, the
 * CLI and the service keep using). src/main/native-binding.ts loads it inside Electron; `npm start` runs this
 * before the first Electron launch, `npm run package` before electron-builder (extraResources).
 *
 * How: node-gyp with Electron's headers (the classic manual rebuild), in a scratch copy of
 * node_modules/better-sqlite3 so node_modules is never touched:
 *   node-gyp rebuild --release --target=<electron version> --arch=<arch> --dist-url=https://electronjs.org/headers
 * It needs the network once (Electron's headers, cached by node-gyp) and a C/C++ toolchain with Python,
 * as any better-sqlite3 build from source. better_sqlite3.json beside the module records what it was built
 * for; the build is skipped when that matches (--force builds anyway).
 *
 * Options: --force; --for-package (the Electron version of node_modules/electron, even when
 * ELECTRON_OVERRIDE_DIST_PATH names another Electron). LR_ELECTRON_HEADERS_URL replaces the headers' URL
 * (a mirror). Full node-gyp output: resources/native/electron/build.log. On failure: one line, exit code 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Mirrors ELECTRON_NATIVE_DIR of src/main/native-binding.ts, under the project's resources/. */
export const NATIVE_DIR = path.join(ROOT, 'resources', 'native', 'electron');
export const NATIVE_MODULE = path.join(NATIVE_DIR, 'better_sqlite3.node');
const STAMP = path.join(NATIVE_DIR, 'better_sqlite3.json');
const LOG = path.join(NATIVE_DIR, 'build.log');
const DEFAULT_HEADERS_URL = 'https://electronjs.org/headers';

const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));

/**
 * The Electron version the module is for: the local Electron's (ELECTRON_OVERRIDE_DIST_PATH/version, as
 * npm start runs it) unless packaging, else node_modules/electron's.
 */
export function targetElectronVersion({ forPackage = false } = {}) {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override && !forPackage) {
    const versionFile = path.join(override, 'version');
    if (existsSync(versionFile)) return readFileSync(versionFile, 'utf8').trim().replace(/^v/, '');
  }
  return JSON.parse(readFileSync(requireFromRoot.resolve('electron/package.json'), 'utf8')).version;
}

function wantedStamp(electron) {
  const betterSqlite3 = JSON.parse(
    readFileSync(requireFromRoot.resolve('better-sqlite3/package.json'), 'utf8'),
  ).version;
  return { electron, betterSqlite3, platform: process.platform, arch: process.arch };
}

/** True when resources/native/electron holds a module built for this Electron, better-sqlite3, platform and arch. */
export function nativeBuildIsCurrent(electron = targetElectronVersion()) {
  if (!existsSync(NATIVE_MODULE) || !existsSync(STAMP)) return false;
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    const wanted = wantedStamp(electron);
    return Object.entries(wanted).every(([key, value]) => stamp[key] === value);
  } catch {
    return false;
  }
}

/** node-gyp: the project's, else the one npm bundles (npm sets npm_config_node_gyp for scripts). */
function nodeGypScript() {
  try {
    return requireFromRoot.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    if (bundled && existsSync(bundled)) return bundled;
    throw new Error('node-gyp was not found (npm install -g node-gyp)');
  }
}

/**
 * Our environment without the npm settings that would make node-gyp build against other headers than
 * Electron's: `nodedir` (e.g. /usr, a distribution's Node headers) wins over --target and --dist-url, and
 * the result would be a Node-ABI module that Electron refuses.
 */
function nodeGypEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_config_nodedir$/i.test(key)) delete env[key];
  }
  return env;
}

/** The first error node-gyp gave, in one line ("gyp ERR! stack <message>" up to the stack frames). */
function reasonFromLog(text) {
  const lines = text.split('\n');
  const message = [];
  for (const line of lines) {
    const match = /^gyp ERR! stack (.*)$/.exec(line);
    if (!match) continue;
    if (/^at /.test(match[1])) break;
    message.push(match[1].trim());
  }
  const download = lines.map((line) => /^gyp http GET (\S+)/.exec(line)?.[1]).find(Boolean);
  const compiled = lines.some((line) => /^gyp info spawn (make|msbuild)/i.test(line));
  if (download && !compiled && message.length > 0)
    return `Electron's headers could not be downloaded from ${download} (${message.join(' ')})`;
  if (message.length > 0) return message.join(' ');
  const errors = lines.filter((line) => /error/i.test(line) && !/^gyp (info|http)/.test(line));
  return errors[0]?.trim() || 'node-gyp failed';
}

/**
 * Throws when `file` is not an Electron-ABI module: Node must refuse to load it, naming Electron's
 * NODE_MODULE_VERSION (node_modules/electron/abi_version). A module Node loads was built against Node's
 * headers and would fail in Electron at its first database.
 */
export function checkElectronAbi(file) {
  const abi = readFileSync(requireFromRoot.resolve('electron/abi_version'), 'utf8').trim();
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' });
  if (probe.status === 0)
    throw new Error(`${file} was built for Node's ABI (${process.versions.modules}), not Electron's (${abi})`);
  if (!probe.stderr.includes(`NODE_MODULE_VERSION ${abi}.`)) {
    const said =
      probe.stderr.split('\n').find((line) => /NODE_MODULE_VERSION|Error/.test(line)) ?? `exit code ${probe.status}`;
    throw new Error(`${file} is not a module for Electron's ABI ${abi}: ${said.trim()}`);
  }
}

/**
 * Runs node-gyp in its own process group: when we are stopped (Ctrl+C, or npm start stopping), make and
 * the compilers go with it rather than compiling on, orphaned.
 */
function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, detached: process.platform !== 'win32' });
    const stop = (signal) => {
      try {
        if (process.platform === 'win32') child.kill(signal);
        else process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
      onStop(signal);
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const signal of signals) process.once(signal, stop);
    const done = (code) => {
      for (const signal of signals) process.off(signal, stop);
      resolve(code);
    };
    child.once('error', () => done(1));
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

/** Set while a build runs: removes its scratch folder and exits when we are stopped. */
let onStop = () => undefined;

/** Builds the module; throws an Error with a one-line message when it cannot. */
export async function buildElectronNative({ force = false, forPackage = false } = {}) {
  const electron = targetElectronVersion({ forPackage });
  if (!force && nativeBuildIsCurrent(electron)) {
    process.stderr.write(
      `electron:native: ${path.relative(ROOT, NATIVE_MODULE)} is already built for Electron ${electron}\n`,
    );
    return NATIVE_MODULE;
  }
  const nodeGyp = nodeGypScript();
  const source = path.dirname(requireFromRoot.resolve('better-sqlite3/package.json'));
  const headersUrl = process.env.LR_ELECTRON_HEADERS_URL || DEFAULT_HEADERS_URL;
  mkdirSync(NATIVE_DIR, { recursive: true });
  const scratch = mkdtempSync(path.join(tmpdir(), 'lr-electron-native-'));
  onStop = (signal) => {
    rmSync(scratch, { recursive: true, force: true });
    process.stderr.write(`electron:native: stopped (${signal})\n`);
    process.exit(1);
  };
  try {
    // Its sources only: node_modules/better-sqlite3/build (the Node build) stays where it is.
    for (const entry of ['binding.gyp', 'package.json', 'src', 'deps'])
      cpSync(path.join(source, entry), path.join(scratch, entry), { recursive: true });
    process.stderr.write(
      `electron:native: building better-sqlite3 for Electron ${electron} (${process.arch}) with node-gyp; log: ${path.relative(ROOT, LOG)}\n`,
    );
    const log = createWriteStream(LOG);
    await new Promise((resolve) => log.once('open', resolve));
    const args = [
      nodeGyp,
      'rebuild',
      '--release',
      `--target=${electron}`,
      `--arch=${process.arch}`,
      `--dist-url=${headersUrl}`,
    ];
    log.write(`$ node ${args.join(' ')}\n`);
    const code = await run(process.execPath, args, { cwd: scratch, env: nodeGypEnv(), stdio: ['ignore', log, log] });
    await new Promise((resolve) => log.end(resolve));
    const built = path.join(scratch, 'build', 'Release', 'better_sqlite3.node');
    if (code !== 0 || !existsSync(built)) {
      throw new Error(
        `better-sqlite3 could not be built for Electron ${electron}: ${reasonFromLog(readFileSync(LOG, 'utf8'))} (log: ${path.relative(ROOT, LOG)})`,
      );
    }
    checkElectronAbi(built);
    // Replaced whole: a running app never sees half a file.
    copyFileSync(built, `${NATIVE_MODULE}.tmp`);
    renameSync(`${NATIVE_MODULE}.tmp`, NATIVE_MODULE);
    writeFileSync(STAMP, `${JSON.stringify(wantedStamp(electron), null, 2)}\n`);
    process.stderr.write(`electron:native: built ${path.relative(ROOT, NATIVE_MODULE)} for Electron ${electron}\n`);
    return NATIVE_MODULE;
  } finally {
    onStop = () => undefined;
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const unknown = argv.filter((arg) => arg !== '--force' && arg !== '--for-package');
  if (unknown.length > 0) {
    process.stderr.write(
      `electron:native: unknown option ${unknown[0]} (usage: electron-native.mjs [--force] [--for-package])\n`,
    );
    process.exit(2);
  }
  buildElectronNative({ force: argv.includes('--force'), forPackage: argv.includes('--for-package') }).catch(
    (error) => {
      process.stderr.write(`electron:native: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
