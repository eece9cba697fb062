// The .deb packages of npm run package:deb. Their metadata and files (dpkg-deb
// --info/--contents), lintian (no error), both units through systemd-analyze verify, and a throwaway root:
// a copy-on-write view of this machine (unshare -m, overlayfs with lowerdir=/ and its upper layer on a
// tmpfs, chroot into the merged folder, /proc /dev /sys bound in). In it the agent package is installed,
// `lr-agent install --bundle` enrolls it with a real lr-server running outside (loopback is shared), the
// agent runs as its unit's ExecStart says (systemd is not PID 1 here), comes online and answers
// `processes`; then `lr-agent uninstall --purge` and `dpkg --purge`, after which the upper layer (every
// change the root saw) must hold nothing but dpkg's own bookkeeping. The same for the service package,
// started under its own user. Needs root, dpkg-deb, lintian, systemd-analyze and util-linux's unshare and
// nsenter (Debian packages: dpkg, lintian, systemd, util-linux).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseExecStart } from '../../src/agent/install/linux-unit.js';
import { describeNeeds, firstProblem, IS_ROOT, missingCommand } from '../needs.js';
import { createWorld, freePort, ROOT, run, stop, waitFor, type World } from './harness.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PATH_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

const problem = IS_ROOT
  ? firstProblem(
      missingCommand('dpkg-deb', 'dpkg'),
      missingCommand('lintian'),
      missingCommand('systemd-analyze', 'systemd'),
      missingCommand('unshare', 'util-linux'),
      missingCommand('nsenter', 'util-linux'),
      missingCommand('strip', 'binutils'),
    )
  : 'needs root (dpkg -i in a throwaway root made with unshare, overlayfs and chroot)';

function sh(
  file: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string } = {},
): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync(file, args, {
        encoding: 'utf8',
        env: opts.env ?? { ...process.env },
        input: opts.input,
        stdio: ['pipe', 'pipe', 'pipe'],
        maxBuffer: 64 << 20,
      }),
    };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** One line of dpkg-deb --contents: mode, owner, path (without ./), link target. */
function contents(deb: string): Map<string, { mode: string; owner: string; link?: string }> {
  const map = new Map<string, { mode: string; owner: string; link?: string }>();
  for (const line of execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .trim()
    .split('\n')) {
    const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.\/(.*?)(?: -> (.*))?$/.exec(line);
    if (!m) throw new Error(`unexpected dpkg-deb --contents line: ${line}`);
    map.set(m[3]!.replace(/\/$/, ''), { mode: m[1]!, owner: m[2]!, ...(m[4] ? { link: m[4] } : {}) });
  }
  return map;
}

/**
 * A throwaway root: a process that made its own mount namespace, a tmpfs holding overlayfs's upper and work
 * folders, the overlay of / mounted at MERGED with /proc, /dev, /sys bound in and a fresh tmpfs on /tmp (the
 * scratch space of the test, not part of what the check looks at), then sleeps. Commands run in it through
 * nsenter + chroot; the host sees its files through /proc/PID/root.
 */
class ThrowawayRoot {
  private constructor(
    private readonly holder: ChildProcess,
    readonly base: string,
  ) {}

  static async make(): Promise<ThrowawayRoot> {
    const base = mkdtempSync(join(tmpdir(), 'lr-deb-root-'));
    const script = [
      'set -e',
      `mount -t tmpfs -o mode=0755 lr-deb-layers "${base}"`,
      `mkdir "${base}/upper" "${base}/work" "${base}/merged"`,
      `mount -t overlay lr-deb-root -o lowerdir=/,upperdir="${base}/upper",workdir="${base}/work" "${base}/merged"`,
      `for d in proc dev sys; do mount --rbind "/$d" "${base}/merged/$d"; done`,
      `mount -t tmpfs -o mode=1777 lr-deb-tmp "${base}/merged/tmp"`,
      'echo ready',
      'exec sleep 3600',
    ].join('\n');
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      holder.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      holder.on('exit', (code) => reject(new Error(`the throwaway root could not be made (exit ${code}): ${out}`)));
    });
    return new ThrowawayRoot(holder, base);
  }

  /** A path inside the root (or its upper layer) as the host can open it. */
  host(path: string, layer: 'merged' | 'upper' = 'merged'): string {
    return join(`/proc/${this.holder.pid}/root`, this.base, layer, path);
  }

  nsenterArgs(argv: string[]): string[] {
    return ['-t', String(this.holder.pid), '-m', '--', 'chroot', join(this.base, 'merged'), ...argv];
  }

  /** Runs a command in the root and waits for it (asynchronously: a service of this process may be asked meanwhile). */
  run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile(
        'nsenter',
        this.nsenterArgs(argv),
        { encoding: 'utf8', env: { ...PATH_ENV, ...env }, maxBuffer: 64 << 20, timeout: 120_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? (((err as { code?: unknown }).code as number) ?? -1) : 0, out: `${stdout}${stderr}` });
        },
      );
    });
  }

  async must(argv: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await this.run(argv, env);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed in the throwaway root (${r.code}): ${r.out}`);
    return r.out;
  }

  /** Starts a long-running command in the root. */
  spawn(argv: string[], env: Record<string, string> = {}): ChildProcess & { output: () => string } {
    const child = spawn('nsenter', this.nsenterArgs(argv), {
      env: { ...PATH_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as ChildProcess & { output: () => string };
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.output = () => out;
    return child;
  }

  /** Puts a host file into the root's /tmp (the scratch tmpfs). */
  put(hostFile: string, name: string): string {
    copyFileSync(hostFile, this.host(join('tmp', name)));
    return `/tmp/${name}`;
  }

  /**
   * What the upper layer holds: every file, link, whiteout (a deleted lower file) and every folder that
   * is not in the lower layer (/), as paths relative to the root, folders that only were copied up left out.
   */
  changes(): string[] {
    const upper = this.host('', 'upper');
    const found: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(upper, rel))) {
        const r = join(rel, name);
        const st = lstatSync(join(upper, r));
        if (st.isDirectory()) {
          const lower = lstatSync(join('/', r), { throwIfNoEntry: false });
          if (!lower?.isDirectory()) found.push(`${r}/`);
          walk(r);
        } else if (st.isCharacterDevice() && st.rdev === 0) found.push(`${r} (deleted)`);
        else found.push(st.isSymbolicLink() ? `${r} -> ${readlinkSync(join(upper, r))}` : r);
      }
    };
    walk('');
    return found.sort();
  }

  async discard(): Promise<void> {
    await stop(this.holder, 'SIGKILL'); // the namespace and its mounts go with its last process
    rmSync(this.base, { recursive: true, force: true });
  }
}

/**
 * What dpkg itself keeps after installing and purging a package, and may stay: its database's status
 * file and the previous one, its lock files, the triggers' lock and its log. Nothing else: the package's
 * own info files (var/lib/dpkg/info/lr-agent.*) are gone after a purge, and a leftover there fails too.
 */
const DPKG_BOOKKEEPING =
  /^var\/lib\/dpkg\/(status|status-old|lock|lock-frontend|triggers\/Lock)$|^var\/log\/dpkg\.log$/;

describeNeeds(problem)('Debian packages (npm run package:deb)', () => {
  let out: string;
  let agentDeb: string;
  let serverDeb: string;
  let w: World | undefined;
  const roots: ThrowawayRoot[] = [];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'lr-deb-'));
    const r = sh(process.execPath, [join(ROOT, 'scripts/package-deb.mjs'), '--out', out]);
    if (r.code !== 0) throw new Error(`package:deb failed: ${r.out}`);
    agentDeb = join(out, `lr-agent_${VERSION}_amd64.deb`);
    serverDeb = join(out, `lr-server_${VERSION}_amd64.deb`);
  }, 600_000);

  afterAll(async () => {
    for (const r of roots) await r.discard();
    await w?.cleanup();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('dpkg-deb --info and --contents show the expected metadata, files, modes and owners', () => {
    const agentInfo = sh('dpkg-deb', ['--info', agentDeb]).out;
    expect(agentInfo).toMatch(/^ Package: lr-agent$/m);
    expect(agentInfo).toMatch(new RegExp(`^ Version: ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
    expect(agentInfo).toMatch(/^ Architecture: amd64$/m);
    expect(agentInfo).toMatch(/^ Depends: .*init-system-helpers/m);
    for (const s of ['postinst', 'prerm', 'postrm', 'md5sums']) expect(agentInfo).toMatch(new RegExp(` ${s}\\b`));
    const agent = contents(agentDeb);
    expect(agent.get('usr/lib/lr-agent/lr-agent')).toEqual({ mode: '-rwxr-xr-x', owner: 'root/root' });
    expect(agent.get('usr/bin/lr-agent')).toEqual({
      mode: 'lrwxrwxrwx',
      owner: 'root/root',
      link: '../lib/lr-agent/lr-agent',
    });
    for (const f of [
      'lib/systemd/system/lr-agent.service',
      'usr/share/doc/lr-agent/copyright',
      'usr/share/doc/lr-agent/changelog.gz',
    ])
      expect(agent.get(f), f).toEqual({ mode: '-rw-r--r--', owner: 'root/root' });

    const serverInfo = sh('dpkg-deb', ['--info', serverDeb]).out;
    expect(serverInfo).toMatch(/^ Package: lr-server$/m);
    expect(serverInfo).toMatch(/^ Depends: .*adduser/m);
    expect(serverInfo).toMatch(/ conffiles\b/);
    expect(sh('dpkg-deb', ['--info', serverDeb, 'conffiles']).out.trim()).toBe('/etc/default/lr-server');
    const server = contents(serverDeb);
    expect(server.get('usr/lib/lr-server/node')).toEqual({ mode: '-rwxr-xr-x', owner: 'root/root' });
    expect(server.get('usr/bin/lr-server')).toEqual({ mode: '-rwxr-xr-x', owner: 'root/root' });
    for (const f of [
      'usr/lib/lr-server/lr-server.js',
      'usr/lib/lr-server/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'lib/systemd/system/lr-server.service',
      'etc/default/lr-server',
      'usr/share/doc/lr-server/README.Debian',
    ]) {
      expect(server.get(f), f).toEqual({ mode: '-rw-r--r--', owner: 'root/root' });
    }
    // Install-time only: better-sqlite3's prebuild-install and SQLite's sources are not shipped.
    expect([...server.keys()].filter((p) => /prebuild-install|better-sqlite3\/(deps|src)\//.test(p))).toEqual([]);

    // Nothing in either package is owned by another user or writable by anyone but root.
    for (const [name, files] of [
      ['lr-agent', agent],
      ['lr-server', server],
    ] as const) {
      const loose = [...files].filter(
        ([, f]) => f.owner !== 'root/root' || (!f.mode.startsWith('l') && /^.{5}w|^.{8}w/.test(f.mode)),
      );
      expect(loose.map(([p, f]) => `${name}: ${p} ${f.mode} ${f.owner}`)).toEqual([]);
    }
  });

  it('lintian finds no error in either package (the warnings left are listed in docs/deployment.md)', () => {
    for (const deb of [agentDeb, serverDeb]) {
      const r = sh('lintian', ['--tag-display-limit', '0', deb]);
      const errors = r.out.split('\n').filter((l) => /^E: /.test(l));
      expect(errors, r.out).toEqual([]);
      const warnings = r.out
        .split('\n')
        .filter((l) => /^W: /.test(l))
        .map((l) => l.replace(/^W: [\w-]+: (\S+).*$/, '$1'));
      // Known and explained (docs/deployment.md): anything new must be looked at.
      expect(
        warnings.filter((t) => !['hardening-no-pie', 'no-manual-page', 'uses-dpkg-database-directly'].includes(t)),
        r.out,
      ).toEqual([]);
    }
  });

  it('both units pass systemd-analyze verify once installed', async () => {
    const root = await ThrowawayRoot.make();
    roots.push(root);
    await root.must(['dpkg', '-i', root.put(agentDeb, 'a.deb'), root.put(serverDeb, 's.deb')]);
    for (const unit of ['lr-agent.service', 'lr-server.service']) {
      const r = await root.run(['systemd-analyze', 'verify', `/lib/systemd/system/${unit}`]);
      expect({ unit, ...r }).toEqual({ unit, code: 0, out: '' });
    }
    await root.discard();
    roots.splice(roots.indexOf(root), 1);
  }, 300_000);

  it('agent package in a throwaway root: install, enroll, start as the unit says, online, processes, uninstall --purge, purge: nothing left', async () => {
    w = await createWorld();
    const bundle = join(w.dir, 'deb.bundle.json');
    const t = await run('lr-server', ['enroll-token', '--data', w.dataDir, '--out', bundle, '--ttl', '1h']);
    expect(t.code, t.stderr).toBe(0);

    const root = await ThrowawayRoot.make();
    roots.push(root);
    const installed = await root.must(['dpkg', '-i', root.put(agentDeb, 'lr-agent.deb')]);
    expect(installed).toContain('lr-agent install --bundle'); // the postinst says how to enroll, and does not
    expect(lstatSync(root.host('var/lib/lr-agent'), { throwIfNoEntry: false })).toBeUndefined();

    const inst = await root.must([
      'lr-agent',
      'install',
      '--bundle',
      root.put(bundle, 'bundle.json'),
      '--name',
      'deb-host',
    ]);
    expect(inst).toMatch(/enrolled as deb-host \(device id \w+\)/);
    expect(inst).toContain('/lib/systemd/system/lr-agent.service'); // the package's unit, used as it is
    expect(inst).toMatch(
      /systemd is not running here .* starts at the next boot; to start it now by hand: \/usr\/lib\/lr-agent\/lr-agent service --data \/var\/lib\/lr-agent/,
    );
    const deviceId = /device id (\w+)/.exec(inst)![1]!;
    const dataDir = lstatSync(root.host('var/lib/lr-agent'));
    expect({ mode: (dataDir.mode & 0o7777).toString(8), uid: dataDir.uid }).toEqual({ mode: '700', uid: 0 });
    expect(readlinkSync(root.host('etc/systemd/system/multi-user.target.wants/lr-agent.service'))).toBe(
      '/lib/systemd/system/lr-agent.service',
    );

    // systemd is not PID 1 here: run what the installed unit's ExecStart says, as the unit would.
    const execStart = parseExecStart(readFileSync(root.host('lib/systemd/system/lr-agent.service'), 'utf8'));
    expect(execStart).toEqual(['/usr/lib/lr-agent/lr-agent', 'service', '--data', '/var/lib/lr-agent']);
    const agent = root.spawn(execStart, { LR_LOG_LEVEL: 'warn' });
    try {
      await waitFor(
        'the packaged agent online',
        async () => (await w!.devices()).find((d) => d.id === deviceId && d.online),
        30_000,
      );
      const r = await w.lr(['exec', 'deb-host', 'processes', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('lr-agent'); // it lists itself among the processes
      const status = await root.must(['lr-agent', 'status']);
      expect(status).toMatch(/enrolled: yes, as deb-host/);
      expect(status).toMatch(/service: installed \(\/lib\/systemd\/system\/lr-agent.service\), enabled/);
      await waitFor(
        'status says connected',
        async () =>
          /agent: running \(pid \d+\), connected to 127\.0\.0\.1:\d+ since/.test(
            await root.must(['lr-agent', 'status']),
          ),
        10_000,
      );

      const un = await root.must(['lr-agent', 'uninstall', '--purge']);
      expect(un).toMatch(/agent \(pid \d+\) stopped/);
      expect(un).toContain('data folder /var/lib/lr-agent deleted');
      expect(un).not.toContain('removed /usr/lib/lr-agent/lr-agent'); // dpkg's, not ours
      await waitFor('the agent process gone', async () => agent.exitCode !== null || agent.signalCode !== null, 10_000);
    } finally {
      await stop(agent);
    }
    await root.must(['dpkg', '--purge', 'lr-agent']);
    const left = root.changes().filter((p) => !DPKG_BOOKKEEPING.test(p));
    expect(left).toEqual([]);
  }, 300_000);

  it('the installer script in a throwaway root without the package: downloads and checks the agent, installs it as a service, enrolled; started as the unit says, online; uninstall --purge: nothing left', async () => {
    w ??= await createWorld();
    // The agent file the service hands out: the single executable the package carries.
    const unpacked = join(out, 'agent-unpacked');
    execFileSync('dpkg-deb', ['-x', agentDeb, unpacked]);
    const add = await run('lr-server', [
      'agent-files',
      'add',
      join(unpacked, 'usr/lib/lr-agent/lr-agent'),
      '--target',
      'linux-x64',
      '--data',
      w.dataDir,
    ]);
    expect(add.code, add.stderr).toBe(0);
    const script = join(w.dir, 'lr-install-linux.sh');
    const made = await run('lr-server', ['enroll-token', '--installer', 'linux', '--out', script, '--data', w.dataDir]);
    expect(made.code, made.stderr).toBe(0);

    const root = await ThrowawayRoot.make();
    roots.push(root);
    const inst = await root.must(['bash', root.put(script, 'lr-install-linux.sh'), '--name', 'script-host']);
    expect(inst).toMatch(/lr-install: lr-agent-linux-x64 \(SHA-256 [0-9a-f]{64}\) verified/);
    expect(inst).toMatch(/enrolled as script-host \(device id \w+\)/);
    const deviceId = /device id (\w+)/.exec(inst)![1]!;
    // No package: lr-agent install put itself in /usr/lib/lr-agent and wrote the unit in /etc.
    const execStart = parseExecStart(readFileSync(root.host('etc/systemd/system/lr-agent.service'), 'utf8'));
    expect(execStart).toEqual(['/usr/lib/lr-agent/lr-agent', 'service', '--data', '/var/lib/lr-agent']);
    const agent = root.spawn(execStart, { LR_LOG_LEVEL: 'warn' });
    try {
      await waitFor(
        'the script-installed agent online',
        async () => (await w!.devices()).find((d) => d.id === deviceId && d.online),
        30_000,
      );
      const r = await w.lr(['exec', 'script-host', 'processes', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('/usr/lib/lr-agent/lr-agent');
      const un = await root.must(['/usr/lib/lr-agent/lr-agent', 'uninstall', '--purge']);
      expect(un).toContain('removed /usr/lib/lr-agent/lr-agent');
      expect(un).toContain('removed /etc/systemd/system/lr-agent.service');
      expect(un).toContain('data folder /var/lib/lr-agent deleted');
      await waitFor('the agent process gone', async () => agent.exitCode !== null || agent.signalCode !== null, 15_000);
    } finally {
      await stop(agent);
    }
    expect(root.changes()).toEqual([]);
  }, 300_000);

  it('service package in a throwaway root: install, init as lr-server, start as the unit says, answers, purge: only the system user stays', async () => {
    const root = await ThrowawayRoot.make();
    roots.push(root);
    const installed = await root.must(['dpkg', '-i', root.put(serverDeb, 'lr-server.deb')]);
    expect(installed).toContain('lr-server init --data /var/lib/lr-server');
    const passwd = readFileSync(root.host('etc/passwd'), 'utf8');
    const user = /^lr-server:x:(\d+):(\d+):[^:]*:([^:]*):([^:\n]*)$/m.exec(passwd);
    expect(user, passwd.slice(-300)).not.toBeNull();
    const uid = Number(user![1]);
    expect(uid).toBeLessThan(1000); // a system user
    expect(user![4]).toMatch(/nologin|false/);
    const data = lstatSync(root.host('var/lib/lr-server'));
    expect({ mode: (data.mode & 0o7777).toString(8), uid: data.uid }).toEqual({ mode: '750', uid });

    const port = await freePort();
    const asUser = ['setpriv', '--reuid=lr-server', '--regid=lr-server', '--init-groups', '--'];
    await root.must([...asUser, 'lr-server', 'init', '--data', '/var/lib/lr-server', '--listen', `127.0.0.1:${port}`]);
    const unit = readFileSync(root.host('lib/systemd/system/lr-server.service'), 'utf8');
    expect(unit).toMatch(/^User=lr-server$/m);
    // $LR_SERVER_OPTIONS comes from /etc/default/lr-server, empty by default: expanded to nothing, as systemd does.
    const execStart = parseExecStart(unit).filter((a) => a !== '$LR_SERVER_OPTIONS');
    expect(execStart).toEqual([
      '/usr/lib/lr-server/node',
      '/usr/lib/lr-server/lr-server.js',
      'start',
      '--data',
      '/var/lib/lr-server',
    ]);
    const server = root.spawn([...asUser, ...execStart], { LR_LOG_LEVEL: 'warn' });
    try {
      await waitFor('the packaged service listening', async () => server.output().includes('listening'), 30_000);
      expect(readFileSync(`/proc/${server.pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
      // The admin profile init wrote, used from outside: the service answers over TLS with its own CA.
      const profile = join(out, 'deb-admin.profile.json');
      writeFileSync(profile, readFileSync(root.host('var/lib/lr-server/admin.profile.json')), { mode: 0o600 });
      const r = await run('lr', ['--profile', profile, 'devices', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
    } finally {
      await stop(server);
    }
    await root.must(['dpkg', '--purge', 'lr-server']);
    // The system user stays, as Debian packages do: its uid is never given to another user while files
    // of it may remain (a copy of the database). That is the only change outside dpkg's bookkeeping: the
    // user and group files with their backups (passwd-...), the lock file of the shadow tools
    // (/etc/.pwd.lock) and adduser's lock in /run (a tmpfs emptied at each boot on a real system).
    const USER_DB = /^etc\/(passwd|group|shadow|gshadow)-?$|^etc\/\.pwd\.lock$|^run\/adduser$/;
    const left = root.changes().filter((p) => !DPKG_BOOKKEEPING.test(p) && !USER_DB.test(p));
    expect(left).toEqual([]);
    expect(lstatSync(root.host('var/lib/lr-server'), { throwIfNoEntry: false })).toBeUndefined();
  }, 300_000);
});

// lr-agent uninstall on Linux releases the device from isolation first: the isolation belongs to the
// device and would outlive the agent, cutting it off with nothing left to release it. Run from source in
// a network namespace of its own (unshare -n), so that the nft table it removes is never the machine's.
describeNeeds(
  IS_ROOT
    ? firstProblem(
        missingCommand('nft', 'nftables'),
        missingCommand('unshare', 'util-linux'),
        missingCommand('setpriv', 'util-linux'),
      )
    : 'needs root (nft in a network namespace)',
)('lr-agent uninstall and an isolated device', () => {
  const isolate = `table inet lr_isolation {\n  chain output {\n    type filter hook output priority -10; policy drop;\n    oif "lo" accept\n  }\n}\n`;
  const agentFolder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-uninstall-iso-'));
    writeFileSync(join(dir, '.lr-data-folder'), JSON.stringify({ kind: 'lr-agent' }) + '\n');
    writeFileSync(
      join(dir, 'isolation.json'),
      JSON.stringify({
        isolated: true,
        backend: 'nftables',
        allow: [{ address: '127.0.0.1', port: 1 }],
        changedAt: new Date().toISOString(),
        jobId: null,
      }),
    );
    writeFileSync(join(dir, 'rules.nft'), isolate);
    return dir;
  };
  // In a fresh network namespace: isolate it as the agent does, uninstall (optionally without the right to
  // change the firewall), then list what nft still has.
  const uninstallIsolated = (dir: string, dropNetAdmin: boolean) =>
    sh(
      'unshare',
      [
        '--net',
        'sh',
        '-c',
        `exec 2>&1; nft -f "$1/rules.nft" && ${dropNetAdmin ? 'setpriv --bounding-set=-net_admin --inh-caps=-net_admin -- ' : ''}"$2" "$3" uninstall --purge --data "$1"; echo "exit=$?"; nft list tables`,
        'sh',
        dir,
        process.execPath,
        join(ROOT, 'out/bin/lr-agent.js'),
      ],
      { env: { ...process.env, ...PATH_ENV } },
    );

  it('releases it (our nft table removed) before it removes anything', () => {
    const dir = agentFolder();
    try {
      const r = uninstallIsolated(dir, false);
      expect(r.out).toContain('device released from isolation (its firewall rules removed)');
      expect(r.out).toContain(`data folder ${dir} deleted`);
      expect(r.out).toContain('exit=0');
      expect(r.out).not.toContain('lr_isolation');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses, removing nothing, when the isolation cannot be removed', () => {
    const dir = agentFolder();
    try {
      const r = uninstallIsolated(dir, true);
      expect(r.out).toMatch(
        /lr-agent: the device is isolated and its isolation could not be removed \(.*\): not uninstalled/,
      );
      expect(r.out).toContain('exit=1');
      expect(r.out).toContain('table inet lr_isolation');
      expect(lstatSync(join(dir, 'isolation.json')).isFile()).toBe(true); // --purge did not run
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
