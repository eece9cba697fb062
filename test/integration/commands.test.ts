// The basic commands return real data from this machine through the whole
// pipeline (lr → service → agent → back), and persistence reads a planted fixture tree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createWorld, type World } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';

type Rec = Record<string, unknown>;

describe('basic commands through the pipeline', () => {
  let w: World;
  let sysroot: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    w = await createWorld();
    // A fixture tree standing for / for the configuration readers.
    sysroot = mkdtempSync(join(tmpdir(), 'lr-sysroot-'));
    mkdirSync(join(sysroot, 'etc/cron.d'), { recursive: true });
    mkdirSync(join(sysroot, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    mkdirSync(join(sysroot, 'home/alice/.ssh'), { recursive: true });
    writeFileSync(
      join(sysroot, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n',
    );
    writeFileSync(join(sysroot, 'etc/group'), 'root:x:0:\nalice:x:1000:\n');
    writeFileSync(join(sysroot, 'etc/cron.d/backdoor'), '*/5 * * * * root /usr/local/bin/beacon --quiet\n');
    writeFileSync(
      join(sysroot, 'etc/systemd/system/evil.service'),
      '[Unit]\nDescription=Evil\n[Service]\nExecStart=/opt/evil/run\n[Install]\nWantedBy=multi-user.target\n',
    );
    symlinkSync(
      '/etc/systemd/system/evil.service',
      join(sysroot, 'etc/systemd/system/multi-user.target.wants/evil.service'),
    );
    writeFileSync(
      join(sysroot, 'home/alice/.ssh/authorized_keys'),
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKey attacker@evil\n',
    );
    await w.addAgent('bravo', { sysroot });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await w?.cleanup();
  });

  const execJson = async (line: string): Promise<Rec[]> => {
    const r = await w.lr(['exec', 'bravo', line]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Rec[];
  };

  it('processes lists a process the test started, with pid, name and cmdline', async () => {
    const child = spawn('sleep', ['4242'], { stdio: 'ignore' });
    children.push(child);
    const recs = await execJson('processes -output json');
    const mine = recs.find((p) => p.pid === child.pid);
    expect(mine).toMatchObject({
      pid: child.pid,
      ppid: process.pid,
      name: 'sleep',
      cmdline: 'sleep 4242',
      path: expect.stringMatching(/sleep$/),
    });
    const one = await execJson(`processes -pid ${child.pid} -output json`);
    expect(one).toHaveLength(1);
  });

  it('processes -pid of a process that is gone gives an empty table, not an error', async () => {
    const child = spawn('sleep', ['4343'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid as number;
    expect(await execJson(`processes -pid ${pid} -output json`)).toHaveLength(1);
    await new Promise((r) => child.once('exit', r).kill('SIGKILL'));
    expect(await execJson(`processes -pid ${pid} -output json`)).toEqual([]);
    const table = await w.lr(['exec', 'bravo', `processes -pid ${pid}`]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const log = JSON.parse((await w.lr(['log', '--device', 'bravo', '--json'])).stdout) as Rec[];
    expect(log.find((e) => e.commandLine === `processes -pid ${pid}`)).toMatchObject({ status: 'completed' });
  });

  it('connections lists a TCP listener the test opened, with its pid', async () => {
    const child = spawn(
      process.execPath,
      ['-e', "require('net').createServer().listen(0,'127.0.0.1',function(){console.log(this.address().port)})"],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(child);
    const port = Number(
      await new Promise<string>((res) => child.stdout!.once('data', (d: Buffer) => res(d.toString().trim()))),
    );
    const recs = await execJson('connections -output json');
    const l = recs.find((c) => c.localPort === port && c.state === 'LISTEN');
    expect(l).toMatchObject({
      protocol: 'tcp',
      localAddress: '127.0.0.1',
      localPort: port,
      pid: child.pid,
      processName: 'node',
    });
  });

  it('fileinfo hashes equal sha256sum, md5sum and sha1sum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-fi-'));
    const f = join(dir, 'sample file.bin');
    writeFileSync(f, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)));
    const [rec] = await execJson(`fileinfo "${f}" -output json`);
    const sum = (tool: string) => execFileSync(tool, [f]).toString().split(' ')[0];
    expect(rec).toMatchObject({
      path: f,
      size: 300_000,
      sha256: sum('sha256sum'),
      md5: sum('md5sum'),
      sha1: sum('sha1sum'),
    });
  });

  it('findfile finds a file planted deep in a tree', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lr-ff-'));
    let d = root;
    for (let i = 0; i < 12; i++) {
      d = join(d, `level ${i}`);
      mkdirSync(d);
      writeFileSync(join(d, `decoy-${i}.txt`), 'x');
    }
    writeFileSync(join(d, 'needle.bin'), 'found me');
    const recs = await execJson(`findfile needle.bin -path "${root}" -output json`);
    expect(recs.map((r) => r.path)).toEqual([join(d, 'needle.bin')]);
    const globbed = await execJson(`findfile "decoy-1*.txt" -path "${root}" -output json`);
    expect(globbed.map((r) => r.path).sort()).toHaveLength(3); // decoy-1, decoy-10, decoy-11
  });

  it('cd and dir handle names with spaces, quotes and non-ASCII characters in one session', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lr-dir-'));
    const odd = join(base, `it's a "dir" été 日本`);
    mkdirSync(odd);
    writeFileSync(join(odd, 'naïve file.txt'), 'hello');
    const profile = profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8')));
    const c = await ConsoleClient.connect(profile);
    try {
      const s = await c.openSession('bravo');
      const cd = await c.run(s.id, `cd '${base}'`).outcome;
      expect(cd).toMatchObject({ status: 'completed', cwd: base });
      // Relative cd into a name holding both quote kinds: single-quote it by splicing.
      const cd2 = await c.run(s.id, `cd "it's a "'"dir"'" été 日本"`).outcome;
      expect(cd2.error).toBeUndefined();
      expect(cd2.cwd).toBe(odd);
      const recs: Rec[] = [];
      const listing = await c.run(s.id, 'dir -output json', { onRecords: (r) => recs.push(...r) }).outcome;
      expect(listing.status).toBe('completed');
      expect(recs).toEqual([
        expect.objectContaining({ name: 'naïve file.txt', type: 'file', size: 5, mtime: expect.any(String) }),
      ]);
      const bad = await c.run(s.id, 'cd "/no/such dir"').outcome;
      expect(bad.status).toBe('failed');
      expect(bad.error).toMatch(/no such/);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('persistence lists a planted cron entry, systemd unit and authorized_keys file', async () => {
    const recs = await execJson('persistence -output json');
    const paths = recs.map((r) => r.path);
    expect(paths).toContain('/etc/cron.d/backdoor');
    expect(paths).toContain('/etc/systemd/system/evil.service');
    expect(paths).toContain('/home/alice/.ssh/authorized_keys');
    const key = recs.find((r) => r.path === '/home/alice/.ssh/authorized_keys');
    expect(key?.sha256).toMatch(/^[0-9a-f]{64}$/);
    const tasks = await execJson('scheduledtasks -output json');
    expect(tasks).toContainEqual(
      expect.objectContaining({
        kind: 'cron',
        source: '/etc/cron.d/backdoor',
        user: 'root',
        command: '/usr/local/bin/beacon --quiet',
      }),
    );
    const services = await execJson('services -output json');
    expect(services).toContainEqual(
      expect.objectContaining({ name: 'evil.service', enabled: 'enabled', execStart: '/opt/evil/run' }),
    );
  });

  it('registry is not supported on Linux, with a one-line error and exit 2', async () => {
    const r = await w.lr(['exec', 'bravo', 'registry HKEY_LOCAL_MACHINE\\SOFTWARE']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^lr: registry: not supported on this platform/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('renders a table by default and help lists the commands', async () => {
    const r = await w.lr(['exec', 'bravo', 'processes -name sleep']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/pid\s+ppid\s+user/);
    const h = await w.lr(['exec', 'bravo', 'help']);
    expect(h.stdout).toMatch(/findfile/);
    const hf = await w.lr(['exec', 'bravo', 'help getfile']);
    expect(hf.stdout).toMatch(/time limit: 30 min/);
  });

  // help says what works on which OS: agent commands on Linux and Windows, registry on Windows only.
  it('help states per OS what works, and does not claim darwin/win32 where the agent does not do it', async () => {
    const h = await w.lr(['exec', 'bravo', 'help processes']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('works on: linux: yes   darwin: not yet   win32: yes');
    expect((await w.lr(['exec', 'bravo', 'help isolate'])).stdout).toContain(
      'works on: linux: yes   darwin: not yet   win32: yes',
    );
    // described for this device's OS (Linux): systemd, not the service control manager
    expect((await w.lr(['exec', 'bravo', 'help services'])).stdout).toMatch(/^services — Lists systemd units/);
    expect(h.stdout).not.toMatch(/platforms: linux, darwin, win32/);
    expect((await w.lr(['exec', 'bravo', 'help jobs'])).stdout).toContain(
      'works on: linux: yes   darwin: yes   win32: yes',
    );
    expect((await w.lr(['exec', 'bravo', 'help registry'])).stdout).toContain(
      'works on: linux: no   darwin: no   win32: yes',
    );
    const [record] = await execJson('help remediate -output json');
    expect(record).toMatchObject({ name: 'remediate', support: { linux: 'yes', darwin: 'not yet', win32: 'yes' } });
    expect((record?.params as Rec[]).find((p) => p.name === 'target')).toMatchObject({ aliases: ['id'] });
  });

  // Every command accepts -output json|table; json gives every field, table the few.
  it('accepts -output on cd, trace, release, help and fg, with records in json', async () => {
    expect(await execJson('cd /tmp -output json')).toEqual([{ path: '/tmp' }]);
    expect(await execJson('trace debug -output json')).toEqual([{ level: 'debug' }]);
    const [released] = await execJson('release -output json');
    expect(released).toMatchObject({ isolated: false, wasIsolated: false });
    const list = await execJson('help -output json');
    expect(list.map((c) => c.name)).toEqual(expect.arrayContaining(['getfile', 'remediate', 'help']));
    const table = await w.lr(['exec', 'bravo', 'help -output table']);
    expect(table.stdout.split('\n')[0]).toMatch(/^name\s+summary\s*$/);
    // fg is accepted with -output (the one-shot session has no background job to bring back).
    const fg = await w.lr(['exec', 'bravo', 'fg nosuch -output json']);
    expect(fg.stderr.trim()).toBe('lr: fg: no command nosuch in this session');
  });

  it('fileinfo -output table shows the useful few columns, json every field', async () => {
    const f = join(sysroot, 'etc/cron.d/backdoor');
    const table = await w.lr(['exec', 'bravo', `fileinfo ${f} -output table`]);
    expect(table.code).toBe(0);
    const header = table.stdout.split('\n')[0]?.trim().split(/\s+/);
    expect(header).toEqual(['type', 'size', 'mode', 'owner', 'mtime', 'sha256', 'path']);
    const [json] = await execJson(`fileinfo ${f} -output json`);
    expect(Object.keys(json ?? {})).toEqual(
      expect.arrayContaining(['md5', 'sha1', 'sha256', 'atime', 'ctime', 'group', 'architecture']),
    );
  });

  it('getfile and collect -output json print every field of the device records and where the file was saved', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lr-out-'));
    const f = join(sysroot, 'etc/cron.d/backdoor');
    const r = await w.lr(['exec', 'bravo', `getfile ${f} -output json`, '--out', out]);
    expect(r.code).toBe(0);
    const records = JSON.parse(r.stdout) as Rec[];
    const sha = createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(records[0]).toMatchObject({ type: 'file', path: f, size: readFileSync(f).length, offset: 0 });
    expect(Object.keys(records[0] ?? {})).toEqual(expect.arrayContaining(['mode', 'owner', 'mtime', 'atime', 'ctime']));
    expect(records[1]).toMatchObject({ type: 'file-end', sha256: sha });
    expect(readFileSync(String(records[1]?.savedAs)).equals(readFileSync(f))).toBe(true);
    const table = await w.lr(['exec', 'bravo', `getfile ${f} -output table`, '--out', out]);
    expect(table.stdout.split('\n')[0]).toMatch(/^type\s+size\s+mtime\s+sha256\s+path\s+savedAs/);
    const c = await w.lr(['exec', 'bravo', 'collect -output json', '--out', out]);
    expect(c.code).toBe(0);
    const pkg = JSON.parse(c.stdout) as Rec[];
    expect(pkg.map((x) => x.type)).toEqual(['file', 'file-end']);
    expect(pkg[1]?.members).toBeGreaterThan(0);
    expect(
      createHash('sha256')
        .update(readFileSync(String(pkg[1]?.savedAs)))
        .digest('hex'),
    ).toBe(pkg[1]?.sha256);
  }, 60_000);
});
