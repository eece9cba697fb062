// lr shell after its session closes (idle timeout, service restart): the shell stays, says so, and
// `connect` opens a new session on the same device in the same folder, history kept. Driven through a
// pseudo-terminal (script(1)), as an analyst types it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, createWorld, waitFor, type World } from './harness.js';

describe('lr shell connect after a close', () => {
  let w: World;
  let sh: ChildProcess | undefined;
  beforeAll(async () => {
    w = await createWorld({ idleTimeoutSec: 3 });
    await w.addAgent('golf');
  });
  afterAll(async () => {
    if (sh && sh.exitCode === null) sh.kill('SIGKILL');
    await w?.cleanup();
  });

  it('keeps the shell after an idle close and a service restart; connect reopens in the same folder', async () => {
    const state = mkdtempSync(join(tmpdir(), 'lr-shell-state-'));
    const cmd = `${process.execPath} ${BIN('lr')} --profile ${w.adminProfile} shell golf`;
    sh = spawn('script', ['-qfec', cmd, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XDG_STATE_HOME: state, COLUMNS: '200' },
    });
    let out = '';
    sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    sh.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const type = (line: string) => sh!.stdin!.write(`${line}\r`);
    const since = (mark: number) => out.slice(mark);

    await waitFor('prompt', async () => out.includes('golf:/>'));
    type('cd /tmp');
    await waitFor('cd', async () => out.includes('golf:/tmp>'));

    // 1. Idle close: the shell says so and stays.
    await waitFor('idle close', async () => /session closed: idle/.test(out), 20_000);
    await waitFor('hint', async () => /connect opens a new session on golf/.test(out));
    expect(sh.exitCode).toBeNull();
    let mark = out.length;
    type('dir');
    await waitFor('no session', async () => /no session: connect opens a new one/.test(since(mark)));
    mark = out.length;
    type('connect');
    await waitFor(
      'reconnected',
      async () => /Connected to golf, session/.test(since(mark)) && since(mark).includes('golf:/tmp>'),
    );
    mark = out.length;
    type('cd ..');
    await waitFor('the new session serves commands', async () => since(mark).includes('golf:/>'));
    type('cd /tmp');
    await waitFor('back in /tmp', async () => since(mark).includes('golf:/tmp>'));

    // 2. Service restart: the console connection drops; connect reconnects and reopens.
    mark = out.length;
    await w.stopServer();
    await waitFor(
      'disconnected',
      async () => /disconnected: /.test(since(mark)) || /session closed: /.test(since(mark)),
    );
    await w.startServer();
    await waitFor(
      'golf online again',
      async () => (await w.devices()).find((d) => d.name === 'golf' && d.online),
      30_000,
    );
    expect(sh.exitCode).toBeNull();
    mark = out.length;
    type('connect');
    await waitFor(
      'reconnected after restart',
      async () => /Connected to golf, session/.test(since(mark)) && since(mark).includes('golf:/tmp>'),
      20_000,
    );

    // History is the same file, with the lines typed before and after the closes.
    const hist = readdirSync(join(state, 'lr', 'history'));
    const lines = readFileSync(join(state, 'lr', 'history', hist[0] as string), 'utf8');
    expect(lines).toMatch(/cd \/tmp\n[\s\S]*connect\n[\s\S]*connect\n/);

    type('exit');
    await new Promise((r) => (sh!.exitCode !== null ? r(null) : sh!.once('close', r)));
    expect(sh.exitCode).toBe(0);
  }, 120_000);
});
