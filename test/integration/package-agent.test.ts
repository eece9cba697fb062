// `npm run package:agent` builds one executable per OS, and each one enrolls with a real
// service, comes online and answers `processes`, where no Node.js is installed:
// - linux-x64 in a throwaway root made here (the file, the shared libraries ldd lists, /proc, /etc/hosts, /tmp;
//   chroot in a private mount namespace, empty environment): no node anywhere in it;
// - win-x64 under Wine, run directly (no node.exe): koffi's Windows binary comes out of the executable;
// - linux-arm64 under qemu-user (qemu-aarch64-static, called explicitly: binfmt_misc is not mounted here), with
//   Debian's arm64 loader and libraries (libc6-arm64-cross, libstdc++6-arm64-cross) given with -L.
// Every file is built once, as version VERSION, and says so with --version.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorld, ROOT, run, waitFor, type World } from './harness.js';
import { describeNeeds, firstProblem, IS_ROOT, missingCommand } from '../needs.js';
import { createWinePrefix, winPath, WINE64, wineProblem, type WinePrefix } from './wine.js';

const VERSION = '7.8.9-sea.1';
const NODE_VERSION = '22.23.3';
const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';
const QEMU = 'qemu-aarch64-static';

/** The commit the files are built from (read before the build, as the build reads it). */
const COMMIT = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();

let built: Promise<string> | null = null;
/** Builds the three files once, into a temporary folder (~30 s). */
function buildOnce(): Promise<string> {
  built ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'lr-package-agent-'));
    const r = await runNode(['scripts/package-agent.mjs', '--version', VERSION, '--out', out]);
    if (r.code !== 0) throw new Error(`package:agent failed (${r.code}): ${r.stdout}${r.stderr}`);
    return out;
  })();
  return built;
}

afterAll(async () => {
  if (built) rmSync(await built.catch(() => ''), { recursive: true, force: true });
});

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/** Runs a long-lived program with its output in a file (Wine cannot write to a pipe; the others do not care). */
function spawnToFile(cmd: string, args: string[], env: Record<string, string>, out: string): ChildProcess {
  writeFileSync(out, '');
  return spawn('/bin/sh', ['-c', 'exec "$0" "$@" >"$LR_OUT" 2>&1 </dev/null', cmd, ...args], {
    env: { ...env, LR_OUT: out },
    stdio: 'ignore',
  });
}

async function runToEnd(
  child: ChildProcess,
  out: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const code = await new Promise<number | null>((res, rej) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`did not finish in ${timeoutMs} ms: ${readFileSync(out, 'utf8')}`));
    }, timeoutMs);
    child.on('exit', (c) => {
      clearTimeout(t);
      res(c);
    });
  });
  return { code, output: readFileSync(out, 'utf8') };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((res) => {
    child.once('exit', () => res());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

async function enrollmentBundle(w: World, name: string): Promise<string> {
  const bundle = join(w.dir, `${name}.bundle.json`);
  const t = await run('lr-server', ['enroll-token', '--data', w.dataDir, '--out', bundle, '--ttl', '1h']);
  if (t.code !== 0) throw new Error(t.stderr);
  return bundle;
}

type Rec = Record<string, unknown>;

async function processesOf(w: World, device: string): Promise<Rec[]> {
  const r = await w.lr(['exec', device, 'processes -output json'], undefined, { timeoutMs: 90_000 });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Rec[];
}

it('builds the three files, each with its SHA-256 next to it', async () => {
  const out = await buildOnce();
  for (const name of ['lr-agent-linux-x64', 'lr-agent-linux-arm64', 'lr-agent-win-x64.exe']) {
    const file = join(out, name);
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(`${hash}  ${name}\n`);
  }
  expect(execFileSync('file', ['-b', join(out, 'lr-agent-linux-x64')], { encoding: 'utf8' })).toMatch(
    /^ELF 64-bit LSB .*x86-64.*stripped/,
  );
  expect(execFileSync('file', ['-b', join(out, 'lr-agent-linux-arm64')], { encoding: 'utf8' })).toMatch(
    /^ELF 64-bit LSB .*ARM aarch64/,
  );
  expect(execFileSync('file', ['-b', join(out, 'lr-agent-win-x64.exe')], { encoding: 'utf8' })).toMatch(
    /^PE32\+ executable \(console\) x86-64/,
  );
}, 300_000);

/**
 * A throwaway root holding only the agent, the libraries ldd lists for it (at the paths it lists, the loader
 * included), /etc/hosts, /tmp and an empty /proc: what a minimal machine without Node.js has.
 */
function minimalRoot(binary: string): string {
  const root = mkdtempSync(join(tmpdir(), 'lr-minroot-'));
  copyFileSync(binary, join(root, 'lr-agent'));
  chmodSync(join(root, 'lr-agent'), 0o755);
  const libs = [...execFileSync('ldd', [binary], { encoding: 'utf8' }).matchAll(/(\/\S+)/g)].map((m) => m[1]!);
  expect(libs.some((l) => /ld-linux/.test(l))).toBe(true);
  for (const lib of libs) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib)); // copyFileSync follows links: the library itself
  }
  for (const d of ['proc', 'tmp', 'etc', 'data']) mkdirSync(join(root, d));
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/etc/hosts', join(root, 'etc', 'hosts'));
  return root;
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

const chrootProblem = firstProblem(
  IS_ROOT ? null : 'needs root (chroot, mount in a private mount namespace)',
  missingCommand('npm'),
  missingCommand('unshare', 'util-linux'),
  missingCommand('chroot', 'coreutils'),
  missingCommand('ldd', 'libc-bin'),
  missingCommand('file'),
);

describeNeeds(chrootProblem)('lr-agent-linux-x64 in a minimal root without Node.js', () => {
  let w: World;
  let root: string;
  let agent: ChildProcess | undefined;
  /** The agent run in the root: a private mount namespace (its /proc goes away with it), chroot, no environment. */
  const inRoot = (args: string[], out: string) =>
    spawnToFile(
      '/usr/bin/unshare',
      [
        '-m',
        '/bin/sh',
        '-c',
        'mount -t proc proc "$0/proc" && exec /usr/sbin/chroot "$0" /lr-agent "$@"',
        root,
        ...args,
      ],
      {},
      out,
    );

  beforeAll(async () => {
    root = minimalRoot(join(await buildOnce(), 'lr-agent-linux-x64'));
    w = await createWorld();
  }, 300_000);
  afterAll(async () => {
    await stopChild(agent);
    await w?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('has no node in the root, prints its version, enrolls, comes online and lists its own process', async () => {
    expect(allFiles(root).filter((f) => /(^|\/)node(\.exe)?$/.test(f))).toEqual([]);
    const v = await runToEnd(inRoot(['--version'], join(w.dir, 'v.out')), join(w.dir, 'v.out'), 30_000);
    expect(v).toEqual({ code: 0, output: `lr-agent ${VERSION} (build ${COMMIT}, linux-x64, node ${NODE_VERSION})\n` });

    copyFileSync(await enrollmentBundle(w, 'minimal'), join(root, 'bundle.json'));
    const e = await runToEnd(
      inRoot(
        ['enroll', '--bundle', '/bundle.json', '--data', '/data/agent', '--name', 'minimal'],
        join(w.dir, 'e.out'),
      ),
      join(w.dir, 'e.out'),
      60_000,
    );
    expect(e.code, e.output).toBe(0);
    const deviceId = /device id (\w+)/.exec(e.output)?.[1];
    expect(deviceId).toBeTruthy();

    const out = join(w.dir, 'agent.out');
    agent = inRoot(['start', '--data', '/data/agent'], out);
    await waitFor(
      'the agent online',
      async () => (await w.devices()).find((d) => d.id === deviceId && d.online),
      30_000,
    );
    // unshare and sh exec their successor: the spawned pid is the agent's.
    const own = (await processesOf(w, 'minimal')).find((p) => p.pid === agent!.pid);
    expect(own, readFileSync(out, 'utf8')).toMatchObject({
      pid: agent.pid,
      name: 'lr-agent',
      path: '/lr-agent',
      cmdline: '/lr-agent start --data /data/agent',
    });
    const devices = JSON.parse((await w.lr(['devices', '--json'])).stdout) as Rec[];
    expect(devices.find((d) => d.id === deviceId)).toMatchObject({ agentVersion: VERSION });
  }, 180_000);
});

describeNeeds(wineProblem())('lr-agent-win-x64.exe under Wine, without node.exe', () => {
  let w: World;
  let prefix: WinePrefix;
  let exe: string;
  let agent: ChildProcess | undefined;

  beforeAll(async () => {
    exe = join(await buildOnce(), 'lr-agent-win-x64.exe');
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
  }, 300_000);
  afterAll(async () => {
    await stopChild(agent);
    await prefix?.kill();
    await w?.cleanup();
  });

  it('prints its version, enrolls, comes online and lists its own process, koffi loaded from its private copy', async () => {
    const v = await prefix.exec(winPath(exe), ['--version'], 90_000);
    expect(v.stdout).toBe(`lr-agent ${VERSION} (build ${COMMIT}, win-x64, node ${NODE_VERSION})\n`);

    const bundle = await enrollmentBundle(w, 'winsea');
    const dataDir = 'C:\\ProgramData\\lr-agent';
    const e = await prefix.exec(
      winPath(exe),
      ['enroll', '--bundle', winPath(bundle), '--data', dataDir, '--name', 'winsea'],
      90_000,
    );
    expect(e.code, `${e.stdout}${e.stderr}`).toBe(0);
    const deviceId = /device id (\w+)/.exec(e.stdout)?.[1];
    expect(deviceId).toBeTruthy();

    const out = join(w.dir, 'winsea.out');
    agent = spawnToFile(
      WINE64,
      [winPath(exe), 'start', '--data', dataDir],
      { ...process.env, ...prefix.env, LR_LOG_LEVEL: 'warn' } as Record<string, string>,
      out,
    );
    await waitFor(
      'the Windows agent online',
      async () => (await w.devices()).find((d) => d.id === deviceId && d.online),
      90_000,
    );
    const procs = await processesOf(w, 'winsea');
    expect(
      procs.find((p) => String(p.name).toLowerCase() === 'lr-agent-win-x64.exe'),
      readFileSync(out, 'utf8'),
    ).toBeTruthy();
    expect(procs.some((p) => /^node(\.exe)?$/i.test(String(p.name)))).toBe(false);

    // koffi's binary, written by the agent to %LOCALAPPDATA%\lr-agent\native under its SHA-256, and unchanged.
    const users = join(prefix.dir, 'drive_c', 'users');
    const native = readdirSync(users)
      .map((u) => join(users, u, 'AppData', 'Local', 'lr-agent', 'native'))
      .filter((d) => existsSync(d));
    expect(native).toHaveLength(1);
    const files = readdirSync(native[0]!).filter((f) => f.endsWith('-koffi-win32-x64.node'));
    expect(files).toHaveLength(1);
    const hash = createHash('sha256')
      .update(readFileSync(join(native[0]!, files[0]!)))
      .digest('hex');
    expect(files[0]).toBe(`${hash}-koffi-win32-x64.node`);
  }, 240_000);

  it('install registers the .exe alone as the service (no node.exe, no script), which runs and comes online; uninstall removes it', async () => {
    // The agent of the previous test keeps the prefix up (Wine stops its services with its last ordinary process).
    expect(agent?.exitCode).toBeNull();
    const bundle = await enrollmentBundle(w, 'winsvc');
    const dataDir = 'C:\\lr-svc';
    const r = await prefix.exec(
      winPath(exe),
      ['install', '--bundle', winPath(bundle), '--name', 'winsvc', '--data', dataDir],
      120_000,
    );
    const log = () =>
      existsSync(join(prefix.hostOf(dataDir), 'agent.log'))
        ? readFileSync(join(prefix.hostOf(dataDir), 'agent.log'), 'utf8')
        : '(no agent.log)';
    expect(r.code, `${r.stdout} ${r.stderr} ${log()}`).toBe(0);
    const deviceId = /device id (\w+)/.exec(r.stdout)?.[1];
    const q = await prefix.exec('reg', ['query', 'HKLM\\System\\CurrentControlSet\\Services\\lr-agent']);
    expect(/ImagePath\s+REG_(?:EXPAND_)?SZ\s+(.*)/.exec(q.stdout)?.[1]?.trim(), q.stdout).toBe(
      `"${winPath(exe)}" service --data "${dataDir}"`,
    );
    await waitFor('winsvc online', async () => (await w.devices()).find((d) => d.id === deviceId && d.online), 60_000);
    const u = await prefix.exec(winPath(exe), ['uninstall', '--purge', '--data', dataDir], 120_000);
    expect(u.code, `${u.stdout} ${u.stderr}`).toBe(0);
    expect(u.stdout).toMatch(/service lr-agent stopped and deleted/);
    await waitFor('winsvc offline', async () => !(await w.devices()).find((d) => d.id === deviceId)?.online, 30_000);
  }, 300_000);
});

const qemuProblem = firstProblem(
  missingCommand(QEMU, 'qemu-user-static'),
  missingCommand('npm'),
  missingCommand('file'),
  existsSync(join(AARCH64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))
    ? null
    : `${AARCH64_SYSROOT} has no arm64 loader (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)`,
  existsSync(join(AARCH64_SYSROOT, 'lib', 'libstdc++.so.6'))
    ? null
    : `${AARCH64_SYSROOT} has no arm64 libstdc++ (apt-get install libstdc++6-arm64-cross)`,
);

describeNeeds(qemuProblem)('lr-agent-linux-arm64 under qemu-user', () => {
  let w: World;
  let file: string;
  let agent: ChildProcess | undefined;
  const qemu = (args: string[], out: string) =>
    spawnToFile(QEMU, ['-L', AARCH64_SYSROOT, file, ...args], { PATH: '/usr/bin:/bin' }, out);

  beforeAll(async () => {
    file = join(await buildOnce(), 'lr-agent-linux-arm64');
    w = await createWorld();
  }, 300_000);
  afterAll(async () => {
    await stopChild(agent);
    await w?.cleanup();
  });

  it('prints its version, enrolls, comes online and lists its own process', async () => {
    const v = await runToEnd(qemu(['--version'], join(w.dir, 'v.out')), join(w.dir, 'v.out'), 60_000);
    expect(v).toEqual({
      code: 0,
      output: `lr-agent ${VERSION} (build ${COMMIT}, linux-arm64, node ${NODE_VERSION})\n`,
    });

    const bundle = await enrollmentBundle(w, 'armsea');
    const dataDir = join(w.dir, 'agent-armsea');
    const e = await runToEnd(
      qemu(['enroll', '--bundle', bundle, '--data', dataDir, '--name', 'armsea'], join(w.dir, 'e.out')),
      join(w.dir, 'e.out'),
      120_000,
    );
    expect(e.code, e.output).toBe(0);
    const deviceId = /device id (\w+)/.exec(e.output)?.[1];

    const out = join(w.dir, 'armsea.out');
    agent = qemu(['start', '--data', dataDir], out);
    await waitFor(
      'the arm64 agent online',
      async () => (await w.devices()).find((d) => d.id === deviceId && d.online),
      90_000,
    );
    // qemu-user runs the guest in its own process: the agent's pid is the spawned one (sh execs qemu).
    const own = (await processesOf(w, 'armsea')).find((p) => p.pid === agent!.pid);
    expect(own, readFileSync(out, 'utf8')).toBeTruthy();
  }, 300_000);
});
