// lr shell: a getfile sent to the background with `&` keeps downloading into the local folder, is
// verified, and its end is announced at the prompt; the same session goes on serving commands meanwhile.
// `fg ID` of a background download (in a pseudo-terminal), `> file` in lr shell and lr exec,
// `&` refused by lr exec, piped input queued line by line.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  mkdtempSync,
  openSync,
  closeSync,
  writeSync,
  existsSync,
  readFileSync,
  writeFileSync,
  readdirSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, createWorld, waitFor, type World } from './harness.js';

function bigFile(bytes: number): string {
  const src = join(mkdtempSync(join(tmpdir(), 'lr-shell-src-')), 'evidence.bin');
  const fd = openSync(src, 'w');
  for (let done = 0; done < bytes; done += 8 << 20) writeSync(fd, randomBytes(8 << 20));
  closeSync(fd);
  return src;
}

/** Shells a failed test left running: stopped so that the device's session does not block the next test. */
const live = new Set<ChildProcess>();

const sha256sum = (f: string) => execFileSync('sha256sum', [f]).toString().split(' ')[0];

/** `lr shell DEVICE` in a pseudo-terminal (script(1)): what an analyst at a terminal runs. */
function ptyShell(
  w: World,
  device: string,
  cwd: string,
): { child: ChildProcess; output(): string; type(line: string): void; exited: Promise<unknown> } {
  const cmd = `${process.execPath} ${BIN('lr')} --profile ${w.adminProfile} shell ${device}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, XDG_STATE_HOME: join(cwd, '.state') },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  live.add(child);
  const exited = new Promise((r) => child.once('close', r)).finally(() => live.delete(child));
  return { child, output: () => out, type: (line) => child.stdin!.write(`${line}\r`), exited };
}

describe('lr shell', () => {
  let w: World;
  let agent: ChildProcess;
  beforeAll(async () => {
    w = await createWorld();
    agent = (await w.addAgent('foxtrot')).process;
  });
  afterEach(async () => {
    for (const child of live) child.kill('SIGKILL');
    live.clear();
    await waitFor('session closed', async () => (await w.lr(['exec', 'foxtrot', 'jobs'])).code === 0, 15_000);
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('downloads in the background with & while other commands run, then announces the verified file', async () => {
    const src = join(mkdtempSync(join(tmpdir(), 'lr-shell-src-')), 'evidence.bin');
    const fd = openSync(src, 'w');
    for (let i = 0; i < 8; i++) writeSync(fd, randomBytes(8 << 20));
    closeSync(fd);
    const local = mkdtempSync(join(tmpdir(), 'lr-shell-dl-'));
    const sh = spawn(process.execPath, [BIN('lr'), '--profile', w.adminProfile, 'shell', 'foxtrot'], {
      cwd: local,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XDG_STATE_HOME: join(local, '.state') },
    });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sh.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('prompt', async () => out.includes('foxtrot:/>'));
    sh.stdin.write(`getfile "${src}" &\n`);
    await waitFor('background notice', async () => /downloading in the background/.test(out));
    sh.stdin.write('dir /\n');
    await waitFor('download announced', async () => /downloaded: [0-9a-f]{64}/.test(out), 60_000);
    const sha = execFileSync('sha256sum', [src]).toString().split(' ')[0];
    expect(out).toContain(`downloaded: ${sha}  ${join(local, 'evidence.bin')}`);
    expect(
      execFileSync('sha256sum', [join(local, 'evidence.bin')])
        .toString()
        .split(' ')[0],
    ).toBe(sha);
    expect(out).toMatch(/drwx/); // the dir listing ran in the same session
    const exited = new Promise((r) => sh.once('close', r));
    sh.stdin.write('exit\n');
    await exited;
  }, 120_000);

  it('fg ID brings a background download back in the terminal and ends with the verified file', async () => {
    const src = bigFile(96 << 20);
    const local = mkdtempSync(join(tmpdir(), 'lr-shell-fg-'));
    const sh = ptyShell(w, 'foxtrot', local);
    await waitFor('prompt', async () => sh.output().includes('foxtrot:/>'));
    sh.type(`getfile "${src}" &`);
    const id = await waitFor(
      'background notice',
      async () => /\[(\S+)\] downloading in the background/.exec(sh.output())?.[1],
    );
    // Hold the agent still so that the download is surely mid-way when fg brings it back.
    agent.kill('SIGSTOP');
    try {
      sh.type(`fg ${id}`);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      agent.kill('SIGCONT');
    }
    const sha = sha256sum(src);
    const file = join(local, 'evidence.bin');
    await waitFor(
      'verified file',
      async () => sh.output().includes(`${sha}  ${file}`) || /without the agent|failed/.test(sh.output()),
      60_000,
    );
    expect(sh.output()).not.toMatch(/without the agent's hash/);
    expect(sh.output()).toContain(`${sha}  ${file}`);
    expect(sh.output()).not.toContain(`downloaded: ${sha}`); // ended in the foreground, not announced from the background
    expect(sha256sum(file)).toBe(sha);
    sh.type('exit');
    await sh.exited;
  }, 120_000);

  it('> file in lr shell writes the output to a local file, never over an existing one', async () => {
    const local = mkdtempSync(join(tmpdir(), 'lr-shell-redirect-'));
    const sh = ptyShell(w, 'foxtrot', local);
    await waitFor('prompt', async () => sh.output().includes('foxtrot:/>'));
    sh.type('dir / > listing.txt');
    const file = join(local, 'listing.txt');
    await waitFor('written', async () => sh.output().includes(`output written to ${file}`));
    const content = readFileSync(file, 'utf8');
    expect(content).toMatch(/drwx.* etc/);
    expect(sh.output()).not.toMatch(/drwx/); // saved, not shown
    sh.type('dir /tmp > listing.txt');
    await waitFor('refusal', async () => /listing\.txt already exists/.test(sh.output()));
    expect(readFileSync(file, 'utf8')).toBe(content);
    sh.type('dir / -output json > listing.json');
    await waitFor('json written', async () => sh.output().includes(`output written to ${join(local, 'listing.json')}`));
    expect(
      (JSON.parse(readFileSync(join(local, 'listing.json'), 'utf8')) as { name: string }[]).some(
        (r) => r.name === 'etc',
      ),
    ).toBe(true);
    expect(readdirSync(local).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    sh.type('exit');
    await sh.exited;
  }, 60_000);

  it('> file in lr exec writes the output locally and refuses to overwrite', async () => {
    const local = mkdtempSync(join(tmpdir(), 'lr-exec-redirect-'));
    const r = await w.lr(['exec', 'foxtrot', 'processes > procs.txt', '--out', local]);
    expect(r.code).toBe(0);
    const file = join(local, 'procs.txt');
    expect(r.stderr).toContain(`output written to ${file}`);
    expect(r.stdout).not.toMatch(/cmdline/);
    expect(readFileSync(file, 'utf8')).toMatch(/pid +ppid/);
    writeFileSync(join(local, 'keep.txt'), 'analyst notes\n');
    const again = await w.lr(['exec', 'foxtrot', 'processes > keep.txt', '--out', local]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/keep\.txt already exists/);
    expect(readFileSync(join(local, 'keep.txt'), 'utf8')).toBe('analyst notes\n');
  }, 60_000);

  it('lr exec refuses & with a hint instead of cancelling the job', async () => {
    const src = bigFile(8 << 20);
    const local = mkdtempSync(join(tmpdir(), 'lr-exec-bg-'));
    const r = await w.lr(['exec', 'foxtrot', `getfile "${src}" &`, '--out', local]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/drop the '&'.*lr shell foxtrot/);
    expect(existsSync(join(local, 'evidence.bin'))).toBe(false);
    const log = JSON.parse((await w.lr(['log', '--device', 'foxtrot', '--json'])).stdout) as {
      commandLine: string;
      status: string;
    }[];
    expect(log.filter((e) => e.commandLine.includes(src))).toEqual([]); // nothing started, so nothing cancelled
  }, 60_000);

  it('piped input runs every line in order and waits for background downloads before closing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-shell-piped-'));
    const src = bigFile(32 << 20);
    writeFileSync(join(dir, 'marker-7f3a.txt'), 'x');
    const local = mkdtempSync(join(tmpdir(), 'lr-shell-piped-dl-'));
    const sh = spawn(process.execPath, [BIN('lr'), '--profile', w.adminProfile, 'shell', 'foxtrot'], {
      cwd: local,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XDG_STATE_HOME: join(local, '.state') },
    });
    live.add(sh);
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sh.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => sh.once('close', r));
    // All at once, as `lr shell foxtrot < commands.txt` does.
    sh.stdin.end([`getfile "${src}" &`, 'processes', `cd "${dir}"`, 'dir', 'dir / > root.txt', ''].join('\n'));
    const code = await exited;
    expect(out).not.toMatch(/a command is running/);
    expect(out).toMatch(/marker-7f3a\.txt/); // dir ran after cd, in the folder cd chose
    expect(out).toContain(`output written to ${join(local, 'root.txt')}`);
    expect(out).toContain(`downloaded: ${sha256sum(src)}  ${join(local, 'evidence.bin')}`);
    expect(sha256sum(join(local, 'evidence.bin'))).toBe(sha256sum(src));
    expect(code).toBe(0);
  }, 120_000);
});
