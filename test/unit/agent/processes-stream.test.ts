// processes streamed a slice at a time (a planted procfs, so the slices are known), and the one-read
// procfs reads: a read shorter than asked is the end, a full one is not (long command lines in full).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountNames } from '../../../src/agent/fs/accounts.js';
import { listProcesses, streamProcesses } from '../../../src/agent/platform/linux/procfs-processes.js';
import { readProcFile, readProcRecord } from '../../../src/agent/platform/linux/procfs-read.js';
import type { ProcessInfo } from '../../../src/agent/platform/types.js';
import { processesCommand } from '../../../src/agent/commands/processes.js';
import { makeHarness, runCommand, tempDir } from './helpers.js';

let cleanup = () => {};
afterEach(() => cleanup());

/** A procfs of `n` processes (pids 100, 103, 106, ...), pid 106's command line `big` long. */
function plant(n: number, big = 10): string {
  const t = tempDir('lr-procfs-');
  cleanup = t.cleanup;
  const proc = t.dir;
  writeFileSync(path.join(proc, 'stat'), 'cpu  1 2 3 4\nbtime 1700000000\n');
  for (let i = 0; i < n; i++) {
    const pid = 100 + 3 * i;
    const dir = path.join(proc, String(pid));
    mkdirSync(dir);
    const name = i % 2 ? 'odd name)' : 'even';
    writeFileSync(
      path.join(dir, 'stat'),
      `${pid} (${name}) S 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 ${i} 7 0 0 20 0 1 0 ${1000 + i} 2000 3 18446744073709551615\n`,
    );
    writeFileSync(
      path.join(dir, 'status'),
      `Name:\t${name}\nUid:\t1000\t${i % 3 ? 0 : 1000}\t0\t0\nVmRSS:\t    ${i} kB\n`,
    );
    const cmdline = pid === 106 ? `${'x'.repeat(big)}\0` : `/bin/${name}\0-n\0${i}\0`;
    writeFileSync(path.join(dir, 'cmdline'), cmdline);
  }
  return proc;
}

const accounts = () => AccountNames.load('/');

describe('streamProcesses', () => {
  it('hands over every process in pid order, a slice at a time, as listProcesses lists them', async () => {
    const proc = plant(410);
    const chunks: ProcessInfo[][] = [];
    await streamProcesses(proc, await accounts(), async (rows) => void chunks.push(rows));
    expect(chunks.map((c) => c.length)).toEqual([200, 200, 10]);
    const rows = chunks.flat();
    expect(rows.map((r) => r.pid)).toEqual(Array.from({ length: 410 }, (_, i) => 100 + 3 * i));
    expect(rows[1]).toEqual({
      pid: 103,
      ppid: 1,
      name: 'odd name)',
      user: 'root',
      uid: 0,
      state: 'sleeping',
      startTime: new Date((1700000000 + 1001 / 100) * 1000).toISOString(),
      cmdline: '/bin/odd name) -n 1',
      path: null,
      rssBytes: 1024,
      cpuTimeMs: 80,
    });
    // Field order as before (records are serialised as they are).
    expect(Object.keys(rows[0]!)).toEqual([
      'pid',
      'ppid',
      'name',
      'user',
      'uid',
      'state',
      'startTime',
      'cmdline',
      'path',
      'rssBytes',
      'cpuTimeMs',
    ]);
    expect(await listProcesses(proc, await accounts())).toEqual(rows);
    // The same procfs given with a trailing slash: the same records.
    expect(await listProcesses(`${proc}/`, await accounts())).toEqual(rows);
  });

  it('stops when the job is aborted between slices', async () => {
    const proc = plant(410);
    const ctl = new AbortController();
    let seen = 0;
    const run = streamProcesses(
      proc,
      await accounts(),
      async (rows) => {
        seen += rows.length;
        ctl.abort();
      },
      ctl.signal,
    );
    await expect(run).rejects.toThrow();
    expect(seen).toBe(200);
  });

  it('reads a command line longer than the read buffer in full', async () => {
    const proc = plant(3, 300_000);
    const rows = await listProcesses(proc, await accounts());
    expect(rows.find((r) => r.pid === 106)?.cmdline).toBe('x'.repeat(300_000));
  });

  it('the processes command filters the streamed slices by name, and says when no slice had it', async () => {
    const h = makeHarness();
    // A live child with a command line of ~120 KiB (sleep adds its arguments up): more than one 64 KiB read.
    const args = ['60', ...Array.from({ length: 60_000 }, () => '0')];
    const child = spawn('sleep', args, { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      for (let i = 0; i < 100 && readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'sleep'; i++)
        await new Promise((r) => setTimeout(r, 10));
      await runCommand(processesCommand, h, { name: 'sleep' });
      const mine = h.records.find((r) => r.pid === child.pid);
      expect(mine?.cmdline).toBe(`sleep ${args.join(' ')}`);
      expect(h.records.every((r) => r.name === 'sleep' || String(r.path).endsWith('/sleep'))).toBe(true);
      await expect(runCommand(processesCommand, makeHarness(), { name: 'no-such-process-name' })).rejects.toThrow(
        'processes: no process named no-such-process-name',
      );
    } finally {
      child.kill();
    }
  });
});

describe('readProcRecord', () => {
  it('gives what readProcFile gives for the one-piece procfs files', () => {
    for (const f of ['cmdline', 'comm'])
      expect(readProcRecord(`/proc/self/${f}`)).toBe(readProcFile(`/proc/self/${f}`));
    // stat and status change between two reads (CPU times, context switches): compare what does not.
    const head = (s: string) => s.split(' ').slice(0, 5).join(' ');
    expect(head(readProcRecord('/proc/self/stat'))).toBe(head(readProcFile('/proc/self/stat')));
    const uid = (s: string) => /^Uid:.*$/m.exec(s)?.[0];
    expect(uid(readProcRecord('/proc/self/status'))).toBe(uid(readProcFile('/proc/self/status')));
    expect(readProcRecord('/proc/self/status')).toMatch(/\nVmRSS:\s+\d+ kB\n[\s\S]*\nvoluntary_ctxt_switches/);
  });
});
