// Getfile streams a big file with bounded memory on every hop and a verified
// SHA-256; resumes after the agent or the client is killed mid-way; a partial file damaged before the
// resume is caught by the SHA-256 and downloaded again whole; refuses an oversized file before any byte is
// sent; refuses special and sparse files with a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readFileSync,
  readdirSync,
  statSync,
  openSync,
  closeSync,
  ftruncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BIN, createWorld, start, stop, waitFor, type World } from './harness.js';

/** Peak resident set (VmHWM) of a running process, in bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Writes `bytes` of random data without holding them in memory. */
function randomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const chunk = 8 * 1024 * 1024;
  for (let done = 0; done < bytes; done += chunk) writeSync(fd, randomBytes(Math.min(chunk, bytes - done)));
  closeSync(fd);
}

const sha256sum = (f: string) => execFileSync('sha256sum', [f]).toString().split(' ')[0];

/** Runs `lr exec` as a child we can watch and kill; resolves on exit. */
function lrExec(w: World, line: string, out: string) {
  const child = spawn(process.execPath, [BIN('lr'), '--profile', w.adminProfile, 'exec', 'echo', line, '--out', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, peakRss(child.pid!));
    } catch {
      /* exited */
    }
  }, 50);
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; peak: number }>((res) =>
    child.on('close', (code) => {
      clearInterval(sampler);
      res({ code, stdout, stderr, peak });
    }),
  );
  return { child, done };
}

describe('getfile', () => {
  let w: World;
  let agent: { dataDir: string; process: import('node:child_process').ChildProcess; deviceId: string };
  let files: string;
  beforeAll(async () => {
    w = await createWorld({ getfileBytes: Math.floor(1.2 * 1024 ** 3) });
    agent = await w.addAgent('echo');
    files = mkdtempSync(join(tmpdir(), 'lr-getfile-'));
  });
  afterAll(async () => {
    await w?.cleanup();
    // 2.6 GB of source and downloaded files: left behind, every run filled the disk a little more.
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it('downloads 1 GiB with the same SHA-256 as sha256sum, each process under 200 MB of RSS', async () => {
    const src = join(files, 'one-gib.bin');
    randomFile(src, 1024 ** 3);
    const out = join(files, 'out1');
    mkdirSync(out);
    const r = await lrExec(w, `getfile "${src}"`, out).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expected = sha256sum(src);
    expect(r.stdout.trim()).toBe(`${expected}  ${join(out, 'one-gib.bin')}`);
    expect(sha256sum(join(out, 'one-gib.bin'))).toBe(expected);
    const limit = 200 * 1024 * 1024;
    expect(r.peak).toBeGreaterThan(0);
    expect(r.peak).toBeLessThan(limit);
    expect(peakRss(w.server!.pid!)).toBeLessThan(limit);
    expect(peakRss(agent.process.pid!)).toBeLessThan(limit);
  }, 300_000);

  it('resumes from where it stopped when the agent is killed half-way', async () => {
    const src = join(files, 'two-hundred.bin');
    randomFile(src, 200 * 1024 * 1024);
    const out = join(files, 'out2');
    mkdirSync(out);
    const run = lrExec(w, `getfile "${src}"`, out);
    const part = join(out, 'two-hundred.bin.part');
    await waitFor(
      'half of the file',
      async () => existsSync(part) && statSync(part).size > 100 * 1024 * 1024,
      120_000,
      20,
    );
    await stop(agent.process, 'SIGKILL');
    const killedAt = statSync(part).size;
    const again = await start('lr-agent', ['start', '--data', agent.dataDir], /started/);
    agent = { ...agent, process: again };
    w.agents.push(again);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const resumedAt = Number(/resuming .* at byte (\d+)/.exec(r.stderr)?.[1]);
    // Bytes already in flight when the agent died still arrive, so it resumes at or after that point.
    expect(resumedAt).toBeGreaterThanOrEqual(killedAt);
    expect(resumedAt).toBeLessThan(200 * 1024 * 1024);
    expect(sha256sum(join(out, 'two-hundred.bin'))).toBe(sha256sum(src));
  }, 300_000);

  it('resumes from where it stopped when the client is killed half-way and run again', async () => {
    const src = join(files, 'two-hundred.bin');
    const out = join(files, 'out3');
    mkdirSync(out);
    const first = lrExec(w, `getfile "${src}"`, out);
    const part = join(out, 'two-hundred.bin.part');
    await waitFor(
      'half of the file',
      async () => existsSync(part) && statSync(part).size > 100 * 1024 * 1024,
      120_000,
      20,
    );
    first.child.kill('SIGKILL');
    await first.done;
    const have = statSync(part).size;
    // The service notices the closed console, ends the session and cancels the job on the agent.
    await waitFor('device free', async () => (await w.lr(['exec', 'echo', 'cd /'])).code === 0);
    const r = await lrExec(w, `getfile "${src}"`, out).done;
    expect(r.code, r.stderr).toBe(0);
    expect(Number(/resuming .* at byte (\d+)/.exec(r.stderr)?.[1])).toBe(have);
    expect(sha256sum(join(out, 'two-hundred.bin'))).toBe(sha256sum(src));
  }, 300_000);

  it('a partial file damaged on disk before the resume is detected by the SHA-256, discarded, and downloaded again whole', async () => {
    const src = join(files, 'resume-me.bin');
    randomFile(src, 6 * 1024 * 1024);
    const out = join(files, 'out-corrupt');
    mkdirSync(out);
    // What an interrupted run leaves: the first 2 MiB and their description, then one byte flipped on disk.
    const part = readFileSync(src).subarray(0, 2 * 1024 * 1024);
    part[12345] = part[12345]! ^ 0xff;
    writeFileSync(join(out, 'resume-me.bin.part'), part);
    writeFileSync(
      join(out, 'resume-me.bin.part.json'),
      JSON.stringify({
        deviceId: agent.deviceId,
        remotePath: src,
        size: statSync(src).size,
        mtime: statSync(src).mtime.toISOString(),
      }),
    );
    const r = await lrExec(w, `getfile "${src}"`, out).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming .*resume-me\.bin at byte 2097152/);
    expect(r.stderr).toMatch(
      /resume-me\.bin: the partial file did not match the device's file \(SHA-256 mismatch\): downloading it again from the start/,
    );
    expect(sha256sum(join(out, 'resume-me.bin'))).toBe(sha256sum(src));
    expect(readdirSync(out)).toEqual(['resume-me.bin']);
  }, 120_000);

  it('refuses a file over the limit before sending any byte', async () => {
    // Sparse, so the test stays cheap: the size check comes first and must refuse it as too big.
    const src = join(files, 'too-big.bin');
    const big = openSync(src, 'w');
    ftruncateSync(big, 2 * 1024 ** 3);
    closeSync(big);
    const out = join(files, 'out4');
    mkdirSync(out);
    const r = await lrExec(w, `getfile "${src}"`, out).done;
    expect(r.code).toBe(2); // refused
    expect(r.stderr.trim()).toMatch(
      /^lr: getfile: .*too-big\.bin: 2\.0 GiB \(2147483648 bytes\) is over the getfile limit of 1\.2 GiB \(\d+ bytes\)$/,
    );
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it('refuses special and sparse files with a clear error', async () => {
    const fifo = join(files, 'a fifo');
    execFileSync('mkfifo', [fifo]);
    const sparse = join(files, 'sparse.img');
    const fd = openSync(sparse, 'w');
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    const out = join(files, 'out5');
    mkdirSync(out);
    const a = await lrExec(w, `getfile "${fifo}"`, out).done;
    expect(a.code).toBe(1);
    expect(a.stderr.trim()).toMatch(/not a regular file \(fifo\)/);
    const b = await lrExec(w, `getfile "${sparse}"`, out).done;
    expect(b.code).toBe(1);
    expect(b.stderr.trim()).toMatch(/sparse file/);
    const d = await lrExec(w, 'getfile /no/such/file', out).done;
    expect(d.stderr.trim()).toBe('lr: getfile: /no/such/file: no such file or directory');
  }, 120_000);

  it('reads a /proc pseudo-file (its size reads 0) to its end and delivers it verified', async () => {
    const child = spawn('sleep', ['4545', '0.5'], {
      stdio: 'ignore',
      env: { ...process.env, LR_PSEUDO_MARK: 'x'.repeat(70_000) },
    });
    try {
      const out = join(files, 'out-proc');
      mkdirSync(out);
      // cmdline is short; environ holds a 70 kB variable: read past the first 64 kB chunk.
      for (const name of ['cmdline', 'environ']) {
        const source = `/proc/${child.pid}/${name}`;
        const expected = readFileSync(source);
        expect(statSync(source).size).toBe(0);
        const r = await lrExec(w, `getfile ${source}`, out).done;
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const got = readFileSync(join(out, name));
        expect(got.length, name).toBe(expected.length);
        expect(got.equals(expected), name).toBe(true);
      }
      expect(readFileSync(join(out, 'cmdline'), 'latin1')).toBe('sleep\x004545\x000.5\x00');
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
