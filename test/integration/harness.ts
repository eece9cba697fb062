/**
 * Test harness for integration tests: runs the real programs (out/bin/*.js, built by `npm run build`)
 * as child processes on loopback, each test world in its own temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository root: the nearest folder above this file holding package.json (also when bundled into bench/). */
export const ROOT = ((): string => {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const BIN = (p: 'lr' | 'lr-server' | 'lr-agent') => join(ROOT, 'out', 'bin', `${p}.js`);

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  prog: 'lr' | 'lr-server' | 'lr-agent',
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN(prog), ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${prog} ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Starts a long-running program and resolves once a line matching `ready` appears on stdout. */
export function start(
  prog: 'lr-server' | 'lr-agent',
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<ChildProcess & { output: () => string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN(prog), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as ChildProcess & { output: () => string };
    let out = '';
    child.output = () => out;
    const timer = setTimeout(() => rej(new Error(`${prog} did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        res(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${prog} exited with ${code}: ${out}`));
    });
  });
}

export async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((res) => {
    child.once('exit', () => res());
    child.kill(signal);
    setTimeout(() => {
      child.kill('SIGKILL');
      res();
    }, 5000).unref();
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 200,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface World {
  dir: string;
  dataDir: string;
  port: number;
  adminProfile: string;
  server?: ChildProcess;
  agents: ChildProcess[];
  startServer(): Promise<void>;
  stopServer(signal?: NodeJS.Signals): Promise<void>;
  /** Enrolls and starts an agent; resolves when it is online. */
  addAgent(
    name: string,
    opts?: { sysroot?: string },
  ): Promise<{ dataDir: string; process: ChildProcess; deviceId: string }>;
  lr(args: string[], profile?: string, opts?: { cwd?: string; timeoutMs?: number }): Promise<RunResult>;
  addUser(name: string, role: 'basic' | 'advanced' | 'admin', libraryManager?: boolean): Promise<string>;
  devices(): Promise<{ id: string; name: string; online: boolean }[]>;
  cleanup(): Promise<void>;
}

/** `opts.host`: the address the service listens on (default 127.0.0.1; the isolation test uses a veth address). */
export async function createWorld(limits: Record<string, number> = {}, opts: { host?: string } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'lr-it-'));
  const dataDir = join(dir, 'server');
  const port = await freePort();
  const init = await run('lr-server', ['init', '--data', dataDir, '--listen', `${opts.host ?? '127.0.0.1'}:${port}`]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const configPath = join(dataDir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { limits: Record<string, number> };
  config.limits = { ...config.limits, ...limits };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const adminProfile = join(dataDir, 'admin.profile.json');
  const env = { XDG_STATE_HOME: join(dir, 'state'), LR_LOG_LEVEL: 'warn' };

  const world: World = {
    dir,
    dataDir,
    port,
    adminProfile,
    agents: [],
    async startServer() {
      world.server = await start('lr-server', ['start', '--data', dataDir], /listening/, env);
    },
    async stopServer(signal = 'SIGTERM') {
      await stop(world.server, signal);
      world.server = undefined;
    },
    async addAgent(name, opts = {}) {
      const bundle = join(dir, `${name}.bundle.json`);
      const t = await run('lr-server', ['enroll-token', '--data', dataDir, '--out', bundle, '--ttl', '1h']);
      if (t.code !== 0) throw new Error(t.stderr);
      const agentDir = join(dir, `agent-${name}`);
      const e = await run('lr-agent', ['enroll', '--bundle', bundle, '--data', agentDir, '--name', name]);
      if (e.code !== 0) throw new Error(`enroll failed: ${e.stderr}`);
      const deviceId = /device id (\w+)/.exec(e.stdout)?.[1] as string;
      const args = ['start', '--data', agentDir, ...(opts.sysroot ? ['--sysroot', opts.sysroot] : [])];
      const p = await start('lr-agent', args, /started/, env);
      world.agents.push(p);
      await waitFor(`${name} online`, async () => (await world.devices()).find((d) => d.id === deviceId && d.online));
      return { dataDir: agentDir, process: p, deviceId };
    },
    lr(args, profile = adminProfile, opts = {}) {
      return run('lr', ['--profile', profile, ...args], { env, cwd: opts.cwd, timeoutMs: opts.timeoutMs });
    },
    async addUser(name, role, libraryManager = false) {
      const out = join(dir, `${name}.profile.json`);
      const r = await run('lr-server', [
        'user',
        'add',
        name,
        '--role',
        role,
        '--data',
        dataDir,
        '--out',
        out,
        ...(libraryManager ? ['--library-manager'] : []),
      ]);
      if (r.code !== 0) throw new Error(r.stderr);
      return out;
    },
    async devices() {
      const r = await world.lr(['devices', '--json']);
      if (r.code !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as { id: string; name: string; online: boolean }[];
    },
    async cleanup() {
      for (const a of world.agents) await stop(a);
      await world.stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await world.startServer();
  return world;
}

/** Enrolls an agent without starting it (tests that start it their own way, e.g. in a network namespace). */
export async function enrollAgent(world: World, name: string): Promise<{ dataDir: string; deviceId: string }> {
  const bundle = join(world.dir, `${name}.bundle.json`);
  const t = await run('lr-server', ['enroll-token', '--data', world.dataDir, '--out', bundle, '--ttl', '1h']);
  if (t.code !== 0) throw new Error(t.stderr);
  const agentDir = join(world.dir, `agent-${name}`);
  const e = await run('lr-agent', ['enroll', '--bundle', bundle, '--data', agentDir, '--name', name]);
  if (e.code !== 0) throw new Error(`enroll failed: ${e.stderr}`);
  return { dataDir: agentDir, deviceId: /device id (\w+)/.exec(e.stdout)?.[1] as string };
}
