// Conformance of the CLI's messages and exit codes, through real lr / lr-server /
// lr-agent processes: usage errors exit 2 in one human sentence; getfile over the limit says the exact sizes
// and is logged refused; analyze does not count an engine that errored; "1 session"; `download` is getfile;
// `lr log --limit N` is the newest N; an online device's lastSeen moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, createWorld, waitFor, type World } from './harness.js';

describe('lr exit codes and messages', () => {
  let w: World;
  const files = mkdtempSync(join(tmpdir(), 'lr-exit-'));
  beforeAll(async () => {
    w = await createWorld({ getfileBytes: 1000, maxSessionsPerUser: 1 });
    // ClamAV pointed at an empty signature folder: it runs and errors ("no supported database").
    process.env.LR_CLAMAV_DB = mkdtempSync(join(tmpdir(), 'lr-empty-clamdb-'));
    await w.addAgent('kilo');
    await w.addAgent('lima');
    delete process.env.LR_CLAMAV_DB;
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('usage errors exit 2 with a human sentence', async () => {
    for (const line of ['help nosuch', 'remediate file', 'processes -pid -5']) {
      const r = await w.lr(['exec', 'kilo', line]);
      expect(r.code, line).toBe(2);
      expect(r.stderr, line).toMatch(/^lr: [^\n]+\n$/);
      expect(r.stderr, line).not.toMatch(/invalid parameters|Number must|too_small|expected/i);
    }
    expect((await w.lr(['exec', 'kilo', 'processes -pid -5'])).stderr).toBe(
      'lr: processes: -pid must be more than 0\n',
    );
  }, 60_000);

  it('getfile over the limit gives the exact sizes, exits 2 and is logged refused', async () => {
    const big = join(files, 'big.bin');
    writeFileSync(big, Buffer.alloc(1001, 1));
    const r = await w.lr(['exec', 'kilo', `getfile ${big}`, '--out', files]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('1001 bytes) is over the getfile limit of');
    expect(r.stderr).toContain('(1000 bytes)');
    const log = JSON.parse((await w.lr(['log', '--json', '--limit', '1'])).stdout) as {
      commandLine: string;
      status: string;
    }[];
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: 'refused' });
    expect(log[0]?.commandLine).toContain('big.bin');
  }, 60_000);

  it('download is getfile', async () => {
    const small = join(files, 'small.txt');
    writeFileSync(small, 'evidence\n');
    const out = mkdtempSync(join(tmpdir(), 'lr-dl-'));
    const r = await w.lr(['exec', 'kilo', `download ${small}`, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'small.txt'), 'utf8')).toBe('evidence\n');
    const help = await w.lr(['exec', 'kilo', 'help download']);
    expect(help.stdout).toContain('getfile — ');
    expect(help.stdout).toContain('(also: download)');
  }, 60_000);

  it('lr log --limit N shows the newest N', async () => {
    for (const line of ['help dir', 'help cd', 'help jobs']) expect((await w.lr(['exec', 'kilo', line])).code).toBe(0);
    const log = JSON.parse((await w.lr(['log', '--json', '--limit', '2'])).stdout) as { commandLine: string }[];
    expect(log.map((e) => e.commandLine)).toEqual(['help cd', 'help jobs']);
  }, 60_000);

  it('analyze does not count an engine that errored as run', async () => {
    const f = join(files, 'sample.txt');
    writeFileSync(f, 'nothing to see\n');
    const r = await w.lr(['exec', 'kilo', `analyze file ${f} -output json`]);
    expect(r.code).toBe(0);
    const records = JSON.parse(r.stdout) as { engine: string; verdict: string; detail: string }[];
    expect(records.find((x) => x.engine === 'clamav')?.verdict).toBe('error');
    const all = records.find((x) => x.engine === 'overall');
    expect(all?.detail).not.toMatch(/engines run:[^;]*clamav/);
    expect(all?.detail).toMatch(/failed: clamav/);
  }, 60_000);

  it('a session limit of one says "1 session"', async () => {
    const state = mkdtempSync(join(tmpdir(), 'lr-state-'));
    const sh = spawn(process.execPath, [BIN('lr'), '--profile', w.adminProfile, 'shell', 'kilo'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XDG_STATE_HOME: state },
    });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('shell open', async () => out.includes('kilo:/>'));
      const r = await w.lr(['exec', 'lima', 'help']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('you already have 1 session open (limit 1 per user)');
    } finally {
      sh.stdin.end('exit\n');
      await new Promise((r) => sh.once('close', r));
    }
  }, 60_000);

  it("an online device's lastSeen moves while it is online", async () => {
    const seen = async () => {
      const r = await w.lr(['devices', '--json']);
      return (JSON.parse(r.stdout) as { name: string; lastSeen: string }[]).find((d) => d.name === 'kilo')
        ?.lastSeen as string;
    };
    const before = await seen();
    await new Promise((r) => setTimeout(r, 1100));
    expect((await w.lr(['exec', 'kilo', 'dir /'])).code).toBe(0); // the agent answers: it is heard from
    const after = await seen();
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
  }, 60_000);
});
